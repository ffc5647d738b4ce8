"""Scenarios: a contact center and its day, written in YAML, checked before anything runs.

A scenario names accounts, queues, agents (skills, shifts, breaks), arrivals per queue (a Poisson
rate, a rate per period, or volumes per interval from a CSV) and the distributions of handle time,
patience and wrap-up. Loading turns it into the engine's :class:`EngineConfig` plus what only the
simulated world needs. Every problem is reported as a :class:`ScenarioError` naming the file, the
field (``queues[1].requires``) and what is wrong — never a traceback.
"""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from centrale.core.config import (
    Account,
    AgentConfig,
    AgentSelection,
    Disposition,
    EngineConfig,
    EscalationAction,
    EscalationStep,
    InteractionSelection,
    OpeningHours,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.errors import ConfigError
from centrale.core.expressions import parse as parse_expression
from centrale.sim.distributions import (
    Distribution,
    Exponential,
    Fixed,
    LogNormal,
    Never,
    Uniform,
    empirical,
)
from centrale.units import parse_duration, parse_rate_per_hour
from centrale.validation import FileProblem, keys_at, read_yaml

CHANNELS = ("voice", "chat", "email", "social")


class ScenarioError(Exception):
    """A scenario that cannot run. ``str()`` is the message to show a person."""

    def __init__(self, source: str, where: str, problem: str) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        loc = f"{source}: {where}: " if where else f"{source}: "
        super().__init__(loc + problem)


# --- the YAML shape ---------------------------------------------------------------------------------
Seconds = Annotated[str | float | int, Field()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DistributionSpec(_Model):
    dist: Literal["exponential", "lognormal", "fixed", "empirical", "uniform"]
    mean: Seconds | None = None
    sd: Seconds | None = None
    value: Seconds | None = None
    min: Seconds | None = None
    max: Seconds | None = None
    values: list[float] | None = None
    csv: str | None = None
    column: str | None = None


class ServiceLevelSpec(_Model):
    target: float = Field(0.8, gt=0, le=1)
    threshold: Seconds = 20


class WrapUpSpec(_Model):
    mode: Literal["none", "fixed", "agent"] = "none"
    duration: Seconds | None = None  # fixed
    max: Seconds | None = None  # agent-ended: the maximum
    time: DistributionSpec | None = None  # agent-ended: how long simulated agents take


class HoursSpec(_Model):
    timezone: str | None = None
    weekly: dict[str, str | list[str]] = Field(default_factory=dict)
    holidays: str | None = None  # a country code for the `holidays` package, e.g. NL
    closed: list[date] = Field(default_factory=list)


class EscalationSpec(_Model):
    after: Seconds
    requires: str | None = None
    add_queue: str | None = None
    priority: int | None = None
    callback: bool = False
    voicemail: bool = False


class QueueSpec(_Model):
    id: str
    name: str = ""
    account: str | None = None
    channel: Literal["voice", "chat", "email", "social"] = "voice"
    direction: Literal["inbound", "outbound"] = "inbound"
    requires: str = "true"
    priority: int = 0
    service_level: ServiceLevelSpec = ServiceLevelSpec()
    short_abandon: Seconds = 5
    hours: HoursSpec | None = None
    max_length: int | None = Field(None, ge=0)
    max_wait: Seconds | None = None
    wrap_up: WrapUpSpec = WrapUpSpec()
    require_disposition: bool = False
    dispositions: list[str] | None = None
    disposition_mix: dict[str, float] | None = None
    escalation: list[EscalationSpec] = Field(default_factory=list)
    agent_selection: Literal[
        "longest_idle", "most_skilled", "round_robin", "fewest_contacts", "least_occupied"
    ] = "longest_idle"
    offer_timeout: Seconds = 15
    overflow_to: str | None = None
    handle_time: DistributionSpec = DistributionSpec(dist="exponential", mean=180)
    patience: DistributionSpec | None = None
    callback_acceptance: float = Field(0.5, ge=0, le=1)
    attributes: dict[str, dict[str, float]] = Field(default_factory=dict)


class BreakSpec(_Model):
    start: str
    duration: Seconds
    reason: str = "break"


class ShiftSpec(_Model):
    start: str
    end: str
    breaks: list[BreakSpec] = Field(default_factory=list)


class AgentSpec(_Model):
    id: str
    count: int = Field(1, ge=1)
    name: str = ""
    account: str | None = None
    team: str = ""
    site: str = ""
    skills: dict[str, int] = Field(default_factory=dict)
    capacity: dict[str, int] = Field(default_factory=lambda: {"voice": 1})
    shift: ShiftSpec | None = None
    shifts: list[ShiftSpec] | None = None
    answer_delay: DistributionSpec | None = None
    rona_probability: float | None = Field(None, ge=0, le=1)

    @field_validator("skills")
    @classmethod
    def _levels(cls, v: dict[str, int]) -> dict[str, int]:
        for skill, level in v.items():
            if not 1 <= level <= 10:
                raise ValueError(f"proficiency of skill {skill!r} must be between 1 and 10, got {level}")
        return v

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, v: dict[str, int]) -> dict[str, int]:
        return check_capacity(v)


def check_capacity(v: dict[str, int]) -> dict[str, int]:
    """An agent's capacity per channel: known channels, not negative, at most one call."""
    for channel, n in v.items():
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r} (use {', '.join(CHANNELS)})")
        if n < 0:
            raise ValueError(f"capacity for {channel} cannot be negative")
        if channel == "voice" and n > 1:
            raise ValueError("an agent can hold at most one call: voice capacity must be 0 or 1")
    return v


