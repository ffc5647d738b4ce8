"""Consent records: who agreed to be called, when, through which source, for what scope, until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from centrale.outbound.dnc import require_e164


class ConsentScopeKind(StrEnum):
    """What a consent covers."""

    ACCOUNT = "account"
    """Calls on behalf of one account (advertiser), whatever the campaign."""
    CAMPAIGN = "campaign"
    """One campaign."""
    PURPOSE = "purpose"
    """A purpose (``telemarketing``, ``fundraising`` …) across campaigns with that purpose."""


@dataclass(frozen=True, slots=True)
class ConsentScope:
    """A consent scope such as ``account:acme`` or ``purpose:telemarketing``."""

    kind: ConsentScopeKind
    value: str

    @classmethod
    def parse(cls, text: str, *, default_account: str = "") -> ConsentScope:
        """Parse ``kind:value``; a bare word is a purpose, an empty text the default account."""
        text = text.strip()
        if not text:
            return cls(ConsentScopeKind.ACCOUNT, default_account)
        kind, sep, value = text.partition(":")
        if not sep:
            return cls(ConsentScopeKind.PURPOSE, text.lower())
        try:
            return cls(ConsentScopeKind(kind.strip().lower()), value.strip())
        except ValueError:
            raise ValueError(
                f"expected account:<id>, campaign:<id> or purpose:<name>, got {text!r}"
            ) from None

    def covers(self, account_id: str, campaign_id: str, purpose: str) -> bool:
        """True if a call for this account, campaign and purpose falls under the scope."""
        if self.kind is ConsentScopeKind.ACCOUNT:
            return self.value == account_id
        if self.kind is ConsentScopeKind.CAMPAIGN:
            return self.value == campaign_id
        return self.value == purpose.lower()

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent given by ``subject`` (a person or customer id) for ``number``."""

    number: str
    given_at: datetime
    scope: ConsentScope
    source: str = ""
    subject: str = ""
    expires_at: datetime | None = None
    withdrawn_at: datetime | None = None

    def valid_at(self, at: datetime) -> bool:
        """Given before ``at``, not yet expired and not withdrawn."""
        if self.given_at > at:
            return False
        if self.expires_at is not None and at >= self.expires_at:
            return False
        return self.withdrawn_at is None or at < self.withdrawn_at


class ConsentRegistry:
    """Consent records by E.164 number."""

    def __init__(self) -> None:
        self._records: dict[str, list[ConsentRecord]] = {}

    def add(self, record: ConsentRecord) -> ConsentRecord:
        """Store a consent record."""
        self._records.setdefault(require_e164(record.number), []).append(record)
        return record

    def withdraw(self, number: str, at: datetime, *, scope: ConsentScope | None = None) -> int:
        """Withdraw, from ``at`` on, every consent for ``number`` (or only those of ``scope``).

        Returns how many records were withdrawn.
        """
        records = self._records.get(number, [])
        count = 0
        for i, record in enumerate(records):
            if (scope is None or record.scope == scope) and record.withdrawn_at is None:
                records[i] = ConsentRecord(
                    record.number,
                    record.given_at,
                    record.scope,
                    record.source,
                    record.subject,
                    record.expires_at,
                    at,
                )
                count += 1
        return count

    def valid_consent(
        self, number: str, account_id: str, campaign_id: str, purpose: str, at: datetime
    ) -> ConsentRecord | None:
        """A consent covering this call at ``at``, if there is one."""
        for record in self._records.get(number, ()):
            if record.valid_at(at) and record.scope.covers(account_id, campaign_id, purpose):
                return record
        return None

    def records(self, number: str) -> tuple[ConsentRecord, ...]:
        """Every record for ``number``."""
        return tuple(self._records.get(number, ()))
