"""Configuration as events: turn an EngineConfig (e.g. from a scenario file) into the events that
build it in a running engine.

The live server's configuration is event-sourced, so loading a center definition means submitting
these events through the writer, in an order the engine accepts: accounts, dispositions, queues
(those another queue escalates or overflows to before it), agents.
"""

from __future__ import annotations

from centrale.core.config import EngineConfig, QueueConfig
from centrale.core.engine import Engine
from centrale.core.events import (
    AccountConfigured,
    AgentAdded,
    AgentUpdated,
    DispositionConfigured,
    Event,
    QueueConfigured,
)


def _queue_order(queues: tuple[QueueConfig, ...]) -> list[QueueConfig]:
    by_id = {q.id: q for q in queues}
    done: set[str] = set()
    out: list[QueueConfig] = []

    def visit(q: QueueConfig, path: frozenset[str]) -> None:
        if q.id in done or q.id in path:
            return
        refs = [s.queue for s in q.escalation if s.queue] + ([q.overflow_to] if q.overflow_to else [])
        for ref in refs:
            if ref in by_id and ref != q.id:
                visit(by_id[ref], path | {q.id})
        done.add(q.id)
        out.append(q)

    for q in queues:
        visit(q, frozenset())
    return out


def config_events(config: EngineConfig, current: Engine | None = None) -> list[Event]:
    """Events that make a running engine hold `config` (added or updated; nothing is removed)."""
    out: list[Event] = []
    out += [AccountConfigured(a) for a in config.accounts]
    out += [DispositionConfigured(d) for d in config.dispositions]
    out += [QueueConfigured(q) for q in _queue_order(config.queues)]
    for agent in config.agents:
        if current is not None and agent.id in current.agents:
            out.append(AgentUpdated(agent))
        else:
            out.append(AgentAdded(agent))
    return out
