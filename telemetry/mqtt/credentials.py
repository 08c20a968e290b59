"""Broker credentials and permissions derived from Zenith's API tokens, and the Mosquitto
files that carry them (``passwd``, ``acl``).

Zenith stores only a token's SHA-256, so no broker password hash can be made from the
secret itself. Each live token with the ``ingest`` scope (``admin`` implies it) gets a
derived MQTT login instead:

* username ``tok-<token id>``;
* password ``base64url(HMAC-SHA256(key, token_sha256))``, the key derived from
  ``SECRET_KEY`` (Django's ``salted_hmac``). Only Zenith can compute it, it changes with the
  token, and it is handed out by ``manage.py mqtt_credentials --token <id>`` or to the
  token's holder by ``GET /api/v1/telemetry/mqtt-credentials``.

Its topics follow the token's restriction, as the HTTP paths do: a token restricted to
spacecraft may publish only ``zenith/<slug>/telemetry`` of those (and read the
``/errors`` reports there); an unrestricted one publishes ``zenith/+/telemetry``. The
bridge logs in as ``zenith-bridge`` (password derived the same way) and may read the
telemetry topics and the broker's ``$SYS`` figures, and write error reports and its status.

``write_auth_files`` renders both files, replaces them atomically (write, fsync, rename)
when their content changes, and makes the broker reload them (SIGHUP to the pid in the
broker's pid file, when one is configured; otherwise the broker side watches the files, see
``deploy/mosquitto/run.sh``). Mosquitto re-checks connected clients on reload, so a revoked
token's gateway is disconnected and refused from then on. ``AuthSync`` does this every few
seconds in the bridge process: the fleet app may not call telemetry, so token changes are
polled (a digest of the inputs, compared with the one written in the files' first line).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ops.edge.access import expand
from ops.fleet.models import ApiToken
from ops.fleet.selectors import token_list
from telemetry.exceptions import NotAnIngestToken

log = logging.getLogger(__name__)

BRIDGE_USERNAME = "zenith-bridge"
GATEWAY_PREFIX = "tok-"
PASSWD_NAME = "passwd"  # noqa: S105 - a file name
ACL_NAME = "acl"
# Mosquitto's own default. The passwords are 256-bit HMAC outputs, so stretching adds no
# protection; a low count keeps a reload with thousands of gateways quick.
PBKDF2_ITERATIONS = 101
_DIGEST_MARK = "# zenith-digest "
_SALT = "zenith.telemetry.mqtt"


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Grant:
    """One broker user: its login and the topics it may publish and subscribe to."""

    username: str
    password: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def _derive(purpose: str, value: str) -> bytes:
    return salted_hmac(f"{_SALT}.{purpose}", value, algorithm="sha256").digest()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def gateway_credentials(token: ApiToken) -> Credentials:
    return Credentials(
        f"{GATEWAY_PREFIX}{token.pk}", _b64url(_derive("gateway", token.token_sha256))
    )


def bridge_credentials() -> Credentials:
    return Credentials(BRIDGE_USERNAME, _b64url(_derive("bridge", BRIDGE_USERNAME)))


def mosquitto_hash(password: str, *, username: str) -> str:
    """Mosquitto's ``$7$`` format: PBKDF2-SHA512, base64 salt and hash.

    The salt is derived from the username (per deployment, as the key is), not random, so
    the same tokens always render the same file and an unchanged file is never rewritten.
    """
    salt = _derive("salt", username)[:12]
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    encode = base64.b64encode
    return f"$7${PBKDF2_ITERATIONS}${encode(salt).decode()}${encode(digest).decode()}"


# --- topics ----------------------------------------------------------------------------


def topic_template(topic_filter: str) -> str:
    """The telemetry filter as gateways see it: ``$share/<group>/`` dropped."""
    levels = topic_filter.split("/")
    if levels[0] == "$share" and len(levels) > 2:
        levels = levels[2:]
    if levels.count("+") != 1 or "#" in levels:
        raise ValueError(f"topic filter {topic_filter!r} needs exactly one '+' (the node)")
    return "/".join(levels)


def node_topic(topic_filter: str, slug: str) -> str:
    return "/".join(
        slug if level == "+" else level for level in topic_template(topic_filter).split("/")
    )


def status_topic(topic_filter: str, client_id: str) -> str:
    """Where a bridge publishes its status: ``<levels before the node>/bridges/<id>/status``
    (``zenith/bridges/<id>/status``); one level deeper than telemetry, so no gateway ACL
    and no telemetry subscription matches it."""
    levels = topic_template(topic_filter).split("/")
    prefix = levels[: levels.index("+")]
    return "/".join([*prefix, "bridges", client_id, "status"])


def token_may_ingest(token: ApiToken, *, now: datetime) -> bool:
    if token.revoked_at is not None or not token.account.active:
        return False
    if token.expires_at is not None and token.expires_at <= now:
        return False
    return "ingest" in expand(token.scopes)


def gateway_grant(token: ApiToken, *, topic_filter: str) -> Grant:
    """The broker user of a token (which must be able to ingest)."""
    login = gateway_credentials(token)
    if token.restricted:
        slugs = sorted(craft.slug for craft in token.spacecraft.all())
        topics = tuple(node_topic(topic_filter, slug) for slug in slugs)
    else:
        topics = (topic_template(topic_filter),)
    return Grant(
        login.username,
        login.password,
        publish=topics,
        subscribe=tuple(f"{topic}/errors" for topic in topics),
    )


def gateway_access(*, token: object, topic_filter: str, url: str) -> dict[str, object]:
    """What a gateway needs to publish: broker, login and topics (the answer of
    ``GET /api/v1/telemetry/mqtt-credentials`` and ``manage.py mqtt_credentials``)."""
    if not isinstance(token, ApiToken) or not token_may_ingest(token, now=timezone.now()):
        raise NotAnIngestToken(
            "MQTT credentials belong to a live API token with the ingest scope",
            fields={"token": "authenticate with the gateway's ingest token"},
        )
    grant = gateway_grant(token, topic_filter=topic_filter)
    return {
        "url": url,
        "username": grant.username,
        "password": grant.password,
        "publish": list(grant.publish),
        "subscribe": list(grant.subscribe),
        # A new or changed token reaches the broker within this many seconds.
        "refresh_s": settings.MQTT_AUTH_SYNC_S,
    }


def bridge_grant(*, topic_filter: str) -> Grant:
    login = bridge_credentials()
    telemetry = topic_template(topic_filter)
    status = status_topic(topic_filter, "+")
    return Grant(
        login.username,
        login.password,
        publish=(f"{telemetry}/errors", status),
        subscribe=(telemetry, status, "$SYS/broker/#"),
    )


def grants(*, topic_filter: str, now: datetime | None = None) -> list[Grant]:
    """The bridge, then every token that may ingest now, by token id."""
    now = now or timezone.now()
    out = [bridge_grant(topic_filter=topic_filter)]
    for token in token_list().order_by("pk"):
        if token_may_ingest(token, now=now):
            out.append(gateway_grant(token, topic_filter=topic_filter))
    return out


# --- the files -------------------------------------------------------------------------


def _digest(entries: Iterable[Grant]) -> str:
    hasher = hashlib.sha256()
    for grant in entries:
        # The password itself is part of the input (a new SECRET_KEY rewrites the files)
        # but the digest written in the file reveals nothing of it.
        for part in (grant.username, grant.password, *grant.publish, "|", *grant.subscribe):
            hasher.update(part.encode() + b"\n")
        hasher.update(b"\x00")
    return hasher.hexdigest()


def render(entries: list[Grant]) -> tuple[str, str]:
    """``(passwd, acl)`` file contents for these users."""
    digest = _digest(entries)
    head = (
        f"{_DIGEST_MARK}{digest}\n# Written by Zenith (telemetry.mqtt.credentials): do not edit.\n"
    )
    passwd = head + "".join(
        f"{grant.username}:{mosquitto_hash(grant.password, username=grant.username)}\n"
        for grant in entries
    )
    acl_lines = [head]
    for grant in entries:
        acl_lines.append(f"\nuser {grant.username}\n")
        acl_lines += [f"topic write {topic}\n" for topic in grant.publish]
        acl_lines += [f"topic read {topic}\n" for topic in grant.subscribe]
    return passwd, "".join(acl_lines)


def _written_digest(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
    except OSError:
        return None
    return first[len(_DIGEST_MARK) :].strip() if first.startswith(_DIGEST_MARK) else None


def _replace(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    # World-readable on purpose: the broker runs as its own user, and the file holds only
    # PBKDF2 hashes of 256-bit secrets (nothing to crack) and topic names.
    temporary.chmod(0o644)
    temporary.replace(path)


def reload_broker(pid_path: Path) -> bool:
    """SIGHUP the broker whose pid file this is; False (logged) if there is none to signal."""
    try:
        pid = int(pid_path.read_text(encoding="ascii").strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        log.warning("could not signal the MQTT broker (pid file %s): %s", pid_path, exc)
        return False
    return True


def write_auth_files(
    directory: Path,
    *,
    topic_filter: str,
    pid_path: Path | None = None,
    now: datetime | None = None,
) -> bool:
    """Bring ``<directory>/passwd`` and ``<directory>/acl`` up to date with the tokens;
    True if they changed (and the broker was asked to reload)."""
    entries = grants(topic_filter=topic_filter, now=now)
    digest = _digest(entries)
    passwd_path, acl_path = directory / PASSWD_NAME, directory / ACL_NAME
    if _written_digest(passwd_path) == digest and _written_digest(acl_path) == digest:
        return False
    passwd, acl = render(entries)
    directory.mkdir(parents=True, exist_ok=True)
    # The ACL first: between the two renames a new user cannot log in yet, and a removed
    # one has already lost its topics.
    _replace(acl_path, acl)
    _replace(passwd_path, passwd)
    log.info("MQTT credentials written for %d gateways in %s", len(entries) - 1, directory)
    if pid_path is not None:
        reload_broker(pid_path)
    return True


class AuthSync:
    """Keeps the broker's files current: ``write_auth_files`` every ``every_s`` seconds in
    a thread of its own (with its own database connection), until ``stop()``."""

    def __init__(
        self,
        directory: Path,
        *,
        topic_filter: str,
        pid_path: Path | None = None,
        every_s: float | None = None,
    ) -> None:
        self.directory, self.topic_filter, self.pid_path = directory, topic_filter, pid_path
        self.every_s = settings.MQTT_AUTH_SYNC_S if every_s is None else every_s
        self.changes = 0
        self.failures = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        try:
            changed = write_auth_files(
                self.directory, topic_filter=self.topic_filter, pid_path=self.pid_path
            )
        except Exception:
            # The database may be down: the files on disk stay as they were (still right
            # but for changes since), and the next round tries again.
            self.failures += 1
            log.warning("MQTT credentials not refreshed", exc_info=True)
            connection.close()
            return False
        self.changes += int(changed)
        return changed

    def start(self) -> AuthSync:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mqtt-auth-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        try:
            while True:
                self.run_once()
                if self._stopping.wait(self.every_s):
                    return
        finally:
            connection.close()
