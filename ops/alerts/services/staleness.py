"""Pass-aware staleness: silence is judged against when telemetry is expected.

- GEO hubs are always in view: silence longer than ``ALERTS_GEO_STALE_S`` is stale.
- LEO nodes are expected only during booked contacts: a contact that began more than
  ``ALERTS_AOS_GRACE_S`` ago with no telemetry since its start raises "no telemetry at
  AOS". Outside contacts silence is loss of signal, expected, and never stale (the
  wall-clock staleness of the usual monitoring tools would page every orbit).
- ``no_data`` rules follow the same rule per metric: GEO on the wall clock, LEO only
  within a contact (silence counted from the later of the last sample and AOS).

Staleness alerts close as soon as telemetry is heard again (here, on beat; a ``no_data``
rule's alert also on the ingest path, which sees the data arrive).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from ops.alerts import limits
from ops.alerts.models import Alert, AlertState, Rule, RuleState, Source
from ops.alerts.selectors import notify as notify_selectors
from ops.alerts.selectors import series
from ops.alerts.services import lifecycle
from ops.alerts.services.ruleset import current_ruleset
from ops.fleet.models import Role, Spacecraft
from scheduling.models import ACTIVE_CONTACT_STATES, Contact
from telemetry.models import Metric

ACTOR = "staleness"


def contacts_now(*, now: datetime) -> dict[int, Contact]:
    """The booked contact each spacecraft is in now (the earliest begun, if several)."""
    found: dict[int, Contact] = {}
    for contact in Contact.objects.filter(
        state__in=ACTIVE_CONTACT_STATES, start__lte=now, end__gt=now
    ).order_by("start"):
        found.setdefault(contact.spacecraft_id, contact)
    return found


def staleness_check(*, now: datetime) -> dict[str, int]:
    with transaction.atomic():
        counts = _fleet(now)
        for key, value in _no_data_rules(now).items():
            counts[key] = counts.get(key, 0) + value
    return counts


def _fleet(now: datetime) -> dict[str, int]:
    grace_geo = timedelta(seconds=settings.ALERTS_GEO_STALE_S)
    grace_aos = timedelta(seconds=settings.ALERTS_AOS_GRACE_S)
    craft = list(Spacecraft.objects.filter(active=True).order_by("id"))
    in_contact = contacts_now(now=now)
    # What each silence is measured from: GEO the grace window; LEO the contact's start.
    checks: list[tuple[Spacecraft, str, datetime]] = []
    for node in craft:
        if node.role == Role.GEO:
            if node.created_at <= now - grace_geo:
                checks.append((node, "stale", now - grace_geo))
        else:
            contact = in_contact.get(node.pk)
            if contact is not None and contact.start <= now - grace_aos:
                checks.append((node, "aos", contact.start))
    heard = series.heard_since([(n.pk, since) for n, _, since in checks])
    silent = {(n.pk, kind) for i, (n, kind, _) in enumerate(checks) if i not in heard}
    raised = cleared = 0
    for node, kind, since in checks:
        key = f"{kind}:{node.slug}"
        open_alert = Alert.objects.filter(dedup_key=key).exclude(state=AlertState.NORMAL).first()
        if (node.pk, kind) in silent:
            if open_alert is not None and not open_alert.active:
                # Silent again before anyone acked the last time: it alarms again.
                lifecycle.alert_reactivate(
                    alert=open_alert,
                    severity=open_alert.severity,
                    value=None,
                    at=now,
                    actor=ACTOR,
                    now=now,
                )
                raised += 1
            elif open_alert is None:
                summary = (
                    f"{node.slug}: no telemetry for {settings.ALERTS_GEO_STALE_S:.0f} s (GEO, "
                    "always in view)"
                    if kind == "stale"
                    else f"{node.slug}: no telemetry at AOS (contact began {since.isoformat()})"
                )
                lifecycle.alert_open(
                    opening=lifecycle.Opening(
                        source=Source.STALENESS,
                        severity=settings.ALERTS_STALE_SEVERITY,
                        summary=summary,
                        started_at=since if kind == "aos" else now - grace_geo,
                        spacecraft_id=node.pk,
                        dedup_key=key,
                        details={"kind": "no_telemetry_at_aos" if kind == "aos" else "stale"},
                    ),
                    actor=ACTOR,
                    now=now,
                )
                raised += 1
        elif open_alert is not None and open_alert.active:
            lifecycle.alert_clear(alert=open_alert, at=now, value=None, actor=ACTOR, now=now)
            cleared += 1
    # An AOS alert outlives its contact until telemetry is heard (at any later time).
    for alert in Alert.objects.filter(
        source=Source.STALENESS, active=True, dedup_key__startswith="aos:"
    ).select_related("spacecraft"):
        if alert.spacecraft_id is None or (alert.spacecraft_id, "aos") in silent:
            continue
        if series.heard_since([(alert.spacecraft_id, alert.started_at)]):
            lifecycle.alert_clear(alert=alert, at=now, value=None, actor=ACTOR, now=now)
            cleared += 1
    return {"raised": raised, "cleared": cleared}


def _no_data_rules(now: datetime) -> dict[str, int]:
    ruleset = current_ruleset()
    rules = [c for c in ruleset.rules if c.rule.condition == "no_data"]
    if not rules:
        return {}
    craft = {s.pk: s for s in Spacecraft.objects.filter(active=True)}
    in_contact = contacts_now(now=now)
    names = dict(Metric.objects.values_list("name", "id"))
    raised = 0
    for compiled in rules:
        rule = compiled.rule
        metric_ids = [
            mid for name, mid in names.items() if limits.metric_matches(rule.metric, name)
        ]
        silence = timedelta(seconds=rule.no_data_s or 0)
        checks: list[tuple[int, datetime]] = []
        for node_id, node in craft.items():
            if compiled.nodes is not None and node_id not in compiled.nodes:
                continue
            if node.role == Role.GEO:
                checks.append((node_id, now - silence))
            elif node_id in in_contact and in_contact[node_id].start <= now - silence:
                checks.append((node_id, now - silence))
        heard = series.heard_since(checks, metric_ids)
        for index, (node_id, since) in enumerate(checks):
            if index in heard:
                continue
            raised += _raise_no_data(rule, craft[node_id], since, now)
    return {"raised": raised}


def _raise_no_data(rule: Rule, node: Spacecraft, since: datetime, now: datetime) -> int:
    state, _ = RuleState.objects.select_for_update().get_or_create(rule=rule, spacecraft=node)
    if state.alert_id is not None:
        return 0
    state.alert = lifecycle.alert_open(
        opening=lifecycle.Opening(
            source=Source.RULE,
            severity=rule.severity,
            summary=f"{rule.name}: no {rule.metric} from {node.slug} for {rule.no_data_s:.0f} s",
            started_at=since,
            spacecraft_id=node.pk,
            rule=rule,
            metric=rule.metric,
        ),
        actor=ACTOR,
        now=now,
    )
    state.save(update_fields=["alert"])
    return 1


def visibility_now(*, now: datetime) -> list[notify_selectors.Visibility]:
    """The link status of every active spacecraft (a read, kept beside the rule it shows)."""
    in_contact = contacts_now(now=now)
    ids = list(Spacecraft.objects.filter(active=True).values_list("pk", flat=True))
    seen = series.last_seen(ids, since=now - timedelta(days=1))
    return notify_selectors.node_visibility(
        now=now,
        last_seen=seen,
        in_contact=set(in_contact),
        geo_stale_s=settings.ALERTS_GEO_STALE_S,
        aos_grace_s=settings.ALERTS_AOS_GRACE_S,
        contact_start={k: c.start for k, c in in_contact.items()},
    )
