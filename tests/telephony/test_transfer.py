"""Hold and blind transfer on real calls: sipp does the signalling, test sockets (tests/telephony/
parties.py) are the parties' voices — each talks one constant level and records what it hears — and
rtpengine carries the media (docs/telephony.md, "Hold" and "Transfer")."""

from __future__ import annotations

import time
from typing import Any

import pytest

from centrale.core.events import AgentLoggedIn, AgentLoggedOut, InteractionEnded

from .conftest import Center, api, desk_user, finish, wait_for
from .parties import Party, Voices, mostly

pytestmark = pytest.mark.telephony

CUSTOMER, AGENT, OTHER = 1000, 2000, 3000  # the parties' levels


def _call(center: Center, queue: str, number: str, customer: Party) -> tuple[Any, str]:
    before = set(center.interactions_for(queue))
    caller = center.sipp("party_caller.xml", service=number, keys={"rtp": str(customer.port)}, name=queue)
    found = wait_for(lambda: [i for i in center.interactions_for(queue) if i not in before], 20, "the call")
    return caller, str(found[0])


def _talking(a: Party, b: Party, what: str, timeout: float = 10) -> None:
    """Wait until `a` hears `b`'s level and `b` hears `a`'s over the last second: audio both ways."""

    def both() -> bool:
        since = time.monotonic() - 1.0
        return mostly(a.levels(since), b.level) and mostly(b.levels(since), a.level)

    wait_for(both, timeout, what)


def test_hold_from_the_desktop_plays_music_to_the_customer_and_silences_both(
    center: Center, voices: Voices
) -> None:
    customer, agent = voices.new("customer", CUSTOMER), voices.new("hana", AGENT)
    phone = center.party_phone("hana", agent)
    desk = desk_user(center, "hana")
    center.submit(AgentLoggedIn("hana", ready=True))
    caller, ix = _call(center, "held", "1007", customer)
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    _talking(customer, agent, "audio both ways before the hold")

    r = center.run(api(center, desk, "POST", f"/api/desktop/interactions/{ix}/hold"))
    assert r.status_code == 200, r.text
    held = time.monotonic()
    assert center.recorder.of("HoldStarted", ix)
    time.sleep(2.0)
    window = (held + 0.5, held + 2.0)
    music = customer.levels(*window)
    assert mostly(music, None), f"the customer should hear music on hold, heard {music}"
    assert len(agent.heard(*window)) < 5, "the agent still hears the customer on hold"
    assert AGENT not in music, "the customer still hears the agent on hold"

    r = center.run(api(center, desk, "POST", f"/api/desktop/interactions/{ix}/resume"))
    assert r.status_code == 200, r.text
    assert center.recorder.of("HoldEnded", ix)
    _talking(customer, agent, "audio both ways after the resume", timeout=5)
    hold_seconds = center.services.engine.interactions[ix].hold_seconds
    assert 1.5 < hold_seconds < 10, hold_seconds

    r = center.run(api(center, desk, "POST", f"/api/desktop/interactions/{ix}/end"))
    assert r.status_code == 200, r.text
    assert finish(caller, 20) == 0
    assert finish(phone, 20) == 0
    center.submit(AgentLoggedOut("hana"))  # the queue's next test uses another agent


def test_hold_from_the_agents_phone_with_a_sendonly_reinvite(center: Center, voices: Voices) -> None:
    customer, agent = voices.new("customer", CUSTOMER), voices.new("hugo", AGENT)
    phone = center.party_phone("hugo", agent, "hold_phone.xml")
    center.submit(AgentLoggedIn("hugo", ready=True))
    caller, ix = _call(center, "held", "1007", customer)
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    _talking(customer, agent, "audio both ways before the hold")

    wait_for(lambda: center.recorder.of("HoldStarted", ix), 10, "HoldStarted from the phone's re-INVITE")
    held = time.monotonic()
    assert center.services.engine.interactions[ix].state.name == "HELD"
    time.sleep(1.5)
    music = customer.levels(held + 0.5, held + 1.5)
    assert mostly(music, None), f"the customer should hear music on hold, heard {music}"
    assert len(agent.heard(held + 0.5, held + 1.5)) < 5

    wait_for(lambda: center.recorder.of("HoldEnded", ix), 10, "HoldEnded from the phone's re-INVITE")
    _talking(customer, agent, "audio both ways after the resume", timeout=5)
    assert center.services.engine.interactions[ix].hold_seconds > 2  # counted for AHT
    center.submit(InteractionEnded(ix))
    assert finish(phone, 20) == 0  # it checked the answers' a=recvonly and a=sendrecv
    assert finish(caller, 20) == 0


