"""End-to-end calls with real SIP peers on 127.0.0.1: sipp callers and sipp agents' phones, media
through rtpengine, the engine recording the outcomes (docs/telephony.md)."""

from __future__ import annotations

import socket
import time

import pytest

from centrale.core.events import AgentLoggedIn

from .conftest import Center, finish, sipp_stats, wait_for

pytestmark = pytest.mark.telephony


def _one_interaction(center: Center, queue: str, before: set[str]) -> str:
    found = wait_for(
        lambda: [i for i in center.interactions_for(queue) if i not in before], 20, f"a call in {queue}"
    )
    assert len(found) == 1, found
    return str(found[0])


def test_queued_call_with_music_is_answered_and_bridged_with_audio_both_ways(center: Center) -> None:
    phone = center.phone("ann", "answer.xml")
    center.submit(AgentLoggedIn("ann", ready=True))
    before = set(center.interactions_for("bridge"))
    caller = center.sipp("caller.xml", service="1001", extra=["-d", "3000"], name="bridge")
    ix = _one_interaction(center, "bridge", before)
    call = center.sip.calls.get(ix)
    assert call is not None
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    # Audio both ways through rtpengine: the caller's G.711 in, the agent phone's echo back.
    counts = wait_for(
        lambda: (lambda c: c if c.get(call.caller_tag, 0) > 20 and c.get(call.media_tag, 0) > 20 else None)(
            center.packets(call.call_id)
        ),
        15,
        "RTP from the caller and from the agent's phone",
    )
    assert counts[call.caller_tag] > 20 and counts[call.media_tag] > 20
    assert finish(caller, 30) == 0
    assert finish(phone, 30) == 0
    stats = sipp_stats(caller)
    assert stats["SuccessfulCall(C)"] == "1" and stats["FailedCall(C)"] == "0"
    wait_for(lambda: center.recorder.of("InteractionEnded", ix), 10, "InteractionEnded")
    assert [e.direction for e in center.recorder.of("InteractionArrived", ix)] == ["inbound"]
    assert center.recorder.of("InteractionArrived", ix)[0].contact == "+31201234567"
    assert center.recorder.of("OfferAccepted", ix)[0].agent == "ann"
    wait_for(lambda: ix not in center.sip.calls, 10, "the call to be cleaned up")


def test_caller_hears_music_on_hold_and_abandons_while_queued(center: Center) -> None:
    before = set(center.interactions_for("abandon"))
    caller = center.sipp("abandon.xml", service="1002", extra=["-d", "3000", "-rtp_echo"], name="abandon")
    ix = _one_interaction(center, "abandon", before)
    call = center.sip.calls[ix]
    # The caller echoes what it hears: music on hold reached it when rtpengine counts it coming back.
    wait_for(lambda: center.packets(call.call_id).get(call.caller_tag, 0) > 10, 10, "music on hold")
    assert finish(caller, 30) == 0
    wait_for(lambda: center.recorder.of("CustomerAbandoned", ix), 10, "CustomerAbandoned")
    finished = wait_for(lambda: center.recorder.of("InteractionFinished", ix), 10, "InteractionFinished")
    assert finished[0].outcome == "abandoned"


def test_agent_who_does_not_answer_is_ronad_and_the_next_agent_gets_the_call(center: Center) -> None:
    silent = center.phone("noel", "noanswer.xml", echo=False)
    good = center.phone("rita", "answer.xml")
    center.submit(AgentLoggedIn("noel", ready=True))
    time.sleep(0.05)  # rita becomes ready later, so longest-idle offers noel first
    center.submit(AgentLoggedIn("rita", ready=True))
    before = set(center.interactions_for("rona"))
    caller = center.sipp("caller.xml", service="1003", extra=["-d", "1000"], name="rona")
    ix = _one_interaction(center, "rona", before)
    assert finish(silent, 30) == 0  # it saw the CANCEL
    assert finish(caller, 40) == 0
    assert finish(good, 30) == 0
    offers = [o.agent for o in center.recorder.of("Offer", ix)]
    assert offers[:2] == ["noel", "rita"]
    assert [r.agent for r in center.recorder.of("RevokeOffer", ix)][:1] == ["noel"]
    assert center.recorder.of("OfferAccepted", ix)[0].agent == "rita"
    assert center.agent_state("noel") == ("not_ready", "rona")


