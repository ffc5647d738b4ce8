"""`centrale erlang …` — Erlang B, C and A calculators and single-interval staffing.

Every sub-command prints a table, or with ``--json`` one JSON object on stdout: the metrics under their
documented names (see docs/erlang.md) and the inputs echoed under ``inputs``. Bad input gives one line on
stderr and exit status 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from centrale.units import format_duration, parse_duration, parse_rate_per_hour, parse_service_level

__all__ = ["InputError", "erlang", "parse_fraction"]

_F = TypeVar("_F", bound=Callable[..., Any])


class InputError(click.ClickException):
    """Input that cannot be computed; shown as one line on stderr, exit status 2 like a usage error."""

    exit_code = 2


# ------------------------------------------------------------------------------------------ parsing


def parse_fraction(text: str, what: str) -> float:
    """``"0.85"`` or ``"85%"`` → 0.85."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(f"{what} must be a fraction such as 0.85 or 85%, got {text!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InputError(f"{what} must be between 0 and 1 (or 0% and 100%), got {text!r}")
    return value


def duration(text: str, what: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None


def calls_per_interval(text: str, interval_seconds: float) -> float:
    """``--calls``: a count per interval (``100``) or a rate (``200/h``), converted to calls per interval."""
    raw = text.strip()
    if "/" in raw:
        try:
            return parse_rate_per_hour(raw) * interval_seconds / 3600.0
        except ValueError as exc:
            raise InputError(f"--calls: {exc}") from None
    try:
        calls = float(raw)
    except ValueError:
        raise InputError(
            f"--calls must be a number of calls per interval or a rate such as 200/h, got {text!r}"
        ) from None
    if not math.isfinite(calls) or calls < 0:
        raise InputError(f"--calls cannot be negative, got {text!r}")
    return calls


def service_level_target(text: str) -> tuple[float, float]:
    try:
        return parse_service_level(text)
    except ValueError as exc:
        raise InputError(f"--service-level: {exc}") from None


# ------------------------------------------------------------------------------------------ output


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 600 else f"{value:.0f} s ({format_duration(value)})"


_FORMATS: dict[str, tuple[str, Callable[[float], str]]] = {
    "agents": ("agents", lambda v: f"{v:g}"),
    "positions": ("positions (after shrinkage)", lambda v: f"{v:g}"),
    "offered_load": ("offered load", lambda v: f"{v:.2f} Erlang"),
    "blocking_probability": ("blocking probability", _percent),
    "wait_probability": ("wait probability", _percent),
    "service_level": ("service level", _percent),
    "asa_seconds": ("ASA (answered callers)", _seconds),
    "occupancy": ("occupancy", _percent),
    "abandon_probability": ("abandon probability", _percent),
    "average_wait_seconds": ("average wait (all callers)", _seconds),
}


def emit(title: str, metrics: Mapping[str, float], inputs: Mapping[str, Any], as_json: bool) -> None:
    """Print ``metrics`` as JSON (with ``inputs``) or as a two-column rich table."""
    if as_json:
        click.echo(json.dumps({**metrics, "inputs": dict(inputs)}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        label, fmt = _FORMATS[key]
        table.add_row(label, fmt(value))
    Console().print(table)


# ------------------------------------------------------------------------------------------ commands


def _common(func: _F) -> _F:
    func = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")(
        func
    )
    func = click.option("--aht", required=True, help="Average handle time, e.g. 180s or 3m.")(func)
    func = click.option(
        "--interval", default="30m", show_default=True, help="Interval length, e.g. 15m or 1h."
    )(func)
    func = click.option("--calls", required=True, help="Calls offered per interval (100) or a rate (200/h).")(
        func
    )
    return func


def _load_inputs(calls: str, interval: str, aht: str) -> dict[str, Any]:
    interval_seconds = duration(interval, "--interval")
    if interval_seconds <= 0:
        raise InputError(f"--interval must be longer than 0 seconds, got {interval!r}")
    aht_seconds = duration(aht, "--aht")
    if aht_seconds <= 0:
        raise InputError(f"--aht must be longer than 0 seconds, got {aht!r}")
    return {
        "calls": calls_per_interval(calls, interval_seconds),
        "interval_seconds": interval_seconds,
        "aht_seconds": aht_seconds,
    }


def _run(compute: Callable[[], Any]) -> Any:
    from centrale.planning.erlang import ErlangError

    try:
        return compute()
    except ErlangError as exc:
        raise InputError(str(exc)) from None


@click.group()
def erlang() -> None:
    """Erlang B, C and A calculators and staffing for one interval."""


@erlang.command("b")
@_common
@click.option("--agents", required=True, type=click.IntRange(min=0), help="Agents (lines) available.")
def erlang_b_command(calls: str, interval: str, aht: str, agents: int, as_json: bool) -> None:
    """Erlang B: the probability that a call finds every agent busy and is lost."""
    from centrale.planning.erlang import erlang_b

    inputs = {**_load_inputs(calls, interval, aht), "agents": agents}
    result = _run(
        lambda: erlang_b(inputs["calls"], inputs["interval_seconds"], inputs["aht_seconds"], agents)
    )
    inputs["offered_load"] = result.offered_load
    emit("Erlang B", {"blocking_probability": result.blocking_probability}, inputs, as_json)


@erlang.command("c")
@_common
@click.option("--agents", required=True, type=click.IntRange(min=0), help="Agents answering calls.")
@click.option("--threshold", default="20s", show_default=True, help="Service-level threshold, e.g. 20s.")
def erlang_c_command(calls: str, interval: str, aht: str, agents: int, threshold: str, as_json: bool) -> None:
    """Erlang C: callers wait as long as it takes (needs more agents than the offered load)."""
    from centrale.planning.erlang import erlang_c

    inputs = {**_load_inputs(calls, interval, aht), "agents": agents}
    inputs["threshold_seconds"] = duration(threshold, "--threshold")
    result = _run(
        lambda: erlang_c(
            inputs["calls"],
            inputs["interval_seconds"],
            inputs["aht_seconds"],
            agents,
            inputs["threshold_seconds"],
        )
    )
    inputs["offered_load"] = result.offered_load
    metrics = {
        "wait_probability": result.wait_probability,
        "service_level": result.service_level,
        "asa_seconds": result.asa_seconds,
        "occupancy": result.occupancy,
    }
    emit("Erlang C", metrics, inputs, as_json)


@erlang.command("a")
@_common
@click.option("--agents", required=True, type=click.IntRange(min=1), help="Agents answering calls.")
@click.option("--threshold", default="20s", show_default=True, help="Service-level threshold, e.g. 20s.")
@click.option("--patience", required=True, help="Mean patience before a caller hangs up, e.g. 300s.")
def erlang_a_command(
    calls: str, interval: str, aht: str, agents: int, threshold: str, patience: str, as_json: bool
) -> None:
    """Erlang A: callers hang up after an exponential patience; stable at any load."""
    from centrale.planning.erlang import erlang_a

    inputs = {**_load_inputs(calls, interval, aht), "agents": agents}
    inputs["threshold_seconds"] = duration(threshold, "--threshold")
    inputs["patience_seconds"] = _patience(patience)
    result = _run(
        lambda: erlang_a(
            inputs["calls"],
            inputs["interval_seconds"],
            inputs["aht_seconds"],
            agents,
            inputs["threshold_seconds"],
            inputs["patience_seconds"],
        )
    )
    inputs["offered_load"] = result.offered_load
    metrics = {
        "wait_probability": result.wait_probability,
        "service_level": result.service_level,
        "asa_seconds": result.asa_seconds,
        "occupancy": result.occupancy,
        "abandon_probability": result.abandon_probability,
        "average_wait_seconds": result.average_wait_seconds,
    }
    emit("Erlang A", metrics, inputs, as_json)


def _patience(text: str) -> float:
    seconds = duration(text, "--patience")
    if seconds <= 0:
        raise InputError(f"--patience must be longer than 0 seconds, got {text!r}")
    return seconds


def target_options(func: _F) -> _F:
    """The staffing targets shared by `erlang staff` and `plan staff`."""
    options = [
        click.option(
            "--service-level", "service_level", required=True, help="Target such as 80/20 (80% within 20 s)."
        ),
        click.option("--patience", default=None, help="Mean patience, e.g. 120s: staff with Erlang A."),
        click.option("--max-occupancy", default=None, help="Highest acceptable occupancy, e.g. 0.85 or 85%."),
        click.option("--max-asa", default=None, help="Highest acceptable ASA (answered callers), e.g. 30s."),
        click.option(
            "--max-abandon", default=None, help="Highest acceptable abandonment (Erlang A), e.g. 0.05."
        ),
        click.option(
            "--shrinkage", default="0", show_default=True, help="Share of paid time off the phones, e.g. 0.3."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def parse_targets(
    service_level: str,
    patience: str | None,
    max_occupancy: str | None,
    max_asa: str | None,
    max_abandon: str | None,
    shrinkage: str,
) -> dict[str, Any]:
    """Keyword arguments for :func:`centrale.planning.erlang.staff` from the shared options."""
    fraction, threshold = service_level_target(service_level)
    targets: dict[str, Any] = {
        "service_level": fraction,
        "threshold_seconds": threshold,
        "patience_seconds": _patience(patience) if patience is not None else None,
        "max_occupancy": parse_fraction(max_occupancy, "--max-occupancy")
        if max_occupancy is not None
        else None,
        "max_asa_seconds": duration(max_asa, "--max-asa") if max_asa is not None else None,
        "max_abandon": parse_fraction(max_abandon, "--max-abandon") if max_abandon is not None else None,
        "shrinkage": parse_fraction(shrinkage, "--shrinkage"),
    }
    if targets["shrinkage"] >= 1.0:
        raise InputError("--shrinkage must be below 1 (100%): nobody would be left to answer calls")
    if targets["max_occupancy"] == 0.0:
        raise InputError("--max-occupancy must be above 0")
    if targets["max_abandon"] is not None and targets["patience_seconds"] is None:
        raise InputError("--max-abandon needs --patience: abandonment is only modelled by Erlang A")
    return targets


@erlang.command("staff")
@_common
@target_options
def staff_command(
    calls: str,
    interval: str,
    aht: str,
    service_level: str,
    patience: str | None,
    max_occupancy: str | None,
    max_asa: str | None,
    max_abandon: str | None,
    shrinkage: str,
    as_json: bool,
) -> None:
    """The fewest agents meeting every target, and the positions to schedule after shrinkage."""
    from centrale.planning.erlang import ErlangAResult, staff

    inputs = _load_inputs(calls, interval, aht)
    targets = parse_targets(service_level, patience, max_occupancy, max_asa, max_abandon, shrinkage)
    result = _run(
        lambda: staff(inputs["calls"], inputs["interval_seconds"], inputs["aht_seconds"], **targets)
    )
    m = result.metrics
    metrics: dict[str, float] = {
        "agents": result.agents,
        "positions": result.positions,
        "wait_probability": m.wait_probability,
        "service_level": m.service_level,
        "asa_seconds": m.asa_seconds,
        "occupancy": m.occupancy,
    }
    if isinstance(m, ErlangAResult):
        metrics["abandon_probability"] = m.abandon_probability
        metrics["average_wait_seconds"] = m.average_wait_seconds
    model = "A" if targets["patience_seconds"] is not None else "C"
    all_inputs = {**inputs, **targets, "model": model, "offered_load": m.offered_load}
    emit(f"Staffing (Erlang {model})", metrics, all_inputs, as_json)
