"""Two-line element sets: strict parsing and validation. Pure: no Django.

SGP4 libraries are forgiving (they ignore checksums and read garbage as zeros); a
ground segment must not be, since a silently wrong TLE puts every pass in the
wrong place. Each problem names the line and the columns at fault.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sgp4.api import WGS72, Satrec

_ALPHA5 = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are not used in Alpha-5 catalog numbers
_SATNUM_RE = re.compile(r"^[0-9A-HJ-NP-Z][0-9]{4}$")
_EXP_RE = re.compile(r"^[ +-]?[0-9]{5}[+-][0-9]$")


class TleError(ValueError):
    """A TLE is malformed. ``field`` names the part at fault (``line1`` or ``line2``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Tle:
    name: str | None
    line1: str
    line2: str
    norad_id: int
    classification: str
    intl_designator: str
    epoch: datetime
    inclination_deg: float
    raan_deg: float
    eccentricity: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    mean_motion_rev_per_day: float
    bstar: float
    element_set_number: int
    rev_number: int

    @property
    def period_min(self) -> float:
        return 1440.0 / self.mean_motion_rev_per_day


def checksum(line: str) -> int:
    """Modulo-10 checksum of the first 68 columns: digits count, '-' counts 1."""
    total = 0
    for char in line[:68]:
        if char.isdigit():
            total += int(char)
        elif char == "-":
            total += 1
    return total % 10


def decode_satnum(text: str) -> int:
    """Catalog number, including the Alpha-5 scheme (A0000 = 100000)."""
    text = text.strip().rjust(5, "0") if text.strip().isdigit() else text.strip()
    if not _SATNUM_RE.match(text):
        raise ValueError(f"catalog number {text!r} is not 5 digits or Alpha-5")
    head = text[0]
    if head.isdigit():
        return int(text)
    return (_ALPHA5.index(head) + 10) * 10000 + int(text[1:])


def _number(field: str, line: str, start: int, end: int, what: str) -> float:
    """Columns are 1-based inclusive as in the NORAD format description."""
    raw = line[start - 1 : end]
    try:
        value = float(raw)
    except ValueError:
        raise TleError(
            field, f"columns {start}-{end} ({what}) must be a number, got {raw!r}"
        ) from None
    if not math.isfinite(value):
        raise TleError(field, f"columns {start}-{end} ({what}) is not finite")
    return value


def _exp_field(field: str, line: str, start: int, end: int, what: str) -> float:
    """Fields like ' 12345-3' meaning 0.12345e-3 (assumed decimal point)."""
    raw = line[start - 1 : end]
    if raw.strip() in {"", "00000-0", "00000+0", "+00000-0", "-00000-0", "+00000+0"}:
        return 0.0
    if not _EXP_RE.match(raw.rjust(8)):
        raise TleError(
            field, f"columns {start}-{end} ({what}) is not in TLE exponent form: {raw!r}"
        )
    sign = -1.0 if raw.strip().startswith("-") else 1.0
    digits = raw.strip().lstrip("+-")
    mantissa = float("0." + digits[:5])
    exponent = int(digits[5:])
    return sign * mantissa * 10.0**exponent


def _epoch(field: str, line: str) -> datetime:
    raw = line[18:32]
    try:
        two_digit_year = int(raw[:2])
        day_of_year = float(raw[2:])
    except ValueError:
        raise TleError(
            field, f"columns 19-32 (epoch) must be YYDDD.DDDDDDDD, got {raw!r}"
        ) from None
    if not 1.0 <= day_of_year < 367.0:
        raise TleError(field, f"columns 19-32 (epoch) day of year {day_of_year} is out of range")
    year = 1900 + two_digit_year if two_digit_year >= 57 else 2000 + two_digit_year
    start = datetime(year, 1, 1, tzinfo=UTC)
    epoch = start + timedelta(days=day_of_year - 1.0)
    if epoch.year != year:
        raise TleError(field, f"columns 19-32 (epoch) day {day_of_year} does not exist in {year}")
    return epoch


def _check_line(field: str, line: str, number: str) -> None:
    if len(line) != 69:
        raise TleError(field, f"must be 69 characters, got {len(line)}")
    if line[0] != number or line[1] != " ":
        raise TleError(field, f"must start with '{number} '")
    if not line[68].isdigit():
        raise TleError(field, f"column 69 (checksum) must be a digit, got {line[68]!r}")
    expected = checksum(line)
    if int(line[68]) != expected:
        raise TleError(field, f"checksum is {line[68]}, computed {expected}")


def parse_tle(line1: str, line2: str, name: str | None = None) -> Tle:
    """Validate and parse one TLE. Raises :class:`TleError` naming the bad line."""
    line1 = line1.rstrip("\r\n").rstrip()
    line2 = line2.rstrip("\r\n").rstrip()
    _check_line("line1", line1, "1")
    _check_line("line2", line2, "2")

    try:
        satnum1 = decode_satnum(line1[2:7])
    except ValueError as exc:
        raise TleError("line1", f"columns 3-7: {exc}") from None
    try:
        satnum2 = decode_satnum(line2[2:7])
    except ValueError as exc:
        raise TleError("line2", f"columns 3-7: {exc}") from None
    if satnum1 != satnum2:
        raise TleError("line2", f"catalog number {satnum2} does not match line 1 ({satnum1})")
    classification = line1[7]
    if classification not in "UCS ":
        raise TleError(
            "line1", f"column 8 (classification) must be U, C or S, got {classification!r}"
        )

    epoch = _epoch("line1", line1)
    _number("line1", line1, 34, 43, "first derivative of mean motion")
    _exp_field("line1", line1, 45, 52, "second derivative of mean motion")
    bstar = _exp_field("line1", line1, 54, 61, "B* drag term")
    ephemeris_type = line1[62]
    if ephemeris_type not in "0 ":
        raise TleError("line1", f"column 63 (ephemeris type) must be 0, got {ephemeris_type!r}")
    elset_raw = line1[64:68].strip() or "0"
    if not elset_raw.isdigit():
        raise TleError(
            "line1", f"columns 65-68 (element set number) must be digits, got {elset_raw!r}"
        )

    inclination = _number("line2", line2, 9, 16, "inclination")
    raan = _number("line2", line2, 18, 25, "RAAN")
    ecc_raw = line2[26:33]
    if not ecc_raw.strip().isdigit() or len(ecc_raw.strip()) != 7:
        raise TleError("line2", f"columns 27-33 (eccentricity) must be 7 digits, got {ecc_raw!r}")
    eccentricity = float("0." + ecc_raw.strip())
    argp = _number("line2", line2, 35, 42, "argument of perigee")
    mean_anomaly = _number("line2", line2, 44, 51, "mean anomaly")
    mean_motion = _number("line2", line2, 53, 63, "mean motion")
    rev_raw = line2[63:68].strip() or "0"
    if not rev_raw.isdigit():
        raise TleError(
            "line2", f"columns 64-68 (revolution number) must be digits, got {rev_raw!r}"
        )

    if not 0.0 <= inclination <= 180.0:
        raise TleError("line2", f"inclination {inclination} deg is outside 0-180")
    for value, what in (
        (raan, "RAAN"),
        (argp, "argument of perigee"),
        (mean_anomaly, "mean anomaly"),
    ):
        if not 0.0 <= value < 360.0:
            raise TleError("line2", f"{what} {value} deg is outside 0-360")
    if not 0.0 < mean_motion < 20.0:
        raise TleError("line2", f"mean motion {mean_motion} rev/day is outside (0, 20)")

    satrec = Satrec.twoline2rv(line1, line2, WGS72)
    _, _, _ = satrec.sgp4(satrec.jdsatepoch, satrec.jdsatepochF)
    if satrec.error not in (0,):
        raise TleError("line2", f"SGP4 cannot propagate these elements (error {satrec.error})")

    return Tle(
        name=(
            name.strip()[2:].strip()
            if name and name.startswith("0 ")
            else (name or "").strip() or None
        ),
        line1=line1,
        line2=line2,
        norad_id=satnum1,
        classification=classification.strip() or "U",
        intl_designator=line1[9:17].strip(),
        epoch=epoch,
        inclination_deg=inclination,
        raan_deg=raan,
        eccentricity=eccentricity,
        arg_perigee_deg=argp,
        mean_anomaly_deg=mean_anomaly,
        mean_motion_rev_per_day=mean_motion,
        bstar=bstar,
        element_set_number=int(elset_raw),
        rev_number=int(rev_raw),
    )


@dataclass(frozen=True, slots=True)
class TleEntry:
    """One entry of a TLE file: its parse or its error, with the line it starts on."""

    line_number: int
    name: str | None
    tle: Tle | None
    error: TleError | None


def iter_tle_file(text: str) -> list[TleEntry]:
    """Split a 2-line or 3-line TLE file into entries, keeping bad ones with line numbers.

    A name line is any non-blank line that does not start with '1 ' or '2 '. A line 1
    without a following line 2 (or the reverse) is reported, not silently dropped.
    """
    entries: list[TleEntry] = []
    lines = text.splitlines()
    i = 0
    pending_name: tuple[int, str] | None = None
    while i < len(lines):
        raw = lines[i].rstrip()
        number = i + 1
        if not raw.strip():
            i += 1
            continue
        if raw.startswith("1 "):
            start = pending_name[0] if pending_name else number
            name = pending_name[1] if pending_name else None
            pending_name = None
            nxt = lines[i + 1].rstrip() if i + 1 < len(lines) else ""
            if not nxt.startswith("2 "):
                err = TleError("line2", f"line {number + 1}: expected line 2 after line 1")
                entries.append(TleEntry(start, name, None, err))
                i += 1
                continue
            try:
                entries.append(TleEntry(start, name, parse_tle(raw, nxt, name), None))
            except TleError as exc:
                at = number if exc.field == "line1" else number + 1
                err = TleError(exc.field, f"line {at}: {exc.message}")
                entries.append(TleEntry(start, name, None, err))
            i += 2
            continue
        if raw.startswith("2 "):
            entries.append(
                TleEntry(
                    number, None, None, TleError("line1", f"line {number}: line 2 without a line 1")
                )
            )
            i += 1
            continue
        if pending_name is not None:
            entries.append(
                TleEntry(
                    pending_name[0],
                    pending_name[1],
                    None,
                    TleError("line1", f"line {pending_name[0]}: name line without element lines"),
                )
            )
        pending_name = (number, raw.strip())
        i += 1
    if pending_name is not None:
        entries.append(
            TleEntry(
                pending_name[0],
                pending_name[1],
                None,
                TleError("line1", f"line {pending_name[0]}: name line without element lines"),
            )
        )
    return entries


def _exp_format(value: float) -> str:
    """0.12345e-3 -> ' 12345-3' (TLE assumed-decimal exponent form, 8 columns)."""
    if value == 0.0:
        return " 00000-0"
    sign = "-" if value < 0 else " "
    mantissa, exponent = abs(value), 0
    while mantissa >= 1.0:
        mantissa /= 10.0
        exponent += 1
    while mantissa < 0.1:
        mantissa *= 10.0
        exponent -= 1
    digits = round(mantissa * 100000)
    if digits >= 100000:
        digits //= 10
        exponent += 1
    if not -9 <= exponent <= 9:
        raise ValueError(f"{value} cannot be written in TLE exponent form")
    return f"{sign}{digits:05d}{'-' if exponent < 0 else '+'}{abs(exponent)}"


def format_tle(
    *,
    norad_id: int,
    epoch: datetime,
    inclination_deg: float,
    raan_deg: float,
    eccentricity: float,
    arg_perigee_deg: float,
    mean_anomaly_deg: float,
    mean_motion_rev_per_day: float,
    bstar: float = 0.0,
    intl_designator: str = "",
    element_set_number: int = 999,
    rev_number: int = 0,
) -> tuple[str, str]:
    """Write a valid TLE (with checksums) for synthetic spacecraft: demos, simulator, benches."""
    if not 0 < norad_id < 100000:
        raise ValueError("norad_id must be 1..99999 for the classic format")
    epoch = epoch.astimezone(UTC)
    start = datetime(epoch.year, 1, 1, tzinfo=UTC)
    day = 1.0 + (epoch - start).total_seconds() / 86400.0
    ecc = f"{round(eccentricity * 1e7):07d}"
    line1 = (
        f"1 {norad_id:05d}U {intl_designator:<8.8} {epoch.year % 100:02d}{day:012.8f} "
        f" .00000000 {_exp_format(0.0)} {_exp_format(bstar)} 0 {element_set_number % 10000:4d}"
    )
    line2 = (
        f"2 {norad_id:05d} {inclination_deg:8.4f} {raan_deg % 360.0:8.4f} {ecc} "
        f"{arg_perigee_deg % 360.0:8.4f} {mean_anomaly_deg % 360.0:8.4f} "
        f"{mean_motion_rev_per_day:11.8f}{rev_number % 100000:5d}"
    )
    line1 += str(checksum(line1))
    line2 += str(checksum(line2))
    return line1, line2
