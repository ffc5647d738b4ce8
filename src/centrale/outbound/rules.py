"""The rule kinds the compliance engine can check, one small class each.

A rule turns a :class:`DialContext` into a :class:`~centrale.outbound.decision.RuleOutcome` with a
reason a compliance officer can read. Rules are built from a preset's
:class:`~centrale.outbound.presets.RuleSpec` (or from the campaign's own settings) for each
evaluation, so a change of settings can never leave a stale rule behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from centrale.outbound.consent import ConsentRecord, ConsentScope
from centrale.outbound.contact import Contact
from centrale.outbound.decision import RuleOutcome, Verdict
from centrale.outbound.phone import is_e164
from centrale.outbound.presets import WEEKDAYS, RuleSpec, parse_clock, parse_date
from centrale.outbound.settings import CampaignCompliance, CapScope, DialingMode
from centrale.outbound.state import ComplianceState

CAMPAIGN_SOURCE = "campaign compliance settings"
_WITHHELD = frozenset({"anonymous", "withheld", "private", "restricted", "unknown", "unavailable", "hidden"})
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class DialContext:
    """Everything a rule may look at for one dial."""

    number: str
    zones: tuple[str, ...]
    contact: Contact | None
    contact_key: str
    settings: CampaignCompliance
    now: datetime
    state: ComplianceState
    agent_reserved: bool

    @property
    def agent_guaranteed(self) -> bool:
        """An agent waits for this call: it cannot be abandoned."""
        return self.agent_reserved or self.settings.dialing_mode is not DialingMode.PREDICTIVE


class Rule(Protocol):
    """A check the engine runs before a dial."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def source(self) -> str: ...

    def check(self, ctx: DialContext) -> RuleOutcome: ...


@dataclass(frozen=True, slots=True)
class _Base:
    id: str
    kind: str
    source: str

    def allow(self, reason: str) -> RuleOutcome:
        return RuleOutcome(self.id, self.kind, Verdict.ALLOW, reason, self.source)

    def block(self, reason: str) -> RuleOutcome:
        return RuleOutcome(self.id, self.kind, Verdict.BLOCK, reason, self.source)


@dataclass(frozen=True, slots=True)
class DoNotCallRule(_Base):
    """No dial to a number on a do-not-call list of any scope that covers the campaign."""

    def check(self, ctx: DialContext) -> RuleOutcome:
        s = ctx.settings
        entry = ctx.state.dnc.blocking_entry(ctx.number, s.account_id, s.campaign_id, ctx.now)
        if entry is not None:
            why = f" ({entry.reason})" if entry.reason else ""
            return self.block(
                f"on the {entry.scope} do-not-call list since {entry.added_at.isoformat()}{why}"
            )
        return self.allow("not on any do-not-call list covering this campaign")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True, slots=True)
class ConsentRule(_Base):
    """Prior consent covering the call, or a customer relationship recent enough."""

    relationship_years: float
    relationship_exception_until: date | None

    def check(self, ctx: DialContext) -> RuleOutcome:
        s = ctx.settings
        consent = prior_consent(ctx.state, ctx.number, ctx.contact, s, ctx.now)
        if consent is not None:
            return self.allow(consent)
        relationship = self._relationship(ctx)
        if relationship is not None:
            return self.allow(relationship)
        return self.block(
            f"no valid consent for account {s.account_id}, campaign {s.campaign_id} or purpose "
            f"{s.purpose}, and no customer relationship ended less than {self.relationship_years:g} years ago"
        )

    def _relationship(self, ctx: DialContext) -> str | None:
        contact = ctx.contact
        today = ctx.now.date()
        if contact is None or self.relationship_years <= 0:
            return None
        if self.relationship_exception_until is not None and today >= self.relationship_exception_until:
            return None
        if contact.customer_relationship_active:
            return "active customer relationship"
        ended = contact.customer_relationship_ended_on
        if ended is not None and ended <= today:
            whole_years = int(self.relationship_years)
            limit = _add_years(ended, whole_years) + timedelta(
                days=365.25 * (self.relationship_years - whole_years)
            )
            if today < limit:
                years = f"{self.relationship_years:g}"
                return f"customer relationship ended {ended.isoformat()}, less than {years} years ago"
        return None


