"""Reading what the shift scheduler needs: the requirement curve, the agents and the rules.

Everything here validates as it reads and raises :class:`ScheduleInputError` with a message that
names the file, the place in it and the problem, so the command line can show it without a traceback.
All times are the center's local wall-clock time; durations are kept as whole seconds.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from centrale.units import parse_duration, parse_service_level


class ScheduleInputError(ValueError):
    """A requirement, agents or rules file that cannot be used, with a message fit for a person."""


@dataclass(frozen=True)
class BreakRule:
    """Paid breaks: one ``duration`` per full ``per`` of shift, starting within ``window`` of its block."""

    duration: int
    per: int
    window: tuple[int, int]


@dataclass(frozen=True)
class LunchRule:
    """One lunch in shifts of at least ``min_shift``, starting within ``window`` after the shift start."""

    duration: int
    min_shift: int
    window: tuple[int, int]
    paid: bool = False


@dataclass(frozen=True)
class ScenarioDefaults:
    """Queue parameters written into a simulator scenario (the schedule itself does not need them)."""

    service_level: tuple[float, float] = (0.8, 20.0)
    handle_time: float = 180.0
    patience: float = 120.0
    wrap_up: float = 10.0


@dataclass(frozen=True)
class Rules:
    """Which shifts exist and which limits a week of shifts must respect."""

    start_from: int = 7 * 3600
    start_to: int = 14 * 3600
    start_every: int = 1800
    lengths: tuple[int, ...] = (4 * 3600, 6 * 3600, 8 * 3600)
    breaks: BreakRule | None = BreakRule(900, 4 * 3600, (3600, 3 * 3600))
    lunch: LunchRule | None = LunchRule(1800, 6 * 3600, (3 * 3600, 5 * 3600))
    min_weekly: int = 0
    max_weekly: int | None = 40 * 3600
    max_shifts_per_week: int | None = 5
    min_rest: int = 11 * 3600
    timezone: str = "Europe/Amsterdam"
    scenario: ScenarioDefaults = field(default_factory=ScenarioDefaults)


@dataclass(frozen=True)
class Agent:
    """One agent: the queues they may serve, when they can work and their contract limits."""

    id: str
    queues: tuple[str, ...]
    skills: Mapping[str, int]
    # weekday (0 = Monday) → allowed windows in seconds since midnight; dates override weekdays.
    weekly_availability: Mapping[int, tuple[tuple[int, int], ...]]
    date_availability: Mapping[date, tuple[tuple[int, int], ...]]
    min_weekly: int
    max_weekly: int | None
    max_shifts_per_week: int | None

    def windows_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The availability windows on one date."""
        if day in self.date_availability:
            return self.date_availability[day]
        return self.weekly_availability.get(day.weekday(), ())


@dataclass(frozen=True)
class Requirement:
    """Agents required per queue and interval, as read from a staffing file."""

    interval: int
    first_day: date
    days: int
    queues: tuple[str, ...]
    # queue → {interval start → required agents}
    values: Mapping[str, Mapping[datetime, int]]
    # queue → {interval start → offered} when the file carries volumes (used for simulator arrivals)
    offered: Mapping[str, Mapping[datetime, float]] | None = None
    aht: Mapping[str, float] | None = None


# ---------------------------------------------------------------------------------------------
# Requirement CSV