class PeriodRate(_Model):
    start: str  # "HH:MM" on the start day or an ISO datetime
    rate: str | float | int


class ArrivalSpec(_Model):
    queue: str
    rate: str | float | int | None = None
    profile: list[PeriodRate] | None = None
    csv: str | None = None
    attributes: dict[str, dict[str, float]] | None = None


class RoutingSpec(_Model):
    interaction_selection: Literal["priority_aging", "longest_waiting", "service_level_urgency"] = (
        "priority_aging"
    )
    aging: Seconds = 60


class AccountSpec(_Model):
    id: str
    name: str = ""


class DispositionSpec(_Model):
    code: str
    label: str = ""
    category: str = "other"
    account: str | None = None


class ScenarioSpec(_Model):
    name: str = "scenario"
    description: str = ""
    start: str = "2026-03-02T08:00"
    duration: Seconds = "8h"
    timezone: str = "Europe/Amsterdam"
    interval: Seconds = "15m"
    seed: int = 1
    drain: Seconds = "4h"  # how long to keep serving after the last arrival
    skills: list[str] | None = None
    routing: RoutingSpec = RoutingSpec()
    accounts: list[AccountSpec] = Field(default_factory=lambda: [AccountSpec(id="main", name="Main")])
    dispositions: list[DispositionSpec] = Field(default_factory=list)
    queues: list[QueueSpec]
    agents: list[AgentSpec]
    arrivals: list[ArrivalSpec]
    rona_probability: float = Field(0.0, ge=0, le=1)
    answer_delay: DistributionSpec | None = None


# --- what the simulator runs ------------------------------------------------------------------------
@dataclass(frozen=True)
class Shift:
    start: float
    end: float
    breaks: tuple[tuple[float, float, str], ...] = ()


@dataclass(frozen=True)
class SimAgent:
    config: AgentConfig
    shifts: tuple[Shift, ...]
    answer_delay: Distribution
    rona_probability: float


@dataclass(frozen=True)
class SimQueue:
    id: str
    handle_time: Distribution
    patience: Distribution
    wrap_time: Distribution | None
    callback_acceptance: float
    disposition_mix: tuple[tuple[str, float], ...]
    attributes: tuple[tuple[str, tuple[tuple[Any, float], ...]], ...]


