"""Time scales for orbit work: UTC, TAI, UT1 and the Earth's rotation angle. Pure: no Django.

Conventions used everywhere in ``orbital`` (and so in scheduling):

* Instants are float64 **POSIX seconds** (UTC, leap seconds not counted), the same
  count Python's ``datetime.timestamp()`` uses. Around 2026 that resolves 0.24 us.
* SGP4 takes its epoch and times as UTC (AIAA 2006-6753), so SGP4 is fed UTC.
* The Earth's orientation follows UT1, not UTC: ``UT1 = UTC + (UT1-UTC)``, with
  UT1-UTC (|value| < 0.9 s, about 0.4 km of ground motion at the equator) from
  the IERS table bundled in ``orbital/data/eop.npz``. Between the daily values
  TAI-UT1 (which has no leap-second jumps) is interpolated linearly in TAI, the
  same scheme Skyfield uses, so both agree to float rounding. Past the end of the
  table the last TAI-UT1 is held: UT1-UTC then drifts from the truth by roughly
  0.1-0.5 s per year (a few tens of ms of pass timing); load a newer IERS
  ``finals2000A.all`` with :func:`parse_finals2000a` to refresh it.
* TEME -> pseudo-Earth-fixed uses GMST 1982 of UT1 (Vallado et al., AIAA 2006-6753,
  Appendix C). Polar motion (<= 15 m at the surface) is not applied, as in Skyfield.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from orbital.constants import (
    J2000_UNIX_S,
    SECONDS_PER_DAY,
    TAU,
    UNIX_EPOCH_MJD,
)

FloatArray = npt.NDArray[np.float64]

BUNDLED_EOP_PATH = Path(__file__).resolve().parent / "data" / "eop.npz"


def unix_seconds(moment: datetime) -> float:
    """POSIX seconds of an aware datetime; naive datetimes are refused (no guessing)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware (UTC)")
    return moment.timestamp()


def to_datetime(unix_s: float) -> datetime:
    """An aware UTC datetime, rounded to the microsecond."""
    whole = math.floor(unix_s)
    micros = round((unix_s - whole) * 1e6)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=whole, microseconds=micros)


@dataclass(frozen=True, slots=True)
class EarthOrientation:
    """Daily UT1-UTC and the leap-second table.

    ``mjd_utc`` are UTC Modified Julian Dates at 0h; ``leap_mjd[i]`` is the UTC MJD
    from which TAI-UTC equals ``tai_minus_utc_s[i]``.
    """

    mjd_utc: FloatArray
    ut1_minus_utc_s: FloatArray
    leap_mjd: FloatArray
    tai_minus_utc_s: FloatArray
    source: str
    _node_tai: FloatArray = field(init=False, repr=False, compare=False)
    _node_tai_minus_ut1: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.mjd_utc) < 2 or len(self.mjd_utc) != len(self.ut1_minus_utc_s):
            raise ValueError("UT1-UTC table needs at least two matching rows")
        if np.any(np.diff(self.mjd_utc) <= 0) or np.any(np.diff(self.leap_mjd) <= 0):
            raise ValueError("UT1-UTC and leap-second tables must be sorted by date")
        node_unix = (self.mjd_utc - UNIX_EPOCH_MJD) * SECONDS_PER_DAY
        node_leap = self._leap_at(node_unix)
        # TAI of each node and TAI-UT1 there: both continuous across leap seconds.
        object.__setattr__(self, "_node_tai", node_unix + node_leap)
        object.__setattr__(self, "_node_tai_minus_ut1", node_leap - self.ut1_minus_utc_s)

    def _leap_at(self, unix_s: FloatArray) -> FloatArray:
        leap_unix = (self.leap_mjd - UNIX_EPOCH_MJD) * SECONDS_PER_DAY
        index = np.searchsorted(leap_unix, unix_s, side="right") - 1
        # Before 1972 (UTC with rubber seconds) is out of scope: clamp to the first step.
        return np.asarray(self.tai_minus_utc_s[np.clip(index, 0, None)], dtype=np.float64)

    def tai_minus_utc(self, unix_s: npt.ArrayLike) -> FloatArray:
        """TAI-UTC (leap seconds) in seconds at each instant."""
        return self._leap_at(np.asarray(unix_s, dtype=np.float64))

    def ut1_minus_utc(self, unix_s: npt.ArrayLike) -> FloatArray:
        """UT1-UTC in seconds, interpolated as described in the module docstring."""
        unix = np.asarray(unix_s, dtype=np.float64)
        leap = self._leap_at(unix)
        tai_minus_ut1 = np.interp(
            unix + leap,
            self._node_tai,
            self._node_tai_minus_ut1,
        )
        return np.asarray(leap - tai_minus_ut1, dtype=np.float64)

    @property
    def first_day(self) -> datetime:
        return to_datetime((float(self.mjd_utc[0]) - UNIX_EPOCH_MJD) * SECONDS_PER_DAY)

    @property
    def last_day(self) -> datetime:
        return to_datetime((float(self.mjd_utc[-1]) - UNIX_EPOCH_MJD) * SECONDS_PER_DAY)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            mjd0=np.int64(self.mjd_utc[0]),
            ut1_minus_utc_1e7=np.round(self.ut1_minus_utc_s * 1e7).astype(np.int32),
            leap_mjd=self.leap_mjd.astype(np.int64),
            tai_minus_utc=self.tai_minus_utc_s.astype(np.int64),
            source=np.array(self.source),
        )


