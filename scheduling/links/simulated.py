"""A simulated radio link and the node storage behind it (the one fake Zenith allows).

It behaves like a link: each direction transmits at the contact's rate (times
``rate_factor``) and a call blocks for the transmission; frames are lost with
probability ``loss`` (the sender waits ``ack_timeout_s`` for an acknowledgement that
never comes), bits flip with probability ``bit_error_rate`` each (a corrupted frame
fails its checksum at the receiver), the link is down during outages (fixed offsets
into every contact, ``outages``, and random ones, ``outage_rate_per_hour`` of mean
``outage_mean_s``), before ``acquire_s`` after AOS and after LOS. Random draws come
from ``seed`` and the contact id, so a contact replays the same way.

``corrupt`` and ``drop`` script faults for tests and drills: ``[name, chunk, attempt]``
corrupts (or drops) the ``attempt``-th transmission (1-based, counted per session) of
chunk ``chunk`` of the transfer named ``name``.

The node side keeps files under ``storage_dir/<spacecraft>/``: uploads assemble in
``inbox/<name>.part`` and become ``inbox/<name>`` once verified; downlinks are read from
``outbox/<name>``. It persists across contacts and stations, like a spacecraft's disk.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scheduling.links import chunks
from scheduling.links.base import (
    Ack,
    ChunkLost,
    Direction,
    DownRequest,
    Frame,
    LinkDown,
    LinkRequest,
    RemoteError,
    UpChunk,
)

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class SimOptions:
    storage_dir: Path
    loss: float = 0.0
    bit_error_rate: float = 0.0
    rate_factor: float = 1.0
    ack_timeout_s: float = 0.5
    acquire_s: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    outage_rate_per_hour: float = 0.0
    outage_mean_s: float = 30.0
    seed: int = 0
    corrupt: tuple[tuple[str, int, int], ...] = ()
    drop: tuple[tuple[str, int, int], ...] = ()

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, default_dir: Path) -> SimOptions:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown simulated-link options: {', '.join(sorted(unknown))}")

        def triples(key: str) -> tuple[tuple[str, int, int], ...]:
            return tuple((str(n), int(c), int(a)) for n, c, a in values.get(key, ()))

        opts = cls(
            storage_dir=Path(values.get("storage_dir") or default_dir),
            loss=float(values.get("loss", 0.0)),
            bit_error_rate=float(values.get("bit_error_rate", 0.0)),
            rate_factor=float(values.get("rate_factor", 1.0)),
            ack_timeout_s=float(values.get("ack_timeout_s", 0.5)),
            acquire_s=float(values.get("acquire_s", 0.0)),
            outages=tuple((float(a), float(b)) for a, b in values.get("outages", ())),
            outage_rate_per_hour=float(values.get("outage_rate_per_hour", 0.0)),
            outage_mean_s=float(values.get("outage_mean_s", 30.0)),
            seed=int(values.get("seed", 0)),
            corrupt=triples("corrupt"),
            drop=triples("drop"),
        )
        if not (0.0 <= opts.loss < 1.0 and 0.0 <= opts.bit_error_rate < 1.0):
            raise ValueError("loss and bit_error_rate must lie in [0, 1)")
        if not 0.0 < opts.rate_factor <= 1.0:
            raise ValueError("rate_factor must lie in (0, 1]")
        return opts


@dataclass
class _Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    values: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, amount: float = 1.0) -> None:
        with self.lock:
            self.values[key] = self.values.get(key, 0.0) + amount


class SimulatedSession:
    def __init__(
        self,
        options: SimOptions,
        request: LinkRequest,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.o = options
        self.r = request
        self.clock = clock
        self.sleep = sleep
        self.node = options.storage_dir / request.spacecraft
        self.stats_ = _Stats()
        self.rng = {
            d: random.Random(f"{options.seed}:{request.contact_id}:{d}") for d in ("up", "down")
        }
        self.busy_until = {"up": 0.0, "down": 0.0}
        self.attempts: dict[tuple[str, int], int] = {}
        self.attempts_lock = threading.Lock()
        self.outages = self._outages()
        self.closed = False

    # --- the radio ---------------------------------------------------------------------

    def _outages(self) -> list[tuple[float, float]]:
        spans = [(self.r.start_s + a, self.r.start_s + a + d) for a, d in self.o.outages]
        if self.o.outage_rate_per_hour > 0.0:
            rng = random.Random(f"{self.o.seed}:{self.r.contact_id}:outages")
            t = self.r.start_s
            rate_per_s = self.o.outage_rate_per_hour / 3600.0
            while True:
                t += rng.expovariate(rate_per_s)
                if t >= self.r.end_s:
                    break
                length = rng.expovariate(1.0 / self.o.outage_mean_s)
                spans.append((t, t + length))
                t += length
        return sorted(spans)

    def _down_reason(self, t: float) -> tuple[str, float] | None:
        """Why the link is down at ``t`` and until when, or None when it is up."""
        if self.closed:
            return "session closed", math.inf
        if t < self.r.start_s + self.o.acquire_s:
            return "not acquired yet", self.r.start_s + self.o.acquire_s
        if t >= self.r.end_s:
            return "after LOS", math.inf
        for a, b in self.outages:
            if a <= t < b:
                return "outage", b
        return None

    def _transmit(self, direction: Direction, size: int) -> None:
        """Hold the carrier for ``size`` bytes; raise when the link drops meanwhile."""
        rate = self.r.up_bytes_per_s if direction == "up" else self.r.down_bytes_per_s
        rate *= self.o.rate_factor
        now = self.clock()
        down = self._down_reason(now)
        if down is not None:
            reason, until = down
            self.stats_.add(f"{direction}_link_down_calls")
            self.sleep(max(0.0, min(until, self.r.end_s, now + 0.5) - now))
            raise LinkDown(reason)
        begin = max(now, self.busy_until[direction])
        finish = begin + size / rate
        self.busy_until[direction] = finish
        cut = min(
            [a for a, b in self.outages if begin < a < finish] + [self.r.end_s], default=finish
        )
        if cut < finish:
            self.sleep(max(0.0, cut - now))
            self.stats_.add(f"{direction}_frames_cut")
            raise LinkDown("outage" if cut < self.r.end_s else "after LOS")
        self.sleep(max(0.0, finish - now))
        self.stats_.add(f"{direction}_bytes", size)
        self.stats_.add(f"{direction}_frames")

    def _attempt(self, name: str, index: int) -> int:
        with self.attempts_lock:
            n = self.attempts.get((name, index), 0) + 1
            self.attempts[(name, index)] = n
            return n

    def _fate(self, direction: Direction, name: str, index: int, size: int) -> str:
        """ "ok", "lost" or "corrupt" for this transmission."""
        n = self._attempt(name, index)
        if (name, index, n) in self.o.drop:
            return "lost"
        if (name, index, n) in self.o.corrupt:
            return "corrupt"
        rng = self.rng[direction]
        if self.o.loss and rng.random() < self.o.loss:
            return "lost"
        if self.o.bit_error_rate:
            p_clean = math.exp(8 * size * math.log1p(-self.o.bit_error_rate))
            if rng.random() >= p_clean:
                return "corrupt"
        return "ok"

    def _lose(self, direction: Direction) -> None:
        self.stats_.add(f"{direction}_frames_lost")
        self.sleep(self.o.ack_timeout_s)
        raise ChunkLost("no acknowledgement before the timeout")

    @staticmethod
    def _flip(data: bytes, rng: random.Random) -> bytes:
        buf = bytearray(data)
        if buf:
            at = rng.randrange(len(buf))
            buf[at] ^= 1 << rng.randrange(8)
        return bytes(buf)

    # --- the session ---------------------------------------------------------------------

    def send_chunk(self, chunk: UpChunk) -> Ack:
        if not chunks.valid_name(chunk.name):
            raise RemoteError(f"bad file name {chunk.name!r}")
        self._transmit("up", len(chunk.data))
        fate = self._fate("up", chunk.name, chunk.index, len(chunk.data))
        if fate == "lost":
            self._lose("up")
        data = chunk.data
        if fate == "corrupt":
            data = self._flip(data, self.rng["up"])
            self.stats_.add("up_frames_corrupted")
        seen = hashlib.sha256(data).hexdigest()
        if seen != chunk.sha256:
            return Ack(ok=False, sha256=seen, detail="checksum mismatch: frame discarded")
        chunks.write_at(self._part(chunk.name), chunk.offset, data)
        return Ack(ok=True, sha256=seen)

    def verify_upload(self, *, transfer_id: int, name: str, size: int, sha256: str) -> str:
        self._transmit("up", 64)  # the request and its answer are small frames
        part = self._part(name)
        done = self.node / "inbox" / name
        if not part.exists():
            # Asked again (another radio, a runner that died after asking): the answer
            # is the same for the file already in place.
            return chunks.file_sha256(done) if done.is_file() else ""
        with part.open("rb+") as f:
            f.truncate(size)
        seen = chunks.file_sha256(part)
        if seen == sha256:
            part.replace(done)
        return seen

    def receive_chunk(self, request: DownRequest) -> Frame:
        source = self.node / "outbox" / request.name
        if not chunks.valid_name(request.name) or not source.is_file():
            raise RemoteError(f"{self.r.spacecraft} holds no file {request.name!r}")
        data = chunks.read_at(source, request.offset, request.size)
        if len(data) != request.size:
            raise RemoteError(f"{request.name!r} is shorter than expected")
        header = hashlib.sha256(data).hexdigest()
        self._transmit("down", len(data))
        fate = self._fate("down", request.name, request.index, len(data))
        if fate == "lost":
            self._lose("down")
        if fate == "corrupt":
            data = self._flip(data, self.rng["down"])
            self.stats_.add("down_frames_corrupted")
        return Frame(data=data, sha256=header)

    def stats(self) -> dict[str, float]:
        with self.stats_.lock:
            return dict(self.stats_.values)

    def close(self) -> None:
        self.closed = True

    def _part(self, name: str) -> Path:
        return self.node / "inbox" / f"{name}.part"


class SimulatedLinkDriver:
    def __init__(
        self, options: SimOptions, *, clock: Clock = time.time, sleep: Sleep = time.sleep
    ) -> None:
        self.options = options
        self.clock = clock
        self.sleep = sleep

    def open(self, request: LinkRequest) -> SimulatedSession:
        return SimulatedSession(self.options, request, clock=self.clock, sleep=self.sleep)
