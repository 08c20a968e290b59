"""UTC, UT1 and sidereal time, checked against astropy's IERS-B table and ERFA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import erfa
import numpy as np
import pytest
from astropy.utils import iers

from orbital import timescales


def test_bundled_ut1_agrees_with_the_iers_b_series_astropy_ships() -> None:
    """Two IERS products (C04 in astropy, Bulletin A in our table) agree to <0.5 ms since 1990."""
    table = iers.IERS_B.open()  # astropy's bundled file: nothing is downloaded
    mjd = np.asarray(table["MJD"].value)
    mjd = mjd[(mjd >= 41_685) & (mjd < mjd[-1] - 1)]  # our table starts 1973-01-02
    noon = (mjd + 0.5 - timescales.UNIX_EPOCH_MJD) * timescales.SECONDS_PER_DAY
    ours = timescales.bundled().ut1_minus_utc(noon)
    reference = np.asarray(table.ut1_utc(2_400_000.5 + mjd + 0.5))
    difference = np.abs(ours - reference)
    assert difference.max() < 0.01
    assert difference[mjd > 47_892].max() < 0.0005  # since 1990


def test_leap_seconds_agree_with_erfa() -> None:
    eop = timescales.bundled()
    days = np.arange(np.datetime64("1972-01-01"), np.datetime64("2026-12-31"), 17)
    for day in days:
        moment = datetime.fromisoformat(str(day)).replace(tzinfo=UTC) + timedelta(hours=12)
        expected = erfa.dat(moment.year, moment.month, moment.day, 0.5)
        assert eop.tai_minus_utc(moment.timestamp()) == expected, moment


def test_ut1_is_continuous_across_a_leap_second() -> None:
    """UT1-UTC jumps by +1 s at 2016-12-31T23:59:60, TAI-UT1 does not."""
    eop = timescales.bundled()
    leap = datetime(2017, 1, 1, tzinfo=UTC).timestamp()
    before, after = eop.ut1_minus_utc([leap - 1e-3, leap + 1e-3])
    assert after - before == pytest.approx(1.0, abs=1e-5)
    tai_ut1 = eop.tai_minus_utc([leap - 1e-3, leap + 1e-3]) - eop.ut1_minus_utc(
        [leap - 1e-3, leap + 1e-3]
    )
    assert abs(tai_ut1[1] - tai_ut1[0]) < 1e-5


def test_gmst_agrees_with_erfa() -> None:
    eop = timescales.bundled()
    moments = (
        np.linspace(
            datetime(1990, 1, 1, tzinfo=UTC).timestamp(),
            datetime(2026, 11, 1, tzinfo=UTC).timestamp(),
            97,
        )
        + 0.123456
    )
    dut1 = eop.ut1_minus_utc(moments)
    ours = timescales.gmst82(moments, dut1)
    days = (moments + dut1) / 86400.0
    whole = np.floor(days)
    expected = erfa.gmst82(2_440_587.5 + whole, days - whole)
    difference = np.angle(np.exp(1j * (ours - expected)))
    assert np.abs(difference).max() < 1e-10  # radians: 0.6 mm at the equator (float noise)


def finals_row(mjd: int, dut1: float | None) -> str:
    """A row in the fixed-column layout of IERS finals2000A (see readme.finals2000A)."""
    year, month, day = 2020, 1, 1  # columns 1-6 are not read
    row = f"{year % 100:2d}{month:2d}{day:2d} {mjd:8.2f} I  0.100000 0.000010  0.300000 0.000010  I"
    row = row.ljust(57)
    row += f"{dut1:10.7f}" if dut1 is not None else " " * 10
    return row + " 0.0000100  1.0000 0.0100"


def test_parse_finals2000a_reads_ut1_and_finds_leap_seconds() -> None:
    rows = [finals_row(57_750 + k, -0.4 - 0.001 * k) for k in range(4)]
    rows += [finals_row(57_754 + k, 0.6 - 0.001 * k) for k in range(3)]  # +1 s jump
    rows += [finals_row(57_757, None)]  # a future row with no prediction
    table = timescales.parse_finals2000a("\n".join(rows) + "\n")
    assert list(table.mjd_utc) == list(range(57_750, 57_757))
    assert table.ut1_minus_utc_s[0] == pytest.approx(-0.4)
    assert table.leap_mjd[-1] == 57_754
    assert table.tai_minus_utc_s[-1] - table.tai_minus_utc_s[-2] == 1.0
    with pytest.raises(ValueError, match="finals2000A"):
        timescales.parse_finals2000a("not an IERS file\n")


def test_past_the_table_the_last_value_is_held() -> None:
    eop = timescales.bundled()
    last = (eop.mjd_utc[-1] - timescales.UNIX_EPOCH_MJD) * 86400.0
    assert eop.ut1_minus_utc(last + 400 * 86400.0) == pytest.approx(
        eop.ut1_minus_utc(last), abs=1e-9
    )


def test_datetimes_round_trip_and_naive_ones_are_refused() -> None:
    moment = datetime(2026, 11, 24, 12, 0, 1, 250_000, tzinfo=UTC)
    assert timescales.to_datetime(timescales.unix_seconds(moment)) == moment
    shifted = moment.astimezone(timezone(timedelta(hours=5)))
    assert timescales.unix_seconds(shifted) == timescales.unix_seconds(moment)
    with pytest.raises(ValueError, match="timezone"):
        timescales.unix_seconds(datetime(2026, 1, 1))
