"""The customer's own re-INVITEs on real calls (docs/telephony.md, "Hold"): sipp does the customer's
signalling and moves its media from one test socket to another (tests/telephony/parties.py), so
what reaches each socket shows whether rtpengine follows the customer."""

from __future__ import annotations

import time

import pytest

from centrale.core.events import AgentLoggedIn, AgentLoggedOut, InteractionEnded

from .conftest import Center, api, desk_user, finish, wait_for
from .parties import Party, Voices, mostly

pytestmark = pytest.mark.telephony

CUSTOMER, MOVED, AGENT = 1000, 1500, 2000  # the parties' levels: the customer's old and new media
TALK_MS = 3000  # the scenarios' pause between the customer's steps (fixed in their XML)


def _talking(a: Party, b: Party, what: str, timeout: float = 10) -> None:
    """Wait until `a` hears `b`'s level and `b` hears `a`'s over the last second: audio both ways."""

    def both() -> bool:
        since = time.monotonic() - 1.0
        return mostly(a.levels(since), b.level) and mostly(b.levels(since), a.level)

    wait_for(both, timeout, what)


def _new_call(center: Center, queue: str, before: set[str]) -> str:
    found = wait_for(lambda: [i for i in center.interactions_for(queue) if i not in before], 20, "the call")
    return str(found[0])


def test_a_bridged_customer_moves_its_media_and_holds_with_reinvites(center: Center, voices: Voices) -> None:
    old, new = voices.new("customer", CUSTOMER), voices.new("customer-moved", MOVED)
    agent = voices.new("cleo", AGENT)
    phone = center.party_phone("cleo", agent)
    center.submit(AgentLoggedIn("cleo", ready=True))
    before = set(center.interactions_for("creinv"))
    keys = {"rtp": str(old.port), "rtp2": str(new.port)}
    caller = center.sipp("reinvite_caller.xml", service="1012", keys=keys, name="creinv")
    ix = _new_call(center, "creinv", before)
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    _talking(old, agent, "audio both ways before the customer's re-INVITE")

    # The customer's phone moves its media: the old socket falls silent, the new one takes over.
    old.talking = False
    _talking(new, agent, "audio both ways on the customer's new port", timeout=TALK_MS / 1000 + 5)
    moved = time.monotonic()
    time.sleep(1.0)
    assert len(old.heard(moved + 0.5)) < 5, "rtpengine still sends to the customer's old port"

    # a=sendonly from the customer (answered recvonly: sipp checks) is their hold, not the agent's.
    wait_for(lambda: time.monotonic() > moved + TALK_MS / 1000 + 1, TALK_MS / 1000 + 2, "the customer's hold")
    assert center.services.engine.interactions[ix].state.name == "CONNECTED"
    assert not center.recorder.of("HoldStarted", ix), "the customer's hold counted as the agent's"
    # ... and their a=sendrecv after it: the conversation goes on.
    time.sleep(TALK_MS / 1000)
    _talking(new, agent, "audio both ways after the customer's resume", timeout=5)
    assert center.services.engine.interactions[ix].state.name == "CONNECTED"
    assert not center.recorder.of("HoldStarted", ix)

    center.submit(InteractionEnded(ix))
    assert finish(caller, 20) == 0  # it checked the re-INVITEs' answers: SDP, recvonly, sendrecv
    assert finish(phone, 20) == 0
    center.submit(AgentLoggedOut("cleo"))