def prior_consent(
    state: ComplianceState, number: str, contact: Contact | None, settings: CampaignCompliance, at: datetime
) -> str | None:
    """The prior consent that covers a call to ``number`` at ``at`` under ``settings``, in words
    (given when, via what, for which scope), or None: the consent registry first, then the
    contact's own consent columns."""
    s = settings
    record = state.consents.valid_consent(number, s.account_id, s.campaign_id, s.purpose, at)
    if record is None and contact is not None:
        record = _contact_consent(contact, s)
        if record is not None and not (
            record.valid_at(at) and record.scope.covers(s.account_id, s.campaign_id, s.purpose)
        ):
            record = None
    if record is None:
        return None
    via = f" via {record.source}" if record.source else ""
    return f"consent given {record.given_at.date().isoformat()}{via} for {record.scope}"


def _contact_consent(contact: Contact, settings: CampaignCompliance) -> ConsentRecord | None:
    if contact.consent_given_at is None:
        return None
    try:
        scope = ConsentScope.parse(contact.consent_scope, default_account=settings.account_id)
    except ValueError:
        return None  # an unreadable scope cannot justify a call
    return ConsentRecord(
        contact.phone,
        contact.consent_given_at,
        scope,
        contact.consent_source or "contact list",
        contact.customer_id,
        contact.consent_expires_at,
        contact.consent_withdrawn_at,
    )


@dataclass(frozen=True, slots=True)
class CallerIdRule(_Base):
    """A caller ID that is present, valid E.164 and not withheld, so the callee can call back."""

    def check(self, ctx: DialContext) -> RuleOutcome:
        caller_id = (ctx.settings.caller_id or "").strip()
        if not caller_id:
            return self.block("the campaign has no caller ID")
        if caller_id.lower() in _WITHHELD:
            return self.block(f"the caller ID is withheld ({caller_id})")
        if not is_e164(caller_id):
            return self.block(f"the caller ID {caller_id!r} is not a valid number in E.164 form")
        return self.allow(f"caller ID {caller_id} is presented")


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    return dict(holidays.country_holidays(country, subdiv=subdivision, years=year))


@dataclass(frozen=True, slots=True)
class CallingHoursRule(_Base):
    """Calls only inside the permitted hours in *every* candidate time zone of the callee."""

    weekdays: tuple[tuple[time, time] | None, ...]
    early_close: Mapping[tuple[int, int], time]
    public_holidays: bool
    holiday_country: str | None
    holiday_subdivision: str | None
    closed_dates: frozenset[date]

    @classmethod
    def build(cls, spec: RuleSpec, settings: CampaignCompliance) -> CallingHoursRule:
        p = spec.params
        windows: list[tuple[time, time] | None] = []
        for day in WEEKDAYS:
            w = p["weekdays"][day]
            windows.append(None if w is None else (parse_clock(w[0], spec.id), parse_clock(w[1], spec.id)))
        early = {
            (int(k[:2]), int(k[3:5])): parse_clock(v, spec.id)
            for k, v in (p.get("early_close") or {}).items()
        }
        closed = frozenset(parse_date(d, spec.id) for d in p.get("closed_dates") or [])
        return cls(
            spec.id,
            spec.kind,
            _source(spec),
            tuple(windows),
            early,
            bool(p.get("public_holidays", False)),
            settings.preset.holiday_country,
            settings.preset.holiday_subdivision,
            closed | settings.closed_dates,
        )

    def _closed_reason(self, local: datetime) -> str | None:
        """Why no call is allowed at ``local`` (a callee-local time), or None if one is."""
        day = local.date()
        name = _DAY_NAMES[day.weekday()]
        if day in self.closed_dates:
            return f"{day.isoformat()} is a designated day without calls (remembrance or national mourning)"
        if self.public_holidays and self.holiday_country:
            holiday = _public_holidays(self.holiday_country, self.holiday_subdivision, day.year).get(day)
            if holiday is not None:
                return f"{day.isoformat()} is a public holiday ({holiday})"
        window = self.weekdays[day.weekday()]
        if window is None:
            return f"no calls on {name}s"
        start, end = window
        early = self.early_close.get((day.month, day.day))
        if early is not None and early < end:
            end = early
        clock = local.time()
        if not start <= clock < end:
            return f"{clock:%H:%M} on {name} {day.isoformat()} is outside {start:%H:%M}–{end:%H:%M}"
        return None

    def check(self, ctx: DialContext) -> RuleOutcome:
        if not ctx.zones:
            return self.block("the callee's time zone is unknown, so their local time cannot be checked")
        allowed: list[str] = []
        for zone in ctx.zones:
            try:
                local = ctx.now.astimezone(ZoneInfo(zone))
            except (ZoneInfoNotFoundError, ValueError):
                return self.block(f"unknown time zone {zone!r}")
            reason = self._closed_reason(local)
            if reason is not None:
                return self.block(f"{reason} in {zone}")
            allowed.append(f"{local:%H:%M} {zone}")
        return self.allow("inside calling hours: " + ", ".join(allowed))


