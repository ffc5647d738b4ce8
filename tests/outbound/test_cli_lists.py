"""`centrale lists import` through click's test runner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from centrale.cli.lists import lists

EXAMPLE = Path(__file__).parents[2] / "examples" / "outbound" / "contacts.csv"


def test_import_writes_summary_and_report(tmp_path: Path) -> None:
    rejected, summary = tmp_path / "rejected.csv", tmp_path / "summary.json"
    result = CliRunner().invoke(
        lists,
        ["import", str(EXAMPLE), "--map", "phone=Telefoon", "--map", "alt_phones=Mobiel", "--region", "NL",
         "--rejected", str(rejected), "--json", str(summary), "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "PARTIAL" in result.output
    data = json.loads(summary.read_text())
    assert data["rows"] == 11 and data["accepted"] == 7 and data["rejected"] == 4
    with rejected.open() as f:
        rows = list(csv.DictReader(f))
    assert {r["code"] for r in rows} >= {"not_a_number", "duplicate_in_list"}


def test_strict_refuses(tmp_path: Path) -> None:
    result = CliRunner().invoke(lists, ["import", str(EXAMPLE), "--map", "phone=Telefoon", "--strict"])
    assert result.exit_code == 0
    assert "REFUSED" in result.output and "accepted  0" in result.output


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    cases = [
        ["import", str(EXAMPLE), "--map", "phone=Nope"],
        ["import", str(EXAMPLE), "--map", "phone"],
        ["import", str(EXAMPLE)],
        ["import", str(tmp_path / "missing.csv"), "--map", "phone=Tel"],
        ["import", str(EXAMPLE), "--map", "phone=Telefoon", "--region", "XX"],
        ["import", str(EXAMPLE), "--map", "phone=Telefoon", "--encoding", "klingon"],
    ]
    for args in cases:
        result = runner.invoke(lists, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_progress_bar_and_xlsx(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Tel"])
    sheet.append(["0612345678"])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    result = CliRunner().invoke(lists, ["import", str(path), "--map", "phone=Tel", "--progress"])
    assert result.exit_code == 0, result.output
    assert "complete" in result.output and "accepted  1" in result.output
