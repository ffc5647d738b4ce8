"""Helpers for the simulator tests: a small, fast scenario and running the command in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from centrale.cli.simulate import simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Two queues, two teams, three hours: enough for every figure to be non-trivial, fast to run.
SMALL = """\
name: small test center
description: two queues and two teams for the tests
start: "2026-03-02T08:00"
duration: 3h
timezone: Europe/Amsterdam
interval: 30m
seed: 5
drain: 30m
queues:
  - id: sales
    requires: "sales >= 3"
    service_level: {target: 0.8, threshold: 20s}
    handle_time: {dist: exponential, mean: 3m}
    patience: {dist: exponential, mean: 90s}
    wrap_up: {mode: fixed, duration: 10s}
  - id: service
    requires: "service >= 3"
    service_level: {target: 0.7, threshold: 40s}
    handle_time: {dist: lognormal, mean: 4m, sd: 2m}
    patience: {dist: exponential, mean: 2m}
agents:
  - id: s
    count: 5
    team: blue
    skills: {sales: 6}
  - id: v
    count: 6
    team: green
    skills: {service: 6, sales: 2}
    shift:
      start: "08:00"
      end: "11:00"
      breaks: [{start: "09:30", duration: 15m}]
arrivals:
  - queue: sales
    rate: 80/h
  - queue: service
    profile:
      - {start: "08:00", rate: 60/h}
      - {start: "09:30", rate: 100/h}
"""


def invoke(*args: str | Path) -> Result:
    """Run `centrale simulate` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(simulate, [str(a) for a in args], catch_exceptions=False)


def run_json(scenario: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = invoke(scenario, "--json", out, "--quiet", *extra)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data
