"""Answering-machine handling per campaign (``answering_machine``): settings, the lead, retries and
the compliance record for each action, and the simulator."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from centrale.outbound.answering_machine import MachineAction
from centrale.outbound.campaign_config import campaign_settings_from_dict
from centrale.outbound.campaign_errors import CampaignConfigError, CampaignError
from centrale.outbound.dialer_sim import CampaignSpec, run_campaign, talk_distribution
from centrale.outbound.leads import LeadStatus
from centrale.outbound.pacing import FixedRatio, Predictive
from centrale.outbound.retry import Outcome
from centrale.outbound.state import ComplianceState
from outbound.campaign_helpers import AMS, MONDAY, base_settings, make, people, settings

CONSENT: dict[str, Any] = {
    "consent_given_at": datetime(2026, 1, 5, tzinfo=AMS),
    "consent_source": "web form 2026-01",
}
MESSAGE = "Energie BV about your contract; call us back on 020 123 4567."
RETRY = {"machine": {"delay": "4h", "max_attempts": 3}}


def config_error(**overrides: Any) -> str:
    data = base_settings()
    data.update(overrides)
    with pytest.raises(CampaignConfigError) as exc:
        campaign_settings_from_dict(data, source="test.yaml")
    return str(exc.value)


# --- settings ---------------------------------------------
def test_default_is_hang_up_as_before() -> None:
    plan = settings().answering_machine
    assert (plan.action, plan.message, plan.retry) == (MachineAction.HANG_UP, "", False)


def test_leave_message_settings() -> None:
    plan = settings(
        answering_machine={"action": "leave_message", "message": f"  {MESSAGE} ", "retry": True}
    ).answering_machine
    assert (plan.action, plan.message, plan.retry) == (MachineAction.LEAVE_MESSAGE, MESSAGE, True)
    assert (
        settings(
            answering_machine={"action": "leave_message", "message": "winter.wav"}
        ).answering_machine.retry
        is False
    )


@pytest.mark.parametrize(
    ("spec", "mode", "expected"),
    [
        (
            {"action": "leave_message"},
            "progressive",
            "test.yaml: answering_machine.message: action leave_message needs the message to play "
            "(its text, or the file name of the recording)",
        ),
        (
            {"action": "leave_message", "message": "   "},
            "progressive",
            "test.yaml: answering_machine.message: action leave_message needs the message to play",
        ),
        (
            {"message": MESSAGE},
            "progressive",
            "test.yaml: answering_machine.message: only for action leave_message (action is hang_up)",
        ),
        (
            {"action": "pass_to_agent", "retry": True},
            "progressive",
            "test.yaml: answering_machine.retry: only for action leave_message (action is pass_to_agent)",
        ),
        (
            {"action": "pass_to_agent"},
            "agentless",
            "test.yaml: answering_machine.action: pass_to_agent needs agents; an agentless campaign has none",
        ),
        ({"action": "voicemail"}, "progressive", "test.yaml: answering_machine.action: Input should be"),
        (
            {"acton": "hang_up"},
            "progressive",
            "test.yaml: answering_machine: unknown key 'acton' (did you mean 'action'?)",
        ),
        (
            {"action": "leave_message", "message": MESSAGE, "retry": "often"},
            "progressive",
            "test.yaml: answering_machine.retry: Input should be a valid boolean",
        ),
    ],
)
def test_validation_errors(spec: dict[str, Any], mode: str, expected: str) -> None:
    extra: dict[str, Any] = (
        {"agentless": {"message": "hello"}, "dispositions": []} if mode == "agentless" else {}
    )
    assert config_error(answering_machine=spec, mode=mode, **extra).startswith(expected)


def test_misspelt_top_level_key_is_suggested() -> None:
    assert "did you mean 'answering_machine'?" in config_error(answering_machin={"action": "hang_up"})


# --- hang_up (the default) -------------------------------------------------------------------------------
def test_hang_up_retries_by_the_machine_rule() -> None:
    state = ComplianceState()
    c = make(settings(retry=RETRY), people(1, **CONSENT), state)
    (dial,) = c.next_leads(1, MONDAY)
    handling = c.machine_handling(dial.lead_id, MONDAY)
    assert (handling.action, handling.reason) == (MachineAction.HANG_UP, "")
    result = c.record_outcome(dial.lead_id, "machine", MONDAY)
    assert (result.status, result.due_at, result.message_left) == (
        LeadStatus.READY,
        MONDAY + timedelta(hours=4),
        False,
    )
    assert c.leads[dial.lead_id].outcomes == {"machine": 1}
    assert state.messages_left == []


@pytest.mark.parametrize("report", [{"outcome": "machine_message"}, {"outcome": "answered", "machine": True}])
def test_hang_up_refuses_reports_of_other_actions(report: dict[str, Any]) -> None:
    c = make(settings(), people(1, **CONSENT))
    (dial,) = c.next_leads(1, MONDAY)
    before = c.to_state()
    disposition = "sale" if report["outcome"] == "answered" else None
    with pytest.raises(CampaignError) as exc:
        c.record_outcome(
            dial.lead_id,
            report["outcome"],
            MONDAY,
            disposition=disposition,
            machine=report.get("machine", False),
        )
    assert exc.value.code == "campaign.machine"
    assert c.to_state() == before


# --- leave_message ---------------------------------------------
def leave_message(retry: bool = False) -> Any:
    return settings(
        retry=RETRY, answering_machine={"action": "leave_message", "message": MESSAGE, "retry": retry}
    )


def test_leave_message_settles_the_lead_and_notes_the_message() -> None:
    state = ComplianceState()
    s = leave_message()
    c = make(s, people(2, **CONSENT), state)
    (dial,) = c.next_leads(1, MONDAY)
    handling = c.machine_handling(dial.lead_id, MONDAY)
    assert (handling.action, handling.message) == (MachineAction.LEAVE_MESSAGE, MESSAGE)
    at = MONDAY + timedelta(seconds=40)
    result = c.record_outcome(dial.lead_id, Outcome.MACHINE_MESSAGE, at)
    assert (result.status, result.due_at, result.message_left) == (LeadStatus.DONE, None, True)
    lead = c.leads[dial.lead_id]
    assert (lead.last_outcome, lead.reason) == ("machine_message", "message left on the answering machine")
    (left,) = state.messages_left
    assert (left.at, left.number, left.campaign_id, left.account_id, left.message) == (
        at,
        dial.number,
        "c1",
        "acme",
        MESSAGE,
    )
    assert left.consent == "consent given 2026-01-05 via web form 2026-01 for account:acme"
    # Not abandoned, no live call: the abandoned-call rate is untouched.
    assert state.abandon_tracker(s.compliance).window_ending(at).live == 0
    # Done: never dialled again, even much later.
    later = [d.lead_id for d in c.next_leads(5, MONDAY + timedelta(days=2))]
    assert dial.lead_id not in later
    # The position keeps it.
    assert c.to_state()["leads"][0]["last_outcome"] == "machine_message"


def test_leave_message_with_retry_dials_again_by_the_machine_rule() -> None:
    state = ComplianceState()
    c = make(leave_message(retry=True), people(1, **CONSENT), state)
    now = MONDAY
    for attempt in (1, 2, 3):
        (dial,) = c.next_leads(1, now)
        result = c.record_outcome(dial.lead_id, "machine_message", now)
        if attempt < 3:
            assert (result.status, result.due_at) == (LeadStatus.READY, now + timedelta(hours=4))
            assert result.reason == "message left on the answering machine; retry after machine"
            now += timedelta(hours=4)
    assert result.status is LeadStatus.EXHAUSTED
    assert len(state.messages_left) == 3


def test_no_message_without_consent() -> None:
    # The NL preset allows the call on an active customer relationship; a recorded message needs consent.
    state = ComplianceState()
    c = make(leave_message(), people(1), state)
    (dial,) = c.next_leads(1, MONDAY)
    handling = c.machine_handling(dial.lead_id, MONDAY)
    assert handling.action is MachineAction.HANG_UP and handling.message == ""
    assert handling.reason.startswith("no message left: no consent to recorded messages (Telecommunicatiewet")
    before = c.to_state()
    with pytest.raises(CampaignError, match="no consent to recorded messages"):
        c.record_outcome(dial.lead_id, "machine_message", MONDAY)
    assert c.to_state() == before and state.messages_left == []
    # Hanging up instead is retried as before.
    assert c.record_outcome(dial.lead_id, "machine", MONDAY).status is LeadStatus.READY


def test_withdrawn_consent_means_no_message() -> None:
    contact = people(1, **CONSENT, consent_withdrawn_at=datetime(2026, 6, 1, tzinfo=AMS))
    c = make(leave_message(), contact)
    (dial,) = c.next_leads(1, MONDAY)
    assert c.machine_handling(dial.lead_id, MONDAY).action is MachineAction.HANG_UP


@pytest.mark.parametrize(
    ("jurisdiction", "law"), [("GB", "PECR 2003 reg. 19"), ("US", "16 CFR 310.4(b)(1)(v)")]
)
def test_the_reason_cites_the_law_of_the_preset(jurisdiction: str, law: str) -> None:
    s = leave_message()
    preset = replace(s.compliance.preset, jurisdiction=jurisdiction)
    c = make(replace(s, compliance=replace(s.compliance, preset=preset)), people(1))
    (dial,) = c.next_leads(1, MONDAY)
    assert law in c.machine_handling(dial.lead_id, MONDAY).reason


# --- pass_to_agent ---------------------------------------------
def test_pass_to_agent_is_settled_by_the_disposition() -> None:
    state = ComplianceState()
    s = settings(answering_machine={"action": "pass_to_agent"})
    c = make(s, people(2), state)
    first, second = c.next_leads(2, MONDAY)
    assert c.machine_handling(first.lead_id, MONDAY).action is MachineAction.PASS_TO_AGENT
    done = c.record_outcome(
        first.lead_id, "answered", MONDAY, disposition="no_thanks", agent_id="eva", machine=True
    )
    assert done.status is LeadStatus.DONE
    assert c.leads[first.lead_id].last_outcome == "machine_to_agent"
    assert c.leads[first.lead_id].disposition == "no_thanks"
    # The agent could not leave a message: no contact, retried like no answer.
    again = c.record_outcome(
        second.lead_id, "answered", MONDAY, disposition="absent", agent_id="eva", machine=True
    )
    assert again.status is LeadStatus.READY and again.due_at == MONDAY + timedelta(hours=2)
    # A machine is no live call: nothing in the abandoned-call rate, no message record.
    assert state.abandon_tracker(s.compliance).window_ending(MONDAY).live == 0
    assert state.messages_left == []


def test_pass_to_agent_not_taken_is_a_machine() -> None:
    c = make(settings(answering_machine={"action": "pass_to_agent"}, retry=RETRY), people(1))
    (dial,) = c.next_leads(1, MONDAY)
    result = c.record_outcome(dial.lead_id, "machine", MONDAY)
    assert (result.status, result.due_at) == (LeadStatus.READY, MONDAY + timedelta(hours=4))


# --- the simulator ---------------------------------------------
def _spec(action: MachineAction) -> CampaignSpec:
    return CampaignSpec(
        agents=5, live_rate=0.2, talk=talk_distribution(120.0), duration=1800.0, machine_action=action
    )


def test_simulator_default_summary_is_unchanged() -> None:
    r = run_campaign(_spec(MachineAction.HANG_UP), Predictive(), 3)
    assert r.machines > 0
    assert not any(key.startswith("machine") for key in r.summary())


def test_simulator_leave_message_changes_nothing_for_agents() -> None:
    hang_up = run_campaign(_spec(MachineAction.HANG_UP), Predictive(), 3).summary()
    message = run_campaign(_spec(MachineAction.LEAVE_MESSAGE), Predictive(), 3)
    # Every machine detected before the end of the run got the message (one may still be ringing).
    assert 0 < message.machine_messages <= message.machines <= message.machine_messages + 1
    assert message.machine_line_seconds == 20.0 * message.machine_messages
    summary = message.summary()
    for key in ("dials", "live", "connected", "abandoned", "talk_seconds", "information_messages"):
        assert summary[key] == hang_up[key], key


def test_simulator_pass_to_agent() -> None:
    r = run_campaign(_spec(MachineAction.PASS_TO_AGENT), FixedRatio(3.0), 2)
    assert r.machine_connected > 0 and r.machine_dropped > 0
    # Each machine is taken, dropped, or still with an agent or waiting at the end of the run.
    assert r.machine_connected + r.machine_dropped <= r.machines
    assert r.machine_talk_seconds <= 30.0 * r.machine_connected
    # Dropped machines are not abandoned calls and get no information message.
    assert r.information_messages == r.abandoned
    assert r.connected + r.abandoned <= r.live
