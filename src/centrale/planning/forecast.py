"""Forecasting offered contacts per queue and interval from history.

Per queue the forecast is a daily level times an intraday profile:

    E[offered(day, interval)] = level(day) · share(day type, interval)
    log level(day) = weekday(day type) + trend · weeks + holiday      (Poisson GLM, statsmodels)

* ``level`` is a Poisson regression (generalized linear model, log link) of daily totals on the
  day of the week, a log-linear weekly trend and a holiday effect;
* ``share`` is each interval's share of its day type's volume in training — a profile per weekday,
  so Monday mornings may differ from Friday mornings. Under the multiplicative Poisson model
  ``day type × interval`` this is the maximum-likelihood estimate, without fitting hundreds of
  interval coefficients in one regression.
* a public holiday (from the ``holidays`` package) is a *Sunday* — Sunday level and profile — plus
  one holiday effect on the level when the training history contains holidays to estimate it from.

Day types and intervals that never saw a contact in training are forecast as zero (a closed
center). Intervals absent from the history file count as zero offered.
Accuracy is measured on a holdout (the last days of history) against a seasonal-naive baseline.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import numpy as np
import numpy.typing as npt
import statsmodels.api as sm

Array = npt.NDArray[np.float64]

MIN_TRAINING_DAYS = 14


class ForecastInputError(ValueError):
    """History or options that cannot be used, with a message fit for a person."""


@dataclass
class QueueHistory:
    """One queue's history on a complete grid of dates × observed intervals of the day."""

    queue: str
    slots: list[int]  # seconds since midnight of the intervals seen in the history
    times: list[datetime]
    offered: Array
    aht: Array | None  # NaN where unknown


@dataclass
class History:
    """A validated history file."""

    interval: int
    queues: dict[str, QueueHistory]
    has_aht: bool
    first_day: date
    last_day: date


@dataclass
class Accuracy:
    """Holdout accuracy of the model and of the seasonal-naive baseline."""

    wape: float
    mape: float
    naive_wape: float
    naive_mape: float
    intervals: int


@dataclass
class QueueForecast:
    """Holdout and horizon forecasts of one queue."""

    queue: str
    holdout_times: list[datetime]
    holdout_actual: Array
    holdout_forecast: Array
    holdout_naive: Array
    times: list[datetime]
    forecast: Array
    aht: Array | None
    accuracy: Accuracy
    train_times: list[datetime] = field(default_factory=list)
    train_actual: Array = field(default_factory=lambda: np.zeros(0))


@dataclass
class ForecastResult:
    """Forecasts of all queues and the overall holdout accuracy."""

    interval: int
    queues: list[QueueForecast]
    overall: Accuracy
    has_aht: bool

    def summary(self) -> dict[str, object]:
        """Accuracy figures, ready for JSON."""

        def acc(a: Accuracy) -> dict[str, float | int]:
            return {
                "wape": round(a.wape, 4),
                "mape": round(a.mape, 4),
                "naive_wape": round(a.naive_wape, 4),
                "naive_mape": round(a.naive_mape, 4),
                "intervals": a.intervals,
            }

        return {
            "interval_minutes": self.interval // 60,
            "overall": acc(self.overall),
            "queues": {q.queue: acc(q.accuracy) for q in self.queues},
        }


# ---------------------------------------------------------------------------------------------
# Accuracy measures


def wape(actual: Sequence[float] | Array, forecast: Sequence[float] | Array) -> float:
    """Weighted absolute percentage error: Σ|forecast − actual| / Σ actual (NaN if no volume)."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    total = float(a.sum())
    return float(np.abs(f - a).sum() / total) if total > 0 else math.nan


def mape(actual: Sequence[float] | Array, forecast: Sequence[float] | Array) -> float:
    """Mean absolute percentage error over the intervals with actual volume > 0."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    mask = a > 0
    return float(np.mean(np.abs(f[mask] - a[mask]) / a[mask])) if mask.any() else math.nan


# ---------------------------------------------------------------------------------------------
# Reading


def _field(row: Mapping[str, str | None], name: str) -> str:
    return (row.get(name) or "").strip()


