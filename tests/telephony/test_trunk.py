"""The outbound SIP trunk end to end: the live dialer's campaigns dial through SipTrunk to sipp
"carriers" (one sipp UAS per case, each number routed to its own by the trunk's `routes`), and the
dialer's recorded outcomes match what each carrier did (docs/telephony.md)."""

from __future__ import annotations

from typing import Any

import pytest

from centrale.core.config import AgentConfig, QueueConfig, WrapUp, WrapUpMode
from centrale.core.events import (
    AgentAdded,
    AgentLoggedIn,
    AgentLoggedOut,
    InteractionEnded,
    QueueConfigured,
    WrapUpCompleted,
)
from centrale.core.expressions import parse
from server.outbound_fixtures import campaign_document

from .conftest import SCENARIOS, Center, carrier_number, finish, free_port, sipp_stats, wait_for

pytestmark = pytest.mark.telephony

LIVE, DROP = "out_live", "out_drop"  # olga's queue (her phone answers); zed's (no phone: nobody free)


def _document(campaign_id: str, queue: str) -> dict[str, Any]:
    return campaign_document(
        campaign_id,
        queue=queue,
        campaign={"id": campaign_id, "name": f"Trunk test {campaign_id}"},
        ring_timeout="15s",  # the UK preset's minimum (Ofcom)
        dispositions=[
            {"code": "sale", "label": "Sale", "category": "sale"},
            {"code": "not_interested", "label": "Not interested", "category": "not_interested"},
            {"code": "do_not_call", "label": "Do not call", "category": "do_not_call"},
        ],
    )


def _csv(cases: list[str], consent: str = "") -> bytes:
    """The leads' list; `consent`: the date each gave consent (a Consent column), or none."""
    rows = [f"Customer {case};{carrier_number(case)}" + (f";{consent}" if consent else "") for case in cases]
    header = "Name;Phone;Consent" if consent else "Name;Phone"
    return ("\n".join([header, *rows]) + "\n").encode()


def _campaign(
    center: Center, campaign_id: str, queue: str, cases: list[str], consent: str = "", **extra: Any
) -> Any:
    """A running campaign of `queue` whose leads are the carriers of `cases` (`extra`: document keys;
    `consent`: the date the leads consented)."""
    from centrale.server.dialer import parse_document

    runner = center.services.extras["dialer"]
    document = _document(campaign_id, queue) | extra
    if consent:
        document["lists"][0]["map"]["consent_given_at"] = "Consent"

    async def make() -> Any:
        run = await runner.create(parse_document(document))
        await runner.import_list(
            run, "customers", "customers.csv", _csv(cases, consent), mapping=None, region=None
        )
        runner.set_status(run, "running")
        return run

    return center.run(make())


def _leads(center: Center, run: Any) -> dict[str, dict[str, Any]]:
    from centrale.server.dialer import lead_rows

    return {row["phone"]: row for row in lead_rows(run, None, 100)}


def _settled(center: Center, run: Any, case: str, outcome: str) -> dict[str, Any]:
    """The lead of carrier `case` once its last outcome is `outcome` (waited for up to 10 s)."""
    number = carrier_number(case)

    def row() -> dict[str, Any] | None:
        lead = _leads(center, run)[number]
        return lead if lead["last_outcome"] == outcome else None

    found: dict[str, Any] = wait_for(row, 10, f"the lead of {case} settled as {outcome}")
    return found


def _packets(center: Center, call_id: str) -> dict[str, int]:
    try:
        return center.packets(call_id)
    except Exception:  # the call is gone already
        return {}


def _outbound_queue(center: Center, queue: str, agent: str) -> None:
    """An outbound voice queue of account acme and one agent with its skill."""
    center.submit(
        QueueConfigured(
            QueueConfig(
                queue, "acme", "voice", parse(f"{queue} >= 1", known_skills=frozenset({queue})),
                direction="outbound", offer_timeout=10.0, wrap_up=WrapUp(WrapUpMode.AGENT, 60.0),
            )
        )
    )  # fmt: skip
    center.submit(AgentAdded(AgentConfig(agent, "acme", {queue: 1})))


