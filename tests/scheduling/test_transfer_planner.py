"""The pure transfer planner: order, whole chunks, ETAs, deadline risk."""

from __future__ import annotations

import math

from scheduling.planners.transfers import LinkWindow, QueuedTransfer, plan_transfers

KB = 1000


def window(
    key: str, start: float, end: float, up: float = 1 * KB, down: float = 4 * KB
) -> LinkWindow:
    return LinkWindow(key, "sc", start, end, up, down)


def queued(
    key: str,
    chunks: int,
    *,
    chunk: int = 10 * KB,
    last: int | None = None,
    deadline: float = math.inf,
    priority: int = 5,
    direction: str = "up",
    created: float = 0.0,
) -> QueuedTransfer:
    return QueuedTransfer(
        key=key,
        spacecraft="sc",
        direction=direction,  # type: ignore[arg-type]
        pending_chunks=chunks,
        chunk_bytes=chunk,
        last_chunk_bytes=last if last is not None else chunk,
        last_chunk_pending=True,
        priority=priority,
        deadline_s=deadline,
        created_s=created,
    )


def test_deadlines_go_first_and_etas_follow_the_fill() -> None:
    # Two contacts of 100 s at 1 kB/s up: 10 chunks of 10 kB each.
    windows = [window("c1", 1000, 1100), window("c2", 2000, 2100)]
    late = queued("late", 8, deadline=5000)
    early = queued("early", 6, deadline=1500, created=1.0)
    out = plan_transfers(transfers=[late, early], windows=windows, now_s=0)
    assert out["early"].rank == 0 and out["late"].rank == 1
    (a,) = out["early"].allocations
    assert (a.contact, a.first_chunk, a.chunk_count, a.bytes) == ("c1", 0, 6, 60 * KB)
    assert a.start_s == 1000 and a.end_s == 1060
    assert out["early"].eta_s == 1060 and not out["early"].deadline_risk
    first, second = out["late"].allocations
    assert (first.contact, first.chunk_count, first.start_s) == ("c1", 4, 1060)
    assert (second.contact, second.first_chunk, second.chunk_count) == ("c2", 4, 4)
    assert out["late"].eta_s == 2040 and out["late"].note == "on time"


def test_a_contact_carries_only_whole_chunks() -> None:
    # 25 s at 1 kB/s = 25 kB: two 10 kB chunks fit, the third waits for the next contact.
    out = plan_transfers(
        transfers=[queued("t", 3)],
        windows=[window("c1", 0, 25), window("c2", 100, 200)],
        now_s=0,
    )
    a, b = out["t"].allocations
    assert (a.chunk_count, b.chunk_count, b.first_chunk) == (2, 1, 2)
    assert out["t"].eta_s == 110


def test_the_last_short_chunk_fits_where_a_full_one_would_not() -> None:
    out = plan_transfers(
        transfers=[queued("t", 3, last=3 * KB)],
        windows=[window("c1", 0, 23)],
        now_s=0,
    )
    (a,) = out["t"].allocations
    assert a.chunk_count == 3 and a.bytes == 23 * KB and out["t"].eta_s == 23


def test_lower_priority_never_makes_higher_priority_miss() -> None:
    # 10 chunks of room before t=1100. "urgent-low" (deadline 1100, 6 chunks, priority 2)
    # and "high" (deadline 1100, 6 chunks, priority 9) cannot both make it.
    windows = [window("c1", 1000, 1100), window("c2", 5000, 5100)]
    low = queued("low", 6, deadline=1090, priority=2)
    high = queued("high", 6, deadline=1100, priority=9)
    out = plan_transfers(transfers=[low, high], windows=windows, now_s=0)
    assert out["high"].admitted and not out["high"].deadline_risk
    assert out["high"].rank == 0 and out["high"].eta_s == 1060
    assert not out["low"].admitted and out["low"].deadline_risk
    assert out["low"].note.endswith("(transfers of equal or higher priority come first)")
    # Pure earliest-deadline-first would have served "low" first and made "high" late.


def test_in_progress_contact_counts_only_the_time_left() -> None:
    out = plan_transfers(transfers=[queued("t", 10)], windows=[window("c1", 0, 100)], now_s=70)
    (a,) = out["t"].allocations
    assert a.chunk_count == 3 and a.start_s == 70
    assert out["t"].eta_s is None and not out["t"].deadline_risk  # no deadline: not at risk
    assert out["t"].note == "planned contacts carry 30000 of 100000 bytes left"


def test_no_contacts_means_no_eta_and_risk_when_there_is_a_deadline() -> None:
    out = plan_transfers(transfers=[queued("t", 1, deadline=10_000)], windows=[], now_s=0)
    f = out["t"]
    assert f.eta_s is None and f.deadline_risk and f.allocations == ()
    assert f.note == "no contact planned for this spacecraft"


def test_directions_fill_independently() -> None:
    windows = [window("c1", 0, 100, up=1 * KB, down=4 * KB)]
    up = queued("up", 10, direction="up")
    down = queued("down", 40, direction="down")
    out = plan_transfers(transfers=[up, down], windows=windows, now_s=0)
    assert out["up"].eta_s == 100 and out["down"].eta_s == 100
    assert out["up"].rank == 0 and out["down"].rank == 0


def test_a_transfer_with_nothing_left_is_done() -> None:
    out = plan_transfers(transfers=[queued("t", 0)], windows=[window("c", 0, 10)], now_s=5)
    assert out["t"].eta_s == 5 and not out["t"].deadline_risk and out["t"].allocations == ()


def test_late_eta_is_flagged_with_how_late() -> None:
    out = plan_transfers(
        transfers=[queued("t", 5, deadline=1020)], windows=[window("c1", 1000, 1100)], now_s=0
    )
    f = out["t"]
    assert f.eta_s == 1050 and f.deadline_risk and f.note == "ETA 30 s after the deadline"


def test_a_late_high_priority_transfer_still_goes_before_low_priority_work() -> None:
    # "high" cannot make its deadline at all; "low" has none. High still goes first.
    windows = [window("c1", 1000, 1100), window("c2", 2000, 2100)]
    high = queued("high", 8, deadline=1050, priority=10)
    low = queued("low", 8, priority=1)
    out = plan_transfers(transfers=[low, high], windows=windows, now_s=0)
    assert out["high"].rank == 0 and out["low"].rank == 1
    assert out["high"].eta_s == 1080 and out["high"].deadline_risk
    assert out["high"].note == "ETA 30 s after the deadline", "alone it is late too"
    assert out["low"].eta_s == 2060 and not out["low"].deadline_risk


def test_no_deadline_transfers_follow_by_priority() -> None:
    windows = [window("c1", 0, 100)]
    a = queued("a", 2, priority=3)
    b = queued("b", 2, priority=8, created=5.0)
    c = queued("c", 2, deadline=500, priority=1)
    out = plan_transfers(transfers=[a, b, c], windows=windows, now_s=0)
    assert [k for k, _ in sorted(out.items(), key=lambda kv: kv[1].rank)] == ["c", "b", "a"]
