"""List endpoints after "filtering in one place": the selectors narrow to the caller's
spacecraft (``ops.edge.access.only_allowed``) and find one row or answer 404
(``scheduling.selectors.get_one``); the query parameters are the FilterSets' alone. And
the actions transfers and workloads share (``scheduling.api.transfers.ControlViewSet``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from scheduling.exceptions import NotFound
from scheduling.selectors import contacts as contact_selectors
from scheduling.selectors import transfers as transfer_selectors
from scheduling.services import contacts, transfers
from tests import factories
from tests.scheduling.fleet import EPOCH
from tests.scheduling.transfer_support import artefact, book, geo_fleet

pytestmark = pytest.mark.django_db

Client = Callable[..., APIClient]


@pytest.fixture
def planned(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A GEO hub with a scheduled and a cancelled contact, a workload with one upload, a
    lone downlink, and a second spacecraft that has none of it."""
    settings.ZENITH_TRANSFER_DIR = tmp_path / "transfers"
    settings.ZENITH_SIM_DIR = tmp_path / "sim"
    monkeypatch.setattr("django.utils.timezone.now", lambda: EPOCH)
    hub, (a, b) = geo_fleet(start=EPOCH)
    kept = book(hub, a, EPOCH + timedelta(minutes=10), 120, EPOCH)
    dropped = contacts.contact_cancel(
        contact=book(hub, b, EPOCH + timedelta(minutes=30), 120, EPOCH), actor="test"
    )
    source, sha = artefact(tmp_path / "transfers", "w.bin", 4000)
    workload, _, _ = transfers.workload_submit(
        spacecraft=hub,
        name="finetune",
        job={},
        uploads=[transfers.TransferSpec(name="w.bin", source=source, sha256=sha)],
        actor="test",
    )
    down = transfers.transfer_submit(
        spacecraft=hub,
        direction="down",
        spec=transfers.TransferSpec(name="r.bin", size_bytes=1000, sha256="a" * 64),
        actor="test",
    ).transfer
    other = factories.make_spacecraft("leo-9", norad_id=90009)
    return {
        "hub": hub,
        "other": other,
        "kept": kept,
        "dropped": dropped,
        "workload": workload,
        "down": down,
    }


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


def test_contacts_filtered_by_the_filterset(
    planned: dict[str, Any], client_with_token: Client
) -> None:
    api = client_with_token("schedule")
    kept, dropped = planned["kept"].pk, planned["dropped"].pk
    assert ids(api.get("/api/v1/contacts")) == sorted([kept, dropped])
    assert ids(api.get("/api/v1/contacts", {"station": "under-geo-1"})) == [kept]
    assert ids(api.get("/api/v1/contacts", {"state": "cancelled"})) == [dropped]
    window = {"start": (EPOCH + timedelta(minutes=20)).isoformat(), "spacecraft": "geo-hub"}
    assert ids(api.get("/api/v1/contacts", window)) == [dropped]
    # The restriction and the filters together: another spacecraft's token sees nothing.
    narrow = client_with_token("schedule", spacecraft=[planned["other"]])
    assert ids(narrow.get("/api/v1/contacts", {"spacecraft": "geo-hub"})) == []
    assert narrow.get(f"/api/v1/contacts/{kept}").json()["error"] == "not_found"


def test_transfers_and_workloads_filtered_by_the_filtersets(
    planned: dict[str, Any], client_with_token: Client
) -> None:
    api = client_with_token("schedule")
    workload, down = planned["workload"], planned["down"]
    upload = workload.transfers.get().pk
    assert ids(api.get("/api/v1/transfers")) == sorted([upload, down.pk])
    assert ids(api.get("/api/v1/transfers", {"direction": "down"})) == [down.pk]
    assert ids(api.get("/api/v1/transfers", {"workload": workload.pk})) == [upload]
    assert ids(api.get("/api/v1/workloads", {"spacecraft": "geo-hub"})) == [workload.pk]
    assert ids(api.get("/api/v1/workloads", {"state": "cancelled"})) == []
    narrow = client_with_token("schedule", spacecraft=[planned["other"]])
    assert ids(narrow.get("/api/v1/transfers")) == []
    assert ids(narrow.get("/api/v1/workloads")) == []


def test_one_row_outside_the_restriction_is_not_found(planned: dict[str, Any]) -> None:
    hub, other = frozenset({planned["hub"].pk}), frozenset({planned["other"].pk})
    down, kept, workload = planned["down"], planned["kept"], planned["workload"]
    assert transfer_selectors.transfer_get(transfer_id=down.pk, allowed_spacecraft_ids=hub) == down
    with pytest.raises(NotFound, match=f"^transfer {down.pk} does not exist$"):
        transfer_selectors.transfer_get(transfer_id=down.pk, allowed_spacecraft_ids=other)
    with pytest.raises(NotFound, match=f"^workload {workload.pk} does not exist$"):
        transfer_selectors.workload_get(workload_id=workload.pk, allowed_spacecraft_ids=other)
    with pytest.raises(NotFound, match=f"^contact {kept.pk} does not exist$"):
        contact_selectors.contact_get(contact_id=kept.pk, allowed_spacecraft_ids=other)
    with pytest.raises(NotFound, match=r"^contact -1 does not exist$"):
        contact_selectors.contact_get(contact_id=-1)
    assert list(contact_selectors.contact_list(allowed_spacecraft_ids=frozenset())) == []


@pytest.mark.parametrize("kind", ["transfers", "workloads"])
def test_shared_actions_check_the_body_first_and_keep_an_absent_deadline(
    planned: dict[str, Any], client_with_token: Client, kind: str
) -> None:
    api = client_with_token("schedule")
    row = planned["down"] if kind == "transfers" else planned["workload"]
    url = f"/api/v1/{kind}/{row.pk}"
    # A bad body is refused before the id is looked up, even an unknown one.
    too_long = {"reason": "x" * 2001}
    assert api.post(f"/api/v1/{kind}/424242/pause", too_long, format="json").status_code == 400
    assert api.post(f"/api/v1/{kind}/424242/pause", {}, format="json").status_code == 404
    deadline = (EPOCH + timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    set_ = api.post(f"{url}/reprioritise", {"deadline": deadline}, format="json")
    assert set_.status_code == 200 and set_.json()["deadline"] == deadline
    kept = api.post(f"{url}/reprioritise", {"priority": 9}, format="json").json()
    assert (kept["priority"], kept["deadline"]) == (9, deadline)
    cleared = api.post(f"{url}/reprioritise", {"deadline": None}, format="json").json()
    assert cleared["deadline"] is None
    paused = api.post(f"{url}/pause", {"reason": "hold"}, format="json")
    assert paused.status_code == 200, paused.json()
