"""Benchmark: pacing policies on a simulated outbound campaign (the real engine on a virtual clock).

For 5, 20 and 100 agents × live-answer rate 15 % and 30 % × mean talk 120 s and 300 s (log-normal,
CV 1), wrap-up 15 s, ring time-out 25 s, 8 simulated hours, it runs each policy — progressive,
ratio (2 lines per free agent), the VICIdial-style adaptive baseline and the model-based
predictive policy — over ``--seeds`` seeds and prints one JSON document::

    {"benchmark": "dialer", "results": [{"policy", "agents", "answer_rate", "talk_seconds",
      "talk_minutes_per_agent_hour", "abandon_rate_overall", "abandon_rate_worst_window",
      "abandon_rate_worst_window_max", "abandon_rate_worst_prefix_max", "contacts_per_hour",
      "dials_per_hour", "seeds", ...}]}

Values are means over seeds; ``abandon_rate_overall_max``, ``abandon_rate_worst_window_max`` and
``abandon_rate_worst_prefix_max`` are the maxima over seeds of a run's overall rate (the UK
measure for a shift inside one 24-hour window), of its worst sliding 1-hour window and of its
worst prefix (every 24-hour window ending inside a shift with no dialling the day before).
``--quick`` runs a reduced set (20 agents,
1 hour, 2 seeds) in well under a minute. Run it as
``python benchmarks/dialer.py [--quick] [--seeds 5] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from multiprocessing import Pool
from typing import Any

from centrale.outbound.dialer_sim import CampaignSpec, run_campaign, talk_distribution
from centrale.outbound.pacing import (
    FixedRatio,
    PacingPolicy,
    Predictive,
    PredictiveSettings,
    Progressive,
    VicidialStyle,
)

POLICIES = ("progressive", "ratio", "vicidial", "predictive")


def make_policy(name: str, talk: float, hours: float) -> PacingPolicy:
    if name == "progressive":
        return Progressive()
    if name == "ratio":
        return FixedRatio(2.0)
    if name == "vicidial":
        return VicidialStyle(shift_seconds=hours * 3600.0)
    # The talk-time prior is what a campaign manager would enter; the policy learns the rest.
    return Predictive(PredictiveSettings(talk_prior=talk))


def run_one(job: tuple[str, int, float, float, float, int]) -> dict[str, Any]:
    policy, agents, rate, talk, hours, seed = job
    spec = CampaignSpec(agents=agents, live_rate=rate, talk=talk_distribution(talk), duration=hours * 3600.0)
    result = run_campaign(spec, make_policy(policy, talk, hours), seed)
    out = result.summary()
    out["policy"] = policy
    return out


def run_all(jobs: list[Any], workers: int, label: str, fn: Any = None) -> list[dict[str, Any]]:
    """Run the jobs (on ``workers`` processes) with a progress bar on stderr; results in job order."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    fn = fn or run_one
    out: list[dict[str, Any]] = [{} for _ in jobs]
    columns = (
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("runs", total=len(jobs))
        if workers > 1 and len(jobs) > 1:
            with Pool(workers) as pool:
                for i, run in pool.imap_unordered(_indexed, [(fn, i, j) for i, j in enumerate(jobs)]):
                    out[i] = run
                    bar.advance(task)
        else:
            for i, job in enumerate(jobs):
                out[i] = fn(job)
                bar.advance(task)
    return out


def _indexed(item: tuple[Any, int, Any]) -> tuple[int, dict[str, Any]]:
    fn, i, job = item
    return i, fn(job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hours", type=float, default=None, help="simulated hours (default 8)")
    args = parser.parse_args()
    if (
        (args.hours is not None and args.hours <= 0)
        or (args.seeds is not None and args.seeds < 1)
        or args.workers < 1
    ):
        parser.error("--hours must be positive, --seeds and --workers at least 1")
    agents: tuple[int, ...]
    rates: tuple[float, ...]
    talks: tuple[float, ...]
    if args.quick:
        agents, rates, talks, hours, seeds = (20,), (0.15,), (120.0,), 1.0, args.seeds or 2
    else:
        agents, rates, talks, seeds = (5, 20, 100), (0.15, 0.30), (120.0, 300.0), args.seeds or 5
        hours = args.hours or 8.0
    jobs = [
        (p, a, r, t, hours, s)
        for a, r, t, p, s in itertools.product(agents, rates, talks, POLICIES, range(seeds))
    ]
    # The big campaigns first, so the two workers finish together.
    jobs.sort(key=lambda j: -j[1])
    started, cpu0 = time.perf_counter(), time.process_time()
    runs = run_all(jobs, args.workers, "dialer runs")
    groups: dict[tuple[str, int, float, float], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(
            (run["policy"], run["agents"], run["answer_rate"], run["talk_mean_seconds"]), []
        ).append(run)
    results = []
    for (policy, a, r, t), rows in sorted(
        groups.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][3], POLICIES.index(kv[0][0]))
    ):
        n = len(rows)

        def mean(key: str, rows: list[dict[str, Any]] = rows, n: int = n) -> float:
            return sum(float(x[key]) for x in rows) / n

        results.append(
            {
                "policy": policy,
                "agents": a,
                "answer_rate": r,
                "talk_seconds": t,
                "talk_minutes_per_agent_hour": round(mean("talk_minutes_per_agent_hour"), 2),
                "abandon_rate_overall": round(mean("abandon_rate"), 4),
                "abandon_rate_overall_max": round(max(x["abandon_rate"] for x in rows), 4),
                "abandon_rate_worst_window": round(mean("worst_window_rate"), 4),
                "abandon_rate_worst_window_max": round(max(x["worst_window_rate"] for x in rows), 4),
                "abandon_rate_worst_prefix_max": round(max(x["worst_prefix_rate"] for x in rows), 4),
                "contacts_per_hour": round(mean("contacts_per_hour"), 1),
                "dials_per_hour": round(mean("dials") / hours, 1),
                "information_messages_equal_abandons": all(
                    x["information_messages"] == x["abandoned"] for x in rows
                ),
                "cpu_seconds_per_run": round(mean("cpu_seconds"), 2),
                "seeds": n,
            }
        )
    doc = {
        "benchmark": "dialer",
        "command": " ".join(["python", "benchmarks/dialer.py", *sys.argv[1:]]),
        "hours": hours,
        "window_seconds": 3600,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds_parent": round(time.process_time() - cpu0, 1),
        "cpu_seconds_runs": round(sum(float(x["cpu_seconds"]) for x in runs), 1),
        "results": results,
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
