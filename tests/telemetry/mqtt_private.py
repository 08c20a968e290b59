"""A Mosquitto of the test's own, run with Zenith's shipped configuration
(``deploy/mosquitto/mosquitto.conf`` through ``telemetry.mqtt.broker.local_config``: only the
listener and paths differ), its password and ACL files written by Zenith from the test
database's tokens; gateways and the ``ingest_mqtt`` command to drive it.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from paho.mqtt.client import Client, MQTTMessage, MQTTProtocolVersion
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from ops.fleet.models import ApiToken
from telemetry.mqtt.broker import local_config
from telemetry.mqtt.credentials import (
    bridge_credentials,
    gateway_credentials,
    status_topic,
    write_auth_files,
)
from telemetry.mqtt.monitor import BrokerReading, read_broker
from tests.telemetry.mqtt_support import MOSQUITTO, NOW, ROOT, WAIT_S, iso, wait_for

ZENITH_TOPIC = "$share/zenith-ingest/zenith/+/telemetry"  # the deployed default
POINTS_PER_MESSAGE = 100  # 10 samples x 10 metrics
METRICS = [f"burst_{i}" for i in range(10)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ZenithBroker:
    """``start()`` writes Zenith's files (``write_auth()``) and runs the broker."""

    def __init__(self, directory: Path, *, overrides: dict[str, str] | None = None) -> None:
        assert MOSQUITTO is not None, "no mosquitto binary: scripts/ensure-services.sh installs it"
        self.directory = directory
        self.auth_dir = directory / "auth"
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.pid_path = directory / "mosquitto.pid"
        self.log_path = directory / "mosquitto.log"
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            local_config(
                port=self.port, directory=directory, auth_dir=self.auth_dir, overrides=overrides
            )
        )
        self.process: subprocess.Popen[bytes] | None = None

    def write_auth(self, topic_filter: str = ZENITH_TOPIC) -> bool:
        return write_auth_files(
            self.auth_dir,
            topic_filter=topic_filter,
            pid_path=self.pid_path if self.running else None,
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ZenithBroker:
        if not (self.auth_dir / "passwd").exists():
            self.write_auth()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return False
            return self.pid_path.exists()

        wait_for(listening, "the private broker to listen")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=WAIT_S)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


# --- gateways -----------------------------------------------------------------------------


@dataclass
class Connected:
    reason: ReasonCode

    @property
    def refused(self) -> bool:
        return bool(self.reason.is_failure)


