"""REST endpoints for passes and prediction jobs: thin, they parse and call services/selectors."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ops.edge.access import actor_name, request_spacecraft_ids
from ops.edge.fields import path_id
from ops.fleet import selectors as fleet_selectors
from ops.fleet.fields import (
    SpacecraftField,
    SpacecraftListField,
    StationField,
    StationListField,
)
from ops.fleet.models import OrbitSet
from orbital import timescales
from scheduling import tasks
from scheduling.models import Pass, PredictionJob
from scheduling.selectors import passes as pass_selectors
from scheduling.services import passes as pass_services

READ = frozenset({"schedule", "operate", "admin"})
PREDICT = frozenset({"schedule", "admin"})


# --- serializers ------------------------------------------------------------------------


class PassSerializer(serializers.ModelSerializer[Pass]):
    spacecraft = SpacecraftField(read_only=True)
    station = StationField(read_only=True)
    orbit_set: serializers.PrimaryKeyRelatedField[OrbitSet] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    duration_s = serializers.FloatField(read_only=True)
    in_maintenance = serializers.BooleanField(
        read_only=True, help_text="overlaps a maintenance window of the station (as of now)"
    )

    class Meta:
        model = Pass
        fields = [
            "id",
            "spacecraft",
            "station",
            "orbit_set",
            "aos",
            "tca",
            "los",
            "aos_clipped",
            "los_clipped",
            "duration_s",
            "max_elevation_deg",
            "aos_azimuth_deg",
            "tca_azimuth_deg",
            "los_azimuth_deg",
            "in_maintenance",
            "refraction",
            "predicted_at",
        ]
        read_only_fields = fields


class PredictionJobSerializer(serializers.ModelSerializer[PredictionJob]):
    chunks = serializers.SerializerMethodField()

    class Meta:
        model = PredictionJob
        fields = [
            "id",
            "state",
            "progress",
            "start",
            "end",
            "station_ids",
            "refraction",
            "requested_by",
            "passes_stored",
            "errors",
            "chunks",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_chunks(self, job: PredictionJob) -> int:
        return job.chunks.count()


class PredictRequestSerializer(serializers.Serializer[Any]):
    spacecraft = SpacecraftListField(
        required=False, help_text="slugs; default every active spacecraft with an orbit set"
    )
    stations = StationListField(required=False, help_text="slugs; default every active")
    start = serializers.DateTimeField(required=False, help_text="default now")
    end = serializers.DateTimeField(required=False, help_text="default start + 48 h")
    refraction = serializers.BooleanField(default=False)


class LookAnglesSerializer(serializers.Serializer[Any]):
    step_s = serializers.FloatField(default=10.0, min_value=0.05)
    refraction = serializers.BooleanField(required=False, allow_null=True, default=None)


# --- filters ------------------------------------------------------------------------------


class PassFilter(django_filters.FilterSet):
    station = django_filters.CharFilter(field_name="station__slug")
    spacecraft = django_filters.CharFilter(field_name="spacecraft__slug")
    start = django_filters.IsoDateTimeFilter(
        field_name="los", lookup_expr="gt", label="passes ending after this time"
    )
    end = django_filters.IsoDateTimeFilter(
        field_name="aos", lookup_expr="lt", label="passes starting before this time"
    )
    min_elevation = django_filters.NumberFilter(
        field_name="max_elevation_deg", lookup_expr="gte", label="highest elevation, degrees"
    )
    in_maintenance = django_filters.BooleanFilter(field_name="in_maintenance")

    class Meta:
        model = Pass
        fields = ["station", "spacecraft"]


# --- views -------------------------------------------------------------------------------


class PassViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Predicted passes. Times are UTC; a clipped AOS/LOS is the edge of the predicted
    window, not a real AOS/LOS."""

    serializer_class = PassSerializer
    filterset_class = PassFilter
    ordering_fields = ["aos", "max_elevation_deg", "los"]
    ordering = ["aos"]
    lookup_value_regex = r"\d+"
    read_scopes = READ
    write_scopes = PREDICT
    action_scopes = {"look_angles": READ, "predict": PREDICT}

    def get_queryset(self) -> QuerySet[Pass]:
        return pass_selectors.pass_list(allowed_spacecraft_ids=request_spacecraft_ids(self.request))

    def get_object(self) -> Pass:
        return pass_selectors.pass_get(
            pass_id=path_id(self.kwargs),
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("step_s", OpenApiTypes.FLOAT, description="cadence, seconds"),
            OpenApiParameter("refraction", OpenApiTypes.BOOL, description="apparent elevation"),
        ],
        responses=inline_serializer(
            "LookAngles",
            {
                "pass_id": serializers.IntegerField(),
                "step_s": serializers.FloatField(),
                "refraction": serializers.BooleanField(),
                "samples": inline_serializer(
                    "LookAngleSample",
                    {
                        "t": serializers.DateTimeField(),
                        "azimuth_deg": serializers.FloatField(),
                        "elevation_deg": serializers.FloatField(),
                        "range_km": serializers.FloatField(),
                        "range_rate_km_s": serializers.FloatField(),
                        "doppler_factor": serializers.FloatField(),
                    },
                    many=True,
                ),
            },
        ),
        description="Antenna pointing over the pass, AOS to LOS at the given cadence (the "
        "LOS always included), from the orbit set the pass was predicted from. "
        "``doppler_factor`` multiplies a transmitted frequency to give the received one.",
    )
    @action(detail=True, methods=["get"], url_path="look-angles")
    def look_angles(self, request: Request, pk: str | None = None) -> Response:
        query = LookAnglesSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        pass_ = self.get_object()
        look = pass_selectors.pass_look_angles(
            pass_=pass_,
            step_s=query.validated_data["step_s"],
            refraction=query.validated_data["refraction"],
        )
        samples = [
            {
                "t": timescales.to_datetime(float(t)),
                "azimuth_deg": round(float(az), 6),
                "elevation_deg": round(float(el), 6),
                "range_km": round(float(rng), 6),
                "range_rate_km_s": round(float(rate), 9),
                "doppler_factor": float(doppler),
            }
            for t, az, el, rng, rate, doppler in zip(
                look.unix_s,
                look.azimuth_deg,
                look.elevation_deg,
                look.range_km,
                look.range_rate_km_s,
                look.doppler_factor,
                strict=True,
            )
        ]
        return Response(
            {
                "pass_id": pass_.pk,
                "step_s": query.validated_data["step_s"],
                "refraction": look.refraction,
                "samples": samples,
            }
        )

    @extend_schema(
        request=PredictRequestSerializer,
        responses={202: PredictionJobSerializer},
        description="Queue a prediction (asynchronous). Poll the returned job at "
        "/api/v1/passes/jobs/{id} for its state and progress (0..1).",
    )
    @action(detail=False, methods=["post"])
    def predict(self, request: Request) -> Response:
        data = PredictRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        crafts = values.get("spacecraft")
        if crafts is None:
            crafts = list(fleet_selectors.spacecraft_with_orbit_sets())
        job = pass_services.prediction_job_create(
            spacecraft=crafts,
            allowed_spacecraft_ids=request_spacecraft_ids(request),
            stations=values.get("stations") or [],
            start=values.get("start"),
            end=values.get("end"),
            refraction=values["refraction"],
            requested_by=actor_name(request),
        )
        tasks.enqueue_prediction_job(job)
        return Response(PredictionJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class PredictionJobViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Prediction jobs: state (queued, running, succeeded, failed) and progress 0..1."""

    serializer_class = PredictionJobSerializer
    queryset = PredictionJob.objects.all()
    lookup_value_regex = r"\d+"
    read_scopes = READ

    def get_object(self) -> PredictionJob:
        return pass_selectors.prediction_job_get(job_id=path_id(self.kwargs))
