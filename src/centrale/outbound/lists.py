"""Importing contact lists (CSV, XLSX) with validation, deduplication and a report of every rejection.

An import is either complete or *explicitly* partial: :class:`ImportResult` says ``complete`` and
carries one :class:`~centrale.outbound.report.RowIssue` per problem. In strict mode a single
problem means nothing is accepted. Problems with the file as a whole (missing columns, an empty
file, undecodable bytes) raise :class:`~centrale.outbound.errors.ListImportError` instead.

Phone-number normalisation dominates the cost of an import, so it runs on batches of rows that can
be spread over worker processes; everything order-dependent (deduplication, the report) stays in
the calling process so results are identical whatever the number of workers.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, BinaryIO

import phonenumbers

from centrale.outbound.contact import Contact, TimeZoneSource
from centrale.outbound.errors import ListImportError
from centrale.outbound.geo import is_time_zone, narrow_zones
from centrale.outbound.mapping import CUSTOM_PREFIX, ColumnMapping
from centrale.outbound.phone import NormalisedNumber, normalise_number, problem_message
from centrale.outbound.report import IssueAction, IssueCode, RowIssue

ProgressCallback = Callable[[int, int | None], None]
"""Called with (units done, total units or None): bytes for CSV files, rows for XLSX."""

_TRUE = frozenset({"1", "true", "yes", "y", "ja", "j", "x"})
_FALSE = frozenset({"", "0", "false", "no", "n", "nee"})
_DELIMITERS = (",", ";", "\t", "|")
_TEXT_FIELDS = ("first_name", "last_name", "customer_id", "street", "postal_code", "city", "state", "country")
_CONSENT_FIELDS = (
    "consent_given_at",
    "consent_source",
    "consent_scope",
    "consent_expires_at",
    "consent_withdrawn_at",
    "customer_relationship_active",
    "customer_relationship_ended_on",
)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome of one import: the accepted contacts and every issue, with counts."""

    source: str
    contacts: tuple[Contact, ...]
    issues: tuple[RowIssue, ...]
    rows: int
    strict: bool

    @property
    def rejected(self) -> int:
        """Rows left out because of a problem (in strict mode every row counts once any is bad)."""
        rejected_rows = len({i.row for i in self.issues if i.action is IssueAction.ROW_REJECTED})
        if self.strict and self.issues:
            return self.rows
        return rejected_rows

    @property
    def accepted(self) -> int:
        """Contacts accepted into the list."""
        return len(self.contacts)

    @property
    def complete(self) -> bool:
        """True only if every row was accepted with every value: nothing was silently lost."""
        return not self.issues

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary with counts per issue code."""
        by_code: dict[str, int] = {}
        for issue in self.issues:
            by_code[issue.code.value] = by_code.get(issue.code.value, 0) + 1
        return {
            "source": self.source,
            "complete": self.complete,
            "strict": self.strict,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "values_dropped": sum(1 for i in self.issues if i.action is IssueAction.VALUE_DROPPED),
            "issues_by_code": dict(sorted(by_code.items())),
        }


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a binary file so progress can be shown in bytes."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return int(n or 0)


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    # A consent date without a zone is taken as UTC: the difference is hours, and consent dates are
    # compared with windows measured in months and years.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(slots=True)
class RowOutcome:
    """One row's result: the contact (None if the row was rejected) and the issues found in it."""

    contact: Contact | None
    issues: list[RowIssue] = field(default_factory=list)


