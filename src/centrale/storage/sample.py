"""A deterministic, realistic stream of engine events, for tests, benchmarks and demos.

:func:`sample_events` drives a real engine (with an event log) through a day-like mix — logins,
arrivals on voice and chat, offers accepted or rejected, holds, hang-ups, dispositions, wrap-up,
breaks, transfers, abandons, new agents and skill changes, and the timers the engine asks for —
and returns the log it wrote. Every entry was therefore accepted by the engine, and replaying the
list (or any prefix of it) through a fresh engine with the same configuration is valid. The same
`seed` always gives the same list.
"""

from __future__ import annotations

import heapq
import random

from centrale.core.commands import CancelTimer, Command, Connect, Offer, StartTimer, WrapUpStarted
from centrale.core.config import (
    Account,
    AgentConfig,
    Disposition,
    EngineConfig,
    EscalationAction,
    EscalationStep,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.engine import Engine
from centrale.core.errors import DomainError
from centrale.core.eventlog import EventLog, LoggedEvent
from centrale.core.events import (
    AgentAdded,
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    AgentSkillsChanged,
    CustomerAbandoned,
    DispositionSet,
    Event,
    HoldEnded,
    HoldStarted,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    OfferRejected,
    TimerFired,
    TransferToQueue,
    WrapUpCompleted,
)
from centrale.core.expressions import parse

LANGUAGES = ("nl", "en", "de")


def sample_config(agents: int = 40) -> EngineConfig:
    """Two voice queues and a chat queue of one account, and `agents` agents with mixed skills."""
    rng = random.Random(agents)
    queues = (
        QueueConfig(
            id="sales",
            account="acme",
            channel="voice",
            requires=parse("sales >= 1 and skill[task.language] >= 1"),
            wrap_up=WrapUp(WrapUpMode.AGENT, 30.0),
            escalation=(EscalationStep(after=60.0, action=EscalationAction.PRIORITY, priority=5),),
            offer_timeout=10.0,
        ),
        QueueConfig(
            id="support",
            account="acme",
            channel="voice",
            requires=parse("support >= 1"),
            wrap_up=WrapUp(WrapUpMode.FIXED, 5.0),
            offer_timeout=10.0,
        ),
        QueueConfig(
            id="chat",
            account="acme",
            channel="chat",
            requires=parse("support >= 1"),
            wrap_up=WrapUp(WrapUpMode.AGENT, 20.0),
            max_wait=600.0,
        ),
    )
    return EngineConfig(
        accounts=(Account("acme", "Acme"),),
        queues=queues,
        agents=tuple(_agent(f"a{i}", rng) for i in range(agents)),
        dispositions=(
            Disposition("sale", "Sale", "sale"),
            Disposition("no_sale", "No sale", "no_sale"),
            Disposition("resolved", "Resolved", "resolved"),
        ),
        skills=frozenset({"sales", "support", *LANGUAGES}),
    )


def _agent(agent_id: str, rng: random.Random) -> AgentConfig:
    skills = {"sales": rng.randint(0, 9), "support": rng.randint(1, 9)}
    skills.update({lang: rng.randint(1, 9) for lang in rng.sample(LANGUAGES, rng.randint(1, 3))})
    return AgentConfig(
        id=agent_id,
        account="acme",
        skills={k: v for k, v in skills.items() if v},
        capacity={"voice": 1, "chat": 2},
        team=f"team{rng.randint(1, 4)}",
    )


def sample_events(count: int, *, agents: int = 40, seed: int = 0) -> tuple[EngineConfig, list[LoggedEvent]]:
    """The configuration and the first `count` logged events of a deterministic sample day.

    A small discrete-event driver: a heap of future events (arrivals, answers, hang-ups, wrap-ups,
    abandons, breaks, timers). Events the engine refuses — a customer abandoning after being
    answered, say — are simply not logged, as in a live center.
    """
    config = sample_config(agents)
    rng = random.Random(seed)
    engine = Engine(config, log=EventLog())
    log = engine.log
    assert log is not None
    agenda: list[tuple[float, int, Event]] = []
    order = 0
    cancelled: set[int] = set()
    arrivals = 0
    extra_agents = 0

    def later(delay: float, event: Event) -> None:
        nonlocal order
        order += 1
        heapq.heappush(agenda, (now + delay, order, event))

    def apply(event: Event) -> None:
        try:
            commands: list[Command] = engine.handle(event, now)
        except DomainError:
            return
        for command in commands:
            if isinstance(command, StartTimer):
                later(command.at - now, TimerFired(command.timer))
            elif isinstance(command, CancelTimer):
                cancelled.add(command.timer)
            elif isinstance(command, Offer):
                reply = OfferAccepted if rng.random() < 0.95 else OfferRejected
                later(rng.uniform(1.0, 6.0), reply(command.interaction, command.agent))
            elif isinstance(command, Connect):
                talk = rng.expovariate(1 / 150.0)
                if rng.random() < 0.1:
                    later(talk / 3, HoldStarted(command.interaction))
                    later(talk / 3 + 20.0, HoldEnded(command.interaction))
                if rng.random() < 0.3:
                    later(talk / 2, DispositionSet(command.interaction, "resolved", notes="invoice question"))
                if rng.random() < 0.03:
                    target = "support" if command.queue != "support" else "sales"
                    later(talk / 2 + 1.0, TransferToQueue(command.interaction, target))
                later(talk + 21.0, InteractionEnded(command.interaction))
            elif isinstance(command, WrapUpStarted):
                fields = {"order": rng.randint(1, 10**6)} if rng.random() < 0.3 else None
                code = rng.choice(("sale", "no_sale", "resolved"))
                later(rng.uniform(3.0, 25.0), WrapUpCompleted(command.interaction, code, fields=fields))

    now = 0.0
    for agent_id in list(engine.agents):
        later(rng.uniform(0.0, 300.0), AgentLoggedIn(agent_id, ready=True))
    later(rng.expovariate(0.25), _ARRIVAL)
    later(30.0, _HOUSEKEEPING)
    while len(log.entries) < count:
        now, _, event = heapq.heappop(agenda)
        if event is _ARRIVAL:
            arrivals += 1
            ix_id = f"i{arrivals}"
            apply(
                InteractionArrived(
                    ix_id,
                    rng.choice(("sales", "sales", "support", "chat")),
                    attributes={"language": rng.choice(LANGUAGES), "segment": rng.choice(("gold", "std"))},
                    contact=f"+3120{rng.randint(1000000, 9999999)}",
                )
            )
            later(rng.expovariate(1 / 240.0), CustomerAbandoned(ix_id))  # refused once answered
            later(rng.expovariate(0.25), _ARRIVAL)
        elif event is _HOUSEKEEPING:
            agent_ids = list(engine.agents)
            r = rng.random()
            if r < 0.6:
                agent_id = rng.choice(agent_ids)
                apply(AgentNotReady(agent_id, rng.choice(("break", "lunch", "training"))))
                later(rng.uniform(60.0, 900.0), AgentReady(agent_id))
            elif r < 0.8:
                extra_agents += 1
                cfg = _agent(f"x{extra_agents}", rng)
                apply(AgentAdded(cfg))
                later(5.0, AgentLoggedIn(cfg.id, ready=True))
            else:
                skills = {"sales": rng.randint(1, 9), "support": rng.randint(1, 9), rng.choice(LANGUAGES): 5}
                apply(AgentSkillsChanged(rng.choice(agent_ids), skills))
            later(rng.expovariate(1 / 30.0), _HOUSEKEEPING)
        elif isinstance(event, TimerFired):
            if event.timer not in cancelled:
                apply(event)
        else:
            apply(event)
    return config, list(log.entries[:count])


# Markers on the agenda for the driver's own recurring steps (never handed to the engine).
_ARRIVAL: Event = TimerFired(-1)
_HOUSEKEEPING: Event = TimerFired(-2)
