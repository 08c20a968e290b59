"""Replan the contacts from the stored passes and apply the diff (progress bar on stderr)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from scheduling.exceptions import SchedulingError
from scheduling.services import contact_plan, replan


def _when(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give an ISO 8601 time with a zone, e.g. 2026-11-24T12:00Z"
        )
    return moment


class Command(BaseCommand):
    help = (
        "Replan the contacts of every active spacecraft over every active station from "
        "--start (default now) for --hours (default 24) from the stored passes, and apply "
        "it: contacts in progress or inside the freeze horizon (--freeze seconds) are "
        "kept. Prints what was added, removed and kept; exits 1 on failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", type=_when, help="ISO 8601 with a zone; default now")
        parser.add_argument("--hours", type=float, default=24.0)
        parser.add_argument("--freeze", type=float, default=contact_plan.DEFAULT_FREEZE_S)
        parser.add_argument("--budget", type=float, default=contact_plan.DEFAULT_BUDGET_S)
        parser.add_argument("--now", type=_when, help="plan as if it were this time (replays)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["hours"] <= 0:
            raise CommandError("--hours must be positive")
        now = options["now"] or timezone.now()
        start = options["start"] or now
        bar = tqdm(
            total=100,
            unit="%",
            desc="plan",
            file=sys.stderr,
            disable=options["no_progress"] or None,
        )
        shown = [0.0]

        def progress(fraction: float) -> None:
            done = 100.0 * fraction
            if done > shown[0]:
                bar.update(done - shown[0])
                shown[0] = done

        try:
            outcome = replan.plan_refresh(
                window_start=start,
                window_end=start + timedelta(hours=options["hours"]),
                freeze_s=options["freeze"],
                budget_s=options["budget"],
                actor="plan_contacts",
                now=now,
                progress=progress,
            )
        except SchedulingError as exc:
            raise CommandError(f"{exc.detail} {exc.fields or ''}".rstrip()) from None
        finally:
            bar.close()
        for change in outcome.removed:
            self.stdout.write(f"removed {change.contact}: {change.reason}")
        for note in outcome.skipped:
            self.stderr.write(f"skipped {note}")
        self.stdout.write(
            f"plan {start:%Y-%m-%dT%H:%MZ} + {options['hours']:g} h ({outcome.method}): "
            f"{len(outcome.added)} added, {len(outcome.removed)} removed, "
            f"{len(outcome.kept)} kept, {len(outcome.skipped)} skipped"
        )
