"""`centrale plan forecast` through click's CliRunner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner
from test_forecast import write_history

from centrale.cli.plan_forecast import forecast


def test_forecast_writes_csv_profile_plot_and_json(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    write_history(history, 42)
    out, profile, png, js = (tmp_path / n for n in ("f.csv", "p.csv", "f.png", "a.json"))
    result = CliRunner().invoke(
        forecast,
        [
            str(history),
            "--horizon",
            "1w",
            "--holdout",
            "7d",
            "--country",
            "NL",
            "--out",
            str(out),
            "--profile-out",
            str(profile),
            "--aht",
            "180s",
            "--plot",
            str(png),
            "--json",
            str(js),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "WAPE" in result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["interval_start", "queue", "forecast_offered"]
    assert len(rows) == 7 * 12
    prof = list(csv.DictReader(profile.open()))
    assert list(prof[0]) == ["interval_start", "queue", "offered", "aht_seconds"]
    assert {r["aht_seconds"] for r in prof} == {"180.0"}
    assert png.stat().st_size > 10_000
    summary = json.loads(js.read_text())
    assert summary["overall"]["intervals"] == 7 * 12
    assert 0 < summary["overall"]["wape"] < summary["overall"]["naive_wape"]


def test_profile_without_handle_times_needs_aht(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    write_history(history, 28)
    result = CliRunner().invoke(
        forecast, [str(history), "--holdout", "7d", "--profile-out", str(tmp_path / "p.csv")]
    )
    assert result.exit_code == 2
    assert "pass --aht" in result.output


def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("interval_start,queue,offered\n2026-03-02T08:00,q,-1\n")
    result = CliRunner().invoke(forecast, [str(bad)])
    assert result.exit_code == 2
    assert "bad.csv, line 2: offered cannot be negative" in result.output
    assert isinstance(result.exception, SystemExit)

    short = tmp_path / "short.csv"
    write_history(short, 10)
    result = CliRunner().invoke(forecast, [str(short), "--holdout", "7d"])
    assert result.exit_code == 2
    assert "needs at least 14 days" in result.output

    result = CliRunner().invoke(forecast, [str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert "cannot read the file" in result.output

    result = CliRunner().invoke(forecast, [str(short), "--horizon", "soon"])
    assert result.exit_code == 2
    assert "--horizon" in result.output
