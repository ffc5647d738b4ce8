"""`centrale simulate` — run a scenario on the simulator and show, save or report the figures.

Prints a KPI table per queue, per account and per team on stdout; ``--json`` writes the full result
(``SimulationResult.to_json()`` or, with ``--reps``, the replication summary), ``--report`` a
self-contained HTML report. A progress bar goes to stderr when it is a terminal.

A scenario that cannot run, or an output file that cannot be written, gives exactly one line on
stderr, ``error: FILE: FIELD: PROBLEM``, and exit status 2 — never a traceback.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from centrale.sim.report import Kpis
    from centrale.sim.runner import SimulationResult
    from centrale.sim.scenario import Scenario

__all__ = ["SimulateError", "SimulationFailed", "simulate", "write_atomic"]


class SimulateError(click.ClickException):
    """Input we cannot work with: one ``error: …`` line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class SimulationFailed(SimulateError):
    """The engine refused an event of a valid scenario: a bug, not the user's input (exit 1)."""

    exit_code = 1


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same directory and a rename.

    A failure (disk full, interrupted run) leaves either the old file or none, never half a file.
    """
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_writable(path: Path, option: str) -> None:
    """Fail before a long run, not after it, when an output file cannot be written."""
    if path.is_dir():
        raise SimulateError(f"{path}: {option}: is a directory, expected a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SimulateError(f"{path}: {option}: the directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise SimulateError(f"{path}: {option}: cannot write in the directory {str(parent)!r}")


def _write(path: Path, text: str, option: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise SimulateError(f"{path}: {option}: cannot write the file: {exc.strerror or exc}") from None


@contextmanager
def _progress(enabled: bool, name: str, reps: int) -> Iterator[Callable[[int, float], None] | None]:
    """A rich progress bar on stderr, fed (replication index, fraction of simulated time)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        # A short label leaves room for the bar on an 80-column terminal.
        short = name if len(name) <= 32 else name[:31] + "…"
        task = bar.add_task(short, total=float(reps))

        def update(rep: int, fraction: float) -> None:
            label = f"{short} — replication {rep + 1}/{reps}" if reps > 1 else short
            bar.update(task, completed=rep + fraction, description=label)

        yield update


def _show_progress(quiet: bool) -> bool:
    if quiet:
        return False
    from rich.console import Console

    # On a terminal only: in CI logs and pipes a redrawn bar is noise.
    return Console(stderr=True).is_terminal


@click.command()
@click.argument("scenario_file", metavar="SCENARIO.yaml")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's `seed`).")
@click.option(
    "--reps",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="Independent replications (seeds SEED, SEED+1, …); figures get 95 % confidence intervals.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write the full result as JSON to FILE.",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.html",
    help="Write a self-contained HTML report with plots to FILE.html.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no tables on stdout.")
def simulate(
    scenario_file: str,
    seed: int | None,
    reps: int,
    json_file: str | None,
    report_file: str | None,
    quiet: bool,
) -> None:
    """Simulate SCENARIO.yaml and print the KPIs per queue, account and team."""
    from centrale.core.errors import DomainError
    from centrale.sim.runner import run_replications, run_scenario
    from centrale.sim.scenario import ScenarioError, load_scenario

    json_path = Path(json_file) if json_file else None
    report_path = Path(report_file) if report_file else None
    if json_path is not None:
        _check_writable(json_path, "--json")
    if report_path is not None:
        _check_writable(report_path, "--report")

    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as exc:
        raise SimulateError(str(exc)) from None
    except Exception as exc:  # a loader bug must still not show a traceback to the user
        raise SimulateError(f"{scenario_file}: cannot load the scenario: {exc}") from None

    name = scenario.name
    try:
        with _progress(_show_progress(quiet), name, reps) as update:
            if reps == 1:
                cb = None if update is None else (lambda frac: update(0, frac))
                runs = [run_scenario(scenario, seed, progress=cb, detail=True)]
                payload = runs[0].to_json()
            else:
                summary = run_replications(scenario, reps, seed, progress=update)
                runs = summary.runs
                payload = summary.to_json()
    except DomainError as exc:
        # The scenario passed validation, so this is the engine or simulator refusing an event.
        raise SimulationFailed(
            f"{scenario_file}: the simulation stopped: {exc} (a bug; please report it)"
        ) from None

    if json_path is not None:
        try:
            text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
        except ValueError:
            # NaN or infinity has no JSON form; write them as null rather than invalid JSON.
            text = json.dumps(_finite(payload), indent=2) + "\n"
        _write(json_path, text, "--json")
    if report_path is not None:
        from centrale.sim.report import render_html

        _write(report_path, render_html(scenario, runs), "--report")

    if not quiet:
        from rich.console import Console

        console = Console()
        if not console.is_terminal:
            # Piped or captured (CI logs): rich would assume 80 columns and wrap every cell.
            console = Console(width=160)
        _print_tables(console, scenario, runs)
        if json_path is not None:
            click.echo(f"JSON written to {json_path}")
        if report_path is not None:
            click.echo(f"report written to {report_path}")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _print_tables(console: Console, scenario: Scenario, runs: list[SimulationResult]) -> None:
    from rich.table import Table

    from centrale.sim.report import QUEUE_COLUMNS, STATES, fmt_count, fmt_hours, fmt_pct, kpis, queue_cells

    k: Kpis = kpis(scenario, runs)
    first = runs[0]
    if k.runs > 1:
        caption = (
            f"means of {k.runs} replications ± 95 % CI half-width (seeds {runs[0].seed}–{runs[-1].seed})"
        )
    else:
        caption = f"seed {first.seed}"
    title = f"{scenario.name} — {first.start} to {first.end}"
    table = Table(title=title, caption=caption, title_justify="left")
    for i, col in enumerate(QUEUE_COLUMNS):
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=i > 0)
    for row in [*k.queues, k.total]:
        cells = queue_cells(row)
        cells[0] = row.id or "total"  # ids are short; the HTML report shows the full names
        met = row.target_met
        if met is not None:
            cells[4] = f"[green]{cells[4]}[/]" if met else f"[bold red]{cells[4]}[/]"
        is_total = row.id is None
        table.add_row(*cells, end_section=row is k.queues[-1], style="bold" if is_total else None)
    console.print(table)

    accounts = Table(title="accounts", title_justify="left")
    for i, col in enumerate(("account", "offered", "answered", "handled time", "share")):
        accounts.add_column(col, justify="left" if i == 0 else "right")
    for a in k.accounts:
        share = "–" if a.share is None else f"{a.share:.1%}"
        accounts.add_row(
            a.name, fmt_count(a.offered), fmt_count(a.answered), fmt_hours(a.handled_hours), share
        )
    console.print(accounts)

    teams = Table(title="teams (share of staffed time)", title_justify="left")
    for i, col in enumerate(("team", "staffed", "occupancy", *(s.replace("_", "-") for s in STATES))):
        teams.add_column(col, justify="left" if i == 0 else "right")
    for t in k.teams:
        teams.add_row(
            t.team,
            fmt_hours(t.staffed_hours),
            fmt_pct(t.occupancy),
            *(f"{t.states[s]:.1%}" for s in STATES),
        )
    teams.add_row("all teams", "", fmt_pct(k.total_occupancy), *("" for _ in STATES), style="bold")
    console.print(teams)
    if (k.open_at_end.mean or 0) > 0:
        console.print(
            f"[yellow]{fmt_count(k.open_at_end)} interaction(s) were still open when the drain period "
            "ended; they count as offered but neither answered nor abandoned.[/]"
        )
