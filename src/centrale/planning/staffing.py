"""Staffing a day: the agents each queue needs in each interval of a demand profile.

A profile is a CSV with one row per (interval, queue): ``interval_start`` (ISO date-time), ``queue``,
``offered`` (calls offered in the interval) and ``aht_seconds``. Each row is staffed on its own with
Erlang C, or Erlang A when a patience is given (:func:`centrale.planning.erlang.staff`); rows with the
same volume and handle time share one computation, which is what makes a week of 50 queues quick.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from centrale.planning.erlang import ErlangAResult, ErlangError, Staffing, staff

__all__ = [
    "REQUIRED_COLUMNS",
    "Demand",
    "Profile",
    "ProfileError",
    "Requirement",
    "Targets",
    "infer_interval_seconds",
    "plot_requirements",
    "read_profile",
    "staff_profile",
    "summarise",
    "write_requirements_csv",
]

REQUIRED_COLUMNS = ("interval_start", "queue", "offered", "aht_seconds")


class ProfileError(ValueError):
    """A profile that cannot be staffed; the message names the file, the line and the problem."""


@dataclass(frozen=True, slots=True)
class Targets:
    """What every interval must achieve, and the shrinkage to schedule for."""

    threshold_seconds: float
    service_level: float | None = None
    patience_seconds: float | None = None
    max_occupancy: float | None = None
    max_asa_seconds: float | None = None
    max_abandon: float | None = None
    shrinkage: float = 0.0

    @property
    def model(self) -> str:
        return "A" if self.patience_seconds is not None else "C"


@dataclass(frozen=True, slots=True)
class Demand:
    """One row of a profile."""

    line: int
    start: datetime
    queue: str
    offered: float
    aht_seconds: float


@dataclass(frozen=True, slots=True)
class Profile:
    """A demand profile read from ``path``, every row on the same interval length."""

    path: str
    interval_seconds: float
    rows: tuple[Demand, ...]

    @property
    def queues(self) -> list[str]:
        return sorted({row.queue for row in self.rows})


@dataclass(frozen=True, slots=True)
class Requirement:
    """The staffing one queue needs in one interval, and what it achieves."""

    interval_start: datetime
    queue: str
    offered: float
    aht_seconds: float
    offered_load: float
    agents: int
    positions: int
    wait_probability: float
    service_level: float
    asa_seconds: float
    occupancy: float
    abandon_probability: float | None
    average_wait_seconds: float | None

    def as_record(self) -> dict[str, Any]:
        """A JSON/CSV-ready dict (the start as ISO text)."""
        # Built field by field: dataclasses.asdict deep-copies and is ten times slower on a week of rows.
        record = {name: getattr(self, name) for name in _REQUIREMENT_FIELDS}
        record["interval_start"] = self.interval_start.isoformat()
        return record


_REQUIREMENT_FIELDS = tuple(field.name for field in fields(Requirement))


# ---------------------------------------------------------------------------------------------- input


def _problem(path: str, line: int, message: str) -> ProfileError:
    return ProfileError(f"{path}, line {line}: {message}")


def _number(path: str, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _problem(path, line, f"{column} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise _problem(path, line, f"{column} must be a finite number ≥ 0, got {text!r}")
    return value


def _parse_row(path: str, line: int, row: dict[str, str | None]) -> Demand:
    values = {column: (row.get(column) or "").strip() for column in REQUIRED_COLUMNS}
    for column, text in values.items():
        if not text:
            raise _problem(path, line, f"{column} is empty")
    if None in row:  # csv puts surplus fields under the key None
        raise _problem(path, line, f"more fields than the {len(row) - 1} columns of the header")
    text = values["interval_start"]
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise _problem(
            path,
            line,
            f"interval_start must be an ISO date-time like 2025-03-03T08:00, got {text!r}",
        ) from None
    offered = _number(path, line, "offered", values["offered"])
    aht = _number(path, line, "aht_seconds", values["aht_seconds"])
    if offered > 0 and aht == 0:
        raise _problem(path, line, "aht_seconds must be > 0 when calls are offered")
    return Demand(line, start, values["queue"], offered, aht)


def infer_interval_seconds(starts: Iterable[datetime]) -> float | None:
    """The smallest gap between distinct interval starts, in seconds; None with fewer than two."""
    ordered = sorted(set(starts))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    return min(gaps) if gaps else None


def read_profile(path: str | Path, interval_seconds: float | None = None) -> Profile:
    """Read and check a profile; ``interval_seconds`` overrides the length inferred from the starts."""
    name = str(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below, errors mapped
    except OSError as exc:
        raise ProfileError(f"{name}: cannot read the profile ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise _problem(
                name, 1, f"missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED_COLUMNS)}"
            )
        rows: list[Demand] = []
        seen: dict[tuple[datetime, str], int] = {}
        try:
            for record in reader:
                demand = _parse_row(name, reader.line_num, record)
                key = (demand.start, demand.queue)
                if key in seen:
                    raise _problem(
                        name,
                        demand.line,
                        f"queue {demand.queue!r} at {demand.start.isoformat()} already on line {seen[key]}",
                    )
                seen[key] = demand.line
                rows.append(demand)
        except UnicodeDecodeError:
            raise ProfileError(f"{name}: not a UTF-8 text file") from None
        except csv.Error as exc:
            raise _problem(name, reader.line_num, f"malformed CSV ({exc})") from None
    if not rows:
        raise ProfileError(f"{name}: the profile has a header but no rows")
    try:
        starts = [row.start for row in rows]
        inferred = infer_interval_seconds(starts)
    except TypeError:
        # Python refuses to order naive and aware date-times; say so instead of a traceback.
        raise ProfileError(f"{name}: interval_start mixes times with and without a UTC offset") from None
    length = interval_seconds if interval_seconds is not None else inferred
    if length is None:
        raise ProfileError(f"{name}: one interval start only, so its length is unknown; give --interval")
    if not length > 0:
        raise ProfileError(f"{name}: the interval length must be > 0 seconds, got {length:g}")
    return Profile(name, float(length), tuple(rows))


# ------------------------------------------------------------------------------------------- staffing


def _requirement(row: Demand, staffing: Staffing) -> Requirement:
    m = staffing.metrics
    return Requirement(
        interval_start=row.start,
        queue=row.queue,
        offered=row.offered,
        aht_seconds=row.aht_seconds,
        offered_load=m.offered_load,
        agents=staffing.agents,
        positions=staffing.positions,
        wait_probability=m.wait_probability,
        service_level=m.service_level,
        asa_seconds=m.asa_seconds,
        occupancy=m.occupancy,
        abandon_probability=m.abandon_probability if isinstance(m, ErlangAResult) else None,
        average_wait_seconds=m.average_wait_seconds if isinstance(m, ErlangAResult) else None,
    )


def staff_profile(
    profile: Profile, targets: Targets, progress: Callable[[int], None] | None = None
) -> list[Requirement]:
    """Staff every row of ``profile`` to ``targets``, in file order.

    ``progress`` is called with the number of rows done since the previous call. Rows with the same
    offered volume and handle time are computed once. An interval that cannot be staffed raises
    :class:`ProfileError` naming its line.
    """
    cache: dict[tuple[float, float], Staffing] = {}
    out: list[Requirement] = []
    pending = 0
    # With fewer than ~100 progress updates the bar still moves smoothly and costs nothing measurable.
    batch = max(1, len(profile.rows) // 100)
    for row in profile.rows:
        key = (row.offered, row.aht_seconds)
        staffing = cache.get(key)
        if staffing is None:
            # A zero-volume interval may come with a zero AHT; any positive AHT gives the same zero staffing.
            aht = row.aht_seconds if row.aht_seconds > 0 else 1.0
            try:
                staffing = staff(
                    row.offered,
                    profile.interval_seconds,
                    aht,
                    threshold_seconds=targets.threshold_seconds,
                    service_level=targets.service_level,
                    patience_seconds=targets.patience_seconds,
                    max_occupancy=targets.max_occupancy,
                    max_asa_seconds=targets.max_asa_seconds,
                    max_abandon=targets.max_abandon,
                    shrinkage=targets.shrinkage,
                )
            except ErlangError as exc:
                raise _problem(
                    profile.path, row.line, f"queue {row.queue!r} at {row.start.isoformat()}: {exc}"
                ) from None
            cache[key] = staffing
        out.append(_requirement(row, staffing))
        pending += 1
        if progress is not None and pending >= batch:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    return out


# -------------------------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """One queue over the whole profile."""

    queue: str
    intervals: int
    offered: float
    peak_agents: int
    peak_start: datetime
    peak_positions: int
    agent_hours: float
    position_hours: float


def summarise(requirements: Sequence[Requirement], interval_seconds: float) -> list[QueueSummary]:
    """Per-queue totals and peaks, in queue order."""
    by_queue: dict[str, list[Requirement]] = {}
    for req in requirements:
        by_queue.setdefault(req.queue, []).append(req)
    hours = interval_seconds / 3600.0
    summaries = []
    for queue in sorted(by_queue):
        reqs = by_queue[queue]
        peak = max(reqs, key=lambda r: (r.agents, -r.interval_start.timestamp()))
        summaries.append(
            QueueSummary(
                queue=queue,
                intervals=len(reqs),
                offered=sum(r.offered for r in reqs),
                peak_agents=peak.agents,
                peak_start=peak.interval_start,
                peak_positions=max(r.positions for r in reqs),
                agent_hours=sum(r.agents for r in reqs) * hours,
                position_hours=sum(r.positions for r in reqs) * hours,
            )
        )
    return summaries


CSV_COLUMNS = (
    "interval_start",
    "queue",
    "offered",
    "aht_seconds",
    "offered_load",
    "agents",
    "positions",
    "wait_probability",
    "service_level",
    "asa_seconds",
    "occupancy",
    "abandon_probability",
    "average_wait_seconds",
)


def write_requirements_csv(requirements: Iterable[Requirement], path: str | Path) -> None:
    """Write one row per interval and queue; the Erlang A columns stay empty under Erlang C."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for req in requirements:
            record = req.as_record()
            writer.writerow(_csv_cell(record[column]) for column in CSV_COLUMNS)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _axis_times(starts: Sequence[datetime]) -> NDArray[np.datetime64]:
    # Wall-clock times as the profile wrote them; numpy's datetime64 has no time zones.
    return np.array([start.replace(tzinfo=None) for start in starts], dtype="datetime64[s]")


