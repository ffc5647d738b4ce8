"""Multi-skill staffing, checked in the simulator and tuned to the fewest agents per skill group.

Erlang formulas staff one queue served by one pool of agents. A center whose agents have different
skill sets — specialists for one queue, generalists for several — has no closed form: who takes
which call depends on routing. This module runs the scenario's proposed staffing through the
simulator instead, reports each queue's achieved service level against its target with a 95 %
confidence interval over replications, and can search for the fewest agents per *skill group* (each
``agents:`` entry of the scenario, whose ``count`` is varied) that meet every queue's target.

Definitions
-----------
* A queue's service level is the simulator's: answered within the queue's threshold ÷ offered, over the
  scenario's whole arrival window (the day starts empty, as a real day does; nothing is discarded).
* A queue **meets** its target when the *lower bound* of the 95 % interval of its service level is at
  or above the target (``status`` "met"). A mean above the target with the lower bound below it is
  "marginal"; a mean below the target is "missed". A queue that received no calls is "no calls" and
  counts as met. The lower bound is used, not the mean, so that a tuned staffing keeps meeting its
  targets when checked again with other seeds: tuned on the mean, the tightest queue would sit on its
  target and miss it in about half of all fresh checks.
* Every candidate staffing is simulated with the same seeds (seed, seed + 1, …): common random
  numbers, so that differences between candidates are not just different luck. (The simulator draws
  arrivals, patience and handle times from one random stream, so the streams drift apart once
  staffing changes the order of events; candidates are still compared on equal terms and the search
  is fully deterministic.)

The search (:func:`tune`)
-------------------------
1. **Start** from the proposed counts.
2. **Add**: while some queue misses its target, simulate one more agent in each group (below the
   per-group limit) and keep the addition that leaves the smallest total shortfall
   Σ max(0, target − lower bound); ties go to the larger smallest slack, then to the earlier group.
3. **Remove**: simulate one agent fewer in each group; among the removals after which every queue still
   meets its target keep the one with the largest smallest slack (min over queues of lower bound −
   target). Repeat until no single removal is possible.
4. **Exchange**: try replacing one agent of each of two groups by one agent of a third group (one agent
   fewer in total: two specialists by one generalist, say). If one works, keep the best and go back
   to 3.

The result is locally minimal: removing one agent from any group breaks some target (each such
staffing is kept in :attr:`TuneResult.removal_checks`, the certificate). It is not guaranteed to be
the global minimum — the search is greedy, and the simulated service level is noisy — but every
candidate is judged on the same seeds, so the search is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from centrale.sim import Scenario, run_scenario, scenario_from_dict
from centrale.sim.runner import mean_ci

__all__ = [
    "CheckError",
    "Group",
    "QueueCheck",
    "StaffingCheck",
    "TuneResult",
    "check",
    "groups_of",
    "tune",
]

#: Default cap on the agents of one group during the search.
DEFAULT_MAX_AGENTS_PER_GROUP = 200

# Service levels are compared with this slack so that a bound equal to the target in real arithmetic
# is not rejected because of the last bit of a float.
_SLACK = 1e-9

Counts = tuple[int, ...]


class CheckError(ValueError):
    """A scenario or request the check cannot work with; the message says why."""


@dataclass(frozen=True)
class Group:
    """One ``agents:`` entry of the scenario: agents with the same skills whose number is varied."""

    id: str
    proposed: int
    skills: Mapping[str, int]
    #: Queues whose requirement the group's agents meet (ignoring requirements on call attributes).
    queues: tuple[str, ...]


@dataclass(frozen=True)
class QueueCheck:
    """One queue's achieved service level over the replications, against its target."""

    queue: str
    target: float
    threshold_seconds: float
    #: Mean offered calls per replication.
    offered: float
    #: Mean and 95 % interval of the service level (answered within threshold ÷ offered); None: no calls.
    service_level: float | None
    low: float | None
    high: float | None
    abandon_rate: float | None
    asa_seconds: float | None

    @property
    def status(self) -> str:
        if self.service_level is None:
            return "no calls"
        low = self.service_level if self.low is None else self.low
        if low >= self.target - _SLACK:
            return "met"
        if self.service_level >= self.target - _SLACK:
            return "marginal"
        return "missed"

    @property
    def meets(self) -> bool:
        """The lower bound of the 95 % interval is at or above the target (or there were no calls)."""
        return self.status in ("met", "no calls")

    @property
    def slack(self) -> float:
        """Lower bound − target (positive: met with room to spare); +inf without calls."""
        if self.service_level is None:
            return math.inf
        low = self.service_level if self.low is None else self.low
        return low - self.target

    def as_record(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "target": self.target,
            "threshold_seconds": self.threshold_seconds,
            "offered": self.offered,
            "service_level": self.service_level,
            "service_level_low": self.low,
            "service_level_high": self.high,
            "abandon_rate": self.abandon_rate,
            "asa_seconds": self.asa_seconds,
            "status": self.status,
            "meets": self.meets,
        }


