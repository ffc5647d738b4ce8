"""The caller's experience end to end (docs/telephony.md): sipp callers that press keys — RFC 2833
telephone-events (sipp's ``dtmf_2833_<digit>.pcap`` played into the call, decoded by rtpengine and
reported on its ``--dtmf-log-dest``) or SIP INFO — through the greeting, the keypad menu, the
recording consent, the position announcements and the callback offer, with the engine recording
what happened."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from centrale.core.events import AgentLoggedIn

from .conftest import Center, finish, sipp_stats, wait_for

pytestmark = pytest.mark.telephony

DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_{}.pcap"
_PCAP_NAMES = {"*": "star", "#": "pound"}

HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="{name}">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+31201234567@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:+31201234567@[local_ip]:[local_port];transport=UDP>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15

]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="to"/>
    </action>
  </recv>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+31201234567@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: [$to]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:+31201234567@[local_ip]:[local_port];transport=UDP>
Max-Forwards: 70
Content-Length: 0

]]></send>
"""

IN_DIALOG = """{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+31201234567@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: [$to]
Call-ID: [call_id]
CSeq: {cseq} {method}
Contact: <sip:+31201234567@[local_ip]:[local_port];transport=UDP>
Max-Forwards: 70
"""

BRIDGE = """  <recv request="INVITE" timeout="30000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:+31201234567@[local_ip]:[local_port];transport=UDP>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 2 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000

]]></send>
  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>
  <pause milliseconds="2000"/>
"""

