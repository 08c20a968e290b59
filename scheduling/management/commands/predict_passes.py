"""Predict and store passes for spacecraft over ground stations (progress bar on stderr)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from ops.fleet import selectors as fleet_selectors
from scheduling import tasks
from scheduling.exceptions import SchedulingError
from scheduling.models import JobState
from scheduling.services import passes as pass_services


def _when(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give an ISO 8601 time with a zone, e.g. 2026-11-24T12:00Z"
        )
    return moment


class Command(BaseCommand):
    help = (
        "Predict the passes of spacecraft (default: every active one with an orbit set) "
        "over stations (default: every active one) from --start (default now) for --hours "
        "(default 48), replacing stored future passes; passes in progress are kept. Runs "
        "here unless --queue sends the job's chunks to the Celery workers. Exits 1 if any "
        "spacecraft could not be predicted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--spacecraft", action="append", default=[], help="slug (repeat)")
        parser.add_argument("--station", action="append", default=[], help="slug (repeat)")
        parser.add_argument("--start", type=_when, help="ISO 8601 with a zone; default now")
        parser.add_argument("--hours", type=float, default=48.0)
        parser.add_argument("--refraction", action="store_true", help="apparent elevations")
        parser.add_argument(
            "--now", type=_when, help="predict as if it were this time (replays, tests)"
        )
        parser.add_argument("--queue", action="store_true", help="run on the Celery workers")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["hours"] <= 0:
            raise CommandError("--hours must be positive")
        crafts, unknown = fleet_selectors.spacecraft_by_slugs(slugs=options["spacecraft"])
        if unknown:
            raise CommandError(f"unknown spacecraft: {', '.join(unknown)}")
        stations, unknown = fleet_selectors.stations_by_slugs(slugs=options["station"])
        if unknown:
            raise CommandError(f"unknown stations: {', '.join(unknown)}")
        crafts = crafts or list(fleet_selectors.spacecraft_with_orbit_sets())
        now = options["now"] or timezone.now()
        start = options["start"] or now
        try:
            job = pass_services.prediction_job_create(
                spacecraft=crafts,
                stations=stations,
                start=start,
                end=start + timedelta(hours=options["hours"]),
                refraction=options["refraction"],
                requested_by="predict_passes",
                updates_coverage=not options["station"],
                now=now,
            )
        except SchedulingError as exc:
            raise CommandError(f"{exc.detail} {exc.fields or ''}".rstrip()) from None
        if options["queue"]:
            tasks.enqueue_prediction_job(job)
            self.stdout.write(f"queued prediction job {job.pk} ({job.chunks.count()} chunks)")
            return
        chunks = list(job.chunks.order_by("index"))
        bar = tqdm(
            total=100,
            unit="%",
            desc="predict",
            file=sys.stderr,
            disable=options["no_progress"] or None,
        )
        shown = [0.0]  # the bar's own count stays 0 while it is disabled
        for position, chunk in enumerate(chunks):

            def progress(fraction: float, position: int = position) -> None:
                done = 100.0 * (position + fraction) / len(chunks)
                if done > shown[0]:
                    bar.update(done - shown[0])
                    shown[0] = done

            pass_services.prediction_chunk_run(chunk_id=chunk.pk, now=now, progress=progress)
        bar.close()
        job.refresh_from_db()
        for slug, problem in sorted(job.errors.items()):
            self.stderr.write(f"error: {slug}: {problem}")
        self.stdout.write(
            f"prediction job {job.pk}: {job.passes_stored} passes stored for "
            f"{len(crafts)} spacecraft, {start:%Y-%m-%dT%H:%MZ} + {options['hours']:g} h"
        )
        if job.state != JobState.SUCCEEDED or job.errors:
            raise CommandError(f"{len(job.errors) or 'some'} spacecraft could not be predicted")
