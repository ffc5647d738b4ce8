"""Writing a schedule: per-agent CSV, iCalendar, a coverage plot and a simulator scenario."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from centrale.planning.schedule import ScheduleResult, Shift
from centrale.planning.schedule_input import Requirement, Rules, ScheduleInputError, skill_name


def _hm(t: datetime) -> str:
    return t.strftime("%H:%M")


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M")


def _queue_runs(shift: Shift) -> str:
    return ";".join(f"{_hm(a)}-{_hm(b)} {q}" for a, b, q in shift.queues)


def write_csv(result: ScheduleResult, path: Path) -> None:
    """One row per shift: agent, date, start, end, paid hours, breaks, lunch and queue runs."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["agent", "date", "shift_start", "shift_end", "paid_hours", "breaks", "lunch", "queues"])
        for sh in result.shifts:
            breaks = ";".join(f"{_hm(b.start)}-{_hm(b.end)}" for b in sh.breaks if b.kind == "break")
            lunch = ";".join(f"{_hm(b.start)}-{_hm(b.end)}" for b in sh.breaks if b.kind == "lunch")
            w.writerow(
                [
                    sh.agent,
                    sh.start.date().isoformat(),
                    _iso(sh.start),
                    _iso(sh.end),
                    f"{sh.paid_seconds / 3600:g}",
                    breaks,
                    lunch,
                    _queue_runs(sh),
                ]
            )


