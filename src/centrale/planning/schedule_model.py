"""The CP-SAT models behind shift scheduling.

Scheduling runs in two phases, because a model with one variable per agent, day and shift pattern is
both large and full of symmetry (interchangeable agents) that slows CP-SAT down:

1. **Plan** (one model per day, in date order). Agents that are interchangeable — same queues, same
   availability, same contract — form a *group*. For every group, day and shift type (start, length)
   an integer says how many of the group work it. Breaks and lunches are placed *implicitly*: for
   every skill set, day, shift type and break, an integer per possible start says how many of those
   shifts take that break then (the classic implicit-break formulation). Per interval, the agents of a
   skill set who are at work and not on a break are split over their queues by integer assignment
   variables; what a queue still misses is the gap. The objective is paid minutes plus a heavy penalty
   per missing agent-slot, so any gap that one more shift could close is closed.
2. **Assign** (one small model per group). The planned shifts of a group are handed to its agents,
   respecting one shift per day, the weekly limits and the minimum rest between shifts exactly. A
   shift that cannot be handed out is dropped (and shows up as gap in the final evaluation).

Phase 1 carries each group's weekly limits from day to day as budgets (each day may use a
need-weighted share of what is left, with slack) and imposes the rest rule against the previous
day's planned shifts on the group totals, so phase 2 nearly always hands out every planned shift.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ortools.sat.python import cp_model

from centrale.planning.schedule_input import Agent, Requirement, Rules, ScheduleInputError, day_start

DAY = 86400


@dataclass(frozen=True)
class BreakSlot:
    """One break of a shift type: its possible starts (in slots after the shift start)."""

    kind: str
    duration: int
    positions: tuple[int, ...]


@dataclass(frozen=True)
class ShiftType:
    """A shift start (slot of the day) and length (slots), with its breaks in time order."""

    start: int
    length: int
    paid_minutes: int
    breaks: tuple[BreakSlot, ...]


@dataclass(frozen=True)
class Grid:
    """The time grid the models work on: slots of ``slot`` seconds counted from midnight of day 0."""

    slot: int
    days: int
    first_day: date
    slots: int  # the horizon in slots, including shifts that run past the last midnight

    @property
    def per_day(self) -> int:
        return DAY // self.slot


@dataclass
class Group:
    """Interchangeable agents: same queues, availability and contract over the horizon."""

    queues: tuple[str, ...]
    agents: list[Agent]
    # day → indices into the shift types that fit the availability
    feasible: dict[int, list[int]]


@dataclass
class Plan:
    """Phase 1's answer: how many of each group work each shift type, and where breaks go."""

    status: str
    objective: float
    counts: dict[tuple[int, int, int], int]  # (group, day, shift type) → agents
    # (skill set, day, shift type, break index) → break start offsets, sorted, one per planned shift
    placements: dict[tuple[tuple[str, ...], int, int, int], list[int]]
    # (skill set, queue, slot) → agents of that skill set assigned to the queue
    assignment: dict[tuple[tuple[str, ...], str, int], int]
    wall_seconds: float