def read_history(path: Path) -> History:
    """Read and validate a history CSV (``interval_start,queue,offered[,aht_seconds]``)."""
    name = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ForecastInputError(f"{name}: cannot read the file ({exc.strerror})") from None
    raw: dict[str, dict[datetime, tuple[float, float]]] = {}
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        if not header:
            raise ForecastInputError(f"{name}: the file is empty")
        missing = [c for c in ("interval_start", "queue", "offered") if c not in header]
        if missing:
            raise ForecastInputError(
                f"{name}: missing column(s) {', '.join(missing)}; found {', '.join(header)}"
            )
        has_aht = "aht_seconds" in header
        for row in reader:
            where = f"{name}, line {reader.line_num}"
            if None in row or any(row.get(c) is None for c in header):
                raise ForecastInputError(f"{where}: expected {len(header)} fields")
            try:
                ts = datetime.fromisoformat(_field(row, "interval_start")).replace(tzinfo=None)
            except ValueError:
                raise ForecastInputError(
                    f"{where}: interval_start {_field(row, 'interval_start')!r} is not an ISO date-time"
                ) from None
            queue = _field(row, "queue")
            if not queue:
                raise ForecastInputError(f"{where}: the queue is empty")
            offered = _number(_field(row, "offered"), "offered", where)
            aht = math.nan
            if has_aht and _field(row, "aht_seconds"):
                aht = _number(_field(row, "aht_seconds"), "aht_seconds", where)
            per_queue = raw.setdefault(queue, {})
            if ts in per_queue:
                raise ForecastInputError(f"{where}: a second row for queue {queue!r} at {ts.isoformat()}")
            per_queue[ts] = (offered, aht)
    if not raw:
        raise ForecastInputError(f"{name}: no rows after the header")
    stamps = sorted({ts for per in raw.values() for ts in per})
    steps = {int((b - a).total_seconds()) for a, b in itertools.pairwise(stamps)}
    interval = min((s for s in steps if s > 0), default=3600)
    if 86400 % interval:
        raise ForecastInputError(f"{name}: intervals of {interval} s do not divide a day")
    first, last = stamps[0].date(), stamps[-1].date()
    days = (last - first).days + 1
    queues: dict[str, QueueHistory] = {}
    for queue, per in sorted(raw.items()):
        slots = sorted({ts.hour * 3600 + ts.minute * 60 + ts.second for ts in per})
        bad = next((s for s in slots if s % interval), None)
        if bad is not None:
            raise ForecastInputError(
                f"{name}: queue {queue!r} has an interval starting at "
                f"{bad // 3600:02d}:{bad % 3600 // 60:02d}, "
                f"off the {interval // 60}-minute grid"
            )
        times = [
            datetime.combine(first + timedelta(days=d), datetime.min.time()) + timedelta(seconds=s)
            for d in range(days)
            for s in slots
        ]
        volumes = np.array([per.get(t, (0.0, math.nan))[0] for t in times], dtype=float)
        handle_times = (
            np.array([per.get(t, (0.0, math.nan))[1] for t in times], dtype=float) if has_aht else None
        )
        queues[queue] = QueueHistory(queue, slots, times, volumes, handle_times)
    return History(interval, queues, has_aht, first, last)