@dataclass(frozen=True)
class StaffingCheck:
    """One staffing (agents per group) simulated ``reps`` times from ``seed``."""

    counts: Mapping[str, int]
    queues: Mapping[str, QueueCheck]
    reps: int
    seed: int
    occupancy: float | None

    @property
    def meets_all(self) -> bool:
        return all(q.meets for q in self.queues.values())

    @property
    def total_agents(self) -> int:
        return sum(self.counts.values())

    @property
    def shortfall(self) -> float:
        """Σ over queues of max(0, target − lower bound): 0 when every target is met."""
        return sum(max(0.0, -q.slack) for q in self.queues.values())

    @property
    def min_slack(self) -> float:
        return min((q.slack for q in self.queues.values()), default=math.inf)

    def as_record(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "total_agents": self.total_agents,
            "reps": self.reps,
            "seed": self.seed,
            "meets_all": self.meets_all,
            "occupancy": self.occupancy,
            "queues": {q: c.as_record() for q, c in self.queues.items()},
        }


@dataclass
class TuneResult:
    """The outcome of :func:`tune`."""

    groups: tuple[Group, ...]
    proposed: StaffingCheck
    #: The fewest agents found that meet every target; None if none was found within ``limit``.
    tuned: StaffingCheck | None
    limit: int
    evaluations: int
    #: What the search did, step by step.
    steps: list[str] = field(default_factory=list)
    #: Per group: the tuned staffing with one agent fewer there (it breaks some target), or why it
    #: was not tried (the group has no agents left).
    removal_checks: dict[str, StaffingCheck | str] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        return {
            "groups": [
                {
                    "id": g.id,
                    "skills": dict(g.skills),
                    "queues": list(g.queues),
                    "proposed": g.proposed,
                    "tuned": None if self.tuned is None else self.tuned.counts[g.id],
                }
                for g in self.groups
            ],
            "criterion": "lower bound of the 95% interval of each queue's service level >= target",
            "max_agents_per_group": self.limit,
            "evaluations": self.evaluations,
            "proposed": self.proposed.as_record(),
            "tuned": None if self.tuned is None else self.tuned.as_record(),
            "removal_checks": {
                g: (c if isinstance(c, str) else c.as_record()) for g, c in self.removal_checks.items()
            },
            "steps": list(self.steps),
        }


# ------------------------------------------------------------------------------------------ groups


def groups_of(scenario: Scenario) -> tuple[Group, ...]:
    """The skill groups of a scenario, with the queues each can take."""
    out = []
    for spec in scenario.spec.agents:
        view = SimpleNamespace(
            id=spec.id,
            skills=dict(spec.skills),
            team=spec.team or spec.id,
            site=spec.site,
            account=spec.account or scenario.engine.accounts[0].id,
        )
        takes = tuple(
            q.id for q in scenario.engine.queues if q.requires.task_attributes or q.requires.matches(view, {})
        )
        out.append(Group(spec.id, spec.count, dict(spec.skills), takes))
    return tuple(out)


def _validate(scenario: Scenario, groups: tuple[Group, ...]) -> None:
    if not groups:
        raise CheckError(f"{scenario.source}: the scenario has no agents to check")
    fed = {a.queue for a in scenario.arrivals if a.expected() > 0}
    for q in scenario.engine.queues:
        if q.id in fed and not any(q.id in g.queues for g in groups):
            raise CheckError(
                f"{scenario.source}: no agent group can take queue {q.id!r} "
                f"(requires {q.requires.text!r}): no staffing can meet its target"
            )


