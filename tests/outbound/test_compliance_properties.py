"""Property-based tests: the guarantees the compliance engine must never break."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from centrale.outbound.compliance import evaluate
from centrale.outbound.consent import ConsentRecord, ConsentScope, ConsentScopeKind
from centrale.outbound.dnc import DncLevel, DncScope
from centrale.outbound.settings import CapScope, DialingMode, FrequencyCap
from centrale.outbound.state import ComplianceState

from .helpers import campaign, contact

NUMBERS = ("+31612345678", "+31201234567", "+12135550123", "+442079460958")
EU_ZONES = ("Europe/Amsterdam", "Europe/London", "Europe/Helsinki")
US_ZONES = ("America/Los_Angeles", "America/Denver", "America/Phoenix", "America/Chicago", "America/New_York",
            "Pacific/Honolulu", "America/Anchorage")  # fmt: skip


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def _transition_days(year: int) -> list[date]:
    """EU (last Sunday of March/October) and US (2nd Sunday of March, 1st of November) DST changes."""
    return [_last_sunday(year, 3), _last_sunday(year, 10), _nth_sunday(year, 3, 2), _nth_sunday(year, 11, 1)]


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """Aware instants, mostly within a day and a half of a daylight-saving transition."""
    year = draw(st.integers(2025, 2028))
    if draw(st.booleans()):
        day = draw(st.sampled_from(_transition_days(year)))
        base = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return base + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))


# -- DNC: never a dial to a listed number ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    preset=st.sampled_from(("nl", "uk", "us")),
    number=st.sampled_from(NUMBERS),
    level=st.sampled_from(list(DncLevel)),
    listed_before=st.integers(0, 10_000_000),
    now=instants(),
    reserved=st.booleans(),
)
def test_never_dial_a_number_on_a_dnc_list(
    preset: str, number: str, level: DncLevel, listed_before: int, now: datetime, reserved: bool
) -> None:
    state = ComplianceState()
    scope = {DncLevel.GLOBAL: DncScope.everywhere(), DncLevel.ACCOUNT: DncScope.account("acme"),
             DncLevel.CAMPAIGN: DncScope.campaign("c1")}[level]  # fmt: skip
    state.record_objection(number, scope, now - timedelta(seconds=listed_before))
    target = contact(number, ("Europe/Amsterdam",))
    assert not evaluate(target, campaign(preset), now, state, agent_reserved=reserved).allowed
    assert not evaluate(number, campaign(preset), now, state, agent_reserved=reserved).allowed


# -- consent: never without the consent the preset requires ----------------------------------------------

scopes = st.sampled_from(
    [
        ConsentScope(kind, value)
        for kind, value in [
            (ConsentScopeKind.ACCOUNT, "acme"),
            (ConsentScopeKind.ACCOUNT, "other"),
            (ConsentScopeKind.CAMPAIGN, "c1"),
            (ConsentScopeKind.CAMPAIGN, "c9"),
            (ConsentScopeKind.PURPOSE, "telemarketing"),
            (ConsentScopeKind.PURPOSE, "charity"),
        ]
    ]
)
offsets = st.integers(-5_000, 5_000).map(lambda d: timedelta(days=d))


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.tuples(scopes, offsets, st.none() | offsets, st.none() | offsets), max_size=4),
    active=st.booleans(),
    ended=st.none() | st.integers(-4000, 10).map(lambda d: timedelta(days=d)),
    now=instants(),
)
def test_never_dial_without_required_consent(
    records: list[tuple[ConsentScope, timedelta, timedelta | None, timedelta | None]],
    active: bool,
    ended: timedelta | None,
    now: datetime,
) -> None:
    state = ComplianceState()
    valid = False
    for scope, given_off, expires_off, withdrawn_off in records:
        record = ConsentRecord(
            "+31612345678",
            now + given_off,
            scope,
            expires_at=None if expires_off is None else now + expires_off,
            withdrawn_at=None if withdrawn_off is None else now + withdrawn_off,
        )
        state.consents.add(record)
        covers = scope.value in {"acme", "c1", "telemarketing"}
        valid |= covers and record.valid_at(now)
    ended_on = None if ended is None else (now + ended).date()
    target = contact(customer_relationship_active=active, customer_relationship_ended_on=ended_on)
    today = now.date()
    relationship = active or (ended_on is not None and ended_on <= today < _three_years_after(ended_on))
    decision = evaluate(target, campaign("nl"), now, state)
    consent = next(o for o in decision.outcomes if o.rule_id == "nl.consent")
    assert (consent.verdict.value == "allow") == (valid or relationship)
    if not (valid or relationship):
        assert not decision.allowed


def _three_years_after(day: date) -> date:
    if (day.month, day.day) == (2, 29):
        return date(day.year + 3, 2, 28)
    return date(day.year + 3, day.month, day.day)


# -- calling hours: never outside the callee's hours, DST days included --------------------------------------


def _nl_open(local: datetime) -> bool:
    day = local.date()
    if day.weekday() == 6 or day in holidays.NL(years=day.year):
        return False
    start, end = (time(10), time(16)) if day.weekday() == 5 else (time(9), time(22))
    if (day.month, day.day) in {(12, 5), (12, 24), (5, 4)}:
        end = min(end, time(18, 30))
    return start <= local.time() < end


def _us_open(local: datetime) -> bool:
    return time(8) <= local.time() < time(21)


@settings(max_examples=300, deadline=None)
@given(now=instants(), zones=st.lists(st.sampled_from(EU_ZONES), min_size=1, max_size=3, unique=True))
def test_nl_never_outside_calling_hours(now: datetime, zones: list[str]) -> None:
    decision = evaluate(contact(zones=tuple(zones)), campaign("nl"), now, ComplianceState())
    every_zone_open = all(_nl_open(now.astimezone(ZoneInfo(z))) for z in zones)
    assert decision.allowed == every_zone_open


@settings(max_examples=300, deadline=None)
@given(now=instants(), zones=st.lists(st.sampled_from(US_ZONES), min_size=1, max_size=4, unique=True))
def test_us_never_outside_calling_hours(now: datetime, zones: list[str]) -> None:
    decision = evaluate(contact("+12135550123", tuple(zones)), campaign("us"), now, ComplianceState())
    every_zone_open = all(_us_open(now.astimezone(ZoneInfo(z))) for z in zones)
    assert decision.allowed == every_zone_open


# -- caps: never above attempt or frequency caps -------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 72 * 60), min_size=1, max_size=40),
    max_attempts=st.integers(1, 8),
    cap=st.integers(1, 4),
    days=st.integers(1, 10),
    scope=st.sampled_from(list(CapScope)),
)
def test_never_above_attempt_or_frequency_caps(
    gaps: list[int], max_attempts: int, cap: int, days: int, scope: CapScope
) -> None:
    # The US preset calls every day; only dials inside 08:00–21:00 are placed at all.
    settings_ = campaign(
        "us", max_attempts_per_contact=max_attempts, frequency_cap=FrequencyCap(cap, days, scope)
    )
    state = ComplianceState()
    target = contact("+12135550123", ("America/Los_Angeles",))
    now = datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("America/Los_Angeles"))
    placed: list[datetime] = []
    for gap in gaps:
        now += timedelta(minutes=gap)
        decision = evaluate(target, settings_, now, state)
        if decision.allowed:
            state.record_attempt(decision)
            placed.append(now)
    assert len(placed) <= max_attempts
    for i, at in enumerate(placed):
        in_window = [p for p in placed[: i + 1] if at - p < timedelta(days=days)]
        assert len(in_window) <= cap


# -- UK: an abandoned call always requires the information message -------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    delay=st.none() | st.floats(0, 30, allow_nan=False),
    amd_false_positive=st.booleans(),
    ring=st.floats(1, 60, allow_nan=False),
    mode=st.sampled_from(list(DialingMode)),
    connect_within=st.floats(0, 5, allow_nan=False),
    now=instants(),
)
def test_uk_abandoned_call_always_requires_information_message(
    delay: float | None, amd_false_positive: bool, ring: float, mode: DialingMode, connect_within: float,
    now: datetime,
) -> None:  # fmt: skip
    settings_ = campaign(
        "uk",
        ring_timeout_seconds=ring,
        dialing_mode=mode,
        overrides={"uk.abandon_rate": {"connect_within_seconds": connect_within}},
    )
    assessment = ComplianceState().record_call(
        settings_, "+447911123456", now, answered_by_person=True, agent_connect_delay=delay,
        amd_false_positive=amd_false_positive,
    )  # fmt: skip
    if amd_false_positive or delay is None or delay > connect_within:
        assert assessment.abandoned
    if assessment.abandoned:
        assert assessment.information_message_required
