"""InfluxDB mirror of ingested telemetry, through influxdb-client's batching writer.

The client batches in a background thread, retries with exponential backoff and drops
a batch after its retries: the primary store (PostgreSQL) is the record, InfluxDB a
convenience for sites that already run one. Counts of batches written, retried and
dropped are exported to /metrics and /healthz.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from prometheus_client import Counter, Gauge

from telemetry.lineprotocol import Point, encode

if TYPE_CHECKING:
    from telemetry.ingest import Samples

log = logging.getLogger(__name__)

SINK_POINTS = Counter("zenith_influx_points_queued_total", "points queued for the InfluxDB mirror")
SINK_BATCHES = Counter("zenith_influx_batches_total", "InfluxDB mirror batches", ["outcome"])
SINK_LAST_OK = Gauge("zenith_influx_last_success_timestamp", "unix time of the last mirrored batch")
MEASUREMENT = "node_health"


class InfluxSink:
    def __init__(
        self,
        *,
        url: str,
        token: str,
        org: str,
        bucket: str,
        batch_size: int = 5000,
        flush_interval_ms: int = 1000,
        max_retries: int = 5,
        timeout_ms: int = 10_000,
        max_retry_time_ms: int = 120_000,
    ) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import WriteOptions, WriteType

        self.org, self.bucket = org, bucket
        self.client = InfluxDBClient(url=url, token=token, org=org, timeout=timeout_ms)
        self.lock = threading.Lock()
        self.stats = {"written": 0, "retried": 0, "failed": 0, "last_error": ""}
        self.last_success: float | None = None
        self.write_api = self.client.write_api(
            write_options=WriteOptions(
                write_type=WriteType.batching,
                batch_size=batch_size,
                flush_interval=flush_interval_ms,
                retry_interval=1000,
                max_retries=max_retries,
                max_retry_delay=30_000,
                max_retry_time=max_retry_time_ms,
                exponential_base=2,
            ),
            success_callback=self._ok,
            error_callback=self._failed,
            retry_callback=self._retry,
        )

    def _ok(self, conf: Any, data: Any) -> None:
        with self.lock:
            self.stats["written"] += 1  # type: ignore[operator]
            self.last_success = time.time()
        SINK_BATCHES.labels("written").inc()
        SINK_LAST_OK.set(time.time())

    def _failed(self, conf: Any, data: Any, exc: BaseException) -> None:
        with self.lock:
            self.stats["failed"] += 1  # type: ignore[operator]
            self.stats["last_error"] = f"{type(exc).__name__}: {exc}"[:300]
        SINK_BATCHES.labels("failed").inc()
        log.warning("InfluxDB mirror dropped a batch after retries: %s", exc)

    def _retry(self, conf: Any, data: Any, exc: BaseException) -> None:
        with self.lock:
            self.stats["retried"] += 1  # type: ignore[operator]
            self.stats["last_error"] = f"{type(exc).__name__}: {exc}"[:300]
        SINK_BATCHES.labels("retried").inc()

    def mirror(self, samples: Samples) -> None:
        """Queue the samples; returns at once (the client's thread does the I/O)."""
        lines = []
        for node, ts, metrics in zip(samples.nodes, samples.times, samples.metrics, strict=True):
            delta = ts.timestamp()
            time_ns = round(delta * 1_000_000) * 1000
            lines.append(encode(Point(MEASUREMENT, {"node": node}, dict(metrics), time_ns, 0)))
        try:
            self.write_api.write(bucket=self.bucket, org=self.org, record=lines)
            SINK_POINTS.inc(samples.points)
        except Exception as exc:
            self._failed(None, None, exc)

    def flush(self) -> None:
        self.write_api.flush()

    def close(self) -> None:
        self.write_api.close()
        self.client.close()

    def health(self) -> dict[str, Any]:
        with self.lock:
            stats = dict(self.stats)
            last = self.last_success
        ok = stats["failed"] == 0 or (last is not None and time.time() - last < 300)
        return {"ok": ok, "url": settings.INFLUXDB_URL, **stats, "last_success": last}


_sink: InfluxSink | None = None
_sink_lock = threading.Lock()


def get_sink() -> InfluxSink:
    global _sink
    with _sink_lock:
        if _sink is None:
            _sink = InfluxSink(
                url=str(settings.INFLUXDB_URL),
                token=str(settings.INFLUXDB_TOKEN),
                org=str(settings.INFLUXDB_ORG),
                bucket=str(settings.INFLUXDB_BUCKET),
                batch_size=settings.INFLUXDB_BATCH_SIZE,
                flush_interval_ms=settings.INFLUXDB_FLUSH_INTERVAL_MS,
                max_retries=settings.INFLUXDB_MAX_RETRIES,
                max_retry_time_ms=settings.INFLUXDB_MAX_RETRY_TIME_MS,
            )
        return _sink


def reset_sink() -> None:
    global _sink
    with _sink_lock:
        if _sink is not None:
            _sink.close()
        _sink = None