def _with_counts(scenario: Scenario, groups: tuple[Group, ...], counts: Counts) -> Scenario:
    """The scenario with each group's count replaced; a group of 0 agents is left out."""
    data = scenario.spec.model_dump(mode="python", exclude_unset=True)
    data["agents"] = [{**agent, "count": n} for agent, n in zip(data["agents"], counts, strict=True) if n > 0]
    return scenario_from_dict(data, source=scenario.source, base_dir=_base_dir(scenario))


def _base_dir(scenario: Scenario) -> Path | None:
    """Where the scenario's CSV files are: next to the scenario file (None for an in-memory one)."""
    if scenario.source.startswith("<"):
        return None
    return Path(scenario.source).parent


# ------------------------------------------------------------------------------------------ checking


def _mean(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if isinstance(v, int | float) and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else None


def _evaluate(
    scenario: Scenario,
    groups: tuple[Group, ...],
    counts: Counts,
    reps: int,
    seed: int,
    on_run: Callable[[], None] | None = None,
) -> StaffingCheck:
    candidate = _with_counts(scenario, groups, counts)
    results = []
    for r in range(reps):
        results.append(run_scenario(candidate, seed + r, detail=False))
        if on_run is not None:
            on_run()
    queues: dict[str, QueueCheck] = {}
    for q in scenario.engine.queues:
        runs = [res.queues[q.id] for res in results]
        ci = mean_ci([float(r["service_level"]) for r in runs if r["service_level"] is not None])
        queues[q.id] = QueueCheck(
            queue=q.id,
            target=q.sl_target,
            threshold_seconds=q.sl_threshold,
            offered=sum(r["offered"] for r in runs) / len(runs),
            service_level=ci["mean"],
            # A service level lies in [0, 1]; so does the useful part of its interval.
            low=None if ci["low"] is None else max(0.0, ci["low"]),
            high=None if ci["high"] is None else min(1.0, ci["high"]),
            abandon_rate=_mean(r["abandon_rate"] for r in runs),
            asa_seconds=_mean(r["asa_seconds"] for r in runs),
        )
    occupancy = _mean(res.totals["occupancy"] for res in results)
    return StaffingCheck(
        counts={g.id: n for g, n in zip(groups, counts, strict=True)},
        queues=queues,
        reps=reps,
        seed=seed,
        occupancy=occupancy,
    )


def _check_reps(reps: int) -> None:
    if reps < 2:
        raise CheckError(f"at least 2 replications are needed for a confidence interval, got {reps}")


def check(
    scenario: Scenario,
    counts: Mapping[str, int] | None = None,
    *,
    reps: int = 5,
    seed: int | None = None,
    on_run: Callable[[], None] | None = None,
) -> StaffingCheck:
    """Simulate the scenario with ``counts`` agents per group (default: the proposed ones).

    ``on_run`` is called after each replication (for a progress bar).
    """
    _check_reps(reps)
    groups = groups_of(scenario)
    _validate(scenario, groups)
    chosen = {g.id: g.proposed for g in groups}
    if counts is not None:
        unknown = set(counts) - set(chosen)
        if unknown:
            raise CheckError(f"unknown agent group(s): {', '.join(sorted(unknown))}")
        for gid, n in counts.items():
            if n < 0:
                raise CheckError(f"group {gid!r}: the number of agents cannot be negative, got {n}")
        chosen.update(counts)
    base = scenario.seed if seed is None else seed
    return _evaluate(scenario, groups, tuple(chosen[g.id] for g in groups), reps, base, on_run)


# ------------------------------------------------------------------------------------------ tuning


class _Search:
    def __init__(
        self,
        scenario: Scenario,
        groups: tuple[Group, ...],
        reps: int,
        seed: int,
        limit: int,
        on_run: Callable[[str], None] | None,
    ) -> None:
        self.scenario = scenario
        self.groups = groups
        self.reps = reps
        self.seed = seed
        self.limit = limit
        self.on_run = on_run
        self.cache: dict[Counts, StaffingCheck] = {}
        self.steps: list[str] = []
        self.phase = "checking"

    def run(self, counts: Counts) -> StaffingCheck:
        found = self.cache.get(counts)
        if found is None:
            report = self.on_run
            tick: Callable[[], None] | None = None
            if report is not None:
                phase = f"{self.phase} ({sum(counts)} agents: {'/'.join(map(str, counts))})"

                def tick() -> None:
                    report(phase)

            found = _evaluate(self.scenario, self.groups, counts, self.reps, self.seed, tick)
            self.cache[counts] = found
        return found

    def moved(self, counts: Counts, changes: Mapping[int, int]) -> Counts | None:
        out = list(counts)
        for i, d in changes.items():
            out[i] += d
            if not 0 <= out[i] <= self.limit:
                return None
        return tuple(out)

    def describe(self, changes: Mapping[int, int]) -> str:
        return ", ".join(f"{d:+d} {self.groups[i].id}" for i, d in changes.items())

    def add_until_met(self, counts: Counts) -> Counts | None:
        self.phase = "adding"
        current = self.run(counts)
        while not current.meets_all:
            options = []
            for i in range(len(self.groups)):
                nxt = self.moved(counts, {i: +1})
                if nxt is not None:
                    res = self.run(nxt)
                    options.append((res.shortfall, -res.min_slack, i, nxt, res))
            if not options:
                return None
            shortfall, _, i, counts, current = min(options, key=lambda o: (o[0], o[1], o[2]))
            self.steps.append(f"add one to {self.groups[i].id}: shortfall {shortfall:.3f}")
        return counts

    def best_feasible(
        self, counts: Counts, moves: list[dict[int, int]]
    ) -> tuple[Counts, dict[int, int]] | None:
        options = []
        for k, change in enumerate(moves):
            nxt = self.moved(counts, change)
            if nxt is None:
                continue
            res = self.run(nxt)
            if res.meets_all:
                options.append((-res.min_slack, k, nxt, change))
        if not options:
            return None
        _, _, nxt, change = min(options, key=lambda o: (o[0], o[1]))
        return nxt, change

    def remove_while_met(self, counts: Counts) -> Counts:
        g = len(self.groups)
        while True:
            self.phase = "removing"
            while (found := self.best_feasible(counts, [{i: -1} for i in range(g)])) is not None:
                counts, change = found
                self.steps.append(f"remove: {self.describe(change)} → {sum(counts)} agents")
            self.phase = "exchanging"
            exchanges = [
                {a: -1, b: -1, c: +1}
                for a in range(g)
                for b in range(a + 1, g)
                for c in range(g)
                if c not in (a, b)
            ]
            found = self.best_feasible(counts, exchanges)
            if found is None:
                return counts
            counts, change = found
            self.steps.append(f"exchange: {self.describe(change)} → {sum(counts)} agents")


def tune(
    scenario: Scenario,
    *,
    reps: int = 5,
    seed: int | None = None,
    max_agents_per_group: int = DEFAULT_MAX_AGENTS_PER_GROUP,
    on_run: Callable[[str], None] | None = None,
) -> TuneResult:
    """The fewest agents per group meeting every queue's target (see the module docstring).

    ``on_run(phase)`` is called after every simulated replication, with a description of the search.
    """
    _check_reps(reps)
    if max_agents_per_group < 1:
        raise CheckError(
            f"the maximum number of agents per group must be at least 1, got {max_agents_per_group}"
        )
    groups = groups_of(scenario)
    _validate(scenario, groups)
    base = scenario.seed if seed is None else seed
    search = _Search(scenario, groups, reps, base, max_agents_per_group, on_run)
    start = tuple(min(g.proposed, max_agents_per_group) for g in groups)
    proposed_counts = tuple(g.proposed for g in groups)
    search.phase = "checking the proposal"
    proposed = search.run(proposed_counts)
    if start != proposed_counts:
        search.steps.append(f"start capped at {max_agents_per_group} agents per group")
    met = search.add_until_met(start)
    if met is None:
        search.steps.append(
            f"no staffing with at most {max_agents_per_group} agents per group meets every target"
        )
        return TuneResult(groups, proposed, None, max_agents_per_group, len(search.cache), search.steps)
    final = search.remove_while_met(met)
    removal: dict[str, StaffingCheck | str] = {}
    for i, g in enumerate(groups):
        fewer = search.moved(final, {i: -1})
        removal[g.id] = "no agents left to remove" if fewer is None else search.run(fewer)
    return TuneResult(
        groups, proposed, search.run(final), max_agents_per_group, len(search.cache), search.steps, removal
    )
