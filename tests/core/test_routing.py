"""Routing: which agent gets an interaction (five strategies), which interaction a free agent gets
(priority with aging, longest waiting, service-level urgency, FIFO), requirement expressions in
routing, and the routing target's lazy heaps."""

from __future__ import annotations

import heapq
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from centrale.core.agent import Agent, AgentState
from centrale.core.commands import Offer
from centrale.core.config import AgentSelection, InteractionSelection, WrapUp, WrapUpMode
from centrale.core.events import (
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    AgentSkillsChanged,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
)
from centrale.core.interaction import Interaction, InteractionState
from centrale.core.routing import Pool, Target

from .conftest import Sim, agent, config, of_type, queue


def offered_to(out: list) -> str | None:
    offers = of_type(out, Offer)
    assert len(offers) <= 1
    return offers[0].agent if offers else None


def handle(sim: Sim, iid: str, agent_id: str, start: float, end: float, q: str = "q") -> None:
    """Arrive, accept and end one call with `agent_id` (who must be the one offered)."""
    assert offered_to(sim.do(InteractionArrived(iid, q), at=start)) == agent_id
    sim.do(OfferAccepted(iid, agent_id), at=start)
    sim.do(InteractionEnded(iid), at=end)


# --- agent selection ---------------------------------------------------------------------------------
def test_longest_idle_picks_the_agent_ready_the_longest() -> None:
    sim = Sim(config([queue(agent_selection=AgentSelection.LONGEST_IDLE)], [agent(a) for a in "abc"]))
    sim.do(AgentLoggedIn("c", ready=True), at=1)
    sim.do(AgentLoggedIn("a", ready=True), at=2)
    sim.do(AgentLoggedIn("b", ready=True), at=3)
    assert offered_to(sim.do(InteractionArrived("x1", "q"), at=10)) == "c"
    assert offered_to(sim.do(InteractionArrived("x2", "q"), at=10)) == "a"
    assert offered_to(sim.do(InteractionArrived("x3", "q"), at=10)) == "b"


def test_most_skilled_picks_the_highest_proficiency_then_longest_idle() -> None:
    agents = [
        agent("low", skills={"sales": 2}),
        agent("high", skills={"sales": 9}),
        agent("mid", skills={"sales": 5}),
        agent("high2", skills={"sales": 9}),
    ]
    sim = Sim(config([queue(requires="sales >= 1", agent_selection=AgentSelection.MOST_SKILLED)], agents))
    for t, a in enumerate(["low", "high2", "mid", "high"]):
        sim.do(AgentLoggedIn(a, ready=True), at=t)
    # high and high2 are both 9: high2 has been idle longer
    assert offered_to(sim.do(InteractionArrived("x1", "q"), at=10)) == "high2"
    assert offered_to(sim.do(InteractionArrived("x2", "q"), at=10)) == "high"
    assert offered_to(sim.do(InteractionArrived("x3", "q"), at=10)) == "mid"
    assert offered_to(sim.do(InteractionArrived("x4", "q"), at=10)) == "low"


def test_most_skilled_uses_the_skill_the_task_asks_for() -> None:
    agents = [agent("nl", skills={"nl": 9, "en": 3}), agent("en", skills={"nl": 3, "en": 9})]
    q = queue(requires="skill[task.language] >= 1", agent_selection=AgentSelection.MOST_SKILLED)
    sim = Sim(config([q], agents))
    sim.do(AgentLoggedIn("nl", ready=True), at=0)
    sim.do(AgentLoggedIn("en", ready=True), at=1)
    assert offered_to(sim.do(InteractionArrived("x", "q", attributes={"language": "en"}), at=5)) == "en"


def test_round_robin_takes_turns_regardless_of_idle_time() -> None:
    sim = Sim(config([queue(agent_selection=AgentSelection.ROUND_ROBIN)], [agent(a) for a in "abc"]))
    for a in "abc":
        sim.do(AgentLoggedIn(a, ready=True), at=0)
    handle(sim, "x1", "a", 10, 11)
    handle(sim, "x2", "b", 20, 21)
    # a has been idle longest (since 11) but c has not had a turn yet
    handle(sim, "x3", "c", 30, 31)
    handle(sim, "x4", "a", 40, 41)
    handle(sim, "x5", "b", 50, 51)


