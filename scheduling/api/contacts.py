"""REST endpoints for the contact plan: list, detail, replan, manual book, cancel. Thin."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ops.edge.access import actor_name, request_spacecraft_ids
from ops.edge.fields import path_id, state_pattern
from ops.fleet.fields import SpacecraftField, StationField
from scheduling.models import Contact, ContactEvent, ContactState
from scheduling.selectors import contacts as contact_selectors
from scheduling.services import contact_plan, contacts, replan

READ = frozenset({"schedule", "operate", "admin"})
PLAN = frozenset({"schedule", "admin"})
CANCEL = frozenset({"schedule", "operate", "admin"})


# --- serializers ------------------------------------------------------------------------


@extend_schema_field(state_pattern(ContactState.values))
class ContactStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ContactState.choices, **kwargs)


class ContactSerializer(serializers.ModelSerializer[Contact]):
    spacecraft = SpacecraftField(read_only=True)
    station = StationField(read_only=True)
    pass_id = serializers.IntegerField(
        source="pass_ref_id",
        read_only=True,
        allow_null=True,
        help_text="null once a re-prediction replaced the pass (pass_aos/pass_los remain)",
    )
    duration_s = serializers.FloatField(read_only=True)
    state = ContactStateField(read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "spacecraft",
            "station",
            "antenna",
            "pass_id",
            "pass_aos",
            "pass_los",
            "start",
            "end",
            "duration_s",
            "uplink_capacity_bytes",
            "downlink_capacity_bytes",
            "state",
            "booked_by",
            "manual",
            "reason",
            "created_at",
            "state_changed_at",
        ]
        read_only_fields = fields


class ContactEventSerializer(serializers.ModelSerializer[ContactEvent]):
    to_state = ContactStateField(read_only=True)

    class Meta:
        model = ContactEvent
        fields = ["from_state", "to_state", "at", "actor", "reason"]
        read_only_fields = fields


class ContactDetailSerializer(ContactSerializer):
    events = ContactEventSerializer(many=True, read_only=True)

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "events"]
        read_only_fields = fields


class BookSerializer(serializers.Serializer[Any]):
    spacecraft = SpacecraftField()
    station = StationField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReplanSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField(required=False, help_text="default now")
    end = serializers.DateTimeField(required=False, help_text="default start + 24 h")
    freeze_s = serializers.FloatField(
        required=False,
        min_value=0.0,
        default=contact_plan.DEFAULT_FREEZE_S,
        help_text="contacts starting before now + freeze_s are never touched",
    )
    budget_s = serializers.FloatField(
        required=False,
        min_value=0.01,
        max_value=contact_plan.MAX_BUDGET_S,
        default=contact_plan.DEFAULT_BUDGET_S,
        help_text="solver time budget; the greedy plan is used when it runs out",
    )


class CancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ContactChangeSerializer(serializers.Serializer[Any]):
    contact = ContactSerializer()
    reason = serializers.CharField()


class ReplanResultSerializer(serializers.Serializer[Any]):
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    frozen_until = serializers.DateTimeField()
    method = serializers.CharField(help_text="cp-sat optimal/feasible, greedy+cp-sat lns, ...")
    added = ContactChangeSerializer(many=True)
    removed = ContactChangeSerializer(many=True)
    kept = ContactChangeSerializer(many=True)
    skipped = serializers.ListField(child=serializers.CharField())


# --- filters ------------------------------------------------------------------------------


class ContactFilter(django_filters.FilterSet):
    station = django_filters.CharFilter(field_name="station__slug")
    spacecraft = django_filters.CharFilter(field_name="spacecraft__slug")
    start = django_filters.IsoDateTimeFilter(
        field_name="end", lookup_expr="gt", label="contacts ending after this time"
    )
    end = django_filters.IsoDateTimeFilter(
        field_name="start", lookup_expr="lt", label="contacts starting before this time"
    )
    state = django_filters.MultipleChoiceFilter(choices=ContactState.choices)

    class Meta:
        model = Contact
        fields = ["station", "spacecraft", "state"]


# --- views -------------------------------------------------------------------------------


class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The contact plan. Times are UTC; an antenna is busy from ``start`` minus the
    station's setup to ``end`` plus its turnaround."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    ordering_fields = ["start", "end"]
    ordering = ["start"]
    lookup_value_regex = r"\d+"
    read_scopes = READ
    write_scopes = PLAN
    action_scopes = {
        "list": READ,
        "retrieve": READ,
        "create": PLAN,
        "replan": PLAN,
        "cancel": CANCEL,
    }

    def get_queryset(self) -> QuerySet[Contact]:
        return contact_selectors.contact_list(
            allowed_spacecraft_ids=request_spacecraft_ids(self.request)
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "retrieve":
            return ContactDetailSerializer
        return ContactSerializer

    def get_object(self) -> Contact:
        return contact_selectors.contact_get(
            contact_id=path_id(self.kwargs),
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
        )

    @extend_schema(
        request=BookSerializer,
        responses={201: ContactDetailSerializer},
        description="Book a contact by hand. It must lie inside a stored pass of the "
        "spacecraft over the station; a clash with another contact (antenna, setup and "
        "turnaround included, or the spacecraft's radios) answers 409 with the id of the "
        "contact it clashes with in ``fields.contact_id``; maintenance answers 409 too.",
    )
    def create(self, request: Request) -> Response:
        data = BookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        contact = contacts.contact_book(
            spacecraft=values["spacecraft"],
            allowed_spacecraft_ids=request_spacecraft_ids(request),
            station=values["station"],
            start=values["start"],
            end=values["end"],
            actor=actor_name(request),
            reason=values["reason"],
        )
        found = contact_selectors.contact_get(contact_id=contact.pk)
        return Response(ContactDetailSerializer(found).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReplanSerializer,
        responses=ReplanResultSerializer,
        description="Replan the window (default now to now + 24 h) from the stored passes "
        "and apply it: what was added, removed (cancelled) and kept, each with its reason. "
        "Contacts in progress or inside the freeze horizon are never touched.",
    )
    @action(detail=False, methods=["post"])
    def replan(self, request: Request) -> Response:
        data = ReplanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        outcome = replan.plan_refresh(
            window_start=values.get("start"),
            window_end=values.get("end"),
            freeze_s=values["freeze_s"],
            budget_s=values["budget_s"],
            actor=actor_name(request),
            allowed_spacecraft_ids=request_spacecraft_ids(request),
        )
        body = ReplanResultSerializer(outcome).data
        return Response(body)

    @extend_schema(
        request=CancelSerializer,
        responses=ContactDetailSerializer,
        description="Cancel a scheduled contact (an in-progress one is aborted). "
        "Completed, failed, cancelled and aborted contacts answer 409.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contacts.contact_cancel(
            contact=self.get_object(),
            actor=actor_name(request),
            reason=data.validated_data["reason"],
        )
        found = contact_selectors.contact_get(contact_id=contact.pk)
        return Response(ContactDetailSerializer(found).data)
