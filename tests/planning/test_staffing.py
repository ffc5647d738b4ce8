"""Staffing a day: reading profiles, per-interval staffing, outputs and `centrale plan staff`."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from centrale.cli.plan_staff import staff as plan_staff
from centrale.planning.erlang import staff
from centrale.planning.staffing import (
    ProfileError,
    Targets,
    infer_interval_seconds,
    plot_requirements,
    read_profile,
    staff_profile,
    summarise,
    write_requirements_csv,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "planning" / "profile-day.csv"
HEADER = "interval_start,queue,offered,aht_seconds\n"
TARGET_8020 = Targets(threshold_seconds=20.0, service_level=0.8, shrinkage=0.3)


def write(tmp_path: Path, body: str, name: str = "profile.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_example_profile_reads_with_inferred_15_minute_intervals() -> None:
    """The shipped example has two queues of 40 quarter-hours; the interval is inferred as 900 s."""
    profile = read_profile(EXAMPLE)
    assert profile.interval_seconds == 900.0
    assert profile.queues == ["sales", "support"]
    assert len(profile.rows) == 80


def test_each_interval_is_staffed_like_a_single_erlang_calculation() -> None:
    """Every requirement equals staff() on that row alone, in file order."""
    profile = read_profile(EXAMPLE)
    requirements = staff_profile(profile, TARGET_8020)
    assert [(r.interval_start, r.queue) for r in requirements] == [(d.start, d.queue) for d in profile.rows]
    for row, req in zip(profile.rows, requirements, strict=True):
        single = staff(
            row.offered, 900, row.aht_seconds, threshold_seconds=20, service_level=0.8, shrinkage=0.3
        )
        assert (req.agents, req.positions) == (single.agents, single.positions)
        assert req.service_level >= 0.8
        assert req.abandon_probability is None


def test_erlang_a_profile_reports_abandonment() -> None:
    """With a patience every row is staffed by Erlang A and carries its abandonment figures."""
    targets = Targets(threshold_seconds=20.0, service_level=0.8, patience_seconds=120.0, max_abandon=0.05)
    requirements = staff_profile(read_profile(EXAMPLE), targets)
    assert all(r.abandon_probability is not None and r.abandon_probability <= 0.05 for r in requirements)
    assert all(r.service_level >= 0.8 for r in requirements)


def test_progress_callback_counts_every_row() -> None:
    """The progress callback is told about every row exactly once."""
    done: list[int] = []
    staff_profile(read_profile(EXAMPLE), TARGET_8020, done.append)
    assert sum(done) == 80


def test_zero_volume_rows_need_nobody_even_with_zero_aht(tmp_path: Path) -> None:
    """A quiet interval (0 calls, AHT 0) needs 0 agents rather than failing."""
    path = write(tmp_path, HEADER + "2025-03-03T08:00,a,0,0\n2025-03-03T08:15,a,10,180\n")
    first, second = staff_profile(read_profile(path), TARGET_8020)
    assert (first.agents, first.positions) == (0, 0)
    assert second.agents > 0


def test_infer_interval_uses_the_smallest_gap() -> None:
    """Gaps of 30 and 15 minutes → 900 s; a single start gives None."""
    starts = [datetime(2025, 1, 1, 8, 0), datetime(2025, 1, 1, 8, 30), datetime(2025, 1, 1, 8, 45)]
    assert infer_interval_seconds(starts) == 900.0
    assert infer_interval_seconds(starts[:1]) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("interval_start,queue,offered\n", "line 1: missing column(s) aht_seconds"),
        (HEADER + "2025-03-03T08:00,a,10,180\n2025-03-03T08:15,a,-3,180\n", "line 3: offered must be"),
        (HEADER + "2025-13-03T08:00,a,10,180\n", "line 2: interval_start must be an ISO date-time"),
        (HEADER + "2025-03-03T08:00,a,ten,180\n", "line 2: offered must be a number, got 'ten'"),
        (HEADER + "2025-03-03T08:00,a,10,\n", "line 2: aht_seconds is empty"),
        (HEADER + "2025-03-03T08:00,a,10,0\n2025-03-03T08:15,a,1,1\n", "line 2: aht_seconds must be > 0"),
        (HEADER + "2025-03-03T08:00,a,10,180,9\n", "line 2: more fields than the 4 columns"),
        (HEADER + "2025-03-03T08:00,a,1,180\n2025-03-03T08:15,a,1,180\n2025-03-03T08:00,a,1,180\n",
         "line 4: queue 'a' at 2025-03-03T08:00:00 already on line 2"),
        (HEADER, "has a header but no rows"),
        (HEADER + "2025-03-03T08:00,a,10,180\n", "one interval start only"),
        (HEADER + "2025-03-03T08:00,a,10,180\n2025-03-03T08:15+01:00,a,10,180\n", "mixes times with"),
    ],
)  # fmt: skip
def test_malformed_profiles_name_file_line_and_problem(tmp_path: Path, body: str, message: str) -> None:
    """Each malformed profile raises ProfileError naming the file, the line and what is wrong."""
    path = write(tmp_path, body)
    with pytest.raises(ProfileError) as excinfo:
        read_profile(path)
    assert str(path) in str(excinfo.value)
    assert message in str(excinfo.value)


def test_interval_that_cannot_be_staffed_names_its_line(tmp_path: Path) -> None:
    """A row beyond the staffing cap is reported with its file and line."""
    path = write(tmp_path, HEADER + "2025-03-03T08:00,a,10,180\n2025-03-03T08:15,a,1e9,180\n")
    with pytest.raises(ProfileError, match=r"line 3: queue 'a' at .*no staffing up to 100000 agents"):
        staff_profile(read_profile(path), TARGET_8020)


def test_csv_output_has_one_row_per_interval_and_queue(tmp_path: Path) -> None:
    """The requirements CSV has the documented columns and one row per input row."""
    requirements = staff_profile(read_profile(EXAMPLE), TARGET_8020)
    out = tmp_path / "required.csv"
    write_requirements_csv(requirements, out)
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 80
    assert rows[0]["interval_start"] == "2025-03-03T08:00:00" and rows[0]["queue"] == "sales"
    assert int(rows[0]["agents"]) == requirements[0].agents
    assert int(rows[0]["positions"]) == requirements[0].positions
    assert rows[0]["abandon_probability"] == ""


@pytest.mark.parametrize("queues", [2, 20])
def test_plot_is_a_png(tmp_path: Path, queues: int) -> None:
    """The chart is written as a PNG for a few queues (lines) and for many (stacked)."""
    rows = [HEADER]
    for q in range(queues):
        rows += [f"2025-03-03T{8 + i // 4:02d}:{i % 4 * 15:02d},q{q},{10 + i},180\n" for i in range(8)]
    requirements = staff_profile(read_profile(write(tmp_path, "".join(rows))), TARGET_8020)
    out = tmp_path / "required.png"
    plot_requirements(requirements, out, "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_totals_agent_hours_and_peaks() -> None:
    """Per-queue summary: agent-hours = Σ agents × 0.25 h and the peak is the largest requirement."""
    requirements = staff_profile(read_profile(EXAMPLE), TARGET_8020)
    summaries = {s.queue: s for s in summarise(requirements, 900)}
    sales = [r for r in requirements if r.queue == "sales"]
    assert summaries["sales"].agent_hours == pytest.approx(sum(r.agents for r in sales) * 0.25)
    assert summaries["sales"].peak_agents == max(r.agents for r in sales)
    assert summaries["sales"].intervals == 40


# ---------------------------------------------------------------------------------------------- CLI


def test_plan_staff_writes_csv_json_and_plot(tmp_path: Path) -> None:
    """`plan staff` writes --out, --json (inputs + intervals) and --plot, and prints a summary table."""
    out, doc, png = tmp_path / "r.csv", tmp_path / "r.json", tmp_path / "r.png"
    result = CliRunner().invoke(
        plan_staff,
        [str(EXAMPLE), "--service-level", "80/20", "--shrinkage", "0.3",
         "--out", str(out), "--json", str(doc), "--plot", str(png)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "sales" in result.stdout and "support" in result.stdout
    data = json.loads(doc.read_text())
    assert data["inputs"]["model"] == "C" and data["inputs"]["interval_seconds"] == 900.0
    assert len(data["intervals"]) == 80
    assert {"agents", "positions", "service_level"} <= set(data["intervals"][0])
    assert out.exists() and png.read_bytes()[:4] == b"\x89PNG"


def test_plan_staff_small_profile_prints_every_interval(tmp_path: Path) -> None:
    """A short profile is shown interval by interval, with an abandon column under Erlang A."""
    path = write(tmp_path, HEADER + "2025-03-03T08:00,a,100,180\n2025-03-03T08:30,a,50,180\n")
    result = CliRunner().invoke(
        plan_staff, [str(path), "--service-level", "80/20", "--model", "a", "--patience", "2m"]
    )
    assert result.exit_code == 0, result.stderr
    assert "2025-03-03 08:00" in result.stdout and "2025-03-03 08:30" in result.stdout
    assert "abandon" in result.stdout


def test_plan_staff_interval_override(tmp_path: Path) -> None:
    """--interval 15m overrides the inferred 30-minute spacing (fewer calls per second → fewer agents)."""
    path = write(tmp_path, HEADER + "2025-03-03T08:00,a,100,180\n2025-03-03T08:30,a,100,180\n")
    doc = tmp_path / "r.json"
    args = [str(path), "--service-level", "80/20", "--json", str(doc)]
    assert CliRunner().invoke(plan_staff, args).exit_code == 0
    inferred = json.loads(doc.read_text())["intervals"][0]["agents"]
    assert CliRunner().invoke(plan_staff, [*args, "--interval", "15m"]).exit_code == 0
    assert json.loads(doc.read_text())["intervals"][0]["agents"] > inferred


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        (HEADER + "2025-03-03T08:00,a,10,180\n2025-03-03T08:15,a,-3,180\n", [], "line 3: offered must be"),
        (HEADER + "2025-03-03T08:00,a,10,180\n", ["--model", "a"], "--model a needs --patience"),
        (HEADER + "2025-03-03T08:00,a,10,180\n", ["--model", "c", "--patience", "1m"], "--patience applies"),
        (
            HEADER + "2025-03-03T08:00,a,10,180\n",
            ["--interval", "fortnight"],
            "--interval: expected a duration",
        ),
        (HEADER + "2025-03-03T08:00,a,10,180\n", [], "give --interval"),
    ],
)
def test_plan_staff_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, body: str, args: list[str], message: str
) -> None:
    """Malformed profiles and contradictory options: exit 2, one message on stderr, no traceback."""
    path = write(tmp_path, body)
    result = CliRunner().invoke(plan_staff, [str(path), "--service-level", "80/20", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_plan_staff_missing_profile_is_a_usage_error(tmp_path: Path) -> None:
    """A profile path that does not exist: exit status 2 from click's own check."""
    result = CliRunner().invoke(plan_staff, [str(tmp_path / "nope.csv"), "--service-level", "80/20"])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
