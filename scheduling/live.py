"""Live scheduling data: the channel groups this app publishes to, after commit.

Group ``scheduling.transfers`` gets ``{"type": "transfer.progress", "transfer": {...}}``
for every state change of a transfer and, while chunks move, at most
``PROGRESS_HZ`` times a second per transfer; ``scheduling.contacts`` gets
``{"type": "contact.state", "contact": {...}}`` when a contact starts or ends.
Publishing is best effort: a channel-layer failure is counted and logged, never raised
into the transfer that caused it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from prometheus_client import Counter

from scheduling.models import Contact, Transfer

TRANSFERS_GROUP = "scheduling.transfers"
CONTACTS_GROUP = "scheduling.contacts"
PROGRESS_HZ = 2.0

log = logging.getLogger(__name__)
PUBLISHED = Counter("zenith_scheduling_live_messages_total", "scheduling live messages sent")
PUBLISH_ERRORS = Counter("zenith_scheduling_live_errors_total", "scheduling live publish failures")

_last_sent: dict[int, float] = {}
_lock = threading.Lock()


def transfer_payload(t: Transfer) -> dict[str, Any]:
    return {
        "id": t.pk,
        "spacecraft_id": t.spacecraft_id,
        "workload_id": t.workload_id,
        "direction": t.direction,
        "name": t.name,
        "state": t.state,
        "size_bytes": t.size_bytes,
        "bytes_done": t.bytes_done,
        "chunks_done": t.chunks_done,
        "chunk_count": t.chunk_count,
        "progress": round(t.progress, 6),
        "rate_bps": t.rate_bps,
        "eta": t.eta.isoformat() if t.eta else None,
        "deadline_risk": t.deadline_risk,
        "retransmissions": t.retransmissions,
    }


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
        PUBLISHED.inc()
    except Exception:  # best effort: the console catches up on its next poll
        PUBLISH_ERRORS.inc()
        log.warning("live publish to %s failed", group, exc_info=True)


def publish_transfer(transfer: Transfer, *, force: bool = False) -> None:
    """Publish ``transfer`` as it is now, once the current transaction commits.

    Progress updates are throttled per transfer; ``force`` (state changes) never is.
    """
    now = time.monotonic()
    with _lock:
        last = _last_sent.get(transfer.pk, 0.0)
        if not force and now - last < 1.0 / PROGRESS_HZ:
            return
        _last_sent[transfer.pk] = now
    message = {"type": "transfer.progress", "transfer": transfer_payload(transfer)}
    transaction.on_commit(lambda: _send(TRANSFERS_GROUP, message))


def publish_contact(contact: Contact) -> None:
    message = {
        "type": "contact.state",
        "contact": {
            "id": contact.pk,
            "spacecraft_id": contact.spacecraft_id,
            "station_id": contact.station_id,
            "state": contact.state,
            "start": contact.start.isoformat(),
            "end": contact.end.isoformat(),
            "link_stats": contact.link_stats,
        },
    }
    transaction.on_commit(lambda: _send(CONTACTS_GROUP, message))
