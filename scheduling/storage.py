"""Where transfer files live on disk (``ZENITH_TRANSFER_DIR``), shared by the writes and
the reads: upload sources under ``outgoing/``, downlinks assembling under
``incoming/partial/`` and landing, verified, under ``incoming/``."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from scheduling.models import Transfer


def outgoing_dir() -> Path:
    """Where upload sources live: schedulers place artefacts here."""
    return Path(settings.ZENITH_TRANSFER_DIR) / "outgoing"


def incoming_dir() -> Path:
    """Where downlinks assemble (``<id>.part``) and land once verified."""
    return Path(settings.ZENITH_TRANSFER_DIR) / "incoming"


def part_path(transfer: Transfer) -> Path:
    return incoming_dir() / "partial" / f"{transfer.pk}.part"


def final_relative(transfer: Transfer) -> str:
    return f"{transfer.spacecraft_id}/{transfer.pk}/{transfer.name}"