class Gateway:
    """A device-side client logging in with a token's derived credentials (or any)."""

    _serial = 0

    def __init__(self, url: str, username: str | None = None, password: str | None = None):
        Gateway._serial += 1
        self.port = int(url.rsplit(":", 1)[1])
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"zenith-test-gw-{os.getpid()}-{Gateway._serial}",
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connects: queue.Queue[Connected] = queue.Queue()
        self.disconnected = threading.Event()
        self.acks: dict[int, ReasonCode] = {}
        self.received: queue.Queue[MQTTMessage] = queue.Queue()
        self._acked = threading.Condition()
        self.client.on_connect = lambda c, u, f, reason, p: self.connects.put(Connected(reason))
        self.client.on_disconnect = lambda *args: self.disconnected.set()
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda c, u, message: self.received.put(message)
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self.subacks.put(reasons)

    @classmethod
    def for_token(cls, url: str, token: ApiToken) -> Gateway:
        login = gateway_credentials(token)
        return cls(url, login.username, login.password)

    def connect(self) -> Connected:
        self.disconnected.clear()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        try:
            return self.connects.get(timeout=WAIT_S)
        except queue.Empty:
            pytest.fail("no CONNACK from the broker")

    def _on_publish(self, client: Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._acked:
            self.acks[mid] = reason
            self._acked.notify_all()

    def subscribe(self, topic_filter: str) -> ReasonCode:
        self.client.subscribe(topic_filter, qos=1)
        try:
            return self.subacks.get(timeout=WAIT_S)[0]
        except queue.Empty:
            pytest.fail(f"no SUBACK for {topic_filter}")

    def publish(self, topic: str, payload: bytes) -> int:
        info = self.client.publish(topic, payload, qos=1)
        return int(info.mid)

    def wait_acks(self, mids: list[int], timeout: float = 60.0) -> list[ReasonCode]:
        deadline = time.monotonic() + timeout
        with self._acked:
            while not all(mid in self.acks for mid in mids):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sum(mid not in self.acks for mid in mids)
                    pytest.fail(f"{missing} of {len(mids)} publishes never acknowledged")
                self._acked.wait(left)
            return [self.acks[mid] for mid in mids]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def message_body(node_index: int, message_index: int) -> bytes:
    """100 distinct points: 10 seconds x 10 metrics, disjoint for every message of a node."""
    start = NOW - timedelta(hours=6) + timedelta(seconds=10 * message_index)
    return orjson.dumps(
        {
            "samples": [
                {
                    "ts": iso(start + timedelta(seconds=second)),
                    "metrics": {
                        name: float(node_index * 1000 + message_index + k)
                        for k, name in enumerate(METRICS)
                    },
                }
                for second in range(10)
            ]
        }
    )


def publish_burst(url: str, tokens: dict[str, ApiToken], messages_each: int) -> float:
    """Every gateway (one per node, its own token) publishes ``messages_each`` messages at
    once, in parallel; returns when the broker acknowledged them all (seconds taken)."""
    gateways = {node: Gateway.for_token(url, token) for node, token in tokens.items()}
    for gateway in gateways.values():
        assert not gateway.connect().refused
    started = time.monotonic()
    sent: dict[str, list[int]] = {}
    threads = []

    def run(index: int, node: str, gateway: Gateway) -> None:
        topic = f"zenith/{node}/telemetry"
        sent[node] = [gateway.publish(topic, message_body(index, i)) for i in range(messages_each)]

    for index, (node, gateway) in enumerate(gateways.items()):
        threads.append(threading.Thread(target=run, args=(index, node, gateway)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        for node, gateway in gateways.items():
            reasons = gateway.wait_acks(sent[node])
            assert all(not reason.is_failure for reason in reasons), f"{node}: refused"
    finally:
        for gateway in gateways.values():
            gateway.close()
    return time.monotonic() - started


def read(broker: ZenithBroker) -> BrokerReading:
    """The broker's figures and bridge statuses, read as a monitoring process does."""
    login = bridge_credentials()
    return read_broker(
        host="127.0.0.1",
        port=broker.port,
        username=login.username,
        password=login.password,
        status_filter=status_topic(ZENITH_TOPIC, "+"),
    )


def wait_online(broker: ZenithBroker, *client_ids: str, timeout: float = 90.0) -> None:
    """Until each bridge has published its status "online" (it does after its SUBACK)."""

    def online() -> bool:
        bridges = read(broker).bridges
        return all(bridges.get(cid, {}).get("state") == "online" for cid in client_ids)

    wait_for(online, f"bridges {', '.join(client_ids)} online", timeout=timeout)


# --- the command --------------------------------------------------------------------------


class BridgeProcess:
    """``manage.py ingest_mqtt`` against the private broker, writing Zenith's files there."""

    def __init__(self, broker: ZenithBroker, client_id: str, env: dict[str, str]) -> None:
        full_env = {
            **os.environ,
            "LOG_LEVEL": "WARNING",
            "MQTT_BROKER_PID_PATH": str(broker.pid_path),
            **env,
        }
        command = [sys.executable, "manage.py", "ingest_mqtt", "--url", broker.url]
        command += ["--topic", ZENITH_TOPIC, "--client-id", client_id, "--every", "500"]
        command += ["--auth-dir", str(broker.auth_dir)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        self.lines: list[str] = []
        stderr = self.process.stderr
        assert stderr is not None
        self.reader = threading.Thread(
            target=lambda: self.lines.extend(line.decode() for line in stderr), daemon=True
        )
        self.reader.start()

    def last_stats(self) -> dict[str, int]:
        """The last ``mqtt: received=... stored=...`` line, as numbers."""
        for line in reversed(self.lines):
            if line.startswith("mqtt: "):
                fields = line.removeprefix("mqtt: ").split(" (")[0].split()
                return {k: int(v) for k, v in (field.split("=") for field in fields)}
        return {}

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.reader.join(timeout=5)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
