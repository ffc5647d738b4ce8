"""Bad scenarios: exit status 2 and one clear line naming the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import SMALL, invoke

from centrale.sim.scenario import ScenarioError, load_scenario

# (name, change to the small scenario: (old, new) or whole text, expected field, expected problem)
CASES: list[tuple[str, tuple[str, str] | str, str, str]] = [
    (
        "unknown skill",
        ('requires: "sales >= 3"', 'requires: "sales >= 3 and spanish >= 2"'),
        "queues[0].requires",
        "unknown skill(s) spanish",
    ),
    ("negative rate", ("rate: 80/h", "rate: -80/h"), "arrivals[0].rate", "cannot be negative"),
    ("negative rate number", ("rate: 80/h", "rate: -5"), "arrivals[0].rate", "cannot be negative"),
    (
        "bad expression",
        ('requires: "service >= 3"', 'requires: "service >= "'),
        "queues[1].requires",
        "parse",
    ),
    (
        "unknown time zone",
        ("timezone: Europe/Amsterdam", "timezone: Europe/Amsterdm"),
        "timezone",
        "unknown time zone 'Europe/Amsterdm'",
    ),
    (
        "typo in a key",
        ("    count: 5", "    cuont: 5"),
        "agents[0]",
        "unknown key 'cuont' (did you mean 'count'?)",
    ),
    ("typo at top level", ("drain: 30m", "drian: 30m"), "top level", "unknown key 'drian'"),
    ("missing required field", ("  - id: sales\n", "  - name: Sales\n"), "queues[0].id", "required"),
    (
        "misspelt required key",
        ("queues:", "queuez:"),
        "top level",
        "unknown key 'queuez' (did you mean 'queues'?)",
    ),
    ("malformed YAML", ("    rate: 80/h", "    rate: [80/h"), "line", "not valid YAML"),
    (
        "shift ending before it starts",
        ('      end: "11:00"', '      end: "07:00"'),
        "agents[1].shift.end",
        "must end after it starts",
    ),
    ("unknown queue in arrivals", ("  - queue: sales", "  - queue: slaes"), "arrivals[0].queue", "'slaes'"),
    ("bad duration", ("duration: 3h", "duration: three hours"), "duration", "expected a duration"),
    (
        "skill level out of range",
        ("skills: {sales: 6}", "skills: {sales: 11}"),
        "agents[0].skills",
        "1 and 10",
    ),
    ("not a mapping", "- just\n- a list\n", "", "must be a mapping"),
    ("empty file", "", "", "must be a mapping"),
]


@pytest.mark.parametrize(("name", "change", "where", "problem"), CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_gives_one_clear_line(
    tmp_path: Path, name: str, change: tuple[str, str] | str, where: str, problem: str
) -> None:
    if isinstance(change, str):
        text = change
    else:
        old, new = change
        assert old in SMALL, f"test case {name!r} does not apply"
        text = SMALL.replace(old, new, 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")

    result = invoke(path, "--json", tmp_path / "out.json")

    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"error: {path}: "), line
    assert where in line and problem in line, line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.json").exists()  # nothing written for a scenario that cannot run


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = invoke(missing)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {missing}: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    result = invoke(tmp_path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path}: cannot read the file")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    result = invoke(path)
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {path}: cannot read the file")


def test_error_carries_its_parts(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SMALL.replace("rate: 80/h", "rate: fast"), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.source == str(path)
    assert info.value.where == "arrivals[0].rate"
    assert "expected a rate" in info.value.problem
