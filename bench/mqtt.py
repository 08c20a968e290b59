"""MQTT ingest benchmark (make bench): the bridge (``manage.py ingest_mqtt``, QoS 1, batched
commits) against HTTP ingest of the very same points, in the same run, on this machine.

A private Mosquitto runs Zenith's shipped configuration (``deploy/mosquitto/mosquitto.conf``,
its password and ACL files written from the bench database's tokens); each gateway publishes
with its own token's login, restricted to its node. Three phases, the same points each time
(the table emptied between them):

1. MQTT sustained: the gateways publish everything at once while the bridges drain; points
   stored per second from the first publish to the last commit.
2. MQTT backlog: the bridges are away while it is all published (a loss-of-signal backlog, or
   a database outage), then started: time until the last point is stored.
3. HTTP: the same message bodies (each sample naming its node) POSTed to /api/v1/telemetry by
   ``--http-clients`` clients against ``--workers`` uvicorn processes.

    .venv/bin/python bench/mqtt.py                 # 10,000 messages, 1 M points
    .venv/bin/python bench/mqtt.py --quick         # 2,000 messages
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import ROOT, Server, setup_django, table

logging.getLogger("httpx").setLevel(logging.WARNING)

METRICS = [f"bench_{i}" for i in range(10)]
SAMPLES_PER_MESSAGE = 10  # x 10 metrics = 100 points a message, a gateway's small batch
TOPIC = "$share/zenith-ingest/zenith/+/telemetry"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bodies(nodes: list[str], messages: int, *, with_node: bool) -> list[tuple[str, bytes]]:
    import orjson

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)
    out = []
    for i in range(messages):
        node = nodes[i % len(nodes)]
        first = start + timedelta(seconds=SAMPLES_PER_MESSAGE * (i // len(nodes)))
        samples = []
        for s in range(SAMPLES_PER_MESSAGE):
            sample: dict[str, Any] = {
                "ts": (first + timedelta(seconds=s)).isoformat().replace("+00:00", "Z"),
                "metrics": {
                    m: round(20.0 + (i * 7 + s + k) % 50 / 3.0, 3) for k, m in enumerate(METRICS)
                },
            }
            if with_node:
                sample["node"] = node
            samples.append(sample)
        out.append((node, orjson.dumps({"samples": samples})))
    return out


class Mosquitto:
    def __init__(self, directory: Path) -> None:
        from telemetry.mqtt.broker import local_config

        self.directory, self.auth_dir = directory, directory / "auth"
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.pid_path = directory / "mosquitto.pid"
        config = directory / "mosquitto.conf"
        config.write_text(local_config(port=self.port, directory=directory, auth_dir=self.auth_dir))
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Bridge:
    """``manage.py ingest_mqtt`` in a subprocess; its progress lines give the stored count."""

    def __init__(self, broker: Mosquitto, client_id: str) -> None:
        env = {**os.environ, "LOG_LEVEL": "INFO", "MQTT_BROKER_PID_PATH": str(broker.pid_path)}
        command = [sys.executable, "manage.py", "ingest_mqtt", "--url", broker.url]
        command += ["--topic", TOPIC, "--client-id", client_id, "--every", "200"]
        command += ["--auth-dir", str(broker.auth_dir)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        self.stats: dict[str, int] = {}
        self.connected_at: float | None = None  # time.perf_counter() of its first connection
        stderr = self.process.stderr
        assert stderr is not None
        self._reader = threading.Thread(target=self._read, args=(stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            if self.connected_at is None and "MQTT connected to" in line:
                self.connected_at = time.perf_counter()
            if line.startswith("mqtt: "):
                fields = line.removeprefix("mqtt: ").split(" (")[0].split()
                self.stats = {k: int(v) for k, v in (f.split("=") for f in fields)}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self._reader.join(timeout=5)


def wait_online(broker: Mosquitto, client_ids: list[str], timeout: float = 90) -> None:
    from telemetry.mqtt.credentials import bridge_credentials, status_topic
    from telemetry.mqtt.monitor import read_broker

    login = bridge_credentials()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reading = read_broker(
            host="127.0.0.1",
            port=broker.port,
            username=login.username,
            password=login.password,
            status_filter=status_topic(TOPIC, "+"),
        )
        if all(reading.bridges.get(c, {}).get("state") == "online" for c in client_ids):
            return
        time.sleep(0.2)
    raise RuntimeError("bridges did not come online")


def wait_stored(bridges: list[Bridge], messages: int, timeout: float = 600) -> float:
    started = time.monotonic()
    while sum(b.stats.get("stored", 0) for b in bridges) < messages:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"not drained after {timeout:.0f} s: {[b.stats for b in bridges]}")
        time.sleep(0.05)
    return time.perf_counter()


def publish(
    broker: Mosquitto, logins: dict[str, tuple[str, str]], messages: list[tuple[str, bytes]]
) -> float:
    """Every gateway publishes its messages at QoS 1 in parallel; returns when the broker has
    acknowledged them all (time.perf_counter())."""
    from paho.mqtt.client import Client, MQTTProtocolVersion
    from paho.mqtt.enums import CallbackAPIVersion

    by_node: dict[str, list[bytes]] = {}
    for node, body in messages:
        by_node.setdefault(node, []).append(body)

    def run(node: str, items: list[bytes]) -> None:
        client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"bench-gw-{node}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        client.username_pw_set(*logins[node])
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        infos = [client.publish(f"zenith/{node}/telemetry", body, qos=1) for body in items]
        for info in infos:
            info.wait_for_publish(120)
        client.disconnect()
        client.loop_stop()

    with cf.ThreadPoolExecutor(len(by_node)) as pool:
        list(pool.map(lambda item: run(*item), by_node.items()))
    return time.perf_counter()


def empty_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE telemetry_sample, telemetry_rollup_dirty, telemetry_rollup_1m, telemetry_rollup_1h"
        )


def stored_points() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_sample")
        return int(cursor.fetchone()[0])


def post_http(url: str, token: str, items: list[bytes], clients: int) -> float:
    import httpx

    def worker(chunk: list[bytes]) -> None:
        with httpx.Client(
            base_url=url,
            timeout=120,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ) as client:
            for body in chunk:
                response = client.post("/api/v1/telemetry", content=body)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text[:300]}")

    chunks = [items[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, chunks))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--messages", type=int, default=10_000, help="100 points each")
    parser.add_argument("--gateways", type=int, default=20)
    parser.add_argument("--bridges", type=int, default=2)
    parser.add_argument("--http-clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes for HTTP")
    args = parser.parse_args()
    if args.quick:
        args.messages = 2_000

    setup_django("zenith_bench_mqtt")
    from ops.fleet import services as fleet
    from telemetry.mqtt.credentials import gateway_credentials, write_auth_files

    nodes = [f"node-{i:03d}" for i in range(args.gateways)]
    account = fleet.service_account_get_or_create(name="bench-gateways")
    logins = {}
    for slug in nodes:
        craft = fleet.spacecraft_create(slug=slug, name=slug)
        token = fleet.token_create(
            account=account, name=slug, scopes=["ingest"], spacecraft=[craft]
        )
        login = gateway_credentials(token.token)
        logins[slug] = (login.username, login.password)
    http_token = fleet.token_create(account=account, name="http", scopes=["ingest"]).secret
    points = args.messages * SAMPLES_PER_MESSAGE * len(METRICS)
    mqtt_bodies = bodies(nodes, args.messages, with_node=False)
    http_bodies = [body for _, body in bodies(nodes, args.messages, with_node=True)]

    directory = Path(tempfile.mkdtemp(prefix="zenith-bench-mqtt-"))
    write_auth_files(directory / "auth", topic_filter=TOPIC)
    broker = Mosquitto(directory)
    client_ids = [f"bench-bridge-{i}" for i in range(args.bridges)]
    print(
        f"{args.messages:,} messages x {SAMPLES_PER_MESSAGE * len(METRICS)} points = {points:,} "
        f"points; {args.gateways} gateways, {args.bridges} bridges, QoS 1",
        flush=True,
    )
    rows = []
    try:
        # 1. sustained: publish and drain at once
        bridges = [Bridge(broker, cid) for cid in client_ids]
        wait_online(broker, client_ids)
        started = time.perf_counter()
        published = publish(broker, logins, mqtt_bodies)
        done = wait_stored(bridges, args.messages)
        sustained_s = done - started
        batches = sum(b.stats.get("batches", 0) for b in bridges)
        for bridge in bridges:
            bridge.stop()  # away now: their sessions queue what comes next
        assert stored_points() == points, "sustained phase: not every point stored once"
        print(
            f"sustained: published in {published - started:.1f} s, all stored after "
            f"{sustained_s:.1f} s, {args.messages / max(batches, 1):.0f} messages a commit",
            flush=True,
        )
        empty_tables()

        # 2. backlog: all published while the bridges are away, then drained
        publish(broker, logins, mqtt_bodies)
        started = time.perf_counter()
        bridges = [Bridge(broker, cid) for cid in client_ids]
        done = wait_stored(bridges, args.messages)
        connected = min(b.connected_at or started for b in bridges)
        backlog_s, startup_s = done - connected, connected - started
        for bridge in bridges:
            bridge.stop()
        assert stored_points() == points, "backlog phase: not every point stored once"
        print(f"backlog: drained in {backlog_s:.1f} s once connected ({startup_s:.1f} s start-up)")
        empty_tables()

        # 3. the same points over HTTP
        with Server(workers=args.workers) as server:
            http_s = post_http(server.url, http_token, http_bodies, args.http_clients)
        assert stored_points() == points, "HTTP phase: not every point stored once"
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)

    http_rate = points / http_s
    for name, seconds in (
        (f"MQTT sustained: published and stored, {args.bridges} bridges", sustained_s),
        (f"MQTT {points / 1e6:g} M-point backlog drained once connected", backlog_s),
        (f"HTTP JSON, 100-point requests, {args.http_clients} clients", http_s),
    ):
        rate = points / seconds
        rows.append(
            [name, f"{points:,}", f"{seconds:.1f}", f"{rate:,.0f}", f"{rate / http_rate:.2f}x"]
        )
    print()
    print(table(rows, ["ingest", "points", "seconds", "points/s", "vs HTTP"]))


if __name__ == "__main__":
    main()
