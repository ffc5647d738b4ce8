"""The engine's configuration: accounts, queues, agents and dispositions as plain typed values.

Built and validated by the composition root (from YAML, the database or a test) before the engine
starts; the engine trusts it. Opening hours carry their holiday dates already resolved, so the core
needs no calendar library and does no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from centrale.core.expressions import Expression


class AgentSelection(enum.Enum):
    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    ROUND_ROBIN = "round_robin"
    FEWEST_CONTACTS = "fewest_contacts"
    LEAST_OCCUPIED = "least_occupied"


class InteractionSelection(enum.Enum):
    PRIORITY_AGING = "priority_aging"
    LONGEST_WAITING = "longest_waiting"
    SERVICE_LEVEL_URGENCY = "service_level_urgency"


class WrapUpMode(enum.Enum):
    FIXED = "fixed"  # wrap-up lasts exactly `seconds`
    AGENT = "agent"  # the agent ends it, at most `seconds`
    NONE = "none"


@dataclass(frozen=True)
class WrapUp:
    mode: WrapUpMode = WrapUpMode.NONE
    seconds: float = 0.0


class EscalationAction(enum.Enum):
    REQUIRE = "require"  # replace the requirement (relax proficiency, widen to another site)
    ADD_QUEUE = "add_queue"  # agents of another queue may take it as well
    PRIORITY = "priority"  # raise the priority
    CALLBACK = "callback"  # offer the customer a callback that keeps the place in line
    VOICEMAIL = "voicemail"  # leave the queue for voicemail


@dataclass(frozen=True)
class EscalationStep:
    after: float  # seconds since the interaction entered the queue
    action: EscalationAction
    requires: Expression | None = None
    queue: str | None = None
    priority: int | None = None


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours in a time zone, with closed dates (holidays)."""

    timezone: str
    weekly: Mapping[int, Sequence[tuple[time, time]]]  # weekday (0 = Monday) → open spans
    closed_dates: frozenset[date] = frozenset()
    always_open: bool = False

    def spans_for(self, day: date, zone: ZoneInfo | None = None) -> list[tuple[float, float]]:
        """Open spans of a local date as epoch seconds (DST handled by zoneinfo).

        The engine passes the `zone` it resolved when it was built, so that handling an event never
        loads time-zone data.
        """
        if self.always_open:
            return [(-1e18, 1e18)]
        if day in self.closed_dates:
            return []
        tz = zone if zone is not None else ZoneInfo(self.timezone)
        out = []
        for start, end in self.weekly.get(day.weekday(), ()):
            s = datetime.combine(day, start, tz).timestamp()
            # A span that ends at or before its start runs past midnight (22:00–02:00).
            e = (
                datetime.combine(day + timedelta(days=1), end, tz).timestamp()
                if end <= start
                else datetime.combine(day, end, tz).timestamp()
            )
            out.append((s, e))
        return out


ALWAYS_OPEN = OpeningHours(timezone="UTC", weekly={}, always_open=True)


@dataclass(frozen=True)
class Disposition:
    code: str
    label: str
    category: str  # sale, no_sale, callback, wrong_number, do_not_call, resolved, …
    account: str | None = None  # None: usable by every account


@dataclass(frozen=True)
class QueueConfig:
    id: str
    account: str
    channel: str
    requires: Expression
    name: str = ""
    direction: str = "inbound"
    priority: int = 0
    sl_target: float = 0.8
    sl_threshold: float = 20.0
    short_abandon: float = 5.0  # abandons within this many seconds are counted apart
    hours: OpeningHours = ALWAYS_OPEN
    max_length: int | None = None
    max_wait: float | None = None  # waiting longer expires the interaction (e-mail deadlines)
    wrap_up: WrapUp = WrapUp()
    require_disposition: bool = False
    dispositions: frozenset[str] | None = None  # allowed codes; None: all of the account's
    escalation: tuple[EscalationStep, ...] = ()
    agent_selection: AgentSelection = AgentSelection.LONGEST_IDLE
    offer_timeout: float = 15.0
    overflow_to: str | None = None  # where arrivals go when closed or full


@dataclass(frozen=True)
class AgentConfig:
    id: str
    account: str
    skills: Mapping[str, int]
    capacity: Mapping[str, int] = field(default_factory=lambda: {"voice": 1})
    team: str = ""
    site: str = ""
    name: str = ""


@dataclass(frozen=True)
class Account:
    id: str
    name: str = ""


@dataclass(frozen=True)
class EngineConfig:
    accounts: tuple[Account, ...]
    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...] = ()
    dispositions: tuple[Disposition, ...] = ()
    skills: frozenset[str] = frozenset()
    timezone: str = "UTC"
    interval_seconds: int = 900
    interaction_selection: InteractionSelection = InteractionSelection.PRIORITY_AGING
    aging_seconds_per_priority: float = 60.0
    """Priority with aging: one priority point is worth this many seconds of waiting."""