def test_transfer_to_a_queue_from_the_desktop_rings_the_next_agent(center: Center, voices: Voices) -> None:
    customer = voices.new("customer", CUSTOMER)
    xena, yuri = voices.new("xena", AGENT), voices.new("yuri", OTHER)
    first, second = center.party_phone("xena", xena), center.party_phone("yuri", yuri)
    desk = desk_user(center, "xena")
    center.submit(AgentLoggedIn("xena", ready=True))
    caller, ix = _call(center, "xfer", "1008", customer)
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    _talking(customer, xena, "audio with the first agent")

    r = center.run(api(center, desk, "POST", f"/api/desktop/interactions/{ix}/transfer", {"queue": "xfer2"}))
    assert r.status_code == 200, r.text
    moved = time.monotonic()
    assert finish(first, 10) == 0  # the first agent's phone got its BYE
    xena.talking = False  # and fell silent, as a phone does
    new = wait_for(
        lambda: [q.interaction for q in center.recorder.of("InteractionQueued") if q.parent == ix],
        5,
        "the segment",
    )[0]
    assert center.sip.calls[new].state.value == "queued"
    time.sleep(1.5)
    music = customer.levels(moved + 0.5, moved + 1.5)
    assert mostly(music, None), f"the transferred customer should hear music, heard {music}"

    center.submit(AgentLoggedIn("yuri", ready=True))
    wait_for(lambda: center.recorder.of("Connect", new), 20, "the second agent's Connect")
    assert [o.agent for o in center.recorder.of("OfferAccepted", new)] == ["yuri"]
    _talking(customer, yuri, "audio with the second agent")
    center.submit(InteractionEnded(new))
    assert finish(caller, 20) == 0
    assert finish(second, 20) == 0
    assert center.recorder.of("InteractionFinished", ix)[0].outcome == "transferred"


def test_refer_from_the_agents_phone_transfers_to_an_agent(center: Center, voices: Voices) -> None:
    customer = voices.new("customer", CUSTOMER)
    remy, zoe = voices.new("remy", AGENT), voices.new("zoe", OTHER)
    referrer = center.party_phone("remy", remy, "refer_phone.xml", refer_bad="0999", refer_to="zoe")
    target = center.party_phone("zoe", zoe)
    center.submit(AgentLoggedIn("remy", ready=True))
    center.submit(AgentLoggedIn("zoe", ready=True))
    caller, ix = _call(center, "refer", "1010", customer)
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    _talking(customer, remy, "audio with the first agent")

    # The phone's REFER to 0999 got 404 and the call went on; the REFER to zoe got 202, the NOTIFY
    # with "SIP/2.0 200 OK" and then the BYE (its scenario checks all of it).
    assert finish(referrer, 20) == 0
    remy.talking = False  # hung up: its phone falls silent
    transfers = center.recorder.of("TransferToAgent", ix)
    assert [t.agent for t in transfers] == ["zoe"]
    new = f"{ix}>@zoe"
    wait_for(lambda: center.recorder.of("Connect", new), 20, "zoe's Connect")
    _talking(customer, zoe, "audio with the agent transferred to")
    center.submit(InteractionEnded(new))
    assert finish(caller, 20) == 0
    assert finish(target, 20) == 0


# --- the SDP rules of hold (pure) ---------------------------------------------------------------------
SDP = "v=0\r\no=a 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n"


@pytest.mark.parametrize(
    ("sdp", "expected"),
    [
        (SDP, "sendrecv"),
        (SDP + "a=sendonly\r\n", "sendonly"),
        (SDP + "a=inactive\r\n", "inactive"),
        (SDP.replace("t=0 0", "a=recvonly\r\nt=0 0"), "recvonly"),  # session level
        (SDP.replace("c=IN IP4 10.0.0.1", "c=IN IP4 0.0.0.0"), "inactive"),  # RFC 2543 hold
        (SDP + "a=sendrecv\r\nm=video 5000 RTP/AVP 96\r\na=inactive\r\n", "sendrecv"),  # audio counts
    ],
)
def test_direction_of_an_offer(sdp: str, expected: str) -> None:
    from centrale.telephony.hold import direction, holding

    assert direction(sdp) == expected
    assert holding(sdp) is (expected in ("sendonly", "inactive"))


def test_answer_direction_is_the_counterpart_of_the_offer() -> None:
    from centrale.telephony.hold import answer_direction, direction

    answer = SDP + "a=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
    assert direction(answer_direction(SDP + "a=sendonly\r\n", answer)) == "recvonly"
    assert direction(answer_direction(SDP + "a=inactive\r\n", answer)) == "inactive"
    assert direction(answer_direction(SDP, answer)) == "sendrecv"
    bare = answer_direction(SDP + "a=sendonly\r\n", SDP)  # no attribute in the answer: one is added
    assert direction(bare) == "recvonly" and bare.count("a=recvonly") == 1