class ListImporter:
    """Validates and deduplicates rows into :class:`Contact` objects.

    ``campaign_numbers`` holds the E.164 numbers already in the campaign's other lists; a mapping
    number → description (e.g. the list name) gives a better message. ``workers`` > 1 spreads the
    phone-number normalisation over that many processes.
    """

    def __init__(
        self,
        mapping: ColumnMapping,
        *,
        default_region: str,
        strict: bool = False,
        campaign_numbers: Collection[str] = frozenset(),
        workers: int = 1,
        batch_size: int = 20_000,
    ) -> None:
        region = default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"unknown region {default_region!r}; expected an ISO 3166 code such as NL, GB, US"
            )
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.mapping = mapping
        self.default_region = region
        self.strict = strict
        self.campaign_numbers = campaign_numbers
        self.workers = workers
        self.batch_size = batch_size

    # -- entry points -------------------------------------------------------------------------------

    def import_csv(
        self,
        path: str | os.PathLike[str],
        *,
        encoding: str = "utf-8-sig",
        delimiter: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import a CSV file. The delimiter is guessed from the header line unless given."""
        source = str(path)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ListImportError(source, f"unknown encoding {encoding!r}", code="unknown_encoding") from None
        try:
            raw = Path(path).open("rb")  # noqa: SIM115 - closed below, wrapped in a counting reader
        except OSError as exc:
            raise ListImportError(
                source, f"cannot open the file: {exc.strerror}", code="unreadable"
            ) from None
        total = os.fstat(raw.fileno()).st_size
        counter = _CountingReader(raw)
        with raw, io.TextIOWrapper(io.BufferedReader(counter), encoding=encoding, newline="") as text:
            try:
                first = text.readline()
                if not first.strip():
                    raise ListImportError(source, "the file is empty (no header line)", code="empty_file")
                sep = delimiter or max(_DELIMITERS, key=first.count)
                header = next(csv.reader([first], delimiter=sep))
                reader = csv.reader(text, delimiter=sep)

                def rows() -> Iterator[tuple[int, list[str]]]:
                    line = 1
                    for record in reader:
                        start, line = line + 1, reader.line_num + 1
                        if record:
                            yield start, record
                        if progress is not None and start % 10_000 == 0:
                            progress(counter.count, total)

                result = self.import_rows(header, rows(), source=source)
            except UnicodeDecodeError as exc:
                raise ListImportError(
                    source,
                    f"the file is not valid {encoding} (byte {exc.start} of a read block: {exc.reason}); "
                    "pass the right encoding, e.g. cp1252 for files saved by older Excel versions",
                    code="encoding",
                ) from None
            except csv.Error as exc:
                raise ListImportError(source, f"malformed CSV: {exc}", code="malformed_csv") from None
        if progress is not None:
            progress(total, total)
        return result

    def import_xlsx(
        self,
        path: str | os.PathLike[str],
        *,
        sheet: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import the first (or the named) sheet of an XLSX workbook, read-only and streaming."""
        # Imported here: openpyxl is slow to import and only XLSX needs it. It ships no type hints.
        import openpyxl  # type: ignore[import-untyped, unused-ignore]
        from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped, unused-ignore]

        source = str(path)
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (OSError, InvalidFileException, KeyError, ValueError) as exc:
            raise ListImportError(source, f"cannot read the workbook: {exc}", code="unreadable") from None
        try:
            if sheet is not None and sheet not in workbook.sheetnames:
                raise ListImportError(
                    source,
                    f"no sheet {sheet!r}; the workbook has {', '.join(workbook.sheetnames)}",
                    code="missing_sheet",
                )
            worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
            total = worksheet.max_row
            cells = worksheet.iter_rows(values_only=True)
            first = next(cells, None)
            if first is None or all(v is None for v in first):
                raise ListImportError(source, "the sheet is empty (no header row)", code="empty_file")
            header = [_cell_text(v) for v in first]

            def rows() -> Iterator[tuple[int, list[str]]]:
                for number, values in enumerate(cells, start=2):
                    if any(v is not None and v != "" for v in values):
                        yield number, [_cell_text(v) for v in values]
                    if progress is not None and number % 10_000 == 0:
                        progress(number, total)

            result = self.import_rows(header, rows(), source=source)
        finally:
            workbook.close()
        if progress is not None:
            progress(result.rows + 1, result.rows + 1)
        return result

    def import_rows(
        self, header: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]], *, source: str
    ) -> ImportResult:
        """Import already-split records: ``rows`` yields (line number, values) pairs."""
        contacts: list[Contact] = []
        issues: list[RowIssue] = []
        count = 0
        # A million new objects would trigger the cyclic garbage collector over and over, each pass
        # scanning everything imported so far; contacts hold no cycles, so it is paused meanwhile.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for outcome in self.iter_rows(header, rows, source=source):
                count += 1
                issues.extend(outcome.issues)
                if outcome.contact is not None:
                    contacts.append(outcome.contact)
        finally:
            if collecting:
                gc.enable()
        if self.strict and issues:
            contacts = []
        return ImportResult(source, tuple(contacts), tuple(issues), count, self.strict)

    def iter_rows(
        self, header: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]], *, source: str
    ) -> Iterator[RowOutcome]:
        """Yield one outcome per row, in file order (the streaming form of :meth:`import_rows`)."""
        columns = self.mapping.resolve(header, source)
        spec = _ParserSpec(dict(columns), len(header), self.default_region)
        seen: dict[str, int] = {}
        campaign = self.campaign_numbers
        phone_col = columns["phone"][0]
        for batch, parsed in self._parsed_batches(spec, rows):
            for (line, values), (contact, issues) in zip(batch, parsed, strict=True):
                if contact is None:
                    yield RowOutcome(None, list(issues))
                    continue
                # Deduplication depends on every earlier row, so it happens here, in file order.
                first = seen.get(contact.phone)
                if first is not None:
                    duplicate = RowIssue(
                        line,
                        "phone",
                        values[phone_col],
                        IssueCode.DUPLICATE_IN_LIST,
                        f"{contact.phone} already appears in this list on row {first}",
                        first_row=first,
                    )
                    yield RowOutcome(None, [duplicate])
                elif contact.phone in campaign:
                    where = f" ({campaign[contact.phone]})" if isinstance(campaign, Mapping) else ""
                    duplicate = RowIssue(
                        line,
                        "phone",
                        values[phone_col],
                        IssueCode.DUPLICATE_IN_CAMPAIGN,
                        f"{contact.phone} is already in another list of this campaign{where}",
                    )
                    yield RowOutcome(None, [duplicate])
                else:
                    seen[contact.phone] = line
                    yield RowOutcome(contact, list(issues))

    # -- batching and workers -------------------------------------------------------------------------

    def _batches(
        self, rows: Iterable[tuple[int, Sequence[str]]]
    ) -> Iterator[list[tuple[int, Sequence[str]]]]:
        batch: list[tuple[int, Sequence[str]]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _parsed_batches(
        self, spec: _ParserSpec, rows: Iterable[tuple[int, Sequence[str]]]
    ) -> Iterator[tuple[list[tuple[int, Sequence[str]]], list[_Parsed]]]:
        if self.workers == 1:
            parser = _RowParser(spec)
            for batch in self._batches(rows):
                yield batch, [parser.parse(line, values) for line, values in batch]
            return
        # Workers validate and build contacts; a bounded window of batches in flight keeps memory
        # flat on multi-million-row files while the workers never wait for the reader.
        context = multiprocessing.get_context("spawn")
        with context.Pool(self.workers, initializer=_init_worker, initargs=(spec,)) as pool:
            pending: deque[tuple[list[tuple[int, Sequence[str]]], AsyncResult[list[_Parsed]]]] = deque()
            for batch in self._batches(rows):
                pending.append((batch, pool.apply_async(_parse_batch, (batch,))))
                if len(pending) > 2 * self.workers:
                    done, result = pending.popleft()
                    yield done, result.get()
            while pending:
                done, result = pending.popleft()
                yield done, result.get()


_Parsed = tuple[Contact | None, tuple[RowIssue, ...]]
_worker_parser: _RowParser | None = None


def _init_worker(spec: _ParserSpec) -> None:
    global _worker_parser
    _worker_parser = _RowParser(spec)


def _parse_batch(batch: list[tuple[int, Sequence[str]]]) -> list[_Parsed]:
    """Worker entry point: validate one batch of rows."""
    assert _worker_parser is not None, "worker not initialised"
    parse = _worker_parser.parse
    return [parse(line, values) for line, values in batch]


def _cell_text(value: object) -> str:
    """Text of a spreadsheet cell. Whole floats lose their ``.0`` (numbers typed into Excel)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


@dataclass(frozen=True, slots=True)
class _ParserSpec:
    """What a worker process needs to validate rows (picklable)."""

    columns: dict[str, tuple[int, ...]]
    width: int
    default_region: str


class _RowParser:
    """Turns one record into a contact or a list of issues — everything except deduplication."""

    def __init__(self, spec: _ParserSpec) -> None:
        columns = spec.columns
        self.columns = columns
        self.width = spec.width
        self.phone_col = columns["phone"][0]
        self.alt_cols = columns.get("alt_phones", ())
        self.country_col = columns["country"][0] if "country" in columns else None
        self.custom_cols = tuple(
            (name[len(CUSTOM_PREFIX) :], cols[0])
            for name, cols in columns.items()
            if name.startswith(CUSTOM_PREFIX)
        )
        self.max_col = max(i for cols in columns.values() for i in cols)
        # Resolved once so that building a contact is a handful of direct index operations.
        self.text_cols = tuple((name, columns[name][0]) for name in _TEXT_FIELDS if name in columns)
        self.has_consent = any(name in columns for name in _CONSENT_FIELDS)
        self.time_zone_col = columns["time_zone"][0] if "time_zone" in columns else None
        self.default_region = spec.default_region
        self._zone_ok: dict[str, bool] = {}

    def _value(self, values: Sequence[str], name: str) -> str:
        cols = self.columns.get(name)
        if not cols or cols[0] >= len(values):
            return ""
        return values[cols[0]].strip()

    def _region(self, values: Sequence[str]) -> str:
        # A country column overrides the default region for numbers written without a prefix.
        if self.country_col is not None:
            country = values[self.country_col].strip().upper()
            if len(country) == 2 and country in phonenumbers.SUPPORTED_REGIONS:
                return country
        return self.default_region

    def parse(self, line: int, values: Sequence[str]) -> _Parsed:
        if len(values) <= self.max_col:
            raw = values[self.phone_col] if self.phone_col < len(values) else ""
            malformed = RowIssue(
                line,
                "row",
                raw,
                IssueCode.MALFORMED_ROW,
                f"the row has {len(values)} fields but the header has {self.width}",
            )
            return None, (malformed,)
        region = self._region(values)
        raw_phone = values[self.phone_col]
        primary = normalise_number(raw_phone, region)
        if not isinstance(primary, NormalisedNumber):
            bad = RowIssue(line, "phone", raw_phone, IssueCode(primary.value), problem_message(primary))
            return None, (bad,)
        e164 = primary.e164
        fields: dict[str, Any] = {name: values[col].strip() for name, col in self.text_cols}
        issues: list[RowIssue] = []
        alt_phones = self._alt_phones(line, values, e164, region, issues) if self.alt_cols else ()
        number_zones = primary.time_zones
        if self.time_zone_col is None and len(number_zones) == 1:
            zones: tuple[str, ...] = number_zones  # the common case, kept cheap
            zone_source = TimeZoneSource.NUMBER
        else:
            zones, zone_source = self._time_zones(line, values, number_zones, issues)
        if self.has_consent:
            fields.update(self._consent(line, values, issues))
        if issues and any(i.action is IssueAction.ROW_REJECTED for i in issues):
            return None, tuple(issues)
        if self.custom_cols:
            fields["custom"] = {name: values[col].strip() for name, col in self.custom_cols}
        contact = Contact(
            row=line,
            phone=e164,
            alt_phones=alt_phones,
            time_zones=zones,
            time_zone_source=zone_source,
            **fields,
        )
        return contact, tuple(issues)

    def _alt_phones(
        self, line: int, values: Sequence[str], e164: str, region: str, issues: list[RowIssue]
    ) -> tuple[str, ...]:
        alts: list[str] = []
        for col in self.alt_cols:
            raw = values[col]
            if not raw.strip():
                continue  # an empty alternative column is normal, not a problem
            result = normalise_number(raw, region)
            if isinstance(result, NormalisedNumber):
                if result.e164 != e164 and result.e164 not in alts:
                    alts.append(result.e164)
                continue
            issues.append(
                RowIssue(
                    line,
                    "alt_phones",
                    raw,
                    IssueCode(result.value),
                    f"alternative number left out: {problem_message(result)}",
                    action=IssueAction.VALUE_DROPPED,
                )
            )
        return tuple(alts)

    def _time_zones(
        self, line: int, values: Sequence[str], number_zones: tuple[str, ...], issues: list[RowIssue]
    ) -> tuple[tuple[str, ...], TimeZoneSource]:
        explicit = self._value(values, "time_zone")
        if explicit:
            ok = self._zone_ok.get(explicit)
            if ok is None:
                ok = self._zone_ok[explicit] = is_time_zone(explicit)
            if ok:
                return (explicit,), TimeZoneSource.COLUMN
            issues.append(
                RowIssue(
                    line,
                    "time_zone",
                    explicit,
                    IssueCode.INVALID_TIME_ZONE,
                    "not an IANA time zone such as Europe/Amsterdam or America/Chicago",
                )
            )
            return (), TimeZoneSource.UNKNOWN
        if not number_zones:
            return (), TimeZoneSource.UNKNOWN
        if len(number_zones) > 1:
            zones, narrowed = narrow_zones(
                number_zones, self._value(values, "country"), self._value(values, "state")
            )
            return zones, TimeZoneSource.ADDRESS if narrowed else TimeZoneSource.NUMBER
        return number_zones, TimeZoneSource.NUMBER

    def _consent(self, line: int, values: Sequence[str], issues: list[RowIssue]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in ("consent_given_at", "consent_expires_at", "consent_withdrawn_at"):
            text = self._value(values, name)
            if not text:
                continue
            try:
                found[name] = _parse_datetime(text)
            except ValueError:
                issues.append(
                    RowIssue(
                        line,
                        name,
                        text,
                        IssueCode.INVALID_DATE,
                        "expected an ISO 8601 date such as 2025-03-31",
                    )
                )
        ended = self._value(values, "customer_relationship_ended_on")
        if ended:
            try:
                found["customer_relationship_ended_on"] = date.fromisoformat(ended[:10])
            except ValueError:
                issues.append(
                    RowIssue(
                        line,
                        "customer_relationship_ended_on",
                        ended,
                        IssueCode.INVALID_DATE,
                        "expected an ISO 8601 date such as 2025-03-31",
                    )
                )
        active = self._value(values, "customer_relationship_active").lower()
        if active in _TRUE:
            found["customer_relationship_active"] = True
        elif active not in _FALSE:
            issues.append(
                RowIssue(
                    line,
                    "customer_relationship_active",
                    active,
                    IssueCode.INVALID_BOOLEAN,
                    "expected yes/no, true/false, ja/nee or 1/0",
                )
            )
        for name in ("consent_source", "consent_scope"):
            text = self._value(values, name)
            if text:
                found[name] = text
        return found
