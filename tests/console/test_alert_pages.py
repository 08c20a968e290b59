"""The alerts pages and the alerts on the fleet and node pages: what they show, for whom,
and query counts that do not grow with the alerts shown."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ops.alerts.models import AlertState
from ops.alerts.services import lifecycle
from ops.console import snapshots
from ops.console.selectors import alerts as alert_reads
from tests.console.alert_support import make_schedule, one_of_each, raise_alert
from tests.console.support import build_fleet
from tests.factories import make_spacecraft, make_user

pytestmark = pytest.mark.django_db

ALERT_PAGES: dict[str, tuple[str, int]] = {
    "alerts": ("/alerts/", 8),
    "history": ("/alerts/history/?severity=severe&spacecraft=leo-001", 4),
    "audit": ("/alerts/audit/?action=alert", 4),
    "alert": ("/alerts/{alert_id}/", 6),
}


def signed_in(*roles: str, name: str = "olga") -> Client:
    client = Client()
    client.force_login(make_user(name, *roles))
    return client


def _body(response: Any) -> str:
    assert response.status_code == 200, response.content[:500]
    return str(response.content.decode())


@pytest.mark.parametrize("sets", [1, 4])
@pytest.mark.parametrize("name", sorted(ALERT_PAGES))
def test_alert_pages_query_count_does_not_grow_with_the_alerts(
    name: str, sets: int, django_assert_num_queries: Any
) -> None:
    fleet = build_fleet(2, telemetry=False)
    make_schedule("otto", "olga")
    made = [one_of_each(fleet.crafts, tag=f"s{i}-") for i in range(sets)]
    make_user("otto", "oncall")
    client = signed_in("operator")
    path, expected = ALERT_PAGES[name]
    path = path.format(alert_id=made[-1]["acked"].pk)
    client.get(path)
    with django_assert_num_queries(expected):
        response = client.get(path)
    html = _body(response)
    if name == "alerts":
        assert html.count("<tr data-alert-id=") == 5 * sets


@pytest.mark.parametrize("sets", [1, 4])
def test_the_alerts_snapshots_query_count_does_not_grow_with_the_alerts(
    sets: int, django_assert_num_queries: Any
) -> None:
    fleet = build_fleet(2, telemetry=False)
    make_schedule("otto")
    for i in range(sets):
        one_of_each(fleet.crafts, tag=f"s{i}-")
    scopes = frozenset({"operate"})
    for name, key, expected, rows in (("alerts", None, 4, 5), ("node_alerts", "leo-002", 2, 3)):
        view = snapshots.view_named(name)
        assert view is not None
        with django_assert_num_queries(expected):
            data = view.build(key, scopes)
        assert len(data["rows"]) == rows * sets


@pytest.mark.parametrize("alerts", [1, 5])
def test_the_node_pages_alert_section_query_count_does_not_grow_with_its_alerts(
    alerts: int, django_assert_num_queries: Any
) -> None:
    fleet = build_fleet(1)
    for i in range(alerts):
        raise_alert(fleet.crafts[0], "warning", key=f"n{i}")
    client = signed_in("oncall")
    client.get("/nodes/leo-001/")
    with django_assert_num_queries(21):  # as tests/console/test_pages.py pins it
        html = _body(client.get("/nodes/leo-001/"))
    section = html.split('id="node-alerts"')[1].split("</section>")[0]
    assert section.count("<tr data-alert-id=") == alerts
    assert section.count('class="btn do-ack"') == alerts


def test_the_alerts_page_lists_firing_acknowledged_and_shelved_with_who_is_on_call() -> None:
    fleet = build_fleet(2, telemetry=False)
    made = one_of_each(fleet.crafts)
    make_schedule("otto", "olga")
    lifecycle.alert_assign(alert_id=made["firing"].pk, assignee="otto", actor="olga")
    html = _body(signed_in("oncall").get("/alerts/"))
    groups = {
        group: html.split(f'data-alert-group="{group}"')[1].split("</tbody>")[0]
        for group in alert_reads.GROUPS
    }
    ids = {
        group: [int(part.split('"')[0]) for part in body.split('data-alert-id="')[1:]]
        for group, body in groups.items()
    }
    # Worst first: the critical one above the warning, then the cleared watch.
    assert ids["firing"] == [made["worse"].pk, made["firing"].pk, made["returned"].pk]
    assert ids["acknowledged"] == [made["acked"].pk]
    assert ids["shelved"] == [made["shelved"].pk]
    assert all(made["closed"].pk not in group for group in ids.values())
    firing = groups["firing"].split(f'data-alert-id="{made["firing"].pk}"')[1].split("</tr>")[0]
    assert ">82.5<" in firing and "gpu_temp_c" in firing and ">leo-001</a>" in firing
    assert '<td data-f="assignee">otto</td>' in firing
    assert '<span class="pill sev sev-warning" data-f="severity">warning</span>' in firing
    shelved = groups["shelved"].split("data-alert-id=")[1].split("</tr>")[0]
    assert '<td data-f="shelved"><time datetime="' in shelved
    returned = groups["firing"].split(f'data-alert-id="{made["returned"].pk}"')[1].split("</tr>")[0]
    assert 'data-f="cleared">cleared' in returned and 'data-state="returned"' in returned
    oncall = html.split('id="oncall"')[1].split("</section>")[0]
    assert "<b>otto</b>" in oncall and "primary" in oncall
    # Every control is a CSRF-protected form, and the counts add up.
    assert html.count('name="csrfmiddlewaretoken"') >= 5
    assert '<b data-count="firing">3</b>' in html and '<b data-count="shelved">1</b>' in html
    assert '<option value="olga">' in html  # the assign field suggests people who may act


def test_controls_appear_only_for_roles_that_operate_and_schedulers_see_no_alerts() -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "critical", key="k1")
    for role in ("operator", "oncall", "admin"):
        html = _body(signed_in(role, name=f"u-{role}").get("/alerts/"))
        assert 'class="btn do-ack"' in html and "data-action" in html, role
        assert 'href="/alerts/"' in html, role  # in the navigation
    scheduler = signed_in("scheduler", name="sam")
    refused = scheduler.get("/alerts/")
    assert refused.status_code == 403 and b"may not see alerts" in refused.content
    for path in ("/alerts/history/", "/alerts/audit/", f"/alerts/{alert.pk}/"):
        assert scheduler.get(path).status_code == 403, path
    node = _body(scheduler.get("/nodes/leo-001/"))
    assert 'id="node-alerts"' not in node and "do-ack" not in node
    fleet_page = _body(scheduler.get("/"))
    assert 'href="/alerts/"' not in fleet_page and "data-alert=" not in fleet_page
    data = json.loads(
        fleet_page.split('id="fleet-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["alerts"] is None
    assert Client().get("/alerts/").status_code == 302


def test_fleet_tiles_carry_each_nodes_worst_open_alert_shelved_and_closed_ones_aside() -> None:
    fleet = build_fleet(3, telemetry=False)
    made = one_of_each(fleet.crafts[:2])
    # leo-001: warning and critical firing -> critical. leo-002: distress acked, severe
    # shelved, watch returned, severe closed -> distress. leo-003: nothing.
    html = _body(signed_in("operator").get("/"))
    tile = {slug: html.split(f'data-slug="{slug}"')[1].split(">")[0] for slug in ("leo-001",)}
    assert 'data-alert="critical"' in tile["leo-001"]
    assert 'data-alert="distress"' in html.split('data-slug="leo-002"')[1].split(">")[0]
    assert "data-alert" not in html.split('data-slug="leo-003"')[1].split(">")[0]
    data = json.loads(
        html.split('id="fleet-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["nodes"]["leo-001"]["alert"] == "critical"
    assert data["nodes"]["leo-003"]["alert"] is None
    marks = {row[0]: row for row in data["alerts"]}
    assert made["closed"].pk not in marks
    assert marks[made["shelved"].pk][3] is not None  # kept, so the page knows when it expires
    ids = [c.pk for c in fleet.crafts]
    assert alert_reads.worst_by_node(node_ids=ids) == {ids[0]: "critical", ids[1]: "distress"}
    later = timezone.now() + timedelta(hours=3)  # the shelve has run out by then
    assert alert_reads.worst_by_node(node_ids=ids, now=later)[ids[1]] == "severe"


def test_group_of_sorts_an_alert_onto_its_list() -> None:
    now = timezone.now()
    ahead, behind = now + timedelta(minutes=5), now - timedelta(minutes=5)
    cases = [
        (AlertState.UNACKNOWLEDGED, None, "firing"),
        (AlertState.RETURNED, None, "firing"),
        (AlertState.LATCHED, None, "firing"),
        (AlertState.ACKNOWLEDGED, None, "acknowledged"),
        (AlertState.ACKNOWLEDGED, ahead, "shelved"),
        (AlertState.UNACKNOWLEDGED, behind, "firing"),
        (AlertState.NORMAL, ahead, None),
    ]
    for state, shelved, group in cases:
        assert alert_reads.group_of(state=state, shelved_until=shelved, now=now) == group


def test_one_alert_shows_its_history_and_the_history_and_audit_filter() -> None:
    fleet = build_fleet(2, telemetry=False)
    made = one_of_each(fleet.crafts)
    ground = raise_alert(None, "warning", key="ground", metric="")
    client = signed_in("operator")
    detail = _body(client.get(f"/alerts/{made['acked'].pk}/"))
    history = detail.split('id="h-h"')[1]
    assert history.index("alert.raised") < history.index("alert.acknowledged")
    assert "<td>otto</td>" in history
    assert 'data-state="acknowledged"' in detail
    assert client.get("/alerts/999999/").status_code == 404
    closed = _body(client.get(f"/alerts/{made['closed'].pk}/"))
    assert "<tr data-alert-id" not in closed and "Normal (closed)" in closed
    assert ground.pk and "<td>leo" not in _body(client.get(f"/alerts/{ground.pk}/")).split("h-h")[0]

    found = _body(client.get("/alerts/history/?severity=severe&spacecraft=leo-002"))
    rows = found.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 2  # the shelved one and the closed one
    assert f'href="/alerts/{made["closed"].pk}/"' in rows
    bad = _body(client.get("/alerts/history/?since=yesterday"))
    assert 'role="alert">since:' in bad  # named, and ignored

    audit = _body(client.get("/alerts/audit/?actor=otto&action=alert.acknowledged"))
    rows = audit.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 2  # "acked" and "closed" were acknowledged by otto
    assert 'href="/api/v1/alerts/audit/csv?actor=otto&amp;action=alert.acknowledged"' in audit


def test_the_audit_csv_link_exports_the_same_filter_for_the_signed_in_person() -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "warning", key="csv")
    lifecycle.alert_ack(alert_id=alert.pk, actor="otto", comment="on it")
    client = signed_in("oncall")
    page = _body(client.get(f"/alerts/audit/?alert={alert.pk}"))
    link = page.split('id="audit-csv"')[0].rsplit('href="', 1)[1].split('"')[0]
    response = client.get(link.replace("&amp;", "&"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("id,at,actor,action")
    assert [line.split(",")[3] for line in lines[1:]] == ["alert.raised", "alert.acknowledged"]
    assert "on it" in lines[2]


def test_an_alert_on_a_node_shows_on_its_page_with_its_controls() -> None:
    fleet = build_fleet(2, telemetry=False)
    mine = raise_alert(fleet.crafts[0], "critical", key="mine", value=99.0)
    other = raise_alert(fleet.crafts[1], "warning", key="other")
    html = _body(signed_in("operator").get("/nodes/leo-001/"))
    section = html.split('id="node-alerts"')[1].split("</section>")[0]
    assert f'data-alert-id="{mine.pk}"' in section and f'data-alert-id="{other.pk}"' not in section
    assert 'data-alerts-view="node_alerts" data-key="leo-001"' in html
    assert '<b data-count="open">1</b>' in section
    assert f'formaction="/alerts/{mine.pk}/ack/"' in section
    assert "console/alerts.js" in html
    make_spacecraft("geo-quiet", role="geo")
    quiet = _body(signed_in("operator", name="o2").get("/nodes/geo-quiet/"))
    assert "No open alerts." in quiet and "<tr data-alert-id" not in quiet