def _number(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ScheduleInputError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ScheduleInputError(f"{where}: {what} {text!r} is not a finite number")
    if value < 0:
        raise ScheduleInputError(f"{where}: {what} cannot be negative ({text})")
    return value


def _timestamp(text: str, where: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleInputError(
            f"{where}: interval_start {text!r} is not an ISO date-time such as 2026-03-02T08:00"
        ) from None
    # Wall-clock time is what shifts are planned in; an offset would only shift the grid.
    return ts.replace(tzinfo=None)


def read_requirement(path: Path) -> Requirement:
    """Read ``interval_start,queue,required`` (or ``agents``/``positions`` from ``plan staff``)."""
    name = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ScheduleInputError(f"{name}: cannot read the file ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        if not header:
            raise ScheduleInputError(f"{name}: the file is empty")
        column = next((c for c in ("positions", "agents", "required") if c in header), None)
        missing = [c for c in ("interval_start", "queue") if c not in header]
        if column is None:
            missing.append("required (or positions/agents)")
        if missing:
            raise ScheduleInputError(
                f"{name}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}"
            )
        has_offered = "offered" in header
        has_aht = "aht_seconds" in header
        values: dict[str, dict[datetime, int]] = {}
        offered: dict[str, dict[datetime, float]] = {}
        aht_sum: dict[str, float] = {}
        aht_weight: dict[str, float] = {}
        for row in reader:
            where = f"{name}, line {reader.line_num}"
            if None in row or any(row.get(c) is None for c in header):
                raise ScheduleInputError(f"{where}: expected {len(header)} fields")
            queue = (row["queue"] or "").strip()
            if not queue:
                raise ScheduleInputError(f"{where}: the queue is empty")
            ts = _timestamp(row["interval_start"] or "", where)
            need = _number((row[column] or "").strip(), str(column), where)
            per_queue = values.setdefault(queue, {})
            if ts in per_queue:
                raise ScheduleInputError(f"{where}: a second row for queue {queue!r} at {ts.isoformat()}")
            # A fractional requirement (an average over an interval) still needs a whole agent.
            per_queue[ts] = math.ceil(need - 1e-9)
            if has_offered:
                vol = _number((row["offered"] or "0").strip() or "0", "offered", where)
                offered.setdefault(queue, {})[ts] = vol
                if has_aht and (row["aht_seconds"] or "").strip():
                    aht = _number((row["aht_seconds"] or "").strip(), "aht_seconds", where)
                    aht_sum[queue] = aht_sum.get(queue, 0.0) + aht * max(vol, 1e-9)
                    aht_weight[queue] = aht_weight.get(queue, 0.0) + max(vol, 1e-9)
    if not values:
        raise ScheduleInputError(f"{name}: no rows after the header")
    stamps = sorted({ts for per_queue in values.values() for ts in per_queue})
    steps = [int((b - a).total_seconds()) for a, b in itertools.pairwise(stamps)]
    interval = min((s for s in steps if s > 0), default=3600)
    if 86400 % interval:
        raise ScheduleInputError(f"{name}: intervals of {interval} s do not divide a day")
    for ts in stamps:
        if (ts.hour * 3600 + ts.minute * 60 + ts.second) % interval:
            raise ScheduleInputError(
                f"{name}: interval_start {ts.isoformat()} is not on the {interval // 60}-minute grid"
            )
    first, last = stamps[0].date(), stamps[-1].date()
    aht_mean = {q: aht_sum[q] / aht_weight[q] for q in aht_sum} if has_aht else None
    return Requirement(
        interval=interval,
        first_day=first,
        days=(last - first).days + 1,
        queues=tuple(sorted(values)),
        values=values,
        offered=offered if has_offered else None,
        aht=aht_mean,
    )


# ---------------------------------------------------------------------------------------------
# YAML helpers


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScheduleInputError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScheduleInputError(f"{path}{at}: not valid YAML ({problem})") from None


def _duration(value: Any, where: str) -> int:
    try:
        return round(parse_duration(value))
    except ValueError as exc:
        raise ScheduleInputError(f"{where}: {exc}") from None


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _clock(value: Any, where: str) -> int:
    """Seconds since midnight of ``"07:30"``; ``"24:00"`` is the end of the day."""
    m = _CLOCK.match(str(value).strip())
    if not m or int(m.group(2)) >= 60 or int(m.group(1)) * 60 + int(m.group(2)) > 24 * 60:
        raise ScheduleInputError(f"{where}: expected a clock time such as '07:30', got {value!r}")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60


def _window(value: Any, where: str) -> tuple[int, int]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ScheduleInputError(f"{where}: expected a window [from, to] such as [1h, 3h], got {value!r}")
    lo, hi = _duration(value[0], where), _duration(value[1], where)
    if hi < lo:
        raise ScheduleInputError(f"{where}: the window ends before it starts ({value!r})")
    return lo, hi


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ScheduleInputError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise ScheduleInputError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(allowed))}"
        )


