"""`centrale simulate`: tables, JSON output, seeds, replications, atomic files and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sim_helpers import invoke, run_json

from centrale.cli.simulate import write_atomic

REQUIRED_TOTALS = (
    "offered",
    "answered",
    "abandoned",
    "answered_within_target",
    "asa_seconds",
    "aht_seconds",
    "occupancy",
)


def test_prints_kpi_tables(small: Path) -> None:
    result = invoke(small)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in ("sales", "service", "total", "offered", "service level", "ASA", "AHT", "max wait"):
        assert text in out
    assert "accounts" in out and "teams" in out
    assert "blue" in out and "green" in out  # per-team occupancy
    assert "80% in 20s" in out  # the queue's target next to its service level
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_quiet_prints_nothing(small: Path, tmp_path: Path) -> None:
    result = invoke(small, "--quiet", "--json", tmp_path / "r.json")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "r.json").exists()


def test_json_has_the_documented_figures(small: Path, tmp_path: Path) -> None:
    data = run_json(small, tmp_path / "r.json")
    totals = data["totals"]
    for key in REQUIRED_TOTALS:
        assert key in totals, key
    assert set(data["queues"]) == {"sales", "service"}
    for q in data["queues"].values():
        for key in ("offered", "answered", "abandoned", "service_level", "asa_seconds", "sl_target"):
            assert key in q
    # Three hours in 30-minute intervals.
    assert [row["start"][11:] for row in data["intervals"]] == [
        "08:00", "08:30", "09:00", "09:30", "10:00", "10:30",
    ]  # fmt: skip
    for row in data["intervals"]:
        assert {"offered", "answered", "abandoned", "service_level"} <= set(row["all"])
        assert set(row["queues"]) == {"sales", "service"}
    assert len(data["agent_states"]) == len(data["intervals"])
    # The per-interval and per-queue figures add up to the totals.
    for key in ("offered", "answered", "abandoned", "answered_within_target"):
        assert sum(row["all"][key] for row in data["intervals"]) == totals[key]
        assert sum(q[key] for q in data["queues"].values()) == totals[key]


def test_totals_are_consistent(small: Path, tmp_path: Path) -> None:
    t = run_json(small, tmp_path / "r.json")["totals"]
    assert t["offered"] > 300  # 80/h + about 80/h over 3 hours
    assert t["answered"] + t["abandoned"] <= t["offered"]
    assert t["answered_within_target"] <= t["answered"]
    assert 0 < t["service_level"] <= 1
    assert 0 < t["occupancy"] <= 1
    assert t["asa_seconds"] >= 0 and 60 < t["aht_seconds"] < 600


def test_same_seed_same_totals_other_seed_differs(small: Path, tmp_path: Path) -> None:
    a = run_json(small, tmp_path / "a.json", "--seed", "42")
    b = run_json(small, tmp_path / "b.json", "--seed", "42")
    c = run_json(small, tmp_path / "c.json", "--seed", "43")
    assert a["totals"] == b["totals"]
    assert a["intervals"] == b["intervals"]
    assert a["totals"] != c["totals"]
    assert a["seed"] == 42 and c["seed"] == 43


def test_default_seed_is_the_scenarios(small: Path, tmp_path: Path) -> None:
    assert run_json(small, tmp_path / "a.json")["seed"] == 5


def test_replications_give_confidence_intervals(small: Path, tmp_path: Path) -> None:
    result = invoke(small, "--reps", "3", "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    assert "±" in result.stdout and "3 replications" in result.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["replications"] == 3
    assert data["seeds"] == [5, 6, 7]
    assert len(data["replication_totals"]) == 3
    for key in REQUIRED_TOTALS:
        assert key in data["totals"]
    for metric in ("offered", "service_level", "asa_seconds", "occupancy"):
        ci = data["confidence_intervals"][metric]
        assert ci["n"] == 3
        assert ci["half_width"] is not None and ci["half_width"] > 0
        assert ci["low"] <= ci["mean"] <= ci["high"]
    assert data["queue_confidence_intervals"]["sales"]["service_level"]["n"] == 3
    # The mean of the totals is the mean over the runs.
    offered = [r["offered"] for r in data["replication_totals"]]
    assert data["totals"]["offered"] == pytest.approx(sum(offered) / 3)


@pytest.mark.parametrize("reps", ["0", "-1", "two"])
def test_bad_reps_is_a_usage_error(small: Path, reps: str) -> None:
    result = invoke(small, "--reps", reps)
    assert result.exit_code == 2
    assert "--reps" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_seed_is_a_usage_error(small: Path) -> None:
    result = invoke(small, "--seed", "abc")
    assert result.exit_code == 2 and "--seed" in result.stderr


def test_output_in_missing_directory_fails_before_running(small: Path, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "r.json"
    result = invoke(small, "--json", target)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "--json" in lines[0] and "does not exist" in lines[0]
    assert result.stdout == ""  # nothing was simulated
    assert not target.exists()


def test_output_that_is_a_directory(small: Path, tmp_path: Path) -> None:
    result = invoke(small, "--report", tmp_path)
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_atomic(path, "first")
    write_atomic(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("old", encoding="utf-8")
    # A lone surrogate cannot be encoded: the write fails half-way.
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "new text \udcff more")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left over


def test_help_lists_the_options() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for option in ("--seed", "--reps", "--json", "--report", "--quiet"):
        assert option in result.stdout


def test_progress_bar_takes_updates(capsys: pytest.CaptureFixture[str]) -> None:
    # The bar is drawn only on a terminal; here we check that feeding it works and it cleans up.
    from centrale.cli.simulate import _progress

    with _progress(True, "a rather long scenario name that needs shortening", 3) as update:
        assert update is not None
        for rep in range(3):
            update(rep, 0.5)
            update(rep, 1.0)
    with _progress(False, "x", 1) as update:
        assert update is None


def test_engine_refusal_is_one_line_not_a_traceback(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from centrale.core.errors import DomainError
    from centrale.sim import runner

    def refuse(*args: object, **kwargs: object) -> None:
        raise DomainError("interaction.unknown", "no such interaction 'x'")

    monkeypatch.setattr(runner, "run_scenario", refuse)
    result = invoke(small)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {small}: the simulation stopped")
