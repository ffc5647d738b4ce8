"""Recovery: a new engine from the stored log has the same queue, agents, callbacks and timers."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from centrale.core.commands import StartTimer
from centrale.core.config import (
    Account,
    AgentConfig,
    EngineConfig,
    EscalationAction,
    EscalationStep,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.engine import Engine
from centrale.core.eventlog import EventLog
from centrale.core.events import (
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    CallbackAccepted,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    TimerFired,
)
from centrale.core.expressions import parse
from centrale.storage import EventBuffer, EventStore, StorageError
from centrale.storage.sample import sample_events


def queue(id: str, *, requires: str, channel: str = "voice", **kw: Any) -> QueueConfig:
    return QueueConfig(id=id, account="acme", channel=channel, requires=parse(requires), **kw)


def agent(id: str, *, skills: dict[str, int], capacity: dict[str, int] | None = None) -> AgentConfig:
    return AgentConfig(id=id, account="acme", skills=skills, capacity=capacity or {"voice": 1})


def config(queues: list[QueueConfig], agents: list[AgentConfig]) -> EngineConfig:
    return EngineConfig(accounts=(Account("acme"),), queues=tuple(queues), agents=tuple(agents))


def test_recovers_queue_agents_callbacks_and_timers(store: EventStore) -> None:
    cfg = config(
        [
            queue(
                "sales",
                requires="sales >= 1",
                wrap_up=WrapUp(WrapUpMode.AGENT, 60.0),
                offer_timeout=15.0,
                escalation=(EscalationStep(30.0, EscalationAction.CALLBACK),),
            ),
            queue("mail", channel="email", requires="true", max_wait=3600.0),
        ],
        [
            agent("ann", skills={"sales": 5}),
            agent("bob", skills={"sales": 3}),
            agent("cy", skills={"sales": 7}),
            agent("dee", skills={}, capacity={"email": 2}),
        ],
    )
    buffer = EventBuffer(store)
    live = Engine(cfg, log=EventLog(sink=buffer, keep=False))
    timers: dict[int, float] = {}

    def tick(now: float, *events: object) -> None:
        for event in events:
            for command in live.handle(event, now):  # type: ignore[arg-type]
                if isinstance(command, StartTimer):
                    timers[command.timer] = command.at
        buffer.flush()  # persisted before anything would be acted on

    tick(0.0, AgentLoggedIn("ann", ready=True), AgentLoggedIn("bob", ready=True), AgentLoggedIn("cy"))
    tick(1.0, InteractionArrived("c1", "sales"), InteractionArrived("c2", "sales"))  # offered to ann, bob
    tick(2.0, OfferAccepted("c1", "ann"))  # ann busy; bob still ringing
    tick(3.0, *(InteractionArrived(f"c{i}", "sales", priority=i % 2) for i in range(3, 7)))  # queued
    tick(4.0, AgentNotReady("cy", "lunch"))
    tick(5.0, InteractionArrived("m1", "mail"), InteractionArrived("m2", "mail"))  # nobody for mail
    tick(10.0, InteractionEnded("c1"))  # ann in wrap-up (agent mode, 60 s timer)
    due = sorted(t for t, at in timers.items() if at <= 33.5)
    tick(33.5, *(TimerFired(t) for t in due))  # RONA for bob, callback offers for those waiting
    tick(34.0, CallbackAccepted("c3"))
    tick(35.0, AgentLoggedIn("dee", ready=True))  # both e-mails are offered to dee (capacity 2)

    recovered = store.recover(cfg)
    assert recovered.snapshot() == live.snapshot()
    assert recovered.pending_timers() == live.pending_timers() != []
    assert recovered.log is not None and recovered.log.last_seq == store.last_seq() == live.log.last_seq  # type: ignore[union-attr]
    assert recovered.log.entries == []  # the replayed history is not kept in memory
    # What a restarted server finds: each state really is there.
    snap = recovered.snapshot()
    assert snap["agents"]["ann"][0] == "wrap_up" and snap["agents"]["cy"][:2] == ("not_ready", "lunch")
    assert "c3" not in snap["interactions"]  # the customer hung up, the callback keeps the place:
    assert snap["interactions"]["c3:callback"][1] == "queued"
    assert {k for k, v in snap["interactions"].items() if v[1] == "queued"} == {
        "c2",
        "c4",
        "c5",
        "c6",
        "c3:callback",
    }
    assert snap["interactions"]["m1"][1:3] == snap["interactions"]["m2"][1:3] == ("offered", "dee")
    assert recovered.waiting("sales") == live.waiting("sales") > 0

    # Both continue identically: the re-armed timers fire, agents come back.
    for engine in (live, recovered):
        for t in engine.pending_timers():
            engine.handle(TimerFired(t.timer), max(t.at, 100.0))
        engine.handle(AgentReady("cy"), 101.0)
    assert recovered.snapshot() == live.snapshot()


def test_recover_equals_engine_replay(store: EventStore) -> None:
    cfg, entries = sample_events(4000, seed=5)
    for i in range(0, len(entries), 400):
        store.append(entries[i : i + 400])
    recovered = store.recover(cfg)
    replayed = Engine.replay(cfg, ((e.at, e.event) for e in entries))
    assert recovered.snapshot() == replayed.snapshot()
    assert recovered.pending_timers() == replayed.pending_timers()


def test_recover_an_empty_log(store: EventStore) -> None:
    cfg, _ = sample_events(1)
    assert store.recover(cfg).snapshot() == Engine(cfg).snapshot()


def test_recover_with_another_configuration_is_refused(store: EventStore) -> None:
    cfg, entries = sample_events(300, seed=6)
    store.append(entries)
    other = dataclasses.replace(cfg, queues=tuple(q for q in cfg.queues if q.id != "sales"))
    with pytest.raises(StorageError, match=r"is refused on replay: .*configuration changed"):
        store.recover(other)
