"""Leads: a contact in a campaign with its dialling state, the lead order and the list mix.

A :class:`Lead` moves READY → (PREVIEWING →) IN_PROGRESS → READY (a retry or callback, due at a
time) / DONE / EXHAUSTED. Only READY leads whose time has come are dialled, and a lead leaves
IN_PROGRESS only through an outcome, so it is never dialled twice at once.

The order in which due leads are taken is the campaign's :class:`LeadOrder`; the lists they come
from are interleaved by :class:`ListMix`, a smooth weighted round robin (as in nginx's upstream
balancing): over any stretch of picks each list's share stays within one pick of its weight's
share, and its running state is part of the campaign position, so the mix continues exactly after
a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from centrale.outbound.callbacks import Callback
from centrale.outbound.contact import Contact
from centrale.outbound.fields import contact_value


class LeadStatus(StrEnum):
    READY = "ready"
    """May be dialled once ``due_at`` (if any) has passed."""
    PREVIEWING = "previewing"
    """Shown to an agent in preview mode; not dialled yet."""
    IN_PROGRESS = "in_progress"
    """Dialled; the outcome has not been reported yet."""
    DONE = "done"
    """Settled by a disposition; never dialled again in this campaign."""
    EXHAUSTED = "exhausted"
    """Out of attempts; may be recycled after the campaign's recycling delay."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(slots=True)