def test_outbound_campaign_through_the_sip_trunk(center: Center) -> None:
    from centrale.telephony.trunk import SipTrunk

    runner = center.services.extras["dialer"]
    trunk = runner.trunk
    assert isinstance(trunk, SipTrunk)
    skills = frozenset({LIVE, DROP})
    for queue in (LIVE, DROP):
        center.submit(
            QueueConfigured(
                QueueConfig(
                    queue, "acme", "voice", parse(f"{queue} >= 1", known_skills=skills),
                    direction="outbound", offer_timeout=10.0, wrap_up=WrapUp(WrapUpMode.AGENT, 60.0),
                )
            )
        )  # fmt: skip
    center.submit(AgentAdded(AgentConfig("olga", "acme", {LIVE: 1})))
    center.submit(AgentAdded(AgentConfig("zed", "acme", {DROP: 1})))

    # The carriers, each on the port its number is routed to.
    ports = center.carriers
    busy = center.sipp("reject.xml", port=ports["busy"], name="carrier-busy")
    failed = center.sipp("trunk_fail.xml", port=ports["failed"], name="carrier-failed")
    ringing = center.sipp("noanswer.xml", port=ports["no_answer"], name="carrier-no-answer")
    talk = center.sipp(
        "trunk_answer.xml", port=ports["answered"], extra=["-rtp_echo"], name="carrier-answered"
    )
    echo = center.sipp("answer.xml", port=ports["abandoned"], extra=["-rtp_echo"], name="carrier-abandoned")
    phone = center.phone("olga", "talk.xml", echo=False)  # olga's registered phone: she talks
    center.submit(AgentLoggedIn("olga", ready=True))
    center.submit(AgentLoggedIn("zed", ready=True))  # ready, but no phone: the call finds nobody

    # Two campaigns side by side (the ring time-out is 15 s, the UK minimum): olga's dials busy,
    # failed, then answered; zed's rings out (no answer), then is answered with nobody free.
    live = _campaign(center, "trunk-live", LIVE, ["busy", "failed", "answered"])
    drop = _campaign(center, "trunk-drop", DROP, ["no_answer", "abandoned"])

    # --- the abandoned call: answered, nobody connected within 2 s → message, then BYE ------------
    assert finish(ringing, 30) == 0  # the ring time-out CANCELled the INVITE
    dropped = wait_for(lambda: center.interactions_for(DROP), 15, "the answered call in the drop queue")[0]
    dropped_call = center.sip.calls[dropped]
    assert dropped_call.outbound
    # The carrier echoes what it hears: rtpengine counts the message coming back from it.
    wait_for(
        lambda: _packets(center, dropped_call.call_id).get(dropped_call.caller_tag, 0) > 20,
        15,
        "the information message to reach the customer",
    )
    assert finish(echo, 20) == 0  # it got the BYE after the message
    finished = wait_for(lambda: center.recorder.of("InteractionFinished", dropped), 10, "abandoned")
    assert finished[0].outcome == "abandoned"
    assert trunk.messages_played >= 1
    assert center.agent_state("zed") == ("not_ready", "declined")  # its offer was rejected (no phone)

    # --- busy, failed, no answer, then the answered call bridged to olga's phone --------------------
    assert finish(busy, 30) == 0
    assert finish(failed, 30) == 0
    ix = wait_for(lambda: center.interactions_for(LIVE), 30, "the answered call in the live queue")[0]
    call = center.sip.calls[ix]
    wait_for(lambda: center.recorder.of("Connect", ix), 15, "the engine's Connect")
    assert center.recorder.of("OfferAccepted", ix)[0].agent == "olga"
    counts = wait_for(
        lambda: (lambda c: c if c.get(call.caller_tag, 0) > 20 and c.get(call.media_tag, 0) > 20 else None)(
            _packets(center, call.call_id)
        ),
        15,
        "RTP from olga's phone and the customer's echo of it",
    )
    assert counts[call.caller_tag] > 20 and counts[call.media_tag] > 20
    center.submit(InteractionEnded(ix))  # olga ends the call: both legs get a BYE
    assert finish(talk, 20) == 0
    assert finish(phone, 20) == 0
    center.submit(WrapUpCompleted(ix, disposition="sale"))
    wait_for(lambda: center.recorder.of("InteractionFinished", ix), 10, "the call to finish")
    stats = sipp_stats(talk)
    assert stats["SuccessfulCall(C)"] == "1" and stats["FailedCall(C)"] == "0"

    # --- the dialer's record, lead by lead ----------------------------------------------------------
    expected = {
        carrier_number("busy"): "busy",
        carrier_number("failed"): "failed",
        carrier_number("answered"): "answered",
    }

    def settled() -> dict[str, Any] | None:
        leads = _leads(center, live)
        got = {phone: row["last_outcome"] for phone, row in leads.items()}
        return leads if got == expected else None

    leads = wait_for(settled, 10, f"the live campaign's outcomes to be {expected}")
    assert leads[carrier_number("answered")]["disposition"] == "sale"
    dropped_leads = _leads(center, drop)
    assert dropped_leads[carrier_number("no_answer")]["last_outcome"] == "no_answer"
    assert dropped_leads[carrier_number("abandoned")]["last_outcome"] == "abandoned"
    progress = runner.progress(drop)
    assert (progress["abandoned"], progress["messages"], progress["no_answer"]) == (1, 1, 1)
    assert trunk.outcomes == {"busy": 1, "failed": 1, "no_answer": 1, "answered": 2}
    wait_for(
        lambda: not [c for c in center.sip.calls.values() if c.outbound], 10, "outbound calls cleaned up"
    )
    assert center.sip.failures == 0


