"""Transfers: to a queue (a new segment with `parent`; the original ends TRANSFERRED after the
agent's wrap-up) and to a named agent."""

from __future__ import annotations

from centrale.core.commands import InteractionFinished, InteractionQueued, Offer, WrapUpStarted
from centrale.core.config import WrapUp, WrapUpMode
from centrale.core.events import (
    AgentLoggedIn,
    HoldStarted,
    InteractionArrived,
    OfferAccepted,
    TransferToAgent,
    TransferToQueue,
    WrapUpCompleted,
)
from centrale.core.stats import queue_figures

from .conftest import Sim, agent, config, of_type, queue

AGENT_WRAP = WrapUp(WrapUpMode.AGENT, 60.0)


def two_queues(**kw: object) -> Sim:
    queues = [
        queue("sales", requires="sales >= 1", wrap_up=AGENT_WRAP, require_disposition=True),
        queue("support", requires="support >= 1"),
        queue("chat", channel="chat"),
    ]
    agents = [
        agent("s1", skills={"sales": 5}),
        agent("s2", skills={"sales": 5}),
        agent("t1", skills={"support": 5}),
    ]
    return Sim(config(queues, agents, **kw))


def connected(sim: Sim) -> None:
    sim.do(AgentLoggedIn("s1", ready=True), at=0)
    sim.do(InteractionArrived("x", "sales", priority=2, attributes={"lang": "nl"}, contact="+31"), at=1)
    sim.do(OfferAccepted("x", "s1"), at=2)


def test_transfer_to_queue_creates_a_new_segment_with_parent() -> None:
    sim = two_queues()
    connected(sim)
    out = sim.do(TransferToQueue("x", "support"), at=30)
    assert WrapUpStarted("x", "s1", "sales", "agent", 60.0) in out
    assert InteractionQueued("x>support", "support", "x") in out
    assert sim.ix_state("x") == "wrap_up"
    seg = sim.ix("x>support")
    assert (seg.parent, seg.priority, seg.attributes, seg.contact) == ("x", 2, {"lang": "nl"}, "+31")
    assert seg.arrived_at == 30 and seg.enqueued_at == 30


def test_transferred_original_ends_transferred_after_wrap_up_without_disposition() -> None:
    sim = two_queues()
    connected(sim)
    sim.do(TransferToQueue("x", "support"), at=30)
    # require_disposition does not apply to a transferred segment
    out = sim.do(WrapUpCompleted("x"), at=40)
    assert InteractionFinished("x", "sales", "transferred", None, "s1") in out
    assert sim.state("s1") == "ready"
    assert sim.engine.finished == {"transferred": 1}
    figures = queue_figures(sim.engine.stats.queue_sum(["sales"]))
    assert (figures["transferred"], figures["handled"]) == (1, 1)
    assert queue_figures(sim.engine.stats.queue_sum(["support"]))["offered"] == 1


def test_transferred_segment_is_routed_by_the_destination() -> None:
    sim = two_queues()
    connected(sim)
    sim.do(AgentLoggedIn("s2", ready=True), at=3)
    out = sim.do(TransferToQueue("x", "support"), at=30)
    assert of_type(out, Offer) == []  # s2 is ready but has no support skill
    out = sim.do(AgentLoggedIn("t1", ready=True), at=31)
    assert of_type(out, Offer) == [Offer("x>support", "t1", "voice", 15.0)]


def test_transfer_while_held() -> None:
    sim = two_queues()
    connected(sim)
    sim.do(HoldStarted("x"), at=10)
    sim.do(TransferToQueue("x", "support"), at=30)
    assert sim.ix("x").hold_seconds == 20
    assert "x>support" in sim.engine.interactions


def test_transfer_of_a_waiting_interaction_moves_it() -> None:
    sim = two_queues()
    sim.do(InteractionArrived("x", "sales"), at=1)
    out = sim.do(TransferToQueue("x", "support"), at=5)
    assert InteractionFinished("x", "sales", "transferred", "moved") in out
    assert InteractionQueued("x>support", "support", "x") in out
    assert sim.engine.waiting("sales") == 0 and sim.engine.waiting("support") == 1


def test_transfer_to_a_queue_of_another_channel_is_refused() -> None:
    sim = two_queues()
    connected(sim)
    sim.refused(TransferToQueue("x", "chat"), "transfer.not_possible")
    sim.refused(TransferToQueue("x", "nope"), "queue.unknown")


def test_transfer_to_a_named_agent_goes_only_to_that_agent() -> None:
    sim = two_queues()
    connected(sim)
    sim.do(AgentLoggedIn("t1", ready=True), at=3)  # longest idle of the two, and has support
    out = sim.do(TransferToAgent("x", "s2"), at=30)
    assert InteractionQueued("x>@s2", "sales", "x") in out
    assert of_type(out, Offer) == []  # s2 is not logged in; t1 must not get it
    out = sim.do(AgentLoggedIn("s2", ready=True), at=40)
    assert of_type(out, Offer) == [Offer("x>@s2", "s2", "voice", 15.0)]
    sim.do(WrapUpCompleted("x"), at=41)
    assert sim.state("s1") == "ready"
    assert "x>@s2" in sim.engine.interactions


def test_transfer_to_a_named_agent_who_is_ready_rings_at_once() -> None:
    sim = two_queues()
    connected(sim)
    sim.do(AgentLoggedIn("t1", ready=True), at=3)
    out = sim.do(TransferToAgent("x", "t1"), at=30)  # t1 lacks the sales skill: named agents need none
    assert of_type(out, Offer) == [Offer("x>@t1", "t1", "voice", 15.0)]


def test_transfer_to_unknown_or_unsuitable_agent_is_refused() -> None:
    queues = [queue("q", wrap_up=AGENT_WRAP)]
    sim = Sim(config(queues, [agent("a"), agent("mailer", capacity={"email": 1})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.refused(TransferToAgent("x", "a"), "interaction.illegal_transition")  # still ringing
    sim.do(OfferAccepted("x", "a"), at=2)
    sim.refused(TransferToAgent("x", "ghost"), "agent.unknown")
    sim.refused(TransferToAgent("x", "mailer"), "transfer.not_possible")
