"""`centrale plan staff PROFILE.csv` — the agents each queue needs in each interval of a day (or week)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from centrale.cli.erlang import InputError, duration, parse_targets, target_options

if TYPE_CHECKING:
    from centrale.planning.staffing import Requirement, Targets

__all__ = ["staff"]

# Above this many rows the table shows one line per queue instead of one per interval.
_TABLE_ROWS = 48
# Below this many rows staffing is instant and a progress bar would only flicker.
_PROGRESS_ROWS = 2_000


@click.command("staff")
@click.argument("profile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@target_options
@click.option(
    "--model",
    type=click.Choice(["c", "a"], case_sensitive=False),
    default=None,
    help="Erlang C (no abandonment) or Erlang A (needs --patience). Default: A with --patience, else C.",
)
@click.option(
    "--interval", default=None, help="Interval length, e.g. 15m (default: the spacing of the starts)."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the requirements as CSV.")
@click.option(
    "--plot", type=click.Path(dir_okay=False, path_type=Path), help="Save a chart (PNG, SVG or PDF)."
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write them as JSON."
)
def staff(
    profile: Path,
    service_level: str,
    patience: str | None,
    max_occupancy: str | None,
    max_asa: str | None,
    max_abandon: str | None,
    shrinkage: str,
    model: str | None,
    interval: str | None,
    out: Path | None,
    plot: Path | None,
    json_path: Path | None,
) -> None:
    """Required agents and positions per interval and queue for a demand PROFILE.

    PROFILE is a CSV with columns interval_start (ISO date-time), queue, offered (calls in the interval)
    and aht_seconds.
    """
    from rich.console import Console

    from centrale.planning.staffing import ProfileError, Targets, read_profile, staff_profile

    targets = Targets(
        **parse_targets(service_level, patience, max_occupancy, max_asa, max_abandon, shrinkage)
    )
    if model is not None and model.lower() == "a" and targets.patience_seconds is None:
        raise InputError("--model a needs --patience: Erlang A models callers who hang up")
    if model is not None and model.lower() == "c" and targets.patience_seconds is not None:
        raise InputError("--patience applies to Erlang A only; drop it or use --model a")
    interval_seconds = None
    if interval is not None:
        interval_seconds = duration(interval, "--interval")
        if interval_seconds <= 0:
            raise InputError(f"--interval must be longer than 0 seconds, got {interval!r}")

    err = Console(stderr=True)
    try:
        demand = read_profile(profile, interval_seconds)
        if len(demand.rows) >= _PROGRESS_ROWS and err.is_terminal:
            from rich.progress import Progress

            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("Staffing intervals", total=len(demand.rows))
                requirements = staff_profile(demand, targets, lambda done: bar.advance(task, done))
        else:
            requirements = staff_profile(demand, targets)
    except ProfileError as exc:
        raise InputError(str(exc)) from None

    from centrale.planning.staffing import plot_requirements, write_requirements_csv

    try:
        if out is not None:
            write_requirements_csv(requirements, out)
        if json_path is not None:
            document = {
                "inputs": _inputs(demand.path, demand.interval_seconds, targets),
                "intervals": [req.as_record() for req in requirements],
            }
            # No indent: the C encoder only runs without one, and a week of rows would take seconds.
            json_path.write_text(json.dumps(document) + "\n", encoding="utf-8")
        if plot is not None:
            title = f"Required agents — {profile.name} (Erlang {targets.model})"
            plot_requirements(requirements, plot, title)
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:  # matplotlib: an unknown image format, for one
        raise InputError(f"cannot save the plot: {exc}") from None

    _print_table(requirements, demand.interval_seconds, targets.model)
    for label, path in (("requirements", out), ("JSON", json_path), ("plot", plot)):
        if path is not None:
            err.print(f"Wrote {label} to {path}")


def _inputs(path: str, interval_seconds: float, targets: Targets) -> dict[str, Any]:
    from dataclasses import asdict

    return {"profile": path, "interval_seconds": interval_seconds, "model": targets.model, **asdict(targets)}


def _print_table(requirements: list[Requirement], interval_seconds: float, model: str) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from centrale.planning.staffing import summarise

    console = Console()
    if not console.is_terminal:
        # Piped or captured output has no width to respect; rich would assume 80 columns and crop cells.
        console = Console(width=max(console.width, 110))
    if len(requirements) <= _TABLE_ROWS:
        table = Table(title=f"Required staffing (Erlang {model})", title_justify="left", box=box.SIMPLE_HEAD)
        # Short headings and no AHT (it is an input): the rows must fit an 80-column terminal.
        for column in ("start", "queue"):
            table.add_column(column, no_wrap=True)
        for column in ("calls", "agents", "pos.", "SL", "ASA", "occ."):
            table.add_column(column, justify="right", no_wrap=True)
        if model == "A":
            table.add_column("abandon", justify="right", no_wrap=True)
        for req in requirements:
            row = [
                req.interval_start.strftime("%Y-%m-%d %H:%M"),
                req.queue,
                f"{req.offered:g}",
                str(req.agents),
                str(req.positions),
                f"{req.service_level:.1%}",
                f"{req.asa_seconds:.1f}s",
                f"{req.occupancy:.1%}",
            ]
            if model == "A":
                row.append(f"{req.abandon_probability:.1%}")
            table.add_row(*row)
        console.print(table)
        return
    table = Table(
        title=f"Required staffing per queue (Erlang {model}, {len(requirements)} intervals; see --out)",
        title_justify="left",
    )
    # Short headings: the summary must fit an 80-column terminal.
    for column in ("queue", "offered", "peak", "peak at", "peak pos.", "agent-h", "position-h"):
        table.add_column(column, justify="left" if column in ("queue", "peak at") else "right", no_wrap=True)
    for s in summarise(requirements, interval_seconds):
        table.add_row(
            s.queue,
            f"{s.offered:,.0f}",
            str(s.peak_agents),
            s.peak_start.strftime("%Y-%m-%d %H:%M"),
            str(s.peak_positions),
            f"{s.agent_hours:,.1f}",
            f"{s.position_hours:,.1f}",
        )
    console.print(table)
