"""`centrale plan check SCENARIO.yaml` — a multi-skill staffing checked (and tuned) in the simulator.

Runs the scenario's proposed staffing (the ``count`` of every ``agents:`` entry, one skill group each)
``--reps`` times and shows each queue's achieved service level with its 95 % interval against the
queue's target. With ``--tune`` it searches for the fewest agents per group that meet every target
(see :mod:`centrale.planning.skills_check` for the criterion and the search).

Exit status: 0 when the checked staffing — or, with ``--tune``, the tuned one — meets every target;
1 when it does not (or the search found no staffing within ``--max-agents-per-group``); 2 for bad
input (one line on stderr).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from centrale.cli.erlang import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from centrale.planning.skills_check import Group, StaffingCheck, TuneResult

__all__ = ["check"]

_CRITERION = "lower bound of the 95% interval of each queue's service level >= target"


@click.command("check")
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reps", default=5, show_default=True, help="Replications per staffing (at least 2).")
@click.option("--seed", type=int, default=None, help="First seed (default: the scenario's seed).")
@click.option("--tune", is_flag=True, help="Search for the fewest agents per group meeting every target.")
@click.option(
    "--max-agents-per-group",
    type=int,
    default=None,
    help="Upper limit on any group's agents during --tune (default 200).",
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the result as JSON."
)
def check(
    scenario_path: Path,
    reps: int,
    seed: int | None,
    tune: bool,
    max_agents_per_group: int | None,
    json_path: Path | None,
) -> None:
    """Check a multi-skill staffing in the simulator; --tune finds the fewest agents per skill group.

    Each agents: entry of SCENARIO.yaml is a skill group; its count is the proposed staffing. A queue
    meets its target when the lower bound of the 95 % interval of its service level (answered within
    the threshold ÷ offered, over REPS replications) is at or above the target.
    """
    from rich.console import Console

    from centrale.planning import skills_check as sc
    from centrale.sim import ScenarioError, load_scenario

    if reps < 2:
        raise InputError(f"--reps must be at least 2 (a confidence interval needs two runs), got {reps}")
    if max_agents_per_group is not None and not tune:
        raise InputError("--max-agents-per-group only applies with --tune")
    limit = sc.DEFAULT_MAX_AGENTS_PER_GROUP if max_agents_per_group is None else max_agents_per_group
    if limit < 1:
        raise InputError(f"--max-agents-per-group must be at least 1, got {limit}")
    try:
        scenario = load_scenario(scenario_path)
        groups = sc.groups_of(scenario)
    except ScenarioError as exc:
        raise InputError(str(exc)) from None
    first_seed = scenario.seed if seed is None else seed

    err = Console(stderr=True)
    out = Console()
    try:
        if tune:
            result = _run_tune(scenario, reps, first_seed, limit, err)
            document: dict[str, Any] = {
                "scenario": str(scenario_path),
                "reps": reps,
                "seed": first_seed,
                **result.as_record(),
            }
            ok = result.tuned is not None
        else:
            checked = _run_check(scenario, reps, first_seed, err)
            document = {
                "scenario": str(scenario_path),
                "reps": reps,
                "seed": first_seed,
                "criterion": _CRITERION,
                "groups": [
                    {"id": g.id, "skills": dict(g.skills), "queues": list(g.queues), "agents": g.proposed}
                    for g in groups
                ],
                "check": checked.as_record(),
            }
            ok = checked.meets_all
    except sc.CheckError as exc:
        raise InputError(str(exc)) from None

    if json_path is not None:
        try:
            json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {exc.filename}: {exc.strerror}") from None

    if tune:
        _print_tune(out, result, reps)
    else:
        _print_check(out, groups, checked)
    if json_path is not None:
        err.print(f"Wrote JSON to {json_path}")
    if not ok:
        raise click.exceptions.Exit(1)


# ------------------------------------------------------------------------------------------ running


def _run_check(scenario: Any, reps: int, seed: int, err: Console) -> StaffingCheck:
    from rich.progress import Progress

    from centrale.planning.skills_check import check as run_check

    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("Simulating", total=reps)
        return run_check(scenario, reps=reps, seed=seed, on_run=lambda: bar.advance(task))


def _run_tune(scenario: Any, reps: int, seed: int, limit: int, err: Console) -> TuneResult:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from centrale.planning.skills_check import tune as run_tune

    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} runs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("Tuning", total=None)

        def on_run(phase: str) -> None:
            bar.update(task, advance=1, description=f"Tuning: {phase}")

        return run_tune(scenario, reps=reps, seed=seed, max_agents_per_group=limit, on_run=on_run)


# ------------------------------------------------------------------------------------------ output

_STATUS_STYLE = {"met": "green", "no calls": "dim", "marginal": "yellow", "missed": "red"}


def _sl(q: Any) -> str:
    return "–" if q.service_level is None else f"{q.service_level:.1%}"


def _ci(q: Any) -> str:
    if q.low is None or q.high is None:
        return "–"
    return f"{100 * q.low:.1f}–{100 * q.high:.1f}"


def _status(q: Any) -> str:
    return f"[{_STATUS_STYLE[q.status]}]{q.status}[/]"


def _print_check(out: Console, groups: tuple[Group, ...], checked: StaffingCheck) -> None:
    from rich import box
    from rich.table import Table

    staff = Table(title="Skill groups", box=box.SIMPLE_HEAVY)
    for col in ("group", "takes", "agents"):
        staff.add_column(col, justify="right" if col == "agents" else "left")
    for g in groups:
        staff.add_row(g.id, ", ".join(g.queues) or "–", str(checked.counts[g.id]))
    staff.add_row("total", "", str(checked.total_agents), style="bold")
    out.print(staff)

    table = Table(
        title=f"Service level per queue ({checked.reps} runs from seed {checked.seed}, 95 % interval)",
        box=box.SIMPLE_HEAVY,
    )
    for col in ("queue", "target", "offered", "SL", "95 % CI", "abandoned", "ASA", "status"):
        table.add_column(col, justify="left" if col in ("queue", "status") else "right")
    for q in checked.queues.values():
        table.add_row(
            q.queue,
            f"{q.target:.0%}/{q.threshold_seconds:g}s",
            f"{q.offered:.0f}",
            _sl(q),
            _ci(q),
            "–" if q.abandon_rate is None else f"{q.abandon_rate:.1%}",
            "–" if q.asa_seconds is None else f"{q.asa_seconds:.1f}s",
            _status(q),
        )
    out.print(table)
    verdict = "meets every target" if checked.meets_all else "does NOT meet every target"
    out.print(f"The staffing {verdict} (a queue meets its target when its interval's lower bound does).")


def _print_tune(out: Console, result: TuneResult, reps: int) -> None:
    from rich import box
    from rich.table import Table

    tuned = result.tuned
    staff = Table(title="Skill groups: proposed and tuned agents", box=box.SIMPLE_HEAVY)
    for col in ("group", "takes", "proposed", "tuned", "change"):
        staff.add_column(col, justify="left" if col in ("group", "takes") else "right")
    for g in result.groups:
        t = None if tuned is None else tuned.counts[g.id]
        staff.add_row(
            g.id,
            ", ".join(g.queues) or "–",
            str(g.proposed),
            "–" if t is None else str(t),
            "–" if t is None else f"{t - g.proposed:+d}",
        )
    total_tuned = None if tuned is None else tuned.total_agents
    staff.add_row(
        "total",
        "",
        str(result.proposed.total_agents),
        "–" if total_tuned is None else str(total_tuned),
        "–" if total_tuned is None else f"{total_tuned - result.proposed.total_agents:+d}",
        style="bold",
    )
    out.print(staff)

    table = Table(
        title=f"Service level per queue ({reps} runs from seed {result.proposed.seed}, 95 % interval)",
        box=box.SIMPLE_HEAVY,
    )
    for col in ("queue", "target", "proposed", "95 % CI", "", "tuned", "95 % CI ", " "):
        table.add_column(col, justify="left" if col in ("queue", "", " ") else "right")
    for qid, p in result.proposed.queues.items():
        tq = None if tuned is None else tuned.queues[qid]
        table.add_row(
            qid,
            f"{p.target:.0%}/{p.threshold_seconds:g}s",
            _sl(p),
            _ci(p),
            _status(p),
            "–" if tq is None else _sl(tq),
            "–" if tq is None else _ci(tq),
            "" if tq is None else _status(tq),
        )
    out.print(table)
    if tuned is None:
        out.print(
            f"[red]No staffing with at most {result.limit} agents per group meets every target[/] "
            f"({result.evaluations} staffings simulated)."
        )
    else:
        out.print(
            f"{result.evaluations} staffings simulated. With the same seeds, one agent fewer in any "
            "group (that has agents) of the tuned staffing breaks some target."
        )
