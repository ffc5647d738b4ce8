"""The audit log: every compliance decision, exportable per campaign as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from centrale.outbound.decision import Decision

AUDIT_COLUMNS = (
    "sequence",
    "at",
    "campaign_id",
    "account_id",
    "preset",
    "number",
    "contact_key",
    "allowed",
    "rule_id",
    "verdict",
    "reason",
    "source",
)


class AuditLog:
    """Decisions in the order they were taken. Append-only: an audit trail is never edited."""

    def __init__(self) -> None:
        self._decisions: list[Decision] = []

    def append(self, decision: Decision) -> None:
        """Record a decision."""
        self._decisions.append(decision)

    def __len__(self) -> int:
        return len(self._decisions)

    def __iter__(self) -> Iterator[Decision]:
        return iter(self._decisions)

    def for_campaign(self, campaign_id: str) -> Iterator[Decision]:
        """The decisions of one campaign."""
        return (d for d in self._decisions if d.campaign_id == campaign_id)

    def export_csv(self, stream: TextIO, *, campaign_id: str | None = None) -> int:
        """Write one line per (decision, rule) — every attempt with the rules that allowed or blocked it.

        Returns the number of decisions written.
        """
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(AUDIT_COLUMNS)
        decisions = self._decisions if campaign_id is None else list(self.for_campaign(campaign_id))
        for d in decisions:
            for o in d.outcomes:
                writer.writerow(
                    (
                        d.sequence,
                        d.at.isoformat(),
                        d.campaign_id,
                        d.account_id,
                        d.preset_id,
                        d.number,
                        d.contact_key,
                        "yes" if d.allowed else "no",
                        o.rule_id,
                        o.verdict.value,
                        o.reason,
                        o.source,
                    )
                )
        return len(decisions)
