"""On-call schedule writes: schedules, rotations and overrides, checked."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from ops.alerts.exceptions import InvalidRequest
from ops.alerts.models import Override, Rotation, Schedule
from ops.alerts.services.audit import audit_record


def schedule_create(*, name: str, time_zone: str, actor: str, description: str = "") -> Schedule:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(
            f"unknown time zone {time_zone!r}",
            fields={"time_zone": "an IANA name, e.g. Europe/Paris"},
        ) from None
    with transaction.atomic():
        schedule = Schedule.objects.create(name=name, time_zone=time_zone, description=description)
        audit_record(
            at=timezone.now(),
            actor=actor,
            action="oncall.schedule_created",
            detail={"schedule": name, "time_zone": time_zone},
        )
    return schedule


def rotation_add(
    *,
    schedule: Schedule,
    name: str,
    participants: list[str],
    start_date: date,
    handoff_time: time,
    shift_days: int,
    actor: str,
    layer: int = 0,
) -> Rotation:
    if not participants:
        raise InvalidRequest("nobody in the rotation", fields={"participants": "at least one"})
    if shift_days < 1:
        raise InvalidRequest("shift too short", fields={"shift_days": "at least 1"})
    with transaction.atomic():
        rotation = Rotation.objects.create(
            schedule=schedule,
            name=name,
            participants=participants,
            start_date=start_date,
            handoff_time=handoff_time,
            shift_days=shift_days,
            layer=layer,
        )
        audit_record(
            at=timezone.now(),
            actor=actor,
            action="oncall.rotation_added",
            detail={"schedule": schedule.name, "rotation": name, "participants": participants},
        )
    return rotation


def override_add(
    *,
    schedule: Schedule,
    username: str,
    starts_at: datetime,
    ends_at: datetime,
    actor: str,
    reason: str = "",
) -> Override:
    if ends_at <= starts_at:
        raise InvalidRequest(
            "override ends before it starts", fields={"ends_at": "after starts_at"}
        )
    with transaction.atomic():
        override = Override.objects.create(
            schedule=schedule,
            username=username,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
        )
        audit_record(
            at=timezone.now(),
            actor=actor,
            action="oncall.override_added",
            comment=reason,
            detail={
                "schedule": schedule.name,
                "username": username,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
    return override
