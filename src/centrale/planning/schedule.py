"""Shift scheduling: from a requirement curve and a roster of agents to a week of shifts.

:func:`make_schedule` runs the two CP-SAT phases of :mod:`centrale.planning.schedule_model`, turns
their answer into per-agent shifts with breaks and queue assignments, and evaluates the result
against the requirement independently of the model (so the reported paid hours and coverage gap are
facts about the schedule, not the solver's belief).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from centrale.planning.schedule_input import Agent, Requirement, Rules, ScheduleInputError, day_start
from centrale.planning.schedule_model import (
    Grid,
    Group,
    Plan,
    ShiftType,
    assign_group,
    make_grid,
    make_groups,
    plan_shifts,
    required_slots,
    shift_types,
)

__all__ = ["Break", "ScheduleResult", "Shift", "make_schedule"]


@dataclass(frozen=True)
class Break:
    """A break or lunch inside a shift."""

    start: datetime
    end: datetime
    kind: str  # "break" or "lunch"


@dataclass(frozen=True)
class Shift:
    """One agent's shift: when, its breaks, its paid time and which queue it serves when."""

    agent: str
    start: datetime
    end: datetime
    breaks: tuple[Break, ...]
    paid_seconds: int
    # (from, to, queue) runs, in time order
    queues: tuple[tuple[datetime, datetime, str], ...] = ()


@dataclass
class ScheduleResult:
    """A schedule and how well it covers the requirement."""

    shifts: list[Shift]
    agents: list[Agent]
    status: str
    objective: float
    grid_origin: datetime
    slot: int
    required: dict[str, list[int]]  # queue → required agents per slot
    scheduled: dict[str, list[int]]  # queue → agents assigned per slot
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def paid_hours(self) -> float:
        return sum(s.paid_seconds for s in self.shifts) / 3600

    def gap_slots(self) -> dict[str, int]:
        """Missing agent-slots per queue (a slot is ``self.slot`` seconds)."""
        return {
            q: sum(max(r - s, 0) for r, s in zip(req, self.scheduled[q], strict=True))
            for q, req in self.required.items()
        }

    def gap_hours(self) -> dict[str, float]:
        """Missing agent-hours per queue."""
        return {q: n * self.slot / 3600 for q, n in self.gap_slots().items()}

    def summary(self) -> dict[str, object]:
        """The figures worth printing or writing as JSON."""
        gaps = self.gap_hours()
        return {
            "status": self.status,
            "objective": round(self.objective, 3),
            "agents": len(self.agents),
            "agents_scheduled": len({s.agent for s in self.shifts}),
            "shifts": len(self.shifts),
            "paid_hours": round(self.paid_hours, 2),
            "coverage_gap_agent_hours": round(sum(gaps.values()), 2),
            "coverage_gap_by_queue": {q: round(h, 2) for q, h in gaps.items()},
            "slot_minutes": self.slot // 60,
            "seconds": round(self.seconds, 2),
            "warnings": self.warnings,
        }


ProgressHook = Callable[[str, float], None]


def make_schedule(
    req: Requirement,
    agents: Sequence[Agent],
    rules: Rules,
    *,
    time_limit: float = 60.0,
    workers: int | None = None,
    progress: ProgressHook | None = None,
) -> ScheduleResult:
    """Schedule ``agents`` against ``req`` under ``rules`` within about ``time_limit`` seconds.

    ``progress`` is called with a description and the fraction of the work done.
    """
    began = time.monotonic()
    report = progress or (lambda _text, _frac: None)
    # CP-SAT needs its portfolio (LP, LNS, local search) more than it needs cores: 8 workers find far
    # better schedules than 2, even on a 2-core machine.
    workers = workers or 8
    grid = make_grid(req, rules)
    types = shift_types(rules, grid)
    warnings: list[str] = []
    usable = [a for a in agents if a.queues]
    for a in agents:
        if not a.queues:
            warnings.append(f"agent {a.id} serves none of the queues in the requirement and is not scheduled")
    groups = make_groups(usable, types, grid)
    if not groups:
        raise ScheduleInputError("no agent can serve any queue of the requirement")

    report(f"planning day 1/{grid.days}", 0.0)

    def day_done(d: int, status: str, objective: float) -> None:
        text = f"planned day {d + 1}/{grid.days} ({status.lower()}, objective {objective:,.0f})"
        report(text, 0.8 * (d + 1) / grid.days)

    plan = plan_shifts(req, rules, grid, types, groups, time_limit * 0.8, workers, on_day=day_done)
    remaining = max(time_limit - (time.monotonic() - began), 1.0)
    shifts_by_agent: dict[str, list[tuple[int, int]]] = {}
    worst = plan.status
    for g, group in enumerate(groups):
        report(f"assigning shifts to agents ({g + 1}/{len(groups)} groups)", 0.8 + 0.2 * g / len(groups))
        share = remaining * len(group.agents) / len(usable)
        result = assign_group(group, g, plan, rules, grid, types, share, workers)
        if result.status != "OPTIMAL":
            worst = "FEASIBLE" if result.status == "FEASIBLE" and worst == "OPTIMAL" else worst
            if result.status not in ("OPTIMAL", "FEASIBLE"):
                warnings.append(f"no assignment found in time for {len(group.agents)} agents; shifts dropped")
        if result.dropped:
            warnings.append(
                f"{result.dropped} planned shift(s) of agents like {group.agents[0].id} could not be handed "
                "out within the weekly limits and rest rules"
            )
        for index, minutes in result.shortfall_minutes.items():
            if minutes > 0:
                warnings.append(
                    f"agent {group.agents[index].id} is {minutes / 60:g}h short of the contract minimum"
                )
        for index, member in enumerate(group.agents):
            shifts_by_agent[member.id] = result.shifts.get(index, [])
    report("assigning shifts to agents", 1.0)

    shifts = _build_shifts(groups, plan, shifts_by_agent, types, grid)
    need = required_slots(req, grid)
    required = {q: [need.get(q, {}).get(t, 0) for t in range(grid.slots)] for q in req.queues}
    shifts, scheduled = _assign_queues(shifts, groups, plan, required, grid)
    return ScheduleResult(
        shifts=shifts,
        agents=list(agents),
        status=worst,
        objective=plan.objective,
        grid_origin=day_start(req.first_day, 0),
        slot=grid.slot,
        required=required,
        scheduled=scheduled,
        seconds=time.monotonic() - began,
        warnings=warnings,
    )


