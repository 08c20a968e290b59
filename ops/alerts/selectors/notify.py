"""Notification reads: who is on call (rotations in their time zone, overrides first),
people's addresses, the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Min, Prefetch, QuerySet
from django.utils import timezone

from ops.alerts.models import Delivery, DeliveryAttempt, DeliveryState, Notification, Schedule
from ops.edge.access import only_allowed
from ops.fleet.models import Role, Spacecraft


@dataclass(frozen=True, slots=True)
class OnCall:
    schedule: str
    time_zone: str
    username: str | None
    via: str  # "override", the rotation's name, or "" when nobody is
    since: datetime | None
    until: datetime | None


def oncall_at(*, schedule: Schedule, at: datetime) -> OnCall:
    """Who is on call for ``schedule`` at ``at``: an override covering ``at`` (the newest
    wins), else the highest layer of rotation that has begun. Handoffs happen at the
    rotation's local ``handoff_time`` in the schedule's time zone (so across a DST change
    the handoff stays at 09:00 on the wall clock)."""
    overrides = [o for o in schedule.overrides.all() if o.starts_at <= at < o.ends_at]
    if overrides:
        chosen = max(overrides, key=lambda o: (o.created_at, o.pk))
        return OnCall(
            schedule.name,
            schedule.time_zone,
            chosen.username,
            "override",
            chosen.starts_at,
            chosen.ends_at,
        )
    zone = ZoneInfo(schedule.time_zone)
    local = at.astimezone(zone)
    for rotation in sorted(schedule.rotations.all(), key=lambda r: (-r.layer, r.pk)):
        people = [str(p) for p in rotation.participants if p]
        begins = datetime.combine(rotation.start_date, rotation.handoff_time, tzinfo=zone)
        if not people or local < begins:
            continue
        days = (local.date() - rotation.start_date).days
        if local.timetz().replace(tzinfo=None) < rotation.handoff_time:
            days -= 1
        shift = days // rotation.shift_days
        first_day = rotation.start_date + timedelta(days=shift * rotation.shift_days)
        since = datetime.combine(first_day, rotation.handoff_time, tzinfo=zone)
        until = datetime.combine(
            first_day + timedelta(days=rotation.shift_days), rotation.handoff_time, tzinfo=zone
        )
        return OnCall(
            schedule.name,
            schedule.time_zone,
            people[shift % len(people)],
            rotation.name,
            since,
            until,
        )
    return OnCall(schedule.name, schedule.time_zone, None, "", None, None)


def oncall_now(*, at: datetime, schedule_name: str | None = None) -> list[OnCall]:
    schedules = Schedule.objects.prefetch_related("rotations", "overrides").order_by("name")
    if schedule_name:
        schedules = schedules.filter(name=schedule_name)
    return [oncall_at(schedule=s, at=at) for s in schedules]


def emails_of(usernames: list[str]) -> dict[str, str]:
    """username -> e-mail address, for people who have one."""
    users = get_user_model().objects.filter(username__in=usernames, is_active=True)
    return {u: e for u, e in users.values_list("username", "email") if e}


def delivery_list(*, allowed_spacecraft_ids: frozenset[int] | None = None) -> QuerySet[Delivery]:
    """The delivery log, newest first, with every attempt (the API's FilterSet filters)."""
    qs = (
        Delivery.objects.select_related("notification", "channel")
        .prefetch_related(Prefetch("log", queryset=DeliveryAttempt.objects.order_by("number")))
        .order_by("-id")
    )
    return only_allowed(
        qs,
        allowed_spacecraft_ids=allowed_spacecraft_ids,
        field="notification__alert__spacecraft_id",
    )


@dataclass(frozen=True, slots=True)
class Visibility:
    spacecraft: str
    role: str
    status: str  # "ok", "stale", "los" (expected silence), "aos_no_telemetry"
    in_contact: bool
    last_seen: datetime | None


def node_visibility(
    *,
    now: datetime,
    last_seen: dict[int, datetime],
    in_contact: set[int],
    geo_stale_s: float,
    aos_grace_s: float,
    contact_start: dict[int, datetime],
) -> list[Visibility]:
    """Each active spacecraft's link status as the on-call engineer should read it:
    a LEO node out of contact is ``los`` (expected), never stale."""
    out: list[Visibility] = []
    for node in Spacecraft.objects.filter(active=True).order_by("slug"):
        seen = last_seen.get(node.pk)
        if node.role == Role.GEO:
            fresh = seen is not None and (now - seen).total_seconds() <= geo_stale_s
            status = "ok" if fresh else "stale"
        elif node.pk not in in_contact:
            status = "los"
        else:
            start = contact_start[node.pk]
            heard = seen is not None and seen >= start
            late = (now - start).total_seconds() > aos_grace_s
            status = "ok" if heard or not late else "aos_no_telemetry"
        out.append(Visibility(node.slug, node.role, status, node.pk in in_contact, seen))
    return out


def outbox_health() -> dict[str, object]:
    """For /healthz (informational): is the notifier keeping up? Notifications waiting
    for a worker longer than a few beat periods mean no worker is running."""
    try:
        now = timezone.now()
        waiting = Notification.objects.filter(processed_at__isnull=True, due_at__lte=now)
        oldest = waiting.aggregate(oldest=Min("due_at"))["oldest"]
        pending = Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        lag_s = (now - oldest).total_seconds() if oldest else 0.0
        return {
            "ok": lag_s < 4 * settings.ALERTS_DISPATCH_EVERY_S + 30,
            "outbox_waiting": waiting.count(),
            "outbox_lag_s": round(lag_s, 1),
            "deliveries_due": pending.count(),
            "dead_letters": Delivery.objects.filter(state=DeliveryState.DEAD).count(),
        }
    finally:
        connection.close()  # runs in the probe's own thread
