"""Local receivers for notification tests: a webhook endpoint (threaded HTTP server on
127.0.0.1) that records what it got and can be down, slow or hung, and a real SMTP server
process (aiosmtpd) writing into a Maildir."""

from __future__ import annotations

import mailbox
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from ops.alerts.transports import webhook


@dataclass
class Received:
    delivery: int
    timestamp: str
    signature: str
    body: dict[str, Any]
    valid: bool
    at: float


@dataclass
class Webhook:
    """``mode``: "ok" (200), "down" (503) or "hang" (wait for ``release``); ``delay_s``
    slows every answer. ``answered`` holds what was answered 200, ``arrived`` everything."""

    secret: str = "s3cret-hmac-key"
    mode: str = "ok"
    delay_s: float = 0.0
    arrived: list[Received] = field(default_factory=list)
    answered: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Webhook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                stamp = self.headers.get("X-Zenith-Timestamp", "")
                sig = self.headers.get("X-Zenith-Signature", "")
                got = Received(
                    delivery=int(self.headers.get("X-Zenith-Delivery", "0")),
                    timestamp=stamp,
                    signature=sig,
                    body=orjson.loads(raw),
                    valid=webhook.verify(
                        hook.secret, timestamp=stamp, body=raw, signature_header=sig
                    ),
                    at=time.monotonic(),
                )
                with hook.lock:
                    hook.arrived.append(got)
                    mode = hook.mode
                if mode == "hang":
                    hook.release.wait(60)
                    self.close_connection = True
                    return
                if hook.delay_s:
                    time.sleep(hook.delay_s)
                if mode == "down":
                    self.send_response(503)
                    self.end_headers()
                    return
                with hook.lock:
                    hook.answered.append(got)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, count: int, timeout_s: float) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.answered) >= count:
                    return list(self.answered)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhook calls, got {len(self.answered)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """``python -m aiosmtpd`` as its own process, storing mail in a Maildir."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.maildir = folder / "maildir"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{self.port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(self.maildir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("aiosmtpd did not start")

    def messages(self) -> list[Message]:
        if not self.maildir.exists():
            return []
        return list(mailbox.Maildir(str(self.maildir), create=False))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
