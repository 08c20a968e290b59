"""Live benchmark (make bench): ingest-to-browser latency with many consoles open.

200 nodes each report one sample a second to ``/api/v1/telemetry`` (HTTP JSON through
gateways of 10 nodes a request, ``--per-request``; stamped with the time it is sent) while 50 console sockets, signed in as an operator, receive the
``telemetry.fleet`` events on the Redis channel layer; latency is receipt minus the
sample's time, per node per socket. Baseline, same run: a bare channel-layer group_send
to the same 50 sockets (the transport alone, no HTTP, database or coalescing).

Target (issue 12): p99 under 250 ms.

    .venv/bin/python bench/live.py                 # 200 nodes, 50 sockets, 20 s
    .venv/bin/python bench/live.py --seconds 10 --nodes 100
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from common import Server, percentiles, setup_django, table

logging.getLogger("httpx").setLevel(logging.WARNING)
# This run's nodes (and pings) are told apart from other processes' events by this prefix.
HTTP_TIMES: list[float] = []
PREFIX = f"bench-{os.getpid() % 10000:04d}-"


def seed(nodes: int) -> tuple[str, str]:
    """The nodes, an ingest token and a signed-in operator's session key."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    from ops.fleet import services

    for i in range(nodes):
        services.spacecraft_create(slug=f"{PREFIX}{i + 1:03d}", name=f"LEO {i + 1}")
    account = services.service_account_get_or_create(name="bench-gateway")
    token = services.token_create(account=account, name="ingest", scopes=["ingest"]).secret
    user = get_user_model().objects.create_user("bench-operator", password="bench-password-1")
    user.groups.add(Group.objects.get(name="operator"))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return token, session.session_key


