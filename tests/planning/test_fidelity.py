"""Simulator fidelity: the simulator reproduces the Erlang C and Erlang A formulas.

Each case is one queue with Poisson arrivals, exponential handle times, exponential patience (Erlang A)
or none at all (Erlang C: no ``patience`` key, ρ < 1), no wrap-up, answer delay 0, FIFO, and ``n``
identical agents on duty all the time. The cases run from 1 agent to 300, below and above capacity
for Erlang A (ρ = 0.8 … 1.5).

Method
------
* **Warm-up is discarded, not tolerated.** A run starts with an empty center, which flatters the
  first hour(s). The runner always reports totals over the whole arrival window, but with
  ``detail=True`` it also reports every interval, and the core statistics count each call in the
  interval in which it *arrived* (``centrale.core.stats``). So each replication simulates
  ``warmup + window`` hours of arrivals and the figures are re-aggregated from the interval rows
  after the warm-up only: offered, answered, abandoned, answered within T, ASA × answered, and the
  agents' state time. The warm-up per case is several relaxation times of that queue (minutes for
  large centers with impatient callers, hours for one or two agents without abandonment).
  Calls that arrive late in the window are still followed to the end: the scenario's ``drain`` (12 h)
  serves them after arrivals stop, and FIFO means later arrivals cannot change their wait, so the
  end of the window carries no bias.
* **Replications, not one long run.** ``reps`` independent runs give a Student-t 95 % interval
  (``centrale.sim.runner.mean_ci``) for each figure. Each case has its own block of seeds
  (20_000 + 100 × its index, …): with the same seeds everywhere, every case would draw nearly the same
  arrival stream and share its luck — a lucky stream with 1 % more calls than average then pushed
  all four Erlang C occupancies up together.
* **Tolerance.** The formula must lie within the replications' 95 % interval, widened twice:

  1. *to the 99 % level* (half-width × t₀.₉₉₅/t₀.₉₇₅ with reps − 1 degrees of freedom: × 1.48 at 8
     replications, × 1.66 at 5). The file makes about 35 comparisons; at 95 % each, a perfect
     simulator would fail one or two of them by chance on every change of seeds or of the
     simulator's random-number use. At 99 % that is about one run in three instead of every run —
     and the heavy-tailed cases (the service level of a large Erlang C center is set by rare,
     long excursions of the queue) are the ones whose 5-run t-interval is least trustworthy;
  2. *by a small absolute tolerance*: 0.005 on the service level, 0.003 on the abandonment
     probability, max(0.25 s, 3 %) on ASA and 0.005 on occupancy. With the warm-up discarded, the
     only bias left for it to cover is the residual initial transient (the warm-ups are ≥ 4
     relaxation times, so it is under 2 % of an already small start-up effect) and the O(1/N) bias
     of ratio estimators.

  Both are far smaller than any modelling error worth catching: a service level divided by
  answered instead of offered calls, or an ASA that includes abandoned waits, moves these figures
  by 5–40 points in the Erlang A cases; one agent more or less moves the small cases by several
  points. Seeds are fixed, so the outcome is deterministic.
* **Occupancy.** Two assertions per case: the simulated occupancy (agents' busy time ÷ available
  time over the window) lies in its interval around the formula λ(1 − P_ab)h/n; and, per replication,
  it equals the carried load measured in the same run, answered × mean handle time ÷ (n × window),
  to 0.005 — an accounting identity that has no sampling noise beyond the few calls in service at the
  window's two edges, so it catches bookkeeping errors (time lost between states, double counting)
  that the noisy formula comparison would hide.

The larger cases are marked ``slow`` (still part of the default run). The whole file takes well
under three minutes on two busy cores.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import pytest
from scipy.stats import t as student_t  # type: ignore[import-untyped, unused-ignore]

from centrale.planning.erlang import ErlangAResult, erlang_a
from centrale.sim import run_scenario, scenario_from_dict
from centrale.sim.runner import mean_ci

SEED = 20_000
HOUR = 3600.0

# Absolute tolerances added to the 95 % half-width (ASA: the larger of the absolute and relative one).
TOL_SERVICE_LEVEL = 0.005
TOL_ABANDON = 0.003
TOL_ASA_SECONDS = 0.25
TOL_ASA_RELATIVE = 0.03
TOL_OCCUPANCY = 0.005
# Carried load counts each call answered in the window with its whole handle time, while agent time
# stops at the window's edges: calls straddling an edge make the two differ by up to about one
# handle time per agent over the window (180 s over a multi-hour window: ≲ 1 %).
TOL_OCCUPANCY_IDENTITY = 0.01


@dataclass(frozen=True)
class Case:
    id: str
    agents: int
    load: float  # offered load A = λh, Erlang
    aht: float  # mean handle time h, seconds
    patience: float | None  # mean patience, seconds; None = Erlang C (callers never hang up)
    threshold: float  # service-level threshold T, seconds
    hours: float  # hours of arrivals per replication, warm-up included
    warmup_hours: float  # the first hours, discarded
    reps: int
    interval_minutes: int = 60  # reporting interval; the warm-up is a whole number of them

    @property
    def skip(self) -> int:
        """Intervals of warm-up to discard."""
        return round(self.warmup_hours * 60 / self.interval_minutes)

    @property
    def window_seconds(self) -> float:
        return (self.hours - self.warmup_hours) * HOUR

    @property
    def calls_per_hour(self) -> float:
        return self.load / self.aht * HOUR

    def formula(self) -> ErlangAResult:
        patience = math.inf if self.patience is None else self.patience
        return erlang_a(self.calls_per_hour, HOUR, self.aht, self.agents, self.threshold, patience)

    def scenario_dict(self) -> dict[str, Any]:
        queue: dict[str, Any] = {
            "id": "q",
            "requires": "true",
            "service_level": {"target": 0.8, "threshold": self.threshold},
            "handle_time": {"dist": "exponential", "mean": self.aht},
            "wrap_up": {"mode": "none"},
        }
        if self.patience is not None:
            queue["patience"] = {"dist": "exponential", "mean": self.patience}
        return {
            "name": f"fidelity {self.id}",
            "start": "2026-03-02T00:00",
            "timezone": "UTC",
            "duration": f"{self.hours * 60:g}m",
            "interval": f"{self.interval_minutes}m",
            "drain": "12h",
            "queues": [queue],
            "agents": [{"id": "agent", "count": self.agents, "skills": {}}],
            "arrivals": [{"queue": "q", "rate": f"{self.calls_per_hour!r}/h"}],
        }


CASES = [
    # Erlang A, below and above capacity.
    Case("A-1agent-rho0.8", 1, 0.8, 180, 120, 20, hours=240, warmup_hours=8, reps=8, interval_minutes=240),
    Case("A-2agents-rho1.5", 2, 3.0, 180, 60, 20, hours=80, warmup_hours=4, reps=8, interval_minutes=240),
    Case("A-10agents-rho0.8", 10, 8.0, 180, 180, 20, hours=30, warmup_hours=2, reps=8, interval_minutes=120),
    Case("A-20agents-rho1.25", 20, 25.0, 240, 120, 30, hours=16, warmup_hours=1, reps=8),
    Case(
        "A-100agents-rho0.95", 100, 95.0, 180, 120, 20, hours=5, warmup_hours=0.5, reps=5, interval_minutes=30
    ),
    Case(
        "A-300agents-rho1.1", 300, 330.0, 180, 120, 20, hours=3, warmup_hours=0.5, reps=5, interval_minutes=30
    ),
    # Erlang C: no patience key, ρ < 1.
    Case("C-1agent-rho0.5", 1, 0.5, 180, None, 20, hours=240, warmup_hours=8, reps=8, interval_minutes=240),
    Case(
        "C-2agents-rho0.75", 2, 1.5, 180, None, 20, hours=160, warmup_hours=16, reps=8, interval_minutes=240
    ),
    Case(
        "C-15agents-rho0.8", 15, 12.0, 180, None, 20, hours=32, warmup_hours=4, reps=8, interval_minutes=120
    ),
    Case(
        "C-250agents-rho0.92",
        250,
        230.0,
        180,
        None,
        20,
        hours=3,
        warmup_hours=0.5,
        reps=5,
        interval_minutes=30,
    ),
]
SLOW = {"A-100agents-rho0.95", "A-300agents-rho1.1", "C-250agents-rho0.92"}


def _params() -> list[Any]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.id in SLOW else []) for c in CASES]


@dataclass(frozen=True)
class Window:
    """One replication's figures over the arrivals after the warm-up."""

    offered: int
    service_level: float
    asa_seconds: float
    abandon_probability: float
    occupancy: float
    carried_per_agent: float  # answered × mean handle time ÷ (agents × window length)


