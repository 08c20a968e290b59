"""A simulated fleet's node health at 1 Hz, with the value patterns of real telemetry, and
the fastest way to load it (binary COPY built by numpy, no per-row Python).

Per node, 30 metrics in five patterns (deterministic from the node index):

- drift (16): slow analog signals quantised as their sensors report them: 12 GPU and one
  CPU temperature in whole degC, battery and radiator temperature to 0.1 degC, battery
  state of charge to 0.001; an orbital cycle (95 min, 35 min of eclipse) plus a random walk.
- counter (4): ECC corrected/uncorrected, XID errors, single-event upsets: rare increments
  (Poisson), and every counter of a node restarts from 0 when it reboots (a third of the
  nodes reboot once a day, at a random second).
- flag (4): eclipse, in_contact (six 10-minute passes a day), heater_on (a thermostat with
  hysteresis), safe_mode (0 all day but for an hour on one node in ten).
- noisy (4): solar input, power draw and GPU power to 0.1 W, link SNR to 0.1 dB: every
  sample differs from the last.
- step (2): storage used in bytes (writes of 4 KiB blocks now and then) and the link rate
  (0 outside contacts, one of three rates in them).

Values are what a decimal reading parses to (``round(x * 10**d) / 10**d``: the nearest
double to the decimal), never dyadic shortcuts. Timestamps are whole seconds, as Telegraf
sends them (``precision = "1s"``); ``jitter_ms`` adds a per-sample clock jitter instead.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

ORBIT_S = 95 * 60
ECLIPSE_S = 35 * 60
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    pattern: str  # drift | counter | flag | noisy | step
    kind: str  # gauge | counter


METRICS: list[MetricSpec] = [MetricSpec(f"gpu{i}_temp_c", "drift", "gauge") for i in range(12)] + [
    MetricSpec("cpu_temp_c", "drift", "gauge"),
    MetricSpec("battery_temp_c", "drift", "gauge"),
    MetricSpec("radiator_temp_c", "drift", "gauge"),
    MetricSpec("battery_soc", "drift", "gauge"),
    MetricSpec("ecc_errors_total", "counter", "counter"),
    MetricSpec("ecc_uncorrected_total", "counter", "counter"),
    MetricSpec("xid_errors_total", "counter", "counter"),
    MetricSpec("seu_total", "counter", "counter"),
    MetricSpec("eclipse", "flag", "gauge"),
    MetricSpec("in_contact", "flag", "gauge"),
    MetricSpec("heater_on", "flag", "gauge"),
    MetricSpec("safe_mode", "flag", "gauge"),
    MetricSpec("power_in_w", "noisy", "gauge"),
    MetricSpec("power_draw_w", "noisy", "gauge"),
    MetricSpec("gpu_power_w", "noisy", "gauge"),
    MetricSpec("link_snr_db", "noisy", "gauge"),
    MetricSpec("storage_used_bytes", "step", "gauge"),
    MetricSpec("link_rate_bps", "step", "gauge"),
]
PATTERNS = ("drift", "counter", "flag", "noisy", "step")
assert len(METRICS) == 30


def _q(x: np.ndarray, decimals: int) -> np.ndarray:
    scale = 10.0**decimals
    return np.round(x * scale) / scale


def _walk(rng: np.random.Generator, n: int, sd: float, pull: float = 1e-3) -> np.ndarray:
    """A mean-reverting random walk, x[k] = (1 - pull) x[k-1] + N(0, sd), at 1 Hz: per block
    of 256 samples in closed form, x[k] = a^k (x0 + sum_j a^-j s[j])."""
    steps = rng.normal(0.0, sd, n)
    a = 1.0 - pull
    block = 256
    powers = a ** np.arange(1, block + 1)
    out = np.empty(n)
    x0 = 0.0
    for i in range(0, n, block):
        s = steps[i : i + block]
        p = powers[: len(s)]
        out[i : i + len(s)] = p * (x0 + np.cumsum(s / p))
        x0 = out[i + len(s) - 1]
    return out


def node_series(node: int, start_s: int, seconds: int) -> dict[str, np.ndarray]:
    """Values of every metric of one node for ``seconds`` seconds from ``start_s`` (Unix)."""
    rng = np.random.default_rng(node * 7919 + start_s % 100_003)
    t = np.arange(start_s, start_s + seconds, dtype=np.int64)
    phase = ((t + node * 97) % ORBIT_S) / ORBIT_S
    eclipse = (phase >= 1 - ECLIPSE_S / ORBIT_S).astype(np.float64)
    sun = np.sin(2 * np.pi * phase)
    day = 86_400
    contact = np.zeros(seconds)
    for k in range(6):
        begin = (node * 613 + k * day // 6) % day
        contact[((t % day) >= begin) & ((t % day) < begin + 600)] = 1.0
    out: dict[str, np.ndarray] = {}
    load = 0.5 + 0.3 * np.sin(2 * np.pi * (t % 7200) / 7200 + node)
    for i in range(12):
        # Load-driven jitter of about 1 degC (correlation time ~50 s) on the orbital cycle.
        noise = _walk(rng, seconds, 0.25, pull=0.02)
        out[f"gpu{i}_temp_c"] = _q(55 + 6 * sun + 8 * load + noise + i, 0)
    out["cpu_temp_c"] = _q(48 + 5 * sun + 6 * load + _walk(rng, seconds, 0.25, pull=0.02), 0)
    out["battery_temp_c"] = _q(18 + 2 * sun + _walk(rng, seconds, 0.01), 1)
    out["radiator_temp_c"] = _q(-10 + 15 * sun + _walk(rng, seconds, 0.02), 1)
    out["battery_soc"] = _q(np.clip(0.8 + 0.12 * np.sin(2 * np.pi * phase - 1.2), 0, 1), 3)
    reboot = int(rng.integers(0, seconds)) if node % 3 == 0 else -1
    for name, rate in (
        ("ecc_errors_total", 1 / 600),
        ("ecc_uncorrected_total", 1 / 50_000),
        ("xid_errors_total", 1 / 7200),
        ("seu_total", 1 / 3600),
    ):
        hits = (rng.random(seconds) < rate).astype(np.float64)
        count = np.cumsum(hits) + (1000.0 * (node % 50) if name == "ecc_errors_total" else 0.0)
        if reboot >= 0:
            count[reboot:] = np.cumsum(hits[reboot:])  # restarts from 0 at the reboot
        out[name] = count
    out["eclipse"] = eclipse
    out["in_contact"] = contact
    temp = out["battery_temp_c"]
    # Thermostat with hysteresis: on below 16.5 degC, off above 17.5 degC, else unchanged
    # (the last decision carried forward).
    decided = np.full(seconds, np.nan)
    decided[temp > 17.5] = 0.0
    decided[temp < 16.5] = 1.0
    last = np.where(np.isnan(decided), 0, np.arange(seconds))
    np.maximum.accumulate(last, out=last)
    heater = np.nan_to_num(decided[last], nan=0.0)
    out["heater_on"] = heater
    safe = np.zeros(seconds)
    if node % 10 == 7:
        safe[seconds // 2 : seconds // 2 + 3600] = 1.0
    out["safe_mode"] = safe
    # A current sensor reads ~0 in eclipse (noise clipped at 0), 400 W +- noise in the sun.
    solar = (1 - eclipse) * (400 + 20 * sun) + rng.normal(0, 2, seconds)
    out["power_in_w"] = _q(np.maximum(solar, 0.0), 1)
    out["power_draw_w"] = _q(250 + 100 * load + rng.normal(0, 3, seconds), 1)
    out["gpu_power_w"] = _q(180 + 120 * load + rng.normal(0, 5, seconds), 1)
    out["link_snr_db"] = _q(12 + 3 * contact + rng.normal(0, 0.5, seconds), 1)
    writes = (rng.random(seconds) < 0.2) * rng.integers(1, 64, seconds) * 4096
    out["storage_used_bytes"] = 2.0e11 + node * 1e6 + np.cumsum(writes).astype(np.float64)
    levels = np.array([2e6, 5e6, 1e7])
    out["link_rate_bps"] = contact * levels[(t // 300 + node) % 3]
    return out


_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("len_t", ">i4"),
        ("time", ">i8"),
        ("len_n", ">i4"),
        ("node", ">i4"),
        ("len_m", ">i4"),
        ("metric", ">i4"),
        ("len_v", ">i4"),
        ("value", ">f8"),
    ]
)
COPY_SQL = "COPY telemetry_sample (time, node_id, metric_id, value) FROM STDIN (FORMAT BINARY)"
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)


def copy_rows(
    node_id: int,
    metric_ids: dict[str, int],
    series: dict[str, np.ndarray],
    start_s: int,
    *,
    jitter_ms: int = 0,
    seed: int = 0,
    step: int = 1,
) -> bytes:
    """Binary COPY rows (without header/trailer) for one node's series, metric by metric,
    one sample every ``step`` seconds from ``start_s``."""
    n = len(next(iter(series.values())))
    seconds = start_s + step * np.arange(n, dtype=np.int64)
    micros = (seconds - int(PG_EPOCH.timestamp())) * 1_000_000
    if jitter_ms:
        rng = np.random.default_rng(seed)
        micros = micros + rng.integers(0, jitter_ms * 1000, n)
    parts = []
    for name, values in series.items():
        rows = np.empty(n, dtype=_ROW)
        rows["fields"] = 4
        rows["len_t"] = 8
        rows["time"] = micros
        rows["len_n"] = 4
        rows["node"] = node_id
        rows["len_m"] = 4
        rows["metric"] = metric_ids[name]
        rows["len_v"] = 8
        rows["value"] = values
        parts.append(rows.tobytes())
    return b"".join(parts)


def chunks_of(data: bytes, size: int = 8 << 20) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(view), size):
        yield view[i : i + size].tobytes()


def pad_chunks(url: str, end: datetime, days: int) -> None:
    """One row (node 0, no such spacecraft) in each 6 h chunk of the ``days`` before ``end``:
    a retention window's worth of chunks (35 days: 140), as the hypertable has in service.
    Chunk exclusion costs per chunk, so queries and rollups are measured against them."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO telemetry_sample (time, node_id, metric_id, value) "
            "SELECT t, 0, 0, 0 FROM generate_series(%s::timestamptz - %s * interval '1 day', "
            "%s::timestamptz - interval '6 hours', interval '6 hours') t",
            [end, days, end],
        )
