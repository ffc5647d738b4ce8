"""What the compliance engine remembers between dials: lists, consents, attempts, abandoned calls.

All of it is in memory and fed by the dialer through explicit calls (``record_*``); nothing here
reads a clock or a file, so the same sequence of calls always gives the same decisions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from datetime import datetime, timedelta

from centrale.outbound.abandon import AbandonRateTracker
from centrale.outbound.audit import AuditLog
from centrale.outbound.consent import ConsentRegistry
from centrale.outbound.decision import Decision
from centrale.outbound.dnc import DncEntry, DncScope, DoNotCallRegistry, require_e164
from centrale.outbound.errors import OutboundError
from centrale.outbound.settings import CampaignCompliance


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware datetimes")
    return at


@dataclass(frozen=True, slots=True)
class Attempt:
    """One dial that was placed."""

    at: datetime
    number: str
    contact_key: str
    campaign_id: str
    account_id: str


class AttemptHistory:
    """Dials placed, by number and by (campaign, contact)."""

    def __init__(self) -> None:
        self._by_number: dict[str, list[Attempt]] = {}
        self._by_contact: dict[tuple[str, str], int] = {}

    def record(self, attempt: Attempt) -> None:
        """Record a placed dial."""
        attempts = self._by_number.setdefault(attempt.number, [])
        insort(attempts, attempt, key=lambda a: a.at)
        key = (attempt.campaign_id, attempt.contact_key)
        self._by_contact[key] = self._by_contact.get(key, 0) + 1

    def for_contact(self, campaign_id: str, contact_key: str) -> int:
        """Attempts to one contact in one campaign."""
        return self._by_contact.get((campaign_id, contact_key), 0)

    def for_number(
        self,
        number: str,
        since: datetime,
        until: datetime,
        *,
        campaign_id: str | None = None,
        account_id: str | None = None,
    ) -> int:
        """Attempts to ``number`` in ``(since, until]``, optionally for one campaign or account."""
        attempts = self._by_number.get(number, [])
        lo = bisect_right(attempts, since, key=lambda a: a.at)
        hi = bisect_right(attempts, until, key=lambda a: a.at)
        return sum(
            1
            for a in attempts[lo:hi]
            if (campaign_id is None or a.campaign_id == campaign_id)
            and (account_id is None or a.account_id == account_id)
        )


@dataclass(frozen=True, slots=True)
class MessageLeft:
    """A recorded message the dialer left on an answering machine, and the consent that allowed it."""

    at: datetime
    number: str
    contact_key: str
    campaign_id: str
    account_id: str
    message: str
    consent: str
    """The consent relied on, as the consent rule words it (given when, via what, for which scope)."""


@dataclass(frozen=True, slots=True)
class CallAssessment:
    """The compliance view of a call's result."""

    abandoned: bool
    information_message_required: bool


class NotAllowedError(OutboundError):
    """An attempt was recorded for a decision that did not allow it."""

    code = "dial_not_allowed"


class ComplianceState:
    """The mutable side of compliance for one deployment (any number of campaigns)."""

    def __init__(self) -> None:
        self.dnc = DoNotCallRegistry()
        self.consents = ConsentRegistry()
        self.attempts = AttemptHistory()
        self.audit = AuditLog()
        self._trackers: dict[str, AbandonRateTracker] = {}
        self._abandoned: dict[str, list[datetime]] = {}
        self.messages_left: list[MessageLeft] = []
        """Recorded messages left on answering machines, in order (append-only, like the audit)."""
        self._sequence = 0

    def next_sequence(self) -> int:
        """A number for the next decision, increasing by one."""
        self._sequence += 1
        return self._sequence

    # -- objections and lists -----------------------------------------------------------------------

    def record_objection(
        self, number: str, scope: DncScope, at: datetime, *, reason: str = "objection", source: str = ""
    ) -> DncEntry:
        """Honour an objection at once: from ``at`` on, ``number`` is not called within ``scope``.

        This is what an agent's "objection" / "do not call" disposition triggers.
        """
        return self.dnc.add(number, scope, _require_aware(at), reason=reason, source=source or "disposition")

    # -- attempts and call results ------------------------------------------------------------------

    def record_attempt(self, decision: Decision) -> Attempt:
        """Record that the dial a decision allowed was placed (counts towards the caps)."""
        if not decision.allowed:
            raise NotAllowedError(
                f"decision {decision.sequence} blocked the dial to {decision.number}; it cannot be placed"
            )
        attempt = Attempt(
            decision.at, decision.number, decision.contact_key, decision.campaign_id, decision.account_id
        )
        self.attempts.record(attempt)
        return attempt

    def abandon_tracker(self, settings: CampaignCompliance) -> AbandonRateTracker:
        """The campaign's abandoned-call tracker, with the window and cap of its preset."""
        tracker = self._trackers.get(settings.campaign_id)
        if tracker is None:
            rule = next((r for r in settings.rules if r.kind == "abandon_rate"), None)
            params = rule.params if rule is not None else {}
            tracker = AbandonRateTracker(
                window=timedelta(hours=float(params.get("window_hours", 24.0))),
                max_rate=float(params.get("max_rate", 0.03)),
                connect_within_seconds=float(params.get("connect_within_seconds", 2.0)),
                safety_margin=settings.abandon_safety_margin,
                amd_false_positive_rate=settings.amd_false_positive_rate,
            )
            self._trackers[settings.campaign_id] = tracker
        return tracker

    def record_call(
        self,
        settings: CampaignCompliance,
        number: str,
        at: datetime,
        *,
        answered_by_person: bool,
        agent_connect_delay: float | None = None,
        amd_false_positive: bool = False,
    ) -> CallAssessment:
        """Record how a placed call ended, for the abandoned-call rate and the repeat-call rule.

        ``agent_connect_delay`` is the seconds from the end of the callee's greeting until an agent
        was connected (``None``: never). A person taken for a machine by AMD
        (``amd_false_positive``) counts as an abandoned live call.
        """
        require_e164(number)
        _require_aware(at)
        tracker = self.abandon_tracker(settings)
        abandoned = False
        if amd_false_positive:
            tracker.record_amd_false_positive(at)
            abandoned = True
        elif answered_by_person:
            abandoned = tracker.record_live_call(at, agent_connect_delay=agent_connect_delay)
        if abandoned:
            insort(self._abandoned.setdefault(number, []), at)
        return CallAssessment(abandoned, abandoned and requires_information_message(settings))

    def record_message_left(self, message: MessageLeft) -> MessageLeft:
        """Record that a recorded message was left on an answering machine (the compliance record)."""
        require_e164(message.number)
        _require_aware(message.at)
        self.messages_left.append(message)
        return message

    def last_abandoned(self, number: str, at: datetime) -> datetime | None:
        """The latest abandoned call to ``number`` at or before ``at``."""
        times = self._abandoned.get(number, [])
        index = bisect_right(times, at)
        return times[index - 1] if index else None

    def abandoned_calls(self, number: str, since: datetime) -> int:
        """Abandoned calls to ``number`` from ``since`` on."""
        times = self._abandoned.get(number, [])
        return len(times) - bisect_left(times, since)


def requires_information_message(settings: CampaignCompliance) -> bool:
    """True if the campaign's preset requires a recorded information message on abandoned calls.

    The dialer consults this before it drops an answered call for want of an agent.
    """
    return any(
        r.kind == "obligation" and r.params.get("obligation") == "information_message_on_abandon"
        for r in settings.rules
    )