EXPECT_BYE = """  <recv request="BYE" timeout="30000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""


def scenario(tmp: Path, name: str, steps: list[tuple[str, str | int]], end: str) -> str:
    """A caller scenario: INVITE (PCMA + telephone-event), then `steps` — ("pause", ms),
    ("key", digit) as RFC 2833 events, ("relay"/"dtmf", digit) as SIP INFO with
    application/dtmf-relay or application/dtmf — then `end`: "bye" (we hang up), "expect_bye"
    (the service hangs up), or "bridge" (re-INVITEd by the bridge, talk, hang up)."""
    xml = [HEAD.format(name=name)]
    cseq = 1
    for kind, value in steps:
        if kind == "pause":
            xml.append(f'  <pause milliseconds="{value}"/>\n')
        elif kind == "key":
            pcap = DTMF_PCAP.format(_PCAP_NAMES.get(str(value), value))
            xml.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n')
        else:
            cseq += 1
            body = f"Signal={value}\r\nDuration=160\r\n" if kind == "relay" else f"{value}"
            ctype = "application/dtmf-relay" if kind == "relay" else "application/dtmf"
            xml.append(
                '  <send retrans="500"><![CDATA[\n'
                + IN_DIALOG.format(method="INFO", cseq=cseq)
                + f"Content-Type: {ctype}\nContent-Length: [len]\n\n{body}\n]]></send>\n"
                '  <recv response="200"/>\n'
            )
    if end == "expect_bye":
        xml.append(EXPECT_BYE)
    else:
        if end == "bridge":
            xml.append(BRIDGE)
        xml.append(
            '  <send retrans="500"><![CDATA[\n'
            + IN_DIALOG.format(method="BYE", cseq=cseq + 1)
            + 'Content-Length: 0\n\n]]></send>\n  <recv response="200"/>\n</scenario>\n'
        )
    path = tmp / f"{name}.xml"
    path.write_text("".join(xml))
    return str(path)


def _arrived(center: Center, queue: str, before: set[str], timeout: float = 30) -> str:
    found = wait_for(
        lambda: [i for i in center.interactions_for(queue) if i not in before], timeout, f"a call in {queue}"
    )
    assert len(found) == 1, found
    return str(found[0])


def _menu_calls(center: Center) -> set[str]:
    return set(center.interactions_for("menu_a")) | set(center.interactions_for("menu_b"))


def _call(
    center: Center, name: str, service: str, steps: list[tuple[str, str | int]], end: str, **kw: object
):  # type: ignore[no-untyped-def]
    path = scenario(center.tmp, name, steps, end)
    return center.sipp(path, service=service, name=name, **kw)  # type: ignore[arg-type]


def test_menu_choice_by_rfc2833_routes_the_call_into_that_queue(center: Center) -> None:
    before = _menu_calls(center)
    digits = center.sip.caller_side.digits
    caller = _call(center, "menu-2", "2000", [("pause", 800), ("key", "2"), ("pause", 3000)], "bye")
    ix = _arrived(center, "menu_b", before)
    assert not [i for i in center.interactions_for("menu_a") if i not in before]
    assert finish(caller, 30) == 0
    assert center.sip.caller_side.digits > digits  # the digit came through rtpengine's DTMF log
    finished = wait_for(lambda: center.recorder.of("InteractionFinished", ix), 10, "InteractionFinished")
    assert finished[0].outcome == "abandoned"  # the caller hung up while queued


def test_invalid_digit_then_a_valid_one(center: Center) -> None:
    before = _menu_calls(center)
    played = center.sip.caller_side.played
    steps: list[tuple[str, str | int]] = [
        ("pause", 800),
        ("key", "7"),
        ("pause", 1500),
        ("key", "2"),
        ("pause", 2000),
    ]
    caller = _call(center, "menu-7-2", "2000", steps, "bye")
    ix = _arrived(center, "menu_b", before)
    # greeting+menu, then "not a valid choice"+menu: two prompts before the queue
    assert center.sip.caller_side.played - played >= 2
    assert finish(caller, 30) == 0
    assert center.recorder.of("InteractionArrived", ix)[0].contact == "+31201234567"


def test_menu_choice_by_sip_info(center: Center) -> None:
    before = _menu_calls(center)
    caller = _call(center, "menu-info", "2000", [("pause", 500), ("relay", "2"), ("pause", 2000)], "bye")
    _arrived(center, "menu_b", before)
    assert finish(caller, 30) == 0
    before = _menu_calls(center)
    caller = _call(center, "menu-info2", "2000", [("pause", 500), ("dtmf", "1"), ("pause", 2000)], "bye")
    _arrived(center, "menu_a", before)
    assert finish(caller, 30) == 0


def test_no_input_takes_the_default_after_the_tries(center: Center) -> None:
    before = _menu_calls(center)
    start = time.monotonic()
    caller = _call(center, "menu-silent", "2000", [("pause", 16000)], "bye")
    ix = _arrived(center, "menu_a", before, timeout=40)  # the number's queue
    # not before greeting + menu + 2 s + menu + 2 s
    assert time.monotonic() - start > 5
    assert finish(caller, 40) == 0
    assert ix in center.interactions_for("menu_a")


def _confirmation_heard(center: Center, call: object) -> None:
    """The confirmation reaches the caller: the caller (-rtp_echo) sends back what it hears, so
    rtpengine keeps counting packets from it while the confirmation plays (music is off by then)."""
    tag, call_id = call.caller_tag, call.call_id  # type: ignore[attr-defined]
    start = center.packets(call_id).get(tag, 0)
    time.sleep(1.0)
    assert center.packets(call_id).get(tag, 0) - start > 30  # 50 packets a second of audio


def test_menu_callback_option_keeps_the_place_and_hangs_up(center: Center) -> None:
    before = _menu_calls(center)
    caller = _call(
        center, "menu-9", "2000", [("pause", 800), ("key", "9")], "expect_bye", extra=["-rtp_echo"]
    )
    ix = _arrived(center, "menu_b", before)
    call = center.sip.calls[ix]
    wait_for(lambda: center.recorder.of("CallbackAccepted", ix), 15, "CallbackAccepted")
    _confirmation_heard(center, call)
    assert finish(caller, 30) == 0  # the BYE came from us, after the confirmation
    assert sipp_stats(caller)["SuccessfulCall(C)"] == "1"
    finished = wait_for(lambda: center.recorder.of("InteractionFinished", ix), 10, "InteractionFinished")
    assert finished[0].outcome != "abandoned"
    assert not center.recorder.of("CustomerAbandoned", ix)
    callback = center.services.engine.interactions.get(f"{ix}:callback")
    assert callback is not None and callback.contact == "+31201234567"  # the caller is called back
    # ... and the read model agents and supervisors look at has it under that number
    from centrale.storage.schema import interactions

    def row() -> object:
        with center.services.writer.store.sql.connect() as conn:
            query = interactions.select().where(interactions.c.id == f"{ix}:callback")
            return conn.execute(query).first()

    stored = wait_for(row, 10, "the callback's row")
    assert stored.contact == "+31201234567" and stored.parent == ix  # type: ignore[attr-defined]


def test_callback_offered_by_the_queue_accepted_with_1(center: Center) -> None:
    # offercb escalates after 1 s with "offer a callback": the Dutch offer plays, the caller presses 1
    before = set(center.interactions_for("offercb"))
    caller = _call(
        center, "offer-1", "2102", [("pause", 2500), ("key", "1")], "expect_bye", extra=["-rtp_echo"]
    )
    ix = _arrived(center, "offercb", before)
    call = center.sip.calls[ix]
    wait_for(lambda: center.recorder.of("OfferCallback", ix), 10, "the engine's OfferCallback")
    wait_for(lambda: center.recorder.of("CallbackAccepted", ix), 15, "CallbackAccepted")
    _confirmation_heard(center, call)
    assert finish(caller, 30) == 0  # our BYE after the confirmation
    finished = wait_for(lambda: center.recorder.of("InteractionFinished", ix), 10, "InteractionFinished")
    assert finished[0].outcome != "abandoned"
    assert not center.recorder.of("CustomerAbandoned", ix)
    assert center.services.engine.interactions[f"{ix}:callback"].contact == "+31201234567"


def test_position_and_expected_wait_are_announced(center: Center) -> None:
    # wendy is logged in but not ready: one agent for the estimate, nobody to take the calls
    center.submit(AgentLoggedIn("wendy", ready=False))
    side = center.sip.caller_side
    before = set(center.interactions_for("announce"))
    first = center.sipp("abandon.xml", service="2103", extra=["-d", "9000"], name="announce-1")
    one = _arrived(center, "announce", before)
    second = center.sipp("abandon.xml", service="2103", extra=["-d", "8000"], name="announce-2")
    two = _arrived(center, "announce", before | {one})
    count = side.announcements
    wait_for(lambda: side.heard.get(two), 12, "the second caller's announcement")
    assert side.heard[two] == "You are number 2 in line. The expected wait is about 6 minutes."
    assert side.heard.get(one, "").startswith("You are number 1 in line.")
    assert side.announcements >= count + 1
    assert finish(first, 30) == 0 and finish(second, 30) == 0


def _recording_call(center: Center, key: str) -> str:
    phone = center.phone("cora", "answer.xml")
    if center.agent_state("cora")[0] == "logged_out":  # the first of the two tests logs her in
        center.submit(AgentLoggedIn("cora", ready=True))
    before = set(center.interactions_for("consent"))
    caller = _call(center, f"consent-{key}", "2104", [("pause", 1000), ("key", key)], "bridge")
    ix = _arrived(center, "consent", before)
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    assert finish(caller, 30) == 0
    assert finish(phone, 30) == 0
    wait_for(lambda: center.recorder.of("InteractionEnded", ix), 10, "InteractionEnded")
    return ix


def _recording_row(center: Center, ix: str) -> object:
    from centrale.storage.schema import recordings

    with center.services.writer.store.sql.connect() as conn:
        return conn.execute(recordings.select().where(recordings.c.interaction == ix)).first()


def test_recording_refused_by_the_caller_is_not_recorded(center: Center) -> None:
    ix = _recording_call(center, "2")
    assert center.recorder.of("InteractionArrived", ix)[0].attributes == {"recording": "refused"}
    time.sleep(1.0)  # a recording would be saved within this
    wav = Path(center.sip.settings.recordings_dir) / f"{ix}.wav"
    assert not wav.exists()
    assert _recording_row(center, ix) is None


def test_recording_allowed_by_the_caller_is_recorded(center: Center) -> None:
    ix = _recording_call(center, "1")
    assert center.recorder.of("InteractionArrived", ix)[0].attributes == {"recording": "consented"}
    wav = Path(center.sip.settings.recordings_dir) / f"{ix}.wav"
    wait_for(lambda: _recording_row(center, ix) is not None, 15, "the recording row")
    assert wav.exists() and wav.stat().st_size > 1000


def test_recording_notice_plays_before_the_call_is_queued(center: Center) -> None:
    # 2105 is a plain number, but its queue's account records with a notice
    side = center.sip.caller_side
    played = side.played
    before = set(center.interactions_for("notice"))
    start = time.monotonic()
    caller = center.sipp("abandon.xml", service="2105", extra=["-d", "5000"], name="notice")
    ix = _arrived(center, "notice", before)
    assert time.monotonic() - start > 1.0  # "This call may be recorded." came first
    assert side.played == played + 1
    assert center.recorder.of("InteractionArrived", ix)[0].attributes == {"recording": "announced"}
    assert finish(caller, 30) == 0
