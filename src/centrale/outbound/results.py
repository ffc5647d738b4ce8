"""Export of per-contact campaign results as CSV: the contact as imported plus how dialling went."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from centrale.outbound.contact import Contact


@dataclass(frozen=True, slots=True)
class ContactResult:
    """What happened to one contact in a campaign.

    ``last_outcome`` is the technical result of the last attempt (``answered``, ``no_answer``,
    ``busy``, ``machine``, ``abandoned`` …); ``disposition`` is what the agent recorded
    (``sale``, ``callback``, ``objection`` …). Both are free text here: the dialer defines them.
    """

    contact: Contact
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_outcome: str = ""
    disposition: str = ""


CONTACT_COLUMNS = (
    "row",
    "customer_id",
    "phone",
    "alt_phones",
    "first_name",
    "last_name",
    "street",
    "postal_code",
    "city",
    "state",
    "country",
    "time_zones",
    "time_zone_source",
)
RESULT_COLUMNS = ("attempts", "last_attempt_at", "last_outcome", "disposition")


def export_results(
    results: Iterable[ContactResult], stream: TextIO, *, custom_fields: Sequence[str] = ()
) -> int:
    """Write one CSV line per contact; returns the number of contacts written.

    Multi-valued fields (alternative numbers, candidate zones) are joined with ``;``. Custom fields
    appear as ``custom.<name>`` columns in the order given.
    """
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow((*CONTACT_COLUMNS, *(f"custom.{name}" for name in custom_fields), *RESULT_COLUMNS))
    count = 0
    for result in results:
        c = result.contact
        writer.writerow(
            (
                c.row,
                c.customer_id,
                c.phone,
                ";".join(c.alt_phones),
                c.first_name,
                c.last_name,
                c.street,
                c.postal_code,
                c.city,
                c.state,
                c.country,
                ";".join(c.time_zones),
                c.time_zone_source.value,
                *(c.custom.get(name, "") for name in custom_fields),
                result.attempts,
                result.last_attempt_at.isoformat() if result.last_attempt_at else "",
                result.last_outcome,
                result.disposition,
            )
        )
        count += 1
    return count