def _hours_limits(value: Any, where: str) -> tuple[int | None, int | None]:
    data = _mapping(value, where)
    _check_keys(data, {"min", "max"}, where)
    lo = _duration(data["min"], f"{where}.min") if data.get("min") is not None else None
    hi = _duration(data["max"], f"{where}.max") if data.get("max") is not None else None
    if lo is not None and hi is not None and lo > hi:
        raise ScheduleInputError(f"{where}: min is larger than max")
    return lo, hi


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScheduleInputError(f"{where}: expected a whole number ≥ 0, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Rules


def read_rules(path: Path | None) -> Rules:
    """Read a rules YAML file; without one the documented defaults apply."""
    if path is None:
        return Rules()
    data = _load_yaml(path)
    name = str(path)
    data = _mapping(data, name)
    _check_keys(
        data,
        {
            "shift_starts",
            "shift_lengths",
            "breaks",
            "lunch",
            "weekly_hours",
            "max_shifts_per_week",
            "min_rest",
            "timezone",
            "scenario",
        },
        name,
    )
    base = Rules()
    starts = _mapping(data.get("shift_starts"), f"{name}: shift_starts")
    _check_keys(starts, {"from", "to", "every"}, f"{name}: shift_starts")
    start_from = _clock(starts.get("from", "07:00"), f"{name}: shift_starts.from")
    start_to = _clock(starts.get("to", "14:00"), f"{name}: shift_starts.to")
    every = _duration(starts.get("every", "30m"), f"{name}: shift_starts.every")
    if every <= 0 or start_to < start_from:
        raise ScheduleInputError(f"{name}: shift_starts needs from ≤ to and a positive 'every'")
    lengths_raw = data.get("shift_lengths", ["4h", "6h", "8h"])
    if not isinstance(lengths_raw, list) or not lengths_raw:
        raise ScheduleInputError(f"{name}: shift_lengths must be a list such as [4h, 6h, 8h]")
    lengths = tuple(sorted({_duration(v, f"{name}: shift_lengths") for v in lengths_raw}))
    if lengths[0] <= 0 or lengths[-1] > 16 * 3600:
        raise ScheduleInputError(f"{name}: shift lengths must lie between 0 and 16h")

    breaks: BreakRule | None = base.breaks
    if "breaks" in data:
        if data["breaks"] in (None, False, "none"):
            breaks = None
        else:
            b = _mapping(data["breaks"], f"{name}: breaks")
            _check_keys(b, {"duration", "per", "window"}, f"{name}: breaks")
            breaks = BreakRule(
                duration=_duration(b.get("duration", "15m"), f"{name}: breaks.duration"),
                per=_duration(b.get("per", "4h"), f"{name}: breaks.per"),
                window=_window(b.get("window", ["1h", "3h"]), f"{name}: breaks.window"),
            )
            if breaks.per <= 0 or breaks.duration <= 0:
                raise ScheduleInputError(f"{name}: breaks need a positive duration and 'per'")
    lunch: LunchRule | None = base.lunch
    if "lunch" in data:
        if data["lunch"] in (None, False, "none"):
            lunch = None
        else:
            lu = _mapping(data["lunch"], f"{name}: lunch")
            _check_keys(lu, {"duration", "min_shift", "window", "paid"}, f"{name}: lunch")
            lunch = LunchRule(
                duration=_duration(lu.get("duration", "30m"), f"{name}: lunch.duration"),
                min_shift=_duration(lu.get("min_shift", "6h"), f"{name}: lunch.min_shift"),
                window=_window(lu.get("window", ["3h", "5h"]), f"{name}: lunch.window"),
                paid=bool(lu.get("paid", False)),
            )
            if lunch.duration <= 0:
                raise ScheduleInputError(f"{name}: lunch.duration must be positive")
    lo, hi = (base.min_weekly, base.max_weekly)
    if "weekly_hours" in data:
        got_lo, got_hi = _hours_limits(data["weekly_hours"], f"{name}: weekly_hours")
        lo, hi = got_lo or 0, got_hi
    max_shifts = base.max_shifts_per_week
    if "max_shifts_per_week" in data:
        raw = data["max_shifts_per_week"]
        max_shifts = None if raw is None else _positive_int(raw, f"{name}: max_shifts_per_week")
    min_rest = _duration(data.get("min_rest", "11h"), f"{name}: min_rest")
    tz = str(data.get("timezone", base.timezone))
    scenario = _scenario_defaults(data.get("scenario"), f"{name}: scenario")
    return Rules(
        start_from, start_to, every, lengths, breaks, lunch, lo, hi, max_shifts, min_rest, tz, scenario
    )


def _scenario_defaults(value: Any, where: str) -> ScenarioDefaults:
    data = _mapping(value, where)
    _check_keys(data, {"service_level", "handle_time", "patience", "wrap_up"}, where)
    base = ScenarioDefaults()
    sl = base.service_level
    if "service_level" in data:
        try:
            sl = parse_service_level(str(data["service_level"]))
        except ValueError as exc:
            raise ScheduleInputError(f"{where}.service_level: {exc}") from None
    return ScenarioDefaults(
        service_level=sl,
        handle_time=float(_duration(data.get("handle_time", base.handle_time), f"{where}.handle_time")),
        patience=float(_duration(data.get("patience", base.patience), f"{where}.patience")),
        wrap_up=float(_duration(data.get("wrap_up", base.wrap_up), f"{where}.wrap_up")),
    )


# ---------------------------------------------------------------------------------------------
# Agents

_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_DAY_GROUPS = {"all": range(7), "daily": range(7), "weekdays": range(5), "weekend": range(5, 7)}


def _day_keys(key: str, where: str) -> list[int] | date:
    k = key.strip().lower()
    if k in _DAY_GROUPS:
        return list(_DAY_GROUPS[k])
    if k in _DAYS:
        return [_DAYS[k]]
    if "-" in k and k.split("-")[0] in _DAYS:
        a, _, b = k.partition("-")
        if b not in _DAYS:
            raise ScheduleInputError(f"{where}: unknown day range {key!r}")
        lo, hi = _DAYS[a], _DAYS[b]
        return list(range(lo, hi + 1)) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)]
    try:
        return date.fromisoformat(k)
    except ValueError:
        raise ScheduleInputError(
            f"{where}: {key!r} is not a day (mon…sun, a range such as mon-fri, weekdays, weekend, all, "
            "or a date such as 2026-03-04)"
        ) from None