REDIRECT = "out_redirect"  # ruud's queue: a carrier that sends the call on to another gateway


def test_a_carriers_redirect_is_followed_to_the_gateway_it_names(center: Center) -> None:
    _outbound_queue(center, REDIRECT, "ruud")
    target = free_port()
    busy = center.sipp("reject.xml", port=target, name="carrier-redirect-target")
    moved = center.sipp(
        "trunk_redirect.xml",
        port=center.carriers["redirect"],
        keys={"target": str(target)},
        name="carrier-redirect",
    )
    center.submit(AgentLoggedIn("ruud", ready=True))
    run = _campaign(center, "trunk-redirect", REDIRECT, ["redirect"])
    assert finish(moved, 30) == 0  # 302 sent, ACK received
    assert finish(busy, 30) == 0  # the INVITE reached the gateway the 302 named, which said busy
    number = carrier_number("redirect")
    leads = wait_for(
        lambda: (lambda rows: rows if rows[number]["last_outcome"] else None)(_leads(center, run)),
        15,
        "the lead to be settled",
    )
    # Busy, as the second gateway said: a 302 not followed would have been "failed".
    assert leads[number]["last_outcome"] == "busy"
    assert center.sip.failures == 0


AGENTLESS_TEXT = "Goedemiddag, dit is een korte mededeling van ACME. Tot ziens."


def test_an_agentless_campaign_speaks_its_message_then_hangs_up(center: Center) -> None:
    """An agentless campaign with a text message in Dutch: the carrier's person answers and echoes
    what it hears; rtpengine counts the spoken message coming back before the trunk's BYE, and the
    call never reaches an agent."""
    import time

    from centrale.telephony.prompts import seconds

    runner = center.services.extras["dialer"]
    trunk = runner.trunk
    prompts = center.sip.caller_side.prompts
    left_before, spoken_before = trunk.messages_left, prompts.spoken
    port = center.carriers["agentless"]
    person = center.sipp("answer.xml", port=port, extra=["-rtp_echo"], name="agentless")
    plan = {"message": AGENTLESS_TEXT, "max_lines": 1}
    _outbound_queue(center, "out_agentless", "ada")  # the campaign's queue (no agent takes its calls)
    run = _campaign(
        center,
        "trunk-agentless",
        "out_agentless",
        ["agentless"],
        mode="agentless",
        agentless=plan,
        language="nl",
    )
    dial = wait_for(lambda: [c for c in center.sip.calls.values() if c.outbound], 30, "the answered call")[0]
    answered = time.monotonic()
    wait_for(
        lambda: _packets(center, dial.call_id).get(dial.caller_tag, 0) > 20,
        15,
        "the spoken message to reach the person (its echo)",
    )
    assert finish(person, 30) == 0  # the BYE came after the message
    heard = time.monotonic() - answered
    assert trunk.messages_left == left_before + 1 and prompts.spoken == spoken_before + 1
    length = seconds(prompts.speech("nl", AGENTLESS_TEXT))  # the cached WAV: not spoken again
    assert length > 2 and heard >= length - 0.5, (length, heard)
    lead = _settled(center, run, "agentless", "answered")
    assert lead["attempts"] == 1
    assert dial.interaction not in {e.interaction for e in center.recorder.of("InteractionArrived")}
    assert center.sip.failures == 0


DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_{}.pcap"  # sipp's recordings of one RFC 2833 key each


