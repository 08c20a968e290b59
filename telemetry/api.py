"""Telemetry endpoints: ingest (JSON, line protocol), series, latest, export, metric registry."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.edge.access import request_spacecraft_ids
from telemetry import ingest, selectors, services
from telemetry.exceptions import BodyTooLarge, InvalidTelemetry
from telemetry.models import Metric

INGEST = frozenset({"ingest", "admin"})
READ = frozenset({"schedule", "operate", "admin"})
MAX_RAW_POINTS = 100_000
MAX_EXPORT_METRICS = 10
MAX_EXPORT_RANGE = timedelta(days=7)


def read_body(request: HttpRequest) -> bytes:
    """The request body, refused early (413) past the ingest limit, gzip undone safely."""
    limit = settings.TELEMETRY_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH")
    if declared:
        try:
            if int(declared) > limit:
                raise BodyTooLarge(
                    f"body of {declared} bytes exceeds the {limit}-byte limit",
                    fields={"body": f"at most {limit} bytes"},
                )
        except ValueError:
            raise InvalidTelemetry(
                "bad Content-Length", fields={"Content-Length": declared}
            ) from None
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise BodyTooLarge(
            f"body exceeds the {limit}-byte limit", fields={"body": f"at most {limit} bytes"}
        )
    return ingest.decode_body(
        raw, encoding=request.META.get("HTTP_CONTENT_ENCODING", ""), limit=limit
    )


IngestResultSerializer = inline_serializer(
    "IngestResult",
    {
        "written": serializers.IntegerField(help_text="points stored by this request"),
        "duplicates": serializers.IntegerField(help_text="points already stored (replays)"),
        "samples": serializers.IntegerField(),
        "nodes": serializers.IntegerField(),
    },
)


def _result(result: services.IngestResult) -> dict[str, int]:
    return {
        "written": result.written,
        "duplicates": result.duplicates,
        "samples": result.samples,
        "nodes": result.nodes,
    }


class TelemetryIngestView(APIView):
    """``POST /api/v1/telemetry``: JSON samples, all or nothing, idempotent."""

    write_scopes = INGEST
    read_scopes = INGEST
    parser_classes: list[Any] = []

    @extend_schema(
        request=inline_serializer(
            "TelemetryBatch",
            {
                "samples": serializers.ListField(
                    child=inline_serializer(
                        "TelemetrySample",
                        {
                            "node": serializers.CharField(help_text="spacecraft slug"),
                            "ts": serializers.DateTimeField(),
                            "metrics": serializers.DictField(child=serializers.FloatField()),
                        },
                    )
                )
            },
        ),
        responses={200: IngestResultSerializer},
        description="Writes every sample or none. Replaying a batch writes nothing new.",
    )
    def post(self, request: Request) -> Response:
        body = read_body(request._request)
        samples = ingest.parse_json(body, max_points=settings.TELEMETRY_MAX_POINTS)
        result = services.telemetry_ingest(
            samples=samples, allowed_spacecraft_ids=request_spacecraft_ids(request)
        )
        return Response(_result(result))


class LineProtocolWriteView(APIView):
    """``POST /api/v2/write``: InfluxDB v2 line protocol (Telegraf, InfluxDB clients)."""

    write_scopes = INGEST
    read_scopes = INGEST
    parser_classes: list[Any] = []

    @extend_schema(
        request={"text/plain": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter("precision", str, enum=["ns", "us", "ms", "s"], default="ns"),
            OpenApiParameter("org", str, required=False, description="accepted and ignored"),
            OpenApiParameter("bucket", str, required=False, description="accepted and ignored"),
        ],
        responses={204: None},
        description=(
            "Each line needs a `node` tag. Fields of measurement `node_health` are metric "
            "names as they are; other measurements become `<measurement>_<field>`. Other "
            "tags are ignored. Timestamps are truncated to microseconds."
        ),
    )
    def post(self, request: Request) -> Response:
        precision = request.query_params.get("precision", "ns")
        if precision not in ("ns", "us", "ms", "s"):
            raise InvalidTelemetry(
                f"precision {precision!r} is not one of ns, us, ms, s",
                fields={"precision": "must be ns, us, ms or s"},
            )
        body = read_body(request._request)
        samples = ingest.parse_line_protocol(
            body, precision=precision, now=timezone.now(), max_points=settings.TELEMETRY_MAX_POINTS
        )
        result = services.telemetry_ingest(
            samples=samples, allowed_spacecraft_ids=request_spacecraft_ids(request)
        )
        # InfluxDB answers 204; the counts ride in headers for clients that want them.
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["X-Zenith-Written"] = str(result.written)
        response["X-Zenith-Duplicates"] = str(result.duplicates)
        return response


# --- reads ----------------------------------------------------------------------------


class SeriesQuery(serializers.Serializer[Any]):
    node = serializers.CharField()
    metric = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(required=False)
    bucket_s = serializers.IntegerField(required=False, min_value=1, max_value=86400 * 7)
    points = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=500)
    raw = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("end", timezone.now())
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "must be after start"})
        if attrs["end"] - attrs["start"] > timedelta(days=400):
            raise serializers.ValidationError({"start": "range is limited to 400 days"})
        return attrs


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise InvalidTelemetry(f"{name} is required", fields={name: "is required"})
    return value


def _iso(ts: Any) -> str:
    return str(ts.isoformat().replace("+00:00", "Z"))


class SeriesView(APIView):
    read_scopes = READ

    @extend_schema(parameters=[SeriesQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        query = SeriesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        node = selectors.node_get(
            slug=q["node"], allowed_spacecraft_ids=request_spacecraft_ids(request)
        )
        metric = selectors.metric_get(name=q["metric"])
        if q["raw"]:
            points = selectors.series_raw(
                node=node, metric=metric, start=q["start"], end=q["end"], limit=MAX_RAW_POINTS + 1
            )
            truncated = len(points) > MAX_RAW_POINTS
            return Response(
                {
                    "node": node.slug,
                    "metric": metric.name,
                    "unit": metric.unit,
                    "kind": metric.kind,
                    "raw": True,
                    "truncated": truncated,
                    "points": [[_iso(p.time), p.value] for p in points[:MAX_RAW_POINTS]],
                }
            )
        bucket_s = q.get("bucket_s") or selectors.bucket_for(
            start=q["start"], end=q["end"], target_points=q["points"]
        )
        if (q["end"] - q["start"]).total_seconds() / bucket_s > 20_000:
            raise InvalidTelemetry(
                "too many buckets", fields={"bucket_s": "range / bucket_s must be at most 20000"}
            )
        series = selectors.series_buckets(
            node=node, metric=metric, start=q["start"], end=q["end"], bucket_s=bucket_s
        )
        return Response(
            {
                "node": node.slug,
                "metric": metric.name,
                "unit": metric.unit,
                "kind": metric.kind,
                "start": _iso(series.start),
                "end": _iso(series.end),
                "bucket_s": bucket_s,
                "columns": ["start", "count", "min", "max", "avg", "last"]
                + (["rate_per_s"] if metric.kind == "counter" else []),
                "buckets": [
                    [_iso(b.start), b.count, b.min, b.max, b.avg, b.last]
                    + ([b.rate_per_s] if metric.kind == "counter" else [])
                    for b in series.buckets
                ],
            }
        )


class LatestNodeView(APIView):
    read_scopes = READ

    @extend_schema(
        parameters=[OpenApiParameter("node", str, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        node = selectors.node_get(
            slug=_required(request, "node"),
            allowed_spacecraft_ids=request_spacecraft_ids(request),
        )
        return Response(
            {
                "node": node.slug,
                "metrics": {
                    m.name: {"time": _iso(v.time), "value": v.value, "unit": m.unit}
                    for m, v in selectors.latest_for_node(node=node)
                },
            }
        )


class LatestFleetView(APIView):
    read_scopes = READ

    @extend_schema(
        parameters=[OpenApiParameter("metric", str, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        metric = selectors.metric_get(name=_required(request, "metric"))
        rows = selectors.latest_for_metric(
            metric=metric, allowed_spacecraft_ids=request_spacecraft_ids(request)
        )
        return Response(
            {
                "metric": metric.name,
                "unit": metric.unit,
                "nodes": {
                    n.slug: ({"time": _iso(v.time), "value": v.value} if v else None)
                    for n, v in rows
                },
            }
        )


class _Echo:
    def write(self, value: str) -> str:
        return value


class ExportView(APIView):
    read_scopes = READ

    @extend_schema(
        parameters=[
            OpenApiParameter("node", str, required=True),
            OpenApiParameter("metric", str, required=True, many=True, description="repeatable"),
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("end", OpenApiTypes.DATETIME, required=True),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        field = serializers.DateTimeField()
        errors: dict[str, str] = {}
        bounds = {}
        for key in ("start", "end"):
            try:
                bounds[key] = field.to_internal_value(request.query_params.get(key, ""))
            except serializers.ValidationError:
                errors[key] = "must be an ISO-8601 time"
        names = request.query_params.getlist("metric")
        if not names:
            errors["metric"] = "give at least one metric"
        if not request.query_params.get("node"):
            errors["node"] = "is required"
        if len(names) > MAX_EXPORT_METRICS:
            errors["metric"] = f"at most {MAX_EXPORT_METRICS} metrics per export"
        if "start" in bounds and "end" in bounds:
            if bounds["end"] <= bounds["start"]:
                errors["end"] = "must be after start"
            elif bounds["end"] - bounds["start"] > MAX_EXPORT_RANGE:
                # Under ASGI a streamed response from a sync iterator is collected in
                # memory first; bounded exports keep that bounded (split longer ones).
                errors["start"] = f"an export covers at most {MAX_EXPORT_RANGE.days} days"
        if errors:
            raise InvalidTelemetry(next(iter(errors.values())), fields=errors)
        node = selectors.node_get(
            slug=request.query_params["node"],
            allowed_spacecraft_ids=request_spacecraft_ids(request),
        )
        metrics = [selectors.metric_get(name=n) for n in names]
        writer = csv.writer(_Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(["time", "node", "metric", "value"])
            for row in selectors.export_rows(
                node=node, metrics=metrics, start=bounds["start"], end=bounds["end"]
            ):
                yield writer.writerow(row)

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{node.slug}-telemetry.csv"'
        return response


class MetricSerializer(serializers.ModelSerializer[Metric]):
    class Meta:
        model = Metric
        fields = [
            "id",
            "name",
            "unit",
            "kind",
            "description",
            "warn_low",
            "warn_high",
            "crit_low",
            "crit_high",
            "auto_registered",
            "created_at",
        ]
        read_only_fields = ["id", "auto_registered", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for low, high in (("warn_low", "warn_high"), ("crit_low", "crit_high")):
            lo = attrs.get(low, getattr(self.instance, low, None))
            hi = attrs.get(high, getattr(self.instance, high, None))
            if lo is not None and hi is not None and lo > hi:
                raise serializers.ValidationError({low: f"must not exceed {high}"})
        return attrs


class MetricViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MetricSerializer
    lookup_field = "name"
    read_scopes = frozenset({"ingest", "schedule", "operate", "admin"})
    write_scopes = frozenset({"admin"})
    filterset_fields = ["kind", "auto_registered"]

    def get_queryset(self) -> Any:
        return selectors.metric_list()


class MqttCredentialsView(APIView):
    """``GET /api/v1/telemetry/mqtt-credentials``: the calling token's MQTT login and topics."""

    read_scopes = INGEST

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description=(
            "The broker URL, username, password and topics of the token that calls it "
            "(derived from the token; revoked with it). Only tokens have MQTT credentials."
        ),
    )
    def get(self, request: Request) -> Response:
        from telemetry.mqtt.credentials import gateway_access

        access = gateway_access(
            token=request.auth, topic_filter=settings.MQTT_TOPIC, url=settings.MQTT_PUBLIC_URL
        )
        return Response(access, headers={"Cache-Control": "no-store"})