def _windows(value: Any, where: str) -> tuple[tuple[int, int], ...]:
    if value in (None, False, "off", "none"):
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ScheduleInputError(f"{where}: expected hours such as '07:00-18:00' or a list of them")
    out: list[tuple[int, int]] = []
    for item in items:
        text = str(item)
        lo, sep, hi = text.partition("-")
        if not sep:
            raise ScheduleInputError(f"{where}: expected hours such as '07:00-18:00', got {text!r}")
        a, b = _clock(lo, where), _clock(hi, where)
        if b <= a:
            raise ScheduleInputError(f"{where}: {text!r} ends before it starts")
        out.append((a, b))
    return tuple(sorted(out))


def _availability(
    value: Any, where: str
) -> tuple[dict[int, tuple[tuple[int, int], ...]], dict[date, tuple[tuple[int, int], ...]]]:
    always = ((0, 86400),)
    if value is None:
        return {d: always for d in range(7)}, {}
    data = _mapping(value, where)
    weekly: dict[int, tuple[tuple[int, int], ...]] = {}
    dated: dict[date, tuple[tuple[int, int], ...]] = {}
    for key, hours in data.items():
        days = _day_keys(str(key), where)
        windows = _windows(hours, f"{where}.{key}")
        if isinstance(days, date):
            dated[days] = windows
        else:
            for d in days:
                weekly[d] = windows
    return weekly, dated


