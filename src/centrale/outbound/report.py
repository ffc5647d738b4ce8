"""The import report: one entry per problem found in a list, written as CSV for the list owner."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO


class IssueCode(StrEnum):
    """Stable reason codes for rows (or values) an import refused.

    Number problems share their codes with :class:`centrale.outbound.phone.NumberProblem`.
    """

    EMPTY_NUMBER = "empty_number"
    NOT_A_NUMBER = "not_a_number"
    INVALID_COUNTRY_CODE = "invalid_country_code"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    IMPOSSIBLE_NUMBER = "impossible_number"
    INVALID_NUMBER = "invalid_number"
    DUPLICATE_IN_LIST = "duplicate_in_list"
    DUPLICATE_IN_CAMPAIGN = "duplicate_in_campaign"
    INVALID_DATE = "invalid_date"
    INVALID_BOOLEAN = "invalid_boolean"
    INVALID_TIME_ZONE = "invalid_time_zone"
    MALFORMED_ROW = "malformed_row"


class IssueAction(StrEnum):
    """What the import did about an issue."""

    ROW_REJECTED = "row_rejected"
    """The whole row was left out of the list."""
    VALUE_DROPPED = "value_dropped"
    """The contact was imported without this value (an unusable alternative number)."""


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One problem in one row.

    ``row`` is the 1-based line of the file where the record starts (the header is line 1);
    ``first_row`` names the earlier row a duplicate repeats, when there is one.
    """

    row: int
    field: str
    raw: str
    code: IssueCode
    message: str
    action: IssueAction = IssueAction.ROW_REJECTED
    first_row: int | None = None


REPORT_COLUMNS = ("row", "field", "raw_value", "code", "action", "first_row", "message")


def write_report(issues: Iterable[RowIssue], stream: TextIO) -> int:
    """Write ``issues`` as CSV to ``stream``; returns the number of issues written."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    count = 0
    for issue in issues:
        writer.writerow(
            (
                issue.row,
                issue.field,
                issue.raw,
                issue.code.value,
                issue.action.value,
                "" if issue.first_row is None else issue.first_row,
                issue.message,
            )
        )
        count += 1
    return count
