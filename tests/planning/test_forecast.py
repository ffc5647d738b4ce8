"""Forecasting: accuracy measures, seasonality, holidays and the seasonal-naive baseline."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from centrale.planning.forecast import (
    ForecastInputError,
    mape,
    read_history,
    run_forecast,
    seasonal_naive,
    wape,
)

MONDAY = date(2026, 3, 2)
WEEKDAY_LEVEL = [100.0, 90.0, 85.0, 85.0, 80.0, 40.0, 20.0]


def intraday(hour: int) -> float:
    return 0.3 + math.exp(-((hour - 11) ** 2) / 6.0)


def write_history(
    path: Path,
    days: int,
    *,
    seed: int = 1,
    holiday_factor: float | None = None,
    first: date = MONDAY,
    closed_sunday: bool = False,
) -> None:
    """Hourly history 08:00–19:00 with a known weekly and intraday pattern (Poisson noise)."""
    import holidays as hol

    rng = np.random.default_rng(seed)
    nl = hol.country_holidays("NL", years=[first.year])
    lines = ["interval_start,queue,offered"]
    for d in range(days):
        day = first + timedelta(days=d)
        level = WEEKDAY_LEVEL[day.weekday()]
        if holiday_factor is not None and day in nl:
            level = WEEKDAY_LEVEL[6] * holiday_factor
        if closed_sunday and day.weekday() == 6:
            level = 0.0
        for hour in range(8, 20):
            mean = level * intraday(hour) / 3
            lines.append(f"{day.isoformat()}T{hour:02d}:00,q,{rng.poisson(mean)}")
    path.write_text("\n".join(lines) + "\n")


def test_wape_and_mape_on_a_hand_example() -> None:
    actual, forecast = [10, 0, 20], [12, 1, 15]
    # WAPE: (2 + 1 + 5) / 30; MAPE only over intervals with volume: (2/10 + 5/20) / 2.
    assert wape(actual, forecast) == pytest.approx(8 / 30)
    assert mape(actual, forecast) == pytest.approx(0.225)
    assert math.isnan(wape([0, 0], [1, 2]))


def test_seasonal_naive_repeats_the_last_training_week() -> None:
    train_t = [datetime(2026, 3, 2) + timedelta(days=d) for d in range(14)]
    train = np.arange(14, dtype=float)
    targets = [datetime(2026, 3, 16), datetime(2026, 3, 23)]  # one and two weeks after day 7
    # Both targets take day 7's value: the baseline never looks inside the holdout.
    assert list(seasonal_naive(train_t, train, targets)) == [7.0, 7.0]


def test_forecast_beats_seasonal_naive_on_known_seasonality(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    write_history(path, 56)
    result = run_forecast(read_history(path), horizon_days=7, holdout_days=14, country=None)
    acc = result.overall
    assert acc.intervals == 14 * 12
    assert acc.wape < acc.naive_wape
    assert acc.mape < acc.naive_mape
    # The weekly pattern is learnt: a forecast Monday is about five times a forecast Sunday.
    q = result.queues[0]
    monday = sum(v for t, v in zip(q.times, q.forecast, strict=True) if t.weekday() == 0)
    sunday = sum(v for t, v in zip(q.times, q.forecast, strict=True) if t.weekday() == 6)
    assert 3.5 < monday / sunday < 7


def test_holiday_in_the_horizon_behaves_like_a_sunday(tmp_path: Path) -> None:
    # History to 2026-04-26; King's Day (Monday 2026-04-27) falls in the horizon.
    path = tmp_path / "history.csv"
    write_history(path, 56, holiday_factor=1.0)
    history = read_history(path)
    kings_day = date(2026, 4, 27)

    def day_total(country: str | None) -> float:
        q = run_forecast(history, horizon_days=7, holdout_days=7, country=country).queues[0]
        return float(sum(v for t, v in zip(q.times, q.forecast, strict=True) if t.date() == kings_day))

    with_holidays, without = day_total("NL"), day_total(None)
    assert without > 3 * with_holidays  # without the calendar it is an ordinary busy Monday
    assert with_holidays < 0.4 * without


def test_a_day_type_without_volume_is_forecast_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    write_history(path, 35, closed_sunday=True)
    q = run_forecast(read_history(path), horizon_days=7, holdout_days=7, country=None).queues[0]
    assert all(v == 0 for t, v in zip(q.times, q.forecast, strict=True) if t.weekday() == 6)
    assert all(v > 0 for t, v in zip(q.times, q.forecast, strict=True) if t.weekday() == 0)


def test_too_little_history_for_the_holdout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    write_history(path, 20)
    with pytest.raises(ForecastInputError, match="at least 14 days"):
        run_forecast(read_history(path), horizon_days=7, holdout_days=14, country=None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("interval_start,queue\n2026-03-02T08:00,q\n", "missing column(s) offered"),
        ("interval_start,queue,offered\n2026-03-02T08:00,q,-3\n", "line 2: offered cannot be negative"),
        ("interval_start,queue,offered\n2026-03-02T08:00,q,1\nyesterday,q,2\n", "line 3: interval_start"),
        ("interval_start,queue,offered\n2026-03-02T08:00,q,abc\n", "line 2: offered 'abc' is not a number"),
        ("interval_start,queue,offered\n2026-03-02T08:00,q,1,7\n", "line 2: expected 3 fields"),
    ],
)
def test_bad_history_names_file_line_and_problem(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(body)
    with pytest.raises(ForecastInputError) as err:
        read_history(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
