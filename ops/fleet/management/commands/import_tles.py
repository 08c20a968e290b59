"""Import TLE files: 2-line or 3-line, files, directories or stdin ('-')."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ops.fleet.exceptions import FleetError
from ops.fleet.services import tle_import_one
from orbital.tle import iter_tle_file

SUFFIXES = {".tle", ".txt", ".3le", ".2le"}


class Command(BaseCommand):
    help = (
        "Import TLEs from files, directories (*.tle, *.txt, *.2le, *.3le) or '-' for stdin. "
        "Creates spacecraft by NORAD id, records every new TLE as an orbit set, reports each "
        "bad entry with its line number and keeps the good ones. Exits 1 if any entry failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="TLE file, directory, or - for stdin")
        parser.add_argument(
            "--source", default="", help="provenance label (default: the file path)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def _inputs(self, paths: list[str]) -> list[tuple[str, str]]:
        inputs: list[tuple[str, str]] = []
        for raw in paths:
            if raw == "-":
                inputs.append(("<stdin>", sys.stdin.read()))
                continue
            path = Path(raw)
            if path.is_dir():
                files = sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                )
                if not files:
                    raise CommandError(f"{path}: no TLE files (*.tle, *.txt, *.2le, *.3le) inside")
            elif path.is_file():
                files = [path]
            else:
                raise CommandError(f"{path}: no such file or directory")
            for file in files:
                try:
                    inputs.append((str(file), file.read_text(encoding="utf-8", errors="replace")))
                except OSError as exc:
                    raise CommandError(f"{file}: cannot read: {exc.strerror}") from exc
        return inputs

    def handle(self, *args: Any, **options: Any) -> None:
        inputs = self._inputs(options["paths"])
        parsed = [(name, entry) for name, text in inputs for entry in iter_tle_file(text)]
        if not parsed:
            raise CommandError("no TLE entries found")
        counts = {
            "spacecraft_created": 0,
            "orbit_sets_created": 0,
            "already_loaded": 0,
            "failed": 0,
        }
        failures: list[str] = []
        bar = tqdm(
            parsed,
            unit="tle",
            desc="import",
            file=sys.stderr,
            disable=options["no_progress"] or None,
        )
        for name, entry in bar:
            if entry.error is not None or entry.tle is None:
                counts["failed"] += 1
                failures.append(f"{name}:{entry.line_number}: {entry.error}")
                continue
            try:
                result = tle_import_one(
                    tle=entry.tle, source=options["source"] or name, loaded_by="import_tles"
                )
            except FleetError as exc:
                counts["failed"] += 1
                failures.append(
                    f"{name}:{entry.line_number}: {exc.detail} {exc.fields or ''}".rstrip()
                )
                continue
            counts["spacecraft_created"] += int(result.spacecraft_created)
            counts["orbit_sets_created"] += int(result.orbit_set_created)
            counts["already_loaded"] += int(not result.orbit_set_created)
        bar.close()
        for line in failures:
            self.stderr.write(f"error: {line}")
        self.stdout.write(
            f"{len(parsed)} entries: {counts['orbit_sets_created']} new orbit sets, "
            f"{counts['already_loaded']} already loaded, "
            f"{counts['spacecraft_created']} new spacecraft, "
            f"{counts['failed']} failed"
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {len(parsed)} entries failed")