def iso_seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Consoles:
    """``count`` console sockets recording latencies of fleet samples and pings."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.pings: list[float] = []
        self.recording = False
        self.messages = 0

    async def run(self, url: str, origin: str, session_key: str, ready: asyncio.Event) -> None:
        from websockets.asyncio.client import connect

        async with connect(
            url,
            origin=origin,
            additional_headers={"Cookie": f"sessionid={session_key}"},
            max_size=None,
        ) as ws:
            hello = orjson.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            ready.set()
            async for raw in ws:
                now = time.time()
                message = orjson.loads(raw)
                self.messages += 1
                if not self.recording:
                    continue
                if message["type"] == "telemetry.fleet":
                    for slug, metrics in message["nodes"].items():
                        pair = metrics.get("gpu_temp_c")
                        # Redis pub/sub channels are server-wide (whatever the database
                        # number): other Zenith processes on this Redis publish here too.
                        if pair and slug.startswith(PREFIX):
                            self.samples.append(now - iso_seconds(pair[0]))

                elif message["type"] == "bench.ping" and message.get("run") == PREFIX:
                    self.pings.append(now - message["t"])


async def ingest(
    base: str, token: str, nodes: int, per_request: int, seconds: float, sent: list[int]
) -> None:
    """Every node reports once a second through a gateway posting ``per_request`` nodes'
    samples in one request (as station gateways batch); gateways spread over the second."""
    import httpx

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    slugs = [f"{PREFIX}{i + 1:03d}" for i in range(nodes)]
    gateways = [slugs[g : g + per_request] for g in range(0, nodes, per_request)]
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}"}
        started = time.monotonic()
        pending: set[asyncio.Task[Any]] = set()

        async def post(batch: list[str], k: int) -> None:
            ts = datetime.now(UTC).isoformat()
            body = {
                "samples": [
                    {
                        "node": slug,
                        "ts": ts,
                        "metrics": {"gpu_temp_c": 50.0 + k % 30, "battery_soc": 0.8},
                    }
                    for slug in batch
                ]
            }
            began = time.monotonic()
            try:
                response = await client.post("/api/v1/telemetry", json=body, headers=headers)
            except httpx.HTTPError:
                sent[1] += len(batch)
                return
            HTTP_TIMES.append(time.monotonic() - began)
            sent[0 if response.status_code == 200 else 1] += len(batch)

        k = 0
        while time.monotonic() - started < seconds:
            for g, batch in enumerate(gateways):
                delay = started + k + g / len(gateways) - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(post(batch, k))
                pending.add(task)
                task.add_done_callback(pending.discard)
            k += 1
        if pending:
            await asyncio.wait(pending)


async def pings(seconds: float, hz: float = 4.0) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer is not None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await layer.group_send(
            "console.fleet",
            {
                "type": "console.event",
                "payload": {"type": "bench.ping", "run": PREFIX, "t": time.time()},
            },
        )
        await asyncio.sleep(1 / hz)


async def measure(args: argparse.Namespace, base: str, token: str, session_key: str) -> Consoles:
    consoles = Consoles()
    url = base.replace("http://", "ws://") + "/ws/console/"
    readies = [asyncio.Event() for _ in range(args.sockets)]
    tasks = [asyncio.create_task(consoles.run(url, base, session_key, ready)) for ready in readies]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=30)
    sent = [0, 0]
    # Baseline: the channel layer alone, to the same sockets.
    consoles.recording = True
    await pings(args.baseline_seconds)
    await asyncio.sleep(0.5)
    baseline = list(consoles.pings)
    consoles.recording = False
    warm = asyncio.create_task(
        ingest(base, token, args.nodes, args.per_request, args.warmup + args.seconds, sent)
    )
    await asyncio.sleep(args.warmup)
    consoles.recording = True
    await warm
    await asyncio.sleep(1.0)
    consoles.recording = False
    consoles.pings = baseline
    consoles.sent = sent  # type: ignore[attr-defined]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return consoles


class PrivateRedis:
    """A throwaway redis-server on a free port: Redis pub/sub channels are server-wide
    (database numbers do not separate them), so on a shared Redis other Zenith processes'
    live events would reach these sockets and be measured with them."""

    def __init__(self) -> None:
        import shutil
        import socket

        self.binary = shutil.which("redis-server")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str | None:
        if self.binary is None:
            return None
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(50):
            try:
                client.ping()
                return f"redis://127.0.0.1:{self.port}/0"
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument(
        "--per-request",
        type=int,
        default=10,
        help="nodes per gateway request (1: a request per node)",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--baseline-seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--live-hz",
        type=float,
        default=None,
        help="ZENITH_LIVE_HZ for the server (flushes a second per key; unset: the default)",
    )
    args = parser.parse_args()
    with PrivateRedis() as private:
        if private:
            os.environ["REDIS_URL"] = private
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
        setup_django("zenith_bench_live")
        token, session_key = seed(args.nodes)
        env = {"ZENITH_LIVE_HZ": str(args.live_hz)} if args.live_hz else {}
        with Server(workers=args.workers, env=env) as server:
            consoles = asyncio.run(measure(args, server.url, token, session_key))
    print(f"channel layer: {'a private redis-server' if private else os.environ['REDIS_URL']}")
    ok, failed = consoles.sent  # type: ignore[attr-defined]
    p50, p99 = percentiles(consoles.samples)
    b50, b99 = percentiles(consoles.pings)
    expected = args.nodes * args.seconds * args.sockets
    print(
        f"\nlive: {args.nodes} nodes at 1 Hz over HTTP, {args.per_request} nodes a request "
        f"({ok} samples acknowledged, {failed} refused or timed out, "
        f"{ok / (args.seconds + args.warmup):.0f}/s), {args.sockets} console sockets, "
        f"{args.workers} server workers, Redis pub/sub channel layer, "
        f"ZENITH_LIVE_HZ={args.live_hz or 'default (4)'}"
    )
    rows = [
        ["ingest to browser", f"{p50 * 1000:.0f}", f"{p99 * 1000:.0f}", f"{len(consoles.samples)}"],
        [
            "  of which the HTTP request",
            f"{percentiles(HTTP_TIMES)[0] * 1000:.0f}",
            f"{percentiles(HTTP_TIMES)[1] * 1000:.0f}",
            f"{len(HTTP_TIMES)}",
        ],
        [
            "channel layer alone (baseline)",
            f"{b50 * 1000:.1f}",
            f"{b99 * 1000:.1f}",
            f"{len(consoles.pings)}",
        ],
        ["ratio", f"{p50 / b50:.1f}", f"{p99 / b99:.1f}", ""],
    ]
    print(table(rows, ["path", "p50 ms", "p99 ms", "deliveries"]))
    print(
        f"samples seen by the sockets: {len(consoles.samples) / expected:.1%} of "
        f"{args.nodes} nodes x {args.seconds:.0f} s x {args.sockets} sockets "
        "(events coalesce per node: several samples of one node between two flushes show as one)"
    )
    print(f"target: p99 < 250 ms: {'met' if p99 < 0.250 else 'MISSED'} ({p99 * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
