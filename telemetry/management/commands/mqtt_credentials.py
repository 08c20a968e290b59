"""Print a gateway's MQTT login (derived from its API token), or the bridge's."""

from __future__ import annotations

from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.fleet.selectors import token_list
from telemetry.exceptions import TelemetryError
from telemetry.mqtt.credentials import bridge_credentials, gateway_access


class Command(BaseCommand):
    help = (
        "Print the MQTT broker URL, username, password and topics of an ingest token's "
        "gateway as JSON (the same as GET /api/v1/telemetry/mqtt-credentials), or with "
        "--bridge the login of Zenith's own bridge. The broker accepts a new token within "
        "MQTT_AUTH_SYNC_S seconds (the bridge rewrites its password file)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--token", type=int, help="API token id")
        who.add_argument("--bridge", action="store_true", help="the bridge's own login")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bridge"]:
            login = bridge_credentials()
            access: dict[str, object] = {
                "url": settings.MQTT_URL,
                "username": login.username,
                "password": login.password,
            }
        else:
            token = token_list().filter(pk=options["token"]).first()
            if token is None:
                raise CommandError(f"no API token {options['token']}")
            try:
                access = gateway_access(
                    token=token, topic_filter=settings.MQTT_TOPIC, url=settings.MQTT_PUBLIC_URL
                )
            except TelemetryError as exc:
                raise CommandError(f"token {token.pk}: {exc.detail}") from exc
        self.stdout.write(orjson.dumps(access, option=orjson.OPT_INDENT_2).decode())