def _skills(value: Any, where: str) -> dict[str, int]:
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(s): 5 for s in value}
    data = _mapping(value, where)
    out: dict[str, int] = {}
    for skill, level in data.items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise ScheduleInputError(f"{where}.{skill}: a proficiency is a whole number 1–10, got {level!r}")
        out[str(skill)] = level
    return out


def skill_name(queue: str) -> str:
    """The identifier-safe skill that serves a queue (``sales-nl`` → ``sales_nl``)."""
    name = re.sub(r"\W", "_", queue.replace("-", "_"))
    return name if name and not name[0].isdigit() else f"q_{name}"


def read_agents(path: Path, rules: Rules, queues: Sequence[str]) -> list[Agent]:
    """Read the agents file; ``count`` expands one entry into ``id-001``, ``id-002``, …"""
    name = str(path)
    data = _load_yaml(path)
    if isinstance(data, Mapping):
        _check_keys(data, {"agents", "defaults"}, name)
        defaults = _mapping(data.get("defaults"), f"{name}: defaults")
        entries = data.get("agents")
    else:
        defaults, entries = {}, data
    if not isinstance(entries, list) or not entries:
        raise ScheduleInputError(f"{name}: expected a list of agents under 'agents:'")
    known = set(queues)
    by_skill = {skill_name(q): q for q in queues}
    agents: list[Agent] = []
    seen: set[str] = set()
    allowed = {"id", "count", "queues", "skills", "availability", "weekly_hours", "max_shifts_per_week"}
    for i, raw in enumerate(entries, start=1):
        where = f"{name}: agent #{i}"
        entry = {**defaults, **_mapping(raw, where)}
        _check_keys(entry, allowed, where)
        if "id" not in entry or not str(entry["id"]).strip():
            raise ScheduleInputError(f"{where}: every agent needs an id")
        ident = str(entry["id"]).strip()
        where = f"{name}: agent {ident!r}"
        skills = _skills(entry.get("skills"), f"{where}.skills")
        if "queues" in entry:
            raw_queues = entry["queues"]
            if not isinstance(raw_queues, list) or not all(isinstance(q, str) for q in raw_queues):
                raise ScheduleInputError(f"{where}: queues must be a list of queue names")
            agent_queues = list(dict.fromkeys(raw_queues))
        else:
            # Without an explicit list a skill named like a queue (sales-nl or sales_nl) serves it.
            agent_queues = [q for s in skills for q in ([s] if s in known else [by_skill.get(s, "")]) if q]
        unknown = [q for q in agent_queues if q not in known]
        if "queues" in entry and unknown:
            # Queues without requirement are harmless but usually a typo; say so.
            raise ScheduleInputError(
                f"{where}: queue(s) {', '.join(unknown)} do not appear in the requirement "
                f"(known: {', '.join(sorted(known))})"
            )
        weekly, dated = _availability(entry.get("availability"), f"{where}.availability")
        lo, hi = rules.min_weekly, rules.max_weekly
        if "weekly_hours" in entry:
            got_lo, got_hi = _hours_limits(entry["weekly_hours"], f"{where}.weekly_hours")
            lo = got_lo if got_lo is not None else 0
            hi = got_hi
        max_shifts = rules.max_shifts_per_week
        if "max_shifts_per_week" in entry:
            max_shifts = _positive_int(entry["max_shifts_per_week"], f"{where}.max_shifts_per_week")
        count = _positive_int(entry.get("count", 1), f"{where}.count")
        ids = (
            [ident]
            if count == 1 and "count" not in entry
            else [f"{ident}-{k:03d}" for k in range(1, count + 1)]
        )
        for agent_id in ids:
            if agent_id in seen:
                raise ScheduleInputError(f"{where}: the id {agent_id!r} is used twice")
            seen.add(agent_id)
            agents.append(Agent(agent_id, tuple(agent_queues), skills, weekly, dated, lo, hi, max_shifts))
    return agents


def day_start(first_day: date, index: int) -> datetime:
    """Midnight of the ``index``-th planning day."""
    return datetime.combine(first_day + timedelta(days=index), datetime.min.time())
