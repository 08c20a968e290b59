"""``/healthz``: is each dependency reachable? 200 when all are, 503 otherwise.

The database, channel layer and broker are checked here; apps add theirs through
``zenith.registry.health_check`` (the InfluxDB mirror, say).

Checks run with a short timeout each so a hung dependency cannot hang the probe.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections

from zenith import registry

HealthCheck = Callable[[], dict[str, Any]]


def check_database() -> dict[str, Any]:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        info: dict[str, Any] = {"ok": True, "vendor": connection.vendor}
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
                row = cursor.fetchone()
                info["timescaledb"] = row[0] if row else None
                if row:
                    # 'timescale' (compression, continuous aggregates: what deployments
                    # run) or 'apache' (hypertables only); see telemetry/README.md.
                    cursor.execute("SELECT current_setting('timescaledb.license', true)")
                    info["timescaledb_license"] = cursor.fetchone()[0]
        return info
    finally:
        connection.close()


def check_channel_layer() -> dict[str, Any]:
    layer = get_channel_layer()
    if layer is None:
        return {"ok": False, "error": "no channel layer configured"}
    backend = type(layer).__name__

    async def round_trip() -> bool:
        channel = await layer.new_channel("healthz.")
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "healthz", "token": token})
        message = await asyncio.wait_for(layer.receive(channel), timeout=2)
        return bool(message.get("token") == token)

    ok = async_to_sync(round_trip)()
    return {"ok": ok, "backend": backend}


def check_broker() -> dict[str, Any]:
    from zenith.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        transport = (
            conn.transport_cls
            if isinstance(conn.transport_cls, str)
            else conn.info().get("transport")
        )
    return {"ok": True, "transport": str(transport)}


def run_checks() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, HealthCheck] = {
        "database": check_database,
        "channel_layer": check_channel_layer,
        "broker": check_broker,
    }
    informational: set[str] = set()
    for entry in registry.health_checks():
        checks[entry.name] = entry.check
        if not entry.required:
            informational.add(entry.name)
    timeout = settings.ZENITH_HEALTH_TIMEOUT_S
    # One short-lived thread per check, all under one deadline: a hung dependency costs
    # at most ``timeout`` and cannot starve later probes of workers (a shared pool would).
    outcomes: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()

    def run(name: str, fn: HealthCheck) -> None:
        began = time.perf_counter()
        try:
            outcome = dict(fn())
        except Exception as exc:
            outcome = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        outcome["latency_ms"] = round((time.perf_counter() - began) * 1000, 1)
        outcomes[name] = outcome

    threads = [
        threading.Thread(target=run, args=(name, fn), daemon=True, name=f"healthz-{name}")
        for name, fn in checks.items()
    ]
    for thread in threads:
        thread.start()
    deadline = started + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    results: dict[str, Any] = {}
    for name in checks:
        results[name] = outcomes.get(name) or {
            "ok": False,
            "error": f"timed out after {timeout}s",
            "latency_ms": timeout * 1000.0,
        }
        results[name]["required"] = name not in informational
    ok = all(r.get("ok") for name, r in results.items() if name not in informational)
    return ok, results


def public_view(results: dict[str, Any]) -> dict[str, Any]:
    """What anonymous callers (load balancers) see: up or down, no hosts, versions or errors."""
    return {
        name: {"ok": bool(r.get("ok")), "required": r.get("required", True)}
        for name, r in results.items()
    }