def _number(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ForecastInputError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ForecastInputError(f"{where}: {what} {text!r} is not a finite number")
    if value < 0:
        raise ForecastInputError(f"{where}: {what} cannot be negative ({text})")
    return value


def holiday_calendar(country: str | None, years: Iterable[int]) -> set[date]:
    """Public holidays of ``country`` (ISO code such as ``NL``) in ``years``; none for ``None``."""
    if country is None:
        return set()
    try:
        cal = holidays.country_holidays(country.upper(), years=sorted(set(years)))
    except NotImplementedError:
        raise ForecastInputError(
            f"--country {country!r}: no holiday calendar for this country (use an ISO code such as NL)"
        ) from None
    return set(cal.keys())


# ---------------------------------------------------------------------------------------------
# Model


def _day_type(day: date, hols: set[date]) -> int:
    """0–6 for Monday–Sunday; a holiday behaves like a Sunday."""
    return 6 if day in hols else day.weekday()


class _PoissonModel:
    """The seasonal model of one queue (see the module docstring)."""

    def __init__(self, slots: Sequence[int], hols: set[date], origin: date) -> None:
        self._slots = list(slots)
        self._hols = hols
        self._origin = origin
        self._types: list[int] = []  # day types with volume in training, in column order
        self._holiday = False
        self._params: Array = np.zeros(0)
        self._share: dict[tuple[int, int], float] = {}

    def _design(self, days: Sequence[date]) -> Array:
        width = len(self._types) + 1 + (1 if self._holiday else 0)
        x = np.zeros((len(days), width))
        col = {dt: i for i, dt in enumerate(self._types)}
        for i, day in enumerate(days):
            c = col.get(_day_type(day, self._hols))
            if c is None:
                continue
            x[i, c] = 1.0
            x[i, len(self._types)] = (day - self._origin).days / 7.0
            if self._holiday and day in self._hols:
                x[i, len(self._types) + 1] = 1.0
        return x

    def fit(self, times: Sequence[datetime], y: Array) -> None:
        daily: dict[date, float] = {}
        cells: dict[tuple[int, int], float] = {}
        for t, v in zip(times, y, strict=True):
            daily[t.date()] = daily.get(t.date(), 0.0) + float(v)
            key = (_day_type(t.date(), self._hols), t.hour * 3600 + t.minute * 60 + t.second)
            cells[key] = cells.get(key, 0.0) + float(v)
        per_type: dict[int, float] = {}
        for (dt, _), v in cells.items():
            per_type[dt] = per_type.get(dt, 0.0) + v
        # Intraday profile: each interval's share of its day type's volume (the maximum-likelihood
        # estimate under the multiplicative Poisson model); zero for intervals that never saw volume.
        self._share = {k: v / per_type[k[0]] for k, v in cells.items() if per_type[k[0]] > 0}
        # Day types without volume (a closed Sunday) are forecast as zero, not fitted (→ −∞).
        self._types = sorted(dt for dt, v in per_type.items() if v > 0)
        days = sorted(daily)
        self._holiday = any(d in self._hols and daily[d] > 0 for d in days)
        if not self._types:
            return
        known = [d for d in days if _day_type(d, self._hols) in self._types]
        totals = np.array([daily[d] for d in known])
        model = sm.GLM(totals, self._design(known), family=sm.families.Poisson())
        self._params = np.asarray(model.fit().params, dtype=float)

    def predict(self, times: Sequence[datetime]) -> Array:
        if not self._types:
            return np.zeros(len(times))
        days = sorted({t.date() for t in times})
        x = self._design(days)
        known = x[:, : len(self._types)].sum(axis=1) > 0
        level = np.where(known, np.exp(np.clip(x @ self._params, -50.0, 50.0)), 0.0)
        by_day = dict(zip(days, level, strict=True))
        out = np.array(
            [
                by_day[t.date()]
                * self._share.get(
                    (_day_type(t.date(), self._hols), t.hour * 3600 + t.minute * 60 + t.second), 0.0
                )
                for t in times
            ]
        )
        return np.asarray(out, dtype=float)


def seasonal_naive(train_times: Sequence[datetime], train: Array, targets: Sequence[datetime]) -> Array:
    """The value of the same interval in the last week before the targets (repeated weekly).

    A holdout longer than a week repeats the last training week, so the baseline uses exactly the
    information the model had — nothing from inside the holdout.
    """
    value = {t: float(v) for t, v in zip(train_times, train, strict=True)}
    last = max(train_times)
    out = np.zeros(len(targets))
    for i, t in enumerate(targets):
        weeks = max(math.ceil((t - last).total_seconds() / (7 * 86400)), 1)
        out[i] = value.get(t - timedelta(days=7 * weeks), 0.0)
    return out


def _aht_profile(
    times: Sequence[datetime], offered: Array, aht: Array, hols: set[date]
) -> Callable[[datetime], float]:
    """Offered-weighted mean AHT per (day type, interval), then per interval, then overall."""
    by_cell: dict[tuple[int, int], list[float]] = {}
    by_slot: dict[int, list[float]] = {}
    total = [0.0, 0.0]
    for t, n, a in zip(times, offered, aht, strict=True):
        if not math.isfinite(a):
            continue
        w = max(float(n), 1e-6)
        sec = t.hour * 3600 + t.minute * 60
        for acc in (
            by_cell.setdefault((_day_type(t.date(), hols), sec), [0.0, 0.0]),
            by_slot.setdefault(sec, [0.0, 0.0]),
            total,
        ):
            acc[0] += w * float(a)
            acc[1] += w
    overall = total[0] / total[1] if total[1] > 0 else math.nan

    def at(t: datetime) -> float:
        sec = t.hour * 3600 + t.minute * 60
        for acc in (by_cell.get((_day_type(t.date(), hols), sec)), by_slot.get(sec)):
            if acc and acc[1] > 0:
                return acc[0] / acc[1]
        return overall

    return at


def run_forecast(
    history: History,
    *,
    horizon_days: int,
    holdout_days: int,
    country: str | None,
    on_queue: Callable[[str], None] | None = None,
) -> ForecastResult:
    """Evaluate on the holdout, then refit on all history and forecast ``horizon_days`` ahead."""
    if horizon_days < 1:
        raise ForecastInputError("--horizon must be at least one day")
    days = (history.last_day - history.first_day).days + 1
    if holdout_days < 1:
        raise ForecastInputError("--holdout must be at least one day")
    if days - holdout_days < MIN_TRAINING_DAYS:
        raise ForecastInputError(
            f"the history covers {days} day(s); a {holdout_days}-day holdout leaves {days - holdout_days}, "
            f"but the model needs at least {MIN_TRAINING_DAYS} days to train on "
            f"(give more history or a shorter --holdout)"
        )
    cutoff = history.last_day - timedelta(days=holdout_days - 1)
    end = history.last_day + timedelta(days=horizon_days)
    hols = holiday_calendar(country, range(history.first_day.year, end.year + 1))
    results: list[QueueForecast] = []
    for qh in history.queues.values():
        if on_queue is not None:
            on_queue(qh.queue)
        is_train = np.array([t.date() < cutoff for t in qh.times])
        train_t = [t for t, k in zip(qh.times, is_train, strict=True) if k]
        test_t = [t for t, k in zip(qh.times, is_train, strict=True) if not k]
        y_train, y_test = qh.offered[is_train], qh.offered[~is_train]
        model = _PoissonModel(qh.slots, hols, history.first_day)
        model.fit(train_t, y_train)
        holdout_fc = model.predict(test_t)
        naive = seasonal_naive(train_t, y_train, test_t)

        full = _PoissonModel(qh.slots, hols, history.first_day)
        full.fit(qh.times, qh.offered)
        future = [
            datetime.combine(history.last_day + timedelta(days=d), datetime.min.time()) + timedelta(seconds=s)
            for d in range(1, horizon_days + 1)
            for s in qh.slots
        ]
        forecast = full.predict(future)
        aht = None
        if qh.aht is not None:
            profile = _aht_profile(qh.times, qh.offered, qh.aht, hols)
            aht = np.array([profile(t) for t in future])
        acc = Accuracy(
            wape(y_test, holdout_fc),
            mape(y_test, holdout_fc),
            wape(y_test, naive),
            mape(y_test, naive),
            len(test_t),
        )
        tail = [i for i, t in enumerate(train_t) if t.date() >= cutoff - timedelta(days=14)]
        results.append(
            QueueForecast(
                qh.queue,
                test_t,
                y_test,
                holdout_fc,
                naive,
                future,
                forecast,
                aht,
                acc,
                [train_t[i] for i in tail],
                y_train[tail],
            )
        )
    actual = np.concatenate([r.holdout_actual for r in results])
    fc = np.concatenate([r.holdout_forecast for r in results])
    nv = np.concatenate([r.holdout_naive for r in results])
    overall = Accuracy(wape(actual, fc), mape(actual, fc), wape(actual, nv), mape(actual, nv), len(actual))
    return ForecastResult(history.interval, results, overall, history.has_aht)


# ---------------------------------------------------------------------------------------------
# Writing


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M")


def write_forecast(result: ForecastResult, path: Path) -> None:
    """``interval_start,queue,forecast_offered[,forecast_aht_seconds]``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(
            ["interval_start", "queue", "forecast_offered"]
            + (["forecast_aht_seconds"] if result.has_aht else [])
        )
        for q in result.queues:
            for i, t in enumerate(q.times):
                row = [_stamp(t), q.queue, f"{q.forecast[i]:.3f}"]
                if q.aht is not None:
                    row.append("" if not math.isfinite(q.aht[i]) else f"{q.aht[i]:.1f}")
                w.writerow(row)


def write_profile(result: ForecastResult, path: Path, default_aht: float | None) -> None:
    """``interval_start,queue,offered,aht_seconds`` — the profile ``centrale plan staff`` reads."""
    if not result.has_aht and default_aht is None:
        raise ForecastInputError(
            "--profile-out needs handle times: the history has no aht_seconds; pass --aht"
        )
    with path.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["interval_start", "queue", "offered", "aht_seconds"])
        for q in result.queues:
            for i, t in enumerate(q.times):
                aht = q.aht[i] if q.aht is not None and math.isfinite(q.aht[i]) else default_aht
                if aht is None:
                    raise ForecastInputError(
                        f"no handle time known for queue {q.queue!r} at {_stamp(t)}; pass --aht"
                    )
                w.writerow([_stamp(t), q.queue, f"{q.forecast[i]:.3f}", f"{aht:.1f}"])


def plot(result: ForecastResult, path: Path) -> None:
    """Per queue: recent history, holdout actual vs forecast vs seasonal naive, and the horizon."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(result.queues), 1, figsize=(14, 3.2 * len(result.queues)), squeeze=False)
    for ax, q in zip(axes[:, 0], result.queues, strict=True):
        ax.plot(q.train_times, q.train_actual, color="0.6", lw=0.8, label="history")
        ax.plot(q.holdout_times, q.holdout_actual, color="black", lw=0.8, label="actual (holdout)")
        ax.plot(q.holdout_times, q.holdout_naive, color="tab:orange", lw=0.8, ls="--", label="seasonal naive")
        ax.plot(q.holdout_times, q.holdout_forecast, color="tab:blue", lw=1.0, label="forecast")
        ax.plot(q.times, q.forecast, color="tab:green", lw=1.0, label="forecast (horizon)")
        a = q.accuracy
        ax.set_title(
            f"{q.queue} — holdout WAPE {a.wape:.1%} (naive {a.naive_wape:.1%}), "
            f"MAPE {a.mape:.1%} (naive {a.naive_mape:.1%})"
        )
        ax.set_ylabel("offered per interval")
        ax.legend(loc="upper left", fontsize=8, ncol=5)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
