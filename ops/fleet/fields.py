"""API fields for fleet objects, shared by every app's endpoints: a spacecraft or a ground
station named by its slug, one at a time or as a list.

They live with the fleet, not in ``ops.edge.fields``, because they need the fleet's models
and the edge imports no app. A list names every unknown slug in one error
(``"unknown spacecraft: a, b"``, the lookup the management commands use too), so a client
fixes its request in one round trip. They resolve slugs against the whole fleet; a token's
spacecraft restriction is the services' rule (``ops.edge.access.check_spacecraft_allowed``),
not the field's.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ops.fleet import selectors
from ops.fleet.models import GroundStation, Spacecraft


class SlugField(serializers.SlugRelatedField[Any]):
    """One fleet object by slug; read-only, it renders the slug."""

    model: type[Spacecraft] | type[GroundStation]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "slug")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", self.model.objects.all())
            kwargs.setdefault("help_text", "slug")
        super().__init__(**kwargs)


class SpacecraftField(SlugField):
    model = Spacecraft


class StationField(SlugField):
    model = GroundStation


class SlugListField(serializers.ListField):
    """Slugs in, the objects out, in the order given; every unknown slug named at once."""

    noun = ""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField())
        super().__init__(**kwargs)

    def lookup(self, slugs: list[str]) -> tuple[list[Any], list[str]]:
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> list[Any]:
        found, unknown = self.lookup(super().to_internal_value(data))
        if unknown:
            raise serializers.ValidationError(f"unknown {self.noun}: {', '.join(unknown)}")
        return found


class SpacecraftListField(SlugListField):
    noun = "spacecraft"

    def lookup(self, slugs: list[str]) -> tuple[list[Any], list[str]]:
        return selectors.spacecraft_by_slugs(slugs=slugs)


class StationListField(SlugListField):
    noun = "stations"

    def lookup(self, slugs: list[str]) -> tuple[list[Any], list[str]]:
        return selectors.stations_by_slugs(slugs=slugs)
