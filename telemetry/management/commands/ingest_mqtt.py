"""Bridge MQTT telemetry (``zenith/<node>/telemetry``) into the ingest service until stopped;
keep the broker's password and ACL files current when ``MQTT_AUTH_DIR`` is set."""

from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from prometheus_client import REGISTRY, start_http_server

from telemetry.mqtt import DEFAULT_TOPIC, BridgeStats, MqttBridge, default_url
from telemetry.mqtt.credentials import AuthSync
from telemetry.mqtt.monitor import BrokerCollector


def _line(stats: BridgeStats) -> str:
    return (
        f"mqtt: received={stats.received} stored={stats.stored} written={stats.written} "
        f"duplicates={stats.duplicates} invalid={stats.invalid} retried={stats.retried} "
        f"errors={stats.errors} batches={stats.batches}"
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
        "is down are redelivered. Messages are written in batches (one commit for many), each "
        "message all or nothing. Invalid messages are acknowledged and reported on "
        "<topic>/errors. With MQTT_AUTH_DIR, also writes the broker's password and ACL files "
        "from the API tokens. Stops cleanly on SIGINT/SIGTERM."
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
            "--batch-messages",
            type=int,
            default=settings.MQTT_BATCH_MESSAGES,
            help="most messages per transaction (default %(default)s)",
        )
        parser.add_argument(
            "--auth-dir",
            default=settings.MQTT_AUTH_DIR,
            type=Path,
            help="write the broker's passwd and acl files here (default MQTT_AUTH_DIR)",
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
                backoff_s=(1.0, settings.MQTT_RETRY_MAX_S),
                batch_messages=options["batch_messages"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # A missing table is not a message's fault, but the bridge would drop every message
        # as an unexpected error: refuse to start instead.
        pending = _unapplied_migrations()
        if pending:
            raise CommandError(f"{pending} unapplied migrations: run manage.py migrate first")
        auth = None
        if options["auth_dir"] is not None:
            # Before connecting: the bridge's own login is in these files.
            auth = AuthSync(
                options["auth_dir"],
                topic_filter=bridge.topic,
                pid_path=settings.MQTT_BROKER_PID_PATH,
            )
            auth.run_once()
            connection.close()  # the sync thread opens its own
        if options["metrics_port"]:
            if not settings.MQTT_MONITOR:  # else registered already, reading the broker
                REGISTRY.register(BrokerCollector(bridge.broker_figures))
            start_http_server(options["metrics_port"])

        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        every = max(options["every"], 0)
        quiet = options["verbosity"] == 0
        self._say(f"ingest_mqtt: {bridge.broker} {bridge.topic!r} as {bridge.client_id}", quiet)
        if auth is not None:
            auth.start()
        bridge.start()
        shown = (0, 0)
        try:
            while not stop.wait(0.2):
                if not bridge.running:
                    raise CommandError("the bridge thread ended unexpectedly")
                stats = bridge.stats
                settled = stats.stored + stats.invalid + stats.errors + stats.retried
                progress = (stats.received // every, settled // every) if every else shown
                if progress != shown:
                    self._say(_line(stats), quiet)
                    shown = progress
        finally:
            self._say("ingest_mqtt: stopping", quiet)
            bridge.stop()
            if auth is not None:
                auth.stop()
        self._say(_line(bridge.stats) + " (stopped)", quiet)

    def _say(self, line: str, quiet: bool) -> None:
        if not quiet:
            self.stderr.write(line, style_func=str)
