"""Benchmark: the talk time a pacing policy can buy with abandoned calls — the frontier.

``benchmarks/dialer.py`` compares policies as they are tuned. This one asks what *any* setting of
them reaches: for each campaign it sweeps the model-based policy's safety factor ``z`` held fixed
(no feedback, no margin fallback, no guard) and fixed dial ratios, records talk minutes per
agent-hour against the abandon rate of each run, and reports the most talk any of them reached at
≤ 3 % abandoned — next to progressive dialling, 1.3 × progressive and the ceiling
``talk / (talk + wrap-up)`` that no policy can pass (every conversation is followed by its
wrap-up). It prints one JSON document::

    {"benchmark": "dialer-frontier", "campaigns": [{"agents", "answer_rate", "talk_seconds",
      "progressive", "target_1_3x", "ceiling", "best_at_cap", "points": [{"policy", "setting",
      "talk_minutes_per_agent_hour", "abandon_rate"}]}]}

and, with ``--plot FILE``, draws one panel per campaign (abandon rate against talk time).
Run it as ``python benchmarks/dialer_frontier.py [--quick] [--hours 4] [--seeds 1] [--plot FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from dialer import run_all

from centrale.outbound.dialer_sim import CampaignSpec, run_campaign, talk_distribution
from centrale.outbound.pacing import FixedRatio, PacingPolicy, Predictive, PredictiveSettings, Progressive

CAMPAIGNS = ((20, 0.15, 300.0), (20, 0.30, 120.0), (20, 0.30, 300.0), (100, 0.15, 300.0), (100, 0.30, 300.0))
Z_VALUES = (-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
RATIOS = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
CAP = 0.03
WRAP = 15.0


def make_policy(kind: str, setting: float, talk: float) -> PacingPolicy:
    if kind == "progressive":
        return Progressive()
    if kind == "ratio":
        return FixedRatio(setting)
    fixed = PredictiveSettings(
        talk_prior=talk,
        z_start=setting,
        z_min=min(-0.5, setting),
        kp=0.0,
        ki=0.0,
        min_margin=-1e9,
        guard_span=0.0,
    )
    return Predictive(fixed)


def run_one(job: tuple[int, float, float, str, float, float, int]) -> dict[str, Any]:
    agents, rate, talk, kind, setting, hours, seed = job
    spec = CampaignSpec(agents=agents, live_rate=rate, talk=talk_distribution(talk), duration=hours * 3600.0)
    result = run_campaign(spec, make_policy(kind, setting, talk), seed)
    return {
        "campaign": (agents, rate, talk),
        "policy": kind,
        "setting": setting,
        "talk": result.talk_minutes_per_agent_hour,
        "abandon": result.abandon_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=4.0, help="simulated hours per run (default 4)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--plot", metavar="FILE", help="draw the frontiers into this PNG")
    parser.add_argument("--quick", action="store_true", help="20 agents, 15 %%, 300 s, 1 hour, 5 settings")
    args = parser.parse_args()
    if args.hours <= 0 or args.seeds < 1 or args.workers < 1:
        parser.error("--hours must be positive, --seeds and --workers at least 1")
    campaign_list, z_values, ratios = CAMPAIGNS, Z_VALUES, RATIOS
    if args.quick:
        campaign_list, z_values, ratios, args.hours = CAMPAIGNS[:1], (1.0, 2.0, 3.0), (3.0,), 1.0
    settings = [("progressive", 0.0)] + [("fixed_z", z) for z in z_values] + [("ratio", r) for r in ratios]
    jobs = [
        (a, r, t, kind, value, args.hours, seed)
        for a, r, t in campaign_list
        for kind, value in settings
        for seed in range(args.seeds)
    ]
    jobs.sort(key=lambda j: -j[0])  # the big campaigns first, so the workers finish together
    started = time.perf_counter()
    runs = run_all(jobs, args.workers, "frontier runs", run_one)
    campaigns = []
    for a, r, t in campaign_list:
        points = []
        for kind, value in settings:
            rows = [
                x
                for x in runs
                if x["campaign"] == (a, r, t) and x["policy"] == kind and x["setting"] == value
            ]
            points.append(
                {
                    "policy": kind,
                    "setting": value,
                    "talk_minutes_per_agent_hour": round(sum(x["talk"] for x in rows) / len(rows), 2),
                    "abandon_rate": round(sum(x["abandon"] for x in rows) / len(rows), 4),
                }
            )
        progressive = points[0]["talk_minutes_per_agent_hour"]
        within = [p["talk_minutes_per_agent_hour"] for p in points if p["abandon_rate"] <= CAP]
        campaigns.append(
            {
                "agents": a,
                "answer_rate": r,
                "talk_seconds": t,
                "progressive": progressive,
                "target_1_3x": round(1.3 * progressive, 2),
                "ceiling": round(60.0 * t / (t + WRAP), 2),
                "best_at_cap": max(within),
                "points": points,
            }
        )
    doc = {
        "benchmark": "dialer-frontier",
        "command": " ".join(["python", "benchmarks/dialer_frontier.py", *sys.argv[1:]]),
        "hours": args.hours,
        "seeds": args.seeds,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "campaigns": campaigns,
    }
    if args.plot:
        plot(campaigns, args.plot)
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


def plot(campaigns: list[dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(campaigns))
    rows = -(-len(campaigns) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.0 * rows), squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[len(campaigns) :]:
        ax.set_visible(False)
    for ax, c in zip(axes, campaigns, strict=False):
        for kind, style in (("fixed_z", "o-"), ("ratio", "s--")):
            pts = sorted(
                (p["abandon_rate"] * 100, p["talk_minutes_per_agent_hour"])
                for p in c["points"]
                if p["policy"] == kind
            )
            ax.plot(
                [x for x, _ in pts],
                [y for _, y in pts],
                style,
                ms=4,
                label="predictive, fixed z" if kind == "fixed_z" else "fixed ratio",
            )
        ax.axhline(c["progressive"], color="grey", lw=1, label="progressive")
        ax.axhline(c["target_1_3x"], color="tab:red", lw=1, ls=":", label="1.3 × progressive")
        ax.axhline(c["ceiling"], color="black", lw=1, ls="-.", label="ceiling talk/(talk+wrap)")
        ax.axvline(CAP * 100, color="tab:green", lw=1, label="3 % cap")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, 100)
        ax.set_title(
            f"{c['agents']} agents, {c['answer_rate']:.0%} live, {c['talk_seconds']:.0f} s talk", fontsize=9
        )
        ax.set_xlabel("abandoned, % of live calls")
    for row in grid:
        row[0].set_ylabel("talk minutes per agent-hour")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
