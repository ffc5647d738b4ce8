"""Benchmark: staff a week of 15-minute intervals for 50 queues (7 × 96 × 50 = 33,600 rows).

Writes a synthetic profile to a temporary CSV, then times reading it and staffing every row to 80/20 with
Erlang C (or Erlang A with ``--model a``), and prints one JSON line::

    {"benchmark": "staffing", "intervals": 33600, "seconds": 1.2, ...}

Run it with ``python benchmarks/staffing.py``; the target is ≤ 5 s for Erlang C.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from centrale.planning.staffing import Targets, read_profile, staff_profile

DAYS, INTERVALS_PER_DAY, QUEUES = 7, 96, 50


def write_profile(path: Path, seed: int = 7) -> int:
    """A plausible week: a two-peak day shape, quieter weekends, per-queue sizes, Poisson noise."""
    rng = np.random.default_rng(seed)
    start = datetime(2025, 3, 3)
    hours = np.arange(INTERVALS_PER_DAY) / 4.0
    shape = 0.05 + np.exp(-(((hours - 10.5) / 1.8) ** 2)) + 0.75 * np.exp(-(((hours - 15.0) / 2.0) ** 2))
    sizes = rng.lognormal(mean=math.log(40.0), sigma=0.8, size=QUEUES)  # calls per peak interval
    ahts = rng.integers(120, 600, size=QUEUES)
    rows = ["interval_start,queue,offered,aht_seconds"]
    for day in range(DAYS):
        weekday_factor = 0.6 if day >= 5 else 1.0
        for i in range(INTERVALS_PER_DAY):
            when = (start + timedelta(days=day, minutes=15 * i)).isoformat()
            volumes = rng.poisson(sizes * shape[i] * weekday_factor)
            for q in range(QUEUES):
                rows.append(f"{when},queue-{q:02d},{volumes[q]},{ahts[q]}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(rows) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["c", "a"], default="c")
    args = parser.parse_args()
    targets = Targets(
        threshold_seconds=20.0,
        service_level=0.8,
        patience_seconds=120.0 if args.model == "a" else None,
        shrinkage=0.3,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.csv"
        rows = write_profile(path)
        t0 = time.perf_counter()
        profile = read_profile(path)
        t1 = time.perf_counter()
        requirements = staff_profile(profile, targets)
        t2 = time.perf_counter()
    result = {
        "benchmark": "staffing",
        "model": targets.model,
        "intervals": rows,
        "seconds": round(t2 - t0, 3),
        "read_seconds": round(t1 - t0, 3),
        "staff_seconds": round(t2 - t1, 3),
        "distinct_computations": len({(r.offered, r.aht_seconds) for r in requirements}),
        "peak_agents": max(r.agents for r in requirements),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
