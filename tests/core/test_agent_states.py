"""Agent lifecycle: login, ready / not ready with reasons, pending requests, RONA, reject, idle time.

Also: every move the agent transition table does not contain is refused with
``agent.illegal_transition`` and changes nothing — checked on the table itself and through the
engine's events from every agent state.
"""

from __future__ import annotations

import pytest

from centrale.core.agent import TRANSITIONS, AgentState, AgentTrigger, next_state
from centrale.core.commands import AgentStateChanged, Offer, RevokeOffer
from centrale.core.config import WrapUp, WrapUpMode
from centrale.core.errors import ILLEGAL_AGENT_TRANSITION, UNKNOWN_AGENT, DomainError
from centrale.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    OfferRejected,
    WrapUpCompleted,
)

from .conftest import Sim, agent, config, of_type, queue

AGENT_WRAP = WrapUp(WrapUpMode.AGENT, 60.0)


def one_queue(*agent_ids: str, **queue_kw: object) -> Sim:
    return Sim(config([queue("q", **queue_kw)], [agent(a) for a in agent_ids]))


# --- login / logout / ready / not ready -------------------------------------------------------------
def test_agents_start_logged_out() -> None:
    sim = one_queue("a")
    assert sim.state("a") == "logged_out"


def test_login_not_ready_has_reason_login() -> None:
    sim = one_queue("a")
    out = sim.do(AgentLoggedIn("a"), at=5)
    assert sim.state("a") == "not_ready"
    assert sim.agent("a").reason == "login"
    assert out == [AgentStateChanged("a", "not_ready", "login", 5)]


def test_login_ready() -> None:
    sim = one_queue("a")
    out = sim.do(AgentLoggedIn("a", ready=True), at=5)
    assert sim.state("a") == "ready"
    assert sim.agent("a").reason is None
    assert out == [AgentStateChanged("a", "ready", None, 5)]


def test_ready_then_not_ready_with_reason_codes() -> None:
    sim = one_queue("a")
    sim.do(AgentLoggedIn("a"), at=0)
    sim.do(AgentReady("a"), at=10)
    assert sim.state("a") == "ready"
    out = sim.do(AgentNotReady("a", "lunch"), at=20)
    assert (sim.state("a"), sim.agent("a").reason) == ("not_ready", "lunch")
    assert out == [AgentStateChanged("a", "not_ready", "lunch", 20)]
    # A new reason while not ready is a change of reason code.
    out = sim.do(AgentNotReady("a", "training"), at=30)
    assert (sim.state("a"), sim.agent("a").reason) == ("not_ready", "training")
    assert out == [AgentStateChanged("a", "not_ready", "training", 30)]


def test_not_ready_default_reason_is_break() -> None:
    sim = one_queue("a")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(AgentNotReady("a"), at=1)
    assert sim.agent("a").reason == "break"


def test_logout_from_ready_and_from_not_ready() -> None:
    sim = one_queue("a", "b")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(AgentLoggedIn("b"), at=0)
    sim.do(AgentLoggedOut("a"), at=10)
    sim.do(AgentLoggedOut("b"), at=10)
    assert sim.state("a") == sim.state("b") == "logged_out"
    # and back in
    sim.do(AgentLoggedIn("a", ready=True), at=20)
    assert sim.state("a") == "ready"


def test_logged_out_agent_gets_no_offer() -> None:
    sim = one_queue("a")
    out = sim.do(InteractionArrived("x", "q"), at=1)
    assert of_type(out, Offer) == []
    assert sim.ix_state("x") == "queued"


def test_not_ready_agent_gets_no_offer_and_ready_picks_up_waiting_work() -> None:
    sim = one_queue("a")
    sim.do(AgentLoggedIn("a"), at=0)
    assert of_type(sim.do(InteractionArrived("x", "q"), at=1), Offer) == []
    out = sim.do(AgentReady("a"), at=2)
    assert of_type(out, Offer) == [Offer("x", "a", "voice", 15.0)]
    assert sim.state("a") == "reserved"


def test_unknown_agent_is_refused() -> None:
    sim = one_queue("a")
    sim.refused(AgentLoggedIn("nobody"), UNKNOWN_AGENT)


# --- pending not ready / pending logout ---------------------------------------------------------------
def busy_agent(wrap: WrapUp = AGENT_WRAP) -> Sim:
    sim = one_queue("a", wrap_up=wrap)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(OfferAccepted("x", "a"), at=2)
    assert sim.state("a") == "busy"
    return sim


def test_not_ready_while_busy_is_pending_until_wrap_up_ends() -> None:
    sim = busy_agent()
    assert sim.do(AgentNotReady("a", "lunch"), at=3) == []
    assert (sim.state("a"), sim.agent("a").pending_reason) == ("busy", "lunch")
    sim.do(InteractionEnded("x"), at=10)
    assert sim.state("a") == "wrap_up"  # still pending during wrap-up
    out = sim.do(WrapUpCompleted("x"), at=20)
    assert (sim.state("a"), sim.agent("a").reason) == ("not_ready", "lunch")
    assert AgentStateChanged("a", "not_ready", "lunch", 20) in out
    assert sim.agent("a").pending_reason is None


