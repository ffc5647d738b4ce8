"""Small builders for the core tests: configurations, and a driver that keeps time and timers.

Everything here is plain code around the real engine; nothing is mocked. `Sim` plays the part of a
driver: it hands events to the engine at non-decreasing times, remembers which timers the engine
asked for (StartTimer / CancelTimer) and can fire the ones that are due, in time order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from centrale.core.commands import CancelTimer, Command, StartTimer
from centrale.core.config import (
    Account,
    AgentConfig,
    Disposition,
    EngineConfig,
    EscalationAction,
    EscalationStep,
    QueueConfig,
)
from centrale.core.engine import Engine
from centrale.core.errors import DomainError
from centrale.core.eventlog import EventLog
from centrale.core.events import Event, TimerFired
from centrale.core.expressions import parse


def queue(
    id: str = "q",
    *,
    channel: str = "voice",
    requires: str = "true",
    account: str = "acme",
    **kw: Any,
) -> QueueConfig:
    """A queue; `requires` is expression text."""
    return QueueConfig(id=id, account=account, channel=channel, requires=parse(requires, where=id), **kw)


def agent(
    id: str,
    *,
    skills: dict[str, int] | None = None,
    capacity: dict[str, int] | None = None,
    account: str = "acme",
    **kw: Any,
) -> AgentConfig:
    return AgentConfig(
        id=id,
        account=account,
        skills=dict(skills or {}),
        capacity=dict(capacity) if capacity is not None else {"voice": 1},
        **kw,
    )


def step(
    after: float,
    action: EscalationAction,
    *,
    requires: str | None = None,
    queue: str | None = None,
    priority: int | None = None,
) -> EscalationStep:
    return EscalationStep(
        after=after,
        action=action,
        requires=parse(requires) if requires is not None else None,
        queue=queue,
        priority=priority,
    )


def disposition(code: str, category: str = "resolved", account: str | None = None) -> Disposition:
    return Disposition(code=code, label=code.replace("_", " ").title(), category=category, account=account)


def config(
    queues: Sequence[QueueConfig],
    agents: Sequence[AgentConfig] = (),
    *,
    dispositions: Sequence[Disposition] = (),
    **kw: Any,
) -> EngineConfig:
    """An engine configuration; the accounts are the ones the queues and agents name."""
    names = sorted({q.account for q in queues} | {a.account for a in agents})
    return EngineConfig(
        accounts=tuple(Account(n) for n in names),
        queues=tuple(queues),
        agents=tuple(agents),
        dispositions=tuple(dispositions),
        **kw,
    )


def of_type(commands: Iterable[Command], cls: type) -> list[Any]:
    return [c for c in commands if isinstance(c, cls)]


class Sim:
    """A minimal driver around a real engine (with an event log attached)."""

    def __init__(self, cfg: EngineConfig) -> None:
        self.config = cfg
        self.engine = Engine(cfg, log=EventLog())
        self.now = 0.0
        self.timers: dict[int, float] = {}  # pending timers: id → due time
        self.commands: list[Command] = []

    def _track(self, commands: list[Command]) -> None:
        for c in commands:
            if isinstance(c, StartTimer):
                self.timers[c.timer] = c.at
            elif isinstance(c, CancelTimer):
                self.timers.pop(c.timer, None)
        self.commands.extend(commands)

    def do(self, event: Event, at: float | None = None) -> list[Command]:
        """Apply `event` at time `at` (default: the current time); timers due earlier fire first."""
        if at is not None:
            self.run_until(at)
        out = self.engine.handle(event, self.now)
        if isinstance(event, TimerFired):
            self.timers.pop(event.timer, None)
        self._track(out)
        return out

    def run_until(self, t: float) -> list[Command]:
        """Fire every pending timer due at or before `t`, in time order, then move the clock to `t`."""
        assert t >= self.now, "time goes forward"
        out: list[Command] = []
        while True:
            due = sorted((at, tid) for tid, at in self.timers.items() if at <= t)
            if not due:
                break
            at, tid = due[0]
            self.now = max(self.now, at)
            del self.timers[tid]
            cmds = self.engine.handle(TimerFired(tid), self.now)
            self._track(cmds)
            out.extend(cmds)
        self.now = t
        return out

    def refused(self, event: Event, code: str) -> DomainError:
        """The engine refuses `event` with `code` and nothing changes (state, log)."""
        before = self.engine.snapshot()
        logged = len(self.engine.log) if self.engine.log is not None else 0
        with pytest.raises(DomainError) as info:
            self.engine.handle(event, self.now)
        assert info.value.code == code, str(info.value)
        assert self.engine.snapshot() == before
        assert (len(self.engine.log) if self.engine.log is not None else 0) == logged
        return info.value

    # --- reading -------------------------------------------------------------------------------
    def agent(self, agent_id: str) -> Any:
        return self.engine.agents[agent_id]

    def state(self, agent_id: str) -> str:
        return self.engine.agents[agent_id].state.value

    def ix(self, interaction_id: str) -> Any:
        return self.engine.interactions[interaction_id]

    def ix_state(self, interaction_id: str) -> str:
        return self.engine.interactions[interaction_id].state.value

    def timer_for(self, commands: Iterable[Command]) -> int:
        """The id of the single StartTimer among `commands`."""
        (start,) = of_type(commands, StartTimer)
        return start.timer