def _zone(rules: Rules) -> ZoneInfo:
    try:
        return ZoneInfo(rules.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleInputError(f"rules: unknown timezone {rules.timezone!r}") from None


def write_ical(result: ScheduleResult, rules: Rules, target: Path) -> list[Path]:
    """One VEVENT per shift; breaks, lunch and queues in the description.

    A target ending in ``.ics`` gets one calendar with everyone's shifts; otherwise ``target`` is a
    directory that gets one calendar per agent (``<agent>.ics``), which is what agents subscribe to.
    """
    from icalendar import Calendar, Event

    zone = _zone(rules)
    stamp = datetime.now(tz=ZoneInfo("UTC"))

    def calendar(name: str, shifts: Sequence[Shift]) -> bytes:
        cal = Calendar()
        cal.add("prodid", "-//centrale//shift schedule//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", name)
        for sh in shifts:
            ev = Event()
            ev.add("uid", f"{sh.agent}-{sh.start:%Y%m%dT%H%M}@centrale")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", sh.start.replace(tzinfo=zone))
            ev.add("dtend", sh.end.replace(tzinfo=zone))
            ev.add("summary", f"Shift {sh.agent} {_hm(sh.start)}-{_hm(sh.end)}")
            lines = [f"{b.kind.capitalize()}: {_hm(b.start)}-{_hm(b.end)}" for b in sh.breaks]
            lines += [f"{q}: {_hm(a)}-{_hm(b)}" for a, b, q in sh.queues]
            ev.add("description", "\n".join(lines))
            cal.add_component(ev)
        cal.add_missing_timezones()
        return bytes(cal.to_ical())

    if target.suffix.lower() == ".ics":
        target.write_bytes(calendar("centrale schedule", result.shifts))
        return [target]
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for agent in sorted({sh.agent for sh in result.shifts}):
        path = target / f"{agent}.ics"
        path.write_bytes(calendar(f"Shifts {agent}", [sh for sh in result.shifts if sh.agent == agent]))
        written.append(path)
    return written


def plot_coverage(result: ScheduleResult, path: Path) -> None:
    """Required vs scheduled agents per slot, one panel per queue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    queues = sorted(result.required)
    times = [
        result.grid_origin + timedelta(seconds=t * result.slot)
        for t in range(len(next(iter(result.required.values()))))
    ]
    fig, axes = plt.subplots(len(queues), 1, figsize=(14, 2.8 * len(queues)), squeeze=False, sharex=True)
    gaps = result.gap_hours()
    for ax, q in zip(axes[:, 0], queues, strict=True):
        ax.step(times, result.required[q], where="post", color="black", lw=1.0, label="required")
        ax.step(times, result.scheduled[q], where="post", color="tab:blue", lw=1.0, label="scheduled")
        ax.fill_between(
            times,
            result.scheduled[q],
            result.required[q],
            step="post",
            where=[r > s for r, s in zip(result.required[q], result.scheduled[q], strict=True)],
            color="tab:red",
            alpha=0.3,
            label="gap",
        )
        ax.set_title(f"{q} — coverage gap {gaps[q]:.2f} agent-hours")
        ax.set_ylabel("agents")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _span(seconds: float) -> str:
    """A duration as ``14h`` or ``14h30m`` (what ``centrale.units.parse_duration`` reads)."""
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m}m" if m and h else (f"{h}h" if h else f"{m}m")


def write_scenario(
    result: ScheduleResult,
    req: Requirement,
    rules: Rules,
    path: Path,
    arrivals: Path | None,
    name: str | None = None,
) -> Path:
    """A simulator scenario with one agent per scheduled agent, their shifts and breaks.

    Arrivals come from ``arrivals`` (a CSV with ``interval_start,queue,offered``) or, when the
    requirement file carries an ``offered`` column, from a CSV written next to the scenario.
    Returns the arrivals file the scenario refers to.
    """
    if arrivals is None:
        if req.offered is None:
            raise ScheduleInputError(
                "--scenario needs arrival volumes: pass --arrivals PROFILE.csv (interval_start,queue,offered)"
            )
        arrivals = path.with_name(f"{path.stem}-arrivals.csv")
        with arrivals.open("w", newline="", encoding="utf-8") as handle:
            w = csv.writer(handle)
            w.writerow(["interval_start", "queue", "offered"])
            for q, per in sorted(req.offered.items()):
                for ts, vol in sorted(per.items()):
                    w.writerow([_iso(ts), q, f"{vol:g}"])
    elif not arrivals.exists():
        raise ScheduleInputError(f"--arrivals {arrivals}: no such file")
    _zone(rules)
    defaults = rules.scenario
    starts = [sh.start for sh in result.shifts] + [min(ts for per in req.values.values() for ts in per)]
    ends = [sh.end for sh in result.shifts] + [
        max(ts for per in req.values.values() for ts in per) + timedelta(seconds=req.interval)
    ]
    start, end = min(starts), max(ends)
    by_agent: dict[str, list[Shift]] = {}
    for sh in result.shifts:
        by_agent.setdefault(sh.agent, []).append(sh)
    agents_out: list[dict[str, Any]] = []
    for agent in result.agents:
        shifts = by_agent.get(agent.id)
        if not shifts:
            continue
        skills = {skill_name(s): level for s, level in agent.skills.items()}
        for q in agent.queues:
            skills.setdefault(skill_name(q), agent.skills.get(q, 5))
        agents_out.append(
            {
                "id": agent.id,
                "count": 1,
                "skills": skills,
                "shifts": [
                    {
                        "start": _iso(sh.start),
                        "end": _iso(sh.end),
                        "breaks": [
                            {
                                "start": _iso(b.start),
                                "duration": _span((b.end - b.start).total_seconds()),
                                "reason": b.kind,
                            }
                            for b in sh.breaks
                        ],
                    }
                    for sh in shifts
                ],
            }
        )
    rel = os.path.relpath(arrivals.resolve(), path.resolve().parent)
    target, threshold = defaults.service_level
    doc: dict[str, Any] = {
        "name": name or f"Schedule check: {start:%Y-%m-%d}",
        "start": _iso(start),
        "duration": _span((end - start).total_seconds()),
        "timezone": rules.timezone,
        "interval": _span(req.interval),
        "accounts": [{"id": "main", "name": "Main"}],
        "queues": [
            {
                "id": q,
                "account": "main",
                "channel": "voice",
                "requires": f"{skill_name(q)} >= 1",
                "service_level": {"target": target, "threshold": f"{threshold:g}s"},
                "handle_time": {
                    "dist": "exponential",
                    "mean": f"{(req.aht or {}).get(q, defaults.handle_time):.0f}s",
                },
                "patience": {"dist": "exponential", "mean": f"{defaults.patience:g}s"},
                "wrap_up": {"mode": "fixed", "duration": f"{defaults.wrap_up:g}s"},
            }
            for q in req.queues
        ],
        "arrivals": [{"queue": q, "csv": rel} for q in req.queues],
        "agents": agents_out,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return arrivals