@dataclass(frozen=True, slots=True)
class AbandonRateRule(_Base):
    """Predictive dialling only while the abandoned-call rate stays under the cap minus a margin."""

    def check(self, ctx: DialContext) -> RuleOutcome:
        tracker = ctx.state.abandon_tracker(ctx.settings)
        window = tracker.window_ending(ctx.now)
        hours = tracker.window.total_seconds() / 3600
        summary = (
            f"abandoned-call rate {window.rate:.2%} ({window.abandoned:g}/{window.live:g} live calls) "
            f"over the last {hours:g} h; cap {tracker.max_rate:.1%}, "
            f"safety margin {tracker.safety_margin:.1%}"
        )
        if ctx.agent_guaranteed:
            return self.allow(f"an agent is reserved for this call; {summary}")
        if tracker.predictive_allowed(ctx.now):
            return self.allow(summary)
        return self.block(f"{summary}: dial only with a reserved agent until the rate falls")


@dataclass(frozen=True, slots=True)
class AbandonedRepeatRule(_Base):
    """No repeat call soon after an abandoned call, unless an agent is guaranteed."""

    hours: float

    def check(self, ctx: DialContext) -> RuleOutcome:
        last = ctx.state.last_abandoned(ctx.number, ctx.now)
        if last is None or ctx.now - last >= timedelta(hours=self.hours):
            return self.allow(f"no abandoned call to this number in the last {self.hours:g} h")
        if ctx.agent_guaranteed:
            return self.allow(f"abandoned call at {last.isoformat()}, but an agent is reserved for this call")
        return self.block(
            f"a call to this number was abandoned at {last.isoformat()}, less than {self.hours:g} h ago"
        )


@dataclass(frozen=True, slots=True)
class RingTimeRule(_Base):
    """The no-answer timeout lets the phone ring long enough."""

    min_seconds: float
    min_rings: int | None

    def check(self, ctx: DialContext) -> RuleOutcome:
        s = ctx.settings
        if s.ring_timeout_seconds >= self.min_seconds:
            return self.allow(f"rings {s.ring_timeout_seconds:g} s (minimum {self.min_seconds:g} s)")
        if (
            self.min_rings is not None
            and s.ring_timeout_rings is not None
            and s.ring_timeout_rings >= self.min_rings
        ):
            return self.allow(f"rings {s.ring_timeout_rings} times (minimum {self.min_rings})")
        rings = f" or {self.min_rings} rings" if self.min_rings is not None else ""
        return self.block(
            f"the no-answer timeout of {s.ring_timeout_seconds:g} s is shorter than "
            f"{self.min_seconds:g} s{rings}"
        )


@dataclass(frozen=True, slots=True)
class ObligationRule(_Base):
    """Never blocks; adds a duty to the decision (an information message, the right to object)."""

    obligation: str

    def check(self, ctx: DialContext) -> RuleOutcome:
        return self.allow(f"obligation for this call: {self.obligation.replace('_', ' ')}")


@dataclass(frozen=True, slots=True)
class MaxAttemptsRule(_Base):
    """At most N attempts per contact in the campaign."""

    max_attempts: int

    def check(self, ctx: DialContext) -> RuleOutcome:
        done = ctx.state.attempts.for_contact(ctx.settings.campaign_id, ctx.contact_key)
        if done >= self.max_attempts:
            return self.block(f"{done} attempts made, the campaign allows {self.max_attempts} per contact")
        return self.allow(f"{done} of {self.max_attempts} attempts made")


