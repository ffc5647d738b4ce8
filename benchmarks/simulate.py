#!/usr/bin/env python3
"""Benchmark: the simulator on Erlang A against the same model in SimPy, and a national-scale day.

Default: runs ``examples/erlang-a.yaml`` (one queue, 100 agents, 95 Erlang, exponential handling
mean 180 s and patience mean 120 s, FIFO, SL threshold 20 s, ~200,000 calls) through the full engine
(``run_scenario(..., detail=True)``) and the same model written in SimPy
(``benchmarks/_simpy_model.py``), which produces the same per-interval table. Each is timed in CPU
seconds (``time.process_time()``), best of ``--repeat`` runs. Prints one JSON object with both
speeds, their ratio and both models' service level, ASA, AHT, abandon rate and occupancy side by
side, with a statistical agreement check (batch means over the 1-hour intervals).

``--national``: a national-scale day instead — 75,000 agents (staggered 6-hour shifts), 3.85 million
calls, 08:00–20:00 with an intraday profile, exponential handling (mean 300 s) and patience (mean
120 s). ``--structure sector`` (default) builds it as the sector is: 2,000 centers, each with its
own three queues and agents; ``--structure pooled`` as one multi-skill pool of 500 queues in 50
skill groups where every agent serves ~18 queues (the harder case for the router). Runs once,
shows a progress bar on stderr and reports wall and CPU time, calls per second and peak memory.
``--calls-scale 0.1`` runs it at 1/10 (agents and calls) and extrapolates the time to full scale,
clearly labelled.

Run: ``.venv/bin/python benchmarks/simulate.py [--quick]`` or ``... --national [--calls-scale 0.1]``.
Targets: national day ≤ 180 s on one core, ≤ 2 GB.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import resource
import time
from pathlib import Path
from typing import Any

import _simpy_model
import yaml

from centrale.planning.erlang import erlang_a
from centrale.sim.runner import SimulationResult, run_scenario
from centrale.sim.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
ERLANG_A = ROOT / "examples" / "erlang-a.yaml"
Z_TOLERANCE = 3.0  # agree when the difference is within 3 combined standard errors


# --- Erlang A: centrale against SimPy -----------------------------------------------------------------
def erlang_scenario(hours: float) -> tuple[Scenario, dict[str, Any]]:
    data = yaml.safe_load(ERLANG_A.read_text(encoding="utf-8"))
    data["duration"] = f"{hours:g}h"
    return scenario_from_dict(data, source=str(ERLANG_A), base_dir=ERLANG_A.parent), data


def simpy_model(scenario: Scenario) -> _simpy_model.ErlangA:
    """The SimPy model's parameters, read from the same scenario."""
    (q,) = scenario.engine.queues
    sim_q = scenario.queues[q.id]
    (stream,) = scenario.arrivals
    ((_, _, rate),) = stream.pieces
    return _simpy_model.ErlangA(
        agents=len(scenario.agents),
        rate_per_second=rate,
        handle_mean=sim_q.handle_time.mean,
        patience_mean=sim_q.patience.mean,
        threshold=q.sl_threshold,
        duration=scenario.end - scenario.start,
        drain=scenario.drain,
        interval=float(scenario.interval),
    )


def centrale_rows(result: SimulationResult) -> list[dict[str, Any]]:
    """centrale's per-interval table in the SimPy model's shape (for the standard errors)."""
    rows = []
    for row, states in zip(result.intervals, result.agent_states, strict=True):
        a = row["all"]
        working = states["reserved"] + states["busy"] + states["wrap_up"]
        available = working + states["ready"]
        if available == 0 and a["offered"] == 0:
            continue  # an empty interval (nobody staffed, nothing offered): no information
        rows.append(
            {
                "offered": a["offered"],
                "answered": a["answered"],
                "abandoned": a["abandoned"],
                "answered_within_target": a["answered_within_target"],
                "wait_answered_seconds": (a["asa_seconds"] or 0.0) * a["answered"],
                "talk_seconds": (a["aht_seconds"] or 0.0) * a["answered"],
                "handled": a["answered"],
                "occupancy": working / available if available else 0.0,
            }
        )
    return rows


