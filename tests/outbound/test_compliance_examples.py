"""Example-based tests of every compliance rule, with concrete dates."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from centrale.outbound.abandon import AbandonRateTracker
from centrale.outbound.compliance import evaluate, requires_information_message
from centrale.outbound.consent import ConsentRecord, ConsentScope, ConsentScopeKind
from centrale.outbound.decision import Verdict
from centrale.outbound.dnc import DncScope, InvalidNumberError
from centrale.outbound.errors import ComplianceConfigError
from centrale.outbound.presets import builtin_presets, load_preset, parse_preset
from centrale.outbound.settings import DialingMode, FrequencyCap, load_campaign_settings
from centrale.outbound.state import ComplianceState, NotAllowedError

from .helpers import campaign, contact

AMS = ZoneInfo("Europe/Amsterdam")
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")


def blocked_rules(decision_outcomes: tuple[object, ...]) -> set[str]:
    return {o.rule_id for o in decision_outcomes}  # type: ignore[attr-defined]


def nl_allowed(at: datetime, **kwargs: object) -> bool:
    return evaluate(contact(), campaign("nl", **kwargs), at, ComplianceState()).allowed


# -- NL calling hours -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "allowed"),
    [
        (datetime(2026, 12, 5, 18, 45, tzinfo=AMS), False),  # 5 December (a Saturday in 2026)
        (datetime(2025, 12, 5, 18, 29, tzinfo=AMS), True),  # 5 December 2025, a Friday: until 18:30
        (datetime(2025, 12, 5, 18, 30, tzinfo=AMS), False),
        (datetime(2025, 12, 24, 18, 45, tzinfo=AMS), False),
        (datetime(2026, 5, 4, 18, 45, tzinfo=AMS), False),  # Remembrance of the Dead
        (datetime(2026, 5, 4, 18, 0, tzinfo=AMS), True),
        (datetime(2026, 12, 12, 15, 59, tzinfo=AMS), True),  # Saturday 15:59
        (datetime(2026, 12, 12, 16, 0, tzinfo=AMS), False),  # Saturday 16:00
        (datetime(2026, 12, 12, 9, 59, tzinfo=AMS), False),  # Saturday before 10:00
        (datetime(2026, 12, 7, 8, 59, tzinfo=AMS), False),  # Monday before 09:00
        (datetime(2026, 12, 7, 9, 0, tzinfo=AMS), True),
        (datetime(2026, 12, 7, 21, 59, tzinfo=AMS), True),
        (datetime(2026, 12, 7, 22, 0, tzinfo=AMS), False),
        (datetime(2026, 12, 6, 12, 0, tzinfo=AMS), False),  # Sunday
        (datetime(2026, 4, 27, 12, 0, tzinfo=AMS), False),  # King's Day
        (datetime(2026, 12, 25, 12, 0, tzinfo=AMS), False),  # Christmas
        (datetime(2026, 5, 14, 12, 0, tzinfo=AMS), False),  # Ascension Day
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), True),  # 10:00 in Amsterdam
    ],
)
def test_nl_calling_hours(at: datetime, allowed: bool) -> None:
    assert nl_allowed(at) is allowed


def test_nl_mourning_day_from_campaign() -> None:
    at = datetime(2026, 11, 11, 12, 0, tzinfo=AMS)  # a Wednesday
    assert nl_allowed(at)
    assert not nl_allowed(at, closed_dates=frozenset({date(2026, 11, 11)}))


def test_nl_calling_hours_override_is_recorded() -> None:
    weekdays = {d: ["09:00", "21:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {
        "sat": ["10:00", "16:00"],
        "sun": None,
    }
    settings = campaign("nl", overrides={"nl.calling_hours": {"weekdays": weekdays}})
    decision = evaluate(contact(), settings, datetime(2026, 12, 7, 21, 30, tzinfo=AMS), ComplianceState())
    (blocked,) = decision.blocked_by
    assert blocked.rule_id == "nl.calling_hours" and "set by the campaign" in blocked.source


# -- NL consent, objection, caller ID ------------------------------------------------------------------

MONDAY = datetime(2026, 12, 7, 11, 0, tzinfo=AMS)


def test_nl_consent_required() -> None:
    state = ComplianceState()
    stranger = contact(customer_relationship_active=False)
    decision = evaluate(stranger, campaign("nl"), MONDAY, state)
    assert not decision.allowed and blocked_rules(decision.blocked_by) == {"nl.consent"}
    state.consents.add(
        ConsentRecord(
            "+31612345678",
            datetime(2026, 1, 1, tzinfo=UTC),
            ConsentScope(ConsentScopeKind.ACCOUNT, "acme"),
            source="webform",
        )
    )
    assert evaluate(stranger, campaign("nl"), MONDAY, state).allowed
    state.consents.withdraw("+31612345678", datetime(2026, 12, 1, tzinfo=UTC))
    assert not evaluate(stranger, campaign("nl"), MONDAY, state).allowed


def test_nl_consent_scope_and_expiry_from_the_list() -> None:
    given = datetime(2026, 1, 1, tzinfo=UTC)
    for scope, ok in [("", True), ("account:acme", True), ("account:other", False), ("campaign:c1", True),
                      ("purpose:telemarketing", True), ("fundraising", False)]:  # fmt: skip
        c = contact(customer_relationship_active=False, consent_given_at=given, consent_scope=scope)
        assert evaluate(c, campaign("nl"), MONDAY, ComplianceState()).allowed is ok, scope
    expired = contact(
        customer_relationship_active=False,
        consent_given_at=given,
        consent_expires_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    assert not evaluate(expired, campaign("nl"), MONDAY, ComplianceState()).allowed


@pytest.mark.parametrize(("ended", "allowed"), [(date(2023, 12, 8), True), (date(2023, 12, 7), False)])
def test_nl_customer_relationship_three_years(ended: date, allowed: bool) -> None:
    c = contact(customer_relationship_active=False, customer_relationship_ended_on=ended)
    assert evaluate(c, campaign("nl"), MONDAY, ComplianceState()).allowed is allowed


def test_nl_customer_relationship_exception_can_be_ended() -> None:
    settings = campaign(
        "nl", overrides={"nl.consent": {"customer_relationship_exception_until": "2026-07-01"}}
    )
    assert not evaluate(contact(), settings, MONDAY, ComplianceState()).allowed


def test_objection_is_honoured_at_once() -> None:
    state = ComplianceState()
    settings = campaign("nl")
    first = evaluate(contact(), settings, MONDAY, state)
    assert first.allowed and "offer_right_to_object" in first.obligations
    state.record_objection("+31612345678", DncScope.account("acme"), MONDAY + timedelta(minutes=3))
    later = evaluate(contact(), settings, MONDAY + timedelta(minutes=4), state)
    assert not later.allowed and blocked_rules(later.blocked_by) == {"nl.do_not_call"}
    other_account = campaign("nl").__class__("c2", "other", settings.preset, caller_id=settings.caller_id)
    assert evaluate(contact(), other_account, MONDAY + timedelta(minutes=4), state).allowed


@pytest.mark.parametrize("caller_id", [None, "", "anonymous", "Withheld", "0201234567", "+3120"])
def test_caller_id_must_be_recognisable(caller_id: str | None) -> None:
    decision = evaluate(contact(), campaign("nl", caller_id=caller_id), MONDAY, ComplianceState())
    assert blocked_rules(decision.blocked_by) == {"nl.caller_id"}


# -- US -----------------------------------------------------------------------------------------------------


def us_contact(zones: tuple[str, ...] = ("America/Los_Angeles",)) -> object:
    return contact("+12135550123", zones)


@pytest.mark.parametrize(
    ("at", "allowed"),
    [
        (datetime(2026, 7, 1, 20, 59, tzinfo=LA), True),
        (datetime(2026, 7, 1, 21, 0, tzinfo=LA), False),
        (datetime(2026, 7, 1, 7, 59, tzinfo=LA), False),
        (datetime(2026, 7, 1, 8, 0, tzinfo=LA), True),
        (datetime(2026, 7, 5, 12, 0, tzinfo=LA), True),  # Sundays are fine federally
    ],
)
def test_us_calling_hours_local_time(at: datetime, allowed: bool) -> None:
    decision = evaluate(us_contact(), campaign("us"), at, ComplianceState())  # type: ignore[arg-type]
    assert decision.allowed is allowed


def test_us_every_candidate_zone_must_allow() -> None:
    zones = ("America/Los_Angeles", "America/New_York")
    # 19:00 in Los Angeles is 22:00 in New York.
    at = datetime(2026, 7, 1, 19, 0, tzinfo=LA)
    decision = evaluate(us_contact(zones), campaign("us"), at, ComplianceState())  # type: ignore[arg-type]
    assert not decision.allowed and "America/New_York" in decision.blocked_by[0].reason
    # a bare number: zones come from the area code
    assert evaluate("+12135550123", campaign("us"), at, ComplianceState()).allowed


def test_unknown_time_zone_blocks() -> None:
    decision = evaluate(contact("+12135550123", ()), campaign("us"), datetime(2026, 7, 1, 12, tzinfo=LA),
                        ComplianceState())  # fmt: skip
    assert not decision.allowed


def test_us_ring_time_seconds_or_rings() -> None:
    at = datetime(2026, 7, 1, 12, tzinfo=LA)
    assert not evaluate(
        "+12135550123", campaign("us", ring_timeout_seconds=14), at, ComplianceState()
    ).allowed
    assert evaluate(
        "+12135550123", campaign("us", ring_timeout_seconds=14, ring_timeout_rings=4), at, ComplianceState()
    ).allowed


# -- UK ------------------------------------------------------------------------------------------

UK_NUMBER = "+447911123456"
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=LONDON)


def test_uk_information_message_and_72_hour_rule() -> None:
    settings = campaign("uk")
    state = ComplianceState()
    assert requires_information_message(settings)
    assessment = state.record_call(
        settings, UK_NUMBER, NOON, answered_by_person=True, agent_connect_delay=2.5
    )
    assert assessment.abandoned and assessment.information_message_required
    soon = evaluate(UK_NUMBER, settings, NOON + timedelta(hours=71), state)
    assert {o.rule_id for o in soon.blocked_by} >= {"uk.abandoned_repeat"}
    with_agent = evaluate(UK_NUMBER, settings, NOON + timedelta(hours=71), state, agent_reserved=True)
    assert with_agent.allowed
    assert evaluate(UK_NUMBER, settings, NOON + timedelta(hours=72), state, agent_reserved=True).allowed


def test_uk_two_second_rule() -> None:
    settings, state = campaign("uk"), ComplianceState()
    assert not state.record_call(
        settings, UK_NUMBER, NOON, answered_by_person=True, agent_connect_delay=2.0
    ).abandoned
    assert state.record_call(
        settings, UK_NUMBER, NOON, answered_by_person=True, agent_connect_delay=None
    ).abandoned
    assert state.record_call(
        settings, UK_NUMBER, NOON, answered_by_person=False, amd_false_positive=True
    ).abandoned
    assert not state.record_call(settings, UK_NUMBER, NOON, answered_by_person=False).abandoned  # no answer


def test_uk_abandon_rate_stops_predictive_dialling() -> None:
    settings, state = campaign("uk"), ComplianceState()
    for i in range(100):
        delay = None if i < 3 else 0.5  # 3 abandoned of 100 live calls = 3 %
        at = NOON + timedelta(minutes=i)
        state.record_call(
            settings, f"+447911000{i:03d}", at, answered_by_person=True, agent_connect_delay=delay
        )
    later = NOON + timedelta(hours=3)
    decision = evaluate(UK_NUMBER, settings, later, state)
    assert {o.rule_id for o in decision.blocked_by} == {"uk.abandon_rate"}
    assert evaluate(UK_NUMBER, settings, later, state, agent_reserved=True).allowed
    assert evaluate(UK_NUMBER, campaign("uk", dialing_mode=DialingMode.PROGRESSIVE), later, state).allowed
    # 24 hours after the last abandoned call the window is clean again.
    assert evaluate(UK_NUMBER, settings, NOON + timedelta(hours=24, minutes=3), state).allowed


def test_abandon_tracker_windows() -> None:
    tracker = AbandonRateTracker(window=timedelta(hours=24), safety_margin=0.005)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(50):
        tracker.record_live_call(start + timedelta(minutes=i), agent_connect_delay=0.3)
    tracker.record_live_call(start + timedelta(hours=1), agent_connect_delay=3.0)
    assert tracker.rate(start + timedelta(hours=2)) == pytest.approx(1 / 51)
    assert tracker.predictive_allowed(start + timedelta(hours=2))
    tracker.record_live_call(start + timedelta(hours=30), agent_connect_delay=None)
    worst = tracker.worst_window()
    assert worst is not None and worst.rate == 1.0 and worst.live == 1
    assert not tracker.predictive_allowed(start + timedelta(hours=30))
    assert tracker.rate(start + timedelta(hours=60)) == 0.0


def test_abandon_tracker_estimates_amd_false_positives() -> None:
    tracker = AbandonRateTracker(window=timedelta(days=30), amd_false_positive_rate=0.1)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(90):
        tracker.record_live_call(at, agent_connect_delay=1.0)
    for _ in range(100):
        tracker.record_machine_detected(at)
    assert tracker.rate(at) == pytest.approx(10 / 100)


# -- caps, blackout, audit, configuration ---------------------------------------------------------------


def test_attempt_and_frequency_caps() -> None:
    settings = campaign("nl", max_attempts_per_contact=3, frequency_cap=FrequencyCap(2, 7))
    state = ComplianceState()
    for day in (0, 1):
        decision = evaluate(contact(), settings, MONDAY + timedelta(days=day), state)
        assert decision.allowed
        state.record_attempt(decision)
    capped = evaluate(contact(), settings, MONDAY + timedelta(days=2), state)
    assert blocked_rules(capped.blocked_by) == {"campaign.frequency_cap"}
    with pytest.raises(NotAllowedError):
        state.record_attempt(capped)
    third = evaluate(contact(), settings, MONDAY + timedelta(days=7, hours=1), state)
    assert third.allowed
    state.record_attempt(third)
    fourth = evaluate(contact(), settings, MONDAY + timedelta(days=21), state)
    assert blocked_rules(fourth.blocked_by) == {"campaign.max_attempts"}


def test_blackout_dates() -> None:
    settings = campaign("nl", blackout_dates=frozenset({date(2026, 12, 7)}))
    decision = evaluate(contact(), settings, MONDAY, ComplianceState())
    assert blocked_rules(decision.blocked_by) == {"campaign.blackout_dates"}


def test_audit_export_per_campaign() -> None:
    state = ComplianceState()
    evaluate(contact(), campaign("nl"), MONDAY, state)
    evaluate(contact(), campaign("nl"), MONDAY.replace(hour=23), state)
    other = campaign("nl").__class__("c2", "acme", load_preset("nl"), caller_id="+31201234567")
    evaluate(contact(), other, MONDAY, state)
    out = io.StringIO()
    assert state.audit.export_csv(out, campaign_id="c1") == 2
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("sequence,at,campaign_id")
    assert len(lines) == 1 + 2 * 5  # five NL rules per decision
    assert any(",no,nl.calling_hours,block," in line for line in lines)
    assert all(",c2," not in line for line in lines)


def test_decisions_need_aware_times_and_e164() -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate(contact(), campaign("nl"), datetime(2026, 12, 7, 11), ComplianceState())
    decision = evaluate("0612345678", campaign("nl"), MONDAY, ComplianceState())
    assert not decision.allowed and decision.blocked_by[0].verdict is Verdict.BLOCK
    with pytest.raises(InvalidNumberError):
        ComplianceState().record_objection("0612345678", DncScope.everywhere(), MONDAY)


def test_presets_and_settings_files() -> None:
    assert builtin_presets() == ("nl", "uk", "us")
    for name in builtin_presets():
        preset = load_preset(name)
        assert all(rule.source for rule in preset.rules)
    example = Path(__file__).parents[2] / "examples" / "outbound" / "campaign-compliance.yaml"
    settings = load_campaign_settings(example)
    assert settings.preset.id == "nl" and settings.frequency_cap == FrequencyCap(
        2, 7, settings.frequency_cap.scope
    )
    with pytest.raises(ComplianceConfigError):
        load_preset("atlantis")
    with pytest.raises(ComplianceConfigError, match="do_not_call"):
        parse_preset({"id": "x", "name": "x", "jurisdiction": "X",
                      "rules": [{"id": "a", "kind": "caller_id", "source": "s"}]}, "test")  # fmt: skip
    with pytest.raises(ComplianceConfigError, match="overrides"):
        campaign("nl", overrides={"nl.nope": {"x": 1}})
    with pytest.raises(ComplianceConfigError, match="max_rate"):
        campaign("uk", overrides={"uk.abandon_rate": {"max_rate": 3}})
