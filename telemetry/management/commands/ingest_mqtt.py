"""Bridge MQTT telemetry (``zenith/<node>/telemetry``) into the ingest service until stopped."""

from __future__ import annotations

import signal
import socket
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from prometheus_client import start_http_server

from telemetry.mqtt import DEFAULT_TOPIC, BridgeStats, MqttBridge, default_url


def _line(stats: BridgeStats) -> str:
    return (
        f"mqtt: received={stats.received} stored={stats.stored} written={stats.written} "
        f"duplicates={stats.duplicates} invalid={stats.invalid} retried={stats.retried} "
        f"errors={stats.errors}"
    )


def _unapplied_migrations() -> int | None:
    """How many migrations are missing; None if the database cannot say (the bridge waits)."""
    try:
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except (OperationalError, InterfaceError):
        return None
    finally:
        connection.close()  # the bridge thread opens its own


class Command(BaseCommand):
    help = (
        "Subscribe to zenith/+/telemetry (JSON or line protocol payloads) and write every message "
        "through the telemetry ingest service. QoS 1 on a persistent session: a message is "
        "acknowledged only once its write committed, so messages that arrive while the database "
        "is down are redelivered. Invalid messages are acknowledged and reported on "
        "<topic>/errors. Stops cleanly on SIGINT/SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", default=None, help="broker, mqtt://[user:pass@]host:port (default MQTT_URL)"
        )
        parser.add_argument(
            "--topic",
            default=getattr(settings, "MQTT_TOPIC", DEFAULT_TOPIC),
            help="topic filter; its single '+' level names the node (default %(default)s)",
        )
        parser.add_argument(
            "--client-id",
            default=getattr(settings, "MQTT_CLIENT_ID", None),
            help="MQTT client id; keep it fixed, the session (unacked messages) is tied to it "
            "(default zenith-ingest-<hostname>)",
        )
        parser.add_argument(
            "--session-expiry",
            type=int,
            default=getattr(settings, "MQTT_SESSION_EXPIRY_S", 86_400),
            help="seconds the broker keeps the session (and queues messages) while we are away",
        )
        parser.add_argument(
            "--every", type=int, default=1000, help="a progress line per N messages (0: none)"
        )
        parser.add_argument(
            "--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            bridge = MqttBridge(
                url=options["url"] or default_url(),
                topic=options["topic"],
                client_id=options["client_id"] or f"zenith-ingest-{socket.gethostname()}",
                session_expiry_s=options["session_expiry"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # A missing table is not a message's fault, but the bridge would drop every message
        # as an unexpected error: refuse to start instead.
        pending = _unapplied_migrations()
        if pending:
            raise CommandError(f"{pending} unapplied migrations: run manage.py migrate first")
        if options["metrics_port"]:
            start_http_server(options["metrics_port"])

        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        every = max(options["every"], 0)
        quiet = options["verbosity"] == 0
        self._say(f"ingest_mqtt: {bridge.broker} {bridge.topic!r} as {bridge.client_id}", quiet)
        bridge.start()
        shown = 0
        try:
            while not stop.wait(0.2):
                if not bridge.running:
                    raise CommandError("the bridge thread ended unexpectedly")
                received = bridge.stats.received
                if every and received // every > shown // every:
                    self._say(_line(bridge.stats), quiet)
                    shown = received
        finally:
            self._say("ingest_mqtt: stopping", quiet)
            bridge.stop()
        self._say(_line(bridge.stats) + " (stopped)", quiet)

    def _say(self, line: str, quiet: bool) -> None:
        if not quiet:
            self.stderr.write(line, style_func=str)
