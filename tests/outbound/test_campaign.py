"""Campaign behaviour on hand examples: modes, retries, mix, order, compliance, callbacks, targets."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from centrale.outbound.campaign import Blocked, Campaign, Dial
from centrale.outbound.campaign_errors import CampaignError, FormInvalid
from centrale.outbound.compliance import evaluate
from centrale.outbound.leads import LeadStatus
from centrale.outbound.pacing import PacingSnapshot
from centrale.outbound.retry import Outcome
from centrale.outbound.state import ComplianceState
from centrale.outbound.targets import IsoWeek

from .campaign_helpers import AMS, MONDAY, make, people, person, settings

H = timedelta(hours=1)


def ids(dials: list[Dial]) -> list[str]:
    return [d.lead_id for d in dials]


# -- modes ----------------------------------------------------------------------------------------------


def test_progressive_dials_in_list_order_and_never_twice_at_once() -> None:
    c = make(settings(), people(5))
    first = c.next_leads(2, MONDAY)
    assert ids(first) == ["a:2", "a:3"]
    assert all(d.caller_id == "+31201234567" and d.ring_timeout_seconds == 20 for d in first)
    assert "offer_right_to_object" in first[0].obligations
    # The two in progress are skipped; asking for more than is left gives what is left.
    assert ids(c.next_leads(10, MONDAY)) == ["a:4", "a:5", "a:6"]
    assert c.next_leads(10, MONDAY) == []
    assert sorted(c.in_progress()) == ["a:2", "a:3", "a:4", "a:5", "a:6"]


def test_every_dial_is_evaluated_and_recorded_with_compliance() -> None:
    state = ComplianceState()
    c = make(settings(), people(3), state)
    c.next_leads(3, MONDAY)
    assert len(state.audit) == 3
    assert state.attempts.for_contact("c1", "+31610000000") == 1


def test_progressive_pacing_is_one_line_per_free_agent() -> None:
    c = make(settings(), people(3))
    assert c.lines_to_dial(PacingSnapshot(agents_free=2), 0.0) == 2


def test_predictive_selects_its_pacing_policy_by_name() -> None:
    s = settings(mode="predictive", pacing="ratio:2.5")
    c = make(s, people(3))
    assert c.pacing is not None and c.pacing.name == "ratio(2.5)"
    assert c.lines_to_dial(PacingSnapshot(agents_free=2), 0.0) == 5


def test_preview_offers_then_agent_starts_the_call() -> None:
    s = settings(
        mode="preview", preview={"timeout": "40s", "on_timeout": "return"}, script={"text": "Hi {first_name}"}
    )
    c = make(s, people(2))
    with pytest.raises(CampaignError):
        c.next_leads(1, MONDAY)
    offer = c.preview("eva", MONDAY)
    assert offer is not None and offer.lead_id == "a:2" and offer.script == "Hi P0"
    assert offer.deadline == MONDAY + timedelta(seconds=40)
    assert c.leads["a:2"].attempts == 0  # previewing is not an attempt
    # Another agent gets the next lead, not the one being previewed.
    other = c.preview("bob", MONDAY)
    assert other is not None and other.lead_id == "a:3"
    dial = c.start_call("a:2", "eva", MONDAY + timedelta(seconds=10))
    assert isinstance(dial, Dial) and dial.agent_id == "eva" and c.leads["a:2"].attempts == 1
    with pytest.raises(CampaignError):
        c.start_call("a:3", "eva", MONDAY)  # bob's preview


def test_preview_timeout_returns_the_lead() -> None:
    s = settings(mode="preview", preview={"timeout": "30s", "on_timeout": "return"})
    c = make(s, people(1))
    assert c.preview("eva", MONDAY) is not None
    assert c.expire_previews(MONDAY + timedelta(seconds=29)) == []
    expired = c.expire_previews(MONDAY + timedelta(seconds=30))
    assert [(e.lead_id, e.agent_id, e.result) for e in expired] == [("a:2", "eva", None)]
    assert c.leads["a:2"].status is LeadStatus.READY and c.leads["a:2"].attempts == 0
    offer = c.preview("bob", MONDAY + timedelta(seconds=31))
    assert offer is not None and offer.lead_id == "a:2"


def test_preview_timeout_can_auto_dial() -> None:
    s = settings(mode="preview", preview={"timeout": "30s", "on_timeout": "dial"})
    c = make(s, people(1))
    c.preview("eva", MONDAY)
    (expired,) = c.expire_previews(MONDAY + timedelta(minutes=1))
    assert isinstance(expired.result, Dial) and expired.result.agent_id == "eva"
    assert c.leads["a:2"].status is LeadStatus.IN_PROGRESS


def test_preview_start_rechecks_compliance() -> None:
    s = settings(mode="preview", preview={"timeout": "5h"})
    c = make(s, people(1))
    late = datetime(2026, 12, 7, 21, 50, tzinfo=AMS)
    assert c.preview("eva", late) is not None
    result = c.start_call("a:2", "eva", late + timedelta(minutes=15))  # 22:05: calling hours closed
    assert isinstance(result, Blocked) and result.reasons[0].startswith("nl.calling_hours")
    assert c.leads["a:2"].status is LeadStatus.READY and c.leads["a:2"].attempts == 0


def test_agentless_survey_records_answers() -> None:
    s = settings(
        mode="agentless",
        dispositions=[],
        agentless={
            "message": "Your meter will be replaced next week.",
            "max_lines": 3,
            "survey": [
                {
                    "id": "convenient",
                    "prompt": "Press 1 if Tuesday suits you, 2 if not",
                    "keys": {"1": "yes", "2": "no"},
                },
                {"id": "rating", "prompt": "Rate us 1 to 3", "keys": {"1": "bad", "2": "ok", "3": "good"}},
            ],
        },
    )
    c = make(s, people(5))
    assert c.lines_to_dial(PacingSnapshot(agents_free=0), 0.0) == 3
    dials = c.next_leads(3, MONDAY)
    assert dials[0].agentless is not None and dials[0].agentless.message.startswith("Your meter")
    assert c.lines_to_dial(PacingSnapshot(agents_free=0), 0.0) == 0
    with pytest.raises(CampaignError, match="not allowed"):
        c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, keys={"convenient": "7"})
    result = c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, keys={"convenient": "1", "rating": "3"})
    assert result.status is LeadStatus.DONE
    assert c.leads["a:2"].answers == {"convenient": "yes", "rating": "good"}
    assert c.leads["a:2"].disposition == "completed"


# -- retries --------------------------------------------------------------------------------------------


def test_retry_delay_and_per_outcome_cap() -> None:
    s = settings(retry={"max_attempts": 10, "busy": {"delay": "10m", "max_attempts": 2}})
    c = make(s, people(1))
    (d,) = c.next_leads(1, MONDAY)
    result = c.record_outcome(d.lead_id, Outcome.BUSY, MONDAY + timedelta(seconds=5))
    assert result.status is LeadStatus.READY and result.due_at == MONDAY + timedelta(minutes=10, seconds=5)
    assert c.next_leads(1, MONDAY + timedelta(minutes=10)) == []  # not due yet
    (d,) = c.next_leads(1, MONDAY + timedelta(minutes=11))
    result = c.record_outcome(d.lead_id, "busy", MONDAY + timedelta(minutes=11))
    assert result.status is LeadStatus.EXHAUSTED and "busy 2 times" in result.reason
    assert c.next_leads(1, MONDAY + timedelta(days=1)) == []


def test_campaign_attempt_cap_across_outcomes() -> None:
    s = settings(
        retry={
            "max_attempts": 3,
            "no_answer": {"delay": "1m", "max_attempts": 9},
            "busy": {"delay": "1m", "max_attempts": 9},
        }
    )
    c = make(s, people(1))
    at = MONDAY
    outcomes = [Outcome.NO_ANSWER, Outcome.BUSY, Outcome.NO_ANSWER]
    for i, outcome in enumerate(outcomes):
        (d,) = c.next_leads(1, at)
        assert d.attempt == i + 1
        result = c.record_outcome(d.lead_id, outcome, at)
        at += timedelta(minutes=2)
    assert result.status is LeadStatus.EXHAUSTED and "campaign maximum 3" in result.reason


def test_recycling_requeues_exhausted_leads_after_n_days() -> None:
    s = settings(retry={"max_attempts": 1}, recycle={"after_days": 14, "max_cycles": 1})
    c = make(s, people(1))
    (d,) = c.next_leads(1, MONDAY)
    c.record_outcome(d.lead_id, Outcome.NO_ANSWER, MONDAY)
    assert c.next_leads(1, MONDAY + timedelta(days=13)) == []
    (d,) = c.next_leads(1, MONDAY + timedelta(days=14))
    assert d.attempt == 1 and c.leads["a:2"].cycle == 1 and c.leads["a:2"].total_attempts == 2
    c.record_outcome(d.lead_id, Outcome.NO_ANSWER, MONDAY + timedelta(days=14))
    assert c.next_leads(1, MONDAY + timedelta(days=60)) == []  # only one recycle


def test_answered_call_needs_a_known_disposition_and_bad_reports_change_nothing() -> None:
    c = make(settings(), people(1))
    c.next_leads(1, MONDAY)
    with pytest.raises(CampaignError):
        c.record_outcome("a:2", Outcome.ANSWERED, MONDAY)
    with pytest.raises(CampaignError):
        c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, disposition="nope")
    with pytest.raises(CampaignError):
        c.record_outcome("a:2", Outcome.BUSY, MONDAY, disposition="sale")
    assert c.leads["a:2"].status is LeadStatus.IN_PROGRESS
    c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, disposition="sale", agent_id="eva")
    with pytest.raises(CampaignError):
        c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, disposition="sale")  # already settled


def test_no_contact_disposition_is_retried_like_no_answer() -> None:
    c = make(settings(retry={"no_answer": {"delay": "3h", "max_attempts": 4}}), people(1))
    c.next_leads(1, MONDAY)
    result = c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, disposition="absent", agent_id="eva")
    assert result.status is LeadStatus.READY and result.due_at == MONDAY + 3 * H


# -- list mix and lead order ---------------------------------------------------------------------------


def test_list_mix_follows_the_weights() -> None:
    lists = [
        {"name": "hot", "file": "h.csv", "weight": 3, "map": {"phone": "T"}},
        {"name": "cold", "file": "c.csv", "weight": 1, "map": {"phone": "T"}},
    ]
    c = make(settings(lists=lists), {"hot": people(100), "cold": people(100, start=100)})
    dials = c.next_leads(40, MONDAY)
    counts = Counter(d.lead_id.split(":")[0] for d in dials)
    assert counts == {"hot": 30, "cold": 10}
    # Smooth: never more than three hot leads in a row.
    names = "".join(d.lead_id[0] for d in dials)
    assert "hhhh" not in names
    # Once a list runs dry the other takes every dial.
    more = c.next_leads(200, MONDAY)
    assert Counter(d.lead_id.split(":")[0] for d in more) == {"hot": 70, "cold": 90}


def test_priority_order_highest_first_missing_last() -> None:
    contacts = [
        person(0, custom={"prio": "1"}),
        person(1, custom={}),
        person(2, custom={"prio": "9"}),
        person(3, custom={"prio": "5"}),
    ]
    c = make(settings(lead_order={"by": "priority", "field": "custom.prio"}), contacts)
    assert ids(c.next_leads(4, MONDAY)) == ["a:4", "a:5", "a:2", "a:3"]


def test_oldest_first_by_a_date_field() -> None:
    contacts = [
        person(0, custom={"prio": "2026-03-01"}),
        person(1, custom={"prio": "2025-01-01"}),
        person(2, custom={"prio": ""}),
    ]
    c = make(settings(lead_order={"by": "oldest_first", "field": "custom.prio"}), contacts)
    assert ids(c.next_leads(3, MONDAY)) == ["a:3", "a:2", "a:4"]


def test_random_order_is_reproducible_with_the_seed() -> None:
    s = settings(lead_order={"by": "random"})
    one = ids(make(s, people(20), seed=7).next_leads(20, MONDAY))
    two = ids(make(s, people(20), seed=7).next_leads(20, MONDAY))
    other = ids(make(s, people(20), seed=8).next_leads(20, MONDAY))
    assert one == two and sorted(one) == sorted(other) and one != other


def test_callable_now_order_prefers_zones_that_close_soonest() -> None:
    s = settings(
        compliance={"preset": "us"},
        caller_id="+12125550100",
        lead_order={"by": "callable_now", "local_hours": ["09:00", "21:00"]},
    )
    contacts = [
        person(0, phone="+12135550100", zones=("America/Los_Angeles",)),
        person(1, phone="+12125550101", zones=("America/New_York",)),
        person(2, phone="+13125550102", zones=("America/Chicago",)),
    ]
    # 19:00 in New York, 18:00 Chicago, 16:00 Los Angeles.
    now = datetime(2026, 12, 7, 19, 0, tzinfo=ZoneInfo("America/New_York"))
    assert ids(make(s, contacts).next_leads(3, now)) == ["a:3", "a:4", "a:2"]


# -- compliance -------------------------------------------------------------------------------------------


def test_calling_hours_block_in_the_callees_zone_and_the_lead_is_retried_later() -> None:
    s = settings(compliance={"preset": "us"}, caller_id="+12125550100", blocked_recheck="30m")
    contacts = [
        person(0, phone="+12125550100", zones=("America/New_York",)),
        person(1, phone="+12135550101", zones=("America/Los_Angeles",)),
    ]
    c = make(s, contacts)
    # 07:00 in Los Angeles, 10:00 in New York: only New York may be called.
    now = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert ids(c.next_leads(2, now)) == ["a:2"]
    la = c.leads["a:3"]
    assert la.status is LeadStatus.READY and la.attempts == 0
    assert "us.calling_hours" in la.reason and la.due_at == now + timedelta(minutes=30)
    assert c.next_leads(2, now + timedelta(minutes=29)) == []  # not looked at again before the recheck
    assert c.next_leads(2, now + timedelta(minutes=31)) == []  # 07:31 in Los Angeles: still too early
    assert ids(c.next_leads(2, now + 3 * H)) == ["a:3"]  # 10:00 in Los Angeles


def test_do_not_call_disposition_blocks_the_next_attempt_at_once() -> None:
    state = ComplianceState()
    s = settings()
    c = make(s, [person(0, alt_phones=("+31687654321",))], state)
    c.next_leads(1, MONDAY)
    result = c.record_outcome(
        "a:2", Outcome.ANSWERED, MONDAY + timedelta(seconds=30), disposition="dnc", agent_id="eva"
    )
    assert result.status is LeadStatus.DONE
    # A second campaign of the same account over the same person is blocked a second later.
    other = make(settings(campaign={"id": "c2", "account": "acme"}), [person(0)], state)
    assert other.next_leads(1, MONDAY + timedelta(seconds=31)) == []
    assert "nl.do_not_call" in other.leads["a:2"].reason
    later = evaluate("+31687654321", s.compliance, MONDAY + timedelta(seconds=31), state)
    assert not later.allowed  # the alternative number too


def test_inactive_campaign_dials_nothing() -> None:
    active = {"time_zone": "Europe/Amsterdam", "from": "2026-12-08", "hours": {"tue": ["09:00", "12:00"]}}
    c = make(settings(active=active), people(1))
    assert c.next_leads(1, MONDAY) == []  # before the start date
    assert c.next_leads(1, MONDAY + timedelta(days=1, hours=1)) == []  # Tuesday 12:00: closed
    assert len(c.next_leads(1, MONDAY + timedelta(days=1))) == 1


# -- callbacks --------------------------------------------------------------------------------------------


def test_callbacks_come_first_and_personal_ones_only_to_their_agent() -> None:
    c = make(settings(), people(6))
    dials = c.next_leads(3, MONDAY)
    t = MONDAY + timedelta(minutes=5)
    c.record_outcome(
        dials[0].lead_id,
        Outcome.ANSWERED,
        t,
        disposition="callback",
        agent_id="eva",
        callback_at=MONDAY + 2 * H,
        personal_callback=True,
    )
    c.record_outcome(
        dials[1].lead_id,
        Outcome.ANSWERED,
        t,
        disposition="callback",
        agent_id="bob",
        callback_at=MONDAY + 1 * H,
    )
    c.record_outcome(
        dials[2].lead_id,
        Outcome.ANSWERED,
        t,
        disposition="callback",
        agent_id="bob",
        callback_at=MONDAY + 3 * H,
    )
    # Not due yet: new leads first.
    assert ids(c.next_leads(1, MONDAY + 30 * timedelta(minutes=1))) == ["a:5"]
    # At 14:00 all three are due: a dialer without an agent gets the two "anyone" callbacks, earliest first.
    at = MONDAY + 3 * H
    got = c.next_leads(3, at)
    assert ids(got)[:2] == ["a:3", "a:4"] and all(d.callback for d in got[:2])
    assert ids(got)[2] == "a:6"  # then new leads; Eva's personal callback is not among them
    eva = c.next_leads(1, at, agent_id="eva")
    assert ids(eva) == ["a:2"] and eva[0].agent_id == "eva" and eva[0].callback


def test_callback_without_time_uses_the_callback_rule_and_its_cap() -> None:
    s = settings(retry={"callback": {"delay": "1d", "max_attempts": 1}})
    c = make(s, people(1))
    c.next_leads(1, MONDAY)
    r = c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, disposition="callback", agent_id="eva")
    assert r.due_at == MONDAY + timedelta(days=1)
    (d,) = c.next_leads(1, MONDAY + timedelta(days=1))
    assert d.callback and c.leads["a:2"].callback_dials == 1
    r = c.record_outcome(
        "a:2", Outcome.ANSWERED, MONDAY + timedelta(days=1), disposition="callback", agent_id="eva"
    )
    assert r.status is LeadStatus.EXHAUSTED


# -- forms, targets, export, position ---------------------------------------------------------------------


def test_form_errors_reject_the_outcome_with_one_error_per_field() -> None:
    form = {
        "fields": [
            {"name": "product", "type": "choice", "choices": ["a", "b"], "required": True},
            {"name": "amount", "type": "number", "min": 1, "max": 10},
        ]
    }
    c = make(settings(form=form), people(1))
    c.next_leads(1, MONDAY)
    with pytest.raises(FormInvalid) as err:
        c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, disposition="sale", form={"amount": "11"})
    assert err.value.errors == {"product": "is required", "amount": "11 is above the maximum 10"}
    assert c.leads["a:2"].status is LeadStatus.IN_PROGRESS
    c.record_outcome(
        "a:2", Outcome.ANSWERED, MONDAY, disposition="sale", form={"product": "b", "amount": "2,5"}
    )
    assert c.leads["a:2"].form == {"product": "b", "amount": "2.5"}


def test_targets_and_conversion_on_a_hand_example() -> None:
    s = settings(targets={"sales_per_agent_per_week": 3, "conversion_rate": 0.25})
    c = make(s, people(10))
    plan = [
        ("eva", "sale"),
        ("eva", "sale"),
        ("eva", "no_thanks"),
        ("bob", "sale"),
        ("bob", "no_thanks"),
        ("bob", "wrong"),
        ("bob", "no_thanks"),
        ("bob", "dnc"),
    ]
    dials = c.next_leads(len(plan), MONDAY)
    for dial, (agent, code) in zip(dials, plan, strict=True):
        c.record_outcome(dial.lead_id, Outcome.ANSWERED, MONDAY, disposition=code, agent_id=agent)
    wednesday_noon = datetime(2026, 12, 9, 12, tzinfo=AMS)  # 2.5 of 7 days into ISO week 2026-W50
    figures = {
        (p.subject, p.metric): p
        for p in c.progress(wednesday_noon, agents={"eva": "t1", "bob": "t1", "kim": "t2"})
    }
    eva, bob, kim = (
        figures["agent:eva", "sales"],
        figures["agent:bob", "sales"],
        figures["agent:kim", "sales"],
    )
    assert (eva.done, eva.target, round(eva.percent, 1), eva.on_track) == (2, 3, 66.7, True)
    assert bob.done == 1 and not bob.on_track  # expected 3 × 2.5/7 ≈ 1.07 by Wednesday noon
    assert kim.done == 0 and kim.period == "2026-W50"
    team = figures["team:t1", "sales"]
    assert (team.done, team.target) == (3, 6)
    conv = figures["campaign:c1", "conversion"]
    # 3 sales over 7 contacts (the wrong number is not a contact).
    assert (conv.sales, conv.contacts) == (3, 7) and conv.done == pytest.approx(3 / 7) and conv.on_track
    assert c.progress(wednesday_noon, week=IsoWeek(2026, 51))[-1].contacts == 0


def test_results_export_per_contact() -> None:
    c = make(settings(), people(2))
    c.next_leads(2, MONDAY)
    c.record_outcome("a:2", Outcome.ANSWERED, MONDAY, disposition="sale", agent_id="eva")
    c.record_outcome("a:3", Outcome.BUSY, MONDAY)
    out = io.StringIO()
    assert c.export_results(out) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("custom.prio,attempts,last_attempt_at,last_outcome,disposition")
    assert lines[1].endswith(f",1,{MONDAY.isoformat()},answered,sale")
    assert lines[2].endswith(f",1,{MONDAY.isoformat()},busy,")


def test_position_round_trip_mid_campaign_continues_identically() -> None:
    lists = [
        {"name": "a", "file": "a.csv", "weight": 2, "map": {"phone": "T"}},
        {"name": "b", "file": "b.csv", "weight": 1, "map": {"phone": "T"}},
    ]
    s = settings(lists=lists, lead_order={"by": "random"}, retry={"busy": {"delay": "5m", "max_attempts": 3}})
    contacts = {"a": people(12), "b": people(12, start=50)}
    state = ComplianceState()
    c = make(s, contacts, state, seed=3)
    dials = c.next_leads(6, MONDAY)
    c.record_outcome(dials[0].lead_id, Outcome.BUSY, MONDAY)
    c.record_outcome(
        dials[1].lead_id,
        Outcome.ANSWERED,
        MONDAY,
        disposition="callback",
        agent_id="eva",
        callback_at=MONDAY + H,
        personal_callback=True,
    )
    c.record_outcome(dials[2].lead_id, Outcome.ANSWERED, MONDAY, disposition="sale", agent_id="eva")
    saved = json.loads(json.dumps(c.to_state()))  # what a server would store
    restored = Campaign.from_state(s, contacts, state, saved)
    assert restored.to_state() == c.to_state()
    # Leads in progress at the save stay in progress: never dialled twice after a restart.
    assert restored.in_progress() == c.in_progress() and len(restored.in_progress()) == 3
    at = MONDAY + 2 * H
    assert ids(restored.next_leads(30, at, agent_id="eva")) == ids(c.next_leads(30, at, agent_id="eva"))
    assert restored.to_state() == c.to_state()


def test_restore_refuses_changed_lists() -> None:
    s = settings()
    c = make(s, people(3))
    with pytest.raises(CampaignError, match="lists changed"):
        Campaign.from_state(s, {"a": people(4)}, ComplianceState(), c.to_state())
