"""Alerts from elsewhere: ``POST /alerts/events`` (PagerDuty Events v2 shape) and
``POST /alerts/alertmanager`` (Prometheus Alertmanager's webhook). Machines post here with
an ``ingest`` (or ``operate``) token; both are idempotent by their dedup key."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.alerts import hooks
from ops.alerts.services import sources
from ops.edge.access import actor_name

POST = frozenset({"ingest", "operate", "admin"})


class EventResultSerializer(serializers.Serializer[Any]):
    status = serializers.CharField()
    message = serializers.CharField()
    dedup_key = serializers.CharField()


class EventsView(APIView):
    """Trigger, acknowledge or resolve an alert keyed by ``dedup_key`` (Events v2 shape:
    ``routing_key`` names an escalation policy's integration key)."""

    read_scopes = POST
    write_scopes = POST

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: EventResultSerializer})
    def post(self, request: Request) -> Response:
        event = sources.event_check(request.data)
        outcome = sources.event_apply(
            event=event, actor=f"events:{actor_name(request)}", now=timezone.now()
        )
        if outcome.changed:
            hooks.dispatch_soon()
        body = {"status": "success", "message": "Event processed", "dedup_key": outcome.dedup_key}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class AlertmanagerResultSerializer(serializers.Serializer[Any]):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    changed = serializers.IntegerField()


class AlertmanagerView(APIView):
    """Point an Alertmanager ``webhook_configs`` receiver here (bearer token in its
    ``http_config``); firing alerts open, resolved ones clear, replays change nothing."""

    read_scopes = POST
    write_scopes = POST

    @extend_schema(request=OpenApiTypes.OBJECT, responses=AlertmanagerResultSerializer)
    def post(self, request: Request) -> Response:
        alerts = sources.alertmanager_check(request.data)
        outcomes = sources.alertmanager_apply(
            alerts=alerts, actor=f"alertmanager:{actor_name(request)}", now=timezone.now()
        )
        if any(o.changed for o in outcomes):
            hooks.dispatch_soon()
        return Response(
            {
                "received": len(outcomes),
                "created": sum(o.created for o in outcomes),
                "changed": sum(o.changed for o in outcomes),
            }
        )