def test_agent_who_rejects_is_taken_out_and_the_call_stays_queued(center: Center) -> None:
    busy = center.phone("bob", "reject.xml", echo=False)
    center.submit(AgentLoggedIn("bob", ready=True))
    before = set(center.interactions_for("reject"))
    caller = center.sipp("abandon.xml", service="1004", extra=["-d", "2500"], name="reject")
    ix = _one_interaction(center, "reject", before)
    wait_for(lambda: center.recorder.of("OfferRejected", ix), 15, "OfferRejected")
    assert finish(busy, 20) == 0
    assert center.agent_state("bob") == ("not_ready", "declined")
    assert finish(caller, 30) == 0
    finished = wait_for(lambda: center.recorder.of("InteractionFinished", ix), 10, "InteractionFinished")
    assert finished[0].outcome == "abandoned"


def test_unknown_number_gets_404(center: Center) -> None:
    arrived = len(center.recorder.of("InteractionArrived"))
    caller = center.sipp("unknown.xml", service="0900999", name="unknown")
    assert finish(caller, 20) == 0
    assert len(center.recorder.of("InteractionArrived")) == arrived


def test_register_with_bad_credentials_is_refused(center: Center) -> None:
    assert center.register("ann", 5999, pw="not-the-password", expect="403") == 0
    assert center.register("nobody", 5999, pw="whatever-pass", expect="403") == 0


MALFORMED = [
    b"",
    b"\x00\xff" * 40,
    b"INVITE\r\n\r\n" + b"x" * 40,
    b"INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: garbage\r\nContent-Length: 0\r\n\r\n",
    b"INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: m1\r\nCSeq: x INVITE\r\n\r\n",
    b"INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKy\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: m2\r\nCSeq: 1 INVITE\r\n"
    b"Content-Type: application/sdp\r\nContent-Length: 9999\r\n\r\nv=0\r\n",
    b"SIP/2.0 999999 Nonsense\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKz\r\nCall-ID: m3\r\n\r\n",
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKr\r\n"
    b"From: <sip:ann@127.0.0.1>;tag=2\r\nTo: <sip:ann@127.0.0.1>\r\nCall-ID: m4\r\nCSeq: 1 REGISTER\r\n"
    b'Authorization: Digest username="ann", realm=, nonce="zz", response="\r\n\r\n',
    b"BYE sip:x@127.0.0.1 SIP/2.0\r\n" + b"X-Long: " + b"a" * 6000 + b"\r\n\r\n",
    "OPTIONS sip:é@127.0.0.1 SIP/2.0\r\nVia: ☃\r\n\r\n".encode(),
]


def test_malformed_messages_do_not_stop_the_service(center: Center) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        for datagram in MALFORMED * 3:
            sock.sendto(datagram, ("127.0.0.1", center.sip_port))
        # A well-formed OPTIONS afterwards is still answered.
        sock.settimeout(5)
        port = sock.getsockname()[1]
        options = (
            f"OPTIONS sip:127.0.0.1:{center.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKopt1\r\n"
            "From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe-1\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        sock.sendto(options, ("127.0.0.1", center.sip_port))
        deadline = time.monotonic() + 10
        answer = b""
        while time.monotonic() < deadline and not answer.startswith(b"SIP/2.0 200"):
            answer, _ = sock.recvfrom(65535)
        assert answer.startswith(b"SIP/2.0 200")
    finally:
        sock.close()
    assert center.sip._thread.is_alive()
    # A normal call still works end to end.
    phone = center.phone("fay", "answer.xml")
    center.submit(AgentLoggedIn("fay", ready=True))
    before = set(center.interactions_for("after"))
    caller = center.sipp("caller.xml", service="1005", extra=["-d", "1000"], name="after")
    ix = _one_interaction(center, "after", before)
    assert finish(caller, 30) == 0
    assert finish(phone, 30) == 0
    assert center.recorder.of("OfferAccepted", ix)[0].agent == "fay"