@dataclass(frozen=True)
class ArrivalStream:
    """Poisson arrivals with a piecewise-constant rate, or fixed volumes per interval."""

    queue: str
    pieces: tuple[tuple[float, float, float], ...] = ()  # (start, end, rate per second)
    volumes: tuple[tuple[float, float, int], ...] = ()  # (start, end, count)
    attributes: tuple[tuple[str, tuple[tuple[Any, float], ...]], ...] | None = None

    def expected(self) -> float:
        return sum((e - s) * r for s, e, r in self.pieces) + sum(n for _, _, n in self.volumes)


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    engine: EngineConfig
    start: float
    end: float
    drain: float
    timezone: str
    interval: int
    seed: int
    agents: tuple[SimAgent, ...]
    queues: Mapping[str, SimQueue]
    arrivals: tuple[ArrivalStream, ...]
    spec: ScenarioSpec = field(repr=False)

    def expected_arrivals(self) -> float:
        return sum(a.expected() for a in self.arrivals)


# --- loading -----------------------------------------------------------------------------------------
def load_scenario(path: str | Path) -> Scenario:
    """Read, check and convert a scenario file."""
    p = Path(path)
    source = str(path)
    try:
        data = read_yaml(p)
    except FileProblem as exc:
        raise ScenarioError(source, exc.where, exc.problem) from None
    if not isinstance(data, dict):
        raise ScenarioError(source, "", "a scenario must be a mapping (key: value) at the top level")
    return scenario_from_dict(data, source=source, base_dir=p.parent)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "float", "int", "function-after[_levels(), dict[str,int]]"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def scenario_from_dict(
    data: dict[str, Any], *, source: str = "<scenario>", base_dir: Path | None = None
) -> Scenario:
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also makes the key it was meant to be "missing": report the typo, the cause.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        where = _loc(tuple(err["loc"]))
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(err["loc"][-1])
            close = difflib.get_close_matches(key, _keys_at(tuple(err["loc"][:-1])), n=1, cutoff=0.7)
            problem = f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else " (a typo?)")
            where = _loc(tuple(err["loc"][:-1])) or "top level"
        elif kind == "missing":
            problem = "this field is required"
        else:
            problem = err["msg"].removeprefix("Value error, ")
            if "input" in err and kind not in ("literal_error",):
                problem += f" (got {err['input']!r})"
        raise ScenarioError(source, where, problem) from None
    return _Builder(spec, source, base_dir or Path(".")).build()


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at a place in the scenario (to suggest a correction for a typo)."""
    return keys_at(ScenarioSpec, loc)


_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class _Builder:
    def __init__(self, spec: ScenarioSpec, source: str, base_dir: Path) -> None:
        self.spec = spec
        self.source = source
        self.base_dir = base_dir

    def fail(self, where: str, problem: str) -> ScenarioError:
        return ScenarioError(self.source, where, problem)

    def seconds(self, value: Any, where: str) -> float:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def when(self, text: str, where: str) -> float:
        """'HH:MM' on the start day, or an ISO datetime, in the scenario's time zone → epoch seconds."""
        try:
            if len(text) <= 5 and ":" in text:
                t = time.fromisoformat(text if len(text) == 5 else "0" + text)
                local = datetime.combine(self.start_local.date(), t)
            else:
                local = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(
                where, f"expected a time 'HH:MM' or a date-time '2026-03-02T08:00', got {text!r}"
            ) from None
        if local.tzinfo is None:
            local = local.replace(tzinfo=self.tz)
        return local.timestamp()

    def distribution(self, d: DistributionSpec | None, where: str, default: Distribution) -> Distribution:
        if d is None:
            return default
        if d.dist == "exponential":
            if d.mean is None:
                raise self.fail(where, "an exponential distribution needs 'mean'")
            return Exponential(self.positive(d.mean, where + ".mean"))
        if d.dist == "fixed":
            value = d.value if d.value is not None else d.mean
            if value is None:
                raise self.fail(where, "a fixed distribution needs 'value'")
            return Fixed(self.seconds(value, where + ".value"))
        if d.dist == "lognormal":
            if d.mean is None or d.sd is None:
                raise self.fail(where, "a lognormal distribution needs 'mean' and 'sd'")
            return LogNormal(self.positive(d.mean, where + ".mean"), self.positive(d.sd, where + ".sd"))
        if d.dist == "uniform":
            if d.min is None or d.max is None:
                raise self.fail(where, "a uniform distribution needs 'min' and 'max'")
            lo, hi = self.seconds(d.min, where + ".min"), self.seconds(d.max, where + ".max")
            if hi < lo:
                raise self.fail(where, "'max' must not be below 'min'")
            return Uniform(lo, hi)
        # empirical
        if d.values:
            if any(v < 0 for v in d.values):
                raise self.fail(where + ".values", "durations cannot be negative")
            return empirical(d.values)
        if d.csv:
            return empirical(self.read_column(d.csv, d.column or "seconds", where))
        raise self.fail(where, "an empirical distribution needs 'values' or 'csv'")

    def positive(self, value: Any, where: str) -> float:
        s = self.seconds(value, where)
        if s <= 0:
            raise self.fail(where, f"must be greater than zero, got {value!r}")
        return s

    def read_column(self, name: str, column: str, where: str) -> list[float]:
        path = self.base_dir / name
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                if reader.fieldnames is None or column not in reader.fieldnames:
                    raise self.fail(where + ".csv", f"{path} has no column {column!r}")
                out = []
                for lineno, row in enumerate(reader, start=2):
                    try:
                        v = float(row[column])
                    except (TypeError, ValueError):
                        raise self.fail(
                            where + ".csv", f"{path} line {lineno}: {row[column]!r} is not a number"
                        ) from None
                    if v < 0:
                        raise self.fail(where + ".csv", f"{path} line {lineno}: durations cannot be negative")
                    out.append(v)
        except OSError as exc:
            raise self.fail(where + ".csv", f"cannot read {path}: {exc.strerror}") from None
        if not out:
            raise self.fail(where + ".csv", f"{path} has no values")
        return out

    def zone(self, name: str, where: str) -> ZoneInfo:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                where, f"unknown time zone {name!r} (use an IANA name such as Europe/Amsterdam)"
            ) from None

    # -------------------------------------------------------------------------------------------
    def build(self) -> Scenario:
        spec = self.spec
        self.tz = self.zone(spec.timezone, "timezone")
        try:
            start_local = datetime.fromisoformat(spec.start)
        except ValueError:
            raise self.fail(
                "start", f"expected a date-time such as '2026-03-02T08:00', got {spec.start!r}"
            ) from None
        self.start_local = start_local if start_local.tzinfo else start_local.replace(tzinfo=self.tz)
        start = self.start_local.timestamp()
        duration = self.positive(spec.duration, "duration")
        interval = self.positive(spec.interval, "interval")
        if interval != int(interval) or 86400 % int(interval) != 0:
            raise self.fail(
                "interval", "the interval must be a whole number of seconds that divides a day (e.g. 15m)"
            )
        end = start + duration

        accounts = tuple(Account(a.id, a.name) for a in spec.accounts)
        account_ids = [a.id for a in accounts]
        self.unique(account_ids, "accounts")
        if not accounts:
            raise self.fail("accounts", "at least one account is needed")
        default_account = account_ids[0]

        agent_skills = {s for a in spec.agents for s in a.skills}
        if spec.skills is not None:
            known = frozenset(spec.skills)
            for i, a in enumerate(spec.agents):
                for s in a.skills:
                    if s not in known:
                        raise self.fail(
                            f"agents[{i}].skills",
                            f"unknown skill {s!r}; declared skills: {', '.join(sorted(known))}",
                        )
        else:
            known = frozenset(agent_skills)

        dispositions = tuple(
            Disposition(d.code, d.label or d.code, d.category, d.account) for d in spec.dispositions
        )
        self.unique([d.code for d in dispositions], "dispositions")
        for i, d in enumerate(dispositions):
            if d.account is not None and d.account not in account_ids:
                raise self.fail(f"dispositions[{i}].account", f"unknown account {d.account!r}")

        queue_ids = [q.id for q in spec.queues]
        self.unique(queue_ids, "queues")
        if not queue_ids:
            raise self.fail("queues", "at least one queue is needed")
        requires = {}
        for i, q in enumerate(spec.queues):
            requires[q.id] = self.expression(q.requires, f"queues[{i}].requires", known)

        queues: list[QueueConfig] = []
        sim_queues: dict[str, SimQueue] = {}
        for i, q in enumerate(spec.queues):
            where = f"queues[{i}]"
            account = q.account or default_account
            if account not in account_ids:
                raise self.fail(
                    where + ".account", f"unknown account {account!r}; accounts: {', '.join(account_ids)}"
                )
            steps = []
            previous_after = -1.0
            for j, st in enumerate(q.escalation):
                w = f"{where}.escalation[{j}]"
                after = self.seconds(st.after, w + ".after")
                if after <= previous_after:
                    raise self.fail(w + ".after", "escalation steps must come in increasing order of 'after'")
                previous_after = after
                chosen = [
                    k
                    for k, v in (
                        ("requires", st.requires),
                        ("add_queue", st.add_queue),
                        ("priority", st.priority),
                        ("callback", st.callback or None),
                        ("voicemail", st.voicemail or None),
                    )
                    if v is not None
                ]
                if len(chosen) != 1:
                    raise self.fail(
                        w, "each step needs exactly one of requires, add_queue, priority, callback, voicemail"
                    )
                if st.requires is not None:
                    steps.append(
                        EscalationStep(
                            after,
                            EscalationAction.REQUIRE,
                            requires=self.expression(st.requires, w + ".requires", known),
                        )
                    )
                elif st.add_queue is not None:
                    if st.add_queue not in requires:
                        raise self.fail(w + ".add_queue", f"unknown queue {st.add_queue!r}")
                    steps.append(EscalationStep(after, EscalationAction.ADD_QUEUE, queue=st.add_queue))
                elif st.priority is not None:
                    steps.append(EscalationStep(after, EscalationAction.PRIORITY, priority=st.priority))
                elif st.callback:
                    steps.append(EscalationStep(after, EscalationAction.CALLBACK))
                else:
                    steps.append(EscalationStep(after, EscalationAction.VOICEMAIL))
            if q.overflow_to is not None and q.overflow_to not in requires:
                raise self.fail(where + ".overflow_to", f"unknown queue {q.overflow_to!r}")
            wrap, wrap_time = self.wrap_up(q.wrap_up, where + ".wrap_up")
            codes = {d.code for d in dispositions}
            for code in (q.dispositions or []) + list((q.disposition_mix or {}).keys()):
                if code not in codes:
                    raise self.fail(where + ".dispositions", f"unknown disposition {code!r}")
            if q.require_disposition and not (q.disposition_mix or q.dispositions or codes):
                raise self.fail(
                    where + ".require_disposition", "the queue requires a disposition but none is defined"
                )
            threshold = self.seconds(q.service_level.threshold, where + ".service_level.threshold")
            queues.append(
                QueueConfig(
                    id=q.id,
                    name=q.name or q.id,
                    account=account,
                    channel=q.channel,
                    direction=q.direction,
                    requires=requires[q.id],
                    priority=q.priority,
                    sl_target=q.service_level.target,
                    sl_threshold=threshold,
                    short_abandon=self.seconds(q.short_abandon, where + ".short_abandon"),
                    hours=self.hours(q.hours, where + ".hours"),
                    max_length=q.max_length,
                    max_wait=None if q.max_wait is None else self.positive(q.max_wait, where + ".max_wait"),
                    wrap_up=wrap,
                    require_disposition=q.require_disposition,
                    dispositions=frozenset(q.dispositions) if q.dispositions is not None else None,
                    escalation=tuple(steps),
                    agent_selection=AgentSelection(q.agent_selection),
                    offer_timeout=self.positive(q.offer_timeout, where + ".offer_timeout"),
                    overflow_to=q.overflow_to,
                )
            )
            mix = q.disposition_mix or {}
            if any(w < 0 for w in mix.values()):
                raise self.fail(where + ".disposition_mix", "weights cannot be negative")
            sim_queues[q.id] = SimQueue(
                id=q.id,
                handle_time=self.distribution(q.handle_time, where + ".handle_time", Exponential(180.0)),
                patience=self.distribution(q.patience, where + ".patience", Never()),
                wrap_time=wrap_time,
                callback_acceptance=q.callback_acceptance,
                disposition_mix=self.weights(mix),
                attributes=self.attribute_mix(q.attributes, where + ".attributes"),
            )

        default_delay = self.distribution(spec.answer_delay, "answer_delay", Fixed(0.0))
        agents: list[SimAgent] = []
        agent_ids: list[str] = []
        for i, a in enumerate(spec.agents):
            where = f"agents[{i}]"
            account = a.account or default_account
            if account not in account_ids:
                raise self.fail(where + ".account", f"unknown account {account!r}")
            shift_specs = a.shifts if a.shifts is not None else ([a.shift] if a.shift is not None else [])
            shifts = []
            for j, sh in enumerate(shift_specs):
                # Name the key the author wrote: `shift:` (one) or `shifts:` (a list).
                w = f"{where}.shifts[{j}]" if a.shifts is not None else f"{where}.shift"
                on, off = self.when(sh.start, w + ".start"), self.when(sh.end, w + ".end")
                if off <= on:
                    raise self.fail(w + ".end", "a shift must end after it starts")
                breaks = []
                for k, b in enumerate(sh.breaks):
                    bs = self.when(b.start, f"{w}.breaks[{k}].start")
                    be = bs + self.positive(b.duration, f"{w}.breaks[{k}].duration")
                    if bs < on or be > off:
                        raise self.fail(f"{w}.breaks[{k}]", "a break must lie within its shift")
                    breaks.append((bs, be, b.reason))
                shifts.append(Shift(on, off, tuple(sorted(breaks))))
            if not shifts:
                shifts = [Shift(start, math.inf)]
            delay = self.distribution(a.answer_delay, where + ".answer_delay", default_delay)
            rona = spec.rona_probability if a.rona_probability is None else a.rona_probability
            ids = [a.id] if a.count == 1 else [f"{a.id}-{n:03d}" for n in range(1, a.count + 1)]
            for agent_id in ids:
                agent_ids.append(agent_id)
                cfg = AgentConfig(
                    agent_id, account, dict(a.skills), dict(a.capacity), a.team or a.id, a.site, a.name
                )
                agents.append(SimAgent(cfg, tuple(shifts), delay, rona))
        self.unique(agent_ids, "agents")

        arrivals = []
        for i, ar in enumerate(spec.arrivals):
            where = f"arrivals[{i}]"
            if ar.queue not in requires:
                raise self.fail(
                    where + ".queue", f"unknown queue {ar.queue!r}; queues: {', '.join(queue_ids)}"
                )
            given = [
                k for k, v in (("rate", ar.rate), ("profile", ar.profile), ("csv", ar.csv)) if v is not None
            ]
            if len(given) != 1:
                raise self.fail(where, "give exactly one of 'rate', 'profile' or 'csv'")
            attrs = (
                None if ar.attributes is None else self.attribute_mix(ar.attributes, where + ".attributes")
            )
            if ar.rate is not None:
                arrivals.append(
                    ArrivalStream(
                        ar.queue,
                        pieces=((start, end, self.rate(ar.rate, where + ".rate")),),
                        attributes=attrs,
                    )
                )
            elif ar.profile is not None:
                pieces: list[tuple[float, float, float]] = []
                times = [self.when(p.start, f"{where}.profile[{k}].start") for k, p in enumerate(ar.profile)]
                for k, p in enumerate(ar.profile):
                    p_start = max(times[k], start)
                    p_end = min(times[k + 1] if k + 1 < len(times) else end, end)
                    if k and times[k] <= times[k - 1]:
                        raise self.fail(f"{where}.profile[{k}].start", "periods must be in increasing order")
                    if p_end > p_start:
                        pieces.append((p_start, p_end, self.rate(p.rate, f"{where}.profile[{k}].rate")))
                arrivals.append(ArrivalStream(ar.queue, pieces=tuple(pieces), attributes=attrs))
            else:
                assert ar.csv is not None
                arrivals.append(
                    ArrivalStream(
                        ar.queue,
                        volumes=self.volumes(ar.csv, ar.queue, interval, start, end, where),
                        attributes=attrs,
                    )
                )

        engine = EngineConfig(
            accounts=accounts,
            queues=tuple(queues),
            agents=tuple(a.config for a in agents),
            dispositions=dispositions,
            skills=known,
            timezone=spec.timezone,
            interval_seconds=int(interval),
            interaction_selection=InteractionSelection(spec.routing.interaction_selection),
            aging_seconds_per_priority=self.seconds(spec.routing.aging, "routing.aging"),
        )
        return Scenario(
            name=spec.name,
            source=self.source,
            engine=engine,
            start=start,
            end=end,
            drain=self.seconds(spec.drain, "drain"),
            timezone=spec.timezone,
            interval=int(interval),
            seed=spec.seed,
            agents=tuple(agents),
            queues=sim_queues,
            arrivals=tuple(arrivals),
            spec=spec,
        )

    def unique(self, ids: list[str], where: str) -> None:
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if x in seen:
                raise self.fail(f"{where}[{i}].id" if where != "agents" else where, f"duplicate id {x!r}")
            seen.add(x)

    def expression(self, text: str, where: str, known: frozenset[str]) -> Any:
        try:
            return parse_expression(text, known_skills=known, where=where)
        except ConfigError as exc:
            raise self.fail(where, exc.message) from None

    def rate(self, value: Any, where: str) -> float:
        try:
            return parse_rate_per_hour(value) / 3600.0
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def weights(self, mix: Mapping[Any, float]) -> tuple[tuple[Any, float], ...]:
        total = sum(mix.values())
        if total <= 0:
            return ()
        acc = 0.0
        out = []
        for k, w in mix.items():
            acc += w / total
            out.append((k, acc))
        return tuple(out)

    def attribute_mix(
        self, attrs: Mapping[str, Mapping[str, float]], where: str
    ) -> tuple[tuple[str, tuple[tuple[Any, float], ...]], ...]:
        out = []
        for name, mix in attrs.items():
            if not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
                raise self.fail(f"{where}.{name}", "give each value a weight ≥ 0, with a positive total")
            out.append((name, self.weights(mix)))
        return tuple(out)

    def wrap_up(self, w: WrapUpSpec, where: str) -> tuple[WrapUp, Distribution | None]:
        if w.mode == "none":
            return WrapUp(WrapUpMode.NONE, 0.0), None
        if w.mode == "fixed":
            if w.duration is None:
                raise self.fail(where + ".duration", "a fixed wrap-up needs a duration")
            return WrapUp(WrapUpMode.FIXED, self.seconds(w.duration, where + ".duration")), None
        maximum = 0.0 if w.max is None else self.positive(w.max, where + ".max")
        time_dist = self.distribution(w.time, where + ".time", Exponential(30.0))
        return WrapUp(WrapUpMode.AGENT, maximum), time_dist

    def hours(self, h: HoursSpec | None, where: str) -> OpeningHours:
        if h is None:
            from centrale.core.config import ALWAYS_OPEN

            return ALWAYS_OPEN
        tzname = h.timezone or self.spec.timezone
        self.zone(tzname, where + ".timezone")
        weekly: dict[int, list[tuple[time, time]]] = {}
        for key, spans in h.weekly.items():
            days = self.days(key, f"{where}.weekly.{key}")
            for text in [spans] if isinstance(spans, str) else spans:
                if text.strip().lower() == "closed":
                    continue
                try:
                    a, b = (t.strip() for t in text.split("-"))
                    span = (time.fromisoformat(a), time.fromisoformat(b if b != "24:00" else "00:00"))
                except ValueError:
                    raise self.fail(
                        f"{where}.weekly.{key}", f"expected opening hours like '08:00-18:00', got {text!r}"
                    ) from None
                for d in days:
                    weekly.setdefault(d, []).append(span)
        closed = set(h.closed)
        if h.holidays:
            import holidays as holidays_lib

            years = range(self.start_local.year - 1, self.start_local.year + 3)
            try:
                closed.update(holidays_lib.country_holidays(h.holidays.upper(), years=years).keys())
            except NotImplementedError:
                raise self.fail(
                    where + ".holidays", f"unknown holiday country {h.holidays!r} (use e.g. NL, GB, US)"
                ) from None
        return OpeningHours(timezone=tzname, weekly=weekly, closed_dates=frozenset(closed))

    def days(self, key: str, where: str) -> list[int]:
        k = key.strip().lower()
        if k in ("daily", "all", "mon-sun"):
            return list(range(7))
        if "-" in k:
            a, b = k.split("-", 1)
            if a in _WEEKDAYS and b in _WEEKDAYS and _WEEKDAYS[a] <= _WEEKDAYS[b]:
                return list(range(_WEEKDAYS[a], _WEEKDAYS[b] + 1))
        elif k in _WEEKDAYS:
            return [_WEEKDAYS[k]]
        raise self.fail(where, f"expected a weekday or range such as 'mon-fri', got {key!r}")

    def volumes(
        self, name: str, queue: str, interval: float, start: float, end: float, where: str
    ) -> tuple[tuple[float, float, int], ...]:
        path = self.base_dir / name
        out = []
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                need = {"interval_start", "queue", "offered"}
                if reader.fieldnames is None or not need <= set(reader.fieldnames):
                    raise self.fail(
                        where + ".csv", f"{path} needs the columns interval_start, queue, offered"
                    )
                for lineno, row in enumerate(reader, start=2):
                    if row["queue"] != queue:
                        continue
                    try:
                        t = self.when(row["interval_start"], where)
                        n = float(row["offered"])
                    except (ScenarioError, ValueError, TypeError):
                        raise self.fail(
                            where + ".csv", f"{path} line {lineno}: cannot read {row!r}"
                        ) from None
                    if n < 0 or n != n:
                        raise self.fail(where + ".csv", f"{path} line {lineno}: offered cannot be negative")
                    if start <= t < end:
                        out.append((t, min(t + interval, end), round(n)))
        except OSError as exc:
            raise self.fail(where + ".csv", f"cannot read {path}: {exc.strerror}") from None
        return tuple(sorted(out))


def local_iso(epoch: float, tz: str) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(tz)).replace(tzinfo=None).isoformat(timespec="minutes")


def day_start(epoch: float, tz: str) -> float:
    local = datetime.fromtimestamp(epoch, ZoneInfo(tz))
    return datetime.combine(local.date(), time(0), ZoneInfo(tz)).timestamp()


__all__ = ["Scenario", "ScenarioError", "load_scenario", "scenario_from_dict"]
