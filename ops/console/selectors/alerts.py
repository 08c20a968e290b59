"""What the console shows of alerts: the worst active alert per node (fleet tiles).

``ops.alerts`` is being built beside the console (its selectors are not on main yet):
until they land nothing is firing as far as the console can tell, and the tiles keep
their neutral frame. This module is the one place the console will read them from.
"""

from __future__ import annotations

from collections.abc import Sequence


def worst_by_node(*, node_ids: Sequence[int]) -> dict[int, str]:
    """The severity of each node's worst firing or acknowledged alert, by node id."""
    return {}
