"""Escalation steps: REQUIRE (relax the requirement), ADD_QUEUE, PRIORITY, CALLBACK and VOICEMAIL —
the interaction keeps its place in line throughout."""

from __future__ import annotations

from centrale.core.commands import (
    Disconnect,
    InteractionFinished,
    InteractionQueued,
    Offer,
    OfferCallback,
    SendToVoicemail,
    StartTimer,
)
from centrale.core.config import EscalationAction as EA
from centrale.core.events import (
    AgentLoggedIn,
    CallbackAccepted,
    CustomerAbandoned,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
)

from .conftest import Sim, agent, config, of_type, queue, step


def offers(out: list) -> list[tuple[str, str]]:
    return [(o.interaction, o.agent) for o in of_type(out, Offer)]


# --- REQUIRE -------------------------------------------------------------------------------------
def relaxing(*agents_: object, offer_timeout: float = 15.0) -> Sim:
    q = queue(
        requires="sales >= 5",
        escalation=(step(30, EA.REQUIRE, requires="sales >= 1"),),
        offer_timeout=offer_timeout,
    )
    return Sim(config([q], list(agents_)))  # type: ignore[arg-type]


def test_require_widens_the_pool_after_n_seconds() -> None:
    sim = relaxing(agent("junior", skills={"sales": 3}))
    sim.do(AgentLoggedIn("junior", ready=True), at=0)
    out = sim.do(InteractionArrived("x", "q"), at=0)
    assert StartTimer(1, 30.0) in out
    assert of_type(sim.run_until(29.9), Offer) == []
    out = sim.run_until(30)
    assert offers(out) == [("x", "junior")]
    assert sim.ix("x").step == 1


def test_require_keeps_the_place_in_line() -> None:
    # x escalated (arrived 0), y not yet (arrived 10): an agent eligible for both gets x.
    sim = relaxing(agent("senior", skills={"sales": 8}))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(InteractionArrived("y", "q"), at=10)
    sim.run_until(35)
    assert sim.ix("x").step == 1 and sim.ix("y").step == 0
    assert sim.ix("x").enqueued_at == 0
    out = sim.do(AgentLoggedIn("senior", ready=True), at=35)
    assert offers(out) == [("x", "senior")]


def test_escalated_interaction_is_ahead_of_later_ones_for_the_wider_pool() -> None:
    sim = relaxing(agent("junior", skills={"sales": 3}))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(InteractionArrived("y", "q"), at=5)
    sim.run_until(40)  # both escalated
    out = sim.do(AgentLoggedIn("junior", ready=True), at=40)
    assert offers(out) == [("x", "junior")]


