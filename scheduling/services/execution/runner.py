"""Running a contact: from AOS to LOS, move the spacecraft's transfers over the link.

``contact_run`` (one Celery task per contact, ``acks_late``, sent by ``dispatch``) does
the work:

1. **Claim** the contact with a lease: a conditional update that bumps ``run_token``.
   The runner renews the lease every second; a runner whose token is no longer the
   contact's (its lease expired and another took over) stops at once. So a task
   redelivered by the broker, or re-dispatched after its worker was killed, never
   runs beside a live one.
2. Wait for AOS, move the contact to ``in_progress``, open a ``LinkSession``.
3. Two pumps, one per direction (the carriers are independent), each claim the next
   chunks of the spacecraft's queue and move them: an upload chunk counts when the
   node acknowledges it with the right SHA-256, a downlink chunk when the frame's data
   matches the checksum it came with and is on disk; anything else is sent again.
   A transfer whose chunks are all acknowledged is verified whole (the node's SHA-256
   of an upload; the assembled downlink on the ground) and completes once.
4. At LOS (or when an operator aborts the contact) the pumps stop, the contact is
   completed with its link statistics, unfinished transfers go back to the queue
   and the spacecraft's transfers are replanned: they resume on the next contact,
   at whatever station.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)

from orbital import timescales
from scheduling import links, live
from scheduling.exceptions import InvalidTransition
from scheduling.links import chunks
from scheduling.models import (
    Contact,
    ContactState,
    Transfer,
    TransferChunk,
    TransferDirection,
    TransferState,
)
from scheduling.services.contacts import contact_transition
from scheduling.services.execution.leases import (
    contact_release,
    lease_claim,
    lease_renew,
    lease_s,
)
from scheduling.services.transfers import delivery
from scheduling.services.transfers.plan import transfer_plan_refresh
from scheduling.services.transfers.states import move
from scheduling.storage import outgoing_dir, part_path

log = logging.getLogger(__name__)

CLAIM_BATCH = 4
JOIN_LIMIT_S = 900.0
IDLE_S = 0.25
OUTAGE_BACKOFF_S = 0.2

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# Set when the worker process is shutting down (``scheduling.tasks`` wires Celery's
# signal to it): runners hand their contacts back at once instead of holding the
# worker until LOS, which for a GEO contact may be hours away.
SHUTDOWN = threading.Event()


@dataclass
class RunOutcome:
    contact_id: int
    state: str  # the contact's state at the end, or "skipped"
    reason: str
    stats: dict[str, float] = field(default_factory=dict)


def driver_from_settings() -> links.LinkDriver:
    return links.load_driver(
        str(settings.ZENITH_LINK_DRIVER),
        dict(settings.ZENITH_LINK_OPTIONS),
        default_dir=Path(settings.ZENITH_SIM_DIR),
    )


class _Pump(threading.Thread):
    """One direction of the link: claim chunks, move them, count them."""

    def __init__(
        self,
        *,
        direction: str,
        contact: Contact,
        session: links.LinkSession,
        stop: threading.Event,
        clock: Clock,
        sleep: Sleep,
    ) -> None:
        super().__init__(name=f"contact-{contact.pk}-{direction}", daemon=True)
        self.direction = direction
        self.contact = contact
        self.session = session
        self.stop = stop
        self.clock = clock
        self.sleep = sleep
        self.end_s = timescales.unix_seconds(contact.end)
        self.claim_s = max(10.0, 4 * lease_s())
        rate = (
            contact.uplink_capacity_bytes
            if direction == TransferDirection.UP
            else contact.downlink_capacity_bytes
        ) / max(contact.duration_s, 1e-9)
        self.bytes_per_s = max(rate, 1.0)
        self.acked = 0
        self.bytes = 0
        self.retries = 0
        # transfer: [first chunk sent, last chunk acknowledged, bytes acknowledged]
        self.moved: dict[int, list[float]] = {}
        self.error: BaseException | None = None

    def now(self) -> datetime:
        return timescales.to_datetime(self.clock())

    def _fail(self, transfer: Transfer, detail: str) -> None:
        move(
            transfer=transfer,
            to_state=TransferState.FAILED,
            actor="link",
            now=self.now(),
            contact=self.contact,
            detail=detail,
        )

    def hold_s(self, chunk: TransferChunk) -> float:
        """How long a chunk stays claimed once its transmission starts."""
        return max(self.claim_s, 3.0 * chunk.size / self.bytes_per_s)

    def run(self) -> None:
        try:
            while not self.stop.is_set() and self.clock() < self.end_s:
                try:
                    self._loop()
                except (OperationalError, InterfaceError):
                    # A deadlock victim, a failover, a restart: the chunk in hand was not
                    # counted, so it is sent again once the database answers.
                    log.warning(
                        "contact %s %s: database error, retrying",
                        self.contact.pk,
                        self.direction,
                        exc_info=True,
                    )
                    connection.close()
                    self.stop.wait(1.0)
        except BaseException as exc:  # reported by the runner; the contact still closes
            self.error = exc
            log.exception("contact %s %s pump failed", self.contact.pk, self.direction)
        finally:
            connection.close()

    def _loop(self) -> None:
        while not self.stop.is_set() and self.clock() < self.end_s:
            if self._verify_one():
                continue
            work = delivery.claim(
                contact=self.contact,
                direction=self.direction,
                now=self.now(),
                limit=CLAIM_BATCH,
                claim_s=self.claim_s,
            )
            if work is None:
                self.stop.wait(IDLE_S)
                continue
            transfer, rows = work
            for chunk in rows:
                if self.stop.is_set() or self.clock() >= self.end_s:
                    return
                if not delivery.movable(transfer.pk):
                    break
                if not self._move(transfer, chunk):
                    break

    def _verify_one(self) -> bool:
        t = (
            Transfer.objects.filter(
                spacecraft_id=self.contact.spacecraft_id,
                direction=self.direction,
                state=TransferState.VERIFYING,
            )
            .order_by("pk")
            .first()
        )
        if t is None:
            return False
        if self.direction == TransferDirection.DOWN:
            delivery.verify_downlink(transfer=t, contact=self.contact, now=self.now())
            return True
        try:
            seen = self.session.verify_upload(
                transfer_id=t.pk, name=t.name, size=t.size_bytes, sha256=t.sha256
            )
        except links.RemoteError as exc:
            self._fail(t, f"node refused the whole-file check: {exc}")
            return True
        except links.LinkError:
            self.sleep(OUTAGE_BACKOFF_S)
            return True
        delivery.complete_upload(transfer=t, node_sha256=seen, contact=self.contact, now=self.now())
        return True

    def _move(self, transfer: Transfer, chunk: TransferChunk) -> bool:
        """Send or fetch one chunk. False: stop working on this transfer for now."""
        if not delivery.hold(
            chunk=chunk, contact=self.contact, now=self.now(), seconds=self.hold_s(chunk)
        ):
            return True  # its claim ran out and another link took it: leave it to that one
        if self.direction == TransferDirection.UP:
            problem = ""
            source = chunks.inside(outgoing_dir(), transfer.source)
            try:
                if source is None:
                    raise FileNotFoundError(transfer.source)
                data = chunks.read_at(source, chunk.offset, chunk.size)
            except OSError as exc:
                problem = f"source file unreadable: {exc}"
            else:
                if chunks.sha256_hex(data) != chunk.sha256:
                    problem = f"source file changed since it was hashed (chunk {chunk.index})"
            if problem:
                self._fail(transfer, problem)
                return False
        sent_at = self.clock()
        try:
            if self.direction == TransferDirection.UP:
                ack = self.session.send_chunk(
                    links.UpChunk(
                        transfer_id=transfer.pk,
                        name=transfer.name,
                        index=chunk.index,
                        offset=chunk.offset,
                        data=data,
                        sha256=chunk.sha256,
                        file_size=transfer.size_bytes,
                    )
                )
                good = ack.ok and ack.sha256 == chunk.sha256
                why = ack.detail or f"node saw sha256 {ack.sha256[:16]}..."
                digest = chunk.sha256
            else:
                frame = self.session.receive_chunk(
                    links.DownRequest(
                        transfer_id=transfer.pk,
                        name=transfer.name,
                        index=chunk.index,
                        offset=chunk.offset,
                        size=chunk.size,
                    )
                )
                digest = chunks.sha256_hex(frame.data)
                good = digest == frame.sha256 and len(frame.data) == chunk.size
                why = "frame failed its checksum"
                if good:
                    if not delivery.movable(transfer.pk):
                        return False  # cancelled or paused while on the air: not stored
                    chunks.write_at(part_path(transfer), chunk.offset, frame.data)
        except links.ChunkLost as exc:
            delivery.count_attempt(chunk)
            self.retries += 1
            return delivery.retransmit(
                transfer=transfer,
                chunk=chunk,
                contact=self.contact,
                why=f"lost: {exc}",
                now=self.now(),
            )
        except links.LinkDown:
            self.sleep(OUTAGE_BACKOFF_S)
            return False
        except links.RemoteError as exc:
            self._fail(transfer, f"node refused: {exc}")
            return False
        # An attempt is a frame that went out: time lost to outages is the link's, and
        # does not use up the chunk's attempts.
        delivery.count_attempt(chunk)
        if not good:
            self.retries += 1
            return delivery.retransmit(
                transfer=transfer, chunk=chunk, contact=self.contact, why=why, now=self.now()
            )
        at = self.clock()
        delivery.acknowledge(
            transfer=transfer, chunk=chunk, contact=self.contact, sha256=digest, now=self.now()
        )
        self.acked += 1
        self.bytes += chunk.size
        seen = self.moved.setdefault(transfer.pk, [sent_at, at, 0.0])
        seen[1] = at
        seen[2] += chunk.size
        return True


def contact_run(
    *,
    contact_id: int,
    runner: str,
    driver: links.LinkDriver | None = None,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> RunOutcome:
    """Run one contact from AOS to LOS (see the module docstring). Idempotent: a second
    call while a runner holds the lease, or after the contact ended, does nothing."""

    def now() -> datetime:
        return timescales.to_datetime(clock())

    token = lease_claim(contact_id=contact_id, runner=runner, now=now())
    if token is None:
        return RunOutcome(contact_id, "skipped", "held by another runner, or no longer active")
    contact = Contact.objects.select_related("spacecraft", "station").get(pk=contact_id)
    start_s, end_s = timescales.unix_seconds(contact.start), timescales.unix_seconds(contact.end)
    while clock() < start_s:
        if SHUTDOWN.is_set():
            _hand_back(contact_id, token)
            return RunOutcome(contact_id, "skipped", "worker shutting down before AOS")
        if not lease_renew(contact_id=contact_id, token=token, now=now()):
            return RunOutcome(contact_id, "skipped", "lease taken over before AOS")
        sleep(min(1.0, start_s - clock()))
    actor = f"link:{runner}"[:150]
    if contact.state == ContactState.SCHEDULED:
        try:
            contact = contact_transition(
                contact=contact,
                to_state=ContactState.IN_PROGRESS,
                actor=actor,
                reason="AOS: link opened",
                now=now(),
            )
        except InvalidTransition as exc:
            return RunOutcome(contact_id, "skipped", str(exc))
    if contact.link_started_at is None:
        Contact.objects.filter(pk=contact_id).update(link_started_at=now())
    live.publish_contact(contact)
    try:
        session = (driver or driver_from_settings()).open(
            links.LinkRequest(
                contact_id=contact.pk,
                spacecraft=contact.spacecraft.slug,
                station=contact.station.slug,
                start_s=start_s,
                end_s=end_s,
                up_bytes_per_s=contact.uplink_capacity_bytes / max(contact.duration_s, 1e-9),
                down_bytes_per_s=contact.downlink_capacity_bytes / max(contact.duration_s, 1e-9),
            )
        )
    except links.LinkError as exc:
        return _finish(
            contact_id, token, actor, now(), {}, ContactState.FAILED, f"link not acquired: {exc}"
        )
    stop = threading.Event()
    pumps = [
        _Pump(direction=d, contact=contact, session=session, stop=stop, clock=clock, sleep=sleep)
        for d in (TransferDirection.UP, TransferDirection.DOWN)
    ]
    for p in pumps:
        p.start()
    reason = "LOS"
    try:
        while clock() < end_s:
            if SHUTDOWN.is_set():
                reason = "worker shutting down: contact handed back"
                break
            if not lease_renew(contact_id=contact_id, token=token, now=now()):
                reason = "lease lost: another runner took the contact over"
                break
            state = Contact.objects.filter(pk=contact_id).values_list("state", flat=True).first()
            if state != ContactState.IN_PROGRESS:
                reason = f"contact {state} meanwhile"
                break
            if all(not p.is_alive() for p in pumps):
                reason = "both directions stopped: " + "; ".join(str(p.error) for p in pumps)
                break
            sleep(max(0.0, min(1.0, end_s - clock())))
    finally:
        stop.set()
        # A pump may be finishing a long step (a whole-file check): keep the lease
        # meanwhile, or the dispatcher would take this contact for a lost one.
        waited = 0.0
        while any(p.is_alive() for p in pumps) and waited < JOIN_LIMIT_S:
            lease_renew(contact_id=contact_id, token=token, now=now())
            for p in pumps:
                p.join(timeout=1.0)
            waited += 1.0
        session.close()
    close_old_connections()
    stats: dict[str, float] = dict(session.stats())
    for p in pumps:
        stats[f"{p.direction}_chunks_acked"] = float(p.acked)
        stats[f"{p.direction}_bytes_acked"] = float(p.bytes)
        stats[f"{p.direction}_retransmissions"] = float(p.retries)
    _measure_rates(pumps)
    if reason.startswith("lease lost"):
        return RunOutcome(contact_id, "skipped", reason, stats)
    if SHUTDOWN.is_set() and clock() < end_s:
        _hand_back(contact_id, token)
        return RunOutcome(contact_id, ContactState.IN_PROGRESS, reason, stats)
    final = ContactState.COMPLETED
    if any(p.error is not None for p in pumps):
        final = ContactState.FAILED
        reason = "; ".join(f"{p.direction}: {p.error}" for p in pumps if p.error is not None)
    return _finish(contact_id, token, actor, now(), stats, final, reason)


def contact_runs_hand_back() -> None:
    """Tell every runner in this process to hand its contact back (worker shutdown)."""
    SHUTDOWN.set()


def _hand_back(contact_id: int, token: int) -> None:
    """Give the contact up before LOS: the next dispatch sends it to another runner."""
    with transaction.atomic():
        if Contact.objects.filter(pk=contact_id, run_token=token).update(
            lease_until=None, dispatched_at=None
        ):
            TransferChunk.objects.filter(claim_contact=contact_id, acked_at__isnull=True).update(
                claimed_until=None, claim_contact=None
            )


def _measure_rates(pumps: list[_Pump]) -> None:
    for p in pumps:
        for transfer_id, (first, last, size) in p.moved.items():
            span = last - first
            if span > 0.5:
                Transfer.objects.filter(pk=transfer_id).update(rate_bps=size * 8.0 / span)


def _finish(
    contact_id: int,
    token: int,
    actor: str,
    now: datetime,
    stats: dict[str, float],
    final: str,
    reason: str,
) -> RunOutcome:
    with transaction.atomic():
        row = Contact.objects.select_for_update().select_related("station").get(pk=contact_id)
        if row.run_token != token:
            return RunOutcome(contact_id, "skipped", "lease lost at LOS", stats)
        row.link_ended_at = now
        row.link_stats = stats
        row.lease_until = None
        row.save(update_fields=["link_ended_at", "link_stats", "lease_until"])
        if row.state == ContactState.IN_PROGRESS:
            contact_transition(contact=row, to_state=final, actor=actor, reason=reason, now=now)
            row.refresh_from_db()
        contact_release(row, now=now, actor=actor)
        live.publish_contact(row)
    transfer_plan_refresh(spacecraft_ids=[row.spacecraft_id], now=now)
    return RunOutcome(contact_id, row.state, reason, stats)
