"""Optional mirrors of written telemetry (InfluxDB). They never block or fail ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

if TYPE_CHECKING:
    from telemetry.ingest import Samples


def mirror_after_commit(samples: Samples) -> None:
    if not settings.INFLUXDB_URL:
        return
    from telemetry.sinks.influx import get_sink

    sink = get_sink()
    transaction.on_commit(lambda: sink.mirror(samples))


def sink_health() -> dict[str, Any]:
    """The InfluxDB mirror's state for ``/healthz`` (registered in TelemetryConfig.ready)."""
    from telemetry.sinks.influx import get_sink

    return get_sink().health()
