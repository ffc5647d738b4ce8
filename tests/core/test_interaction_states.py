"""Interaction lifecycle: queued → offered → connected ⇄ held → wrap-up → done, and the outcomes
while waiting (abandoned, expired, overflowed).

Every move the interaction table does not contain is refused with ``interaction.illegal_transition``
(checked on the table, and through the engine's events from every reachable state) and the
engine's snapshot is unchanged afterwards.
"""

from __future__ import annotations

import pytest

from centrale.core.commands import (
    CancelTimer,
    Connect,
    Disconnect,
    InteractionFinished,
    InteractionQueued,
    Offer,
    RevokeOffer,
    StartTimer,
    WrapUpStarted,
)
from centrale.core.config import WrapUp, WrapUpMode
from centrale.core.errors import (
    ILLEGAL_INTERACTION_TRANSITION,
    NOT_ASSIGNED,
    UNKNOWN_INTERACTION,
    DomainError,
)
from centrale.core.events import (
    AgentLoggedIn,
    CallbackAccepted,
    CustomerAbandoned,
    DispositionSet,
    HoldEnded,
    HoldStarted,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    OfferRejected,
    TransferToQueue,
    WrapUpCompleted,
)
from centrale.core.interaction import (
    TERMINAL,
    TRANSITIONS,
    InteractionState,
    InteractionTrigger,
    next_state,
)

from .conftest import Sim, agent, config, of_type, queue

AGENT_WRAP = WrapUp(WrapUpMode.AGENT, 60.0)


def sim_with(*agent_ids: str, **queue_kw: object) -> Sim:
    return Sim(config([queue("q", **queue_kw), queue("q2")], [agent(a) for a in agent_ids]))


# --- the happy path ---------------------------------------------------------------------------------
def test_full_lifecycle_with_hold() -> None:
    sim = sim_with("a", wrap_up=AGENT_WRAP)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    out = sim.do(InteractionArrived("x", "q"), at=10)
    assert out[0] == InteractionQueued("x", "q", None)
    assert Offer("x", "a", "voice", 15.0) in out
    assert sim.ix_state("x") == "offered"
    offer_timer = sim.timer_for(out)

    out = sim.do(OfferAccepted("x", "a"), at=14)
    assert CancelTimer(offer_timer) in out
    assert Connect("x", "a", "voice", "q") in out
    assert sim.ix_state("x") == "connected" and sim.state("a") == "busy"

    sim.do(HoldStarted("x"), at=20)
    assert sim.ix_state("x") == "held"
    sim.do(HoldEnded("x"), at=30)
    assert sim.ix_state("x") == "connected"
    sim.do(HoldStarted("x"), at=40)
    out = sim.do(InteractionEnded("x"), at=45)  # ending while held closes the hold
    assert sim.ix("x").hold_seconds == 15
    assert WrapUpStarted("x", "a", "q", "agent", 60.0) in out
    assert sim.ix_state("x") == "wrap_up" and sim.state("a") == "wrap_up"

    out = sim.do(WrapUpCompleted("x"), at=50)
    assert InteractionFinished("x", "q", "done", None, "a") in out
    assert "x" not in sim.engine.interactions
    assert sim.state("a") == "ready"
    assert sim.engine.finished == {"done": 1}
    assert sim.timers == {}


def test_no_wrap_up_completes_at_once() -> None:
    sim = sim_with("a")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(OfferAccepted("x", "a"), at=2)
    out = sim.do(InteractionEnded("x"), at=3)
    assert of_type(out, WrapUpStarted) == []
    assert InteractionFinished("x", "q", "done", None, "a") in out
    assert sim.state("a") == "ready"


def test_duplicate_open_interaction_is_refused() -> None:
    sim = sim_with()
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.refused(InteractionArrived("x", "q"), "interaction.duplicate")


def test_unknown_queue_is_refused() -> None:
    sim = sim_with()
    sim.refused(InteractionArrived("x", "nope"), "queue.unknown")


# --- abandons -----------------------------------------------------------------------------------------
def test_abandon_while_queued() -> None:
    sim = sim_with()
    sim.do(InteractionArrived("x", "q"), at=1)
    out = sim.do(CustomerAbandoned("x"), at=9)
    assert out == [InteractionFinished("x", "q", "abandoned", None)]
    assert sim.engine.waiting("q") == 0
    assert sim.engine.finished == {"abandoned": 1}


def test_abandon_while_ringing_revokes_the_offer_and_frees_the_agent() -> None:
    sim = sim_with("a")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    out = sim.do(InteractionArrived("x", "q"), at=1)
    offer_timer = sim.timer_for(out)
    out = sim.do(CustomerAbandoned("x"), at=5)
    assert RevokeOffer("x", "a") in out
    assert CancelTimer(offer_timer) in out
    assert InteractionFinished("x", "q", "abandoned", None) in out
    assert sim.state("a") == "ready"
    assert sim.agent("a").offered == {}
    # The freed agent takes the next call straight away.
    assert of_type(sim.do(InteractionArrived("y", "q"), at=6), Offer) == [Offer("y", "a", "voice", 15.0)]


def test_abandoned_ringing_call_does_not_rona_later() -> None:
    sim = sim_with("a")
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(CustomerAbandoned("x"), at=5)
    sim.run_until(100)
    assert sim.state("a") == "ready"


# --- expiry (max_wait) ------------------------------------------------------------------------------
def test_max_wait_expires_a_waiting_interaction() -> None:
    sim = sim_with(max_wait=120.0)
    out = sim.do(InteractionArrived("x", "q"), at=10)
    assert StartTimer(1, 130.0) in out
    out = sim.run_until(130)
    assert InteractionFinished("x", "q", "expired", "max_wait") in out
    assert Disconnect("x", "expired") in out
    assert "x" not in sim.engine.interactions


