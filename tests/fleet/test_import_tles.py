from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ops.fleet.models import OrbitSet, Spacecraft
from orbital.tle import checksum
from tests.factories import ISS2_LINE1, ISS2_LINE2, ISS_LINE1, ISS_LINE2

pytestmark = pytest.mark.django_db


def _tle(norad: int) -> tuple[str, str]:
    line1 = f"1 {norad:05d}" + ISS_LINE1[7:68]
    line2 = f"2 {norad:05d}" + ISS_LINE2[7:68]
    return line1 + str(checksum(line1)), line2 + str(checksum(line2))


def run(*args: str, stdin: str | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        import sys

        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            call_command("import_tles", *args, "--no-progress", stdout=out, stderr=err)
        finally:
            sys.stdin = old
    else:
        call_command("import_tles", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_three_line_file_with_a_bad_entry(tmp_path: Path) -> None:
    a1, a2 = _tle(40001)
    b1, b2 = _tle(40002)
    bad2 = b2[:-1] + str((int(b2[-1]) + 1) % 10)
    path = tmp_path / "fleet.tle"
    path.write_text(
        "\n".join(["NODE A", a1, a2, "NODE B", b1, bad2, "ISS (ZARYA)", ISS_LINE1, ISS_LINE2])
        + "\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 3 entries failed"):
        call_command("import_tles", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert (
        f"{path}:4:" in err.getvalue()
        and "line 6" in err.getvalue()
        and "checksum" in err.getvalue()
    )
    assert set(Spacecraft.objects.values_list("norad_id", flat=True)) == {40001, 25544}
    iss = Spacecraft.objects.get(norad_id=25544)
    assert iss.slug == "iss-zarya-25544" and iss.name == "ISS (ZARYA)"
    assert OrbitSet.objects.get(spacecraft=iss).source == str(path)


def test_two_line_directory_and_reimport(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(f"{ISS_LINE1}\n{ISS_LINE2}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.tle").write_text(f"{ISS2_LINE1}\n{ISS2_LINE2}\n")
    (tmp_path / "notes.md").write_text("not a TLE")
    out, _ = run(str(tmp_path))
    assert "2 new orbit sets" in out and "1 new spacecraft" in out
    out, _ = run(str(tmp_path))
    assert "0 new orbit sets, 2 already loaded" in out
    assert OrbitSet.objects.count() == 2
    assert Spacecraft.objects.get().slug == "norad-25544"


def test_stdin(tmp_path: Path) -> None:
    out, _ = run("-", stdin=f"0 ISS (ZARYA)\n{ISS_LINE1}\n{ISS_LINE2}\n")
    assert "1 new orbit sets" in out
    assert Spacecraft.objects.get().name == "ISS (ZARYA)"


def test_missing_path_fails(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "nope.tle"))