def test_pending_not_ready_agent_gets_no_new_work() -> None:
    sim = busy_agent()
    sim.do(AgentNotReady("a", "lunch"), at=3)
    sim.do(InteractionArrived("y", "q"), at=4)
    sim.do(InteractionEnded("x"), at=10)
    out = sim.do(WrapUpCompleted("x"), at=20)
    assert of_type(out, Offer) == []
    assert sim.ix_state("y") == "queued"


def test_ready_while_busy_cancels_a_pending_not_ready() -> None:
    sim = busy_agent()
    sim.do(AgentNotReady("a", "lunch"), at=3)
    sim.do(AgentReady("a"), at=4)
    sim.do(InteractionEnded("x"), at=10)
    sim.do(WrapUpCompleted("x"), at=20)
    assert sim.state("a") == "ready"


def test_logout_while_busy_is_pending_until_wrap_up_ends() -> None:
    sim = busy_agent()
    assert sim.do(AgentLoggedOut("a"), at=3) == []
    assert sim.state("a") == "busy" and sim.agent("a").pending_logout
    sim.do(InteractionEnded("x"), at=10)
    assert sim.state("a") == "wrap_up"
    out = sim.do(WrapUpCompleted("x"), at=20)
    assert sim.state("a") == "logged_out"
    assert AgentStateChanged("a", "logged_out", None, 20) in out
    assert not sim.agent("a").pending_logout


def test_pending_logout_with_fixed_wrap_up_takes_effect_when_the_timer_ends_it() -> None:
    sim = busy_agent(WrapUp(WrapUpMode.FIXED, 30.0))
    sim.do(AgentLoggedOut("a"), at=3)
    sim.do(InteractionEnded("x"), at=10)
    sim.run_until(39)
    assert sim.state("a") == "wrap_up"
    sim.run_until(40)
    assert sim.state("a") == "logged_out"


def test_pending_logout_while_reserved_takes_effect_after_the_work() -> None:
    sim = one_queue("a")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(AgentLoggedOut("a"), at=2)
    assert sim.state("a") == "reserved"
    sim.do(OfferAccepted("x", "a"), at=3)
    sim.do(InteractionEnded("x"), at=9)  # no wrap-up configured: done at once
    assert sim.state("a") == "logged_out"


# --- RONA and reject -------------------------------------------------------------------------------
def test_rona_requeues_at_the_head_and_makes_the_agent_not_ready() -> None:
    sim = one_queue("a", "b", offer_timeout=15.0)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)  # offered to a
    sim.do(InteractionArrived("y", "q"), at=2)  # waits behind x
    out = sim.run_until(16)  # a does not answer
    assert RevokeOffer("x", "a") in out
    assert AgentStateChanged("a", "not_ready", "rona", 16) in out
    assert (sim.state("a"), sim.agent("a").reason) == ("not_ready", "rona")
    assert sim.ix_state("x") == "queued"
    assert sim.ix("x").enqueued_at == 1  # its place in line is kept
    # The next free agent gets x, not y which arrived later.
    out = sim.do(AgentLoggedIn("b", ready=True), at=20)
    assert of_type(out, Offer) == [Offer("x", "b", "voice", 15.0)]
    assert sim.ix_state("y") == "queued"


def test_rona_is_not_offered_straight_back_to_the_same_agent() -> None:
    sim = one_queue("a")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    out = sim.run_until(16)
    assert of_type(out, Offer) == []
    assert sim.ix("x").ronas == 1


