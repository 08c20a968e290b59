"""Rebuild the bundled Earth-orientation table (UT1-UTC, leap seconds) from IERS data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from orbital import timescales


def _from_skyfield() -> timescales.EarthOrientation:
    """Skyfield's builtin ``iers.npz`` is IERS finals2000A repacked as TT and TT-UT1."""
    try:
        from skyfield.data import __file__ as skyfield_data
    except ImportError:
        raise CommandError("skyfield is not installed (it is a dev dependency)") from None
    with np.load(Path(skyfield_data).parent / "iers.npz") as arrays:
        tt_jd = arrays["tt_jd_minus_arange"] + np.arange(len(arrays["tt_jd_minus_arange"]))
        delta_t = np.round(arrays["delta_t_1e7"] / 1e7, 7)
        leap_jd = arrays["leap_dates"].astype(np.float64)
        leap_offsets = arrays["leap_offsets"].astype(np.float64)
    # Rows are 0h UTC of consecutive days; TT-UTC = TAI-UTC + 32.184 s.
    leap_mjd = leap_jd - 2_400_000.5
    # 1972-01-01 (10 s) precedes Skyfield's first step; keep TAI-UTC defined from there.
    leap_mjd = np.concatenate([[41_317.0], leap_mjd])
    leap_offsets = np.concatenate([[10.0], leap_offsets])
    mjd = np.round(tt_jd - 2_400_000.5 - (32.184 + 10.0) / 86_400.0)
    index = np.searchsorted(leap_mjd, mjd, side="right") - 1
    tai_minus_utc = leap_offsets[index]
    ut1_minus_utc = 32.184 + tai_minus_utc - delta_t
    return timescales.EarthOrientation(
        mjd_utc=mjd,
        ut1_minus_utc_s=ut1_minus_utc,
        leap_mjd=leap_mjd,
        tai_minus_utc_s=leap_offsets,
        source="IERS finals2000A via skyfield iers.npz",
    )


class Command(BaseCommand):
    help = (
        "Write scheduling/data/eop.npz (daily UT1-UTC and leap seconds) from an IERS "
        "finals2000A.all file (download it yourself: nothing is fetched), or from the "
        "copy of the same data Skyfield bundles (--from-skyfield, development only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--finals", help="path to an IERS finals2000A.all file")
        source.add_argument("--from-skyfield", action="store_true")
        parser.add_argument(
            "--output", default=str(timescales.BUNDLED_EOP_PATH), help="where to write the table"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_skyfield"]:
            table = _from_skyfield()
        else:
            path = Path(options["finals"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            try:
                table = timescales.parse_finals2000a(
                    path.read_text(encoding="ascii", errors="replace"), source=str(path.name)
                )
            except ValueError as exc:
                raise CommandError(f"{path}: {exc}") from None
        output = Path(options["output"])
        table.save(output)
        self.stdout.write(
            f"{output}: UT1-UTC {table.first_day:%Y-%m-%d}..{table.last_day:%Y-%m-%d}, "
            f"{len(table.leap_mjd)} leap-second steps (TAI-UTC now "
            f"{table.tai_minus_utc_s[-1]:.0f} s)"
        )
