"""The simulated radio: rate, loss, bit errors, outages, LOS, and the node's storage.

A virtual clock stands in for the wall clock here (the simulator takes one), so a
contact's worth of transmissions runs in no time and the timings are exact.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scheduling.links import (
    ChunkLost,
    DownRequest,
    LinkDown,
    LinkRequest,
    RemoteError,
    SimOptions,
    UpChunk,
    load_driver,
)
from scheduling.links.simulated import SimulatedLinkDriver, SimulatedSession


class VirtualClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.t += seconds


def session(tmp_path: Path, clock: VirtualClock, **options: object) -> SimulatedSession:
    opts = SimOptions.from_dict({"storage_dir": str(tmp_path), **options}, default_dir=tmp_path)
    driver = SimulatedLinkDriver(opts, clock=clock, sleep=clock.sleep)
    return driver.open(
        LinkRequest(
            contact_id=7,
            spacecraft="leo-001",
            station="svalbard",
            start_s=1000.0,
            end_s=1100.0,
            up_bytes_per_s=1000.0,
            down_bytes_per_s=4000.0,
        )
    )


def up_chunk(index: int, data: bytes, name: str = "w.bin") -> UpChunk:
    return UpChunk(1, name, index, index * len(data), data, hashlib.sha256(data).hexdigest(), 0)


def test_each_direction_runs_at_its_rate(tmp_path: Path) -> None:
    clock = VirtualClock(1000.0)
    s = session(tmp_path, clock)
    for i in range(5):
        assert s.send_chunk(up_chunk(i, bytes([i]) * 2000)).ok
    assert clock.t == pytest.approx(1010.0)  # 10 kB at 1 kB/s
    (tmp_path / "leo-001" / "outbox").mkdir(parents=True)
    (tmp_path / "leo-001" / "outbox" / "r.bin").write_bytes(b"x" * 8000)
    frame = s.receive_chunk(DownRequest(2, "r.bin", 0, 0, 8000))
    assert frame.data == b"x" * 8000 and clock.t == pytest.approx(1012.0)
    assert s.stats()["up_bytes"] == 10_000 and s.stats()["down_frames"] == 1


def test_uploads_assemble_on_the_node_and_verify_whole(tmp_path: Path) -> None:
    clock = VirtualClock(1000.0)
    s = session(tmp_path, clock)
    data = bytes(range(256)) * 12
    pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    for i in reversed(range(len(pieces))):  # any order: written at their offsets
        ack = s.send_chunk(
            UpChunk(
                1, "w.bin", i, i * 1000, pieces[i], hashlib.sha256(pieces[i]).hexdigest(), len(data)
            )
        )
        assert ack.ok and ack.sha256 == hashlib.sha256(pieces[i]).hexdigest()
    whole = hashlib.sha256(data).hexdigest()
    assert s.verify_upload(transfer_id=1, name="w.bin", size=len(data), sha256=whole) == whole
    assert (tmp_path / "leo-001" / "inbox" / "w.bin").read_bytes() == data
    assert not (tmp_path / "leo-001" / "inbox" / "w.bin.part").exists()


def test_a_scripted_corruption_is_refused_by_the_node_then_resent(tmp_path: Path) -> None:
    clock = VirtualClock(1000.0)
    s = session(tmp_path, clock, corrupt=[["w.bin", 0, 1]])
    good = b"a" * 1000
    first = s.send_chunk(up_chunk(0, good))
    assert not first.ok and first.sha256 != hashlib.sha256(good).hexdigest()
    assert not (tmp_path / "leo-001" / "inbox" / "w.bin.part").exists(), "bad data not stored"
    second = s.send_chunk(up_chunk(0, good))
    assert second.ok and (tmp_path / "leo-001" / "inbox" / "w.bin.part").read_bytes() == good
    assert s.stats()["up_frames_corrupted"] == 1


def test_random_loss_and_bit_errors_happen_at_their_rates(tmp_path: Path) -> None:
    clock = VirtualClock(1000.0)
    # 50 bytes/chunk, BER 1e-3: P(corrupt) = 1 - (1-1e-3)^400 = 33%; loss 20%.
    s = session(tmp_path, clock, loss=0.2, bit_error_rate=1e-3, ack_timeout_s=0.0, seed=3)
    lost = corrupt = ok = 0
    for i in range(1000):
        try:
            ack = s.send_chunk(up_chunk(i, b"z" * 50))
        except ChunkLost:
            lost += 1
            continue
        ok += ack.ok
        corrupt += not ack.ok
    assert 160 <= lost <= 240
    assert 0.28 <= corrupt / (1000 - lost) <= 0.38
    assert ok == 1000 - lost - corrupt


def test_outages_and_los_take_the_link_down(tmp_path: Path) -> None:
    clock = VirtualClock(1000.0)
    s = session(tmp_path, clock, outages=[[10.0, 5.0]], acquire_s=2.0)
    with pytest.raises(LinkDown, match="not acquired"):
        s.send_chunk(up_chunk(0, b"q" * 100))
    clock.t = 1009.5
    with pytest.raises(LinkDown, match="outage"):
        s.send_chunk(up_chunk(0, b"q" * 1000))  # cut at 1010 by the outage
    assert clock.t == pytest.approx(1010.0)
    with pytest.raises(LinkDown, match="outage"):
        s.send_chunk(up_chunk(0, b"q" * 100))
    clock.t = 1015.0
    assert s.send_chunk(up_chunk(0, b"q" * 100)).ok
    clock.t = 1099.5
    with pytest.raises(LinkDown, match="after LOS"):
        s.send_chunk(up_chunk(1, b"q" * 1000))
    with pytest.raises(LinkDown, match="after LOS"):
        s.send_chunk(up_chunk(1, b"q" * 10))


def test_random_outages_are_reproducible_per_contact(tmp_path: Path) -> None:
    a = session(tmp_path, VirtualClock(1000.0), outage_rate_per_hour=200, outage_mean_s=3, seed=9)
    b = session(tmp_path, VirtualClock(1000.0), outage_rate_per_hour=200, outage_mean_s=3, seed=9)
    assert a.outages == b.outages and len(a.outages) >= 1
    assert all(1000.0 <= s0 < 1100.0 and e0 > s0 for s0, e0 in a.outages)


def test_downlink_corruption_shows_in_the_frame_checksum(tmp_path: Path) -> None:
    clock = VirtualClock(1000.0)
    s = session(tmp_path, clock, corrupt=[["r.bin", 1, 1]])
    outbox = tmp_path / "leo-001" / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "r.bin").write_bytes(b"0123456789" * 100)
    ok = s.receive_chunk(DownRequest(2, "r.bin", 0, 0, 500))
    assert hashlib.sha256(ok.data).hexdigest() == ok.sha256
    bad = s.receive_chunk(DownRequest(2, "r.bin", 1, 500, 500))
    assert hashlib.sha256(bad.data).hexdigest() != bad.sha256
    with pytest.raises(RemoteError, match="holds no file"):
        s.receive_chunk(DownRequest(3, "missing.bin", 0, 0, 10))


def test_options_are_checked_and_the_driver_is_loaded_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown simulated-link options: lose"):
        SimOptions.from_dict({"lose": 0.1}, default_dir=tmp_path)
    with pytest.raises(ValueError, match="loss"):
        SimOptions.from_dict({"loss": 1.5}, default_dir=tmp_path)
    driver = load_driver("simulated", {"loss": 0.1}, default_dir=tmp_path)
    assert isinstance(driver, SimulatedLinkDriver) and driver.options.loss == 0.1
    with pytest.raises(ValueError, match="module:factory"):
        load_driver("nonsense", {}, default_dir=tmp_path)


def test_asking_again_for_a_verified_upload_gives_the_same_answer(tmp_path: Path) -> None:
    s = session(tmp_path, VirtualClock(1000.0))
    data = b"k" * 1000
    assert s.send_chunk(up_chunk(0, data)).ok
    whole = hashlib.sha256(data).hexdigest()
    assert s.verify_upload(transfer_id=1, name="w.bin", size=1000, sha256=whole) == whole
    assert s.verify_upload(transfer_id=1, name="w.bin", size=1000, sha256=whole) == whole
    assert s.verify_upload(transfer_id=1, name="nope.bin", size=1, sha256=whole) == ""
