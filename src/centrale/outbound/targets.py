"""Targets and progress: sales per agent per week, conversion per campaign, for wallboards.

Figures are computed from the campaign's :class:`~centrale.outbound.dispositions.DispositionRecord`
log for one ISO week in the campaign's time zone. "On track" compares what is done with the target
pro rata of the week elapsed at ``now`` (a wallboard on Wednesday noon expects 2.5/7 of the weekly
target), so it means the same thing every day of the week.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from centrale.outbound.dispositions import DispositionRecord


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """An ISO 8601 week (Monday to Sunday), e.g. ``2026-W50``."""

    year: int
    week: int

    def __post_init__(self) -> None:
        date.fromisocalendar(self.year, self.week, 1)  # raises ValueError for a week that does not exist

    @classmethod
    def of(cls, at: datetime, tz: ZoneInfo) -> IsoWeek:
        """The week ``at`` falls in, in time zone ``tz``."""
        year, week, _ = at.astimezone(tz).isocalendar()
        return cls(year, week)

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W50``."""
        year, sep, week = text.strip().upper().partition("-W")
        if not sep:
            raise ValueError(f"expected an ISO week such as 2026-W50, got {text!r}")
        return cls(int(year), int(week))

    def start(self, tz: ZoneInfo) -> datetime:
        """Monday 00:00 of the week in ``tz``."""
        return datetime.combine(date.fromisocalendar(self.year, self.week, 1), time(0), tz)

    def end(self, tz: ZoneInfo) -> datetime:
        """The next Monday 00:00 (exclusive)."""
        return datetime.combine(
            date.fromisocalendar(self.year, self.week, 1) + timedelta(days=7), time(0), tz
        )

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@dataclass(frozen=True, slots=True)
class Targets:
    """The campaign's targets; ``None``: no target of that kind."""

    sales_per_agent_per_week: int | None = None
    conversion_rate: float | None = None

    def __post_init__(self) -> None:
        if self.sales_per_agent_per_week is not None and self.sales_per_agent_per_week < 1:
            raise ValueError("sales_per_agent_per_week must be at least 1")
        if self.conversion_rate is not None and not 0 < self.conversion_rate <= 1:
            raise ValueError("conversion_rate must be a fraction in (0, 1], e.g. 0.12")


@dataclass(frozen=True, slots=True)
class Progress:
    """One figure for a wallboard or an agent desktop.

    ``subject`` is ``agent:<id>``, ``team:<id>`` or ``campaign:<id>``; ``metric`` is ``sales``
    (count) or ``conversion`` (a fraction). ``percent`` is done ÷ target × 100; ``expected`` what
    should be done by ``now`` pro rata; ``on_track`` whether ``done`` reaches it. For conversion
    ``expected`` is the target itself (a rate does not accrue) and ``sales``/``contacts`` are the
    counts behind the rate.
    """

    subject: str
    metric: str
    period: str
    done: float
    target: float
    percent: float
    expected: float
    on_track: bool
    sales: int = 0
    contacts: int = 0


def elapsed_fraction(week: IsoWeek, now: datetime, tz: ZoneInfo) -> float:
    """How much of ``week`` has passed at ``now`` (0 before it, 1 after it)."""
    start, end = week.start(tz), week.end(tz)
    # Elapsed real time, not wall-clock time: a DST week has 167 or 169 hours.
    fraction = (now - start) / (end - start)
    return min(1.0, max(0.0, fraction))


def progress(
    records: Iterable[DispositionRecord],
    targets: Targets,
    *,
    campaign_id: str,
    week: IsoWeek,
    now: datetime,
    tz: ZoneInfo,
    agents: Mapping[str, str] | None = None,
) -> list[Progress]:
    """Progress per agent, per team and for the campaign over ``week``.

    ``agents`` maps every agent on the campaign to their team ("" for none), so agents without a
    sale yet are listed too; agents found only in the records join team "". A team's sales target
    is the per-agent target times its members.
    """
    start, end = week.start(tz), week.end(tz)
    in_week = [r for r in records if start <= r.at < end]
    roster = dict(agents or {})
    for r in in_week:
        roster.setdefault(r.agent_id, "")
    fraction = elapsed_fraction(week, now, tz)
    period = str(week)
    out: list[Progress] = []
    per_agent = targets.sales_per_agent_per_week
    if per_agent is not None:
        sales = {agent: 0 for agent in roster}
        for r in in_week:
            if r.sale:
                sales[r.agent_id] += 1
        for agent in sorted(roster):
            out.append(_count_figure(f"agent:{agent}", period, sales[agent], per_agent, fraction))
        teams: dict[str, list[str]] = {}
        for agent, team in roster.items():
            if team:
                teams.setdefault(team, []).append(agent)
        for team in sorted(teams):
            members = teams[team]
            done = sum(sales[a] for a in members)
            out.append(_count_figure(f"team:{team}", period, done, per_agent * len(members), fraction))
    if targets.conversion_rate is not None:
        contacts = sum(1 for r in in_week if r.contact)
        sold = sum(1 for r in in_week if r.sale)
        rate = sold / contacts if contacts else 0.0
        target = targets.conversion_rate
        out.append(
            Progress(
                f"campaign:{campaign_id}",
                "conversion",
                period,
                rate,
                target,
                100.0 * rate / target,
                target,
                contacts > 0 and rate >= target,
                sold,
                contacts,
            )
        )
    return out


def _count_figure(subject: str, period: str, done: int, target: int, fraction: float) -> Progress:
    expected = target * fraction
    return Progress(
        subject,
        "sales",
        period,
        float(done),
        float(target),
        100.0 * done / target,
        expected,
        done >= expected,
        sales=done,
    )
