"""Position in line and expected wait of one waiting call, read from the live engine (on the loop
that owns it: the writer's) for the caller's announcements.

Position is the call's place among its queue's waiting interactions in the engine's own order
(priority-aged arrival time, then arrival order — the order ``Engine._order`` gives the routing
heap). The expected wait is the classic estimate ``position × average handle time / agents``:
the queue's average handle time over the last ``AHT_WINDOW`` seconds (``DEFAULT_AHT`` while it has
handled nothing), divided among the logged-in agents who serve the queue (the wallboard's
:func:`centrale.server.live.serves`). With nobody logged in there is no estimate (None), and
nothing is promised.
"""

from __future__ import annotations

import math
from typing import Any

from centrale.core.agent import AgentState
from centrale.core.engine import Engine
from centrale.core.stats import queue_figures

AHT_WINDOW = 4 * 3600.0
DEFAULT_AHT = 180.0


def position(engine: Engine, queue: str, interaction: str) -> int | None:
    """1 for the next call to be offered; None when the interaction is not waiting in `queue`."""
    q = engine.queues.get(queue)
    if q is None or interaction not in q.waiting:
        return None
    aging = float(getattr(engine, "_aging", 0.0))

    def key(ix: Any) -> tuple[float, int]:
        return (ix.enqueued_at - ix.priority * aging, ix.seq)

    mine = key(q.waiting[interaction])
    return 1 + sum(1 for ix in q.waiting.values() if key(ix) < mine)


def expected_wait(engine: Engine, queue: str, place: int, now: float) -> float | None:
    """Seconds until a call at `place` in line is likely answered; None without logged-in agents."""
    from centrale.server.live import serves

    if queue not in engine.queues:
        return None
    cache: dict[tuple[Any, ...], bool] = {}
    staffed = sum(
        1
        for agent_id, agent in engine.agents.items()
        if agent.state is not AgentState.LOGGED_OUT and serves(engine, queue, agent_id, cache)
    )
    if staffed == 0:
        return None
    figures = queue_figures(engine.stats.queue_sum([queue], now - AHT_WINDOW))
    aht = figures["aht_seconds"] or DEFAULT_AHT
    return place * float(aht) / staffed


def minutes(wait: float) -> int:
    """Whole minutes to announce: rounded up, at least one."""
    return max(1, math.ceil(wait / 60.0))


__all__ = ["AHT_WINDOW", "DEFAULT_AHT", "expected_wait", "minutes", "position"]
