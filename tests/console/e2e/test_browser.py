"""What a person sees, in a real browser: signing in, live telemetry within a second,
a transfer's progress bar moving with a real Celery worker, the map and the timeline drawn
from local assets only, and controls (and their server checks) following roles."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import Page

from scheduling import tasks
from scheduling.models import Transfer, TransferState
from scheduling.services import transfers as transfer_services
from tests.console.e2e.conftest import Browsing, wait_live
from tests.console.support import build_fleet
from tests.factories import make_token, make_user
from tests.scheduling.transfer_support import artefact, book, geo_fleet
from tests.support.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
Shot = Callable[[Page, str], Path]


def test_sign_in_and_watch_the_fleet(browsing: Browsing, shot: Shot) -> None:
    build_fleet(3)
    make_user("olga", "operator")
    page = browsing.login("olga")
    wait_live(page, "fleet")
    assert page.inner_text("h1") == "Fleet"
    assert page.locator(".tile").count() == 3
    tile = page.locator('.tile[data-slug="leo-001"]')
    assert "svalbard" in tile.inner_text() and "81%" in tile.inner_text()
    assert "olga" in page.inner_text(".who")
    # The time toggle switches every time on the page to local and back.
    page.click("#time-toggle")
    assert page.inner_text("#time-toggle") == "Local"
    page.click("#time-toggle")
    shot(page, "fleet")


def test_a_sample_ingested_through_the_api_shows_on_the_node_page_within_a_second(
    browsing: Browsing, server: Any, shot: Shot
) -> None:
    build_fleet(2)
    make_user("olga", "operator")
    token = make_token("ingest", name="gateway")
    page = browsing.login("olga", "/nodes/leo-002/?range=15m")
    wait_live(page, "node")
    page.wait_for_selector("#series .main-svg")
    with httpx.Client(base_url=server.url, timeout=5) as client:
        for value in (71.25, 77.75):  # the second one: the publisher is warm, as in service
            started = time.monotonic()
            response = client.post(
                "/api/v1/telemetry",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "samples": [
                        {
                            "node": "leo-002",
                            "ts": timezone.now().isoformat(),
                            "metrics": {"gpu_temp_c": value},
                        }
                    ]
                },
            )
            assert response.status_code == 200, response.text
            page.wait_for_function(
                "v => (document.querySelector('#values [data-metric=gpu_temp_c] [data-v]') || {})"
                ".textContent?.startsWith(v)",
                arg=str(value),
                timeout=3_000,
                polling=20,
            )
            elapsed = time.monotonic() - started
            assert elapsed < 1.0, f"{value} took {elapsed:.3f} s to reach the page"
    # ...and on the live chart: the point was appended to the gpu_temp_c panel.
    page.wait_for_function(
        """() => { const fig = document.getElementById('series');
        const entry = fig.layout.meta.series.find(s => s.metric === 'gpu_temp_c');
        return fig.data[entry.trace].y.includes(77.75); }""",
        timeout=3_000,
    )
    shot(page, "node")


@pytest.fixture
def links(settings: Any, tmp_path: Path) -> Any:
    """Transfers over the simulated radio, run by a real Celery worker on its own queue."""
    queue = f"zenith-test-links-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    settings.ZENITH_TRANSFER_DIR = tmp_path / "transfers"
    settings.ZENITH_SIM_DIR = tmp_path / "sim"
    settings.ZENITH_MIN_CONTACT_S = 1.0
    settings.ZENITH_LINK_QUEUE = queue
    settings.ZENITH_DISPATCH_LEAD_S = 5.0
    worker = Worker(
        queue,
        "e2e",
        {
            "ZENITH_TRANSFER_DIR": str(tmp_path / "transfers"),
            "ZENITH_SIM_DIR": str(tmp_path / "sim"),
            "ZENITH_MIN_CONTACT_S": "1",
            "ZENITH_VAR_DIR": str(tmp_path / "worker"),
            "ZENITH_LINK_OPTIONS": json.dumps({"storage_dir": str(tmp_path / "sim")}),
            "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        },
    )
    worker.wait_ready()
    yield tmp_path / "transfers"
    worker.stop()


def test_a_transfers_progress_bar_advances(browsing: Browsing, links: Path, shot: Shot) -> None:
    now = timezone.now().replace(microsecond=0)
    hub, (station, _other) = geo_fleet(
        start=now - timedelta(minutes=1),
        hours=1,
        uplink_rate_bps=400_000,  # 50 kB/s: a 1 MB file takes about 20 s
        downlink_rate_bps=800_000,
    )
    source, sha = artefact(links, "weights.bin", 1_000_000)
    workload, _created, _ = transfer_services.workload_submit(
        spacecraft=hub,
        name="finetune",
        job={"cmd": ["train"]},
        uploads=[
            transfer_services.TransferSpec(
                name="weights.bin",
                kind="model_weights",
                source=source,
                sha256=sha,
                chunk_size_bytes=25_000,
            )
        ],
        actor="scheduler",
    )
    transfer = Transfer.objects.get(workload=workload)
    make_user("olga", "operator")
    page = browsing.login("olga", "/transfers/")
    wait_live(page, "transfers")
    bar = f'tr[data-transfer="{transfer.pk}"] .bar'
    assert page.get_attribute(bar, "aria-valuenow") == "0"
    book(hub, station, timezone.now() + timedelta(seconds=2), 60, timezone.now())
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([v for v in seen if 0 < v < 100]) < 3:
        tasks.dispatch_contacts()  # as Celery beat would
        value = int(page.get_attribute(bar, "aria-valuenow") or "0")
        if not seen or value != seen[-1]:
            seen.append(value)
            if 0 < value < 100 and len(seen) == 2:
                shot(page, "moving")
        page.wait_for_timeout(400)
    moving = [v for v in seen if 0 < v < 100]
    assert len(moving) >= 3, f"the bar did not advance step by step: {seen}"
    assert moving == sorted(moving)
    assert "in progress" in page.inner_text(f'tr[data-transfer="{transfer.pk}"] [data-f="state"]')
    shot(page, "transfers")


def test_the_map_and_the_timeline_render_with_no_request_leaving_the_machine(
    browsing: Browsing, shot: Shot
) -> None:
    build_fleet(3)
    make_user("olga", "operator")
    page = browsing.login("olga", "/map/")
    topojson: list[int] = []
    page.on(
        "response",
        lambda r: topojson.append(r.status) if r.url.endswith("world_110m.json") else None,
    )
    page.reload()
    page.wait_for_selector("#map[data-ready='1']", timeout=15_000)
    # Land and borders are drawn from the topojson Zenith served (long paths, not a frame).
    page.wait_for_function(
        "['land', 'countries', 'coastlines'].every(k => { const p = document.querySelector("
        "`#map .layer.${k} path`); return p && (p.getAttribute('d') || '').length > 5000; })",
        timeout=15_000,
    )
    assert topojson and set(topojson) <= {200, 304}, topojson
    assert page.locator("#map .scattergeo").count() >= 5
    shot(page, "map")
    page.goto(browsing.base + "/passes/")
    page.wait_for_selector("#timeline .barlayer .point", timeout=15_000)
    bars = page.locator("#timeline .barlayer .point").count()
    assert bars >= 9 + 3  # 9 passes, 3 contacts, a maintenance window
    assert page.locator("#timeline .shapelayer path").count() >= 1  # the now line
    # A pass opens its sky plot in the side panel.
    page.click("[data-sky]")
    page.wait_for_selector("#sky .polarlayer", timeout=10_000)
    shot(page, "passes")
    wait_live(page, "contacts")


def test_a_scheduler_sees_no_action_button_and_a_forged_post_is_refused(
    browsing: Browsing, shot: Shot
) -> None:
    fleet = build_fleet(1)
    make_user("sam", "scheduler")
    make_user("olga", "operator")
    transfer = fleet.transfers[0]
    operator = browsing.login("olga", "/transfers/")
    assert operator.locator("form[data-action] button").count() > 0
    page = browsing.login("sam", "/transfers/")
    wait_live(page, "transfers")
    assert page.locator("form[data-action]").count() == 0
    assert page.locator("button:has-text('Pause'), button:has-text('Cancel')").count() == 0
    forged = page.evaluate(
        """async (url) => {
          const token = document.querySelector('meta[name=csrf-token]').content;
          const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token,
            'Accept': 'application/json'}, credentials: 'same-origin'});
          return [r.status, await r.json()];
        }""",
        f"/transfers/{transfer.pk}/cancel/",
    )
    assert forged[0] == 403 and forged[1]["error"] == "permission_denied"
    transfer.refresh_from_db()
    assert transfer.state == TransferState.PLANNED
    shot(page, "scheduler")