def load(path: Path | str | None = None) -> EarthOrientation:
    """The bundled table, or a saved one (``.npz``), or an IERS ``finals2000A`` text file."""
    if path is None:
        return bundled()
    path = Path(path)
    if path.suffix == ".npz":
        return _load_npz(path)
    return parse_finals2000a(path.read_text(encoding="ascii", errors="replace"), source=str(path))


@lru_cache(maxsize=1)
def bundled() -> EarthOrientation:
    return _load_npz(BUNDLED_EOP_PATH)


def _load_npz(path: Path) -> EarthOrientation:
    with np.load(path) as data:
        dut1 = data["ut1_minus_utc_1e7"].astype(np.float64) / 1e7
        mjd0 = float(data["mjd0"])
        return EarthOrientation(
            mjd_utc=mjd0 + np.arange(len(dut1), dtype=np.float64),
            ut1_minus_utc_s=dut1,
            leap_mjd=data["leap_mjd"].astype(np.float64),
            tai_minus_utc_s=data["tai_minus_utc"].astype(np.float64),
            source=str(data["source"]),
        )


# Columns of IERS finals2000A (see readme.finals2000A): MJD in 8-15, UT1-UTC
# (Bulletin A, observed or predicted) in 59-68; blank when no value is given.
_FINALS_ROW = re.compile(r"^.{7}(?P<mjd>[ 0-9.]{8}).{43}(?P<dut1>[ 0-9.+-]{10})", re.MULTILINE)
# TAI-UTC became an integer number of seconds on 1972-01-01 (10 s); steps before
# finals2000A starts (1973-01-02) are not visible in its UT1-UTC column.
_EARLY_LEAPS = ((41_317.0, 10.0), (41_499.0, 11.0), (41_683.0, 12.0))


def parse_finals2000a(text: str, *, source: str = "finals2000A") -> EarthOrientation:
    """Parse IERS ``finals2000A.all`` (or ``.data``): daily UT1-UTC and the leap seconds.

    Leap seconds are found as the +1 s jumps of UT1-UTC, the way Skyfield does it.
    """
    mjd: list[float] = []
    dut1: list[float] = []
    for match in _FINALS_ROW.finditer(text):
        raw = match.group("dut1").strip()
        if not raw:
            continue
        mjd.append(float(match.group("mjd")))
        dut1.append(float(raw))
    if len(mjd) < 2:
        raise ValueError("no UT1-UTC rows found: is this an IERS finals2000A file?")
    mjd_arr = np.asarray(mjd)
    dut1_arr = np.asarray(dut1)
    jumps = np.flatnonzero(np.diff(dut1_arr) > 0.9) + 1
    leap_mjd = [m for m, _ in _EARLY_LEAPS]
    offsets = [o for _, o in _EARLY_LEAPS]
    for index in jumps:
        leap_mjd.append(float(mjd_arr[index]))
        offsets.append(offsets[-1] + 1.0)
    return EarthOrientation(
        mjd_utc=mjd_arr,
        ut1_minus_utc_s=dut1_arr,
        leap_mjd=np.asarray(leap_mjd),
        tai_minus_utc_s=np.asarray(offsets),
        source=source,
    )


def gmst82(unix_s: npt.ArrayLike, ut1_minus_utc_s: npt.ArrayLike) -> FloatArray:
    """Greenwich mean sidereal time (IAU 1982), radians in [0, 2 pi), of UTC instants.

    Days of UT1 since J2000 are formed from POSIX seconds (about 1e4 days, so float64
    keeps 0.2 us); the whole-day part of ``86400 * days`` is dropped before scaling
    so the angle keeps full precision.
    """
    days = (np.asarray(unix_s, dtype=np.float64) - J2000_UNIX_S) / SECONDS_PER_DAY
    days = days + np.asarray(ut1_minus_utc_s, dtype=np.float64) / SECONDS_PER_DAY
    centuries = days / 36_525.0
    seconds = (
        67_310.54841
        + SECONDS_PER_DAY * np.mod(days, 1.0)
        + (8_640_184.812866 + (0.093104 - 6.2e-6 * centuries) * centuries) * centuries
    )
    return np.asarray(np.mod(seconds / SECONDS_PER_DAY, 1.0) * TAU, dtype=np.float64)
