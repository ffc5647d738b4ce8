"""Configuration at run time: accounts, queues, dispositions and agents changed by events.

A live center starts from global settings only and is configured by events, so that its log
rebuilds configuration and state alike. Settings that do not decide who may take an interaction
apply at once; a routing change waits until the queue is idle (``queue.busy``); a refused change
leaves everything as it was. Pure tests on the real engine (no mocks).
"""

from __future__ import annotations

import dataclasses
from datetime import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centrale.core.commands import CancelTimer, Command, Disconnect, Offer, StartTimer
from centrale.core.config import (
    Account,
    AgentConfig,
    AgentSelection,
    EngineConfig,
    InteractionSelection,
    OpeningHours,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.config import EscalationAction as EA
from centrale.core.engine import Engine
from centrale.core.errors import (
    AGENT_BUSY,
    DISPOSITION_IN_USE,
    INVALID_CONFIG,
    INVALID_SKILL,
    QUEUE_BUSY,
    QUEUE_IN_USE,
    UNKNOWN_AGENT,
    UNKNOWN_DISPOSITION,
    UNKNOWN_QUEUE,
    DomainError,
)
from centrale.core.eventlog import EventLog
from centrale.core.events import (
    AccountConfigured,
    AgentAdded,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    AgentRemoved,
    AgentUpdated,
    CustomerAbandoned,
    DispositionConfigured,
    DispositionRemoved,
    DispositionSet,
    Event,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    QueueConfigured,
    QueueRemoved,
    TimerFired,
    TransferToAgent,
    TransferToQueue,
    WrapUpCompleted,
)
from centrale.core.expressions import Expression, parse
from centrale.core.stats import team_figures

from .conftest import Sim, agent, config, disposition, of_type, queue, step
from .test_properties import RICH, actions, logins, run

EMPTY = EngineConfig(accounts=(), queues=())


def offers(out: list[Command]) -> list[tuple[str, str]]:
    return [(o.interaction, o.agent) for o in of_type(out, Offer)]


def empty_sim() -> Sim:
    """An engine with global settings only, as the live server starts one."""
    return Sim(EMPTY)


def setup(sim: Sim, *events: Event) -> None:
    for event in events:
        sim.do(event)


def check_pools(engine: Engine) -> None:
    """The routing index is consistent: every pool has a line, agents and pools agree."""
    for key, pool in engine.pools.items():
        assert pool.targets, f"pool {key} has no line"
        for a in pool.members:
            assert a.id in engine.agents and engine.agents[a.id] is a
            assert any(p is pool for p in a.pools.get(pool.channel, []))
    for a in engine.agents.values():
        for pools in a.pools.values():
            for p in pools:
                assert engine.pools.get(p.key) is p and any(m is a for m in p.members)
    for key, target in engine.targets.items():
        assert target.queue in engine.queues, f"line {key} of a removed queue"
        assert any(t is target for t in target.pool.targets)


# --- starting empty ---------------------------------------------------------------------------


def test_an_engine_without_accounts_queues_or_agents_works() -> None:
    engine = Engine(EMPTY, log=EventLog())
    snap = engine.snapshot()
    assert snap["agents"] == {} and snap["waiting"] == {} and snap["timers"] == []
    assert snap["config"] == {"accounts": {}, "queues": {}, "dispositions": {}, "agents": {}}
    with pytest.raises(DomainError) as info:
        engine.handle(InteractionArrived("x", "q"), 1)
    assert info.value.code == UNKNOWN_QUEUE
    engine.close_books(100)
    assert engine.stats.intervals() == []
    assert Engine.replay(EMPTY, engine.log or []).snapshot() == snap


def test_configured_by_events_from_nothing() -> None:
    sim = empty_sim()
    setup(
        sim,
        AccountConfigured(Account("acme", "ACME")),
        DispositionConfigured(disposition("sale", "sale")),
        QueueConfigured(queue("sales", requires="sales >= 1", require_disposition=True)),
        AgentAdded(agent("a", skills={"sales": 5})),
        AgentLoggedIn("a", ready=True),
    )
    assert offers(sim.do(InteractionArrived("x", "sales"), at=1)) == [("x", "a")]
    sim.do(OfferAccepted("x", "a"), at=2)
    sim.do(InteractionEnded("x"), at=30)
    assert "x" not in sim.engine.interactions and sim.engine.finished == {"done": 1}
    assert sim.engine.accounts["acme"].name == "ACME"


def test_a_new_queue_is_routed_to_at_once() -> None:
    sim = Sim(config([queue("sales", requires="sales >= 1")], [agent("a", skills={"support": 4})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "sales"), at=1)  # a cannot take it: waits
    assert sim.engine.waiting("sales") == 1
    assert sim.do(QueueConfigured(queue("support", requires="support >= 3")), at=2) == []
    assert sim.engine.waiting("sales") == 1  # a new queue makes no waiting interaction routable
    assert offers(sim.do(InteractionArrived("y", "support"), at=3)) == [("y", "a")]
    check_pools(sim.engine)


def test_an_account_can_be_renamed() -> None:
    sim = empty_sim()
    sim.do(AccountConfigured(Account("acme", "ACME")))
    sim.do(AccountConfigured(Account("acme", "ACME Holding")))
    assert sim.engine.snapshot()["config"]["accounts"] == {"acme": ("acme", "ACME Holding")}
    sim.refused(AccountConfigured(Account("")), INVALID_CONFIG)


# --- updating a queue -------------------------------------------------------------------------


def busy_sales() -> Sim:
    """Queue `sales` with two calls waiting (nobody can take them) and one connected."""
    q = queue(
        "sales",
        requires="sales >= 5",
        max_wait=300.0,
        wrap_up=WrapUp(WrapUpMode.FIXED, 10.0),
    )
    sim = Sim(config([q], [agent("senior", skills={"sales": 8}), agent("junior", skills={"sales": 2})]))
    sim.do(AgentLoggedIn("senior", ready=True), at=0)
    sim.do(AgentLoggedIn("junior", ready=True), at=0)
    sim.do(InteractionArrived("c", "sales"), at=1)
    sim.do(OfferAccepted("c", "senior"), at=2)
    sim.do(InteractionArrived("x", "sales"), at=3)
    sim.do(InteractionArrived("y", "sales", priority=1), at=4)
    return sim


def test_non_routing_changes_apply_at_once_and_waiting_calls_keep_their_place() -> None:
    sim = busy_sales()
    before = sim.engine.snapshot()
    old = sim.engine.queues["sales"].config
    new = dataclasses.replace(
        old,
        name="Sales NL",
        priority=2,
        sl_target=0.9,
        sl_threshold=10.0,
        short_abandon=3.0,
        max_length=5,
        max_wait=100.0,
        wrap_up=WrapUp(WrapUpMode.AGENT, 60.0),
        offer_timeout=8.0,
        hours=OpeningHours("Europe/Amsterdam", {d: [(time(0), time(0))] for d in range(7)}),
    )
    assert sim.do(QueueConfigured(new), at=5) == []
    after = sim.engine.snapshot()
    for part in ("agents", "interactions", "waiting", "timers", "finished"):
        assert after[part] == before[part], part  # nothing moved, no timer changed
    assert sim.engine.queues["sales"].config is new
    assert all(t.sl_threshold == 10.0 for t in sim.engine.targets.values() if t.queue == "sales")
    # New arrivals take the new defaults and timers; the connected call wraps up the new way.
    out = sim.do(InteractionArrived("z", "sales"), at=6)
    assert sim.ix("z").priority == 2 and StartTimer(max(sim.timers), 106.0) in out
    assert sim.timers[sim.ix("x").expiry_timer] == 303.0  # set before the change: kept
    sim.do(InteractionEnded("c"), at=7)
    out = sim.do(WrapUpCompleted("c"), at=8)  # agent-ended wrap-up now (it was fixed)
    # z has the new default priority 2; the offer times out after the new 8 s.
    assert offers(out) == [("z", "senior")] and of_type(out, Offer)[0].timeout == 8.0
    sim.do(OfferAccepted("z", "senior"), at=9)
    sim.do(InteractionEnded("z"), at=10)
    # The calls that waited before the change keep their places: y (priority 1), then x.
    assert offers(sim.do(WrapUpCompleted("z"), at=11)) == [("y", "senior")]


def test_the_overflow_target_can_change_while_busy() -> None:
    sim = Sim(config([queue("a", max_length=0), queue("b"), queue("c")]))
    assert of_type(sim.do(InteractionArrived("x", "a"), at=1), Disconnect) == [Disconnect("x", "queue_full")]
    sim.do(QueueConfigured(queue("a", max_length=0, overflow_to="b")), at=2)
    sim.do(InteractionArrived("y", "a"), at=3)
    assert sim.ix("y>b").queue == "b"
    sim.do(QueueConfigured(queue("a", max_length=0, overflow_to="c")), at=4)  # b is busy: fine
    sim.do(InteractionArrived("z", "a"), at=5)
    assert sim.ix("z>c").queue == "c"


ROUTING_CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("requires", {"requires": "sales >= 1"}),
    ("channel", {"channel": "chat"}),
    ("agent_selection", {"agent_selection": AgentSelection.MOST_SKILLED}),
    ("escalation", {"escalation": (step(30, EA.PRIORITY, priority=5),)}),
    ("account", {"account": "globex"}),
]


def sales_queue(**kw: Any) -> QueueConfig:
    base: dict[str, Any] = {
        "requires": "sales >= 5",
        "max_wait": 300.0,
        "wrap_up": WrapUp(WrapUpMode.FIXED, 10.0),
    }
    base.update(kw)
    return queue("sales", **base)


@pytest.mark.parametrize(("field", "change"), ROUTING_CHANGES, ids=[f for f, _ in ROUTING_CHANGES])
def test_routing_changes_are_refused_while_the_queue_is_busy(field: str, change: dict[str, Any]) -> None:
    sim = busy_sales()
    sim.do(AccountConfigured(Account("globex")))
    err = sim.refused(QueueConfigured(sales_queue(**change)), QUEUE_BUSY)  # snapshot and log unchanged
    assert err.context["fields"] == [field]
    assert sim.engine.queues["sales"].config.requires.text == "sales >= 5"


def test_a_call_in_wrap_up_keeps_the_queue_busy() -> None:
    sim = busy_sales()
    sim.do(CustomerAbandoned("x"), at=5)
    sim.do(CustomerAbandoned("y"), at=5)
    sim.do(InteractionEnded("c"), at=6)  # in wrap-up for 10 s
    sim.refused(QueueConfigured(sales_queue(requires="sales >= 1")), QUEUE_BUSY)
    sim.run_until(16)
    assert sim.engine.interactions == {}
    sim.do(QueueConfigured(sales_queue(requires="sales >= 1")), at=17)


def test_a_routing_change_of_an_idle_queue_applies_to_the_next_arrival() -> None:
    sim = busy_sales()
    for iid in ("x", "y"):
        sim.do(CustomerAbandoned(iid), at=5)
    sim.do(InteractionEnded("c"), at=6)
    sim.run_until(20)
    old_pools = set(sim.engine.pools)
    # Relaxed: the junior may now take sales calls, most skilled first.
    new = sales_queue(requires="sales >= 1", agent_selection=AgentSelection.MOST_SKILLED)
    assert sim.do(QueueConfigured(new), at=21) == []
    check_pools(sim.engine)
    assert not (old_pools & set(sim.engine.pools))  # the old lines and their pools are gone
    assert offers(sim.do(InteractionArrived("z", "sales"), at=22)) == [("z", "senior")]
    assert offers(sim.do(InteractionArrived("w", "sales"), at=23)) == [("w", "junior")]
    check_pools(sim.engine)


def test_a_queue_can_change_channel_when_idle() -> None:
    sim = Sim(config([queue("q")], [agent("a", capacity={"voice": 1, "chat": 2})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(QueueConfigured(queue("q", channel="chat")), at=1)
    out = sim.do(InteractionArrived("x", "q"), at=2)
    assert offers(out) == [("x", "a")] and of_type(out, Offer)[0].channel == "chat"
    sim.do(OfferAccepted("x", "a"), at=3)
    assert offers(sim.do(InteractionArrived("y", "q"), at=4)) == [("y", "a")]  # room for two chats


# --- queues that escalate to a changed queue ---------------------------------------------------


def escalating() -> Sim:
    """`help` adds the agents of `experts` after 30 s; a generalist is free but not an expert."""
    cfg = config(
        [
            queue("experts", requires="expert >= 5"),
            queue(
                "help",
                requires="help >= 5",
                escalation=(step(30, EA.ADD_QUEUE, queue="experts"), step(300, EA.PRIORITY, priority=1)),
            ),
        ],
        [agent("generalist", skills={"expert": 2, "help": 1})],
    )
    sim = Sim(cfg)
    sim.do(AgentLoggedIn("generalist", ready=True), at=0)
    sim.do(InteractionArrived("early", "help"), at=0)
    sim.do(InteractionArrived("late", "help"), at=20)
    sim.run_until(40)  # early has escalated (experts' agents may take it), late not yet
    assert (sim.ix("early").step, sim.ix("late").step) == (1, 0)
    return sim


def test_escalation_to_a_queue_follows_its_new_requirement() -> None:
    sim = escalating()
    before = sim.ix("early").enqueued_at
    out = sim.do(QueueConfigured(queue("experts", requires="expert >= 2")), at=41)
    # The escalated call is offered at once to the agent the new requirement admits; the other
    # one waits for its own escalation.
    assert offers(out) == [("early", "generalist")]
    assert sim.ix("early").enqueued_at == before and sim.ix("late").state.value == "queued"
    check_pools(sim.engine)
    sim.do(OfferAccepted("early", "generalist"), at=42)
    sim.do(InteractionEnded("early"), at=43)
    out = sim.run_until(50)
    assert offers(out) == [("late", "generalist")]  # escalated at 50 to the new requirement
    assert sim.engine.queues["help"].step_exprs[1][1].text == "expert >= 2"


def test_a_narrowed_requirement_moves_escalated_calls_to_the_narrower_line() -> None:
    cfg = config(
        [
            queue("experts", requires="expert >= 2"),
            queue("help", requires="help >= 5", escalation=(step(30, EA.ADD_QUEUE, queue="experts"),)),
        ],
        [agent("g1", skills={"expert": 2}), agent("g2", skills={"expert": 8})],
    )
    sim = Sim(cfg)
    sim.do(InteractionArrived("x", "help"), at=0)
    sim.run_until(31)
    sim.do(QueueConfigured(queue("experts", requires="expert >= 5")), at=32)
    assert sim.engine.waiting("help") == 1
    sim.do(AgentLoggedIn("g1", ready=True), at=33)
    assert sim.engine.waiting("help") == 1  # g1 no longer qualifies
    assert offers(sim.do(AgentLoggedIn("g2", ready=True), at=34)) == [("x", "g2")]


def test_the_requirement_of_a_queue_another_escalates_to_still_needs_it_idle() -> None:
    sim = escalating()
    sim.do(InteractionArrived("e", "experts"), at=41)  # experts itself is busy now
    sim.refused(QueueConfigured(queue("experts", requires="expert >= 2")), QUEUE_BUSY)


# --- removing a queue -------------------------------------------------------------------------


def test_queue_removal_rules() -> None:
    cfg = config(
        [
            queue("main", overflow_to="spill"),
            queue("spill"),
            queue("help", escalation=(step(30, EA.ADD_QUEUE, queue="extra"),)),
            queue("extra"),
            queue("self", escalation=(step(30, EA.ADD_QUEUE, queue="self"),)),
        ],
        [agent("a")],
    )
    sim = Sim(cfg)
    sim.refused(QueueRemoved("nowhere"), UNKNOWN_QUEUE)
    err = sim.refused(QueueRemoved("spill"), QUEUE_IN_USE)
    assert err.context["referring"] == ["main"]
    sim.refused(QueueRemoved("extra"), QUEUE_IN_USE)
    sim.do(InteractionArrived("x", "self"), at=1)
    sim.refused(QueueRemoved("self"), QUEUE_BUSY)
    sim.do(CustomerAbandoned("x"), at=2)
    assert sim.do(QueueRemoved("self"), at=3) == []  # escalating to itself does not count
    assert "self" not in sim.engine.queues and "self" not in sim.engine.snapshot()["waiting"]
    assert sim.engine.stats.queue_sum(["self"])[0] == 1  # its figures stay
    check_pools(sim.engine)
    sim.refused(InteractionArrived("y", "self"), UNKNOWN_QUEUE)
    with pytest.raises(DomainError):
        sim.engine.waiting("self")
    # Remove the referrer first, then the queue it named.
    sim.do(QueueRemoved("main"), at=4)
    sim.do(QueueRemoved("spill"), at=4)
    sim.do(QueueConfigured(queue("help")), at=5)  # no more escalation
    sim.do(QueueRemoved("extra"), at=5)
    assert sorted(sim.engine.queues) == ["help"]
    # A removed queue can come back under the same id.
    sim.do(QueueConfigured(queue("self")), at=6)
    sim.do(AgentLoggedIn("a", ready=True), at=7)
    assert offers(sim.do(InteractionArrived("z", "self"), at=8)) == [("z", "a")]


def test_a_queue_cannot_be_removed_while_a_transfer_to_it_waits() -> None:
    sim = Sim(config([queue("a"), queue("b")], [agent("x")]))
    sim.do(AgentLoggedIn("x", ready=True), at=0)
    sim.do(InteractionArrived("i", "a"), at=1)
    sim.do(OfferAccepted("i", "x"), at=2)
    sim.do(TransferToQueue("i", "b"), at=3)
    sim.refused(QueueRemoved("b"), QUEUE_BUSY)


# --- checking a queue's configuration ---------------------------------------------------------


def bad_queues() -> list[tuple[str, QueueConfig]]:
    return [
        ("account", queue("n", account="nobody")),
        ("channel", queue("n", channel="fax")),
        ("direction", queue("n", direction="sideways")),
        ("offer_timeout", queue("n", offer_timeout=0.0)),
        ("max_wait", queue("n", max_wait=-1.0)),
        ("sl_threshold", queue("n", sl_threshold=float("nan"))),
        ("sl_target", queue("n", sl_target=1.5)),
        ("max_length", queue("n", max_length=-1)),
        ("hours.timezone", queue("n", hours=OpeningHours("Mars/Olympus", {0: [(time(8), time(9))]}))),
        ("hours.weekly", queue("n", hours=OpeningHours("UTC", {7: [(time(8), time(9))]}))),
        ("escalation[0].queue", queue("n", escalation=(step(10, EA.ADD_QUEUE, queue="nowhere"),))),
        (
            "escalation[1].after",
            queue("n", escalation=(step(10, EA.PRIORITY, priority=1), step(10, EA.CALLBACK))),
        ),
        ("escalation[0].requires", queue("n", escalation=(step(10, EA.REQUIRE),))),
        ("escalation[0].priority", queue("n", escalation=(step(10, EA.PRIORITY),))),
        ("overflow_to", queue("n", overflow_to="nowhere")),
        ("overflow_to", queue("n", overflow_to="n")),
        ("dispositions", queue("n", dispositions=frozenset({"sale", "bogus"}))),
        ("require_disposition", queue("n", require_disposition=True, dispositions=frozenset())),
        ("requires", queue("n", requires="wizardry >= 3")),
    ]


@pytest.mark.parametrize(
    ("where", "bad"), bad_queues(), ids=[f"{w}-{i}" for i, (w, _) in enumerate(bad_queues())]
)
def test_a_queue_that_cannot_work_is_refused(where: str, bad: QueueConfig) -> None:
    cfg = config(
        [queue("q")],
        [agent("a", skills={"sales": 3})],
        dispositions=[disposition("sale")],
        skills=frozenset({"sales"}),
    )
    sim = Sim(cfg)
    err = sim.refused(QueueConfigured(bad), INVALID_CONFIG)
    assert err.context["where"] == where, str(err)
    assert "n" not in sim.engine.queues


def test_a_queue_may_escalate_to_itself_and_to_a_queue_that_exists() -> None:
    sim = Sim(config([queue("q", requires="sales >= 1")], [agent("a", skills={"sales": 9})]))
    sim.do(
        QueueConfigured(
            queue(
                "n",
                requires="sales >= 5",
                escalation=(
                    step(10, EA.REQUIRE, requires="sales >= 8"),
                    step(20, EA.ADD_QUEUE, queue="n"),  # brings `sales >= 5` back in
                    step(30, EA.ADD_QUEUE, queue="q"),
                ),
            )
        )
    )
    assert [tuple(e.text for e in s) for s in sim.engine.queues["n"].step_exprs] == [
        ("sales >= 5",),
        ("sales >= 8",),
        ("sales >= 8", "sales >= 5"),
        ("sales >= 8", "sales >= 5", "sales >= 1"),
    ]


def test_a_queue_requiring_a_disposition_needs_one_defined() -> None:
    sim = empty_sim()
    sim.do(AccountConfigured(Account("acme")))
    sim.refused(QueueConfigured(queue("q", require_disposition=True)), INVALID_CONFIG)
    sim.do(DispositionConfigured(disposition("done")))
    sim.do(QueueConfigured(queue("q", require_disposition=True)))
    err = sim.refused(DispositionRemoved("done"), DISPOSITION_IN_USE)
    assert err.context["queue"] == "q"


# --- dispositions -----------------------------------------------------------------------------


def registering() -> Sim:
    sim = Sim(config([queue("q", wrap_up=WrapUp(WrapUpMode.AGENT, 0.0))], [agent("a")]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(OfferAccepted("x", "a"), at=2)
    return sim


def test_a_disposition_added_at_run_time_can_be_used() -> None:
    sim = registering()
    sim.refused(DispositionSet("x", "sale"), UNKNOWN_DISPOSITION)
    sim.do(DispositionConfigured(disposition("sale", "sale")), at=3)
    sim.do(DispositionSet("x", "sale"), at=4)
    sim.do(DispositionConfigured(disposition("callback", "callback")), at=5)
    sim.do(InteractionEnded("x"), at=6)
    sim.do(WrapUpCompleted("x", "callback"), at=7)
    assert sim.engine.stats.dispositions == {"q": {"callback": 1}}


def test_a_disposition_can_be_restricted_to_an_account_and_removed() -> None:
    sim = registering()
    sim.do(AccountConfigured(Account("globex")))
    sim.do(DispositionConfigured(disposition("sale", "sale")))
    sim.refused(DispositionConfigured(disposition("vip", account="initech")), INVALID_CONFIG)
    sim.do(DispositionConfigured(disposition("sale", "sale", account="globex")))  # replaced
    sim.refused(DispositionSet("x", "sale"), UNKNOWN_DISPOSITION)  # q belongs to acme
    sim.refused(DispositionRemoved("nothing"), UNKNOWN_DISPOSITION)
    sim.do(DispositionRemoved("sale"))
    assert "sale" not in sim.engine.dispositions


def test_a_disposition_a_queue_offers_cannot_be_removed() -> None:
    cfg = config(
        [queue("q", dispositions=frozenset({"sale", "no_sale"}))],
        dispositions=[disposition("sale"), disposition("no_sale"), disposition("spam")],
    )
    sim = Sim(cfg)
    err = sim.refused(DispositionRemoved("sale"), DISPOSITION_IN_USE)
    assert err.context == {"disposition": "sale", "queue": "q"}
    sim.do(DispositionRemoved("spam"))
    sim.do(QueueConfigured(queue("q", dispositions=frozenset({"no_sale"}))))  # not a routing change
    sim.do(DispositionRemoved("sale"))
    assert sorted(sim.engine.dispositions) == ["no_sale"]


# --- agents -----------------------------------------------------------------------------------


def test_an_agent_who_gains_a_skill_is_offered_a_waiting_call_at_once() -> None:
    sim = Sim(config([queue("sales", requires="sales >= 5")], [agent("a", skills={"sales": 3})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "sales"), at=1)
    out = sim.do(AgentUpdated(agent("a", skills={"sales": 6}, name="Ann", team="t2", site="ams")), at=2)
    assert offers(out) == [("x", "a")]
    a = sim.agent("a")
    assert (a.name, a.team, a.site, a.skills) == ("Ann", "t2", "ams", {"sales": 6})
    check_pools(sim.engine)


def test_an_agent_who_loses_a_skill_leaves_the_pool() -> None:
    sim = Sim(config([queue("sales", requires="sales >= 5")], [agent("a", skills={"sales": 6})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(AgentUpdated(agent("a", skills={"sales": 2})), at=1)
    assert offers(sim.do(InteractionArrived("x", "sales"), at=2)) == []
    check_pools(sim.engine)


def test_site_team_and_account_are_seen_by_requirements() -> None:
    sim = Sim(
        config(
            [queue("q", requires='agent.site == "ams" and agent.account == "globex" and agent.team == "t"')],
            [agent("a")],
        )
    )
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    assert offers(sim.do(AgentUpdated(agent("a", site="ams", team="t")), at=2)) == []
    out = sim.do(AgentUpdated(agent("a", site="ams", team="t", account="globex")), at=3)
    assert offers(out) == [("x", "a")]


def test_a_team_change_splits_the_agents_time_between_the_teams() -> None:
    sim = Sim(config([queue("q")], [agent("a", team="old")]))
    sim.do(AgentLoggedIn("a"), at=0)  # not ready
    sim.do(AgentUpdated(agent("a", team="new")), at=100)
    sim.do(AgentReady("a"), at=160)
    stats = sim.engine.stats
    assert team_figures(stats.team_sum(["old"]))["not_ready_seconds"] == 100
    assert team_figures(stats.team_sum(["new"]))["not_ready_seconds"] == 60


def test_capacity_changes_only_while_logged_out() -> None:
    sim = Sim(config([queue("chat", channel="chat")], [agent("a")]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    wider = agent("a", capacity={"voice": 1, "chat": 2})
    err = sim.refused(AgentUpdated(wider), AGENT_BUSY)
    assert err.context == {"agent": "a"}
    sim.do(AgentUpdated(agent("a", capacity={"voice": 1, "chat": 0})), at=1)  # the same capacity
    sim.do(AgentNotReady("a"), at=2)
    sim.refused(AgentUpdated(wider), AGENT_BUSY)
    sim.do(AgentLoggedOut("a"), at=3)
    sim.do(AgentUpdated(wider), at=4)
    sim.do(AgentLoggedIn("a", ready=True), at=5)
    sim.do(InteractionArrived("x", "chat"), at=6)
    sim.do(OfferAccepted("x", "a"), at=7)
    assert offers(sim.do(InteractionArrived("y", "chat"), at=8)) == [("y", "a")]
    check_pools(sim.engine)


def test_agent_update_checks() -> None:
    sim = Sim(config([queue("q")], [agent("a")]))
    sim.refused(AgentUpdated(agent("nobody")), UNKNOWN_AGENT)
    sim.refused(AgentUpdated(agent("a", skills={"sales": 11})), INVALID_SKILL)
    sim.refused(AgentUpdated(agent("a", skills={"sales": -1})), INVALID_SKILL)
    sim.refused(AgentUpdated(agent("a", capacity={"voice": -1})), INVALID_CONFIG)


def test_agent_removal() -> None:
    sim = Sim(config([queue("q", requires="sales >= 1")], [agent("a", skills={"sales": 5}), agent("b")]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.refused(AgentRemoved("a"), AGENT_BUSY)
    sim.refused(AgentRemoved("nobody"), UNKNOWN_AGENT)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(OfferAccepted("x", "a"), at=2)
    # A call transferred to b personally waits for b (logged out): b stays until it is gone.
    sim.do(TransferToAgent("x", "b"), at=3)
    err = sim.refused(AgentRemoved("b"), AGENT_BUSY)
    assert err.context["interactions"] == ["x>@b"]
    sim.do(CustomerAbandoned("x>@b"), at=4)
    sim.do(AgentRemoved("b"), at=5)
    sim.run_until(100)  # a's wrap-up (none) is over
    sim.do(AgentLoggedOut("a"), at=101)
    assert sim.do(AgentRemoved("a"), at=102) == []
    assert sim.engine.agents == {}
    assert all(not p.members for p in sim.engine.pools.values())
    assert not any(k[:2] == ("agent", "b") for k in sim.engine.pools)
    check_pools(sim.engine)
    sim.refused(AgentLoggedIn("a"), UNKNOWN_AGENT)
    # The id can be used again: a new agent, routed as any other.
    sim.do(AgentAdded(agent("a", skills={"sales": 2})), at=103)
    sim.do(AgentLoggedIn("a", ready=True), at=104)
    assert offers(sim.do(InteractionArrived("y", "q"), at=105)) == [("y", "a")]


# --- the log rebuilds configuration and state -------------------------------------------------


def test_replaying_a_log_with_configuration_events_rebuilds_the_same_engine() -> None:
    sim = empty_sim()
    setup(
        sim,
        AccountConfigured(Account("acme")),
        AccountConfigured(Account("globex")),
        DispositionConfigured(disposition("sale", "sale")),
        DispositionConfigured(disposition("spam", "resolved")),
        QueueConfigured(queue("experts", requires="expert >= 5")),
        QueueConfigured(
            queue(
                "help",
                requires="help >= 5",
                wrap_up=WrapUp(WrapUpMode.AGENT, 30.0),
                escalation=(step(30, EA.ADD_QUEUE, queue="experts"),),
                hours=OpeningHours("Europe/Amsterdam", {d: [(time(0), time(0))] for d in range(7)}),
            )
        ),
        AgentAdded(agent("g", skills={"expert": 2, "help": 1})),
        AgentAdded(agent("h", skills={"help": 7}, capacity={"voice": 1, "chat": 1})),
        AgentLoggedIn("g", ready=True),
    )
    sim.do(InteractionArrived("x", "help"), at=1)
    sim.do(InteractionArrived("y", "help"), at=2)
    sim.run_until(35)
    sim.do(QueueConfigured(queue("experts", requires="expert >= 2")), at=36)  # g takes x
    sim.do(OfferAccepted("x", "g"), at=37)
    sim.do(DispositionRemoved("spam"), at=38)
    sim.do(
        AgentUpdated(agent("h", skills={"help": 8}, team="night", capacity={"voice": 1, "chat": 1})), at=39
    )
    sim.do(AgentLoggedIn("h", ready=True), at=40)  # takes y
    sim.do(QueueConfigured(queue("chat", channel="chat", account="globex")), at=41)
    sim.do(QueueRemoved("chat"), at=42)
    sim.do(AgentAdded(agent("tmp")), at=43)
    sim.do(AgentRemoved("tmp"), at=44)
    sim.do(InteractionEnded("x"), at=50)
    sim.do(DispositionSet("x", "sale"), at=51)
    live = sim.engine
    assert live.log is not None
    replayed = Engine.replay(EMPTY, live.log)
    assert replayed.snapshot() == live.snapshot()
    assert replayed.snapshot()["config"]["queues"].keys() == {"experts", "help"}
    assert replayed.stats.queues == live.stats.queues and replayed.stats.teams == live.stats.teams


# --- properties -------------------------------------------------------------------------------


def config_events(cfg: EngineConfig) -> list[Event]:
    """The events that configure an empty engine like `cfg` (queues named by others first)."""
    return [
        *(AccountConfigured(a) for a in cfg.accounts),
        *(DispositionConfigured(d) for d in cfg.dispositions),
        *(QueueConfigured(q) for q in cfg.queues),
        *(AgentAdded(a) for a in cfg.agents),
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_configured_by_events_behaves_like_configured_at_start(data: st.DataObject) -> None:
    """An empty engine given the configuration as events answers every later event exactly as an
    engine built with that configuration (same commands, same refusals, same state)."""
    trace = run(RICH, data.draw(logins), data.draw(actions), replay_every=0)
    start = EngineConfig(accounts=(), queues=(), dispositions=(), timezone=RICH.timezone)
    engine = Engine(start, log=EventLog())
    for event in config_events(RICH):
        assert engine.handle(event, 0.0) == []
    for event, now, expected in trace:
        try:
            got: Any = engine.handle(event, now)
        except DomainError as err:
            got = err.code
        assert got == expected, f"{event} at {now}: {got} != {expected}"
    reference = Engine.replay(RICH, [(now, e) for e, now, r in trace if not isinstance(r, str)])
    assert engine.snapshot() == reference.snapshot()


# Random reconfiguration among ordinary traffic: after every event no free agent may be eligible for
# a waiting interaction (judged from the configuration in force, independently of the engine's
# routing index); a refused event changes nothing; the log rebuilds the same engine.
SKILLS = ("sales", "support", "nl")
REQUIREMENTS = ("sales >= 5", "sales >= 1", "support >= 2 or nl >= 5", "true", 'agent.site == "ams"')
PROPERTY_START = config(
    [
        queue("base", requires="support >= 1"),
        queue("sales", requires="sales >= 5", escalation=(step(20, EA.ADD_QUEUE, queue="base"),)),
        queue("mail", channel="email", requires="nl >= 3", wrap_up=WrapUp(WrapUpMode.FIXED, 5.0)),
    ],
    [
        agent("a1", skills={"sales": 6}, capacity={"voice": 1, "email": 2}),
        agent("a2", skills={"support": 3, "nl": 6}, site="ams", capacity={"voice": 1, "email": 1}),
        agent("a3", skills={"sales": 2}),
    ],
    interaction_selection=InteractionSelection.LONGEST_WAITING,
)

Step = tuple[str, int, int, float]
steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "arrive",
                "arrive",
                "login",
                "ready",
                "accept",
                "end",
                "timer",
                "timer",
                "abandon",
                "logout",
                "agent_update",
                "agent_remove",
                "agent_add",
                "queue_requires",
                "queue_settings",
                "queue_add",
                "queue_remove",
            ]
        ),
        st.integers(0, 50),
        st.integers(0, 50),
        st.floats(0, 15),
    ),
    min_size=5,
    max_size=50,
)


def eligible(engine: Engine, agent_: Any, ix: Any) -> bool:
    """Whether the configuration in force lets `agent_` take `ix` at its escalation step."""
    if ix.personal_agent is not None:
        return bool(agent_.id == ix.personal_agent)
    qc = engine.queues[ix.queue].config
    exprs: list[Expression] = [qc.requires]
    for s in qc.escalation[: ix.step]:
        if s.action is EA.REQUIRE and s.requires is not None:
            exprs = [s.requires]
        elif s.action is EA.ADD_QUEUE and s.queue is not None:
            exprs.append(engine.queues[s.queue].config.requires)
    return any(e.matches(agent_, ix.attributes) for e in exprs)


def choose(items: list[Any], i: int) -> Any:
    return items[i % len(items)] if items else None


def make_event(engine: Engine, kind: str, i: int, j: int, n: int, timers: dict[int, float]) -> Event | None:
    agents = sorted(engine.agents)
    queues = sorted(engine.queues)
    ixs = sorted(engine.interactions)
    offered = [k for k in ixs if engine.interactions[k].state.value == "offered"]
    connected = [k for k in ixs if engine.interactions[k].state.value == "connected"]
    if kind == "arrive" and queues:
        return InteractionArrived(f"i{n}", choose(queues, i))
    if kind == "login" and agents:
        return AgentLoggedIn(choose(agents, i), ready=True)
    if kind == "ready" and agents:
        return AgentReady(choose(agents, i))
    if kind == "logout" and agents:
        return AgentLoggedOut(choose(agents, i))
    if kind == "accept" and offered:
        iid = choose(offered, i)
        return OfferAccepted(iid, engine.interactions[iid].agent or "")
    if kind == "end" and connected:
        return InteractionEnded(choose(connected, i))
    if kind == "abandon" and ixs:
        return CustomerAbandoned(choose(ixs, i))
    if kind == "timer" and timers:
        return TimerFired(min(timers, key=lambda t: (timers[t], t)))
    if kind == "agent_update" and agents:
        a = engine.agents[choose(agents, i)]
        skills = dict(a.skills)
        skills[SKILLS[j % 3]] = (i + j) % 10
        capacity = dict(a.capacity) if j % 4 else {"voice": 1, "email": j % 3}
        return AgentUpdated(AgentConfig(a.id, a.account, skills, capacity, site=("ams", "utr")[i % 2]))
    if kind == "agent_remove" and agents:
        return AgentRemoved(choose(agents, i))
    if kind == "agent_add":
        return AgentAdded(agent(f"n{n}", skills={SKILLS[i % 3]: j % 10}, site=("ams", "utr")[j % 2]))
    if kind in ("queue_requires", "queue_settings") and queues:
        qc = engine.queues[choose(queues, i)].config
        if kind == "queue_requires":
            new = dataclasses.replace(qc, requires=parse(REQUIREMENTS[j % len(REQUIREMENTS)]))
        else:
            new = dataclasses.replace(qc, priority=j % 3, offer_timeout=5.0 + j, sl_threshold=float(j))
        return QueueConfigured(new)
    if kind == "queue_add":
        escalation = (step(10, EA.ADD_QUEUE, queue=choose(queues, j)),) if queues and j % 2 else ()
        return QueueConfigured(
            queue(f"q{i % 4}", requires=REQUIREMENTS[j % len(REQUIREMENTS)], escalation=escalation)
        )
    if kind == "queue_remove" and queues:
        return QueueRemoved(choose(queues, i))
    return None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_reconfiguration_keeps_the_routing_invariant(plan: list[Step]) -> None:
    engine = Engine(PROPERTY_START, log=EventLog())
    timers: dict[int, float] = {}
    now = 0.0
    for n, (kind, i, j, dt) in enumerate(plan):
        now += dt
        event = make_event(engine, kind, i, j, n, timers)
        if event is None:
            continue
        if isinstance(event, TimerFired):
            now = max(now, timers[event.timer])
        before = engine.snapshot()
        try:
            out = engine.handle(event, now)
        except DomainError as err:
            assert engine.snapshot() == before, f"{event} refused ({err.code}) but the state changed"
            continue
        if isinstance(event, TimerFired):
            del timers[event.timer]
        for c in out:
            if isinstance(c, StartTimer):
                timers[c.timer] = c.at
            elif isinstance(c, CancelTimer):
                timers.pop(c.timer, None)
        for ix in engine.interactions.values():
            if ix.state.value != "queued":
                continue
            for a in engine.agents.values():
                assert not (a.can_take(ix.channel) and eligible(engine, a, ix)), (
                    f"after {event}: {a.id} is free and eligible while {ix.id} waits"
                )
        check_pools(engine)
    assert engine.log is not None
    assert Engine.replay(PROPERTY_START, engine.log).snapshot() == engine.snapshot()
