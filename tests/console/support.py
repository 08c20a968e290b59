"""A deterministic console fleet: nodes with orbits, stations, passes, contacts,
maintenance, transfers and telemetry, all placed relative to "now" (pages read now)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from ops.fleet.models import GroundStation, MaintenanceWindow, OrbitSet, Spacecraft
from scheduling.models import Contact, ContactState, Pass, Transfer, TransferState, Workload
from telemetry import services as telemetry_services
from telemetry.ingest import Samples
from tests import factories
from tests.scheduling.fleet import leo

TILE_VALUES = {
    "battery_soc": 0.81,
    "power_in_w": 9000.0,
    "power_draw_w": 7000.0,
    "gpu_temp_c": 61.0,
    "gpu_util": 0.73,
    "storage_used_bytes": 4.0e12,
    "storage_free_bytes": 6.0e12,
}


@dataclass
class Fleet:
    now: datetime
    crafts: list[Spacecraft]
    stations: list[GroundStation]
    passes: list[Pass]
    contacts: list[Contact]
    transfers: list[Transfer]


def ingest(slug: str, at: datetime, metrics: dict[str, float]) -> None:
    samples = Samples(nodes=[slug], times=[at], metrics=[metrics], where=["samples[0]"])
    telemetry_services.telemetry_ingest(samples=samples)


def make_transfer(
    craft: Spacecraft, name: str, state: str, now: datetime, **extra: Any
) -> Transfer:
    size = extra.pop("size_bytes", 8_000_000)
    return Transfer.objects.create(
        spacecraft=craft,
        workload=extra.pop("workload", None),
        direction=extra.pop("direction", "up"),
        kind="dataset",
        name=name,
        size_bytes=size,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        chunk_size_bytes=1_000_000,
        chunk_count=8,
        state=state,
        created_by="test",
        state_changed_at=now,
        **extra,
    )


def build_fleet(count: int, *, now: datetime | None = None, telemetry: bool = True) -> Fleet:
    """``count`` LEO nodes over two stations: three passes each (the first booked, node 0
    in contact now), two transfers each, a maintenance window, newest telemetry."""
    now = now or timezone.now().replace(microsecond=0)
    stations = [
        factories.make_station("svalbard", horizon_mask=[[0, 3], [120, 8], [240, 3]]),
        factories.make_station(
            "wallops", latitude_deg=37.92, longitude_deg=-75.48, altitude_m=10.0, antennas=2
        ),
    ]
    MaintenanceWindow.objects.create(
        station=stations[1],
        starts_at=now + timedelta(hours=3),
        ends_at=now + timedelta(hours=4),
        reason="feed swap",
    )
    crafts, passes, contacts, transfers = [], [], [], []
    for i in range(count):
        craft = leo(f"leo-{i + 1:03d}", 99001 + i, raan=i * 30.0)
        orbit_set = OrbitSet.objects.filter(spacecraft=craft).first()
        assert orbit_set is not None
        for k in range(3):
            aos = now + timedelta(minutes=-4 if (i == 0 and k == 0) else 20 * k + i + 1)
            passes.append(
                Pass.objects.create(
                    spacecraft=craft,
                    station=stations[k % 2],
                    orbit_set=orbit_set,
                    aos=aos,
                    tca=aos + timedelta(minutes=4),
                    los=aos + timedelta(minutes=8),
                    max_elevation_deg=30.0 + k,
                    aos_azimuth_deg=10.0,
                    tca_azimuth_deg=90.0,
                    los_azimuth_deg=170.0,
                    predicted_at=now,
                )
            )
        first = passes[-3]
        contacts.append(
            Contact.objects.create(
                spacecraft=craft,
                station=first.station,
                pass_ref=first,
                pass_aos=first.aos,
                pass_los=first.los,
                start=first.aos,
                end=first.los,
                uplink_capacity_bytes=1_000_000_000,
                downlink_capacity_bytes=4_000_000_000,
                state=ContactState.IN_PROGRESS if i == 0 else ContactState.SCHEDULED,
                state_changed_at=now,
            )
        )
        workload = Workload.objects.create(
            spacecraft=craft, name=f"job-{i}", submitted_by="test", state_changed_at=now
        )
        transfers.append(
            make_transfer(craft, f"weights-{i}.bin", TransferState.PLANNED, now, workload=workload)
        )
        transfers.append(
            make_transfer(
                craft, f"data-{i}.tar", TransferState.IN_PROGRESS, now, bytes_done=2_000_000
            )
        )
        if telemetry:
            ingest(craft.slug, now - timedelta(seconds=5 + i), TILE_VALUES)
        crafts.append(craft)
    return Fleet(now, crafts, stations, passes, contacts, transfers)
