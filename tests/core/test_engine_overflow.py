"""Overflow: a full queue (max_length), closed hours (weekly spans, holidays via closed_dates) and
`overflow_to`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from centrale.core.commands import Disconnect, InteractionFinished, InteractionQueued
from centrale.core.config import OpeningHours
from centrale.core.events import CustomerAbandoned, InteractionArrived
from centrale.core.stats import queue_figures

from .conftest import Sim, config, queue

# Office hours in Amsterdam: weekdays 09:00–17:00, closed on New Year's Day (Monday 1 January 2024).
AMS = "Europe/Amsterdam"
WEEKDAYS = {d: [(time(9), time(17))] for d in range(5)}
HOURS = OpeningHours(AMS, WEEKDAYS, closed_dates=frozenset({date(2024, 1, 1)}))


def ts(y: int, m: int, d: int, h: int, mi: int = 0) -> float:
    """Epoch seconds of a UTC wall time."""
    return datetime(y, m, d, h, mi, tzinfo=UTC).timestamp()


def test_max_length_overflows_the_extra_arrival() -> None:
    sim = Sim(config([queue(max_length=2)]))
    sim.do(InteractionArrived("a", "q"), at=1)
    sim.do(InteractionArrived("b", "q"), at=2)
    out = sim.do(InteractionArrived("c", "q"), at=3)
    assert out == [
        InteractionFinished("c", "q", "overflowed", "queue_full"),
        Disconnect("c", "queue_full"),
    ]
    assert sim.engine.waiting("q") == 2
    # room again after someone leaves
    sim.do(CustomerAbandoned("a"), at=4)
    assert InteractionQueued("d", "q", None) in sim.do(InteractionArrived("d", "q"), at=5)
    f = queue_figures(sim.engine.stats.queue_sum(["q"]))
    assert (f["offered"], f["overflowed"]) == (4, 1)


def test_max_length_overflows_to_another_queue() -> None:
    sim = Sim(config([queue("q", max_length=1, overflow_to="backup"), queue("backup")]))
    sim.do(InteractionArrived("a", "q"), at=1)
    out = sim.do(InteractionArrived("b", "q"), at=2)
    assert out[0] == InteractionFinished("b", "q", "overflowed", "queue_full")
    assert InteractionQueued("b>backup", "backup", "b") in out
    assert not any(isinstance(c, Disconnect) for c in out)
    assert sim.engine.waiting("backup") == 1


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (ts(2024, 1, 2, 8, 0), True),  # Tuesday 09:00 in Amsterdam (UTC+1)
        (ts(2024, 1, 2, 7, 59), False),  # 08:59
        (ts(2024, 1, 2, 15, 59), True),  # 16:59
        (ts(2024, 1, 2, 16, 0), False),  # 17:00: spans are half open
        (ts(2024, 1, 6, 12, 0), False),  # Saturday
        (ts(2024, 1, 1, 12, 0), False),  # New Year's Day, a Monday: closed date
        (ts(2024, 7, 2, 7, 0), True),  # summer time: 09:00 is 07:00 UTC
        (ts(2024, 7, 2, 6, 59), False),
    ],
)
def test_opening_hours_with_holidays(when: float, is_open: bool) -> None:
    sim = Sim(config([queue(hours=HOURS)]))
    out = sim.do(InteractionArrived("x", "q"), at=when)
    if is_open:
        assert out == [InteractionQueued("x", "q", None)]
    else:
        assert out == [InteractionFinished("x", "q", "overflowed", "closed"), Disconnect("x", "closed")]


def test_closed_arrivals_are_counted_apart_not_offered() -> None:
    sim = Sim(config([queue(hours=HOURS)]))
    sim.do(InteractionArrived("x", "q"), at=ts(2024, 1, 1, 12))
    f = queue_figures(sim.engine.stats.queue_sum(["q"]))
    assert (f["offered"], f["arrived_while_closed"]) == (0, 1)


def test_closed_overflows_to_the_night_queue() -> None:
    sim = Sim(config([queue("day", hours=HOURS, overflow_to="night"), queue("night")]))
    out = sim.do(InteractionArrived("x", "day"), at=ts(2024, 1, 1, 12))
    assert InteractionFinished("x", "day", "overflowed", "closed") in out
    assert InteractionQueued("x>night", "night", "x") in out


def test_overflow_does_not_chain() -> None:
    queues = [
        queue("day", hours=HOURS, overflow_to="night"),
        queue("night", hours=HOURS, overflow_to="day"),
    ]
    sim = Sim(config(queues))
    out = sim.do(InteractionArrived("x", "day"), at=ts(2024, 1, 1, 12))
    assert out == [
        InteractionFinished("x", "day", "overflowed", "closed"),
        InteractionFinished("x>night", "night", "overflowed", "closed"),
        Disconnect("x>night", "closed"),
    ]


def test_spans_for_a_closed_date_is_empty_and_always_open_is_unbounded() -> None:
    assert HOURS.spans_for(date(2024, 1, 1)) == []
    assert HOURS.spans_for(date(2024, 1, 2)) == [(ts(2024, 1, 2, 8), ts(2024, 1, 2, 16))]
    assert OpeningHours("UTC", {}, always_open=True).spans_for(date(2024, 1, 1))[0][0] < 0


def test_span_ending_at_midnight() -> None:
    hours = OpeningHours("UTC", {0: [(time(18), time(0))]})
    assert hours.spans_for(date(2024, 1, 1)) == [(ts(2024, 1, 1, 18), ts(2024, 1, 2, 0))]


def test_span_across_midnight_is_open_after_midnight() -> None:
    hours = OpeningHours("UTC", {0: [(time(22), time(2))]})  # Monday night
    sim = Sim(config([queue(hours=hours)]))
    out = sim.do(InteractionArrived("x", "q"), at=ts(2024, 1, 2, 1))  # Tuesday 01:00
    assert out == [InteractionQueued("x", "q", None)]