@dataclass(frozen=True, slots=True)
class FrequencyCapRule(_Base):
    """At most N attempts to one number within any D days."""

    max_attempts: int
    days: float
    scope: CapScope

    def check(self, ctx: DialContext) -> RuleOutcome:
        s = ctx.settings
        since = ctx.now - timedelta(days=self.days)
        if self.scope is CapScope.ACCOUNT:
            done = ctx.state.attempts.for_number(ctx.number, since, ctx.now, account_id=s.account_id)
        else:
            done = ctx.state.attempts.for_number(ctx.number, since, ctx.now, campaign_id=s.campaign_id)
        where = f"by this {self.scope.value}"
        if done >= self.max_attempts:
            return self.block(f"{done} attempts to this number {where} in the last {self.days:g} days "
                              f"(cap {self.max_attempts})")  # fmt: skip
        return self.allow(f"{done} of {self.max_attempts} attempts {where} in the last {self.days:g} days")


@dataclass(frozen=True, slots=True)
class BlackoutRule(_Base):
    """No calls on the campaign's blackout dates (the callee's local date, in every candidate zone)."""

    dates: frozenset[date]

    def check(self, ctx: DialContext) -> RuleOutcome:
        zones = ctx.zones or ("UTC",)
        for zone in zones:
            try:
                day = ctx.now.astimezone(ZoneInfo(zone)).date()
            except (ZoneInfoNotFoundError, ValueError):
                return self.block(f"unknown time zone {zone!r}")
            if day in self.dates:
                return self.block(f"{day.isoformat()} is a blackout date of the campaign ({zone})")
        return self.allow("not a blackout date of the campaign")


def _source(spec: RuleSpec) -> str:
    if spec.overridden:
        return f"{spec.source} [parameters {', '.join(spec.overridden)} set by the campaign]"
    return spec.source


def _param(params: Mapping[str, Any], key: str) -> Any:
    return params[key]


def build_rules(settings: CampaignCompliance) -> tuple[Rule, ...]:
    """The rules in force for a campaign: the preset's (with overrides), then the campaign's own."""
    rules: list[Rule] = []
    for spec in settings.rules:
        p = spec.params
        src = _source(spec)
        if spec.kind == "do_not_call":
            rules.append(DoNotCallRule(spec.id, spec.kind, src))
        elif spec.kind == "consent":
            until = p.get("customer_relationship_exception_until")
            rules.append(
                ConsentRule(
                    spec.id,
                    spec.kind,
                    src,
                    float(p.get("customer_relationship_years", 0)),
                    None if until is None else parse_date(until, spec.id),
                )
            )
        elif spec.kind == "caller_id":
            rules.append(CallerIdRule(spec.id, spec.kind, src))
        elif spec.kind == "calling_hours":
            rules.append(CallingHoursRule.build(spec, settings))
        elif spec.kind == "abandon_rate":
            rules.append(AbandonRateRule(spec.id, spec.kind, src))
        elif spec.kind == "abandoned_repeat":
            rules.append(AbandonedRepeatRule(spec.id, spec.kind, src, float(_param(p, "hours"))))
        elif spec.kind == "ring_time":
            min_rings = p.get("min_rings")
            rules.append(
                RingTimeRule(
                    spec.id,
                    spec.kind,
                    src,
                    float(_param(p, "min_seconds")),
                    None if min_rings is None else int(min_rings),
                )
            )
        elif spec.kind == "obligation":
            rules.append(ObligationRule(spec.id, spec.kind, src, str(_param(p, "obligation"))))
    if settings.max_attempts_per_contact is not None:
        rules.append(
            MaxAttemptsRule(
                "campaign.max_attempts", "max_attempts", CAMPAIGN_SOURCE, settings.max_attempts_per_contact
            )
        )
    cap = settings.frequency_cap
    if cap is not None:
        rules.append(
            FrequencyCapRule(
                "campaign.frequency_cap",
                "frequency_cap",
                CAMPAIGN_SOURCE,
                cap.max_attempts,
                cap.days,
                cap.scope,
            )
        )
    if settings.blackout_dates:
        rules.append(
            BlackoutRule(
                "campaign.blackout_dates", "blackout_dates", CAMPAIGN_SOURCE, settings.blackout_dates
            )
        )
    return tuple(rules)
