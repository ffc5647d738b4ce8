"""Shift scheduling: optimal paid hours on hand-checkable cases, rules, gaps and outputs."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from centrale.planning.schedule import ScheduleResult, Shift, make_schedule
from centrale.planning.schedule_input import (
    Agent,
    Requirement,
    Rules,
    ScheduleInputError,
    read_agents,
    read_requirement,
    read_rules,
)
from centrale.planning.schedule_output import write_csv, write_ical, write_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "planning"
NO_BREAKS = "shift_starts: {from: '07:00', to: '14:00', every: 30m}\nbreaks: none\nlunch: none\n"


def requirement(path: Path, rows: dict[str, list[tuple[str, str, int]]]) -> Path:
    """Write ``queue → [(from, to, agents)]`` on 2026-03-02 as 30-minute rows."""
    lines = ["interval_start,queue,required"]
    for queue, spans in rows.items():
        for start, end, n in spans:
            t = datetime.fromisoformat(f"2026-03-02T{start}")
            stop = datetime.fromisoformat(f"2026-03-02T{end}")
            while t < stop:
                lines.append(f"{t:%Y-%m-%dT%H:%M},{queue},{n}")
                t += timedelta(minutes=30)
    path.write_text("\n".join(lines) + "\n")
    return path


def solve(
    tmp_path: Path, rows: dict[str, list[tuple[str, str, int]]], agents: str, rules: str, limit: float = 10
) -> ScheduleResult:
    req = read_requirement(requirement(tmp_path / "req.csv", rows))
    (tmp_path / "rules.yaml").write_text(rules)
    (tmp_path / "agents.yaml").write_text(agents)
    r = read_rules(tmp_path / "rules.yaml")
    return make_schedule(req, read_agents(tmp_path / "agents.yaml", r, req.queues), r, time_limit=limit)


def test_small_requirement_is_covered_with_the_known_optimal_paid_hours(tmp_path: Path) -> None:
    # 2 agents 08–12 and 1 agent 12–14 = 10 agent-hours: the lower bound on paid hours. Shifts of
    # 4h and 6h reach it exactly (08–12 and 08–14); with 4h/8h only it would take 12h.
    rows = {"sales": [("08:00", "12:00", 2), ("12:00", "14:00", 1)]}
    agents = "agents:\n  - {id: a, count: 3, queues: [sales]}\n"
    result = solve(tmp_path, rows, agents, NO_BREAKS + "shift_lengths: [4h, 6h, 8h]\n")
    assert result.gap_hours() == {"sales": 0.0}
    assert result.paid_hours == 10.0
    assert sorted((s.end - s.start).total_seconds() / 3600 for s in result.shifts) == [4.0, 6.0]

    result = solve(tmp_path, rows, agents, NO_BREAKS + "shift_lengths: [4h, 8h]\n")
    assert result.gap_hours() == {"sales": 0.0}
    assert result.paid_hours == 12.0


def test_too_few_agents_leave_a_reported_gap(tmp_path: Path) -> None:
    # Three needed 08–12, one agent: two agents missing for 4 hours.
    rows = {"sales": [("08:00", "12:00", 3)]}
    result = solve(
        tmp_path, rows, "agents:\n  - {id: solo, queues: [sales]}\n", NO_BREAKS + "shift_lengths: [4h]\n"
    )
    assert result.gap_hours() == {"sales": 8.0}
    assert result.summary()["coverage_gap_agent_hours"] == 8.0
    assert result.paid_hours == 4.0


def test_a_multi_skilled_agent_serves_one_queue_at_a_time(tmp_path: Path) -> None:
    rows = {"sales": [("08:00", "12:00", 1)], "service": [("08:00", "12:00", 1)]}
    result = solve(
        tmp_path,
        rows,
        "agents:\n  - {id: both, queues: [sales, service]}\n",
        NO_BREAKS + "shift_lengths: [4h]\n",
    )
    assert sum(result.gap_hours().values()) == 4.0
    (shift,) = result.shifts
    assert len({q for _, _, q in shift.queues}) == 1  # kept on one queue, not split per slot


def check_rules(result: ScheduleResult, agents_by_id: dict[str, Agent]) -> None:
    """Every rule of examples/planning/rules.yaml and agents.yaml, checked on the schedule."""
    by_agent: dict[str, list[Shift]] = {}
    for sh in result.shifts:
        by_agent.setdefault(sh.agent, []).append(sh)
        hours = (sh.end - sh.start).total_seconds() / 3600
        assert hours in (4, 6, 8)
        assert sh.start.minute in (0, 30) and 7 <= sh.start.hour + sh.start.minute / 60 <= 14
        breaks = [b for b in sh.breaks if b.kind == "break"]
        lunches = [b for b in sh.breaks if b.kind == "lunch"]
        assert len(breaks) == int(hours // 4)
        for k, b in enumerate(sorted(breaks, key=lambda b: b.start)):
            offset = (b.start - sh.start).total_seconds() / 3600 - 4 * k
            assert 1 <= offset <= 3 and (b.end - b.start) == timedelta(minutes=15)
        assert len(lunches) == (1 if hours >= 6 else 0)
        for lu in lunches:
            assert 3 <= (lu.start - sh.start).total_seconds() / 3600 <= 5
            assert lu.end - lu.start == timedelta(minutes=30)
        # Unpaid lunch: paid time is the shift minus lunch.
        assert sh.paid_seconds == (sh.end - sh.start).total_seconds() - 1800 * len(lunches)
        pieces = sorted(sh.breaks, key=lambda b: b.start)
        assert all(a.end <= b.start for a, b in itertools.pairwise(pieces))
        assert all(sh.start <= b.start and b.end <= sh.end for b in pieces)
        # Nobody serves a queue while on a break.
        for run_from, run_to, _ in sh.queues:
            assert all(run_to <= p.start or run_from >= p.end for p in pieces)
    for agent_id, shifts in by_agent.items():
        agent = agents_by_id[agent_id]
        shifts.sort(key=lambda s: s.start)
        assert sum(s.paid_seconds for s in shifts) <= (agent.max_weekly or 0)
        assert len(shifts) <= (agent.max_shifts_per_week or 0)
        for before, after in itertools.pairwise(shifts):
            assert (after.start - before.end) >= timedelta(hours=11)
        for s in shifts:
            windows = agent.windows_on(s.start.date())
            start = s.start.hour * 3600 + s.start.minute * 60
            end = start + (s.end - s.start).total_seconds()
            assert any(lo <= start and end <= hi for lo, hi in windows)


@pytest.fixture(scope="module")
def example() -> tuple[Requirement, Rules, list[Agent], ScheduleResult]:
    """The shipped example, solved once for the tests that only read the result."""
    req = read_requirement(EXAMPLES / "required.csv")
    rules = read_rules(EXAMPLES / "rules.yaml")
    agents = read_agents(EXAMPLES / "agents.yaml", rules, req.queues)
    return req, rules, agents, make_schedule(req, agents, rules, time_limit=6)


def test_example_schedule_respects_every_rule(
    example: tuple[Requirement, Rules, list[Agent], ScheduleResult],
) -> None:
    _, _, agents, result = example
    assert result.status in ("OPTIMAL", "FEASIBLE")
    assert result.shifts
    check_rules(result, {a.id: a for a in agents})
    # Availability in the example: dirk only weekdays 07–15, eva not on Tuesday.
    assert not [s for s in result.shifts if s.agent == "eva" and s.start.date() == date(2026, 3, 3)]
    # Scheduled counts per slot are what the agents' queue runs say.
    first = result.grid_origin
    for q, counts in result.scheduled.items():
        for t, n in enumerate(counts):
            at = first + timedelta(seconds=t * result.slot)
            serving = sum(1 for s in result.shifts for a, b, qq in s.queues if qq == q and a <= at < b)
            assert serving == n


def test_weekly_limits_and_rest_hold_over_a_week(tmp_path: Path) -> None:
    lines = ["interval_start,queue,required"]
    for d in range(7):
        for k in range(28):  # 07:00–21:00
            t = datetime(2026, 3, 2, 7) + timedelta(days=d, minutes=30 * k)
            lines.append(f"{t:%Y-%m-%dT%H:%M},sales,2")
    (tmp_path / "req.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "agents.yaml").write_text(
        "agents:\n  - {id: a, count: 4, queues: [sales], weekly_hours: {max: 24h}, max_shifts_per_week: 4}\n"
    )
    req = read_requirement(tmp_path / "req.csv")
    rules = read_rules(EXAMPLES / "rules.yaml")
    agents = read_agents(tmp_path / "agents.yaml", rules, req.queues)
    result = make_schedule(req, agents, rules, time_limit=8)
    check_rules(result, {a.id: a for a in agents})
    # 4 agents × 24h cannot cover 2 agents × 14h × 7 days: the gap is reported.
    assert sum(result.gap_hours().values()) > 0
    assert result.paid_hours <= 4 * 24


def test_ical_parses_back_with_one_event_per_shift(
    tmp_path: Path, example: tuple[Requirement, Rules, list[Agent], ScheduleResult]
) -> None:
    from icalendar import Calendar

    _, rules, _, result = example
    write_ical(result, rules, tmp_path / "all.ics")
    cal = Calendar.from_ical((tmp_path / "all.ics").read_bytes())
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(result.shifts)
    starts = sorted(ev.decoded("dtstart").replace(tzinfo=None) for ev in events)
    assert starts == sorted(s.start for s in result.shifts)
    assert any("Lunch" in str(ev.get("description")) for ev in events)

    written = write_ical(result, rules, tmp_path / "per-agent")
    assert {p.stem for p in written} == {s.agent for s in result.shifts}
    for p in written:
        assert len(list(Calendar.from_ical(p.read_bytes()).walk("VEVENT"))) == sum(
            1 for s in result.shifts if s.agent == p.stem
        )

    write_csv(result, tmp_path / "s.csv")
    header = (tmp_path / "s.csv").read_text().splitlines()[0]
    assert header == "agent,date,shift_start,shift_end,paid_hours,breaks,lunch,queues"


def test_scenario_is_accepted_by_the_simulator_loader(
    tmp_path: Path, example: tuple[Requirement, Rules, list[Agent], ScheduleResult]
) -> None:
    scenario_mod = pytest.importorskip("centrale.sim.scenario")
    req, rules, _, result = example
    arrivals = tmp_path / "arrivals.csv"
    arrivals.write_text(
        "interval_start,queue,offered\n2026-03-02T08:00,sales,10\n2026-03-02T08:00,service,12\n"
    )
    write_scenario(result, req, rules, tmp_path / "scenario.yaml", arrivals)
    scenario = scenario_mod.load_scenario(tmp_path / "scenario.yaml")
    assert len(scenario.agents) == len({s.agent for s in result.shifts})


def test_rules_that_cannot_hold_their_breaks_are_refused(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "shift_lengths: [4h]\nbreaks: {duration: 15m, per: 4h, window: [5h, 6h]}\n"
    )
    rules = read_rules(tmp_path / "rules.yaml")
    req = read_requirement(requirement(tmp_path / "req.csv", {"sales": [("08:00", "12:00", 1)]}))
    (tmp_path / "agents.yaml").write_text("agents:\n  - {id: a, queues: [sales]}\n")
    with pytest.raises(ScheduleInputError, match="does not fit its window"):
        make_schedule(req, read_agents(tmp_path / "agents.yaml", rules, req.queues), rules, time_limit=5)