def test_fewest_contacts_picks_the_agent_with_fewest_handled_today() -> None:
    sim = Sim(config([queue(agent_selection=AgentSelection.FEWEST_CONTACTS)], [agent(a) for a in "ab"]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    handle(sim, "x1", "a", 1, 2)
    handle(sim, "x2", "a", 3, 4)
    sim.do(AgentLoggedIn("b", ready=True), at=5)
    handle(sim, "x3", "b", 6, 7)
    # a has been idle longer (since 4) but has handled 2, b only 1
    handle(sim, "x4", "b", 8, 9)
    # now 2 each: longest idle decides (a since 4, b since 9)
    handle(sim, "x5", "a", 10, 11)


def test_least_occupied_picks_the_agent_with_the_lowest_occupancy() -> None:
    sim = Sim(config([queue(agent_selection=AgentSelection.LEAST_OCCUPIED)], [agent(a) for a in "ab"]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(AgentLoggedIn("b", ready=True), at=0)
    handle(sim, "x1", "a", 10, 100)  # a: 90 s of 100 logged in busy
    sim.do(AgentNotReady("b"), at=100)  # b: 0 s busy of 100
    sim.do(AgentReady("b"), at=110)
    sim.do(AgentNotReady("a"), at=120)
    sim.do(AgentReady("a"), at=130)
    # b is the more recently idle one, so only occupancy can make it the choice
    sim.do(AgentNotReady("b"), at=140)
    sim.do(AgentReady("b"), at=150)
    assert sim.agent("a").occupancy() > sim.agent("b").occupancy()
    assert sim.agent("a").idle_since < sim.agent("b").idle_since
    assert offered_to(sim.do(InteractionArrived("x2", "q"), at=200)) == "b"


# --- interaction selection ----------------------------------------------------------------------
def test_fifo_within_equal_priority() -> None:
    sim = Sim(config([queue()], [agent("a")]))
    for i, t in enumerate([1, 2, 2, 3]):
        sim.do(InteractionArrived(f"x{i}", "q"), at=t)
    sim.do(AgentLoggedIn("a", ready=True), at=5)
    order = []
    for t in range(4):
        (offer,) = of_type(sim.commands, Offer)[t : t + 1]
        order.append(offer.interaction)
        sim.do(OfferAccepted(offer.interaction, "a"), at=10 + t * 10)
        sim.do(InteractionEnded(offer.interaction), at=15 + t * 10)
    assert order == ["x0", "x1", "x2", "x3"]


def test_priority_with_aging() -> None:
    # one priority point is worth 60 s of waiting
    sim = Sim(config([queue()], [agent("a")], aging_seconds_per_priority=60.0))
    sim.do(InteractionArrived("old", "q", priority=0), at=0)
    sim.do(InteractionArrived("vip", "q", priority=1), at=30)  # 30 s later but 60 s ahead
    sim.do(InteractionArrived("late_vip", "q", priority=1), at=100)  # 100 s later: aging wins for old
    sim.do(AgentLoggedIn("a", ready=True), at=200)
    assert of_type(sim.commands, Offer)[-1].interaction == "vip"
    sim.do(OfferAccepted("vip", "a"), at=201)
    sim.do(InteractionEnded("vip"), at=202)
    assert of_type(sim.commands, Offer)[-1].interaction == "old"


def two_queues(selection: InteractionSelection) -> Sim:
    queues = [queue("q1", sl_threshold=20.0), queue("q2", sl_threshold=60.0)]
    return Sim(config(queues, [agent("a")], interaction_selection=selection))


def test_priority_aging_across_queues_prefers_priority() -> None:
    sim = two_queues(InteractionSelection.PRIORITY_AGING)
    sim.do(InteractionArrived("x", "q2", priority=0), at=0)
    sim.do(InteractionArrived("y", "q1", priority=5), at=10)
    assert offered_to(sim.do(AgentLoggedIn("a", ready=True), at=30)) == "a"
    assert of_type(sim.commands, Offer)[-1].interaction == "y"


def test_longest_waiting_across_queues_ignores_priority() -> None:
    sim = two_queues(InteractionSelection.LONGEST_WAITING)
    sim.do(InteractionArrived("x", "q2", priority=0), at=0)
    sim.do(InteractionArrived("y", "q1", priority=5), at=10)
    sim.do(AgentLoggedIn("a", ready=True), at=30)
    assert of_type(sim.commands, Offer)[-1].interaction == "x"


def test_service_level_urgency_prefers_the_largest_share_of_threshold_used() -> None:
    sim = two_queues(InteractionSelection.SERVICE_LEVEL_URGENCY)
    sim.do(InteractionArrived("x", "q2"), at=0)  # at 30: 30/60 of its threshold used
    sim.do(InteractionArrived("y", "q1"), at=10)  # at 30: 20/20 used
    sim.do(AgentLoggedIn("a", ready=True), at=30)
    assert of_type(sim.commands, Offer)[-1].interaction == "y"


def test_longest_waiting_is_the_control_for_urgency() -> None:
    sim = two_queues(InteractionSelection.LONGEST_WAITING)
    sim.do(InteractionArrived("x", "q2"), at=0)
    sim.do(InteractionArrived("y", "q1"), at=10)
    sim.do(AgentLoggedIn("a", ready=True), at=30)
    assert of_type(sim.commands, Offer)[-1].interaction == "x"


# --- expressions in routing ----------------------------------------------------------------------
def test_task_language_routes_to_agents_with_that_language() -> None:
    agents = [agent("nl", skills={"nl": 7}), agent("en", skills={"en": 7}), agent("weak", skills={"en": 3})]
    sim = Sim(config([queue(requires="skill[task.language] >= 5")], agents))
    for a in ["weak", "nl", "en"]:
        sim.do(AgentLoggedIn(a, ready=True), at=0)
    assert offered_to(sim.do(InteractionArrived("e", "q", attributes={"language": "en"}), at=1)) == "en"
    assert offered_to(sim.do(InteractionArrived("n", "q", attributes={"language": "nl"}), at=2)) == "nl"
    assert offered_to(sim.do(InteractionArrived("e2", "q", attributes={"language": "en"}), at=3)) is None
    assert offered_to(sim.do(InteractionArrived("f", "q", attributes={"language": "fr"}), at=4)) is None
    assert offered_to(sim.do(InteractionArrived("none", "q"), at=5)) is None


def test_a_waiting_interaction_goes_only_to_an_agent_matching_its_attributes() -> None:
    agents = [agent("nl", skills={"nl": 7}), agent("en", skills={"en": 7})]
    sim = Sim(config([queue(requires="skill[task.language] >= 5")], agents))
    sim.do(InteractionArrived("e", "q", attributes={"language": "en"}), at=0)
    sim.do(InteractionArrived("n", "q", attributes={"language": "nl"}), at=1)
    assert of_type(sim.do(AgentLoggedIn("nl", ready=True), at=5), Offer) == [Offer("n", "nl", "voice", 15.0)]
    assert of_type(sim.do(AgentLoggedIn("en", ready=True), at=6), Offer) == [Offer("e", "en", "voice", 15.0)]


def test_agent_site_and_attribute_lists() -> None:
    agents = [
        agent("u", skills={"sales": 9}, site="utrecht"),
        agent("x", skills={"sales": 1}, site="amsterdam"),
    ]
    q = queue(requires='agent.site == "amsterdam" and task.segment in ["gold", "platinum"]')
    sim = Sim(config([q], agents))
    sim.do(AgentLoggedIn("u", ready=True), at=0)
    sim.do(AgentLoggedIn("x", ready=True), at=1)
    assert offered_to(sim.do(InteractionArrived("g", "q", attributes={"segment": "gold"}), at=2)) == "x"
    assert offered_to(sim.do(InteractionArrived("b", "q", attributes={"segment": "bronze"}), at=3)) is None


def test_agent_lacking_the_skill_never_gets_the_interaction() -> None:
    sim = Sim(config([queue(requires="sales >= 5")], [agent("a", skills={"sales": 4})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.run_until(1000)
    assert sim.ix_state("x") == "queued"
    assert of_type(sim.commands, Offer) == []


def test_agent_without_capacity_for_the_channel_never_gets_it() -> None:
    q = queue(channel="email")
    sim = Sim(config([q], [agent("a", capacity={"voice": 1})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    assert sim.ix_state("x") == "queued"


def test_skill_change_makes_a_waiting_interaction_reachable() -> None:
    sim = Sim(config([queue(requires="sales >= 5")], [agent("a", skills={"sales": 4})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    out = sim.do(AgentSkillsChanged("a", {"sales": 6}), at=2)
    assert of_type(out, Offer) == [Offer("x", "a", "voice", 15.0)]
    sim.refused(AgentSkillsChanged("a", {"sales": 11}), "agent.invalid_skill")


# --- Target --------------------------------------------------------------------------------------
def mk_agent(id: str, seq: int, idle_since: float) -> Agent:
    a = Agent(id=id, account="acme", team="", site="", skills={}, capacity={"voice": 1}, seq=seq)
    a.state = AgentState.READY
    a.idle_since = idle_since
    return a


def mk_ix(id: str, seq: int) -> Interaction:
    return Interaction(
        id=id,
        queue="q",
        account="acme",
        channel="voice",
        direction="inbound",
        priority=0,
        attributes={},
        arrived_at=float(seq),
        enqueued_at=float(seq),
        seq=seq,
    )


def mk_pool(selection: AgentSelection = AgentSelection.LONGEST_IDLE) -> Pool:
    return Pool(("k",), "voice", lambda a: True, lambda a: 0, selection)


def mk_target(selection: AgentSelection = AgentSelection.LONGEST_IDLE) -> Target:
    return Target(("k",), "q", mk_pool(selection), 20.0)


def test_pool_pops_the_best_agent_and_skips_stale_entries() -> None:
    t = mk_pool()
    a, b, c = mk_agent("a", 1, 30.0), mk_agent("b", 2, 10.0), mk_agent("c", 3, 20.0)
    for x in (a, b, c):
        t.push_agent(x, x.seq)
    b.version += 1  # b's availability changed since it was pushed
    c.state = AgentState.NOT_READY  # c cannot take work
    assert t.pop_agent() is a
    assert t.pop_agent() is None


def test_pool_ties_are_broken_by_agent_order() -> None:
    t = mk_pool()
    b, a = mk_agent("b", 2, 5.0), mk_agent("a", 1, 5.0)
    t.push_agent(b, b.seq)
    t.push_agent(a, a.seq)
    assert t.pop_agent() is a


def test_target_head_skips_interactions_that_left_the_line() -> None:
    t = mk_target()
    x, y, z = mk_ix("x", 1), mk_ix("y", 2), mk_ix("z", 3)
    for ix in (x, y, z):
        ix.target = t
        ix.wait_token = 1
        t.push_interaction(ix, ix.enqueued_at, 1)
    x.state = InteractionState.ABANDONED
    y.wait_token = 2  # re-entered the line elsewhere
    head = t.head()
    assert head is not None and head[3] is z
    t.pop_head()
    assert t.head() is None


def test_pool_compacts_stale_agents() -> None:
    t = mk_pool()
    a = mk_agent("a", 1, 0.0)
    t.members.append(a)
    for _ in range(200):
        a.version += 1
        t.push_agent(a, a.seq)
    assert t.entries() < 200
    assert t.pop_agent() is a


def test_wrap_up_agent_is_not_in_any_pool() -> None:
    sim = Sim(config([queue(wrap_up=WrapUp(WrapUpMode.FIXED, 30.0))], [agent("a"), agent("b")]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    handle(sim, "x", "a", 1, 5)
    sim.do(AgentLoggedIn("b", ready=True), at=6)
    assert offered_to(sim.do(InteractionArrived("y", "q"), at=7)) == "b"
    sim.do(OfferAccepted("y", "b"), at=7)
    assert offered_to(sim.do(InteractionArrived("z", "q"), at=8)) is None
    assert of_type(sim.run_until(35), Offer) == [Offer("z", "a", "voice", 15.0)]


# An action on a pool: push agent i (after it changed availability or not), or pop.
pool_actions = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(0, 5), st.booleans(), st.sampled_from([0.0, 1.0, 2.5, 3.0])),
        st.tuples(st.just("pop"), st.just(0), st.just(False), st.just(0.0)),
        st.tuples(st.just("busy"), st.integers(0, 5), st.just(False), st.just(0.0)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(actions=pool_actions, clock_runs_forward=st.booleans())
def test_pool_pops_agents_in_the_order_of_one_heap(
    actions: list[tuple[str, int, bool, float]], clock_runs_forward: bool
) -> None:
    """The pool's run-plus-heap gives exactly the agents one heap of all entries would give."""
    pool = mk_pool()
    agents = [mk_agent(f"a{i}", i + 1, 0.0) for i in range(6)]
    pool.members.extend(agents)
    reference: list[tuple[float, int, int, int]] = []  # (key, seq, version, index): one plain heap
    now = 0.0
    for kind, i, bump, t in actions:
        a = agents[i]
        if kind == "push":
            # Mostly agents freed now (keys in order), sometimes an older key (out of order).
            now = now + t if clock_runs_forward else t
            a.state = AgentState.READY
            if bump:
                a.version += 1
                a.idle_since = now
            pool.push_agent(a, a.seq)
            heapq.heappush(reference, (a.idle_since, a.seq, a.version, i))
        elif kind == "busy":
            a.state = AgentState.BUSY
            a.version += 1
        else:
            got = pool.pop_agent()
            expected: Any = None
            while reference:
                _, _, version, j = heapq.heappop(reference)
                if version == agents[j].version and agents[j].can_take("voice"):
                    expected = agents[j]
                    break
            assert got is expected
