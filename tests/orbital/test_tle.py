from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orbital.tle import TleError, checksum, format_tle, iter_tle_file, parse_tle
from tests.factories import ISS_LINE1, ISS_LINE2


def test_parses_iss_fields() -> None:
    tle = parse_tle(ISS_LINE1, ISS_LINE2, "ISS (ZARYA)")
    assert tle.norad_id == 25544
    assert tle.name == "ISS (ZARYA)"
    assert tle.intl_designator == "98067A"
    assert tle.inclination_deg == pytest.approx(51.6416)
    assert tle.eccentricity == pytest.approx(0.0006703)
    assert tle.bstar == pytest.approx(-1.1606e-5)
    assert tle.mean_motion_rev_per_day == pytest.approx(15.72125391)
    # 2008 day 264.51782528 = 20 Sep 2008 12:25:40.104 UTC
    assert tle.epoch == datetime(2008, 9, 20, 12, 25, 40, 104192, tzinfo=UTC)


def test_bad_checksum_names_line() -> None:
    bad = ISS_LINE1[:-1] + str((int(ISS_LINE1[-1]) + 1) % 10)
    with pytest.raises(TleError) as info:
        parse_tle(bad, ISS_LINE2)
    assert info.value.field == "line1"
    assert "checksum" in info.value.message


def test_line2_corruption_detected_by_checksum() -> None:
    corrupted = ISS_LINE2[:10] + "7" + ISS_LINE2[11:]  # inclination digit changed
    with pytest.raises(TleError) as info:
        parse_tle(ISS_LINE1, corrupted)
    assert info.value.field == "line2"


@pytest.mark.parametrize(
    ("line1", "line2", "field", "fragment"),
    [
        (ISS_LINE1[:-2], ISS_LINE2, "line1", "69 characters"),
        ("2" + ISS_LINE1[1:], ISS_LINE2, "line1", "start with '1 '"),
        (ISS_LINE1, "1" + ISS_LINE2[1:], "line2", "start with '2 '"),
    ],
)
def test_format_errors(line1: str, line2: str, field: str, fragment: str) -> None:
    with pytest.raises(TleError) as info:
        parse_tle(line1, line2)
    assert info.value.field == field
    assert fragment in info.value.message


def test_catalog_numbers_must_match() -> None:
    line2 = "2 25545" + ISS_LINE2[7:68]
    line2 += str(checksum(line2))
    with pytest.raises(TleError) as info:
        parse_tle(ISS_LINE1, line2)
    assert info.value.field == "line2"
    assert "does not match" in info.value.message


def test_non_numeric_field_named() -> None:
    line2 = ISS_LINE2[:8] + " 51.64X6" + ISS_LINE2[16:68]
    line2 += str(checksum(line2))
    with pytest.raises(TleError) as info:
        parse_tle(ISS_LINE1, line2)
    assert "inclination" in info.value.message


def test_format_round_trips() -> None:
    epoch = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    line1, line2 = format_tle(
        norad_id=90001,
        epoch=epoch,
        inclination_deg=53.0,
        raan_deg=370.0,
        eccentricity=0.0012,
        arg_perigee_deg=90.0,
        mean_anomaly_deg=45.5,
        mean_motion_rev_per_day=15.06,
        bstar=2.5e-4,
    )
    tle = parse_tle(line1, line2)
    assert (tle.norad_id, tle.inclination_deg, tle.raan_deg) == (90001, 53.0, 10.0)
    assert tle.eccentricity == pytest.approx(0.0012)
    assert tle.bstar == pytest.approx(2.5e-4)
    assert abs((tle.epoch - epoch).total_seconds()) < 1e-3


def test_alpha5_catalog_number() -> None:
    line1 = "1 A0001" + ISS_LINE1[7:68]
    line2 = "2 A0001" + ISS_LINE2[7:68]
    line1 += str(checksum(line1))
    line2 += str(checksum(line2))
    assert parse_tle(line1, line2).norad_id == 100001


def test_file_entries_keep_line_numbers() -> None:
    bad2 = ISS_LINE2[:-1] + str((int(ISS_LINE2[-1]) + 3) % 10)
    text = "\n".join(
        [
            "ISS (ZARYA)",
            ISS_LINE1,
            ISS_LINE2,
            "",
            "BROKEN",
            ISS_LINE1,
            bad2,
            ISS_LINE1,
            ISS_LINE2,
            "ORPHAN NAME",
        ]
    )
    entries = iter_tle_file(text)
    assert [e.line_number for e in entries] == [1, 5, 8, 10]
    assert entries[0].tle is not None and entries[0].tle.name == "ISS (ZARYA)"
    assert entries[1].error is not None and "line 7" in str(entries[1].error)
    assert entries[2].tle is not None and entries[2].name is None
    assert entries[3].error is not None and "without element lines" in str(entries[3].error)
