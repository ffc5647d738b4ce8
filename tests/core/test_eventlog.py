"""The event log: numbering, sinks, only accepted events, and replay to the same state."""

from __future__ import annotations

import pytest

from centrale.core.config import WrapUp, WrapUpMode
from centrale.core.engine import Engine
from centrale.core.errors import DomainError
from centrale.core.eventlog import EventLog, LoggedEvent
from centrale.core.events import (
    AgentAdded,
    AgentLoggedIn,
    AgentNotReady,
    DispositionSet,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    TimerFired,
)

from .conftest import Sim, agent, config, disposition, queue


def test_entries_are_numbered_in_order_and_streamed_to_the_sink() -> None:
    seen: list[LoggedEvent] = []
    log = EventLog(sink=seen.append)
    log.append(1.0, "a")
    log.append(2.5, "b")
    assert log.entries == [LoggedEvent(1, 1.0, "a"), LoggedEvent(2, 2.5, "b")]
    assert seen == log.entries
    assert list(log) == [(1.0, "a"), (2.5, "b")]
    assert len(log) == 2


def test_keep_false_only_streams() -> None:
    seen: list[LoggedEvent] = []
    log = EventLog(sink=seen.append, keep=False)
    log.append(1.0, "a")
    log.append(2.0, "b")
    assert len(log) == 0 and [e.seq for e in seen] == [1, 2]


def test_engine_logs_accepted_events_only() -> None:
    sim = Sim(config([queue()], [agent("a")]))
    sim.do(AgentLoggedIn("a"), at=1)
    with pytest.raises(DomainError):
        sim.engine.handle(AgentLoggedIn("a"), 2)
    sim.do(AgentNotReady("a", "lunch"), at=3)
    assert sim.engine.log is not None
    assert [(e.seq, e.at, e.event) for e in sim.engine.log.entries] == [
        (1, 1, AgentLoggedIn("a")),
        (2, 3, AgentNotReady("a", "lunch")),
    ]


def test_unknown_event_type_is_refused() -> None:
    sim = Sim(config([queue()]))
    with pytest.raises(DomainError) as info:
        sim.engine.handle("not an event", 1)  # type: ignore[arg-type]
    assert info.value.code == "event.unknown"
    assert len(sim.engine.log or ()) == 0


def test_replay_rebuilds_the_same_state() -> None:
    cfg = config(
        [queue(wrap_up=WrapUp(WrapUpMode.AGENT, 60.0))],
        [agent("a")],
        dispositions=[disposition("sale", "sale")],
    )
    sim = Sim(cfg)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(AgentAdded(agent("b")), at=1)
    sim.do(AgentLoggedIn("b", ready=True), at=2)
    sim.do(InteractionArrived("x", "q", attributes={"k": [1, 2]}), at=3)
    sim.do(InteractionArrived("y", "q"), at=4)
    sim.do(OfferAccepted("x", "a"), at=5)
    sim.do(DispositionSet("x", "sale"), at=6)
    sim.do(InteractionEnded("x"), at=7)
    sim.run_until(30)  # y RONAs on b
    sim.do(TimerFired(999), at=31)  # unknown timer: ignored, but logged
    assert sim.engine.log is not None
    replayed = Engine.replay(cfg, sim.engine.log)
    assert replayed.snapshot() == sim.engine.snapshot()
    assert len(replayed.log or ()) == len(sim.engine.log)
    assert replayed.stats.queues == sim.engine.stats.queues
    assert replayed.stats.teams == sim.engine.stats.teams


def test_replay_of_an_empty_log_is_a_fresh_engine() -> None:
    cfg = config([queue()], [agent("a")])
    assert Engine.replay(cfg, EventLog()).snapshot() == Engine(cfg).snapshot()
