"""A tiny discrete-event kernel: a clock and a calendar of things to do.

Theory of operation
-------------------
``Kernel`` keeps ``now`` and the pending entries ``(time, seq, callback, argument)``. ``run`` takes
the earliest entry, moves the clock there and calls the callback, which may schedule more. The
sequence number makes equal times run in the order they were scheduled, so a run is fully
deterministic: entries run in exactly the order of one heap ordered by ``(time, seq)``.

Why not one heap: a national-scale day keeps tens of thousands of entries pending (an arrival per
stream, a hang-up per call in progress, a patience per waiting customer, every agent's shift), and
each push and pop of one large heap costs ~17 levels of tuple comparisons with a cache miss at most
of them. The kernel is therefore a *calendar* (a timing wheel): time is cut into slots of
``slot_seconds`` and an entry goes to the list of its slot — an append, no comparison. Only the slot
being run (``_active``) is a heap, of the few dozen entries that fall in it; entries scheduled into
it (or into the past, clamped to ``now``) are pushed there. The wheel reaches ``slots`` slots ahead
of the current one; entries further away (the end of a shift hours ahead) wait in a small heap
(``_far``) and move into the wheel as it turns. So the order is the one heap's, at a cost that does
not grow with the number of pending entries. Empty slots are stepped over one by one (cheap), or
skipped at once when the wheel holds nothing.

Virtual and real time differ in exactly one method, :meth:`Kernel._advance_to`: the virtual kernel
jumps, :class:`RealtimeKernel` sleeps until the wall clock catches up (scaled by ``factor``). The
engine cannot tell which one drives it.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from typing import Any

Callback = Callable[[Any], None]
Entry = tuple[float, int, Callback, Any]

SLOT_SECONDS = 0.125  # a national day runs ~300 entries per simulated second: a few dozen per slot
SLOTS = 1 << 15  # the wheel reaches 4,096 s (68 min) ahead; later entries wait in the far heap


class Kernel:
    """Virtual time: the clock jumps from one scheduled moment to the next."""

    def __init__(self, start: float = 0.0, *, slot_seconds: float = SLOT_SECONDS, slots: int = SLOTS) -> None:
        if not (slot_seconds > 0 and math.isfinite(slot_seconds)):
            raise ValueError(f"slot_seconds must be a positive number, got {slot_seconds!r}")
        if slots < 2 or slots & (slots - 1):
            raise ValueError(f"slots must be a power of two of at least 2, got {slots!r}")
        self.now = start
        self.steps = 0
        self._seq = 0
        self._origin = start
        self._rate = 1.0 / slot_seconds  # slots per second
        self._span = slots
        self._mask = slots - 1
        self._wheel: list[list[Entry] | None] = [None] * slots
        self._in_wheel = 0  # entries in the wheel (not counting _active and _far)
        self._cur = 0  # the slot being run, counted from `start`
        self._active: list[Entry] = []  # heap: the entries of slot `_cur` and any before it
        self._far: list[Entry] = []  # heap: entries beyond the wheel's reach

    def schedule(self, at: float, callback: Callback, arg: Any = None) -> None:
        if at < self.now:
            at = self.now  # never schedule into the past
        self._seq += 1
        entry = (at, self._seq, callback, arg)
        slot = (at - self._origin) * self._rate
        cur = self._cur
        if slot < cur + 1:  # the slot being run (or, clamped, an earlier one)
            heapq.heappush(self._active, entry)
        elif slot < cur + self._span:
            i = int(slot) & self._mask
            bucket = self._wheel[i]
            if bucket is None:
                self._wheel[i] = [entry]
            else:
                bucket.append(entry)
            self._in_wheel += 1
        else:  # beyond the wheel (or not finite)
            heapq.heappush(self._far, entry)

    def pending(self) -> int:
        """How many entries are scheduled and not yet run."""
        return len(self._active) + self._in_wheel + len(self._far)

    def _turn(self, limit: float) -> bool:
        """Make the next slot with entries the one being run. False when nothing is due by `limit`
        (the wheel then stays where it is)."""
        wheel, mask, span = self._wheel, self._mask, self._span
        origin, rate = self._origin, self._rate
        far = self._far
        last = (limit - origin) * rate  # slots starting after this one hold nothing due
        while True:
            if self._in_wheel == 0:
                if not far or far[0][0] > limit:
                    return False
                # Nothing in the wheel: jump straight to the slot of the first far entry.
                first = (far[0][0] - origin) * rate
                if not first < 1e15:  # at infinity (or too far to count slots): it is simply next
                    heapq.heappush(self._active, heapq.heappop(far))
                    return True
                if first - 1 > self._cur:
                    self._cur = int(first) - 1
            nxt = self._cur + 1
            if nxt > last:
                return False
            self._cur = nxt
            # The wheel now reaches one slot further: far entries that fall in reach move in.
            reach = nxt + span
            while far and (far[0][0] - origin) * rate < reach:
                entry = heapq.heappop(far)
                slot = (entry[0] - origin) * rate
                if slot < nxt + 1:
                    heapq.heappush(self._active, entry)
                else:
                    i = int(slot) & mask
                    bucket = wheel[i]
                    if bucket is None:
                        wheel[i] = [entry]
                    else:
                        bucket.append(entry)
                    self._in_wheel += 1
            i = nxt & mask
            bucket = wheel[i]
            if bucket is not None:
                wheel[i] = None
                self._in_wheel -= len(bucket)
                if self._active:
                    bucket.extend(self._active)
                heapq.heapify(bucket)
                self._active = bucket
                return True
            if self._active:
                return True

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
        pop = heapq.heappop
        limit = math.inf if until is None else until
        steps = 0
        while True:
            active = self._active
            if not active:
                if not self._turn(limit):
                    break
                active = self._active
            at = active[0][0]
            if at > limit:
                break
            _, _, callback, arg = pop(active)
            if at != self.now:
                self._advance_to(at)
            callback(arg)
            steps += 1
            if on_step is not None and steps % step_every == 0:
                on_step(self.now)
        self.steps += steps
        if until is not None and self.now < until and not self.pending():
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
