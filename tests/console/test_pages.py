"""Every console page: what it shows, for whom, and a query count that does not grow with
the nodes, passes or transfers shown (the same number for a fleet of 2 and of 6)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests import factories
from tests.console.support import build_fleet, ingest
from tests.factories import make_user

pytestmark = pytest.mark.django_db

# Pinned per page; the guard runs each page on a small and a larger fleet.
PAGES: dict[str, tuple[str, int]] = {
    "fleet": ("/", 18),  # +1: the open alerts of the board's nodes
    "node": ("/nodes/leo-001/", 21),  # +2: its open alerts, the people to assign them to
    "node-series": ("/nodes/leo-001/series.json?range=15m&m=battery_soc&m=ecc_errors_total", 8),
    "passes": ("/passes/", 8),
    "passes-figure": ("/passes/figure.json", 8),
    "pass": ("/passes/{pass_id}/", 5),
    "map": ("/map/", 7),
    "map-figure": ("/map/figure.json", 7),
    "transfers": ("/transfers/", 6),
    "registry": ("/registry/", 6),
}


def signed_in(*roles: str, name: str = "olga") -> Client:
    client = Client()
    client.force_login(make_user(name, *roles))
    return client


@pytest.mark.parametrize("size", [2, 6])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_query_count_does_not_grow_with_the_fleet(
    page: str, size: int, django_assert_num_queries: Any
) -> None:
    fleet = build_fleet(size)
    client = signed_in("operator")
    path, expected = PAGES[page]
    path = path.format(pass_id=fleet.passes[0].pk)
    client.get(path)  # warm per-process caches (the store, the metric registry)
    with django_assert_num_queries(expected):
        response = client.get(path)
    assert response.status_code == 200, response.content[:500]


def test_fleet_page_groups_tiles_and_marks_contact_maintenance_and_values() -> None:
    fleet = build_fleet(3)
    geo = factories.make_spacecraft("geo-hub-1", role="geo")
    html = signed_in("operator").get("/").content.decode()
    assert html.index('id="g-leo"') < html.index('data-slug="leo-001"') < html.index('id="g-geo"')
    assert html.index('id="g-geo"') < html.index(f'data-slug="{geo.slug}"')
    tile = html[html.index('data-slug="leo-001"') : html.index('data-slug="leo-002"')]
    assert "in-contact" in tile.split(">")[0] or 'class="tile in-contact"' in html
    assert "<span data-contact>svalbard</span>" in tile
    assert ">81%<" in tile and ">+2.0kW<" in tile and ">61°C<" in tile and ">40%<" in tile
    assert 'data-station="wallops"' in html and "maint." in html
    assert "AOS <time" in html[html.index('data-slug="leo-002"') :]
    data = json.loads(
        html.split('id="fleet-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["nodes"]["leo-001"]["contact"] == "svalbard"
    assert data["nodes"]["leo-001"]["m"]["battery_soc"] == 0.81
    assert data["nodes"]["leo-002"]["light"] in ("sunlit", "penumbra", "umbra")
    assert data["nodes"]["geo-hub-1"]["light"] is None  # no orbit loaded
    assert {c["spacecraft_id"] for c in data["contacts"]} == {fleet.crafts[0].pk}


def test_node_page_shows_values_passes_transfers_and_a_series_figure() -> None:
    fleet = build_fleet(2)
    html = signed_in("operator").get("/nodes/leo-001/?range=6h&m=gpu_temp_c").content.decode()
    assert 'data-metric="battery_soc"' in html and 'data-metric="gpu_temp_c"' in html
    assert "in contact: <span>svalbard</span>" in html
    assert html.count("<tr data-transfer=") == 2
    assert f'href="/passes/{fleet.passes[0].pk}/"' in html
    figure = json.loads(html.split('id="series-figure">')[1].split("</script>")[0])
    assert figure["layout"]["meta"]["series"][0]["metric"] == "gpu_temp_c"
    assert figure["layout"]["meta"]["time"] == "xaxis"
    assert signed_in("operator", name="o2").get("/nodes/nope/").status_code == 404


def test_series_json_gives_rates_for_counters_and_gaps_as_gaps() -> None:
    fleet = build_fleet(1, telemetry=False)
    base = fleet.now - timedelta(minutes=10)
    for k, count in enumerate([100, 110, 130, 5]):  # a reset: 130 -> 5
        ingest("leo-001", base + timedelta(seconds=2 * k), {"ecc_errors_total": count})
    ingest("leo-001", base + timedelta(minutes=6), {"battery_soc": 0.5})
    response = signed_in("operator").get(
        "/nodes/leo-001/series.json?range=15m&m=ecc_errors_total&m=battery_soc"
    )
    figure = response.json()
    series = {s["metric"]: s for s in figure["layout"]["meta"]["series"]}
    assert series["ecc_errors_total"]["counter"] is True
    rates = [y for y in figure["data"][series["ecc_errors_total"]["trace"]]["y"] if y is not None]
    assert rates and all(r >= 0 for r in rates)
    soc = figure["data"][series["battery_soc"]["trace"]]["y"]
    assert soc.count(None) > len(soc) - 3, "buckets without samples are gaps"
    shapes = figure["layout"]["shapes"]
    assert any(s["type"] == "rect" for s in shapes), "LOS outside the node's passes is shaded"


def test_passes_page_draws_stations_passes_contacts_and_maintenance() -> None:
    fleet = build_fleet(2)
    html = signed_in("operator").get("/passes/").content.decode()
    figure = json.loads(html.split('id="timeline-figure">')[1].split("</script>")[0])
    names = [t.get("name") for t in figure["data"]]
    assert "predicted pass" in names and "maintenance" in names
    assert any(n and n.startswith("contact ") for n in names)
    assert figure["layout"]["yaxis"]["categoryarray"] == ["wallops", "svalbard"]
    passes = next(t for t in figure["data"] if t["name"] == "predicted pass")
    assert set(passes["customdata"]) == {p.pk for p in fleet.passes}
    assert f'data-contact="{fleet.contacts[0].pk}"' in html


def test_pass_sky_plot_draws_the_track_over_the_mask() -> None:
    fleet = build_fleet(1)
    svalbard_pass = fleet.passes[0]
    figure = signed_in("operator").get(f"/passes/{svalbard_pass.pk}/sky.json").json()
    mask, track = figure["data"][0], figure["data"][1]
    assert mask["name"] == "horizon mask" and track["name"] == "track"
    assert max(mask["r"]) == 90.0 and min(mask["r"]) == pytest.approx(90.0 - 8.0, abs=0.01)
    assert figure["layout"]["polar"]["angularaxis"]["direction"] == "clockwise"
    assert len(track["r"]) > 100


def test_map_draws_tracks_positions_stations_and_night_from_local_assets() -> None:
    build_fleet(2)
    html = signed_in("operator").get("/map/").content.decode()
    assert "/static/console/vendor/plotly.min.js" in html and "cdn" not in html.lower()
    figure = json.loads(html.split('id="map-figure">')[1].split("</script>")[0])
    names = [t["name"] for t in figure["data"]]
    assert names[0] == "night" and "track ahead" in names and "stations" in names
    nodes = figure["data"][figure["layout"]["meta"]["nodes_trace"]]
    assert nodes["text"] == ["leo-001", "leo-002"]
    positions = figure["layout"]["meta"]["positions"]
    assert len(positions["lat"][0]) == 31 and positions["slugs"] == ["leo-001", "leo-002"]


def test_transfers_page_lists_the_queue_in_moving_order() -> None:
    fleet = build_fleet(2)
    html = signed_in("operator").get("/transfers/").content.decode()
    moving = [t for t in fleet.transfers if t.state == "in_progress"]
    assert html.index(f'data-transfer="{moving[0].pk}"') < html.index(
        f'data-transfer="{fleet.transfers[0].pk}"'
    ), "in progress before planned"
    assert "25.0% · 2.0 MB / 8.0 MB" in html
    assert html.count('class="do-pause"') == 4


def test_a_scheduler_reads_the_console_but_sees_no_control() -> None:
    build_fleet(1)
    client = signed_in("scheduler", name="sam")
    for path in ("/", "/nodes/leo-001/", "/passes/", "/map/", "/transfers/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "data-action" not in response.content.decode(), path
    assert "read only" in client.get("/transfers/").content.decode()


def test_pages_need_a_signed_in_person_with_a_console_role() -> None:
    response = Client().get("/transfers/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    nobody = signed_in(name="nobody")
    assert nobody.get("/").status_code == 403
    assert (
        nobody.get("/nodes/leo-001/series.json", HTTP_ACCEPT="application/json").status_code == 403
    )


def test_plotly_and_the_world_topojson_are_served_locally(client: Client) -> None:
    from ops.console.staticfiles import PLOTLY_JS

    assert finders.find(PLOTLY_JS)
    topojson = finders.find("console/vendor/topojson/world_110m.json")
    assert topojson and json.loads(Path(topojson).read_text())["type"] == "Topology"
