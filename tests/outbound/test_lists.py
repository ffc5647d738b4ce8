"""Contact-list import: mapping, normalisation, deduplication, the report, strict mode, XLSX, export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from centrale.outbound.contact import TimeZoneSource
from centrale.outbound.errors import ListImportError
from centrale.outbound.lists import ListImporter
from centrale.outbound.mapping import ColumnMapping
from centrale.outbound.report import IssueAction, IssueCode, write_report
from centrale.outbound.results import ContactResult, export_results

EXAMPLE = Path(__file__).parents[2] / "examples" / "outbound" / "contacts.csv"
MAPPING = ColumnMapping.parse(
    [
        "phone=Telefoon",
        "alt_phones=Mobiel",
        "customer_id=Klantnummer",
        "first_name=Voornaam",
        "last_name=Achternaam",
        "postal_code=Postcode",
        "city=Plaats",
        "country=Land",
        "consent_given_at=Toestemming",
        "consent_source=Bron",
        "customer_relationship_ended_on=Klant tot",
        "custom.segment=Segment",
    ]
)


def write_csv(tmp_path: Path, rows: list[list[str]], name: str = "list.csv", delimiter: str = ",") -> Path:
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def test_example_list_is_explicitly_partial() -> None:
    result = ListImporter(MAPPING, default_region="NL").import_csv(EXAMPLE)
    assert result.rows == 11
    assert not result.complete
    assert (result.accepted, result.rejected) == (6, 5)
    by_row = {(i.row, i.code) for i in result.issues}
    assert (5, IssueCode.NOT_A_NUMBER) in by_row  # K0004 on line 5 (header = line 1)
    assert (7, IssueCode.TOO_SHORT) in by_row
    assert (9, IssueCode.INVALID_COUNTRY_CODE) in by_row
    assert (10, IssueCode.INVALID_DATE) in by_row
    assert (12, IssueCode.DUPLICATE_IN_LIST) in by_row
    dropped = [i for i in result.issues if i.action is IssueAction.VALUE_DROPPED]
    assert [(d.row, d.field, d.raw) for d in dropped] == [(4, "alt_phones", "06-1234")]
    duplicate = next(i for i in result.issues if i.code is IssueCode.DUPLICATE_IN_LIST)
    assert duplicate.first_row == 4
    anna = result.contacts[0]
    assert anna.phone == "+31201234567" and anna.alt_phones == ("+31612345678",)
    assert anna.time_zones == ("Europe/Amsterdam",) and anna.time_zone_source is TimeZoneSource.NUMBER
    assert anna.consent_given_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert anna.custom == {"segment": "A"}
    ilse = next(c for c in result.contacts if c.customer_id == "K0007")
    assert ilse.phone == "+3225551234" and ilse.time_zones == ("Europe/Brussels",)
    bram = next(c for c in result.contacts if c.customer_id == "K0002")
    assert bram.customer_relationship_ended_on == date(2024, 6, 30)


def test_strict_mode_accepts_nothing() -> None:
    result = ListImporter(MAPPING, default_region="NL", strict=True).import_csv(EXAMPLE)
    assert result.accepted == 0 and result.rejected == result.rows and not result.complete
    assert result.issues  # the report still says why


def test_complete_import(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["Tel", "Naam"], ["0612345678", "A"], ["0201234567", "B"]])
    result = ListImporter(
        ColumnMapping.parse(["phone=Tel", "first_name=Naam"]), default_region="NL"
    ).import_csv(path)
    assert result.complete and result.accepted == 2 and result.rejected == 0
    assert result.summary()["complete"] is True


def test_duplicates_in_campaign(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["Tel"], ["0612345678"], ["0687654321"]])
    importer = ListImporter(
        ColumnMapping.parse(["phone=Tel"]),
        default_region="NL",
        campaign_numbers={"+31612345678": "list 'autumn'"},
    )
    result = importer.import_csv(path)
    assert [c.phone for c in result.contacts] == ["+31687654321"]
    (issue,) = result.issues
    assert issue.code is IssueCode.DUPLICATE_IN_CAMPAIGN and issue.row == 2 and "autumn" in issue.message


def test_semicolon_delimiter_and_case_insensitive_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["TELEFOON", "x"], ["06 12345678", "y"]], delimiter=";")
    result = ListImporter(ColumnMapping.parse(["phone=telefoon"]), default_region="NL").import_csv(path)
    assert result.contacts[0].phone == "+31612345678"


def test_row_numbers_follow_multiline_records(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('Tel,Note\n0612345678,"two\nlines"\nbad,x\n', encoding="utf-8")
    result = ListImporter(ColumnMapping.parse(["phone=Tel"]), default_region="NL").import_csv(path)
    assert [i.row for i in result.issues] == [4]


def test_short_rows_are_malformed(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["Naam", "Tel"], ["A"]])
    result = ListImporter(ColumnMapping.parse(["phone=Tel"]), default_region="NL").import_csv(path)
    assert result.issues[0].code is IssueCode.MALFORMED_ROW


def test_explicit_time_zone_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, [["Tel", "TZ"], ["+18005551234", "America/Chicago"], ["+12135550123", "Mars/Base"]]
    )
    mapping = ColumnMapping.parse(["phone=Tel", "time_zone=TZ"])
    result = ListImporter(mapping, default_region="US").import_csv(path)
    assert result.contacts[0].time_zones == ("America/Chicago",)
    assert result.contacts[0].time_zone_source is TimeZoneSource.COLUMN
    assert result.issues[0].code is IssueCode.INVALID_TIME_ZONE


def test_ambiguous_us_number_narrowed_by_state(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["Tel", "State"], ["+18005551234", "CA"], ["+18005551235", ""]])
    result = ListImporter(ColumnMapping.parse(["phone=Tel", "state=State"]), default_region="US").import_csv(
        path
    )
    known, unknown = result.contacts
    assert known.time_zones == ("America/Los_Angeles",) and known.time_zone_source is TimeZoneSource.ADDRESS
    assert unknown.time_zone_ambiguous and len(unknown.time_zones) > 5


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\n\n", "empty_file"),
        (b"Naam,Telefoon\nA,0612345678\n", "missing_column"),
        (b"Tel\n\xff\xfe0612345678\n", "encoding"),
    ],
)
def test_file_problems_raise(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ListImportError) as info:
        ListImporter(ColumnMapping.parse(["phone=Tel"]), default_region="NL").import_csv(path)
    assert info.value.code == code
    assert str(path) in str(info.value)


def test_mapping_errors() -> None:
    with pytest.raises(ValueError, match="phone"):
        ColumnMapping.parse(["first_name=Naam"])
    with pytest.raises(ValueError, match="unknown contact field"):
        ColumnMapping.parse(["phone=Tel", "shoe_size=Maat"])
    with pytest.raises(ValueError, match="field=Column"):
        ColumnMapping.parse(["phone"])
    with pytest.raises(ValueError, match="region"):
        ListImporter(ColumnMapping.parse(["phone=Tel"]), default_region="XX")


def test_xlsx_import(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Tel", "Naam"])
    sheet.append([612345678, "number typed into Excel, leading zero lost"])
    sheet.append(["06-87654321", "text"])
    sheet.append(["nope", "bad"])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    result = ListImporter(
        ColumnMapping.parse(["phone=Tel", "first_name=Naam"]), default_region="NL"
    ).import_xlsx(path)
    assert [c.phone for c in result.contacts] == ["+31612345678", "+31687654321"]
    assert [(i.row, i.code) for i in result.issues] == [(4, IssueCode.NOT_A_NUMBER)]


def test_workers_give_identical_results(tmp_path: Path) -> None:
    rows = [["Tel"]] + [[f"06{12345000 + i % 700}"] for i in range(1500)] + [["bad"]]
    path = write_csv(tmp_path, rows)
    mapping = ColumnMapping.parse(["phone=Tel"])
    one = ListImporter(mapping, default_region="NL", batch_size=200).import_csv(path)
    two = ListImporter(mapping, default_region="NL", batch_size=200, workers=2).import_csv(path)
    assert one.contacts == two.contacts and one.issues == two.issues
    assert one.accepted == 700 and one.rejected == 801


def test_progress_is_reported(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["Tel"]] + [["0612345678"]] * 25_000)
    seen: list[tuple[int, int | None]] = []
    ListImporter(ColumnMapping.parse(["phone=Tel"]), default_region="NL").import_csv(
        path, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    assert len(seen) >= 2


def test_report_and_results_export() -> None:
    result = ListImporter(MAPPING, default_region="NL").import_csv(EXAMPLE)
    report = io.StringIO()
    assert write_report(result.issues, report) == len(result.issues)
    lines = list(csv.DictReader(io.StringIO(report.getvalue())))
    assert lines[0]["row"] == "4" and lines[0]["action"] == "value_dropped"
    out = io.StringIO()
    last = datetime(2026, 1, 5, 10, tzinfo=UTC)
    records = [
        ContactResult(c, attempts=2, last_attempt_at=last, last_outcome="answered", disposition="sale")
        for c in result.contacts
    ]
    assert export_results(records, out, custom_fields=("segment",)) == result.accepted
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert exported[0]["phone"] == "+31201234567"
    assert exported[0]["alt_phones"] == "+31612345678"
    assert exported[0]["custom.segment"] == "A"
    assert exported[0]["disposition"] == "sale" and exported[0]["attempts"] == "2"