def test_reject_requeues_and_makes_the_agent_not_ready_declined() -> None:
    sim = one_queue("a", "b")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(AgentLoggedIn("b"), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(InteractionArrived("y", "q"), at=2)
    out = sim.do(OfferRejected("x", "a"), at=3)
    assert RevokeOffer("x", "a") in out
    assert (sim.state("a"), sim.agent("a").reason) == ("not_ready", "declined")
    assert sim.ix_state("x") == "queued"
    assert sim.timers == {}  # the offer timer was cancelled
    out = sim.do(AgentReady("b"), at=4)
    assert of_type(out, Offer) == [Offer("x", "b", "voice", 15.0)]


def test_reject_by_another_agent_is_refused() -> None:
    sim = one_queue("a", "b")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.refused(OfferRejected("x", "b"), "interaction.not_assigned")
    sim.refused(OfferAccepted("x", "b"), "interaction.not_assigned")


# --- idle time ------------------------------------------------------------------------------------
def test_idle_since_is_the_moment_the_agent_became_ready() -> None:
    sim = one_queue("a", wrap_up=WrapUp(WrapUpMode.FIXED, 10.0))
    sim.do(AgentLoggedIn("a", ready=True), at=5)
    assert sim.agent("a").idle_since == 5
    sim.do(InteractionArrived("x", "q"), at=20)
    sim.do(OfferAccepted("x", "a"), at=21)
    assert sim.agent("a").idle_since == 5  # unchanged while working
    sim.do(InteractionEnded("x"), at=50)
    sim.run_until(60)
    assert sim.state("a") == "ready"
    assert sim.agent("a").idle_since == 60


def test_longest_idle_agent_gets_the_next_call() -> None:
    sim = one_queue("a", "b", "c")
    sim.do(AgentLoggedIn("b", ready=True), at=1)
    sim.do(AgentLoggedIn("c", ready=True), at=2)
    sim.do(AgentLoggedIn("a", ready=True), at=3)
    assert of_type(sim.do(InteractionArrived("x1", "q"), at=10), Offer)[0].agent == "b"
    assert of_type(sim.do(InteractionArrived("x2", "q"), at=11), Offer)[0].agent == "c"
    # a goes not ready and back: its idle time restarts at 13.
    sim.do(AgentNotReady("a"), at=12)
    sim.do(AgentReady("a"), at=13)
    sim.do(OfferAccepted("x1", "b"), at=14)
    sim.do(InteractionEnded("x1"), at=15)  # b ready again at 15
    assert sim.agent("b").idle_since == 15
    assert of_type(sim.do(InteractionArrived("x3", "q"), at=20), Offer)[0].agent == "a"
    assert of_type(sim.do(InteractionArrived("x4", "q"), at=21), Offer)[0].agent == "b"


# --- the table ------------------------------------------------------------------------------------
ALL_PAIRS = [(s, t) for s in AgentState for t in AgentTrigger]
ILLEGAL = [p for p in ALL_PAIRS if p not in TRANSITIONS]


def test_table_has_illegal_pairs_to_check() -> None:
    assert ILLEGAL and len(ILLEGAL) + len(TRANSITIONS) == len(ALL_PAIRS)


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL, ids=lambda v: v.value)
def test_every_illegal_table_move_raises(state: AgentState, trigger: AgentTrigger) -> None:
    with pytest.raises(DomainError) as info:
        next_state("a", state, trigger)
    assert info.value.code == ILLEGAL_AGENT_TRANSITION
    assert info.value.context == {"agent": "a", "state": state.value, "trigger": trigger.value}


@pytest.mark.parametrize(("state", "trigger"), sorted(TRANSITIONS, key=str), ids=lambda v: v.value)
def test_every_legal_table_move_returns_its_target(state: AgentState, trigger: AgentTrigger) -> None:
    assert next_state("a", state, trigger) is TRANSITIONS[(state, trigger)]


def test_working_states_cannot_be_left_by_request_directly() -> None:
    for w in (AgentState.RESERVED, AgentState.BUSY, AgentState.WRAP_UP):
        for t in (AgentTrigger.GO_READY, AgentTrigger.GO_NOT_READY, AgentTrigger.LOGOUT):
            assert TRANSITIONS[(w, t)] is w


def in_state(state: AgentState) -> Sim:
    """An engine with agent `a` in `state` (work in hand where the state needs it)."""
    sim = one_queue("a", wrap_up=AGENT_WRAP)
    if state is AgentState.LOGGED_OUT:
        return sim
    sim.do(AgentLoggedIn("a", ready=state is not AgentState.NOT_READY), at=0)
    if state in (AgentState.RESERVED, AgentState.BUSY, AgentState.WRAP_UP):
        sim.do(InteractionArrived("x", "q"), at=1)
    if state in (AgentState.BUSY, AgentState.WRAP_UP):
        sim.do(OfferAccepted("x", "a"), at=2)
    if state is AgentState.WRAP_UP:
        sim.do(InteractionEnded("x"), at=3)
    assert sim.state("a") == state.value
    return sim


# The agent triggers that come straight from an event.
EVENT_FOR = {
    AgentTrigger.LOGIN: AgentLoggedIn("a", ready=False),
    AgentTrigger.LOGIN_READY: AgentLoggedIn("a", ready=True),
    AgentTrigger.GO_READY: AgentReady("a"),
    AgentTrigger.GO_NOT_READY: AgentNotReady("a", "x"),
    AgentTrigger.LOGOUT: AgentLoggedOut("a"),
}
EXTERNAL_ILLEGAL = [(s, t) for s, t in ILLEGAL if t in EVENT_FOR]


@pytest.mark.parametrize(("state", "trigger"), EXTERNAL_ILLEGAL, ids=lambda v: v.value)
def test_engine_refuses_every_illegal_agent_event_and_changes_nothing(
    state: AgentState, trigger: AgentTrigger
) -> None:
    sim = in_state(state)
    sim.refused(EVENT_FOR[trigger], ILLEGAL_AGENT_TRANSITION)


@pytest.mark.parametrize("state", list(AgentState), ids=lambda v: v.value)
def test_engine_accepts_every_legal_agent_event(state: AgentState) -> None:
    for trigger, event in EVENT_FOR.items():
        if (state, trigger) in TRANSITIONS:
            sim = in_state(state)
            sim.do(event)
            # Requests in working states are remembered; the others move to the table's target.
            if state not in (AgentState.RESERVED, AgentState.BUSY, AgentState.WRAP_UP):
                assert sim.state("a") == TRANSITIONS[(state, trigger)].value
