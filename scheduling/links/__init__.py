"""Link drivers: how a contact's bytes reach a spacecraft. See ``base`` for the contract.

``SimulatedLinkDriver`` (``simulated``) is the radio of the embedded mode, the demo and the
tests; a real station adapter implements the same ``LinkDriver`` protocol and is named by
``ZENITH_LINK_DRIVER`` (a dotted path to a factory taking the options dict).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from scheduling.links.base import (
    Ack,
    ChunkLost,
    DownRequest,
    Frame,
    LinkDown,
    LinkDriver,
    LinkError,
    LinkRequest,
    LinkSession,
    RemoteError,
    UpChunk,
)
from scheduling.links.simulated import SimOptions, SimulatedLinkDriver

__all__ = [
    "Ack",
    "ChunkLost",
    "DownRequest",
    "Frame",
    "LinkDown",
    "LinkDriver",
    "LinkError",
    "LinkRequest",
    "LinkSession",
    "RemoteError",
    "SimOptions",
    "SimulatedLinkDriver",
    "UpChunk",
    "load_driver",
    "simulated",
]

SIMULATED = "scheduling.links.simulated"


def simulated(options: dict[str, Any], *, default_dir: Path) -> SimulatedLinkDriver:
    return SimulatedLinkDriver(SimOptions.from_dict(options, default_dir=default_dir))


def load_driver(path: str, options: dict[str, Any], *, default_dir: Path) -> LinkDriver:
    """The driver named by ``path``: ``"simulated"`` or ``"package.module:factory"``
    (called with the options dict)."""
    if path in ("simulated", SIMULATED):
        return simulated(options, default_dir=default_dir)
    module_name, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"link driver {path!r}: expected 'simulated' or 'module:factory'")
    factory = getattr(importlib.import_module(module_name), attr)
    driver: LinkDriver = factory(options)
    return driver