def make_grid(req: Requirement, rules: Rules) -> Grid:
    """Pick the coarsest slot that every time in the rules and the requirement falls on."""
    parts = [req.interval, rules.start_every, rules.start_from, *rules.lengths]
    if rules.breaks is not None:
        parts.append(rules.breaks.duration)
    if rules.lunch is not None:
        parts.append(rules.lunch.duration)
    slot = 0
    for p in parts:
        slot = math.gcd(slot, p)
    if slot < 300:
        raise ScheduleInputError(
            "the requirement interval, shift starts, lengths and break durations need a common grid of "
            f"at least 5 minutes (they only share {slot} s)"
        )
    slot = math.gcd(slot, DAY)
    extra = -(-max(rules.lengths) // slot)
    return Grid(slot=slot, days=req.days, first_day=req.first_day, slots=req.days * (DAY // slot) + extra)


def _break_slots(length: int, rules: Rules, slot: int) -> tuple[BreakSlot, ...]:
    wanted: list[tuple[str, int, int, int]] = []  # kind, duration, window start, window end (seconds)
    if rules.breaks is not None:
        for k in range(length // rules.breaks.per):
            lo, hi = rules.breaks.window
            wanted.append(
                ("break", rules.breaks.duration, k * rules.breaks.per + lo, k * rules.breaks.per + hi)
            )
    if rules.lunch is not None and length >= rules.lunch.min_shift:
        wanted.append(("lunch", rules.lunch.duration, *rules.lunch.window))
    out: list[BreakSlot] = []
    for kind, duration, lo, hi in wanted:
        dur = duration // slot
        first, last = -(-lo // slot), hi // slot
        positions = tuple(p for p in range(max(first, 0), last + 1) if p + dur <= length // slot)
        if not positions:
            raise ScheduleInputError(
                f"rules: a {kind} of {duration // 60} min does not fit its window in a "
                f"{length / 3600:g}h shift"
            )
        out.append(BreakSlot(kind, dur, positions))
    out.sort(key=lambda b: (b.positions[0], b.positions[-1]))
    # The breaks are taken in this order; check that one placement of all of them exists.
    cursor = 0
    for b in out:
        p = next((p for p in b.positions if p >= cursor), None)
        if p is None:
            raise ScheduleInputError(
                f"rules: the breaks and lunch of a {length / 3600:g}h shift cannot all fit their windows "
                "without overlapping"
            )
        cursor = p + b.duration
    return tuple(out)


def shift_types(rules: Rules, grid: Grid) -> list[ShiftType]:
    """Every allowed (start, length) with its break windows, in slots."""
    types: list[ShiftType] = []
    for length in rules.lengths:
        breaks = _break_slots(length, rules, grid.slot)
        unpaid = (
            rules.lunch.duration
            if rules.lunch and not rules.lunch.paid and length >= rules.lunch.min_shift
            else 0
        )
        for start in range(rules.start_from, rules.start_to + 1, rules.start_every):
            types.append(ShiftType(start // grid.slot, length // grid.slot, (length - unpaid) // 60, breaks))
    return types


def make_groups(agents: Sequence[Agent], types: Sequence[ShiftType], grid: Grid) -> list[Group]:
    """Bundle agents that the model cannot tell apart."""
    buckets: dict[tuple[object, ...], Group] = {}
    for agent in agents:
        feasible: dict[int, list[int]] = {}
        for d in range(grid.days):
            windows = agent.windows_on(grid.first_day + timedelta(days=d))
            fit = [
                i
                for i, st in enumerate(types)
                if any(
                    lo <= st.start * grid.slot and (st.start + st.length) * grid.slot <= hi
                    for lo, hi in windows
                )
            ]
            if fit:
                feasible[d] = fit
        key = (
            tuple(sorted(agent.queues)),
            tuple(sorted((d, tuple(v)) for d, v in feasible.items())),
            agent.min_weekly,
            agent.max_weekly,
            agent.max_shifts_per_week,
        )
        if key not in buckets:
            buckets[key] = Group(tuple(sorted(agent.queues)), [], feasible)
        buckets[key].agents.append(agent)
    return list(buckets.values())


def _blocks(days: int) -> list[tuple[range, bool]]:
    """Weeks as 7-day blocks from the first day; the bool says whether the block is complete."""
    return [(range(w, min(w + 7, days)), w + 7 <= days) for w in range(0, days, 7)]


def _rest_conflicts(types: Sequence[ShiftType], slot: int, rest: int, gap_days: int) -> dict[int, list[int]]:
    """For each shift type, the types ``gap_days`` later that start too soon after it ends."""
    out: dict[int, list[int]] = {}
    for i, a in enumerate(types):
        end = (a.start + a.length) * slot
        bad = [j for j, b in enumerate(types) if gap_days * DAY + b.start * slot - end < rest]
        if bad:
            out[i] = bad
    return out


@dataclass
class _Budget:
    """What is left of one group's weekly limits (totals over the group's agents)."""

    shifts: int | None
    minutes: int | None
    minimum: int


def plan_shifts(
    req: Requirement,
    rules: Rules,
    grid: Grid,
    types: Sequence[ShiftType],
    groups: Sequence[Group],
    time_limit: float,
    workers: int,
    on_day: Callable[[int, str, float], None] | None = None,
) -> Plan:
    """Phase 1, one model per day in date order, weekly limits carried as budgets.

    A whole-week model is exact but too large to solve well in a minute for a few hundred agents,
    so each day is solved on its own: the shifts of the previous day are fixed (they count toward
    coverage after midnight and constrain tomorrow's starts through the rest rule), and each group
    may use at most a need-weighted share (with slack) of what is left of its weekly shifts and
    hours, and should reach its share of the contract minimums.
    """
    need = _required_slots(req, grid)
    per_day = grid.per_day
    weights = [
        sum(r for slots in need.values() for t, r in slots.items() if d * per_day <= t < (d + 1) * per_day)
        for d in range(grid.days)
    ]
    plan = Plan("OPTIMAL", 0.0, {}, {}, {}, 0.0)
    budgets: list[_Budget] = []
    deadline = time.monotonic() + time_limit
    for d in range(grid.days):
        block_start = d - d % 7
        block_days = range(block_start, min(block_start + 7, grid.days))
        if d == block_start:
            complete = block_start + 7 <= grid.days
            budgets = [
                _Budget(
                    None
                    if (a := grp.agents[0]).max_shifts_per_week is None
                    else len(grp.agents) * a.max_shifts_per_week,
                    None if a.max_weekly is None else len(grp.agents) * a.max_weekly // 60,
                    len(grp.agents) * a.min_weekly // 60 if complete else 0,
                )
                for grp in groups
            ]
        shares = []
        for grp in groups:
            ahead = [x for x in block_days if x >= d and x in grp.feasible]
            total = sum(weights[x] for x in ahead)
            shares.append(
                0.0 if d not in grp.feasible else (weights[d] / total if total else 1.0 / len(ahead))
            )
        left = max(deadline - time.monotonic(), 0.2)
        day_limit = left / (grid.days - d)
        status, objective = _plan_day(
            d, need, rules, grid, types, groups, budgets, shares, plan, day_limit, workers
        )
        if on_day is not None:
            on_day(d, status, objective)
        if status == "FEASIBLE" and plan.status == "OPTIMAL":
            plan.status = "FEASIBLE"
        plan.objective += objective
        for g in range(len(groups)):
            used = [(c, types[s]) for (gg, dd, s), c in plan.counts.items() if gg == g and dd == d]
            shifts = sum(c for c, _ in used)
            minutes = sum(c * st.paid_minutes for c, st in used)
            bud = budgets[g]
            bud.shifts = None if bud.shifts is None else bud.shifts - shifts
            bud.minutes = None if bud.minutes is None else bud.minutes - minutes
            bud.minimum = max(bud.minimum - minutes, 0)
    plan.wall_seconds = time_limit - max(deadline - time.monotonic(), 0.0)
    return plan


def _plan_day(
    d: int,
    need: Mapping[str, Mapping[int, int]],
    rules: Rules,
    grid: Grid,
    types: Sequence[ShiftType],
    groups: Sequence[Group],
    budgets: Sequence[_Budget],
    shares: Sequence[float],
    plan: Plan,
    time_limit: float,
    workers: int,
) -> tuple[str, float]:
    """Solve one day and record its counts, breaks and queue assignment in ``plan``.

    An exact implicit-break model of a busy day is slow for CP-SAT (thousands of integer break
    variables), so the day is solved by alternating two fast models: choose shifts with breaks left
    out but against a requirement raised by a break allowance, then place the breaks of those shifts
    exactly. Where the exact placement leaves a gap, the allowance there grows by the gap and the
    shifts are chosen again (from the previous answer as a hint). The best exact answer is kept; the
    reported gap always comes from an exact placement.
    """
    began = time.monotonic()
    per_day = grid.per_day
    share = _break_share(types)
    raised = {q: dict(slots) for q, slots in need.items()}
    for slots in raised.values():
        for t, r in slots.items():
            if d * per_day <= t < (d + 2) * per_day:
                slots[t] = r + round(r * share * _ALLOWANCE)
    hint: dict[tuple[int, int], int] | None = None
    best: tuple[float, str, dict[tuple[int, int], int], _Placed] | None = None
    for attempt in range(2):
        left = time_limit - (time.monotonic() - began)
        if attempt and left < 0.5:
            break
        status_a, counts = _solve_shifts(
            d,
            raised,
            rules,
            grid,
            types,
            groups,
            budgets,
            shares,
            plan,
            max(left * (0.55 if attempt == 0 else 0.7), 0.5),
            workers,
            hint,
        )
        if status_a == "UNKNOWN":
            if best is not None:
                break  # keep the best answer so far
            raise ScheduleInputError(
                f"the solver found no shifts for day {d + 1} within the time limit; "
                "allow more time with --time-limit"
            )
        for key in [k for k in plan.counts if k[1] == d]:
            del plan.counts[key]
        plan.counts.update({(g, d, s): c for (g, s), c in counts.items() if c > 0})
        left = time_limit - (time.monotonic() - began)
        placed = _place_breaks(d, need, grid, types, groups, plan, max(left * 0.45, 1.0), workers)
        paid = sum(c * types[s].paid_minutes for (g, s), c in counts.items())
        objective = float(paid + gap_weight(types) * placed.gap_total)
        status = "OPTIMAL" if status_a == placed.status == "OPTIMAL" else "FEASIBLE"
        if best is None or objective < best[0]:
            best = (objective, status, counts, placed)
        if placed.gap_total == 0:
            break
        hint = counts
        for (q, t), gap in placed.gaps.items():
            raised[q][t] = raised[q].get(t, 0) + gap
    assert best is not None
    objective, status, counts, placed = best
    for old in [k for k in plan.counts if k[1] == d]:
        del plan.counts[old]
    plan.counts.update({(g, d, s): c for (g, s), c in counts.items() if c > 0})
    for (ks, s, b), positions in placed.placements.items():
        plan.placements[ks, d, s, b] = positions
    # Slots shared with yesterday's shifts are re-assigned here, with everyone at work counted.
    for stale in [k for k in plan.assignment if k[2] in placed.window]:
        del plan.assignment[stale]
    plan.assignment.update(placed.assignment)
    return status, objective


def _break_share(types: Sequence[ShiftType]) -> float:
    """The average share of a shift spent on breaks: the initial allowance for breaks."""
    shares = [sum(b.duration for b in st.breaks) / st.length for st in types]
    return sum(shares) / len(shares)


@dataclass
class _Placed:
    """An exact break placement of one day's shifts and what it leaves uncovered."""

    status: str
    gap_total: int
    gaps: dict[tuple[str, int], int]
    placements: dict[tuple[tuple[str, ...], int, int], list[int]]
    assignment: dict[tuple[tuple[str, ...], str, int], int]
    window: set[int]


def gap_weight(types: Sequence[ShiftType]) -> int:
    """Cost of one missing agent-slot in paid minutes: more than the longest shift, so a shift that
    closes any gap is always worth adding."""
    return max(st.paid_minutes for st in types) + 1


# Breaks cluster in their windows, so the first allowance is this much above the average break share.
_ALLOWANCE = 1.5
# How far above its need-weighted share of the weekly budget one day may go.
_SLACK = 1.1


def _solve_shifts(
    d: int,
    need: Mapping[str, Mapping[int, int]],
    rules: Rules,
    grid: Grid,
    types: Sequence[ShiftType],
    groups: Sequence[Group],
    budgets: Sequence[_Budget],
    shares: Sequence[float],
    plan: Plan,
    time_limit: float,
    workers: int,
    hint: Mapping[tuple[int, int], int] | None,
) -> tuple[str, dict[tuple[int, int], int]]:
    """Choose how many agents of each group work each shift type, breaks left out."""
    m = cp_model.CpModel()
    per_day = grid.per_day
    counts: dict[tuple[int, int], cp_model.IntVar] = {}
    paid_terms: list[tuple[cp_model.IntVar, int]] = []
    shortfalls: list[cp_model.IntVar] = []
    for g, group in enumerate(groups):
        fit = group.feasible.get(d, [])
        if not fit:
            continue
        size = len(group.agents)
        for s in fit:
            v = m.new_int_var(0, size, f"n_{g}_{s}")
            counts[g, s] = v
            paid_terms.append((v, types[s].paid_minutes))
        m.add(sum(counts[g, s] for s in fit) <= size)
        bud, share = budgets[g], shares[g]
        paid = cp_model.LinearExpr.weighted_sum(
            [counts[g, s] for s in fit], [types[s].paid_minutes for s in fit]
        )
        # Slack above the fair share lets a busy day take more; the last day may take all that is left.
        if bud.shifts is not None:
            cap = min(bud.shifts, math.ceil(bud.shifts * min(share * _SLACK, 1.0)))
            m.add(sum(counts[g, s] for s in fit) <= max(cap, 0))
        if bud.minutes is not None:
            cap = min(bud.minutes, math.ceil(bud.minutes * min(share * _SLACK, 1.0)))
            m.add(paid <= max(cap, 0))
        if bud.minimum > 0 and share > 0:
            target = math.floor(bud.minimum * share)
            short = m.new_int_var(0, target, "")
            m.add(paid + short >= target)
            shortfalls.append(short)
        # Rest after yesterday's shifts of this group: late finishers cannot start early today.
        yesterday = [(types[s], c) for (gg, dd, s), c in plan.counts.items() if gg == g and dd == d - 1]
        for end in sorted({st.start + st.length for st, _ in yesterday}):
            late = sum(c for st, c in yesterday if st.start + st.length >= end)
            early = [
                counts[g, s] for s in fit if (per_day + types[s].start - end) * grid.slot < rules.min_rest
            ]
            if early:
                m.add(sum(early) <= size - late)

    skill_sets = _skill_sets(groups)
    working: dict[tuple[tuple[str, ...], int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    window: set[int] = set()
    for ks, members in skill_sets.items():
        cap = sum(len(groups[g].agents) for g in members)
        for s in sorted({s for g in members for s in groups[g].feasible.get(d, [])}):
            st = types[s]
            n_var = m.new_int_var(0, cap, "")
            m.add(n_var == sum(counts[g, s] for g in members if (g, s) in counts))
            first = d * per_day + st.start
            for o in range(st.length):
                window.add(first + o)
                working[ks, first + o].append((n_var, 1))
    carried = _carried(plan, groups, types, grid, d, window)
    gaps = _cover(m, need, skill_sets, groups, window, working, carried)[1]
    m.minimize(
        cp_model.LinearExpr.weighted_sum([v for v, _ in paid_terms], [p for _, p in paid_terms])
        + gap_weight(types) * sum(gaps.values())
        + 2 * sum(shortfalls)
    )
    for key, value in (hint or {}).items():
        m.add_hint(counts[key], value)
    solver = _solver(time_limit, workers)
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "UNKNOWN", {}
    return str(solver.status_name(status)), {key: int(solver.value(var)) for key, var in counts.items()}


def _place_breaks(
    d: int,
    need: Mapping[str, Mapping[int, int]],
    grid: Grid,
    types: Sequence[ShiftType],
    groups: Sequence[Group],
    plan: Plan,
    time_limit: float,
    workers: int,
) -> _Placed:
    """Place the breaks of a day's chosen shifts exactly and assign queues per slot."""
    m = cp_model.CpModel()
    per_day = grid.per_day
    skill_sets = _skill_sets(groups)
    working: dict[tuple[tuple[str, ...], int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    constant: dict[tuple[tuple[str, ...], int], int] = defaultdict(int)
    placements: dict[tuple[tuple[str, ...], int, int], list[tuple[int, cp_model.IntVar]]] = {}
    window: set[int] = set()
    for ks, members in skill_sets.items():
        chosen: dict[int, int] = defaultdict(int)
        for (g, dd, s), c in plan.counts.items():
            if dd == d and g in members:
                chosen[s] += c
        for s, total in sorted(chosen.items()):
            st = types[s]
            first = d * per_day + st.start
            for t in range(first, first + st.length):
                window.add(t)
                constant[ks, t] += total
            previous: list[tuple[int, cp_model.IntVar]] = []
            prev_duration = prev_last = 0
            for b, brk in enumerate(st.breaks):
                ys = [(p, m.new_int_var(0, total, "")) for p in brk.positions]
                m.add(sum(y for _, y in ys) == total)
                for p, y in ys:
                    for t in range(first + p, first + p + brk.duration):
                        working[ks, t].append((y, -1))
                # Sorted pairing of consecutive breaks needs, at every start of this break, at least
                # as many earlier breaks already finished (so no agent's breaks overlap). Once every
                # earlier break can have finished the condition holds by itself.
                for p, _ in ys if b else []:
                    if p >= prev_last + prev_duration:
                        break
                    started = [y for q, y in ys if q <= p]
                    finished = [y for q, y in previous if q + prev_duration <= p]
                    m.add(sum(started) <= sum(finished))
                placements[ks, s, b] = ys
                previous, prev_duration, prev_last = ys, brk.duration, brk.positions[-1]
    carried = _carried(plan, groups, types, grid, d, window)
    for key, c in constant.items():
        carried[key] = carried.get(key, 0) + c
    assignment, gaps = _cover(m, need, skill_sets, groups, window, working, carried)
    m.minimize(sum(gaps.values()))
    # Hint a valid placement (breaks spread over their windows) so a short solve still has one.
    for (ks, s, b), ys in placements.items():
        total = sum(
            c for (g, dd, ss), c in plan.counts.items() if dd == d and ss == s and groups[g].queues == ks
        )
        for (_, y), n in zip(ys, _spread(types[s], b, total), strict=True):
            m.add_hint(y, n)
    # This model lives on its LP relaxation: extra portfolio workers only steal the LP's CPU time.
    solver = _solver(time_limit, min(workers, max(os.cpu_count() or 1, 2)))
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ScheduleInputError(
            f"the solver could not place the breaks of day {d + 1} within {time_limit:.1f} s "
            f"(status {solver.status_name(status)}); allow more time with --time-limit"
        )
    gap_by_slot = {key: v for key, var in gaps.items() if (v := int(solver.value(var))) > 0}
    return _Placed(
        status=str(solver.status_name(status)),
        gap_total=sum(gap_by_slot.values()),
        gaps=gap_by_slot,
        placements={
            key: sorted(p for p, y in ys for _ in range(solver.value(y))) for key, ys in placements.items()
        },
        assignment={key: v for key, var in assignment.items() if (v := int(solver.value(var))) > 0},
        window=window,
    )


def _spread(st: ShiftType, b: int, total: int) -> list[int]:
    """How many of ``total`` shifts take break ``b`` at each position, in a valid spread placement.

    Agent i takes, for every break, the i-th position of its window (cyclically) or the first one
    after their previous break; chains built one agent at a time are valid, so their sorted pairing is.
    """
    counts = [0] * len(st.breaks[b].positions)
    for i in range(total):
        cursor = 0
        for k, brk in enumerate(st.breaks):
            ordered = brk.positions[i % len(brk.positions) :] + brk.positions[: i % len(brk.positions)]
            p = next((p for p in ordered if p >= cursor), None)
            if p is None:
                p = next(p for p in brk.positions if p >= cursor)
            if k == b:
                counts[brk.positions.index(p)] += 1
            cursor = p + brk.duration
    return counts


def _skill_sets(groups: Sequence[Group]) -> dict[tuple[str, ...], list[int]]:
    out: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for g, group in enumerate(groups):
        out[group.queues].append(g)
    return out


def _solver(time_limit: float, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.2)
    solver.parameters.num_workers = workers
    return solver


def _cover(
    m: cp_model.CpModel,
    need: Mapping[str, Mapping[int, int]],
    skill_sets: Mapping[tuple[str, ...], list[int]],
    groups: Sequence[Group],
    window: set[int],
    working: Mapping[tuple[tuple[str, ...], int], list[tuple[cp_model.IntVar, int]]],
    constant: Mapping[tuple[tuple[str, ...], int], int],
) -> tuple[dict[tuple[tuple[str, ...], str, int], cp_model.IntVar], dict[tuple[str, int], cp_model.IntVar]]:
    """Split the agents at work per skill set and slot over their queues; return the gap variables.

    ``constant`` is presence already fixed (shifts of earlier days, or chosen shifts before breaks).
    """
    assignment: dict[tuple[tuple[str, ...], str, int], cp_model.IntVar] = {}
    by_queue_slot: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    for ks, members in skill_sets.items():
        cap = sum(len(groups[g].agents) for g in members)
        for t in sorted(window):
            terms = working.get((ks, t), [])
            extra = constant.get((ks, t), 0)
            if not terms and not extra:
                continue
            zs = []
            for q in ks:
                r = need.get(q, {}).get(t, 0)
                if r > 0:
                    z = m.new_int_var(0, min(cap, r), "")
                    assignment[ks, q, t] = z
                    by_queue_slot[q, t].append(z)
                    zs.append(z)
            if zs:
                present = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])
                m.add(sum(zs) <= present + extra)
    gaps: dict[tuple[str, int], cp_model.IntVar] = {}
    for q, per_slot in need.items():
        for t in sorted(window):
            r = per_slot.get(t, 0)
            if r > 0:
                gap = m.new_int_var(0, r, "")
                gaps[q, t] = gap
                m.add(sum(by_queue_slot.get((q, t), [])) + gap >= r)
    return assignment, gaps


def _carried(
    plan: Plan, groups: Sequence[Group], types: Sequence[ShiftType], grid: Grid, d: int, window: set[int]
) -> dict[tuple[tuple[str, ...], int], int]:
    """Agents per skill set and slot, from shifts planned on earlier days, at work in ``window``."""
    out: dict[tuple[tuple[str, ...], int], int] = defaultdict(int)
    taken: dict[tuple[tuple[str, ...], int, int], int] = defaultdict(int)
    for (g, dd, s), c in sorted(plan.counts.items()):
        if dd >= d:
            continue
        st = types[s]
        first = dd * grid.per_day + st.start
        if first + st.length <= min(window, default=0):
            continue
        ks = groups[g].queues
        for _ in range(c):
            i = taken[ks, dd, s]
            taken[ks, dd, s] += 1
            off = {
                t
                for b, brk in enumerate(st.breaks)
                for p in [plan.placements[ks, dd, s, b][i]]
                for t in range(first + p, first + p + brk.duration)
            }
            for t in range(first, first + st.length):
                if t in window and t not in off:
                    out[ks, t] += 1
    return out


def _required_slots(req: Requirement, grid: Grid) -> dict[str, dict[int, int]]:
    """Requirement per queue on the model grid; an interval's requirement holds in each of its slots."""
    origin = day_start(req.first_day, 0)
    sub = req.interval // grid.slot
    out: dict[str, dict[int, int]] = {}
    for q, per_interval in req.values.items():
        slots: dict[int, int] = {}
        for ts, r in per_interval.items():
            if r <= 0:
                continue
            first = int((ts - origin).total_seconds()) // grid.slot
            for t in range(first, first + sub):
                slots[t] = r
        out[q] = slots
    return out


def required_slots(req: Requirement, grid: Grid) -> dict[str, dict[int, int]]:
    """Public form of the requirement on the model grid (for evaluation and plots)."""
    return _required_slots(req, grid)


@dataclass
class Assignment:
    """Phase 2's answer for one group: agent index → list of (day, shift type)."""

    status: str
    shifts: dict[int, list[tuple[int, int]]]
    dropped: int
    shortfall_minutes: dict[int, int]


def assign_group(
    group: Group,
    g: int,
    plan: Plan,
    rules: Rules,
    grid: Grid,
    types: Sequence[ShiftType],
    time_limit: float,
    workers: int,
) -> Assignment:
    """Phase 2: hand the group's planned shifts to its agents, exactly respecting per-agent rules."""
    wanted = {(d, s): c for (gg, d, s), c in plan.counts.items() if gg == g}
    if not wanted:
        return Assignment("OPTIMAL", {}, 0, {})
    greedy = _greedy_assign(group, wanted, rules, grid, types)
    if greedy.dropped == 0 and not any(greedy.shortfall_minutes.values()):
        return greedy  # nothing dropped, no contract short: the objective's lower bound, so optimal
    agent = group.agents[0]
    m = cp_model.CpModel()
    n = len(group.agents)
    w: dict[tuple[int, int, int], cp_model.IntVar] = {
        (a, d, s): m.new_bool_var("") for a in range(n) for (d, s) in wanted
    }
    dropped_terms = []
    for (d, s), c in wanted.items():
        drop = m.new_int_var(0, c, "")
        m.add(sum(w[a, d, s] for a in range(n)) + drop == c)
        dropped_terms.append((drop, types[s].paid_minutes))
    by_day: Mapping[int, list[int]] = _by_day(wanted)
    conflicts = {k: _rest_conflicts(types, grid.slot, rules.min_rest, k) for k in (1, 2)}
    shortfalls: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    totals = []
    for a in range(n):
        for d, ss in by_day.items():
            m.add_at_most_one(w[a, d, s] for s in ss)
            for k, table in conflicts.items():
                later = by_day.get(d + k, [])
                for s in ss:
                    bad = [w[a, d + k, s2] for s2 in table.get(s, []) if s2 in later]
                    if bad:
                        m.add(w[a, d, s] + sum(bad) <= 1)
        for block, complete in _blocks(grid.days):
            vs = [(w[a, d, s], types[s].paid_minutes) for d in block for s in by_day.get(d, [])]
            if agent.max_shifts_per_week is not None:
                m.add(sum(v for v, _ in vs) <= agent.max_shifts_per_week)
            paid = cp_model.LinearExpr.weighted_sum([v for v, _ in vs], [p for _, p in vs])
            if agent.max_weekly is not None:
                m.add(paid <= agent.max_weekly // 60)
            if complete and agent.min_weekly > 0:
                short = m.new_int_var(0, agent.min_weekly // 60, "")
                m.add(paid + short >= agent.min_weekly // 60)
                shortfalls[a].append(short)
        all_paid = [(w[a, d, s], types[s].paid_minutes) for (d, s) in wanted]
        totals.append(cp_model.LinearExpr.weighted_sum([v for v, _ in all_paid], [p for _, p in all_paid]))
    # The agents are interchangeable: order them by hours to cut symmetric search.
    for a in range(n - 1):
        m.add(totals[a] >= totals[a + 1])
    m.minimize(
        1000 * cp_model.LinearExpr.weighted_sum([v for v, _ in dropped_terms], [p for _, p in dropped_terms])
        + sum(s for ss in shortfalls.values() for s in ss)
    )
    # Start from the greedy answer, agents renumbered to agree with the symmetry-breaking order.
    minutes = {a: sum(types[s].paid_minutes for _, s in v) for a, v in greedy.shifts.items()}
    order = sorted(range(n), key=lambda a: -minutes.get(a, 0))
    for new_a, old_a in enumerate(order):
        mine = set(greedy.shifts.get(old_a, []))
        for d, s in wanted:
            m.add_hint(w[new_a, d, s], (d, s) in mine)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.5)
    solver.parameters.num_workers = workers
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return greedy  # the greedy answer respects every rule; it only hands out less
    shifts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (a, d, s), v in w.items():
        if solver.value(v):
            shifts[a].append((d, s))
    return Assignment(
        status=solver.status_name(status),
        shifts={a: sorted(v) for a, v in shifts.items()},
        dropped=sum(solver.value(v) for v, _ in dropped_terms),
        shortfall_minutes={a: sum(solver.value(s) for s in ss) for a, ss in shortfalls.items()},
    )


def _by_day(wanted: Mapping[tuple[int, int], int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for d, s in sorted(wanted):
        out[d].append(s)
    return dict(out)


def _greedy_assign(
    group: Group, wanted: Mapping[tuple[int, int], int], rules: Rules, grid: Grid, types: Sequence[ShiftType]
) -> Assignment:
    """Hand out shifts day by day, early starts first, to the agent who can take it and needs it most.

    Every rule is checked exactly, so the answer is valid; it may drop shifts a smarter order would
    place, which is what the CP-SAT model after it is for.
    """
    agent = group.agents[0]
    n = len(group.agents)
    shifts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    ends: dict[int, list[tuple[int, int]]] = defaultdict(list)  # agent → [(start, end)] in seconds
    week_shifts: dict[tuple[int, int], int] = defaultdict(int)
    week_minutes: dict[tuple[int, int], int] = defaultdict(int)
    dropped = 0
    for d, s in sorted(wanted, key=lambda k: (k[0], types[k[1]].start, -types[k[1]].length)):
        st = types[s]
        begin = d * DAY + st.start * grid.slot
        finish = begin + st.length * grid.slot
        week = d // 7
        for _ in range(wanted[d, s]):
            best: tuple[tuple[int, int, int], int] | None = None
            for a in range(n):
                if shifts[a] and shifts[a][-1][0] == d:
                    continue
                if any(begin < e + rules.min_rest and b < finish + rules.min_rest for b, e in ends[a]):
                    continue
                if (
                    agent.max_shifts_per_week is not None
                    and week_shifts[a, week] >= agent.max_shifts_per_week
                ):
                    continue
                minutes = week_minutes[a, week] + st.paid_minutes
                if agent.max_weekly is not None and minutes > agent.max_weekly // 60:
                    continue
                # Prefer whoever is furthest below the contract minimum, then the least used.
                key = (-(agent.min_weekly // 60 - week_minutes[a, week]), week_minutes[a, week], a)
                if best is None or key < best[0]:
                    best = (key, a)
            if best is None:
                dropped += 1
                continue
            a = best[1]
            shifts[a].append((d, s))
            ends[a].append((begin, finish))
            week_shifts[a, week] += 1
            week_minutes[a, week] += st.paid_minutes
    shortfall: dict[int, int] = {}
    for block, complete in _blocks(grid.days):
        if complete and agent.min_weekly > 0:
            for a in range(n):
                short = agent.min_weekly // 60 - week_minutes[a, block.start // 7]
                if short > 0:
                    shortfall[a] = shortfall.get(a, 0) + short
    return Assignment("OPTIMAL", {a: sorted(v) for a, v in shifts.items()}, dropped, shortfall)
