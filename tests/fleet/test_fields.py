"""The fleet's shared API fields and the slug lookups behind them (passes, contacts,
transfers, workloads and tokens all take spacecraft and stations through these)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.management import CommandError, call_command
from rest_framework import serializers
from rest_framework.test import APIClient

from ops.fleet import selectors
from ops.fleet.fields import SpacecraftField, SpacecraftListField, StationField, StationListField
from ops.fleet.models import ApiToken
from tests.factories import make_spacecraft, make_station

pytestmark = pytest.mark.django_db


def test_slug_lookups_keep_order_and_name_every_unknown_slug() -> None:
    a, b = make_spacecraft("leo-001"), make_spacecraft("leo-002")
    svalbard = make_station("svalbard")
    assert selectors.spacecraft_by_slugs(slugs=["leo-002", "x", "leo-001", "y"]) == (
        [b, a],
        ["x", "y"],
    )
    assert selectors.stations_by_slugs(slugs=["svalbard"]) == ([svalbard], [])
    assert selectors.spacecraft_by_slugs(slugs=[]) == ([], [])


def test_list_fields_resolve_or_name_the_unknown() -> None:
    craft, station = make_spacecraft("leo-001"), make_station("svalbard")
    assert SpacecraftListField().run_validation(["leo-001"]) == [craft]
    assert StationListField().run_validation(["svalbard"]) == [station]
    with pytest.raises(serializers.ValidationError) as bad:
        SpacecraftListField().run_validation(["ghost-1", "leo-001", "ghost-2"])
    assert bad.value.detail == ["unknown spacecraft: ghost-1, ghost-2"]
    with pytest.raises(serializers.ValidationError) as bad:
        StationListField().run_validation(["atlantis"])
    assert bad.value.detail == ["unknown stations: atlantis"]


def test_single_fields_read_and_write_by_slug() -> None:
    craft, station = make_spacecraft("leo-001"), make_station("svalbard")
    assert SpacecraftField().run_validation("leo-001") == craft
    assert StationField().run_validation("svalbard") == station
    assert SpacecraftField(read_only=True).to_representation(craft) == "leo-001"
    with pytest.raises(serializers.ValidationError):
        StationField().run_validation("atlantis")


def test_predict_names_every_unknown_spacecraft_and_station(
    client_with_token: Callable[..., APIClient],
) -> None:
    make_spacecraft("leo-001")
    response = client_with_token("schedule").post(
        "/api/v1/passes/predict",
        {"spacecraft": ["leo-001", "ghost-1", "ghost-2"], "stations": ["atlantis"]},
        format="json",
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert response.json()["fields"] == {
        "spacecraft": "unknown spacecraft: ghost-1, ghost-2",
        "stations": "unknown stations: atlantis",
    }


def test_create_token_command_uses_the_same_lookup() -> None:
    make_spacecraft("leo-001")
    args = ["create_token", "--account", "gw", "--name", "n", "--scope", "ingest"]
    with pytest.raises(CommandError, match=r"^unknown spacecraft: ghost-2, ghost-1$"):
        call_command(*args, "--spacecraft", "ghost-2", "--spacecraft", "ghost-1")
    assert not ApiToken.objects.exists()
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, "--spacecraft", "leo-001", stdout=out, stderr=err)
    token = ApiToken.objects.get(name="n")
    assert out.getvalue().startswith("znt_") and token.restricted
    assert list(token.spacecraft.values_list("slug", flat=True)) == ["leo-001"]
