"""Live figures, streamed: counters per queue and per agent group (team) per interval.

Every interaction is counted in the interval in which it *arrived* in the queue, so one
interaction contributes to exactly one interval and the figures of an interval never change
meaning as the day goes on (docs/metrics.md has every definition). Agent time is split exactly
over interval boundaries. Nothing per interaction is kept once it is counted, so memory depends on
queues × intervals, not on volume.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from centrale.core.agent import AgentState

# Fields of a queue bucket (a plain list of floats, for speed).
OFFERED = 0
ANSWERED = 1
ABANDONED = 2
SHORT_ABANDONED = 3
ANSWERED_WITHIN = 4
ABANDONED_WITHIN = 5
WAIT_ANSWERED = 6
WAIT_ABANDONED = 7
MAX_WAIT = 8
OVERFLOWED = 9
EXPIRED = 10
CALLBACK = 11
TRANSFERRED = 12
HANDLED = 13
TALK = 14
HOLD = 15
WRAP = 16
RONA = 17
CLOSED = 18  # arrived while the queue was closed: not offered
_QFIELDS = 19

_STATE_INDEX = {
    AgentState.READY: 0,
    AgentState.RESERVED: 1,
    AgentState.BUSY: 2,
    AgentState.WRAP_UP: 3,
    AgentState.NOT_READY: 4,
}
_TFIELDS = 5


class Stats:
    """Streaming counters. The engine calls the hooks; reports read ``figures``."""

    def __init__(self, interval_seconds: int, queues: Iterable[str], origin: float = 0.0) -> None:
        self.interval = float(interval_seconds)
        # Intervals are counted from `origin`, a local midnight, so that they line up with the
        # center's clock (09:00–09:15) even in time zones a half hour off UTC.
        self.origin = origin
        self.queues: dict[str, dict[int, list[float]]] = {q: {} for q in queues}
        self.teams: dict[str, dict[int, list[float]]] = {}
        self.account_handled: dict[str, float] = {}
        self.dispositions: dict[str, dict[str, int]] = {}  # queue → disposition code → count

    def add_queue(self, queue: str) -> None:
        """A queue configured at run time (one already counted keeps its buckets)."""
        self.queues.setdefault(queue, {})

    def row(self, queue: str, arrived_at: float) -> list[float]:
        """The bucket an interaction that arrived at `arrived_at` is counted in (created if need be).

        Buckets are never replaced or dropped, so the engine keeps this reference on the
        interaction and counts its outcome in it (``bucket[field] += 1`` for overflowed, expired,
        callback requested, transferred, RONA and closed; the ``*_in`` hooks below for the rest),
        without looking it up again by queue and interval.
        """
        buckets = self.queues[queue]
        idx = int((arrived_at - self.origin) // self.interval)
        b = buckets.get(idx)
        if b is None:
            b = buckets[idx] = [0.0] * _QFIELDS
        return b

    # --- interaction hooks (on the bucket from ``row``; the queue's thresholds come from the engine,
    # which has the queue's configuration at hand) -------------------------------------------------
    @staticmethod
    def arrival_in(b: list[float]) -> None:
        b[OFFERED] += 1

    @staticmethod
    def answer_in(b: list[float], wait: float, sl_threshold: float) -> None:
        b[ANSWERED] += 1
        b[WAIT_ANSWERED] += wait
        if wait <= sl_threshold:
            b[ANSWERED_WITHIN] += 1
        if wait > b[MAX_WAIT]:
            b[MAX_WAIT] = wait

    @staticmethod
    def abandon_in(b: list[float], wait: float, sl_threshold: float, short_abandon: float) -> None:
        b[ABANDONED] += 1
        b[WAIT_ABANDONED] += wait
        if wait <= short_abandon:
            b[SHORT_ABANDONED] += 1
        if wait <= sl_threshold:
            b[ABANDONED_WITHIN] += 1
        if wait > b[MAX_WAIT]:
            b[MAX_WAIT] = wait

    def handled_in(self, b: list[float], account: str, talk: float, hold: float, wrap: float) -> None:
        b[HANDLED] += 1
        b[TALK] += talk
        b[HOLD] += hold
        b[WRAP] += wrap
        self.account_handled[account] = self.account_handled.get(account, 0.0) + talk + hold + wrap

    def on_disposition(self, queue: str, code: str) -> None:
        counts = self.dispositions.setdefault(queue, {})
        counts[code] = counts.get(code, 0) + 1

    # --- agent time -----------------------------------------------------------------------------
    def team_buckets(self, team: str) -> dict[int, list[float]]:
        """A team's buckets (created if need be); never replaced, so callers may keep the reference."""
        buckets = self.teams.get(team)
        if buckets is None:
            buckets = self.teams[team] = {}
        return buckets

    def on_agent_time(self, team: str, state: AgentState, start: float, end: float) -> None:
        if state not in _STATE_INDEX or end <= start:
            return  # (and the team gets no buckets: only teams with time counted are reported)
        self.agent_time_in(self.team_buckets(team), state, start, end)

    def agent_time_in(
        self, buckets: dict[int, list[float]], state: AgentState, start: float, end: float
    ) -> None:
        i = _STATE_INDEX.get(state)
        if i is None or end <= start:
            return
        step = self.interval
        origin = self.origin
        idx = int((start - origin) // step)
        if end <= origin + (idx + 1) * step:  # the usual case: within one interval
            b = buckets.get(idx)
            if b is None:
                b = buckets[idx] = [0.0] * _TFIELDS
            b[i] += end - start
            return
        while True:
            boundary = origin + (idx + 1) * step
            b = buckets.get(idx)
            if b is None:
                b = buckets[idx] = [0.0] * _TFIELDS
            if end <= boundary:
                b[i] += end - start
                return
            b[i] += boundary - start
            start = boundary
            idx += 1

    # --- reading --------------------------------------------------------------------------------
    def queue_sum(
        self, queues: Iterable[str], start: float | None = None, end: float | None = None
    ) -> list[float]:
        lo = -math.inf if start is None else self.index(start)
        hi = math.inf if end is None else math.ceil((end - self.origin) / self.interval)
        total = [0.0] * _QFIELDS
        for q in queues:
            for idx, b in self.queues.get(q, {}).items():
                if lo <= idx < hi:
                    for k in range(_QFIELDS):
                        if k == MAX_WAIT:
                            total[k] = max(total[k], b[k])
                        else:
                            total[k] += b[k]
        return total

    def team_sum(
        self, teams: Iterable[str], start: float | None = None, end: float | None = None
    ) -> list[float]:
        lo = -math.inf if start is None else self.index(start)
        hi = math.inf if end is None else math.ceil((end - self.origin) / self.interval)
        total = [0.0] * _TFIELDS
        for t in teams:
            for idx, b in self.teams.get(t, {}).items():
                if lo <= idx < hi:
                    for k in range(_TFIELDS):
                        total[k] += b[k]
        return total

    @staticmethod
    def empty_queue_bucket() -> list[float]:
        return [0.0] * _QFIELDS

    def index(self, t: float) -> int:
        """The number of the interval that contains time `t`."""
        return int((t - self.origin) // self.interval)

    def interval_start(self, index: int) -> float:
        return self.origin + index * self.interval

    def intervals(self) -> list[int]:
        seen: set[int] = set()
        for buckets in self.queues.values():
            seen.update(buckets)
        for buckets in self.teams.values():
            seen.update(buckets)
        return sorted(seen)


def queue_figures(b: list[float], sl_threshold: float | None = None) -> dict[str, Any]:
    """Turn a summed queue bucket into named figures (definitions in docs/metrics.md)."""
    offered, answered, abandoned = b[OFFERED], b[ANSWERED], b[ABANDONED]
    handled = b[HANDLED]
    short = b[SHORT_ABANDONED]

    def ratio(a: float, c: float) -> float | None:
        return a / c if c > 0 else None

    out: dict[str, Any] = {
        "offered": int(offered),
        "answered": int(answered),
        "abandoned": int(abandoned),
        "short_abandoned": int(short),
        "answered_within_target": int(b[ANSWERED_WITHIN]),
        "abandoned_within_target": int(b[ABANDONED_WITHIN]),
        "overflowed": int(b[OVERFLOWED]),
        "expired": int(b[EXPIRED]),
        "callbacks_requested": int(b[CALLBACK]),
        "transferred": int(b[TRANSFERRED]),
        "handled": int(handled),
        "rona": int(b[RONA]),
        "arrived_while_closed": int(b[CLOSED]),
        "service_level": ratio(b[ANSWERED_WITHIN], offered),
        "service_level_of_answered": ratio(b[ANSWERED_WITHIN], answered),
        "service_level_abandons_met": ratio(b[ANSWERED_WITHIN] + b[ABANDONED_WITHIN], offered),
        "service_level_excluding_short_abandons": ratio(b[ANSWERED_WITHIN], offered - short),
        "abandon_rate": ratio(abandoned, offered),
        "asa_seconds": ratio(b[WAIT_ANSWERED], answered),
        "average_abandon_wait_seconds": ratio(b[WAIT_ABANDONED], abandoned),
        "max_wait_seconds": b[MAX_WAIT],
        "aht_seconds": ratio(b[TALK] + b[HOLD] + b[WRAP], handled),
        "talk_seconds": ratio(b[TALK], handled),
        "hold_seconds": ratio(b[HOLD], handled),
        "wrap_up_seconds": ratio(b[WRAP], handled),
    }
    if sl_threshold is not None:
        out["sl_threshold_seconds"] = sl_threshold
    return out


def team_figures(b: list[float]) -> dict[str, Any]:
    ready, reserved, busy, wrap, not_ready = b
    working = reserved + busy + wrap
    available = ready + working
    return {
        "ready_seconds": ready,
        "reserved_seconds": reserved,
        "busy_seconds": busy,
        "wrap_up_seconds": wrap,
        "not_ready_seconds": not_ready,
        "staffed_seconds": available + not_ready,
        "occupancy": working / available if available > 0 else None,
    }
