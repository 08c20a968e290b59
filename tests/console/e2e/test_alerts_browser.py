"""Alerts, as people see them in a real browser: an alert raised by a sample ingested
through the API shows on two consoles; the on-call engineer acks it (by keyboard, with a
comment) in one browser and it changes state live in the other, fleet tile included; a
scheduler sees no alert and no ack button, and a forged POST from one is refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import Page

from ops.alerts.models import Alert, AlertState, AuditEntry
from tests.console.alert_support import make_rule, make_schedule
from tests.console.e2e.conftest import Browsing, wait_live
from tests.console.support import build_fleet
from tests.factories import make_token, make_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
Shot = Callable[[Page, str], Path]


def _ingest(server: Any, token: str, node: str, value: float) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        response = client.post(
            "/api/v1/telemetry",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "samples": [
                    {
                        "node": node,
                        "ts": timezone.now().isoformat(),
                        "metrics": {"gpu_temp_c": value},
                    }
                ]
            },
        )
    assert response.status_code == 200, response.text


def _row(alert_id: int, group: str) -> str:
    return f'tbody[data-alert-group="{group}"] tr[data-alert-id="{alert_id}"]'


def test_an_alert_acked_by_the_oncall_engineer_changes_state_in_a_second_browser(
    browsing: Browsing, server: Any, shot: Shot
) -> None:
    build_fleet(2)
    make_rule()  # gpu_temp_c: warning above 80, critical above 95
    make_schedule("otto", "olga")
    make_user("otto", "oncall")
    make_user("olga", "operator")
    token = make_token("ingest", name="gateway")
    otto = browsing.login("otto", "/alerts/")
    wait_live(otto, "alerts")
    olga = browsing.login("olga", "/alerts/")
    wait_live(olga, "alerts")
    board = olga.context.new_page()  # olga's fleet board, in a second tab
    board.goto(browsing.base + "/")
    wait_live(board, "fleet")
    assert board.get_attribute('.tile[data-slug="leo-002"]', "data-alert") is None
    assert "otto" in otto.inner_text("#oncall")

    # A gateway reports leo-002 hot: the rule fires during the ingest, both consoles see it.
    _ingest(server, token, "leo-002", 91.0)
    alert = Alert.objects.get(rule_key="gpu-hot")
    for page in (otto, olga):
        page.wait_for_selector(_row(alert.pk, "firing"), timeout=5_000)
    board.wait_for_selector('.tile[data-slug="leo-002"][data-alert="warning"]', timeout=5_000)
    row = olga.inner_text(_row(alert.pk, "firing"))
    assert "leo-002" in row and "gpu-hot" in row and "91" in row and "warning" in row
    assert olga.inner_text('[data-count="firing"]') == "1"
    shot(otto, "firing")

    # Otto acks it from the keyboard, with a comment.
    mine = otto.locator(f'tr[data-alert-id="{alert.pk}"]')
    mine.locator("summary").focus()
    otto.keyboard.press("Enter")  # opens "More…"
    mine.locator('input[name="comment"]').focus()
    otto.keyboard.type("on it, fan curve")
    started = time.monotonic()
    mine.locator("button.do-ack").focus()
    otto.keyboard.press("Enter")
    # Olga's page moves it to "acknowledged", live, without a reload.
    olga.wait_for_selector(
        _row(alert.pk, "acknowledged") + ' [data-f="state"]:text("acknowledged")',
        timeout=3_000,
    )
    elapsed = time.monotonic() - started
    assert olga.locator(_row(alert.pk, "firing")).count() == 0
    assert olga.inner_text('[data-count="acknowledged"]') == "1"
    assert olga.locator(_row(alert.pk, "acknowledged") + " button.do-unack").is_visible()
    assert not olga.locator(_row(alert.pk, "acknowledged") + " button.do-ack").is_visible()
    otto.wait_for_selector(_row(alert.pk, "acknowledged"), timeout=3_000)
    entry = AuditEntry.objects.filter(alert_id=alert.pk, action="alert.acknowledged").get()
    assert (entry.actor, entry.comment) == ("otto", "on it, fan curve")
    print(f"ack reached the second browser in {elapsed:.3f} s")

    # It gets worse: the same occurrence, now critical, on the row and the tile, live.
    _ingest(server, token, "leo-002", 97.0)
    olga.wait_for_selector(
        _row(alert.pk, "acknowledged") + ' [data-f="severity"]:text("critical")', timeout=5_000
    )
    board.wait_for_selector('.tile[data-slug="leo-002"][data-alert="critical"]', timeout=5_000)
    olga.wait_for_function(
        f"""() => (document.querySelector('tr[data-alert-id="{alert.pk}"] td.num') || {{}})
        .textContent === '97'""",
        timeout=5_000,
    )
    shot(olga, "acknowledged")
    shot(board, "fleet")

    # Olga shelves it for two hours: off both lists of work, and off the tile's edge.
    theirs = olga.locator(f'tr[data-alert-id="{alert.pk}"]')
    theirs.locator("summary").click()
    theirs.locator('select[name="minutes"]').select_option("120")
    theirs.locator('input[name="comment"]').fill("vendor on site")
    theirs.locator("button.do-shelve").click()
    otto.wait_for_selector(_row(alert.pk, "shelved"), timeout=3_000)
    board.wait_for_function(
        "!document.querySelector('.tile[data-slug=\"leo-002\"]').dataset.alert", timeout=3_000
    )
    assert otto.locator(_row(alert.pk, "shelved") + " button.do-unshelve").is_visible()
    alert.refresh_from_db()
    assert alert.shelved_by == "olga" and alert.state == AlertState.ACKNOWLEDGED
    shot(otto, "shelved")


def test_a_scheduler_sees_no_alert_and_no_ack_button_and_a_forged_post_is_refused(
    browsing: Browsing, server: Any, shot: Shot
) -> None:
    build_fleet(1)
    make_rule()
    make_user("olga", "operator")
    make_user("sam", "scheduler")
    token = make_token("ingest", name="gateway")
    _ingest(server, token, "leo-001", 99.0)
    alert = Alert.objects.get(rule_key="gpu-hot")
    operator = browsing.login("olga", "/nodes/leo-001/")
    wait_live(operator, "node_alerts")
    assert operator.locator(
        f'#node-alerts tr[data-alert-id="{alert.pk}"] button.do-ack'
    ).is_visible()

    page = browsing.login("sam", "/nodes/leo-001/")
    wait_live(page, "node")
    assert page.locator("#node-alerts").count() == 0
    assert page.locator("button.do-ack, button:has-text('Ack')").count() == 0
    assert page.locator('nav a[href="/alerts/"]').count() == 0
    forged = page.evaluate(
        """async (url) => {
          const token = document.querySelector('meta[name=csrf-token]').content;
          const body = new FormData();
          body.append('comment', 'forged');
          const r = await fetch(url, {method: 'POST', body: body, headers: {'X-CSRFToken': token,
            'Accept': 'application/json'}, credentials: 'same-origin'});
          return [r.status, await r.json()];
        }""",
        f"/alerts/{alert.pk}/ack/",
    )
    assert forged[0] == 403 and forged[1]["error"] == "permission_denied"
    alert.refresh_from_db()
    assert alert.state == AlertState.UNACKNOWLEDGED
    assert not AuditEntry.objects.filter(alert_id=alert.pk, actor="sam").exists()
    shot(page, "scheduler-node")
    response = page.goto(browsing.base + "/alerts/")
    assert response is not None and response.status == 403
    assert "may not see alerts" in page.inner_text("main")
    shot(page, "scheduler-alerts")
