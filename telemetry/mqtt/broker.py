"""The broker: its address (``MQTT_URL``), the login Zenith's own clients use on it, and the
Mosquitto configuration Zenith ships (``deploy/mosquitto/mosquitto.conf``).

The shipped file is the policy (queue limits, persistence, no anonymous clients, Zenith's
password and ACL files) with the paths of the compose deployment. ``local_config`` renders
the same file for a broker of one's own (tests, benchmarks, a developer machine): only the
listener, the paths and the user change, every other line is the shipped one.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

from django.conf import settings
from paho.mqtt.client import Client, MQTTErrorCode

from telemetry.mqtt.credentials import ACL_NAME, PASSWD_NAME, bridge_credentials

DEFAULT_URL = "mqtt://127.0.0.1:1883"
SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"


@dataclass(frozen=True, slots=True)
class Broker:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """``mqtt://[user[:password]@]host[:port]``; ``mqtts://`` for TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"broker URL {url!r}: bad port") from None
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r}: no host")
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


class Backoff:
    def __init__(self, first_s: float, max_s: float) -> None:
        self.first_s, self.max_s = first_s, max_s
        self._next = first_s

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = self.first_s


def default_url() -> str:
    return str(getattr(settings, "MQTT_URL", None) or os.environ.get("MQTT_URL") or DEFAULT_URL)


def login_for(broker: Broker) -> tuple[str, str | None]:
    """The URL's user and password if it names one (a broker Zenith does not manage), else
    the bridge login derived from ``SECRET_KEY`` (the one in Zenith's password file)."""
    if broker.username is not None:
        return broker.username, broker.password
    login = bridge_credentials()
    return login.username, login.password


_DISCONNECT = b"\xe0\x00"  # MQTT 5 DISCONNECT, reason 0 (normal), no properties


def disconnect_gracefully(client: Client, timeout_s: float = 2.0) -> None:
    """DISCONNECT, then read until the broker closes, so the broker sees a clean disconnect.

    paho closes its socket right after writing DISCONNECT. When messages are still streaming
    in (a burst, unacknowledged because the database is down), closing a socket with unread
    data makes the kernel send a reset, the broker never reads the DISCONNECT, takes it for a
    lost connection and publishes the will. So: flush paho's queue (acknowledgements, the
    status), write DISCONNECT, shut our side, drain until the broker's end of file, and let
    paho find the socket closed (its ``on_disconnect`` runs as for any other close).
    """
    sock = client.socket()
    if sock is None:
        return
    deadline = time.monotonic() + timeout_s
    while client.want_write() and time.monotonic() < deadline:
        if client.loop_write() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            break
        if client.want_write():
            time.sleep(0.005)
    try:
        raw = cast(socket.socket, sock)
        raw.settimeout(max(0.1, deadline - time.monotonic()))
        raw.sendall(_DISCONNECT)
        raw.shutdown(socket.SHUT_WR)
        while raw.recv(65536) and time.monotonic() < deadline:
            pass  # unacknowledged messages: the broker keeps them for the session
    except OSError:
        pass
    client.loop_read()  # end of file: paho closes the socket and reports the disconnect
    if client.socket() is not None:  # the broker did not close in time
        client.disconnect()


# --- configuration -------------------------------------------------------------------------

_REPLACED = re.compile(
    r"^\s*#?\s*(listener|persistence_location|password_file|acl_file|pid_file|log_dest|user"
    r"|certfile|keyfile|cafile|capath|require_certificate|tls_version)\b"
)


def local_config(
    *, port: int, directory: Path, auth_dir: Path, overrides: dict[str, str] | None = None
) -> str:
    """The shipped configuration for a broker of one's own on ``127.0.0.1:port``: data, pid
    and log under ``directory``, Zenith's files from ``auth_dir``, running as the current
    user. ``overrides`` replace other options (a small queue limit in a test, say)."""
    overrides = overrides or {}
    lines = []
    for line in SHIPPED_CONFIG.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        option = stripped.split(None, 1)[0] if stripped and not stripped.startswith("#") else ""
        if _REPLACED.match(line) or option in overrides:
            continue
        lines.append(line)
    lines += [
        "",
        "# --- local: set by telemetry.mqtt.broker.local_config ---",
        f"listener {port} 127.0.0.1",
        f"persistence_location {directory}/",
        f"password_file {auth_dir / PASSWD_NAME}",
        f"acl_file {auth_dir / ACL_NAME}",
        f"pid_file {directory / 'mosquitto.pid'}",
        f"log_dest file {directory / 'mosquitto.log'}",
        # Mosquitto started as root drops to the "mosquitto" user, which cannot read a
        # test's private directories: stay whoever started it.
        f"user {getpass.getuser()}",
        *(f"{option} {value}" for option, value in overrides.items()),
    ]
    return "\n".join(lines) + "\n"
