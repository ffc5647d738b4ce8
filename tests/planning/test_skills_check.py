"""Multi-skill staffing checked and tuned in the simulator (`centrale plan check`).

The tuned staffing is judged the way the search judges it — a queue meets its target when the lower
bound of the 95 % interval of its service level does, with the search's seeds — and then checked
afresh with other seeds, where each queue's *mean* service level must reach its target (the lower
bound of a fresh, independent interval can dip below the target for the tightest queue by chance:
that is what tuning on the lower bound buys a margin against).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from centrale.cli.plan_skills import check as check_command
from centrale.planning.skills_check import (
    CheckError,
    StaffingCheck,
    TuneResult,
    check,
    groups_of,
    tune,
)
from centrale.sim import Scenario, load_scenario, scenario_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "planning" / "multiskill.yaml"
REPS = 5
FRESH_SEED = 10_000


def _tiny(**agents: int) -> dict[str, Any]:
    """Two queues, two specialist groups and one generalist group; an hour and a half of traffic."""
    counts = {"a-team": 1, "b-team": 1, "flex": 1, **agents}
    queue = {
        "service_level": {"target": 0.8, "threshold": "20s"},
        "handle_time": {"dist": "exponential", "mean": "180s"},
        "patience": {"dist": "exponential", "mean": "120s"},
    }
    return {
        "name": "tiny multi-skill",
        "start": "2026-03-02T09:00",
        "duration": "90m",
        "timezone": "UTC",
        "interval": "30m",
        "drain": "1h",
        "seed": 3,
        "queues": [
            {"id": "a", "requires": "a >= 1", **queue},
            {"id": "b", "requires": "b >= 1", **queue},
        ],
        "agents": [
            {"id": "a-team", "count": counts["a-team"], "skills": {"a": 9}},
            {"id": "b-team", "count": counts["b-team"], "skills": {"b": 9}},
            {"id": "flex", "count": counts["flex"], "skills": {"a": 5, "b": 5}},
        ],
        "arrivals": [{"queue": "a", "rate": "40/h"}, {"queue": "b", "rate": "40/h"}],
    }


def _write(tmp_path: Path, data: dict[str, Any], name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def example() -> Scenario:
    return load_scenario(EXAMPLE)


@pytest.fixture(scope="module")
def tuned_example(example: Scenario) -> TuneResult:
    return tune(example, reps=REPS)


# --------------------------------------------------------------------------------- the example


def test_example_has_two_specialist_groups_and_one_generalist_group(example: Scenario) -> None:
    groups = {g.id: g.queues for g in groups_of(example)}
    assert groups == {
        "sales-specialists": ("sales",),
        "support-specialists": ("support",),
        "generalists": ("sales", "support", "billing"),
    }


def test_tuned_staffing_meets_every_target(tuned_example: TuneResult) -> None:
    tuned = tuned_example.tuned
    assert tuned is not None
    assert tuned.meets_all
    assert all(q.low is not None and q.low >= q.target for q in tuned.queues.values())
    assert tuned.total_agents <= tuned_example.proposed.total_agents or not tuned_example.proposed.meets_all


def test_tuned_staffing_meets_every_target_with_fresh_seeds(
    example: Scenario, tuned_example: TuneResult
) -> None:
    assert tuned_example.tuned is not None
    fresh = check(example, tuned_example.tuned.counts, reps=8, seed=FRESH_SEED)
    for q in fresh.queues.values():
        assert q.service_level is not None
        assert q.service_level >= q.target, f"{q.queue}: {q.service_level:.3f} < {q.target}"


def test_removing_one_agent_from_any_tuned_group_breaks_some_target(
    example: Scenario, tuned_example: TuneResult
) -> None:
    tuned = tuned_example.tuned
    assert tuned is not None
    assert set(tuned_example.removal_checks) == set(tuned.counts)
    for group, n in tuned.counts.items():
        certificate = tuned_example.removal_checks[group]
        if n == 0:
            assert certificate == "no agents left to remove"
            continue
        assert isinstance(certificate, StaffingCheck)
        assert certificate.counts[group] == n - 1
        assert not certificate.meets_all, f"{group}: {n - 1} agents still meet every target"
        # The certificate is reproducible: a fresh check with the search's seeds gives the same verdict.
        again = check(example, {**tuned.counts, group: n - 1}, reps=REPS, seed=tuned.seed)
        assert again.as_record() == certificate.as_record()


# --------------------------------------------------------------------------------- the search


def test_an_understaffed_proposal_is_raised_until_every_target_is_met() -> None:
    scenario = scenario_from_dict(_tiny())
    result = tune(scenario, reps=3)
    assert not result.proposed.meets_all
    assert result.tuned is not None and result.tuned.meets_all
    assert result.tuned.total_agents > result.proposed.total_agents
    assert any(step.startswith("add one to") for step in result.steps)
    for group, certificate in result.removal_checks.items():
        assert isinstance(certificate, str) or not certificate.meets_all, group


def test_no_staffing_within_the_limit_is_reported() -> None:
    result = tune(scenario_from_dict(_tiny()), reps=2, max_agents_per_group=1)
    assert result.tuned is None
    assert result.evaluations == 1
    assert "no staffing with at most 1 agents per group" in result.steps[-1]
    assert result.as_record()["tuned"] is None


def test_a_group_can_be_checked_with_no_agents() -> None:
    scenario = scenario_from_dict(_tiny(flex=2))
    result = check(scenario, {"flex": 0, "a-team": 2, "b-team": 2}, reps=2)
    assert result.counts == {"a-team": 2, "b-team": 2, "flex": 0}
    assert set(result.queues) == {"a", "b"}


def test_a_queue_nobody_can_take_is_refused() -> None:
    data = _tiny()
    data["queues"].append({"id": "c", "requires": "c >= 1"})
    data["arrivals"].append({"queue": "c", "rate": "10/h"})
    data["skills"] = ["a", "b", "c"]
    with pytest.raises(CheckError, match="no agent group can take queue 'c'"):
        check(scenario_from_dict(data), reps=2)


def test_check_refuses_bad_counts_and_reps() -> None:
    scenario = scenario_from_dict(_tiny())
    with pytest.raises(CheckError, match="unknown agent group"):
        check(scenario, {"nobody": 3}, reps=2)
    with pytest.raises(CheckError, match="cannot be negative"):
        check(scenario, {"flex": -1}, reps=2)
    with pytest.raises(CheckError, match="at least 2 replications"):
        check(scenario, reps=1)


# --------------------------------------------------------------------------------- command line


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(check_command, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_check_of_the_example_prints_both_tables_and_writes_json(tmp_path: Path) -> None:
    out_json = tmp_path / "check.json"
    code, out, err = _invoke(str(EXAMPLE), "--reps", "3", "--json", str(out_json))
    assert code in (0, 1), err
    assert "Skill groups" in out and "Service level per queue" in out
    assert "generalists" in out and "billing" in out
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["reps"] == 3 and doc["seed"] == 7
    assert set(doc["check"]["queues"]) == {"sales", "support", "billing"}
    assert code == (0 if doc["check"]["meets_all"] else 1)
    for q in doc["check"]["queues"].values():
        assert q["service_level_low"] <= q["service_level"] <= q["service_level_high"]


def test_cli_check_exits_1_when_a_target_is_missed(tmp_path: Path) -> None:
    code, out, _ = _invoke(str(_write(tmp_path, _tiny())), "--reps", "2")
    assert code == 1
    assert "does NOT meet every target" in out


def test_cli_tune_finds_a_staffing_and_writes_json(tmp_path: Path) -> None:
    out_json = tmp_path / "tuned.json"
    code, out, err = _invoke(str(_write(tmp_path, _tiny())), "--reps", "3", "--tune", "--json", str(out_json))
    assert code == 0, err
    assert "proposed" in out and "tuned" in out
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert [g["id"] for g in doc["groups"]] == ["a-team", "b-team", "flex"]
    assert all(g["tuned"] >= 0 for g in doc["groups"])
    assert doc["tuned"]["meets_all"] is True
    assert doc["criterion"].startswith("lower bound")
    assert set(doc["removal_checks"]) == {"a-team", "b-team", "flex"}


def test_cli_tune_exits_1_when_no_staffing_is_found(tmp_path: Path) -> None:
    path = _write(tmp_path, _tiny())
    code, out, _ = _invoke(str(path), "--reps", "2", "--tune", "--max-agents-per-group", "1")
    assert code == 1
    assert "No staffing with at most 1 agents per group" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reps", "1"], "--reps must be at least 2"),
        (["--tune", "--max-agents-per-group", "0"], "--max-agents-per-group must be at least 1"),
        (["--max-agents-per-group", "5"], "only applies with --tune"),
    ],
)
def test_cli_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, out, err = _invoke(str(_write(tmp_path, _tiny())), *args)
    assert code == 2
    assert message in err
    assert out == ""
    assert "Traceback" not in err


def test_cli_bad_scenarios_exit_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    typo = _tiny()
    typo["agents"][0]["cuont"] = 3
    nobody = _tiny()
    nobody["queues"][1]["requires"] = "a >= 10"
    broken = tmp_path / "broken.yaml"
    broken.write_text("queues: [\n", encoding="utf-8")
    cases = [
        (missing, "file not found"),
        (broken, "not valid YAML"),
        (_write(tmp_path, typo, "typo.yaml"), "unknown key 'cuont'"),
        (_write(tmp_path, nobody, "nobody.yaml"), "no agent group can take queue 'b'"),
    ]
    for path, message in cases:
        code, out, err = _invoke(str(path), "--reps", "2")
        assert code == 2, (path, err)
        assert out == ""
        assert message in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
