"""Live scheduling data: the topics this app publishes to, after commit.

``scheduling.transfers`` gets ``{"type": "transfer.progress", "transfer": {...}}`` for every
state change of a transfer (never merged away) and, while chunks move, its progress
(coalesced per transfer by ``ops.edge.live``: at most ``ZENITH_LIVE_HZ`` a second, the
newest winning); ``scheduling.contacts`` gets
``{"type": "contact.state", "contact": {...}}``
when a contact starts or ends. Both are joined by every console socket.
"""

from __future__ import annotations

from typing import Any

from ops.edge import live
from scheduling.models import Contact, Transfer
from zenith.registry import LiveTopic, live_topic

TRANSFERS = LiveTopic("scheduling.transfers", auto=True, description="transfer states and progress")
CONTACTS = LiveTopic("scheduling.contacts", auto=True, description="contacts starting and ending")


def register_topics() -> None:
    live_topic(TRANSFERS)
    live_topic(CONTACTS)


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


def publish_transfer(transfer: Transfer, *, force: bool = False) -> None:
    """Publish ``transfer`` as it is now, once the current transaction commits.

    Progress coalesces per transfer; ``force`` (a state change) is always delivered."""
    message = {"type": "transfer.progress", "transfer": transfer_payload(transfer)}
    live.publish(TRANSFERS.group(), message, key=None if force else ("transfer", transfer.pk))


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
    live.publish(CONTACTS.group(), message)