def ratio_se(ys: list[float], xs: list[float]) -> float:
    """Standard error of Σy/Σx over independent batches (the ratio estimator)."""
    n = len(xs)
    r = sum(ys) / sum(xs)
    xbar = sum(xs) / n
    var = sum((y - r * x) ** 2 for y, x in zip(ys, xs, strict=True)) / (n * (n - 1))
    return math.sqrt(var) / xbar


def metric_se(rows: list[dict[str, Any]]) -> dict[str, float]:
    col = {k: [float(r[k]) for r in rows] for k in rows[0]}
    ones = [1.0] * len(rows)
    return {
        "service_level": ratio_se(col["answered_within_target"], col["offered"]),
        "asa_seconds": ratio_se(col["wait_answered_seconds"], col["answered"]),
        "aht_seconds": ratio_se(col["talk_seconds"], col["handled"]),
        "abandon_rate": ratio_se(col["abandoned"], col["offered"]),
        "occupancy": ratio_se(col["occupancy"], ones),
    }


def best_cpu(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        gc.collect()
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def compare(hours: float, repeat: int, seed: int) -> dict[str, Any]:
    scenario, _ = erlang_scenario(hours)
    model = simpy_model(scenario)
    c_cpu, c_res = best_cpu(lambda: run_scenario(scenario, seed, detail=True), repeat)
    s_cpu, s_res = best_cpu(lambda: _simpy_model.run(model, seed), repeat)
    c_tot, s_tot = c_res.totals, s_res["totals"]
    c_calls, s_calls = c_tot["offered"], s_tot["offered"]
    c_se, s_se = metric_se(centrale_rows(c_res)), metric_se(s_res["intervals"])
    rate_per_hour = model.rate_per_second * 3600
    ref = erlang_a(rate_per_hour, 3600, model.handle_mean, model.agents, model.threshold, model.patience_mean)
    reference = {
        "service_level": ref.service_level,
        "asa_seconds": ref.asa_seconds,
        "abandon_rate": ref.abandon_probability,
        "occupancy": ref.occupancy,
        "aht_seconds": model.handle_mean,
    }
    side: dict[str, Any] = {}
    agree = True
    for m in ("service_level", "asa_seconds", "abandon_rate", "aht_seconds", "occupancy"):
        diff = c_tot[m] - s_tot[m]
        se = math.hypot(c_se[m], s_se[m])
        z = abs(diff) / se if se > 0 else 0.0
        ok = z <= Z_TOLERANCE
        agree = agree and ok
        side[m] = {
            "centrale": round(c_tot[m], 5),
            "simpy": round(s_tot[m], 5),
            "erlang_a_formula": round(reference[m], 5),
            "difference": round(diff, 5),
            "combined_standard_error": round(se, 5),
            "z": round(z, 2),
            "agree": ok,
        }
    return {
        "benchmark": "simulate",
        "scenario": str(ERLANG_A.relative_to(ROOT)),
        "hours": hours,
        "seed": seed,
        "repeat": repeat,
        "centrale_calls": c_calls,
        "simpy_calls": s_calls,
        "centrale_cpu_seconds": round(c_cpu, 3),
        "simpy_cpu_seconds": round(s_cpu, 3),
        "centrale_calls_per_second": round(c_calls / c_cpu, 1),
        "simpy_calls_per_second": round(s_calls / s_cpu, 1),
        "ratio": round((c_calls / c_cpu) / (s_calls / s_cpu), 3),
        "centrale_engine_events": c_res.events,
        "centrale_intervals": len(c_res.intervals),
        "simpy_intervals": len(s_res["intervals"]),
        "figures": side,
        "statistically_agree": agree,
        "agreement_tolerance": (
            f"|centrale - simpy| <= {Z_TOLERANCE:g} combined standard errors for each figure; "
            "standard errors by batch means over the 1-hour intervals (ratio estimator)"
        ),
        "engine_compiled": _compiled(),
    }


# --- a national-scale day ------------------------------------------------------------------------
HOURLY_PROFILE = (0.70, 1.10, 1.25, 1.20, 1.00, 0.95, 1.05, 1.10, 1.00, 0.85, 0.70, 0.60)  # 08–20 h
MIN_LEVEL = (1, 1, 2, 2, 3, 3, 4, 4, 5, 5)  # minimum proficiency of the 10 queues of a skill group
SHIFT_HOURS = 6


def staff_by_start_hour(need: list[list[float]], target_agents: int) -> dict[tuple[int, int], int]:
    """Agents starting a shift per (unit, hour): a greedy cover of each unit's Erlangs per hour with
    staggered `SHIFT_HOURS` shifts, scaled and rounded (largest remainders) to `target_agents`."""
    starts: list[list[float]] = []
    for hourly in need:
        st = [0.0] * len(hourly)
        for h in range(len(hourly)):
            active = sum(st[max(0, h - SHIFT_HOURS + 1) : h])
            st[h] = max(0.0, hourly[h] - active)
        starts.append(st)
    factor = target_agents / sum(map(sum, starts))
    cells = [(u, h, x * factor) for u, st in enumerate(starts) for h, x in enumerate(st)]
    counts = {(u, h): math.floor(x) for u, h, x in cells}
    short = target_agents - sum(counts.values())
    for u, h, _ in sorted(cells, key=lambda c: c[2] - math.floor(c[2]), reverse=True)[:short]:
        counts[(u, h)] += 1
    return counts


def national_scenario(scale: float, seed: int = 7) -> tuple[dict[str, Any], dict[str, Any]]:
    """A generated national-scale day as a scenario dict, and a summary of what is in it."""
    rng = random.Random(seed)
    groups, per_group = 50, len(MIN_LEVEL)
    calls = 3_850_000 * scale
    target_agents = round(75_000 * scale)
    handle, patience = 300.0, 120.0
    profile = [p / sum(HOURLY_PROFILE) for p in HOURLY_PROFILE]
    gw = [rng.lognormvariate(0, 0.6) for _ in range(groups)]
    gw = [w / sum(gw) for w in gw]
    queues: list[dict[str, Any]] = []
    arrivals: list[dict[str, Any]] = []
    for g in range(groups):
        qw = [rng.lognormvariate(0, 0.5) for _ in range(per_group)]
        for k in range(per_group):
            qid = f"g{g:02d}q{k}"
            queues.append(
                {
                    "id": qid,
                    "requires": f"g{g:02d} >= {MIN_LEVEL[k]}",
                    "service_level": {"target": 0.8, "threshold": "20s"},
                    "handle_time": {"dist": "exponential", "mean": f"{handle:g}s"},
                    "patience": {"dist": "exponential", "mean": f"{patience:g}s"},
                }
            )
            per_day = calls * gw[g] * qw[k] / sum(qw)
            arrivals.append(
                {
                    "queue": qid,
                    "profile": [
                        {"start": f"{8 + h:02d}:00", "rate": round(per_day * profile[h], 3)}
                        for h in range(12)
                    ],
                }
            )
    # Staffing: per group, staggered 6-hour shifts that follow the group's load (Erlangs per hour).
    need = [[calls * gw[g] * p * handle / 3600 for p in profile] for g in range(groups)]
    counts = staff_by_start_hour(need, target_agents)
    agents: list[dict[str, Any]] = []
    for (g, h), n in counts.items():
        if n <= 0:
            continue
        # Split the group's agents into four skill profiles: the group's skill at 5–10 plus one or
        # two other skills at 1–5 (helping other groups' easier queues).
        for p in range(4):
            m = n // 4 + (1 if p < n % 4 else 0)
            if m <= 0:
                continue
            skills = {f"g{g:02d}": rng.randint(5, 10)}
            for other in rng.sample([x for x in range(groups) if x != g], 1 + p % 2):
                skills[f"g{other:02d}"] = rng.randint(1, 5)
            agents.append(
                {
                    "id": f"g{g:02d}h{8 + h:02d}p{p}",
                    "count": m,
                    "team": f"g{g:02d}",
                    "skills": skills,
                    "shift": {"start": f"{8 + h:02d}:00", "end": f"{min(20, 8 + h + SHIFT_HOURS):02d}:00"},
                }
            )
    data = {
        "name": f"national day ({scale:g} scale)",
        "start": "2026-03-03T08:00",
        "duration": "12h",
        "timezone": "Europe/Amsterdam",
        "interval": "15m",
        "seed": seed,
        "drain": "1h",
        "skills": [f"g{g:02d}" for g in range(groups)],
        "queues": queues,
        "agents": agents,
        "arrivals": arrivals,
    }
    staffed_hours = sum(n * min(SHIFT_HOURS, 12 - h) for (g, h), n in counts.items())
    summary = {
        "agents": sum(counts.values()),
        "queues": len(queues),
        "skill_groups": groups,
        "expected_calls": round(calls),
        "staffed_agent_hours": staffed_hours,
        "offered_erlang_hours": round(calls * handle / 3600),
    }
    return data, summary


def sector_scenario(scale: float, seed: int = 7) -> tuple[dict[str, Any], dict[str, Any]]:
    """The national day as the sector is built: 2,000 centers, each with its own queues and agents.

    The Dutch sector is 2,000 centers with 75,000 seats; an agent answers for their own center. Each
    center here has two skills and three queues (general a, general b, specialist a >= 5); its
    agents have skill a, or a and b. Volumes per center are lognormal; staffing per center follows its
    load with staggered 6-hour shifts, scaled to 75,000 agents in all.
    """
    rng = random.Random(seed)
    centers = max(1, round(2000 * scale))
    calls = 3_850_000 * scale
    target_agents = round(75_000 * scale)
    handle, patience = 300.0, 120.0
    profile = [p / sum(HOURLY_PROFILE) for p in HOURLY_PROFILE]
    weights = [rng.lognormvariate(0, 0.8) for _ in range(centers)]
    weights = [w / sum(weights) for w in weights]
    queues: list[dict[str, Any]] = []
    arrivals: list[dict[str, Any]] = []
    for c in range(centers):
        a, b = f"c{c:04d}a", f"c{c:04d}b"
        split = (("qa", f"{a} >= 1", 0.6), ("qb", f"{b} >= 1", 0.3), ("qs", f"{a} >= 5", 0.1))
        for name, requires, share in split:
            qid = f"c{c:04d}{name}"
            queues.append(
                {
                    "id": qid,
                    "requires": requires,
                    "service_level": {"target": 0.8, "threshold": "20s"},
                    "handle_time": {"dist": "exponential", "mean": f"{handle:g}s"},
                    "patience": {"dist": "exponential", "mean": f"{patience:g}s"},
                }
            )
            per_day = calls * weights[c] * share
            arrivals.append(
                {
                    "queue": qid,
                    "profile": [
                        {"start": f"{8 + h:02d}:00", "rate": round(per_day * profile[h], 4)}
                        for h in range(12)
                    ],
                }
            )
    need = [[calls * weights[c] * p * handle / 3600 for p in profile] for c in range(centers)]
    counts = staff_by_start_hour(need, target_agents)
    agents: list[dict[str, Any]] = []
    for (c, h), n in counts.items():
        if n <= 0:
            continue
        both = n // 2
        for part, m in (("a", n - both), ("ab", both)):
            if m <= 0:
                continue
            skills = {f"c{c:04d}a": rng.randint(3, 10)}
            if part == "ab":
                skills[f"c{c:04d}b"] = rng.randint(1, 10)
            agents.append(
                {
                    "id": f"c{c:04d}h{8 + h:02d}{part}",
                    "count": m,
                    "team": f"c{c:04d}",
                    "skills": skills,
                    "shift": {"start": f"{8 + h:02d}:00", "end": f"{min(20, 8 + h + SHIFT_HOURS):02d}:00"},
                }
            )
    data = {
        "name": f"national day, sector of {centers} centers ({scale:g} scale)",
        "skills": [f"c{c:04d}{k}" for c in range(centers) for k in "ab"],
        "start": "2026-03-03T08:00",
        "duration": "12h",
        "timezone": "Europe/Amsterdam",
        "interval": "15m",
        "seed": seed,
        "drain": "1h",
        "queues": queues,
        "agents": agents,
        "arrivals": arrivals,
    }
    staffed_hours = sum(n * min(SHIFT_HOURS, 12 - h) for (c, h), n in counts.items())
    summary = {
        "agents": sum(counts.values()),
        "queues": len(queues),
        "centers": centers,
        "expected_calls": round(calls),
        "staffed_agent_hours": staffed_hours,
        "offered_erlang_hours": round(calls * handle / 3600),
    }
    return data, summary


def national(scale: float, seed: int, structure: str = "sector") -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    t_build = time.perf_counter()
    data, summary = (sector_scenario if structure == "sector" else national_scenario)(scale)
    scenario = scenario_from_dict(data, source="<national>")
    build_seconds = time.perf_counter() - t_build
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]national day"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f} % of the day"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("run", total=1.0)

        def progress(fraction: float) -> None:
            bar.update(task, completed=fraction)

        wall, cpu = time.perf_counter(), time.process_time()
        result = run_scenario(scenario, seed, progress=progress, detail=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    totals = result.totals
    calls = totals["offered"]
    out: dict[str, Any] = {
        "benchmark": "simulate-national",
        "national_structure": structure,
        "national_scale": scale,
        "national_agents": summary["agents"],
        "national_queues": summary["queues"],
        "national_calls": calls,
        "national_seconds": round(wall, 2),
        "national_cpu_seconds": round(cpu, 2),
        "national_calls_per_second": round(calls / cpu, 1),
        "national_peak_mb": round(peak_mb, 1),
        "national_engine_events": result.events,
        "national_build_seconds": round(build_seconds, 2),
        "national_service_level": totals["service_level"],
        "national_abandon_rate": totals["abandon_rate"],
        "national_asa_seconds": totals["asa_seconds"],
        "national_occupancy": totals["occupancy"],
        "national_open_at_end": result.open_at_end,
        "staffed_agent_hours": summary["staffed_agent_hours"],
        "offered_erlang_hours": summary["offered_erlang_hours"],
        "engine_compiled": _compiled(),
    }
    if scale != 1.0:
        out["extrapolated_full_scale_cpu_seconds_linear"] = round(cpu / scale, 1)
        out["extrapolation_note"] = (
            f"scaled run at {scale:g} of agents and calls; full-scale time extrapolated linearly in "
            "calls (per-call cost assumed constant); memory is not extrapolated"
        )
    return out


def _compiled() -> bool:
    import centrale.core.engine as mod

    return not (mod.__file__ or "").endswith(".py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls-scale",
        type=float,
        default=1.0,
        help="scale the calls: the Erlang A horizon (105 h × scale), or the national day's calls and agents",
    )
    parser.add_argument("--national", action="store_true", help="run the national-scale day (only)")
    parser.add_argument(
        "--structure",
        choices=("sector", "pooled"),
        default="sector",
        help="national day as 2,000 centers with their own queues (sector, default) or as one "
        "multi-skill pool of 500 queues in 50 skill groups (pooled)",
    )
    parser.add_argument("--quick", action="store_true", help="Erlang A over ~11 h (~20,000 calls)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per model; the best CPU time counts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.national:
        print(json.dumps(national(args.calls_scale, args.seed, args.structure), indent=1))
        return
    hours = (11.0 if args.quick else 105.0) * args.calls_scale
    print(json.dumps(compare(hours, args.repeat, args.seed), indent=1))


if __name__ == "__main__":
    main()
