"""Independent references for the scheduling tests: Skyfield, real TLEs from installed packages.

Nothing here is an expected value typed in by hand: TLEs are read from the data
files the ``sgp4`` package ships, Skyfield's own published event counts come with
their provenance, and every other reference is computed by Skyfield at test time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sgp4
from skyfield.api import EarthSatellite, load, wgs84
from skyfield.timelib import Time, Timescale

TS: Timescale = load.timescale(builtin=True)


def sgp4_verification_tles() -> dict[int, tuple[str, str, str]]:
    """The TLEs of Vallado's verification set, as shipped in ``sgp4/SGP4-VER.TLE``.

    Line 2 there carries extra columns (start, stop, step) after column 69.
    """
    text = (Path(sgp4.__file__).parent / "SGP4-VER.TLE").read_text()
    lines = [line.rstrip("\r\n") for line in text.splitlines()]
    out: dict[int, tuple[str, str, str]] = {}
    comment = ""
    for index, line in enumerate(lines):
        if line.startswith("#"):
            comment = line.lstrip("# ").strip() or comment
        elif line.startswith("1 ") and index + 1 < len(lines):
            norad = int(line[2:7])
            out.setdefault(norad, (comment, line[:69], lines[index + 1][:69]))
    return out


@dataclass(frozen=True)
class EventCase:
    name: str
    line1: str
    line2: str
    start: Time
    end: Time
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    horizon_deg: float
    published_events: int


BOSTON = (42.3581, -71.0636, 0.0)

# Skyfield's own test of find_events (skyfield/tests/test_satellite_events.py, Skyfield
# 1.49+): the TLEs, sites, windows, horizons and event counts it publishes.
SKYFIELD_EVENT_CASES = [
    EventCase(
        "TIANGONG 1",
        "1 37820U 11053A   14314.79851609  .00064249  00000-0  44961-3 0  5637",
        "2 37820  42.7687 147.7173 0010686 283.6368 148.1694 15.73279710179072",
        TS.tai(2014, 11, 10),
        TS.tai(2014, 11, 11),
        *BOSTON,
        20.0,
        12,
    ),
    EventCase(
        "INTEGRAL",
        "1 27540U 02048A   20007.25125384  .00001047  00000-0  00000+0 0  9992",
        "2 27540  51.8988 127.5680 8897013 285.8757   2.8911  0.37604578 17780",
        TS.tai(2020, 1, 1),
        TS.tai(2020, 1, 15),
        *BOSTON,
        20.0,
        36,
    ),
    EventCase(
        "ANIK F-1R",
        "1 28868U 05036A   20011.46493281 -.00000066  00000-0  00000+0 0  9999",
        "2 28868   0.0175  50.4632 0002403 284.1276 195.8977  1.00270824 52609",
        TS.tai(2020, 1, 1),
        TS.tai(2020, 1, 15),
        *BOSTON,
        20.0,
        14,
    ),
    EventCase(
        "PALAPA D",
        "1 35812U 09046A   20008.38785173 -.00000341 +00000-0 +00000-0 0  9999",
        "2 35812 000.0518 095.9882 0002721 218.8296 045.1595 01.00269700038098",
        TS.tai(2020, 1, 1),
        TS.tai(2020, 1, 15),
        *BOSTON,
        20.0,
        0,
    ),
    EventCase(
        "Ariane 5B",
        "1 44802U 19080C   20010.68544515  .00001373  00000-0  27860-3 0  9997",
        "2 44802   5.1041 192.7327 7266711 217.6622  57.0965  2.30416801  1028",
        TS.tai(2020, 1, 1),
        TS.tai(2020, 1, 15),
        *BOSTON,
        20.0,
        37,
    ),
    EventCase(
        "Swift",
        "1 28485U 04047A   20010.76403232 +.00000826 +00000-0 +25992-4 0  9999",
        "2 28485 020.5579 055.7027 0010957 208.9479 151.0347 15.04516653829549",
        TS.tai(2020, 1, 1),
        TS.tai(2020, 1, 15),
        *BOSTON,
        20.0,
        0,
    ),
    EventCase(
        "GRACE-FO 2",
        "1 43477U 18047B   20011.66650462 +.00000719  00000-0 +29559-4 0    08",
        "2 43477  88.9974 159.0391 0019438 141.4770 316.8932 15.23958285 91199",
        TS.tai(2020, 1, 1),
        TS.tai(2020, 1, 15),
        *BOSTON,
        20.0,
        90,
    ),
    EventCase(  # Skyfield issue #559: a rising very close to culmination
        "Starlink 172",
        "1 00172U 19029BR  21063.59692852  .00001103  00000-0  33518-4 0  9998",
        "2 00172  53.0000  36.7036 0003481 299.7327  99.3331 15.05527065  1779",
        TS.tt_jd(2459277.4),
        TS.tt_jd(2459277.6),
        53.10373,
        8.85132,
        0.0,
        25.0,
        6,
    ),
    EventCase(  # Skyfield issue #996: a setting whose culmination precedes the window
        "O3B PFM",
        "1 39191U 13031D   21365.68950013 -.00000013  00000-0  00000-0 0  9995",
        "2 39191 000.0397 004.0913 0002586 278.0623 077.8173 05.00115674155430",
        TS.utc(2022, 1, 2, 3, 15),
        TS.utc(2022, 1, 2, 3, 45),
        -24.626331,
        -70.403964,
        2369.34,
        30.0,
        1,
    ),
    EventCase(  # Skyfield issue #996 (comment): a rising without a culmination
        "ELEKTRO-L",
        "1 41105U 15074A   24238.84268576 -.00000128  00000+0  00000+0 0  9993",
        "2 41105   5.0153  78.6193 0002491 153.4123  31.4253  1.00270890 31881",
        TS.utc(2024, 8, 26, 8, 38),
        TS.utc(2024, 8, 26, 8, 38) + 5.0 / 24.0,
        55.671429,
        37.62539,
        180.0,
        14.0,
        1,
    ),
    EventCase(  # test_earth_satellite_pass_very_close_to_start_time: a 36 s pass above 70
        "KANOPUS",
        "1 38707U 12039A   24247.82317651  .00138984  00000-0  16635-2 0  9998",
        "2 38707  97.4945 189.8924 0007050 108.0286 252.1739 15.60479551673427",
        TS.utc(2024, 9, 5),
        TS.utc(2024, 9, 6),
        48.6622,
        34.8862,
        0.0,
        70.0,
        3,
    ),
]


def unix(t: Time) -> np.ndarray:
    """POSIX seconds of Skyfield times (UTC, leap seconds not counted)."""
    return np.atleast_1d((t.tai - 2440587.5) * 86400.0 - t._leap_seconds())


def from_unix(values: np.ndarray) -> Time:
    """Skyfield times at POSIX seconds, keeping sub-microsecond precision."""
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    whole = np.floor(values)
    stamps = [datetime.fromtimestamp(w, UTC) for w in whole]
    return TS.utc(
        [s.year for s in stamps],
        [s.month for s in stamps],
        [s.day for s in stamps],
        [s.hour for s in stamps],
        [s.minute for s in stamps],
        [s.second for s in stamps] + (values - whole),
    )


class SkyfieldPair:
    """One satellite over one site, as Skyfield sees it (geometric altitude, no refraction)."""

    def __init__(
        self, line1: str, line2: str, latitude_deg: float, longitude_deg: float, elevation_m: float
    ) -> None:
        self.satellite = EarthSatellite(line1, line2, ts=TS)
        self.topos = wgs84.latlon(latitude_deg, longitude_deg, elevation_m)
        self.relative = self.satellite - self.topos

    def altitude(self, values: np.ndarray) -> np.ndarray:
        return np.atleast_1d(self.relative.at(from_unix(values)).altaz()[0].degrees)

    def altaz_range(self, values: np.ndarray) -> tuple[np.ndarray, ...]:
        alt, az, dist = self.relative.at(from_unix(values)).altaz()
        return alt.degrees, az.degrees, dist.km

    def events(self, start: Time, end: Time, horizon_deg: float) -> tuple[np.ndarray, np.ndarray]:
        t, kinds = self.satellite.find_events(self.topos, start, end, horizon_deg)
        return unix(t) if len(t) else np.zeros(0), np.asarray(kinds, dtype=int)

    def refined_events(
        self, start: Time, end: Time, horizon_deg: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Skyfield's events, each refined to well under a millisecond.

        ``find_events`` stops at about half a second; rises and sets are bisected on
        Skyfield's altitude, culminations on the sign of its derivative, all at once.
        Returns times, kinds and the altitude at each refined time.
        """
        times, kinds = self.events(start, end, horizon_deg)
        if times.size == 0:
            return times, kinds, times
        lo, hi = times - 4.0, times + 4.0
        culm = kinds == 1
        # Keep each bracket inside its pass: rises end at the next event, sets start
        # at the previous one (Skyfield's events are in time order).
        for k in range(times.size):
            if kinds[k] == 0 and k + 1 < times.size:
                hi[k] = min(hi[k], times[k + 1])
            if kinds[k] == 2 and k > 0:
                lo[k] = max(lo[k], times[k - 1])

        def sign(t: np.ndarray) -> np.ndarray:
            derivative = self.altitude(t + 1e-3) - self.altitude(t - 1e-3)
            crossing = self.altitude(t) - horizon_deg
            return np.where(culm, derivative, np.where(kinds == 0, crossing, -crossing)) > 0

        # Widen culmination brackets until the derivative changes sign (flat GEO maxima).
        for _ in range(12):
            bad = culm & (sign(lo) == sign(hi))
            if not bad.any():
                break
            lo = np.where(bad, lo - 30.0, lo)
            hi = np.where(bad, hi + 30.0, hi)
        lo_sign = sign(lo)
        for _ in range(int(math.log2((hi - lo).max() / 1e-5)) + 1):
            mid = 0.5 * (lo + hi)
            same = sign(mid) == lo_sign
            lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
        refined = 0.5 * (lo + hi)
        return refined, kinds, self.altitude(refined)
