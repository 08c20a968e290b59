"""Shared pieces of the transfer tests: deterministic files, the GEO fleet, booking."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

from ops.fleet.models import GroundStation, Spacecraft
from scheduling.models import Contact
from scheduling.services import contacts
from scheduling.services import passes as pass_services
from tests.scheduling.fleet import geo, under_geo


def pattern(size: int, seed: int = 1) -> bytes:
    """``size`` deterministic, non-repeating bytes (chained SHA-256 blocks)."""
    out = bytearray()
    block = hashlib.sha256(f"zenith-{seed}".encode()).digest()
    while len(out) < size:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:size])


def artefact(root: Path, name: str, size: int, seed: int = 1) -> tuple[str, str]:
    """Write an upload source under ``root/outgoing``; returns (relative path, sha256)."""
    data = pattern(size, seed)
    path = root / "outgoing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return name, hashlib.sha256(data).hexdigest()


def node_file(sim_dir: Path, spacecraft: str, name: str, size: int, seed: int = 2) -> str:
    """Put a result file on the simulated node; returns its sha256."""
    data = pattern(size, seed)
    path = sim_dir / spacecraft / "outbox" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def geo_fleet(
    *, start: datetime, hours: float = 2.0, stations: int = 2, **craft: object
) -> tuple[Spacecraft, list[GroundStation]]:
    """A GEO hub always in view of ``stations`` stations under it (no setup/turnaround),
    with passes predicted from ``start``: contacts can be booked anywhere in the window."""
    hub = geo("geo-hub", 99900)
    for key, value in craft.items():
        setattr(hub, key, value)
    hub.save()
    sites = []
    for i in range(stations):
        st = under_geo(f"under-geo-{i + 1}")
        st.setup_s = 0
        st.turnaround_s = 0
        st.save()
        sites.append(st)
    pass_services.pass_predict(
        spacecraft=[hub], stations=sites, start=start, end=start + timedelta(hours=hours), now=start
    )
    return hub, sites


def book(
    craft: Spacecraft, station: GroundStation, start: datetime, seconds: float, now: datetime
) -> Contact:
    return contacts.contact_book(
        spacecraft=craft,
        station=station,
        start=start,
        end=start + timedelta(seconds=seconds),
        actor="test",
        now=now,
    )