def _window(case: Case, seed: int) -> Window:
    scenario = scenario_from_dict(case.scenario_dict(), source=f"<{case.id}>")
    result = run_scenario(scenario, seed, detail=True)
    assert result.interval_seconds == case.interval_minutes * 60
    assert result.open_at_end == 0, "the drain must let every call of the window finish"
    rows = [row["queues"]["q"] for row in result.intervals[case.skip :]]
    states = result.agent_states[case.skip :]
    assert len(rows) * result.interval_seconds == case.window_seconds
    offered = sum(r["offered"] for r in rows)
    answered = sum(r["answered"] for r in rows)
    abandoned = sum(r["abandoned"] for r in rows)
    within = sum(r["answered_within_target"] for r in rows)
    waited = sum(r["asa_seconds"] * r["answered"] for r in rows if r["answered"])
    handled_seconds = sum(r["aht_seconds"] * r["answered"] for r in rows if r["answered"])
    working = sum(s["reserved"] + s["busy"] + s["wrap_up"] for s in states)
    available = working + sum(s["ready"] for s in states)
    return Window(
        offered=offered,
        service_level=within / offered,
        asa_seconds=waited / answered,
        abandon_probability=abandoned / offered,
        occupancy=working / available,
        carried_per_agent=handled_seconds / (case.agents * case.window_seconds),
    )


