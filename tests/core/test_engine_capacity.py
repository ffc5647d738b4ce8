"""Capacity: a call is exclusive, digital work runs concurrently up to the agent's capacity per
channel, and nothing is added to a call."""

from __future__ import annotations

from centrale.core.commands import Connect, Offer
from centrale.core.config import WrapUp, WrapUpMode
from centrale.core.events import (
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    WrapUpCompleted,
)

from .conftest import Sim, agent, config, of_type, queue


def blended(chat_capacity: int = 3, **chat_kw: object) -> Sim:
    queues = [queue("voice"), queue("chat", channel="chat", **chat_kw), queue("mail", channel="email")]
    agents = [agent("a", capacity={"voice": 1, "chat": chat_capacity, "email": 1})]
    return Sim(config(queues, agents))


def offers_to(sim: Sim, agent_id: str) -> list[str]:
    return [o.interaction for o in of_type(sim.commands, Offer) if o.agent == agent_id]


def test_voice_is_exclusive_never_a_second_call() -> None:
    sim = blended()
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("v1", "voice"), at=1)
    sim.do(InteractionArrived("v2", "voice"), at=2)
    sim.do(OfferAccepted("v1", "a"), at=3)
    sim.do(InteractionArrived("v3", "voice"), at=4)
    assert offers_to(sim, "a") == ["v1"]
    assert sim.ix_state("v2") == sim.ix_state("v3") == "queued"
    sim.do(InteractionEnded("v1"), at=10)
    assert offers_to(sim, "a") == ["v1", "v2"]


def test_no_chat_is_added_to_a_call() -> None:
    sim = blended()
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("v1", "voice"), at=1)
    sim.do(OfferAccepted("v1", "a"), at=2)
    sim.do(InteractionArrived("c1", "chat"), at=3)
    sim.do(InteractionArrived("m1", "mail"), at=4)
    assert offers_to(sim, "a") == ["v1"]
    sim.do(InteractionEnded("v1"), at=10)
    # after the call: digital work of both channels together
    assert offers_to(sim, "a") == ["v1", "c1", "m1"]


def test_no_call_is_added_to_a_chat() -> None:
    sim = blended()
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("c1", "chat"), at=1)
    sim.do(OfferAccepted("c1", "a"), at=2)
    sim.do(InteractionArrived("v1", "voice"), at=3)
    assert sim.ix_state("v1") == "queued"
    assert offers_to(sim, "a") == ["c1"]


def test_three_concurrent_chats_never_a_fourth() -> None:
    sim = blended(chat_capacity=3)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    for i in range(5):
        sim.do(InteractionArrived(f"c{i}", "chat"), at=1 + i)
        if f"c{i}" in offers_to(sim, "a"):
            sim.do(OfferAccepted(f"c{i}", "a"), at=1 + i)
    assert sorted(sim.agent("a").connected) == ["c0", "c1", "c2"]
    assert sim.ix_state("c3") == sim.ix_state("c4") == "queued"
    assert sim.state("a") == "busy"
    # one chat ends: exactly one more is offered
    sim.do(InteractionEnded("c1"), at=20)
    assert offers_to(sim, "a") == ["c0", "c1", "c2", "c3"]


def test_ready_agent_is_offered_up_to_capacity_of_waiting_chats_at_once() -> None:
    sim = blended(chat_capacity=3)
    for i in range(4):
        sim.do(InteractionArrived(f"c{i}", "chat"), at=i)
    out = sim.do(AgentLoggedIn("a", ready=True), at=10)
    assert [o.interaction for o in of_type(out, Offer)] == ["c0", "c1", "c2"]
    assert sim.state("a") == "reserved"
    for i in range(3):
        out = sim.do(OfferAccepted(f"c{i}", "a"), at=11)
        assert of_type(out, Connect)
    assert sim.ix_state("c3") == "queued"


def test_chat_wrap_up_counts_against_capacity() -> None:
    sim = blended(chat_capacity=2, wrap_up=WrapUp(WrapUpMode.AGENT, 120.0))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    for i in range(3):
        sim.do(InteractionArrived(f"c{i}", "chat"), at=0)
    sim.do(OfferAccepted("c0", "a"), at=1)
    sim.do(OfferAccepted("c1", "a"), at=1)
    sim.do(InteractionEnded("c0"), at=5)  # in wrap-up: still uses a slot
    assert sim.ix_state("c2") == "queued"
    assert sim.state("a") == "busy"
    sim.do(WrapUpCompleted("c0"), at=6)
    assert offers_to(sim, "a") == ["c0", "c1", "c2"]


def test_pending_not_ready_stops_new_chats() -> None:
    sim = blended(chat_capacity=3)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("c0", "chat"), at=1)
    sim.do(OfferAccepted("c0", "a"), at=2)
    sim.do(AgentNotReady("a", "lunch"), at=3)
    sim.do(InteractionArrived("c1", "chat"), at=4)
    assert sim.ix_state("c1") == "queued"
    # changing their mind: ready again, and the chat comes in
    out = sim.do(AgentReady("a"), at=5)
    assert of_type(out, Offer) == [Offer("c1", "a", "chat", 15.0)]


def test_agent_without_chat_capacity_gets_no_chats() -> None:
    queues = [queue("chat", channel="chat")]
    sim = Sim(config(queues, [agent("a", capacity={"voice": 1})]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("c", "chat"), at=1)
    assert sim.ix_state("c") == "queued"


def test_second_chat_arriving_while_the_first_rings_is_offered_to_the_agent_with_room() -> None:
    sim = blended(chat_capacity=3)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("c1", "chat"), at=1)
    assert offers_to(sim, "a") == ["c1"]
    out = sim.do(InteractionArrived("c2", "chat"), at=2)
    # a is RESERVED with 1 of 3 chat slots used: the engine's invariant says c2 may not wait
    assert sim.agent("a").can_take("chat")
    assert of_type(out, Offer) == [Offer("c2", "a", "chat", 15.0)]


def test_chats_arriving_one_by_one_fill_the_capacity() -> None:
    sim = blended(chat_capacity=3)
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("c1", "chat"), at=1)
    sim.do(InteractionArrived("c2", "chat"), at=2)
    sim.do(InteractionArrived("c3", "chat"), at=3)
    assert offers_to(sim, "a") == ["c1", "c2", "c3"]
