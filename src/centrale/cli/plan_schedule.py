"""`centrale plan schedule` — shifts, breaks and queue assignments for a roster of agents."""

from __future__ import annotations

import json
from pathlib import Path

import click


class BadInput(click.ClickException):
    """Bad input: a clear message and exit status 2, never a traceback."""

    exit_code = 2


def _seconds(text: str) -> float:
    from centrale.units import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise BadInput(f"--time-limit: {exc}") from None


@click.command("schedule")
@click.argument("required", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--agents",
    "agents_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Agents YAML: id, queues/skills, availability, weekly hours.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Rules YAML: shift starts and lengths, breaks, lunch, weekly limits, rest.",
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Per-shift CSV.")
@click.option(
    "--ical",
    type=click.Path(path_type=Path),
    help="An .ics file with every shift, or a directory for one calendar per agent.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Coverage plot (PNG): required vs scheduled per interval.",
)
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a simulator scenario YAML with these shifts, for `centrale simulate`.",
)
@click.option(
    "--arrivals",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Arrivals CSV (interval_start,queue,offered) for --scenario.",
)
@click.option("--time-limit", default="60s", show_default=True, help="Solver time limit, e.g. 30s or 2m.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the summary (status, paid hours, gap) as JSON.",
)
def schedule(
    required: Path,
    agents_path: Path,
    rules_path: Path | None,
    out: Path | None,
    ical: Path | None,
    plot_path: Path | None,
    scenario: Path | None,
    arrivals: Path | None,
    time_limit: str,
    json_path: Path | None,
) -> None:
    """Schedule agents' shifts to cover REQUIRED (interval_start,queue,required — or the output of
    `centrale plan staff`) with the fewest paid hours, using OR-Tools CP-SAT."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from centrale.planning import schedule_output as output
    from centrale.planning.schedule import make_schedule
    from centrale.planning.schedule_input import ScheduleInputError, read_agents, read_requirement, read_rules

    limit = _seconds(time_limit)
    console = Console()
    try:
        req = read_requirement(required)
        rules = read_rules(rules_path)
        agents = read_agents(agents_path, rules, req.queues)
        if scenario and arrivals is None and req.offered is None:
            # Say so before a minute of solving, not after.
            raise ScheduleInputError(
                "--scenario needs arrival volumes: pass --arrivals PROFILE.csv (interval_start,queue,offered)"
            )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("scheduling", total=1.0)

            def report(text: str, fraction: float) -> None:
                progress.update(task, description=text, completed=fraction)

            result = make_schedule(req, agents, rules, time_limit=limit, progress=report)
        if out:
            output.write_csv(result, out)
        if ical:
            output.write_ical(result, rules, ical)
        if plot_path:
            output.plot_coverage(result, plot_path)
        if scenario:
            output.write_scenario(result, req, rules, scenario, arrivals)
    except ScheduleInputError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"{exc.filename}: {exc.strerror}") from None
    summary = result.summary()
    table = Table(title=f"Schedule — {summary['status']}")
    table.add_column("queue")
    table.add_column("gap (agent-hours)", justify="right")
    for q, h in result.gap_hours().items():
        table.add_row(q, f"{h:.2f}")
    console.print(table)
    console.print(
        f"status {summary['status']}, objective {summary['objective']}, "
        f"{summary['shifts']} shifts for {summary['agents_scheduled']}/{summary['agents']} agents, "
        f"paid hours {summary['paid_hours']}, "
        f"coverage gap {summary['coverage_gap_agent_hours']} agent-hours, "
        f"{summary['seconds']} s"
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if json_path:
        json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
