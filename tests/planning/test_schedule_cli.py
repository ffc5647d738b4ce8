"""`centrale plan schedule` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from centrale.cli.plan_schedule import schedule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "planning"


def test_schedule_writes_every_output(tmp_path: Path) -> None:
    req = tmp_path / "staff.csv"
    # The output of `centrale plan staff`: positions are used when present.
    req.write_text(
        "interval_start,queue,agents,positions\n"
        + "".join(f"2026-03-02T{h:02d}:{m:02d},sales,1,2\n" for h in range(8, 12) for m in (0, 30))
    )
    agents = tmp_path / "agents.yaml"
    agents.write_text("agents:\n  - {id: a, count: 2, skills: {sales: 6}}\n")
    out, ics, png, js = (tmp_path / n for n in ("s.csv", "s.ics", "c.png", "s.json"))
    result = CliRunner().invoke(
        schedule,
        [
            str(req),
            "--agents",
            str(agents),
            "--rules",
            str(EXAMPLES / "rules.yaml"),
            "--out",
            str(out),
            "--ical",
            str(ics),
            "--plot",
            str(png),
            "--json",
            str(js),
            "--time-limit",
            "10s",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(js.read_text())
    assert summary["status"] in ("OPTIMAL", "FEASIBLE")
    assert summary["shifts"] == 2
    # Two 4h shifts with a 15-minute break each cannot both be present all four hours.
    assert summary["coverage_gap_agent_hours"] == pytest.approx(0.5)
    assert len(out.read_text().splitlines()) == 3
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert png.stat().st_size > 5_000
    assert "paid hours 8.0" in result.output


@pytest.mark.parametrize(
    ("req", "agents", "rules", "message"),
    [
        (
            "interval_start,queue\n2026-03-02T08:00,s\n",
            "agents: [{id: a, queues: [s]}]",
            None,
            "missing column(s) required (or positions/agents)",
        ),
        (
            "interval_start,queue,required\n2026-03-02T08:00,s,x\n",
            "agents: [{id: a, queues: [s]}]",
            None,
            "line 2: required 'x' is not a number",
        ),
        (
            "interval_start,queue,required\n2026-03-02T08:00,s,1\n",
            "agents: [{id: a, queues: [t]}]",
            None,
            "queue(s) t do not appear in the requirement",
        ),
        (
            "interval_start,queue,required\n2026-03-02T08:00,s,1\n",
            "agents: [{id: a, queues: [s]",
            None,
            "not valid YAML",
        ),
        (
            "interval_start,queue,required\n2026-03-02T08:00,s,1\n",
            "agents: [{id: a, queues: [s]}]",
            "shift_lenghts: [4h]\n",
            "unknown key(s) shift_lenghts",
        ),
        (
            "interval_start,queue,required\n2026-03-02T08:00,s,1\n",
            "agents: [{id: a, queues: [s], availability: {funday: '08:00-12:00'}}]",
            None,
            "'funday' is not a day",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, req: str, agents: str, rules: str | None, message: str
) -> None:
    (tmp_path / "req.csv").write_text(req)
    (tmp_path / "agents.yaml").write_text(agents)
    args = [str(tmp_path / "req.csv"), "--agents", str(tmp_path / "agents.yaml"), "--time-limit", "5s"]
    if rules is not None:
        (tmp_path / "rules.yaml").write_text(rules)
        args += ["--rules", str(tmp_path / "rules.yaml")]
    result = CliRunner().invoke(schedule, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert isinstance(result.exception, SystemExit)


def test_bad_time_limit_and_missing_scenario_arrivals(tmp_path: Path) -> None:
    args = [str(EXAMPLES / "required.csv"), "--agents", str(EXAMPLES / "agents.yaml")]
    result = CliRunner().invoke(schedule, [*args, "--time-limit", "soon"])
    assert result.exit_code == 2
    assert "--time-limit" in result.output
    result = CliRunner().invoke(
        schedule, [*args, "--time-limit", "5s", "--scenario", str(tmp_path / "s.yaml")]
    )
    assert result.exit_code == 2
    assert "--scenario needs arrival volumes" in result.output