def plot_requirements(requirements: Sequence[Requirement], path: str | Path, title: str = "") -> None:
    """Save a step chart of required agents per interval, one line per queue (stacked when many)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    by_queue: dict[str, list[Requirement]] = {}
    for req in requirements:
        by_queue.setdefault(req.queue, []).append(req)
    starts = sorted({req.interval_start for req in requirements})
    fig, ax = plt.subplots(figsize=(12, 5), layout="constrained")
    try:
        if len(by_queue) <= 12:
            for queue in sorted(by_queue):
                reqs = sorted(by_queue[queue], key=lambda r: r.interval_start)
                when = _axis_times([r.interval_start for r in reqs])
                ax.step(when, [r.agents for r in reqs], where="post", label=queue)
            ax.legend(loc="upper left", fontsize="small", ncols=2)
        else:
            # Dozens of lines are unreadable: stack them so the top edge is the total.
            index = {start: i for i, start in enumerate(starts)}
            stacks = []
            for queue in sorted(by_queue):
                series = [0] * len(starts)
                for req in by_queue[queue]:
                    series[index[req.interval_start]] = req.agents
                stacks.append(series)
            ax.stackplot(_axis_times(starts), stacks, step="post", linewidth=0)
            ax.text(0.01, 0.97, f"{len(by_queue)} queues, stacked", transform=ax.transAxes, va="top")
        ax.set_ylabel("required agents")
        ax.set_xlabel("interval start")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if title:
            ax.set_title(title)
        fig.autofmt_xdate()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
