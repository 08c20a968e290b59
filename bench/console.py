"""Console page benchmark (make bench): the fleet page for a 500-node fleet, server time
and bytes, against the registry page (the plain tables of the same fleet) in the same run.

Targets (issue 12): fleet page under 300 ms and under 1 MB.

    .venv/bin/python bench/console.py            # 500 nodes
    .venv/bin/python bench/console.py --nodes 100
"""

from __future__ import annotations

import argparse
import gzip
import math
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import setup_django, table

TILE = {
    "battery_soc": 0.8,
    "power_in_w": 9000.0,
    "power_draw_w": 7000.0,
    "gpu_temp_c": 61.0,
    "gpu_util": 0.7,
    "storage_used_bytes": 4e12,
    "storage_free_bytes": 6e12,
}


def seed(nodes: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from ops.fleet import services
    from orbital.tle import format_tle
    from scheduling.models import Contact, Pass
    from telemetry import services as telemetry_services
    from telemetry.ingest import Samples

    now = timezone.now().replace(microsecond=0)
    stations = [
        services.station_create(
            slug=f"gs-{i}",
            name=f"Station {i}",
            latitude_deg=-60 + 24 * i,
            longitude_deg=-170 + 60 * i,
        )
        for i in range(6)
    ]
    crafts = []
    for i in range(nodes):
        craft = services.spacecraft_create(
            slug=f"leo-{i + 1:03d}", name=f"LEO {i + 1}", norad_id=90000 + i
        )
        l1, l2 = format_tle(
            norad_id=90000 + i,
            epoch=now,
            inclination_deg=53.0 + (i % 3) * 20,
            raan_deg=(i * 7.2) % 360,
            eccentricity=0.0001,
            arg_perigee_deg=0.0,
            mean_anomaly_deg=(i * 37.0) % 360,
            mean_motion_rev_per_day=15.1,
        )
        orbit_set = services.orbit_set_load_tle(
            spacecraft=craft, line1=l1, line2=l2, source="bench"
        ).orbit_set
        crafts.append((craft, orbit_set))
    for k in range(0, nodes, 100):
        samples = Samples()
        for craft, _ in crafts[k : k + 100]:
            samples.nodes.append(craft.slug)
            samples.times.append(now - timedelta(seconds=5))
            samples.metrics.append(dict(TILE))
        samples.where = [f"s{j}" for j in range(len(samples.nodes))]
        telemetry_services.telemetry_ingest(samples=samples)
    for i, (craft, orbit_set) in enumerate(crafts):
        aos = now + timedelta(minutes=(i * 3) % 600 - 5)
        p = Pass.objects.create(
            spacecraft=craft,
            station=stations[i % 6],
            orbit_set=orbit_set,
            aos=aos,
            tca=aos + timedelta(minutes=4),
            los=aos + timedelta(minutes=8),
            max_elevation_deg=40,
            aos_azimuth_deg=0,
            tca_azimuth_deg=90,
            los_azimuth_deg=180,
            predicted_at=now,
        )
        Contact.objects.create(
            spacecraft=craft,
            station=p.station,
            pass_ref=p,
            start=p.aos,
            end=p.los,
            state="scheduled",
            state_changed_at=now,
        )
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    user.groups.add(Group.objects.get(name="operator"))


def measure(client: Any, path: str, repeat: int) -> tuple[float, float, int, int]:
    client.get(path)  # warm caches
    times, size, packed = [], 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
        packed = len(gzip.compress(response.content, 6))
    ordered = sorted(times)
    return statistics.median(ordered), ordered[math.ceil(0.9 * len(ordered)) - 1], size, packed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup_django("zenith_bench_console")
    from django.contrib.staticfiles import finders
    from django.test import Client

    started = time.perf_counter()
    seed(args.nodes)
    print(f"seeded {args.nodes} nodes in {time.perf_counter() - started:.1f} s")
    client = Client()
    client.login(username="bench", password="bench-password-1")
    fleet = measure(client, "/", args.repeat)
    registry = measure(client, "/registry/", args.repeat)
    rows = [
        [
            "fleet page /",
            f"{fleet[0] * 1000:.0f}",
            f"{fleet[1] * 1000:.0f}",
            f"{fleet[2] / 1e3:.0f}",
            f"{fleet[3] / 1e3:.0f}",
        ],
        [
            "registry /registry/ (baseline)",
            f"{registry[0] * 1000:.0f}",
            f"{registry[1] * 1000:.0f}",
            f"{registry[2] / 1e3:.0f}",
            f"{registry[3] / 1e3:.0f}",
        ],
        [
            "ratio fleet / baseline",
            f"{fleet[0] / registry[0]:.2f}",
            f"{fleet[1] / registry[1]:.2f}",
            f"{fleet[2] / registry[2]:.2f}",
            f"{fleet[3] / registry[3]:.2f}",
        ],
    ]
    print(
        f"\nconsole pages, {args.nodes} nodes, {args.repeat} requests each (server time, in process)"
    )
    print(table(rows, ["page", "median ms", "p90 ms", "kB", "kB gzip"]))
    scripts = ["console/console.js", "console/fleet.js", "console/console.css"]
    static = sum(Path(finders.find(s)).stat().st_size for s in scripts)
    print(
        f"\nfleet page's own scripts and styles (cached after the first load): {static / 1e3:.0f} kB"
    )
    ok_time, ok_size = fleet[0] < 0.300, fleet[2] < 1_000_000
    print(
        f"targets: server time < 300 ms: {'met' if ok_time else 'MISSED'} ({fleet[0] * 1000:.0f} ms); "
        f"bytes < 1 MB: {'met' if ok_size else 'MISSED'} ({fleet[2] / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