def test_answered_interaction_does_not_expire() -> None:
    sim = sim_with("a", max_wait=120.0)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=10)
    out = sim.do(OfferAccepted("x", "a"), at=12)
    assert len(of_type(out, CancelTimer)) == 2  # offer timer and expiry timer
    sim.run_until(500)
    assert sim.ix_state("x") == "connected"


# --- the table -----------------------------------------------------------------------------------
ALL_PAIRS = [(s, t) for s in InteractionState for t in InteractionTrigger]
ILLEGAL = [p for p in ALL_PAIRS if p not in TRANSITIONS]


def test_terminal_states_have_no_way_out() -> None:
    assert not any(s in TERMINAL for s, _ in TRANSITIONS)
    assert set(TERMINAL) <= set(TRANSITIONS.values())  # and every outcome can be reached


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL, ids=lambda v: v.value)
def test_every_illegal_table_move_raises(state: InteractionState, trigger: InteractionTrigger) -> None:
    with pytest.raises(DomainError) as info:
        next_state("x", state, trigger)
    assert info.value.code == ILLEGAL_INTERACTION_TRANSITION
    assert info.value.context == {"interaction": "x", "state": state.value, "trigger": trigger.value}


@pytest.mark.parametrize(("state", "trigger"), sorted(TRANSITIONS, key=str), ids=lambda v: v.value)
def test_every_legal_table_move_returns_its_target(
    state: InteractionState, trigger: InteractionTrigger
) -> None:
    assert next_state("x", state, trigger) is TRANSITIONS[(state, trigger)]


def in_state(state: InteractionState) -> Sim:
    """Interaction `x` in `state`, with agent `a` holding it where the state needs an agent."""
    sim = sim_with("a", wrap_up=AGENT_WRAP)
    if state is not InteractionState.QUEUED:
        sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    if state in (InteractionState.CONNECTED, InteractionState.HELD, InteractionState.WRAP_UP):
        sim.do(OfferAccepted("x", "a"), at=2)
    if state is InteractionState.HELD:
        sim.do(HoldStarted("x"), at=3)
    if state is InteractionState.WRAP_UP:
        sim.do(InteractionEnded("x"), at=4)
    assert sim.ix_state("x") == state.value
    return sim


EVENTS_FOR = {
    InteractionTrigger.ACCEPT: [OfferAccepted("x", "a")],
    InteractionTrigger.REQUEUE: [OfferRejected("x", "a")],
    InteractionTrigger.ABANDON: [CustomerAbandoned("x")],
    InteractionTrigger.CALLBACK: [CallbackAccepted("x")],
    InteractionTrigger.HOLD: [HoldStarted("x")],
    InteractionTrigger.UNHOLD: [HoldEnded("x")],
    InteractionTrigger.END: [InteractionEnded("x")],
    InteractionTrigger.TRANSFER: [TransferToQueue("x", "q2")],
    InteractionTrigger.COMPLETE: [WrapUpCompleted("x")],
}
OPEN = [
    InteractionState.QUEUED,
    InteractionState.OFFERED,
    InteractionState.CONNECTED,
    InteractionState.HELD,
    InteractionState.WRAP_UP,
]
EXTERNAL_ILLEGAL = [
    (s, t, e)
    for s in OPEN
    for t, events in EVENTS_FOR.items()
    if (s, t) not in TRANSITIONS
    for e in events
    # accept / reject of a queued interaction: nobody holds it, which is reported as such
    if not (s is InteractionState.QUEUED and t in (InteractionTrigger.ACCEPT, InteractionTrigger.REQUEUE))
]


@pytest.mark.parametrize(
    ("state", "trigger", "event"), EXTERNAL_ILLEGAL, ids=lambda v: getattr(v, "value", type(v).__name__)
)
def test_engine_refuses_every_illegal_interaction_event_and_changes_nothing(
    state: InteractionState, trigger: InteractionTrigger, event: object
) -> None:
    sim = in_state(state)
    sim.refused(event, ILLEGAL_INTERACTION_TRANSITION)  # type: ignore[arg-type]


@pytest.mark.parametrize("event", [OfferAccepted("x", "a"), OfferRejected("x", "a")], ids=type)
def test_accept_or_reject_of_a_queued_interaction_is_refused(event: object) -> None:
    sim = in_state(InteractionState.QUEUED)
    sim.refused(event, NOT_ASSIGNED)  # type: ignore[arg-type]


@pytest.mark.parametrize("state", OPEN, ids=lambda v: v.value)
def test_engine_accepts_the_legal_interaction_events(state: InteractionState) -> None:
    for trigger, events in EVENTS_FOR.items():
        if (state, trigger) in TRANSITIONS:
            for event in events:
                sim = in_state(state)
                sim.do(event, at=10)  # type: ignore[arg-type]


def test_registration_outside_a_conversation_is_refused() -> None:
    for state in (InteractionState.QUEUED, InteractionState.OFFERED):
        sim = in_state(state)
        sim.refused(DispositionSet("x", notes="hi"), ILLEGAL_INTERACTION_TRANSITION)


@pytest.mark.parametrize("event", [e for events in EVENTS_FOR.values() for e in events], ids=type)
def test_events_for_a_finished_interaction_are_refused(event: object) -> None:
    sim = in_state(InteractionState.WRAP_UP)
    sim.do(WrapUpCompleted("x"), at=10)
    sim.refused(event, UNKNOWN_INTERACTION)  # type: ignore[arg-type]