def test_an_agentless_survey_collects_the_keys_pressed(center: Center) -> None:
    """An agentless campaign with a message and two questions: the person (sipp) presses 7 after
    the first question (not allowed: it is asked again), 2 after its repeat and 1 after the second,
    as RFC 2833 events; rtpengine's DTMF log brings them to the survey, the trunk hangs up after the
    last answer, and the lead keeps the answers."""
    from centrale.telephony.prompts import seconds

    prompts = center.sip.caller_side.prompts
    intro, first, second = (
        "This is ACME.",
        "Press 1 if you are happy, 2 if not.",
        "Press 1 to hear from us again.",
    )
    intro_s, first_s, second_s = (seconds(prompts.speech("en", text)) for text in (intro, first, second))
    # After each question ends: 7 (not allowed: the first question is asked again), 2, then 1.
    presses = [("7", intro_s + first_s + 1.0), ("2", first_s + 1.5), ("1", second_s + 2.0)]
    keys = "".join(
        f'  <pause milliseconds="{round(wait * 1000)}"/>\n'
        f'  <nop><action><exec play_pcap_audio="{DTMF_PCAP.format(key)}"/></action></nop>\n'
        for key, wait in presses
    )
    path = center.tmp / "survey_person.xml"
    path.write_text((SCENARIOS / "survey_person.xml").read_text().replace("  <!-- KEYS -->\n", keys))
    digits = center.sip.caller_side.digits
    person = center.sipp(str(path), port=center.carriers["survey"], name="survey-person")
    survey = [
        {"id": "happy", "prompt": first, "keys": {"1": "yes", "2": "no"}},
        {"id": "again", "prompt": second, "keys": {"1": "yes"}},
    ]
    _outbound_queue(center, "out_survey", "sam")
    plan = {"message": intro, "survey": survey, "max_lines": 1}
    run = _campaign(center, "trunk-survey", "out_survey", ["survey"], mode="agentless", agentless=plan)
    assert finish(person, 60) == 0  # both keys sent, then our BYE
    lead = _settled(center, run, "survey", "answered")
    assert lead["answers"] == {"happy": "no", "again": "yes"}
    assert center.sip.caller_side.digits == digits + 3  # the three presses, through rtpengine's log
    assert center.sip.failures == 0


def test_a_recorded_message_is_left_on_an_answering_machine_with_consent(center: Center) -> None:
    """A progressive campaign whose answering_machine is leave_message with a recording (a WAV
    file): the carrier challenges, answers with X-AMD: MACHINE and echoes; rtpengine counts the
    recording coming back, then the BYE; the consented lead is done as machine_message."""
    from .conftest import TRUNK_PASSWORD, TRUNK_USER

    runner = center.services.extras["dialer"]
    trunk = runner.trunk
    left_before = trunk.messages_left
    recording = center.sip.caller_side.prompts.speech("en", "This is ACME. Please call us back.")
    machine = center.sipp(
        "carrier_auth.xml", port=center.carriers["machine_wav"], extra=["-rtp_echo"], name="machine-wav",
        keys={"user": TRUNK_USER, "pass": TRUNK_PASSWORD, "amd": "MACHINE"},
    )  # fmt: skip
    _outbound_queue(center, "out_msg", "moe")
    center.submit(AgentLoggedIn("moe", ready=True))  # progressive: a free agent, who never gets the call
    machine_handling = {"action": "leave_message", "message": str(recording)}
    run = _campaign(
        center,
        "trunk-msg",
        "out_msg",
        ["machine_wav"],
        consent="2026-01-05",
        answering_machine=machine_handling,
    )
    dial = wait_for(
        lambda: [
            c for c in center.sip.calls.values() if c.outbound and c.interaction.startswith("trunk-msg")
        ],
        30,
        "the machine's answered call",
    )[0]
    wait_for(
        lambda: _packets(center, dial.call_id).get(dial.caller_tag, 0) > 20,
        15,
        "the recording to reach the machine (its echo)",
    )
    assert finish(machine, 30) == 0  # the BYE after the recording
    assert trunk.messages_left == left_before + 1
    lead = _settled(center, run, "machine_wav", "machine_message")
    assert lead["status"] == "done" and lead["reason"] == "message left on the answering machine"
    assert not center.interactions_for("out_msg")  # no agent was asked to take it
    center.submit(AgentLoggedOut("moe"))
    assert center.sip.failures == 0


AMD = "out_amd"  # hal's queue: calls from carriers that challenge the trunk and report AMD


