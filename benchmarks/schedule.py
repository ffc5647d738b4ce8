"""Benchmark: schedule 200 agents over one week of 30-minute intervals and 5 queues.

Run with ``python benchmarks/schedule.py [--time-limit 50]``; prints one JSON line. The requirement
follows a two-peaked day (morning and early-afternoon peaks, a quieter evening), weaker on Saturday
and weaker still on Sunday; agents are a realistic mix of single- and multi-skilled full-timers and
part-timers with restricted availability.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import date, datetime, timedelta

from centrale.planning.schedule import make_schedule
from centrale.planning.schedule_input import Agent, Requirement, Rules

FIRST_DAY = date(2026, 3, 2)  # a Monday
QUEUES = ("sales_nl", "sales_en", "service_nl", "service_en", "tech")
# Peak agents per queue on a weekday.
PEAK = {"sales_nl": 32, "sales_en": 12, "service_nl": 38, "service_en": 13, "tech": 18}
DAY_FACTOR = [1.0, 0.95, 0.9, 0.9, 0.85, 0.55, 0.35]


def requirement() -> Requirement:
    """Agents needed per queue and 30-minute interval, 08:00–21:00 every day."""
    values: dict[str, dict[datetime, int]] = {q: {} for q in QUEUES}
    for d in range(7):
        for half_hour in range(16, 42):
            hour = half_hour / 2
            # Two bumps: 10:30 and 14:30, and a floor that keeps the evening staffed.
            shape = 0.35 + 0.65 * max(
                math.exp(-((hour - 10.5) ** 2) / 3.0), 0.85 * math.exp(-((hour - 14.5) ** 2) / 4.0)
            )
            ts = datetime.combine(FIRST_DAY + timedelta(days=d), datetime.min.time()) + timedelta(hours=hour)
            for q in QUEUES:
                values[q][ts] = max(1, round(PEAK[q] * DAY_FACTOR[d] * shape))
    return Requirement(interval=1800, first_day=FIRST_DAY, days=7, queues=QUEUES, values=values)


Avail = dict[int, tuple[tuple[int, int], ...]]


def agents() -> list[Agent]:
    """200 agents in ten profiles (skills × availability × contract)."""
    every_day: Avail = {d: ((7 * 3600, 23 * 3600),) for d in range(7)}
    weekdays: Avail = {d: ((7 * 3600, 23 * 3600),) for d in range(5)}
    days_only: Avail = {d: ((7 * 3600, 17 * 3600),) for d in range(7)}
    evenings_weekend: Avail = {d: ((12 * 3600, 23 * 3600),) for d in range(7)}
    profiles: list[tuple[str, tuple[str, ...], Avail, int, int, int, int]] = [
        # name, queues, availability, count, min h, max h, max shifts
        ("snl-ft", ("sales_nl",), every_day, 34, 32, 40, 5),
        ("snl-pt", ("sales_nl",), days_only, 16, 16, 24, 4),
        ("sbi-ft", ("sales_en", "sales_nl"), every_day, 20, 32, 40, 5),
        ("svnl-ft", ("service_nl",), every_day, 36, 32, 40, 5),
        ("svnl-pt", ("service_nl",), weekdays, 16, 16, 24, 4),
        ("svbi-ft", ("service_en", "service_nl"), every_day, 22, 32, 40, 5),
        ("sven-pt", ("service_en",), evenings_weekend, 8, 12, 24, 4),
        ("tech-ft", ("tech",), every_day, 20, 32, 40, 5),
        ("tech-sv", ("service_nl", "tech"), every_day, 16, 32, 40, 5),
        ("all-pt", QUEUES, evenings_weekend, 12, 12, 24, 4),
    ]
    out: list[Agent] = []
    for name, queues, avail, count, lo, hi, shifts in profiles:
        for k in range(1, count + 1):
            out.append(
                Agent(
                    f"{name}-{k:03d}", queues, {q: 5 for q in queues}, avail, {}, lo * 3600, hi * 3600, shifts
                )
            )
    assert len(out) == 200
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=50.0, help="solver time limit in seconds")
    args = parser.parse_args()
    rules = Rules()  # starts 07:00–14:00 every 30 min, 4/6/8h, 15-min breaks, 30-min lunch, 11h rest
    started = time.perf_counter()
    result = make_schedule(requirement(), agents(), rules, time_limit=args.time_limit)
    seconds = time.perf_counter() - started
    summary = result.summary()
    print(
        json.dumps(
            {
                "benchmark": "schedule",
                "agents": 200,
                "days": 7,
                "queues": len(QUEUES),
                "interval_minutes": 30,
                "seconds": round(seconds, 2),
                "status": result.status,
                "paid_hours": summary["paid_hours"],
                "coverage_gap_agent_hours": summary["coverage_gap_agent_hours"],
                "required_agent_hours": round(
                    sum(sum(v) for v in result.required.values()) * result.slot / 3600, 1
                ),
                "shifts": summary["shifts"],
                "warnings": len(result.warnings),
            }
        )
    )


if __name__ == "__main__":
    main()