def test_escalation_while_ringing_applies_if_the_offer_fails() -> None:
    sim = relaxing(
        agent("senior", skills={"sales": 8}), agent("junior", skills={"sales": 3}), offer_timeout=40.0
    )
    sim.do(AgentLoggedIn("senior", ready=True), at=0)
    sim.do(AgentLoggedIn("junior", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=20)  # rings senior until 60
    out = sim.run_until(50)  # the step falls due while ringing: nothing changes yet
    assert of_type(out, Offer) == [] and sim.ix("x").step == 1
    out = sim.run_until(60)  # RONA: back in line with the wider pool, junior takes it at once
    assert offers(out) == [("x", "junior")]


# --- ADD_QUEUE -----------------------------------------------------------------------------------
def test_add_queue_lets_the_other_queues_agents_take_it() -> None:
    queues = [
        queue("billing", requires="billing >= 1", escalation=(step(20, EA.ADD_QUEUE, queue="sales"),)),
        queue("sales", requires="sales >= 1"),
    ]
    sim = Sim(config(queues, [agent("s", skills={"sales": 5})]))
    sim.do(AgentLoggedIn("s", ready=True), at=0)
    sim.do(InteractionArrived("b", "billing"), at=0)
    assert of_type(sim.run_until(19), Offer) == []
    assert offers(sim.run_until(20)) == [("b", "s")]


def test_add_queue_keeps_the_original_pool_as_well() -> None:
    queues = [
        queue("billing", requires="billing >= 1", escalation=(step(20, EA.ADD_QUEUE, queue="sales"),)),
        queue("sales", requires="sales >= 1"),
    ]
    sim = Sim(config(queues, [agent("b", skills={"billing": 5})]))
    sim.do(InteractionArrived("x", "billing"), at=0)
    sim.run_until(25)
    assert offers(sim.do(AgentLoggedIn("b", ready=True), at=25)) == [("x", "b")]


# --- PRIORITY ------------------------------------------------------------------------------------
def test_priority_step_raises_the_priority() -> None:
    q = queue(escalation=(step(30, EA.PRIORITY, priority=5),))
    sim = Sim(config([q], [agent("a")]))
    sim.do(InteractionArrived("x", "q", priority=0), at=0)  # order 0, 5 → -300 after 30 s
    sim.do(InteractionArrived("z", "q", priority=1), at=20)  # order 20 - 60 = -40 until 50
    sim.run_until(31)
    assert sim.ix("x").priority == 5 and sim.ix("z").priority == 1
    out = sim.do(AgentLoggedIn("a", ready=True), at=31)
    assert offers(out) == [("x", "a")]


def test_without_the_priority_step_the_higher_priority_goes_first() -> None:
    sim = Sim(config([queue()], [agent("a")]))
    sim.do(InteractionArrived("x", "q", priority=0), at=0)
    sim.do(InteractionArrived("z", "q", priority=1), at=20)
    assert offers(sim.do(AgentLoggedIn("a", ready=True), at=31)) == [("z", "a")]


def test_steps_run_in_sequence() -> None:
    q = queue(
        requires="sales >= 8",
        escalation=(
            step(10, EA.REQUIRE, requires="sales >= 5"),
            step(20, EA.PRIORITY, priority=3),
            step(30, EA.REQUIRE, requires="sales >= 1"),
        ),
    )
    sim = Sim(config([q], [agent("j", skills={"sales": 2})]))
    sim.do(AgentLoggedIn("j", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.run_until(25)
    assert (sim.ix("x").step, sim.ix("x").priority) == (2, 3)
    assert offers(sim.run_until(30)) == [("x", "j")]


# --- CALLBACK ------------------------------------------------------------------------------------
def callback_queue(*agents_: object) -> Sim:
    q = queue(escalation=(step(60, EA.CALLBACK),))
    return Sim(config([q], list(agents_)))  # type: ignore[arg-type]


def test_callback_step_offers_the_customer_a_callback() -> None:
    sim = callback_queue()
    sim.do(InteractionArrived("x", "q"), at=0)
    out = sim.run_until(60)
    assert out == [OfferCallback("x")]
    assert sim.ix_state("x") == "queued"  # the customer may say no and keep waiting


def test_callback_accepted_ends_the_call_and_queues_a_callback_in_the_same_place() -> None:
    sim = callback_queue(agent("a"))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(InteractionArrived("y", "q"), at=10)
    sim.run_until(60)
    out = sim.do(CallbackAccepted("x"), at=62)
    assert InteractionFinished("x", "q", "callback_requested", "callback") in out
    assert InteractionQueued("x:callback", "q", "x") in out
    cb = sim.ix("x:callback")
    assert cb.enqueued_at == 0 and cb.parent == "x" and cb.direction == "outbound"
    # the callback is ahead of y, who arrived after x
    out = sim.do(AgentLoggedIn("a", ready=True), at=65)
    assert offers(out) == [("x:callback", "a")]
    assert sim.engine.finished == {"callback_requested": 1}


def test_callback_refused_while_the_customer_is_with_an_agent() -> None:
    sim = callback_queue(agent("a"))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.refused(CallbackAccepted("x"), "interaction.illegal_transition")


def test_callback_keeps_its_place_among_arrivals_at_the_same_instant() -> None:
    sim = callback_queue(agent("a"))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(InteractionArrived("y", "q"), at=0)  # same instant, after x
    sim.do(CallbackAccepted("x"), at=5)
    out = sim.do(AgentLoggedIn("a", ready=True), at=6)
    assert offers(out) == [("x:callback", "a")]


def test_callback_segment_is_not_offered_another_callback() -> None:
    sim = callback_queue()
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.run_until(60)
    sim.do(CallbackAccepted("x"), at=62)
    out = sim.run_until(1000)
    assert of_type(out, OfferCallback) == []


def test_callback_segment_keeps_the_widened_pool() -> None:
    q = queue(
        requires="sales >= 5",
        escalation=(step(20, EA.REQUIRE, requires="sales >= 1"), step(60, EA.CALLBACK)),
    )
    sim = Sim(config([q], [agent("junior", skills={"sales": 3})]))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.run_until(60)  # widened at 20, callback offered at 60
    sim.do(CallbackAccepted("x"), at=62)
    out = sim.do(AgentLoggedIn("junior", ready=True), at=70)
    assert offers(out) == [("x:callback", "junior")]


# --- VOICEMAIL -----------------------------------------------------------------------------------
def test_voicemail_step_sends_the_waiting_customer_to_voicemail() -> None:
    q = queue(escalation=(step(90, EA.VOICEMAIL),))
    sim = Sim(config([q]))
    sim.do(InteractionArrived("x", "q"), at=0)
    out = sim.run_until(90)
    assert InteractionFinished("x", "q", "overflowed", "voicemail") in out
    assert SendToVoicemail("x") in out
    assert sim.engine.waiting("q") == 0


def test_answered_calls_are_not_escalated() -> None:
    q = queue(escalation=(step(90, EA.VOICEMAIL),))
    sim = Sim(config([q], [agent("a")]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(OfferAccepted("x", "a"), at=5)
    assert sim.run_until(200) == []
    sim.do(InteractionEnded("x"), at=300)


def test_abandoned_interaction_cancels_its_escalation() -> None:
    q = queue(escalation=(step(90, EA.VOICEMAIL),))
    sim = Sim(config([q]))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(CustomerAbandoned("x"), at=5)
    assert sim.timers == {}
    assert sim.run_until(200) == []


def test_voicemail_step_reached_while_ringing_applies_after_rona() -> None:
    q = queue(escalation=(step(30, EA.VOICEMAIL),), offer_timeout=20.0)
    sim = Sim(config([q], [agent("a")]))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(AgentLoggedIn("a", ready=True), at=25)  # rings a from 25 to 45
    out = sim.run_until(100)
    assert SendToVoicemail("x") in out
    assert "x" not in sim.engine.interactions


def test_max_wait_reached_while_ringing_expires_after_rona() -> None:
    q = queue(max_wait=40.0, offer_timeout=20.0)
    sim = Sim(config([q], [agent("a")]))
    sim.do(InteractionArrived("x", "q"), at=0)
    sim.do(AgentLoggedIn("a", ready=True), at=25)  # rings a from 25 to 45; max_wait at 40
    out = sim.run_until(100)
    assert Disconnect("x", "expired") in out
    assert "x" not in sim.engine.interactions
