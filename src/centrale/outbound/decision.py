"""The record of one compliance decision: every rule consulted, its verdict, reason and legal source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Verdict(StrEnum):
    """A rule's answer for one dial."""

    ALLOW = "allow"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What one rule said about one dial, and why."""

    rule_id: str
    kind: str
    verdict: Verdict
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a number may be dialled now; ``allowed`` only if no rule blocked.

    ``obligations`` are duties the dialer and the agent take on for this call, such as
    ``information_message_on_abandon`` or ``offer_right_to_object``.
    """

    sequence: int
    campaign_id: str
    account_id: str
    preset_id: str
    number: str
    contact_key: str
    at: datetime
    allowed: bool
    outcomes: tuple[RuleOutcome, ...]
    obligations: tuple[str, ...] = ()

    @property
    def blocked_by(self) -> tuple[RuleOutcome, ...]:
        """The rules that blocked the dial (empty when it is allowed)."""
        return tuple(o for o in self.outcomes if o.verdict is Verdict.BLOCK)

    @property
    def allowed_by(self) -> tuple[RuleOutcome, ...]:
        """The rules that allowed it."""
        return tuple(o for o in self.outcomes if o.verdict is Verdict.ALLOW)
