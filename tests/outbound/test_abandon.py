"""AbandonRateTracker.worst_window: the maximum may be at a window a connected call just left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centrale.outbound.abandon import AbandonRateTracker

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_worst_window_sees_a_connected_call_leaving() -> None:
    # Window 100 s: a connected call at 10 s, an abandoned one at 50 s. Every window ending at the
    # abandoned call holds both (1/2); the window starting just after the connected call, (10, 110],
    # holds the abandoned call alone: 1/1.
    tracker = AbandonRateTracker(window=timedelta(seconds=100))
    tracker.record_live_call(at(10), agent_connect_delay=0.5)
    tracker.record_live_call(at(50), agent_connect_delay=None)
    worst = tracker.worst_window()
    assert worst is not None
    assert worst.rate == pytest.approx(1.0)
    assert (worst.live, worst.abandoned) == (1, 1)
    assert worst.start == at(10) and worst.end == at(110)


def test_worst_window_ending_at_an_abandon_still_found() -> None:
    # Connected calls at 0, 60, 70, 80 s and an abandoned one at 50 s, window 100 s: the window
    # ending at the abandoned call, (-50, 50], holds 0 and 50 (1/2); starting just after 0 gives
    # (0, 100] with 50, 60, 70, 80 (1/4); later windows hold no abandon.
    tracker = AbandonRateTracker(window=timedelta(seconds=100))
    for t in (0, 60, 70, 80):
        tracker.record_live_call(at(t), agent_connect_delay=1.0)
    tracker.record_live_call(at(50), agent_connect_delay=3.0)  # too late: abandoned
    worst = tracker.worst_window()
    assert worst is not None
    assert worst.rate == pytest.approx(1 / 2)
    assert worst.end == at(50)


def test_no_abandons_no_worst_window() -> None:
    tracker = AbandonRateTracker(window=timedelta(seconds=100))
    tracker.record_live_call(at(1), agent_connect_delay=0.1)
    assert tracker.worst_window() is None
