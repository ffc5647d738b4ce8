"""Live figures: the wallboard's snapshot and the stream of updates to browsers.

The wallboard is built from the engine itself (waiting, longest wait, agents by state) and the
engine's streamed statistics (today's offered, service level, abandons, ASA per queue and per
interval). It is rebuilt at most :attr:`Hub.min_interval` apart and only when a batch changed
something, then pushed to every subscriber whose account scope it is for — one build per scope,
however many wallboards show it. So the cost follows the rate of change, not the number of
screens, and an update reaches a screen within one interval of the event (a quarter second).

Agents' desktops subscribe to their own agent: each batch that touches an agent (an offer, a
state change, a connect, a wrap-up) sends a nudge naming what changed; the desktop then reads its
state over the API. A nudge is tiny, and a desktop that missed one loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from centrale.core import events as E
from centrale.core.agent import AgentState
from centrale.core.engine import Engine
from centrale.core.stats import queue_figures
from centrale.server.writer import Batch, Listener

log = logging.getLogger("centrale.live")

Scope = frozenset[str] | None  # None: every account

_STATES = [s.name.lower() for s in AgentState]


def day_start(now: float, timezone: str) -> float:
    """Local midnight of the day that contains `now`, in the center's time zone."""
    local = datetime.fromtimestamp(now, ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def serves(engine: Engine, queue_id: str, agent_id: str, cache: dict[tuple[Any, ...], bool]) -> bool:
    """Whether the agent may take this queue's interactions (its requirement, on its channel).

    A requirement that reads interaction attributes (``skill[task.language] >= 5``) depends on the
    interaction; for the wallboard such a queue counts every agent of its account who has room on
    its channel. Cached per agent profile: agents with equal profiles match alike.
    """
    q = engine.queues[queue_id].config
    a = engine.agents[agent_id]
    key = (queue_id, a.profile, a.capacity.get(q.channel, 0) > 0)
    found = cache.get(key)
    if found is None:
        if a.capacity.get(q.channel, 0) <= 0:
            found = False
        elif q.requires.task_attributes:
            found = a.account == q.account
        else:
            found = q.requires.matches(a, {})
        cache[key] = found
    return found


def queue_tile(
    engine: Engine,
    queue_id: str,
    now: float,
    since: float,
    agents: list[str],
    cache: dict[tuple[Any, ...], bool],
) -> dict[str, Any]:
    q = engine.queues[queue_id].config
    figures = queue_figures(engine.stats.queue_sum([queue_id], since), q.sl_threshold)
    waiting = engine.waiting(queue_id)
    longest = engine.longest_wait(queue_id, now)
    # Live service level: a contact still waiting that may yet be answered within the threshold
    # is not a miss yet, so it is left out of the base until it is answered or passes T.
    pending = sum(
        1 for ix in engine.queues[queue_id].waiting.values() if now - ix.arrived_at < q.sl_threshold
    )
    base = figures["offered"] - pending
    sl = figures["answered_within_target"] / base if base > 0 else None
    breach = (sl is not None and sl < q.sl_target) or longest > q.sl_threshold
    by_state = dict.fromkeys(_STATES, 0)
    for agent_id in agents:
        if serves(engine, queue_id, agent_id, cache):
            by_state[engine.agents[agent_id].state.name.lower()] += 1
    return {
        "id": q.id,
        "name": q.name or q.id,
        "account": q.account,
        "channel": q.channel,
        "direction": q.direction,
        "waiting": waiting,
        "longest_wait": round(longest, 1),
        "offered": figures["offered"],
        "answered": figures["answered"],
        "abandoned": figures["abandoned"],
        "service_level": sl,
        "sl_target": q.sl_target,
        "sl_threshold": q.sl_threshold,
        "abandon_rate": figures["abandon_rate"],
        "asa": figures["asa_seconds"],
        "aht": figures["aht_seconds"],
        "agents_by_state": by_state,
        "breach": breach,
    }


def agent_row(engine: Engine, agent_id: str, now: float) -> dict[str, Any]:
    a = engine.agents[agent_id]
    return {
        "id": a.id,
        "name": a.name or a.id,
        "account": a.account,
        "team": a.team,
        "site": a.site,
        "state": a.state.name.lower(),
        "reason": a.reason,
        "since": a.state_since,
        "in_state": round(max(0.0, now - a.state_since), 1),
        "interactions": len(a.offered) + len(a.connected) + len(a.wrapping),
        "contacts_today": a.contacts_today,
        "skills": dict(a.skills),
        # the calls a supervisor may monitor (POST /api/interactions/{id}/monitor)
        "calls": sorted(
            i for i in a.connected if (ix := engine.interactions.get(i)) is not None and ix.channel == "voice"
        ),
    }


def wallboard(
    engine: Engine, scope: Scope, now: float, extra: Callable[[Scope], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The wallboard for a scope: queue tiles, agents, today's intervals, alerts."""
    since = day_start(now, engine.config.timezone)
    queues = sorted(qid for qid, q in engine.queues.items() if scope is None or q.config.account in scope)
    agent_ids = [aid for aid, a in engine.agents.items() if scope is None or a.account in scope]
    cache: dict[tuple[Any, ...], bool] = {}
    tiles = [queue_tile(engine, qid, now, since, agent_ids, cache) for qid in queues]
    agents = []
    for aid in agent_ids:
        row = agent_row(engine, aid, now)
        row["queues"] = [qid for qid in queues if serves(engine, qid, aid, cache)]
        agents.append(row)
    agents.sort(key=lambda r: (r["team"], r["name"]))
    by_state = dict.fromkeys(_STATES, 0)
    for row in agents:
        by_state[row["state"]] += 1
    stats = engine.stats
    first = stats.index(since)
    intervals = []
    for idx in range(first, stats.index(now) + 1):
        start = stats.interval_start(idx)
        total = stats.queue_sum(queues, start, start + stats.interval)
        figures = queue_figures(total)
        intervals.append(
            {
                "start": start,
                "offered": figures["offered"],
                "answered": figures["answered"],
                "abandoned": figures["abandoned"],
                "service_level": figures["service_level"],
            }
        )
    out = {
        "at": now,
        "accounts": {
            a.id: a.name or a.id for a in engine.accounts.values() if scope is None or a.id in scope
        },
        "queues": tiles,
        "agents": agents,
        "agents_by_state": by_state,
        "intervals": intervals,
        "interval_seconds": stats.interval,
        "alerts": [
            {
                "queue": t["id"],
                "name": t["name"],
                "service_level": t["service_level"],
                "longest_wait": t["longest_wait"],
            }
            for t in tiles
            if t["breach"]
        ],
        "campaigns": [],
    }
    if extra is not None:
        out.update(extra(scope))
    return out


class _Subscriber:
    __slots__ = ("agent", "queue", "scope")

    def __init__(self, scope: Scope, agent: str | None) -> None:
        self.scope = scope
        self.agent = agent
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=64)


class Hub(Listener):
    """Fans batches out to wallboards (throttled snapshots) and agent desktops (nudges)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        min_interval: float = 0.25,
        extra: Callable[[Scope], dict[str, Any]] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.min_interval = min_interval
        self.extra = extra
        self._boards: set[_Subscriber] = set()
        self._desktops: dict[str, set[_Subscriber]] = {}
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.builds = 0

    # --- the writer's side -----------------------------------------------------------------------
    def after(self, batch: Batch) -> None:
        if not batch.applied:
            return
        self._dirty.set()
        if not self._desktops:
            return
        touched: dict[str, set[str]] = {}
        for applied in batch.applied:
            ev = applied.entry.event
            agent = getattr(ev, "agent", None)
            if isinstance(agent, str):
                touched.setdefault(agent, set()).add(type(ev).__name__)
            if type(ev) is E.AgentSkillsChanged or type(ev) is E.AgentAdded:
                continue
            for command in applied.commands:
                agent = getattr(command, "agent", None)
                if isinstance(agent, str):
                    touched.setdefault(agent, set()).add(type(command).__name__)
        for agent, what in touched.items():
            subs = self._desktops.get(agent)
            if subs:
                message = _sse("desktop", {"agent": agent, "changed": sorted(what), "at": batch.at})
                for sub in subs:
                    _offer(sub, message)

    def poke(self) -> None:
        """Something outside the engine changed what a wallboard shows (a campaign, a setting)."""
        self._dirty.set()

    # --- the browsers' side ----------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._publish(), name="centrale-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def snapshot(self, scope: Scope) -> dict[str, Any]:
        return wallboard(self.engine, scope, self.clock(), self.extra)

    async def wallboard_stream(self, scope: Scope) -> AsyncIterator[str]:
        sub = _Subscriber(scope, None)
        self._boards.add(sub)
        try:
            yield _sse("wallboard", self.snapshot(scope))
            while True:
                try:
                    yield await asyncio.wait_for(sub.queue.get(), timeout=15.0)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            self._boards.discard(sub)

    async def desktop_stream(self, agent: str) -> AsyncIterator[str]:
        sub = _Subscriber(None, agent)
        self._desktops.setdefault(agent, set()).add(sub)
        try:
            yield _sse("desktop", {"agent": agent, "changed": ["subscribed"], "at": self.clock()})
            while True:
                try:
                    yield await asyncio.wait_for(sub.queue.get(), timeout=15.0)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            subs = self._desktops.get(agent)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._desktops[agent]

    async def _publish(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            started = time.monotonic()
            if self._boards:
                built: dict[Scope, str] = {}
                for sub in list(self._boards):
                    message = built.get(sub.scope)
                    if message is None:
                        try:
                            message = built[sub.scope] = _sse("wallboard", self.snapshot(sub.scope))
                        except Exception:
                            log.exception("building the wallboard failed")
                            break
                        self.builds += 1
                    _offer(sub, message)
            # Throttle: at most one build per min_interval, however fast batches come.
            await asyncio.sleep(max(0.0, self.min_interval - (time.monotonic() - started)))


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _offer(sub: _Subscriber, message: str) -> None:
    """Queue a message; a subscriber that fell behind keeps only the newest (snapshots supersede)."""
    if sub.queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                sub.queue.get_nowait()
    sub.queue.put_nowait(message)
