"""REST endpoints for the fleet registry: thin, they parse and call services/selectors."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ops.edge.access import ALL_SCOPES, actor_name, request_spacecraft_ids
from ops.edge.fields import path_id
from ops.fleet import selectors, services
from ops.fleet.fields import SpacecraftField, SpacecraftListField
from ops.fleet.models import (
    ApiToken,
    GroundStation,
    MaintenanceWindow,
    OrbitKind,
    OrbitSet,
    Role,
    ServiceAccount,
    Spacecraft,
)

READ = frozenset({"schedule", "operate", "admin"})
ADMIN = frozenset({"admin"})

# --- serializers -----------------------------------------------------------------------


class SpacecraftSerializer(serializers.ModelSerializer[Spacecraft]):
    current_orbit_epoch = serializers.DateTimeField(read_only=True, allow_null=True)
    current_orbit_set_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Spacecraft
        fields = [
            "id",
            *services.SPACECRAFT_FIELDS,
            "current_orbit_epoch",
            "current_orbit_set_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class OrbitSetSerializer(serializers.ModelSerializer[OrbitSet]):
    spacecraft = SpacecraftField(read_only=True)

    class Meta:
        model = OrbitSet
        fields = [
            "id",
            "spacecraft",
            "kind",
            "epoch",
            "line1",
            "line2",
            "semi_major_axis_km",
            "eccentricity",
            "inclination_deg",
            "raan_deg",
            "arg_perigee_deg",
            "true_anomaly_deg",
            "mean_anomaly_deg",
            "mean_motion_rev_per_day",
            "bstar",
            "source",
            "loaded_at",
            "loaded_by",
        ]
        read_only_fields = fields


class OrbitSetInputSerializer(serializers.Serializer[Any]):
    """A TLE (``line1``, ``line2``) or classical elements; ``kind`` says which."""

    kind = serializers.ChoiceField(choices=OrbitKind.choices)
    line1 = serializers.CharField(required=False, trim_whitespace=False, max_length=80)
    line2 = serializers.CharField(required=False, trim_whitespace=False, max_length=80)
    epoch = serializers.DateTimeField(required=False)
    semi_major_axis_km = serializers.FloatField(required=False)
    altitude_km = serializers.FloatField(required=False)
    eccentricity = serializers.FloatField(required=False)
    inclination_deg = serializers.FloatField(required=False)
    raan_deg = serializers.FloatField(required=False)
    arg_perigee_deg = serializers.FloatField(required=False)
    true_anomaly_deg = serializers.FloatField(required=False)
    # The serializer metaclass moves declared fields off the class, so this does not
    # shadow Field.source at runtime; the stubs cannot know that.
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, max_length=255, default="api"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == OrbitKind.TLE:
            missing = {f: "is required for a TLE" for f in ("line1", "line2") if not attrs.get(f)}
        else:
            missing = {
                f: "is required for an element set"
                for f in (
                    "epoch",
                    "eccentricity",
                    "inclination_deg",
                    "raan_deg",
                    "arg_perigee_deg",
                    "true_anomaly_deg",
                )
                if attrs.get(f) is None
            }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class MaintenanceWindowSerializer(serializers.ModelSerializer[MaintenanceWindow]):
    class Meta:
        model = MaintenanceWindow
        fields = ["id", "starts_at", "ends_at", "reason", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class GroundStationSerializer(serializers.ModelSerializer[GroundStation]):
    horizon_mask = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        required=False,
        help_text=(
            "[[azimuth_deg, elevation_deg], ...]: azimuths 0-360 increasing, elevations -5..90"
        ),
    )
    maintenance_windows = MaintenanceWindowSerializer(many=True, read_only=True)

    class Meta:
        model = GroundStation
        fields = [
            "id",
            *services.STATION_FIELDS,
            "maintenance_windows",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ServiceAccountSerializer(serializers.ModelSerializer[ServiceAccount]):
    class Meta:
        model = ServiceAccount
        fields = ["id", "name", "description", "active", "created_at"]
        read_only_fields = ["id", "created_at"]


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    account: serializers.SlugRelatedField[ServiceAccount] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    spacecraft = SpacecraftField(many=True, read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "account",
            "name",
            "prefix",
            "scopes",
            "restricted",
            "spacecraft",
            "expires_at",
            "revoked_at",
            "revoked_by",
            "last_used_at",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer[Any]):
    account = serializers.RegexField(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", max_length=64)
    name = serializers.CharField(max_length=64)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(ALL_SCOPES)), allow_empty=False
    )
    spacecraft = SpacecraftListField(required=False, default=list)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


# --- filters -----------------------------------------------------------------------------


class SpacecraftFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    active = django_filters.BooleanFilter()
    min_priority = django_filters.NumberFilter(field_name="priority", lookup_expr="gte")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Spacecraft
        fields = ["role", "active", "norad_id"]


class OrbitSetFilter(django_filters.FilterSet):
    spacecraft = django_filters.CharFilter(field_name="spacecraft__slug")
    kind = django_filters.ChoiceFilter(choices=OrbitKind.choices)
    epoch_after = django_filters.IsoDateTimeFilter(field_name="epoch", lookup_expr="gte")
    epoch_before = django_filters.IsoDateTimeFilter(field_name="epoch", lookup_expr="lt")

    class Meta:
        model = OrbitSet
        fields = ["spacecraft", "kind"]


class StationFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter()

    class Meta:
        model = GroundStation
        fields = ["active"]


# --- views -------------------------------------------------------------------------------


def _create_orbit_set(request: Request, craft: Spacecraft) -> Response:
    data = OrbitSetInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    kind = values.pop("kind")
    source = values.pop("source", "api") or "api"
    if kind == OrbitKind.TLE:
        result = services.orbit_set_load_tle(
            spacecraft=craft,
            line1=values["line1"],
            line2=values["line2"],
            source=source,
            loaded_by=actor_name(request),
        )
    else:
        for unused in ("line1", "line2"):
            values.pop(unused, None)
        result = services.orbit_set_load_elements(
            spacecraft=craft, source=source, loaded_by=actor_name(request), **values
        )
    return Response(
        OrbitSetSerializer(result.orbit_set).data,
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


class SpacecraftViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SpacecraftSerializer
    lookup_field = "slug"
    filterset_class = SpacecraftFilter
    ordering_fields = ["slug", "priority", "norad_id"]
    read_scopes = READ
    write_scopes = ADMIN
    action_scopes = {"orbit_sets": READ, "add_orbit_set": frozenset({"schedule", "admin"})}

    def get_queryset(self) -> QuerySet[Spacecraft]:
        return selectors.spacecraft_list(
            allowed_spacecraft_ids=request_spacecraft_ids(self.request)
        )

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.spacecraft_create(
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
            **serializer.validated_data,
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.spacecraft_update(
            spacecraft=serializer.instance, **serializer.validated_data
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().create(request, *args, **kwargs)
        response.data = SpacecraftSerializer(
            self.get_queryset().get(slug=response.data["slug"])
        ).data
        return response

    @extend_schema(responses=OrbitSetSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="orbit-sets")
    def orbit_sets(self, request: Request, slug: str | None = None) -> Response:
        craft = self.get_object()
        page = self.paginate_queryset(selectors.orbit_set_list().filter(spacecraft=craft))
        return self.get_paginated_response(OrbitSetSerializer(page, many=True).data)

    @extend_schema(
        request=OrbitSetInputSerializer,
        responses={
            201: OrbitSetSerializer,
            200: OpenApiResponse(OrbitSetSerializer, "already loaded"),
        },
    )
    @orbit_sets.mapping.post
    def add_orbit_set(self, request: Request, slug: str | None = None) -> Response:
        return _create_orbit_set(request, self.get_object())


class OrbitSetViewSet(viewsets.ReadOnlyModelViewSet[OrbitSet]):
    serializer_class = OrbitSetSerializer
    filterset_class = OrbitSetFilter
    ordering_fields = ["epoch", "loaded_at"]
    read_scopes = READ

    def get_queryset(self) -> QuerySet[OrbitSet]:
        return selectors.orbit_set_list(allowed_spacecraft_ids=request_spacecraft_ids(self.request))


class GroundStationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = GroundStationSerializer
    lookup_field = "slug"
    filterset_class = StationFilter
    ordering_fields = ["slug"]
    read_scopes = READ
    write_scopes = ADMIN
    action_scopes = {"maintenance": READ, "add_maintenance": frozenset({"operate", "admin"})}

    def get_queryset(self) -> QuerySet[GroundStation]:
        return selectors.station_list()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.station_create(**serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.station_update(
            station=serializer.instance, **serializer.validated_data
        )

    @extend_schema(responses=MaintenanceWindowSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="maintenance")
    def maintenance(self, request: Request, slug: str | None = None) -> Response:
        station = self.get_object()
        return Response(
            MaintenanceWindowSerializer(station.maintenance_windows.all(), many=True).data
        )

    @extend_schema(
        request=MaintenanceWindowSerializer, responses={201: MaintenanceWindowSerializer}
    )
    @maintenance.mapping.post
    def add_maintenance(self, request: Request, slug: str | None = None) -> Response:
        station = self.get_object()
        data = MaintenanceWindowSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = services.maintenance_window_create(
            station=station, created_by=actor_name(request), **data.validated_data
        )
        return Response(MaintenanceWindowSerializer(window).data, status=status.HTTP_201_CREATED)


class ServiceAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ServiceAccountSerializer
    queryset = ServiceAccount.objects.all()
    lookup_field = "name"
    read_scopes = ADMIN
    write_scopes = ADMIN

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.service_account_get_or_create(**serializer.validated_data)


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ApiTokenSerializer
    read_scopes = ADMIN
    write_scopes = ADMIN
    filterset_fields = ["account__name"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        return selectors.token_list()

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={
            201: inline_serializer(
                "IssuedToken", {"token": serializers.CharField(), "detail": ApiTokenSerializer()}
            )
        },
        description="Creates a token. The secret is in the response once and never again.",
    )
    def create(self, request: Request) -> Response:
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        issued = services.token_issue(
            account_name=values["account"],
            name=values["name"],
            scopes=values["scopes"],
            spacecraft=values["spacecraft"],
            expires_at=values["expires_at"],
            created_by=actor_name(request),
            allowed_spacecraft_ids=request_spacecraft_ids(request),
        )
        return Response(
            {"token": issued.secret, "detail": ApiTokenSerializer(issued.token).data},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        token = services.token_revoke(token_id=path_id(self.kwargs), revoked_by=actor_name(request))
        return Response(ApiTokenSerializer(token).data)
