"""Running scenarios: one run for a seed, or replications with confidence intervals."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from centrale.core.engine import Engine
from centrale.core.stats import MAX_WAIT, Stats, queue_figures, team_figures
from centrale.sim.kernel import Kernel
from centrale.sim.scenario import Scenario, local_iso
from centrale.sim.world import World

# Figures given with confidence intervals over replications.
CI_METRICS = (
    "offered",
    "answered",
    "abandoned",
    "service_level",
    "service_level_of_answered",
    "abandon_rate",
    "asa_seconds",
    "aht_seconds",
    "occupancy",
)


@dataclass
class SimulationResult:
    name: str
    seed: int
    start: str
    end: str
    interval_seconds: int
    totals: dict[str, Any]
    queues: dict[str, dict[str, Any]]
    accounts: dict[str, dict[str, Any]]
    teams: dict[str, dict[str, Any]]
    intervals: list[dict[str, Any]]
    agent_states: list[dict[str, Any]]
    events: int
    wall_seconds: float
    open_at_end: int

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "seed": self.seed,
            "start": self.start,
            "end": self.end,
            "interval_seconds": self.interval_seconds,
            "totals": self.totals,
            "queues": self.queues,
            "accounts": self.accounts,
            "teams": self.teams,
            "intervals": self.intervals,
            "agent_states": self.agent_states,
            "events": self.events,
            "wall_seconds": round(self.wall_seconds, 3),
            "open_at_end": self.open_at_end,
        }


def run_scenario(
    scenario: Scenario,
    seed: int | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    detail: bool = True,
) -> SimulationResult:
    """Run the scenario once. `progress` gets the fraction of simulated time done now and then."""
    seed = scenario.seed if seed is None else seed
    wall = time.perf_counter()
    span = scenario.end - scenario.start

    def on_step(now: float) -> None:
        if progress is not None:
            progress(min(1.0, (now - scenario.start) / span))

    # Arrivals stop at the end; agents keep serving the interactions already in the queues for
    # at most `drain` more seconds, so that every arrival of the day reaches its outcome.
    # The cyclic garbage collector only slows a run down: finished interactions are freed by
    # reference counting as soon as the engine lets go of them. It is switched off for the run,
    # and already while the engine and the world are built (tens of thousands of agents and
    # pools: allocations that would trigger full collections and find nothing to free).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        engine = Engine(scenario.engine, notify=False)
        kernel = Kernel(scenario.start)
        world = World(scenario, engine, kernel, seed)
        world.start()
        kernel.run(until=scenario.end, on_step=on_step if progress else None, step_every=20_000)
        engine.close_books(scenario.end)
        kernel.run(until=scenario.end + scenario.drain)
    finally:
        if gc_was_enabled:
            gc.enable()
    if progress is not None:
        progress(1.0)
    return _collect(scenario, engine, world, seed, time.perf_counter() - wall, detail)


def _collect(
    scenario: Scenario, engine: Engine, world: World, seed: int, wall: float, detail: bool
) -> SimulationResult:
    stats = engine.stats
    cfg = scenario.engine
    start, end = scenario.start, scenario.end
    queue_ids = [q.id for q in cfg.queues]
    teams = sorted(stats.teams)
    totals = queue_figures(stats.queue_sum(queue_ids, start, end))
    team_total = team_figures(stats.team_sum(teams, start, end))
    totals["occupancy"] = team_total["occupancy"]
    totals["agent_seconds_staffed"] = team_total["staffed_seconds"]
    queues = {
        q.id: {
            **queue_figures(stats.queue_sum([q.id], start, end), q.sl_threshold),
            "account": q.account,
            "sl_target": q.sl_target,
            "dispositions": dict(sorted(stats.dispositions.get(q.id, {}).items())),
        }
        for q in cfg.queues
    }
    accounts = {}
    for acc in cfg.accounts:
        ids = [q.id for q in cfg.queues if q.account == acc.id]
        accounts[acc.id] = {
            **queue_figures(stats.queue_sum(ids, start, end)),
            "handled_seconds": round(stats.account_handled.get(acc.id, 0.0), 3),
        }
    team_figs = {t: team_figures(stats.team_sum([t], start, end)) for t in teams}
    intervals: list[dict[str, Any]] = []
    agent_states: list[dict[str, Any]] = []
    if detail:
        step = scenario.interval
        first = stats.index(start)
        last = math.ceil((end - stats.origin) / step)
        # One pass over each queue's and team's buckets (not one sum per interval and queue: a
        # national day has hundreds of queues × dozens of intervals).
        per_queue: dict[str, dict[int, list[float]]] = {q: stats.queues.get(q, {}) for q in queue_ids}
        for idx in range(first, last):
            s = stats.interval_start(idx)
            row: dict[str, Any] = {"start": local_iso(s, scenario.timezone)}
            total: list[float] | None = None
            queues_row: dict[str, Any] = {}
            for q in queue_ids:
                b = per_queue[q].get(idx)
                queues_row[q] = _compact(queue_figures(b if b is not None else _zero_bucket()))
                if b is not None:
                    total = list(b) if total is None else _add_buckets(total, b)
            row["all"] = _compact(queue_figures(total if total is not None else _zero_bucket()))
            row["queues"] = queues_row
            intervals.append(row)
            tb = [0.0] * 5
            for t in teams:
                tbucket = stats.teams[t].get(idx)
                if tbucket is not None:
                    tb = [x + y for x, y in zip(tb, tbucket, strict=True)]
            agent_states.append(
                {
                    "start": row["start"],
                    **{
                        name: round(v / step, 3)
                        for name, v in zip(
                            ("ready", "reserved", "busy", "wrap_up", "not_ready"), tb, strict=True
                        )
                    },
                }
            )
    return SimulationResult(
        name=scenario.name,
        seed=seed,
        start=local_iso(start, scenario.timezone),
        end=local_iso(end, scenario.timezone),
        interval_seconds=scenario.interval,
        totals=totals,
        queues=queues,
        accounts=accounts,
        teams=team_figs,
        intervals=intervals,
        agent_states=agent_states,
        events=world.events,
        wall_seconds=wall,
        open_at_end=len(engine.interactions),
    )


def _zero_bucket() -> list[float]:
    return Stats.empty_queue_bucket()


def _add_buckets(total: list[float], b: list[float]) -> list[float]:
    out = [x + y for x, y in zip(total, b, strict=True)]
    out[MAX_WAIT] = max(total[MAX_WAIT], b[MAX_WAIT])
    return out


def _compact(f: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "offered",
        "answered",
        "abandoned",
        "answered_within_target",
        "service_level",
        "asa_seconds",
        "aht_seconds",
        "abandon_rate",
    )
    return {k: f[k] for k in keys}


@dataclass
class ReplicationSummary:
    runs: list[SimulationResult]
    totals: dict[str, Any] = field(default_factory=dict)
    intervals95: dict[str, dict[str, float | None]] = field(default_factory=dict)
    queues95: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        first = self.runs[0].to_json()
        first["totals"] = self.totals
        first["replications"] = len(self.runs)
        first["seeds"] = [r.seed for r in self.runs]
        first["confidence_intervals"] = self.intervals95
        first["queue_confidence_intervals"] = self.queues95
        first["replication_totals"] = [r.totals for r in self.runs]
        first["wall_seconds"] = round(sum(r.wall_seconds for r in self.runs), 3)
        return first


def mean_ci(values: list[float]) -> dict[str, float | None]:
    """Mean and a 95 % confidence interval (Student t over replications)."""
    vals = [v for v in values if v is not None and not math.isnan(v)]
    n = len(vals)
    if n == 0:
        return {"mean": None, "low": None, "high": None, "half_width": None, "n": 0}
    m = sum(vals) / n
    if n < 2:
        return {"mean": m, "low": None, "high": None, "half_width": None, "n": n}
    from scipy.stats import t as student_t

    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (n - 1))
    half = float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"mean": m, "low": m - half, "high": m + half, "half_width": half, "n": n}


def run_replications(
    scenario: Scenario,
    reps: int,
    seed: int | None = None,
    *,
    progress: Callable[[int, float], None] | None = None,
    detail: bool = True,
) -> ReplicationSummary:
    """`reps` independent runs with seeds seed, seed+1, …; means and 95 % intervals."""
    base = scenario.seed if seed is None else seed
    runs = []
    for r in range(reps):
        cb = None if progress is None else (lambda frac, r=r: progress(r, frac))
        runs.append(run_scenario(scenario, base + r, progress=cb, detail=detail and r == 0))
    summary = ReplicationSummary(runs=runs)
    totals: dict[str, Any] = {}
    for key in runs[0].totals:
        vals = [r.totals[key] for r in runs if isinstance(r.totals.get(key), int | float)]
        totals[key] = sum(vals) / len(vals) if vals else None
    summary.totals = totals
    summary.intervals95 = {m: mean_ci([r.totals.get(m) for r in runs]) for m in CI_METRICS}  # type: ignore[misc]
    summary.queues95 = {
        q: {m: mean_ci([r.queues[q].get(m) for r in runs]) for m in CI_METRICS if m != "occupancy"}  # type: ignore[misc]
        for q in runs[0].queues
    }
    return summary
