"""Scheduling reads, one module per topic: ``passes`` (passes, look angles, prediction
jobs, what needs predicting), ``contacts`` (the plan, one contact) and ``transfers`` (the
queue, one transfer or workload, verified downlink content, the contact plan's demand).

Lists take the caller's spacecraft restriction and nothing else: the API narrows them with
its FilterSets (which also document the query parameters). ``get_one`` is how every
``<thing>_get`` answers an id that does not exist (or lies outside the restriction).
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

from scheduling.exceptions import NotFound

_Row = TypeVar("_Row", bound=Model)


def get_one(rows: QuerySet[_Row], *, pk: int, noun: str) -> _Row:
    """The row ``pk`` among ``rows``; :class:`NotFound` ("<noun> <pk> does not exist")."""
    found = rows.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"{noun} {pk} does not exist")
    return found
