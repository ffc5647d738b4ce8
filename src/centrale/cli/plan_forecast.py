"""`centrale plan forecast` — offered contacts per queue and interval, with holdout accuracy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click


class BadInput(click.ClickException):
    """Bad input: a clear message and exit status 2, never a traceback."""

    exit_code = 2


def _days(option: str, text: str) -> int:
    """Whole days in ``14d``, ``2w`` or ``14``."""
    m = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text.lower())
    if not m:
        raise BadInput(f"{option}: expected a number of days such as 14d or 2w, got {text!r}")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


@click.command("forecast")
@click.argument("history", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--horizon", default="14d", show_default=True, help="How far ahead to forecast (days or weeks)."
)
@click.option(
    "--holdout", default="14d", show_default=True, help="Last part of history used to measure accuracy."
)
@click.option(
    "--country",
    default="NL",
    show_default=True,
    help="Country whose public holidays to model (ISO code), or 'none'.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Forecast CSV: interval_start,queue,forecast_offered[,forecast_aht_seconds].",
)
@click.option(
    "--profile-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Profile CSV for `centrale plan staff`: interval_start,queue,offered,aht_seconds.",
)
@click.option("--aht", help="Handle time for --profile-out when the history has no aht_seconds, e.g. 180s.")
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="PNG of forecast vs actual over the holdout, and the horizon.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the accuracy figures as JSON.",
)
def forecast(
    history: Path,
    horizon: str,
    holdout: str,
    country: str,
    out: Path | None,
    profile_out: Path | None,
    aht: str | None,
    plot_path: Path | None,
    json_path: Path | None,
) -> None:
    """Forecast offered contacts per queue and interval from HISTORY (interval_start,queue,offered
    [,aht_seconds]), with weekly and intraday seasonality, trend and public holidays."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from centrale.planning import forecast as fc
    from centrale.units import parse_duration

    horizon_days, holdout_days = _days("--horizon", horizon), _days("--holdout", holdout)
    default_aht = None
    if aht is not None:
        try:
            default_aht = parse_duration(aht)
        except ValueError as exc:
            raise BadInput(f"--aht: {exc}") from None
    console = Console()
    try:
        data = fc.read_history(history)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("forecasting", total=len(data.queues))

            def on_queue(queue: str) -> None:
                progress.update(task, description=f"forecasting {queue}")
                progress.advance(task)

            result = fc.run_forecast(
                data,
                horizon_days=horizon_days,
                holdout_days=holdout_days,
                country=None if country.lower() == "none" else country,
                on_queue=on_queue,
            )
        if out:
            fc.write_forecast(result, out)
        if profile_out:
            fc.write_profile(result, profile_out, default_aht)
        if plot_path:
            fc.plot(result, plot_path)
    except fc.ForecastInputError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"{exc.filename}: {exc.strerror}") from None

    table = Table(title=f"Holdout accuracy (last {holdout_days} days)")
    for col in ("queue", "WAPE", "naive WAPE", "MAPE", "naive MAPE"):
        table.add_column(col, justify="left" if col == "queue" else "right")
    rows = [(q.queue, q.accuracy) for q in result.queues] + [("overall", result.overall)]
    for name, a in rows:
        table.add_row(name, f"{a.wape:.1%}", f"{a.naive_wape:.1%}", f"{a.mape:.1%}", f"{a.naive_mape:.1%}")
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
