"""Write the broker's password and ACL files from the API tokens, once or continuously."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from telemetry.mqtt.credentials import AuthSync, write_auth_files


class Command(BaseCommand):
    help = (
        "Write <dir>/passwd and <dir>/acl for Mosquitto from the API tokens (every live token "
        "with the ingest scope, and the bridge) and SIGHUP the broker when they change. "
        "ingest_mqtt does the same every MQTT_AUTH_SYNC_S seconds when MQTT_AUTH_DIR is set; "
        "this command is for a first start or a broker without a bridge beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=settings.MQTT_AUTH_DIR)
        parser.add_argument(
            "--pid-path",
            type=Path,
            default=settings.MQTT_BROKER_PID_PATH,
            help="the broker's pid file, to signal it after a change",
        )
        parser.add_argument("--topic", default=settings.MQTT_TOPIC)
        parser.add_argument(
            "--watch", action="store_true", help="keep them current until SIGINT/SIGTERM"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["dir"]
        if directory is None:
            raise CommandError("give --dir (or set MQTT_AUTH_DIR)")
        if not options["watch"]:
            changed = write_auth_files(
                directory, topic_filter=options["topic"], pid_path=options["pid_path"]
            )
            self.stderr.write(f"mqtt_auth: {directory} {'written' if changed else 'unchanged'}")
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        sync = AuthSync(directory, topic_filter=options["topic"], pid_path=options["pid_path"])
        sync.start()
        stop.wait()
        sync.stop()
