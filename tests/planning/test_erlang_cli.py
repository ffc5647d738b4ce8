"""`centrale erlang b|c|a|staff`: JSON keys, tables, and exit status 2 with one clear line for bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from centrale.cli.erlang import erlang

EXAMPLE = ["--calls", "100", "--interval", "30m", "--aht", "180s"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(erlang, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> dict[str, object]:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert isinstance(document, dict)
    return document


def test_b_json_has_blocking_probability_and_inputs() -> None:
    """`erlang b --json` prints blocking_probability and the inputs echoed under `inputs`."""
    doc = run_json("b", *EXAMPLE, "--agents", "14")
    assert set(doc) == {"blocking_probability", "inputs"}
    assert doc["blocking_probability"] == pytest.approx(0.0568, abs=5e-4)
    assert doc["inputs"] == {
        "calls": 100.0,
        "interval_seconds": 1800.0,
        "aht_seconds": 180.0,
        "agents": 14,
        "offered_load": 10.0,
    }


def test_c_json_keys_and_published_values() -> None:
    """`erlang c --json` has exactly the four Erlang C metrics plus inputs, matching the worked example."""
    doc = run_json("c", *EXAMPLE, "--agents", "14", "--threshold", "20s")
    assert set(doc) == {"wait_probability", "service_level", "asa_seconds", "occupancy", "inputs"}
    assert doc["service_level"] == pytest.approx(0.888, abs=5e-4)
    assert doc["asa_seconds"] == pytest.approx(7.8, abs=0.05)
    assert doc["occupancy"] == pytest.approx(0.714, abs=5e-4)
    assert doc["inputs"]["threshold_seconds"] == 20.0  # type: ignore[index]


def test_a_json_adds_abandonment_and_average_wait() -> None:
    """`erlang a --json` adds abandon_probability and average_wait_seconds (= P(Ab)·patience)."""
    doc = run_json("a", *EXAMPLE, "--agents", "14", "--threshold", "20s", "--patience", "300s")
    assert set(doc) == {
        "wait_probability",
        "service_level",
        "asa_seconds",
        "occupancy",
        "abandon_probability",
        "average_wait_seconds",
        "inputs",
    }
    assert doc["average_wait_seconds"] == pytest.approx(doc["abandon_probability"] * 300)  # type: ignore[operator]
    assert doc["inputs"]["patience_seconds"] == 300.0  # type: ignore[index]


def test_staff_json_for_the_published_example() -> None:
    """`erlang staff --service-level 80/20 --shrinkage 0.3` → 14 agents, 20 positions, C metrics."""
    doc = run_json("staff", *EXAMPLE, "--service-level", "80/20", "--shrinkage", "0.3")
    assert set(doc) == {
        "agents",
        "positions",
        "wait_probability",
        "service_level",
        "asa_seconds",
        "occupancy",
        "inputs",
    }
    assert (doc["agents"], doc["positions"]) == (14, 20)
    assert doc["inputs"]["model"] == "C"  # type: ignore[index]


def test_staff_json_with_patience_uses_erlang_a_and_all_targets() -> None:
    """With --patience the staffing is Erlang A, reports abandonment, and meets every cap given."""
    doc = run_json(
        "staff", *EXAMPLE, "--service-level", "80/20", "--patience", "120s", "--max-occupancy", "85%",
        "--max-asa", "30s", "--max-abandon", "0.05", "--shrinkage", "30%",
    )  # fmt: skip
    assert {"abandon_probability", "average_wait_seconds"} <= set(doc)
    assert doc["inputs"]["model"] == "A"  # type: ignore[index]
    assert doc["abandon_probability"] <= 0.05  # type: ignore[operator]
    assert doc["occupancy"] <= 0.85  # type: ignore[operator]
    assert doc["asa_seconds"] <= 30  # type: ignore[operator]
    assert doc["service_level"] >= 0.8  # type: ignore[operator]
    assert doc["positions"] >= doc["agents"]  # type: ignore[operator]


def test_calls_may_be_given_as_a_rate() -> None:
    """--calls 200/h over a 30-minute interval is 100 calls per interval."""
    doc = run_json("c", "--calls", "200/h", "--interval", "30m", "--aht", "3m", "--agents", "14")
    assert doc["inputs"]["calls"] == pytest.approx(100.0)  # type: ignore[index]


def test_table_output_is_readable() -> None:
    """Without --json the figures come as a table with labels and percentages."""
    code, out, _ = run("c", *EXAMPLE, "--agents", "14")
    assert code == 0
    assert "service level" in out and "88.8%" in out and "71.4%" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["c", "--calls", "-100", "--aht", "180s", "--agents", "14"], "--calls cannot be negative"),
        (
            ["c", *EXAMPLE, "--agents", "10"],
            "Erlang C needs more agents (10) than the offered load (10.0 Erlang)",
        ),
        (["c", *EXAMPLE[:4], "--aht", "3 parsecs", "--agents", "14"], "--aht: expected a duration"),
        (["c", *EXAMPLE, "--agents", "14", "--threshold", "soon"], "--threshold: expected a duration"),
        (["c", "--calls", "lots", "--aht", "180s", "--agents", "14"], "--calls must be a number"),
        (
            ["b", *EXAMPLE[:2], "--interval", "0s", "--aht", "180s", "--agents", "3"],
            "--interval must be longer",
        ),
        (["a", *EXAMPLE, "--agents", "5", "--patience", "0s"], "--patience must be longer than 0"),
        (["staff", *EXAMPLE, "--service-level", "80-20"], "--service-level: expected a service level"),
        (["staff", *EXAMPLE, "--service-level", "100/20"], "100% service level can never"),
        (
            ["staff", *EXAMPLE, "--service-level", "80/20", "--patience", "1m", "--max-abandon", "0"],
            "abandonment of 0%",
        ),
        (
            ["staff", *EXAMPLE, "--service-level", "80/20", "--max-abandon", "5%"],
            "--max-abandon needs --patience",
        ),
        (["staff", *EXAMPLE, "--service-level", "80/20", "--shrinkage", "1"], "--shrinkage must be below 1"),
        (
            ["staff", *EXAMPLE, "--service-level", "80/20", "--max-occupancy", "1.5"],
            "--max-occupancy must be between",
        ),
        (
            ["staff", "--calls", "1e9", "--aht", "180s", "--service-level", "80/20"],
            "no staffing up to 100000 agents",
        ),
    ],
)
def test_bad_input_exits_2_with_one_clear_message(args: list[str], message: str) -> None:
    """Each kind of bad input: exit status 2, the message on stderr, no traceback, nothing on stdout."""
    code, out, err = run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert out == ""
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["a", *EXAMPLE, "--agents", "0", "--patience", "60s"],  # Erlang A needs at least one agent
        ["c", *EXAMPLE, "--agents", "-1"],
        ["c", *EXAMPLE],  # --agents missing
    ],
)
def test_click_level_errors_also_exit_2(args: list[str]) -> None:
    """Out-of-range or missing options are usage errors: exit status 2, no traceback."""
    code, _, err = run(*args)
    assert code == 2
    assert "Traceback" not in err and "Error" in err