def seeds(case: Case) -> list[int]:
    """Seeds of the case's replications: a block of its own, so that cases do not share their luck."""
    base = SEED + 100 * CASES.index(case)
    return [base + r for r in range(case.reps)]


@functools.cache
def _simulate(case: Case) -> tuple[Window, ...]:
    return tuple(_window(case, seed) for seed in seeds(case))


def _interval(values: list[float]) -> dict[str, float]:
    ci = mean_ci(values)
    return {k: float(v) for k, v in ci.items() if v is not None}


def _widening(reps: int) -> float:
    """t(0.995) / t(0.975) with reps − 1 degrees of freedom: the 95 % interval → the 99 % one."""
    return float(student_t.ppf(0.995, reps - 1) / student_t.ppf(0.975, reps - 1))


def _mismatch(name: str, formula: float, values: list[float], tolerance: float) -> str | None:
    ci = _interval(values)
    allowed = ci["half_width"] * _widening(len(values)) + tolerance
    if abs(formula - ci["mean"]) <= allowed:
        return None
    return (
        f"{name}: formula {formula:.4f}, simulated {ci['mean']:.4f} ± {ci['half_width']:.4f} "
        f"(95 %, n={int(ci['n'])}); allowed ± {allowed:.4f} (99 % + tolerance {tolerance:g}): "
        f"off by {abs(formula - ci['mean']):.4f}"
    )


@pytest.mark.parametrize("case", _params())
def test_erlang_figures_lie_in_the_simulated_confidence_interval(case: Case) -> None:
    formula = case.formula()
    windows = _simulate(case)
    asa_tolerance = max(TOL_ASA_SECONDS, TOL_ASA_RELATIVE * formula.asa_seconds)
    problems = [
        _mismatch(
            "service level", formula.service_level, [w.service_level for w in windows], TOL_SERVICE_LEVEL
        ),
        _mismatch("ASA (answered)", formula.asa_seconds, [w.asa_seconds for w in windows], asa_tolerance),
        _mismatch(
            "abandonment",
            formula.abandon_probability,
            [w.abandon_probability for w in windows],
            TOL_ABANDON,
        ),
    ]
    found = [p for p in problems if p is not None]
    assert not found, f"{case.id}: " + "; ".join(found)


@pytest.mark.parametrize("case", _params())
def test_occupancy_is_the_carried_load_per_agent(case: Case) -> None:
    """Occupancy = λ(1 − P_ab)h/n: against the formula (with its interval) and per run, exactly."""
    formula = case.formula()
    windows = _simulate(case)
    assert formula.occupancy == pytest.approx(
        case.calls_per_hour / HOUR * (1 - formula.abandon_probability) * case.aht / case.agents
    )
    problem = _mismatch("occupancy", formula.occupancy, [w.occupancy for w in windows], TOL_OCCUPANCY)
    assert problem is None, f"{case.id}: {problem}"
    for w in windows:
        assert w.occupancy == pytest.approx(w.carried_per_agent, abs=TOL_OCCUPANCY_IDENTITY)


def test_cases_cover_the_range_asked_for() -> None:
    """Small and large centers; Erlang A below and above capacity; Erlang C stable."""
    a_cases = [c for c in CASES if c.patience is not None]
    c_cases = [c for c in CASES if c.patience is None]
    assert len(CASES) >= 10
    assert min(c.agents for c in CASES) == 1 and max(c.agents for c in CASES) >= 250
    assert any(c.load < c.agents for c in a_cases) and any(c.load > c.agents for c in a_cases)
    assert c_cases and all(c.load < c.agents for c in c_cases)
    assert all(c.warmup_hours < c.hours for c in CASES)
    assert all(c.skip * c.interval_minutes == c.warmup_hours * 60 for c in CASES)
