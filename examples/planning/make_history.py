"""Generate ``history.csv``: ten weeks of synthetic contact history for two queues.

Volumes are Poisson draws around a known pattern — a two-peaked day, weekdays busier than
Saturday and Sunday, a slow upward trend — and Dutch public holidays behave like a quiet Sunday.
The seed is fixed, so the file is reproducible: ``python examples/planning/make_history.py``.
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import numpy as np

FIRST_DAY = date(2026, 3, 2)  # a Monday
WEEKS = 10
INTERVAL_MINUTES = 15
OPEN, CLOSE = 8, 21  # opening hours
QUEUES = {"sales": 40.0, "service": 60.0}  # mean contacts in a peak interval on a Monday
AHT = {"sales": 300.0, "service": 240.0}
DAY_FACTOR = [1.15, 1.05, 1.0, 1.0, 0.95, 0.55, 0.3]


def intraday(hour: float) -> float:
    """Morning peak at 10:00, a smaller one at 14:30 and a quiet evening."""
    return 0.25 + 0.75 * max(
        math.exp(-((hour - 10.0) ** 2) / 2.5), 0.8 * math.exp(-((hour - 14.5) ** 2) / 3.0)
    )


def main() -> None:
    rng = np.random.default_rng(20260302)
    hols = holidays.country_holidays("NL", years=[FIRST_DAY.year])
    out = Path(__file__).with_name("history.csv")
    with out.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["interval_start", "queue", "offered", "aht_seconds"])
        for d in range(WEEKS * 7):
            day = FIRST_DAY + timedelta(days=d)
            factor = 0.8 * DAY_FACTOR[6] if day in hols else DAY_FACTOR[day.weekday()]
            trend = 1.0 + 0.004 * d
            for k in range((CLOSE - OPEN) * 60 // INTERVAL_MINUTES):
                start = datetime.combine(day, datetime.min.time()) + timedelta(
                    hours=OPEN, minutes=k * INTERVAL_MINUTES
                )
                hour = start.hour + start.minute / 60
                for queue, peak in QUEUES.items():
                    offered = int(rng.poisson(peak * factor * trend * intraday(hour)))
                    # Handle time is a little longer in the evening, with noise around the mean.
                    aht = AHT[queue] * (1.0 + 0.1 * (hour > 18)) * float(rng.normal(1.0, 0.05))
                    w.writerow([start.strftime("%Y-%m-%dT%H:%M"), queue, offered, f"{aht:.1f}"])


if __name__ == "__main__":
    main()
