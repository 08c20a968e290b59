"""Manual booking: a contact booked by hand, checked against passes, maintenance,
antennas and radios."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ops.fleet.models import GroundStation, Spacecraft
from scheduling.contact_services._common import _fmt, _lock, _record, min_contact_s
from scheduling.contact_services._conflicts import (
    _active_near,
    _capacities,
    _free_antenna,
    _maintenance_in_way,
    _radio_clash,
)
from scheduling.exceptions import (
    ContactConflict,
    InvalidRequest,
    MaintenanceConflict,
    OutsidePass,
)
from scheduling.models import Contact, Pass


def contact_book(
    *,
    spacecraft: Spacecraft,
    station: GroundStation,
    start: datetime,
    end: datetime,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> Contact:
    """Book a contact by hand.

    Checked, in this order: the times (aware, at least ``ZENITH_MIN_CONTACT_S``, not in the
    past); the pass geometry (inside one stored pass of this spacecraft over this
    station: :class:`OutsidePass`); maintenance, with the antenna's setup and
    turnaround (:class:`MaintenanceConflict`); a free antenna, setup and turnaround
    included, then a free spacecraft radio (:class:`ContactConflict`, naming the
    contact in the way). All three are 409 at the API.
    """
    now = now or timezone.now()
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequest("times must carry a timezone", fields={"start": "must be UTC"})
    shortest = min_contact_s()
    if (end - start).total_seconds() < shortest:
        raise InvalidRequest(
            "contact too short", fields={"end": f"at least {shortest:g} s after start"}
        )
    if start < now:
        raise InvalidRequest("contact starts in the past", fields={"start": "must be after now"})
    if not spacecraft.active or not station.active:
        raise InvalidRequest(
            "spacecraft or station inactive", fields={"spacecraft": "both must be active"}
        )
    with transaction.atomic():
        _lock(station_ids=[station.pk], spacecraft_ids=[spacecraft.pk])
        station.refresh_from_db()
        spacecraft.refresh_from_db()
        pass_ = (
            Pass.objects.filter(
                spacecraft=spacecraft, station=station, aos__lte=start, los__gte=end
            )
            .order_by("aos")
            .first()
        )
        if pass_ is None:
            raise OutsidePass(
                f"{spacecraft.slug} has no stored pass over {station.slug} covering "
                f"{start:%Y-%m-%dT%H:%M:%SZ}..{end:%H:%M:%SZ}",
                fields={"start": "must lie inside one predicted pass (see /api/v1/passes)"},
            )
        window = _maintenance_in_way(station=station, start=start, end=end)
        if window is not None:
            raise MaintenanceConflict(
                f"{station.slug} is in maintenance {window.starts_at:%Y-%m-%dT%H:%M:%SZ}.."
                f"{window.ends_at:%Y-%m-%dT%H:%M:%SZ} (window {window.pk}), setup and "
                "turnaround included",
                fields={"start": f"overlaps maintenance window {window.pk}"},
            )
        at_station, of_craft = _active_near(
            station=station, spacecraft=spacecraft, start=start, end=end
        )
        antenna, clash = _free_antenna(station=station, start=start, end=end, rows=at_station)
        if antenna is None:
            assert clash is not None
            raise ContactConflict(
                f"every antenna of {station.slug} is busy (setup {station.setup_s} s, "
                f"turnaround {station.turnaround_s} s): clashes with {_fmt(clash)}",
                contact_id=clash.pk,
                fields={"start": f"antenna busy: clashes with contact {clash.pk}"},
            )
        radio_clash = _radio_clash(spacecraft=spacecraft, start=start, end=end, rows=of_craft)
        if radio_clash is not None:
            raise ContactConflict(
                f"{spacecraft.slug} has {spacecraft.radios} radio(s), all in use: clashes with "
                f"{_fmt(radio_clash)}",
                contact_id=radio_clash.pk,
                fields={"spacecraft": f"radios busy: clashes with contact {radio_clash.pk}"},
            )
        up, down = _capacities(spacecraft=spacecraft, station=station, start=start, end=end)
        row = Contact.objects.create(
            spacecraft=spacecraft,
            station=station,
            antenna=antenna,
            pass_ref=pass_,
            pass_aos=pass_.aos,
            pass_los=pass_.los,
            start=start,
            end=end,
            uplink_capacity_bytes=up,
            downlink_capacity_bytes=down,
            booked_by=actor[:150],
            manual=True,
            reason=reason or "booked by hand",
            state_changed_at=now,
        )
        _record(contact=row, from_state="", actor=actor, reason=row.reason, now=now)
    return row
