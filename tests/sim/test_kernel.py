"""The simulation kernel runs entries in exactly the order of one heap ordered by (time, seq).

The kernel is a timing wheel with a heap only for the slot being run and one for entries beyond the
wheel's reach (sim/kernel.py). These tests drive it with random schedules — entries in the same
slot, in later slots, beyond the wheel, into the past, at the same moment, scheduled from inside
callbacks, and runs interrupted by `until` — and compare the order it runs them in with a reference
heap.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrale.sim.kernel import Kernel

# A delay is drawn from a mix of scales, so one run exercises the slot being run, the wheel, the
# far heap and equal times (delay 0). Small wheels (4 slots of 1 s) make the far heap common.
delays = st.one_of(
    st.just(0.0),
    st.floats(0.0, 2.0),
    st.floats(0.0, 50.0),
    st.floats(0.0, 5000.0),
    st.sampled_from([0.125, 0.25, 1.0, 4.0, 3.999999]),
)
# Each entry, when it runs, schedules its children: (delay, children-of-child) trees of bounded size.
plans: st.SearchStrategy[list[Any]] = st.recursive(
    st.lists(delays.map(lambda d: (d, [])), max_size=2),
    lambda inner: st.lists(st.tuples(delays, inner), max_size=3),
    max_leaves=40,
)


class Reference:
    """The specification: one heap of (time, seq, name), clamped to the clock like the kernel."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.heap: list[tuple[float, int, str]] = []
        self.seq = 0

    def schedule(self, at: float, name: str) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (max(at, self.now), self.seq, name))


def run_both(
    start: float,
    roots: list[tuple[float, list[Any]]],
    untils: list[float],
    slot_seconds: float,
    slots: int,
) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    kernel = Kernel(start, slot_seconds=slot_seconds, slots=slots)
    got: list[tuple[float, str]] = []
    plans_by_name: dict[str, list[Any]] = {}

    def fire(name: str) -> None:
        got.append((kernel.now, name))
        for k, (delay, children) in enumerate(plans_by_name[name]):
            child = f"{name}.{k}"
            plans_by_name[child] = children
            kernel.schedule(kernel.now + delay, fire, child)

    for k, (delay, children) in enumerate(roots):
        plans_by_name[str(k)] = children
        kernel.schedule(start + delay, fire, str(k))
    for until in untils:
        kernel.run(until=until)
        # Between runs a driver may schedule at "now" (or earlier): it runs next, in order.
        plans_by_name[f"u{until}"] = []
        kernel.schedule(kernel.now - 1.0, fire, f"u{until}")
    kernel.run()

    ref = Reference(start)
    expected: list[tuple[float, str]] = []
    ref_plans: dict[str, list[Any]] = {}
    for k, (delay, children) in enumerate(roots):
        ref_plans[str(k)] = children
        ref.schedule(start + delay, str(k))

    def ref_run(limit: float) -> None:
        while ref.heap and ref.heap[0][0] <= limit:
            at, _, name = heapq.heappop(ref.heap)
            ref.now = at
            expected.append((at, name))
            for k, (delay, children) in enumerate(ref_plans[name]):
                child = f"{name}.{k}"
                ref_plans[child] = children
                ref.schedule(ref.now + delay, child)
        if not ref.heap and ref.now < limit < math.inf:
            ref.now = limit

    for until in untils:
        ref_run(until)
        ref_plans[f"u{until}"] = []
        ref.schedule(ref.now - 1.0, f"u{until}")
    ref_run(math.inf)
    return got, expected


@settings(max_examples=300, deadline=None)
@given(
    start=st.sampled_from([0.0, 1_772_524_800.0, 37.3]),
    roots=st.lists(st.tuples(delays, plans), min_size=1, max_size=12),
    untils=st.lists(st.floats(0.0, 6000.0), max_size=3).map(sorted),
    wheel=st.sampled_from([(1.0, 4), (0.125, 1 << 15), (0.5, 64), (7.0, 2)]),
)
def test_runs_entries_in_the_order_of_one_heap(
    start: float, roots: list[Any], untils: list[float], wheel: tuple[float, int]
) -> None:
    got, expected = run_both(start, roots, [start + u for u in untils], *wheel)
    assert got == expected


def test_far_future_and_infinite_entries_run_last_in_time_order() -> None:
    kernel = Kernel(0.0, slot_seconds=1.0, slots=4)
    seen: list[str] = []
    kernel.schedule(math.inf, seen.append, "never-ending")
    kernel.schedule(10_000.0, seen.append, "far")
    kernel.schedule(2.5, seen.append, "near")
    kernel.schedule(10_000.0, seen.append, "far, scheduled later")
    assert kernel.pending() == 4
    kernel.run(until=9_999.0)
    assert seen == ["near"] and kernel.now == 2.5  # something is still pending: the clock stays
    kernel.run()
    assert seen == ["near", "far", "far, scheduled later", "never-ending"]
    assert kernel.pending() == 0


def test_an_idle_kernel_moves_its_clock_to_until() -> None:
    kernel = Kernel(100.0)
    kernel.run(until=160.0)
    assert kernel.now == 160.0
    kernel.schedule(50.0, lambda _: None)  # into the past: runs at once, at the current time
    seen: list[float] = []
    kernel.schedule(50.0, lambda _: seen.append(kernel.now))
    kernel.run()
    assert seen == [160.0] and kernel.steps == 2


@pytest.mark.parametrize(("slot_seconds", "slots"), [(0.0, 8), (-1.0, 8), (math.nan, 8), (1.0, 6), (1.0, 1)])
def test_a_wheel_that_cannot_work_is_refused(slot_seconds: float, slots: int) -> None:
    with pytest.raises(ValueError, match="slot"):
        Kernel(0.0, slot_seconds=slot_seconds, slots=slots)