def test_a_queued_customers_reinvite_is_answered_and_the_music_follows(
    center: Center, voices: Voices
) -> None:
    old, new = voices.new("waiting", CUSTOMER), voices.new("waiting-moved", MOVED)
    before = set(center.interactions_for("creinvq"))
    keys = {"rtp": str(old.port), "rtp2": str(new.port)}
    caller = center.sipp("reinvite_queued.xml", service="1013", keys=keys, name="creinvq")
    ix = _new_call(center, "creinvq", before)
    wait_for(lambda: mostly(old.levels(time.monotonic() - 1.0), None), 10, "music on hold before the move")
    old.talking = False

    wait_for(lambda: len(new.heard(0)) >= 10, TALK_MS / 1000 + 5, "audio on the customer's new port")
    moved = time.monotonic()
    time.sleep(1.5)
    music = new.levels(moved + 0.3, moved + 1.5)
    assert mostly(music, None), f"the moved customer should hear music on hold, heard {music}"
    assert len(old.heard(moved + 0.5)) < 5, "rtpengine still sends to the customer's old port"
    assert finish(caller, 20) == 0  # the re-INVITE got 200 with SDP; the customer hung up after
    wait_for(lambda: center.recorder.of("CustomerAbandoned", ix), 10, "the abandon")


def test_a_customer_moves_its_media_while_the_agent_holds_and_the_hold_follows(
    center: Center, voices: Voices
) -> None:

    old, new = voices.new("held-customer", CUSTOMER), voices.new("held-customer-moved", MOVED)
    agent = voices.new("hedy", AGENT)
    phone = center.party_phone("hedy", agent)
    desk = desk_user(center, "hedy")
    center.submit(AgentLoggedIn("hedy", ready=True))
    before = set(center.interactions_for("creinvh"))
    keys = {"rtp": str(old.port), "rtp2": str(new.port)}
    caller = center.sipp("reinvite_held.xml", service="1014", keys=keys, name="creinvh")
    ix = _new_call(center, "creinvh", before)
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    _talking(old, agent, "audio both ways before the hold")

    # The agent holds from the desktop (the customer's re-INVITE comes 6 s after the bridge).
    r = center.run(api(center, desk, "POST", f"/api/desktop/interactions/{ix}/hold"))
    assert r.status_code == 200, r.text
    held = time.monotonic()
    wait_for(lambda: mostly(old.levels(time.monotonic() - 1.0), None), 5, "music on hold before the move")
    assert not new.heard(0), "the customer's re-INVITE came before the hold: the test proves nothing"

    # The customer's phone moves its media while held: the music follows, the block stays.
    old.talking = False
    wait_for(lambda: len(new.heard(0)) >= 10, 10, "audio on the customer's new port")
    moved = time.monotonic()
    time.sleep(2.0)
    window = (moved + 0.5, moved + 2.0)
    music = new.levels(*window)
    assert mostly(music, None), f"the moved customer should hear music on hold, heard {music}"
    assert AGENT not in music, "the moved customer hears the agent on hold"
    assert len(agent.heard(*window)) < 5, f"the agent hears {agent.levels(*window)} on hold"
    assert len(old.heard(moved + 0.5)) < 5, "rtpengine still sends to the customer's old port"
    assert center.services.engine.interactions[ix].state.name == "HELD"
    assert len(center.recorder.of("HoldStarted", ix)) == 1
    assert not center.recorder.of("HoldEnded", ix), "the customer's re-INVITE ended the agent's hold"

    r = center.run(api(center, desk, "POST", f"/api/desktop/interactions/{ix}/resume"))
    assert r.status_code == 200, r.text
    resumed = time.monotonic()
    _talking(new, agent, "audio both ways with the customer's new port after the resume", timeout=5)
    assert center.services.engine.interactions[ix].state.name == "CONNECTED"
    assert len(center.recorder.of("HoldStarted", ix)) == 1
    assert len(center.recorder.of("HoldEnded", ix)) == 1
    hold_seconds = center.services.engine.interactions[ix].hold_seconds
    assert resumed - held - 1 < hold_seconds < resumed - held + 1, hold_seconds

    r = center.run(api(center, desk, "POST", f"/api/desktop/interactions/{ix}/end"))
    assert r.status_code == 200, r.text
    assert finish(caller, 20) == 0  # its re-INVITE got a 200 with SDP, sendrecv
    assert finish(phone, 20) == 0
    center.submit(AgentLoggedOut("hedy"))