def _build_shifts(
    groups: Sequence[Group],
    plan: Plan,
    by_agent: Mapping[str, list[tuple[int, int]]],
    types: Sequence[ShiftType],
    grid: Grid,
) -> list[Shift]:
    """Turn (day, shift type) per agent into timed shifts with their breaks.

    All agents of one skill set on the same day and shift type share the sorted break placements of
    the plan: the i-th agent takes the i-th earliest of every break, which phase 1 made overlap-free.
    """
    origin = day_start(grid.first_day, 0)
    slot = timedelta(seconds=grid.slot)
    taken: dict[tuple[tuple[str, ...], int, int], int] = defaultdict(int)
    out: list[Shift] = []
    for group in groups:
        for agent in sorted(group.agents, key=lambda a: a.id):
            for d, s in by_agent.get(agent.id, []):
                st = types[s]
                i = taken[group.queues, d, s]
                taken[group.queues, d, s] += 1
                first = d * grid.per_day + st.start
                breaks = tuple(
                    Break(
                        origin + slot * (first + p),
                        origin + slot * (first + p + brk.duration),
                        brk.kind,
                    )
                    for b, brk in enumerate(st.breaks)
                    for p in [plan.placements[group.queues, d, s, b][i]]
                )
                out.append(
                    Shift(
                        agent=agent.id,
                        start=origin + slot * first,
                        end=origin + slot * (first + st.length),
                        breaks=breaks,
                        paid_seconds=st.paid_minutes * 60,
                    )
                )
    out.sort(key=lambda s: (s.agent, s.start))
    return out


def _assign_queues(
    shifts: Sequence[Shift],
    groups: Sequence[Group],
    plan: Plan,
    required: Mapping[str, list[int]],
    grid: Grid,
) -> tuple[list[Shift], dict[str, list[int]]]:
    """Say which queue each working agent serves in each slot.

    The plan gives, per skill set and slot, how many agents serve each queue; agents keep the queue
    they served in the previous slot where they can, so assignments come in long runs. Agents beyond
    the plan's numbers (e.g. during a quiet hour inside their shift) go where the most is missing.
    """
    origin = day_start(grid.first_day, 0)
    skill_of = {a.id: g.queues for g in groups for a in g.agents}
    at_work: dict[int, list[str]] = defaultdict(list)
    for sh in shifts:
        first = int((sh.start - origin).total_seconds()) // grid.slot
        last = int((sh.end - origin).total_seconds()) // grid.slot
        off: set[int] = set()
        for b in sh.breaks:
            b0 = int((b.start - origin).total_seconds()) // grid.slot
            b1 = int((b.end - origin).total_seconds()) // grid.slot
            off.update(range(b0, b1))
        for t in range(first, last):
            if t not in off:
                at_work[t].append(sh.agent)
    scheduled = {q: [0] * grid.slots for q in required}
    serving: dict[str, dict[int, str]] = defaultdict(dict)
    previous: dict[str, str] = {}
    for t in range(grid.slots):
        pool: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for agent in sorted(at_work.get(t, [])):
            pool[skill_of[agent]].append(agent)
        spare: list[str] = []
        for ks, members in pool.items():
            target = {q: plan.assignment.get((ks, q, t), 0) for q in ks}
            free = list(members)
            for agent in list(free):
                q = previous.get(agent)
                if q is not None and target.get(q, 0) > 0:
                    target[q] -= 1
                    serving[agent][t] = q
                    free.remove(agent)
            for q in ks:
                while target[q] > 0 and free:
                    agent = free.pop(0)
                    target[q] -= 1
                    serving[agent][t] = q
            spare.extend(free)
        for q in (serving[a][t] for a in at_work.get(t, []) if t in serving[a]):
            scheduled[q][t] += 1
        for agent in spare:
            queues = skill_of[agent]
            q = max(queues, key=lambda q: (required[q][t] - scheduled[q][t], q == previous.get(agent)))
            serving[agent][t] = q
            scheduled[q][t] += 1
        for agent in at_work.get(t, []):
            previous[agent] = serving[agent][t]
    out: list[Shift] = []
    for sh in shifts:
        runs: list[tuple[datetime, datetime, str]] = []
        first = int((sh.start - origin).total_seconds()) // grid.slot
        last = int((sh.end - origin).total_seconds()) // grid.slot
        for t in range(first, last):
            q = serving[sh.agent].get(t)
            if q is None:
                continue
            begin = origin + timedelta(seconds=t * grid.slot)
            end = begin + timedelta(seconds=grid.slot)
            if runs and runs[-1][2] == q and runs[-1][1] == begin:
                runs[-1] = (runs[-1][0], end, q)
            else:
                runs.append((begin, end, q))
        out.append(Shift(sh.agent, sh.start, sh.end, sh.breaks, sh.paid_seconds, tuple(runs)))
    return out, scheduled
