"""`centrale lists …` — importing contact lists with validation and a report of rejected rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


@click.group()
def lists() -> None:
    """Contact lists for outbound campaigns."""


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@lists.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Map a file column to a contact field, e.g. --map phone=Telefoon (repeat; alt_phones may repeat).",
)
@click.option("--region", default="NL", show_default=True, help="Region for numbers without +country code.")
@click.option("--strict", is_flag=True, help="Accept nothing if any row is rejected.")
@click.option(
    "--rejected", type=click.Path(dir_okay=False, path_type=Path), help="Write rejected rows (CSV)."
)
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the summary as JSON."
)
@click.option("--encoding", default="utf-8-sig", show_default=True, help="Text encoding of a CSV file.")
@click.option("--delimiter", default=None, help="CSV delimiter (guessed from the header if omitted).")
@click.option("--sheet", default=None, help="Sheet of an XLSX workbook (default: the first).")
@click.option(
    "--campaign-numbers",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File with the E.164 numbers already in the campaign's other lists, one a line.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for validation (default: 1).",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
def import_(
    file: Path,
    mapping: tuple[str, ...],
    region: str,
    strict: bool,
    rejected: Path | None,
    json_out: Path | None,
    encoding: str,
    delimiter: str | None,
    sheet: str | None,
    campaign_numbers: Path | None,
    workers: int | None,
    progress: bool | None,
) -> None:
    """Validate and import FILE (CSV or XLSX), then print a summary.

    The import is either complete or explicitly partial: every rejected row is counted and, with
    --rejected, written with its row number, raw value, reason code and message.
    """
    from centrale.outbound.errors import ListImportError
    from centrale.outbound.lists import ImportResult, ListImporter
    from centrale.outbound.mapping import ColumnMapping
    from centrale.outbound.report import write_report

    if not mapping:
        _fail("give at least --map phone=<column>")
    if not file.is_file():
        _fail(f"{file}: no such file")
    try:
        column_mapping = ColumnMapping.parse(mapping)
        existing: frozenset[str] = frozenset()
        if campaign_numbers is not None:
            existing = frozenset(
                line.strip()
                for line in campaign_numbers.read_text(encoding="utf-8").splitlines()
                if line.strip()
            )
        if workers is None:
            # One process by default: shipping validated contacts back from workers costs more CPU
            # than it saves on a 2-core machine (see docs/outbound.md, "Performance").
            workers = 1
        importer = ListImporter(
            column_mapping, default_region=region, strict=strict, campaign_numbers=existing, workers=workers
        )
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    show_progress = sys.stderr.isatty() if progress is None else progress
    result: ImportResult
    try:
        if show_progress:
            result = _with_progress(importer, file, encoding, delimiter, sheet)
        else:
            result = _run(importer, file, encoding, delimiter, sheet, None)
    except ListImportError as exc:
        _fail(f"{exc} [{exc.code}]")
    summary: dict[str, Any] = result.summary()
    if rejected is not None:
        with rejected.open("w", newline="", encoding="utf-8") as stream:
            write_report(result.issues, stream)
        summary["rejected_report"] = str(rejected)
    if json_out is not None:
        json_out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    state = "complete" if result.complete else ("REFUSED (strict)" if strict else "PARTIAL")
    click.echo(f"{file}: {state}")
    click.echo(f"  rows      {result.rows}")
    click.echo(f"  accepted  {result.accepted}")
    click.echo(f"  rejected  {result.rejected}")
    if summary["values_dropped"]:
        click.echo(f"  values dropped  {summary['values_dropped']}")
    for code, count in summary["issues_by_code"].items():
        click.echo(f"    {code:<24} {count}")
    if result.issues and rejected is None:
        click.echo("  (use --rejected FILE to write the report of rejected rows)")


def _run(
    importer: Any, file: Path, encoding: str, delimiter: str | None, sheet: str | None, progress: Any
) -> Any:
    if file.suffix.lower() in {".xlsx", ".xlsm"}:
        return importer.import_xlsx(file, sheet=sheet, progress=progress)
    return importer.import_csv(file, encoding=encoding, delimiter=delimiter, progress=progress)


def _with_progress(importer: Any, file: Path, encoding: str, delimiter: str | None, sheet: str | None) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"importing {file.name}", total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        return _run(importer, file, encoding, delimiter, sheet, update)
