"""Queue the demo's transfers: a workload for the GEO hub and uploads for LEO nodes.

Idempotent (client_ref): running it again queues nothing new. Artefacts are written
deterministically under the outgoing directory; the simulated nodes get a result file
for each workload's job, so a job report can bring it down.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from ops.fleet.models import Spacecraft
from scheduling import storage
from scheduling.exceptions import SchedulingError
from scheduling.services import transfers

MB = 1_000_000
# (spacecraft, workload, [(file, kind, size)], priority, deadline hours)
DEMO = [
    (
        "geo-hub-1",
        "llm-finetune-demo",
        [("weights/base.safetensors", "model_weights", 48 * MB), ("job.json", "job_spec", 2_000)],
        8,
        6,
    ),
    ("leo-001", "vision-batch-demo", [("data/tiles.tar", "dataset", 24 * MB)], 6, 12),
    ("leo-002", "eval-demo", [("weights/eval.bin", "model_weights", 12 * MB)], 4, 24),
]


def _write(path: Path, size: int, seed: str) -> None:
    if path.is_file() and path.stat().st_size == size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB
    with path.open("wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)


class Command(BaseCommand):
    help = (
        "Queue the demo workloads (uploads to the GEO hub and two LEO nodes) with their "
        "artefacts; idempotent. Needs seed_demo first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        outgoing = storage.outgoing_dir()
        sim = Path(settings.ZENITH_SIM_DIR)
        now = timezone.now()
        queued = 0
        for slug, name, files, priority, hours in tqdm(
            DEMO, desc="demo transfers", disable=options["no_progress"] or None
        ):
            craft = Spacecraft.objects.filter(slug=slug).first()
            if craft is None:
                raise CommandError(f"no spacecraft {slug}: run seed_demo first")
            specs = []
            for file, kind, size in files:
                source = f"demo/{slug}/{file}"
                _write(outgoing / source, size, f"{slug}/{file}")
                specs.append(transfers.TransferSpec(name=file, kind=kind, source=source))
            _write(sim / slug / "outbox" / f"results/{name}.bin", 6 * MB, f"{slug}/{name}/out")
            try:
                _, created, to_prepare = transfers.workload_submit(
                    spacecraft=craft,
                    name=name,
                    job={"image": f"zenith/{name}:1", "gpus": craft.gpu_count},
                    uploads=specs,
                    priority=priority,
                    deadline=now + timedelta(hours=hours),
                    client_ref=f"demo/{name}",
                    actor="seed_demo_transfers",
                )
            except SchedulingError as exc:
                raise CommandError(f"{name}: {exc.detail} {exc.fields}") from None
            for pk in to_prepare:
                transfers.transfer_prepare(transfer_id=pk)
            queued += int(created)
        self.stdout.write(f"demo transfers: {queued} workload(s) queued")
