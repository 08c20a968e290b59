"""Seed a demo constellation (LEO compute nodes, a GEO hub, stations) and one demo login
per role (operator, oncall, scheduler, admin), so each sees what that role sees."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from ops.fleet import services
from ops.fleet.models import GroundStation, Spacecraft
from orbital.constants import EARTH_RADIUS_KM, MU_EARTH_KM3_S2, SECONDS_PER_DAY
from orbital.tle import format_tle

STATIONS = [
    # slug, name, lat, lon, alt_m, min_el, mask, antennas
    (
        "svalbard",
        "Svalbard (SvalSat)",
        78.2298,
        15.4078,
        500.0,
        5.0,
        [[0, 3], [120, 8], [240, 3]],
        3,
    ),
    ("fairbanks", "Fairbanks", 64.8587, -147.8499, 300.0, 5.0, [], 2),
    ("wallops", "Wallops Island", 37.9249, -75.4765, 10.0, 10.0, [], 1),
    ("santiago", "Santiago", -33.1511, -70.6664, 700.0, 5.0, [], 1),
    ("hartebeesthoek", "Hartebeesthoek", -25.8872, 27.7073, 1540.0, 5.0, [], 2),
    ("perth", "Perth (Mingenew)", -29.0461, 115.3456, 250.0, 7.0, [], 1),
]


def _mean_motion(altitude_km: float) -> float:
    import math

    a = EARTH_RADIUS_KM + altitude_km
    return SECONDS_PER_DAY / (2 * math.pi * math.sqrt(a**3 / MU_EARTH_KM3_S2))


class Command(BaseCommand):
    help = "Create the demo fleet (idempotent) and one demo login per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leo", type=int, default=6, help="number of LEO compute nodes")
        parser.add_argument("--password", default="zenith-demo", help="of every demo login")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        epoch = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        count = options["leo"]
        planes = max(1, min(3, count))
        for index in range(count):
            slug = f"leo-{index + 1:03d}"
            craft = Spacecraft.objects.filter(slug=slug).first() or services.spacecraft_create(
                slug=slug,
                name=f"Zenith LEO {index + 1}",
                norad_id=99001 + index,
                role="leo",
                priority=5 + (index % 3),
                gpu_count=8,
                gpu_model="H200",
                power_w=12_000,
                storage_bytes=64 * 10**12,
                uplink_rate_bps=100_000_000,
                downlink_rate_bps=800_000_000,
            )
            plane, slot = index % planes, index // planes
            l1, l2 = format_tle(
                norad_id=craft.norad_id or 99001 + index,
                epoch=epoch,
                inclination_deg=53.0 if plane != 2 else 97.6,
                raan_deg=plane * 120.0,
                eccentricity=0.0001,
                arg_perigee_deg=0.0,
                mean_anomaly_deg=(slot * 360.0 / max(1, count // planes)) % 360.0,
                mean_motion_rev_per_day=_mean_motion(550.0),
                bstar=1.0e-4,
                intl_designator="26900A",
            )
            services.orbit_set_load_tle(spacecraft=craft, line1=l1, line2=l2, source="seed_demo")
        hub = Spacecraft.objects.filter(slug="geo-hub-1").first() or services.spacecraft_create(
            slug="geo-hub-1",
            name="Zenith GEO hub 1",
            norad_id=99900,
            role="geo",
            priority=9,
            gpu_count=64,
            gpu_model="H200",
            power_w=60_000,
            storage_bytes=2 * 10**15,
            uplink_rate_bps=1_000_000_000,
            downlink_rate_bps=2_000_000_000,
            radios=4,
        )
        l1, l2 = format_tle(
            norad_id=hub.norad_id or 99900,
            epoch=epoch,
            inclination_deg=0.05,
            raan_deg=0.0,
            eccentricity=0.0002,
            arg_perigee_deg=0.0,
            mean_anomaly_deg=10.0,
            mean_motion_rev_per_day=1.00273791,
            intl_designator="26901A",
        )
        services.orbit_set_load_tle(spacecraft=hub, line1=l1, line2=l2, source="seed_demo")
        for slug, name, lat, lon, alt, min_el, mask, antennas in STATIONS:
            if not GroundStation.objects.filter(slug=slug).exists():
                services.station_create(
                    slug=slug,
                    name=name,
                    latitude_deg=lat,
                    longitude_deg=lon,
                    altitude_m=alt,
                    min_elevation_deg=min_el,
                    horizon_mask=mask,
                    antennas=antennas,
                )
        logins = demo_logins(password=options["password"])
        self.stdout.write(
            f"demo fleet: {Spacecraft.objects.count()} spacecraft, "
            f"{GroundStation.objects.count()} ground stations; "
            f"logins (password {options['password']}): {', '.join(logins)}"
        )


# Each demo login holds exactly its own role: a newcomer signing in as ``operator`` sees
# what an operator sees (no admin), ``scheduler`` what a scheduler sees (no actions).
DEMO_LOGINS = ("operator", "oncall", "scheduler", "admin")


def demo_logins(*, password: str) -> list[str]:
    """Create (or reset to their one role) the demo logins, named after their roles."""
    user_model = get_user_model()
    for role in DEMO_LOGINS:
        user = user_model.objects.filter(username=role).first()
        if user is None:
            user = user_model.objects.create_user(username=role, password=password)
        user.is_staff = True  # Django admin shows each role only what its permissions allow
        user.save(update_fields=["is_staff"])
        group = Group.objects.filter(name=role).first()
        user.groups.set([group] if group is not None else [])
    return list(DEMO_LOGINS)
