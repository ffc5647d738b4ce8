"""Retry rules: after which outcome a lead is dialled again, how soon, and how often at most.

A dial ends in an :class:`Outcome`. An answered call is settled by its disposition (see
:mod:`centrale.outbound.campaign`); every other outcome is retried after the delay of its
:class:`RetryRule`, until the rule's own cap or the campaign's cap on dials per lead is reached —
then the lead is *exhausted*. :class:`Recycling` re-queues exhausted leads after some days
(a new *cycle* with fresh counts), because a number that did not answer in December may well
answer in January.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType


class Outcome(StrEnum):
    """How a dial ended, as the telephony reports it."""

    ANSWERED = "answered"
    """A person answered (and, with an agent, was connected)."""
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE = "machine"
    """An answering machine or voicemail (detected, or reported by the agent); the dialer hung up."""
    MACHINE_MESSAGE = "machine_message"
    """An answering machine to which the campaign's recorded message was played (``leave_message``)."""
    FAILED = "failed"
    """The network refused the call (congestion, unreachable, invalid route)."""
    ABANDONED = "abandoned"
    """A person answered but no agent was free in time (predictive dialling)."""


class RetryKind(StrEnum):
    """What a retry rule is for: the non-answered outcomes, and callbacks."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE = "machine"
    FAILED = "failed"
    ABANDONED = "abandoned"
    CALLBACK = "callback"
    """A callback the customer asked for: ``delay`` when no time was given, ``max_attempts``
    callbacks per lead and cycle."""


@dataclass(frozen=True, slots=True)
class RetryRule:
    """Dial again ``delay`` after the outcome, as long as fewer than ``max_attempts`` ended so."""

    delay: timedelta
    max_attempts: int

    def __post_init__(self) -> None:
        if self.delay < timedelta(0):
            raise ValueError("a retry delay cannot be negative")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


DEFAULT_RULES: Mapping[RetryKind, RetryRule] = MappingProxyType(
    {
        RetryKind.NO_ANSWER: RetryRule(timedelta(hours=2), 4),
        RetryKind.BUSY: RetryRule(timedelta(minutes=10), 4),
        RetryKind.MACHINE: RetryRule(timedelta(hours=4), 3),
        RetryKind.FAILED: RetryRule(timedelta(minutes=30), 2),
        # UK and US rules forbid a quick repeat after an abandoned call; a day keeps clear of them.
        RetryKind.ABANDONED: RetryRule(timedelta(days=1), 2),
        RetryKind.CALLBACK: RetryRule(timedelta(days=1), 3),
    }
)


@dataclass(frozen=True, slots=True)
class RetryRules:
    """The campaign's retry rules: one per :class:`RetryKind` and a cap on dials per lead.

    ``max_attempts`` caps the dials to one lead in one cycle that were not callbacks the customer
    asked for (those are capped by the ``callback`` rule instead, so agreeing a callback is never
    refused for want of attempts).
    """

    max_attempts: int = 6
    rules: Mapping[RetryKind, RetryRule] = field(default_factory=lambda: DEFAULT_RULES)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        missing = [kind.value for kind in RetryKind if kind not in self.rules]
        if missing:
            raise ValueError(f"no retry rule for {', '.join(missing)}")

    def rule(self, kind: RetryKind) -> RetryRule:
        """The rule for ``kind``."""
        return self.rules[kind]


def retry_kind(outcome: Outcome) -> RetryKind:
    """The retry rule an unanswered outcome falls under."""
    if outcome is Outcome.ANSWERED:
        raise ValueError("an answered call is settled by its disposition, not retried")
    if outcome is Outcome.MACHINE_MESSAGE:
        return RetryKind.MACHINE  # when the campaign retries after a message (answering_machine.retry)
    return RetryKind(outcome.value)


@dataclass(frozen=True, slots=True)
class Recycling:
    """Re-queue exhausted leads ``after`` their exhaustion, at most ``max_cycles`` times."""

    after: timedelta
    max_cycles: int = 1

    def __post_init__(self) -> None:
        if self.after <= timedelta(0):
            raise ValueError("recycling needs a positive delay")
        if self.max_cycles < 1:
            raise ValueError("max_cycles must be at least 1")