def test_trunk_digest_authentication_and_the_carriers_answering_machine_detection(center: Center) -> None:
    """Three carriers challenge the INVITE (401, carrier_auth.xml): two accept the trunk's
    credentials and answer with X-AMD — MACHINE (the campaign hangs up: lead `machine`, no agent)
    and HUMAN (bridged to hal's phone: lead `answered`); one knows another password and answers
    403, which the dialer records as `failed` after a single retry with credentials (no loop)."""
    from .conftest import TRUNK_PASSWORD, TRUNK_USER

    runner = center.services.extras["dialer"]
    trunk = runner.trunk
    before = dict(trunk.outcomes)
    _outbound_queue(center, AMD, "hal")
    ports = center.carriers

    def carrier(case: str, pw: str, amd: str) -> Any:
        return center.sipp(
            "carrier_auth.xml", port=ports[case], extra=["-rtp_echo"], name=f"carrier-{case}",
            keys={"user": TRUNK_USER, "pass": pw, "amd": amd},
        )  # fmt: skip

    machine = carrier("auth_machine", TRUNK_PASSWORD, "MACHINE")
    wrong = carrier("auth_wrong", "not-the-trunk-secret", "HUMAN")
    human = carrier("auth_human", TRUNK_PASSWORD, "HUMAN")
    phone = center.phone("hal", "talk.xml", echo=False)  # hal talks (G.711 pcap)
    center.submit(AgentLoggedIn("hal", ready=True))
    run = _campaign(center, "trunk-amd", AMD, ["auth_machine", "auth_wrong", "auth_human"])

    # The machine: answered after the challenge, hung up at once (hang_up is the default action).
    assert finish(machine, 30) == 0
    assert sipp_stats(machine)["SuccessfulCall(C)"] == "1"
    # Wrong credentials: 401, one INVITE with credentials, 403 — and no third INVITE (3 s watched).
    assert finish(wrong, 30) == 0
    # The person: bridged to hal.
    ix = wait_for(lambda: center.interactions_for(AMD), 30, "the person's call in hal's queue")
    assert len(ix) == 1
    wait_for(lambda: center.recorder.of("Connect", ix[0]), 15, "the engine's Connect")
    assert center.recorder.of("OfferAccepted", ix[0])[0].agent == "hal"
    call = center.sip.calls[ix[0]]
    wait_for(
        lambda: _packets(center, call.call_id).get(call.caller_tag, 0) > 20,
        15,
        "RTP from the customer (its echo of hal's phone)",
    )
    center.submit(InteractionEnded(ix[0]))
    assert finish(human, 20) == 0
    assert finish(phone, 20) == 0
    center.submit(WrapUpCompleted(ix[0], disposition="sale"))

    expected = {
        carrier_number("auth_machine"): "machine",
        carrier_number("auth_wrong"): "failed",
        carrier_number("auth_human"): "answered",
    }
    wait_for(
        lambda: {p: r["last_outcome"] for p, r in _leads(center, run).items()} == expected,
        15,
        f"the AMD campaign's outcomes to be {expected}",
    )
    gained = {k: v - before.get(k, 0) for k, v in trunk.outcomes.items() if v != before.get(k, 0)}
    assert gained == {"machine": 1, "failed": 1, "answered": 1}
    assert runner.progress(run)["machine"] == 1
    assert len(center.interactions_for(AMD)) == 1  # the machine never reached an agent
    assert center.sip.failures == 0


def test_carrier_amd_values_map_to_call_progress() -> None:
    from centrale.server.trunk import CallProgress
    from centrale.telephony.settings import AmdSettings, TrunkSettings
    from centrale.telephony.trunk import SipTrunk

    def progress(amd: AmdSettings | None, value: str | None) -> CallProgress:
        trunk = SipTrunk.__new__(SipTrunk)
        trunk.settings = TrunkSettings(host="192.0.2.1", amd=amd)
        return trunk.answered_by(value)

    default = AmdSettings()
    assert progress(default, "MACHINE") is CallProgress.MACHINE
    assert progress(default, " machine;confidence=80") is CallProgress.MACHINE
    assert progress(default, "HUMAN") is CallProgress.ANSWERED
    assert progress(default, "NOTSURE") is CallProgress.ANSWERED  # unsure: human (the default)
    assert progress(default, None) is CallProgress.ANSWERED  # no header: a person
    assert progress(None, "MACHINE") is CallProgress.ANSWERED  # AMD not configured: header ignored
    custom = AmdSettings(header="X-Detect", machine=["AM", "FAX"], human=["LIVE"], unsure="machine")
    assert progress(custom, "fax") is CallProgress.MACHINE
    assert progress(custom, "LIVE") is CallProgress.ANSWERED
    assert progress(custom, "NOTSURE") is CallProgress.MACHINE
    with pytest.raises(ValueError, match="values both machine and human: X"):
        AmdSettings(machine=["x"], human=["X"])