class Lead:
    """One contact of one list in one campaign, and where it stands.

    ``attempts`` counts the dials of the current cycle; ``callback_dials`` those of them that were
    callbacks (capped by the callback rule, not by ``max_attempts``); ``outcomes`` how many ended
    in each retry kind. ``total_attempts`` counts over all cycles, for the results export.
    """

    id: str
    list_name: str
    contact: Contact
    position: int
    """Place in its list (0-based), the tie-breaker of every order."""
    random_key: float = 0.0
    status: LeadStatus = LeadStatus.READY
    due_at: datetime | None = None
    attempts: int = 0
    callback_dials: int = 0
    callbacks_scheduled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    cycle: int = 0
    total_attempts: int = 0
    last_attempt_at: datetime | None = None
    last_outcome: str = ""
    disposition: str = ""
    reason: str = ""
    """Why the lead is where it is: the compliance rule that blocked it, why it was exhausted …"""
    exhausted_at: datetime | None = None
    callback: Callback | None = None
    agent_id: str | None = None
    """The agent previewing or dialling the lead."""
    preview_deadline: datetime | None = None
    dialled_callback: bool = False
    answers: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)

    @property
    def regular_attempts(self) -> int:
        """Dials of this cycle that count towards the campaign's ``max_attempts``."""
        return self.attempts - self.callback_dials

    def due(self, now: datetime) -> bool:
        return self.status is LeadStatus.READY and (self.due_at is None or self.due_at <= now)

    def to_state(self) -> dict[str, Any]:
        """The lead's dialling state as JSON-ready values (the contact comes from its list)."""
        return {
            "id": self.id,
            "random_key": self.random_key,
            "status": self.status.value,
            "due_at": _iso(self.due_at),
            "attempts": self.attempts,
            "callback_dials": self.callback_dials,
            "callbacks_scheduled": self.callbacks_scheduled,
            "outcomes": dict(sorted(self.outcomes.items())),
            "cycle": self.cycle,
            "total_attempts": self.total_attempts,
            "last_attempt_at": _iso(self.last_attempt_at),
            "last_outcome": self.last_outcome,
            "disposition": self.disposition,
            "reason": self.reason,
            "exhausted_at": _iso(self.exhausted_at),
            "callback": None
            if self.callback is None
            else {"at": self.callback.at.isoformat(), "agent_id": self.callback.agent_id},
            "agent_id": self.agent_id,
            "preview_deadline": _iso(self.preview_deadline),
            "dialled_callback": self.dialled_callback,
            "answers": dict(self.answers),
            "form": dict(self.form),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take over a state written by :meth:`to_state`."""
        self.random_key = float(state["random_key"])
        self.status = LeadStatus(state["status"])
        self.due_at = _from_iso(state["due_at"])
        self.attempts = int(state["attempts"])
        self.callback_dials = int(state["callback_dials"])
        self.callbacks_scheduled = int(state["callbacks_scheduled"])
        self.outcomes = {str(k): int(v) for k, v in state["outcomes"].items()}
        self.cycle = int(state["cycle"])
        self.total_attempts = int(state["total_attempts"])
        self.last_attempt_at = _from_iso(state["last_attempt_at"])
        self.last_outcome = str(state["last_outcome"])
        self.disposition = str(state["disposition"])
        self.reason = str(state["reason"])
        self.exhausted_at = _from_iso(state["exhausted_at"])
        cb = state["callback"]
        self.callback = None if cb is None else Callback(datetime.fromisoformat(cb["at"]), cb["agent_id"])
        self.agent_id = state["agent_id"]
        self.preview_deadline = _from_iso(state["preview_deadline"])
        self.dialled_callback = bool(state["dialled_callback"])
        self.answers = dict(state["answers"])
        self.form = dict(state["form"])


# --- lead order -------------------------------------------------------------------------------------


class OrderBy(StrEnum):
    LIST_ORDER = "list_order"
    """As in the file."""
    OLDEST_FIRST = "oldest_first"
    """By a date field, oldest first (leads without a date last)."""
    PRIORITY = "priority"
    """By a numeric field, highest first (leads without a number last)."""
    RANDOM = "random"
    """Shuffled once, with the campaign's seeded random generator."""
    CALLABLE_NOW = "callable_now"
    """Leads inside ``local_hours`` in every candidate zone first, the one whose window closes
    soonest first; then the others, the one whose window opens soonest first. Time-zone aware:
    it keeps the dialer on the zones where calls can succeed and reaches the east before it
    closes. The compliance engine still decides every dial."""


@dataclass(frozen=True, slots=True)
class LeadOrder:
    """How due leads are ordered within a list; ``field`` for oldest_first and priority."""

    by: OrderBy = OrderBy.LIST_ORDER
    field: str | None = None
    local_hours: tuple[time, time] = (time(9), time(21))

    def __post_init__(self) -> None:
        needs_field = self.by in (OrderBy.OLDEST_FIRST, OrderBy.PRIORITY)
        if needs_field and not self.field:
            raise ValueError(f"lead order {self.by.value} needs a field to sort by")
        if not needs_field and self.field:
            raise ValueError(f"lead order {self.by.value} takes no field")
        if self.local_hours[0] >= self.local_hours[1]:
            raise ValueError("local_hours must start before they end")

    def key(self, lead: Lead, now: datetime) -> tuple[float, float, int]:
        """The sort key of ``lead`` at ``now`` (smaller first)."""
        if self.by is OrderBy.LIST_ORDER:
            return (0.0, 0.0, lead.position)
        if self.by is OrderBy.RANDOM:
            return (lead.random_key, 0.0, lead.position)
        if self.by is OrderBy.CALLABLE_NOW:
            outside, seconds = self._local_key(lead.contact, now)
            return (outside, seconds, lead.position)
        assert self.field is not None
        text = contact_value(lead.contact, self.field).strip()
        if self.by is OrderBy.PRIORITY:
            try:
                priority = Decimal(text)
            except InvalidOperation:
                return (1.0, 0.0, lead.position)
            return (0.0, -float(priority), lead.position)
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return (1.0, 0.0, lead.position)
        return (0.0, float(day.toordinal()), lead.position)

    def _local_key(self, contact: Contact, now: datetime) -> tuple[float, float]:
        if not contact.time_zones:
            return (2.0, 0.0)  # unknown local time: compliance will most likely refuse; try last
        start, end = self.local_hours
        closes_in: list[float] = []
        opens_in: list[float] = []
        for zone in contact.time_zones:
            local = now.astimezone(ZoneInfo(zone))
            day = local.date()
            opening = datetime.combine(day, start, local.tzinfo)
            closing = datetime.combine(day, end, local.tzinfo)
            if opening <= local < closing:
                closes_in.append((closing - local).total_seconds())
                opens_in.append(0.0)
            else:
                nxt = opening if local < opening else opening + timedelta(days=1)
                opens_in.append((nxt - local).total_seconds())
        if len(closes_in) == len(contact.time_zones):
            return (0.0, min(closes_in))
        return (1.0, max(opens_in))


# --- list mix ---------------------------------------------------------------------------------------


class ListMix:
    """Smooth weighted round robin over the campaign's lists."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        if not weights or any(w <= 0 for w in weights.values()):
            raise ValueError("every list needs a positive weight")
        self.weights = dict(weights)
        self.current = dict.fromkeys(weights, 0.0)

    def pick(self, eligible: Iterable[str]) -> str:
        """The next list among ``eligible`` (in the order of the settings on ties)."""
        names = [n for n in self.weights if n in set(eligible)]
        if not names:
            raise ValueError("no eligible list")
        total = sum(self.weights[n] for n in names)
        for n in names:
            self.current[n] += self.weights[n]
        best = max(names, key=lambda n: self.current[n])  # max keeps the first of equals
        self.current[best] -= total
        return best

    def to_state(self) -> dict[str, float]:
        return dict(self.current)

    def restore(self, state: Mapping[str, float]) -> None:
        unknown = set(state) - set(self.weights)
        if unknown:
            raise ValueError(f"the saved list mix names lists the campaign does not have: {sorted(unknown)}")
        self.current = {n: float(state.get(n, 0.0)) for n in self.weights}
