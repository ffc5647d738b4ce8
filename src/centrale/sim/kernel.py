"""A tiny discrete-event kernel: a clock and a heap of things to do.

Theory of operation
-------------------
``Kernel`` keeps ``now`` and a heap of ``(time, seq, callback, argument)``. ``run`` pops the
earliest entry, moves the clock there and calls the callback, which may schedule more. The sequence
number makes equal times run in the order they were scheduled, so a run is fully deterministic.

Virtual and real time differ in exactly one method, :meth:`Kernel._advance_to`: the virtual kernel
jumps, :class:`RealtimeKernel` sleeps until the wall clock catches up (scaled by ``factor``). The
engine cannot tell which one drives it.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Any

Callback = Callable[[Any], None]


class Kernel:
    """Virtual time: the clock jumps from one scheduled moment to the next."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, Callback, Any]] = []
        self._seq = 0
        self.steps = 0

    def schedule(self, at: float, callback: Callback, arg: Any = None) -> None:
        if at < self.now:
            at = self.now  # never schedule into the past
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, callback, arg))

    def _advance_to(self, at: float) -> None:
        self.now = at

    def run(
        self,
        until: float | None = None,
        *,
        on_step: Callable[[float], None] | None = None,
        step_every: int = 100_000,
    ) -> None:
        """Run until nothing is left to do, or until the clock would pass `until`."""
        heap = self._heap
        pop = heapq.heappop
        limit = float("inf") if until is None else until
        steps = 0
        while heap:
            at = heap[0][0]
            if at > limit:
                break
            _, _, callback, arg = pop(heap)
            if at != self.now:
                self._advance_to(at)
            callback(arg)
            steps += 1
            if on_step is not None and steps % step_every == 0:
                on_step(self.now)
        self.steps += steps
        if until is not None and self.now < until and not heap:
            self._advance_to(until)


class RealtimeKernel(Kernel):
    """Real time: wait for the wall clock (``factor`` simulated seconds per real second)."""

    def __init__(self, start: float, factor: float = 1.0) -> None:
        super().__init__(start)
        self.factor = factor
        self._origin_sim = start
        self._origin_wall = time.monotonic()

    def _advance_to(self, at: float) -> None:
        due = self._origin_wall + (at - self._origin_sim) / self.factor
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.now = at
