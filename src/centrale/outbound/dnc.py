"""Do-not-call lists at three scopes: global, per account and per campaign.

An objection ("recht van verzet", a TPS registration, an entity-specific do-not-call request) is
honoured from the moment it is recorded: :meth:`DoNotCallRegistry.blocking_entry` finds every entry
added at or before the time of the dial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from centrale.outbound.errors import OutboundError
from centrale.outbound.phone import is_e164


class DncLevel(StrEnum):
    """How far a do-not-call entry reaches."""

    GLOBAL = "global"
    """Every campaign of every account (a national registry, a legal block)."""
    ACCOUNT = "account"
    """Every campaign of one account (the advertiser the consumer objected to)."""
    CAMPAIGN = "campaign"
    """One campaign only."""


@dataclass(frozen=True, slots=True)
class DncScope:
    """A do-not-call scope: a level and, below global, the account or campaign id."""

    level: DncLevel
    id: str = ""

    def __post_init__(self) -> None:
        if (self.level is DncLevel.GLOBAL) != (self.id == ""):
            raise ValueError("a global scope has no id; account and campaign scopes need one")

    @classmethod
    def everywhere(cls) -> DncScope:
        """The global scope."""
        return cls(DncLevel.GLOBAL)

    @classmethod
    def account(cls, account_id: str) -> DncScope:
        """Every campaign of ``account_id``."""
        return cls(DncLevel.ACCOUNT, account_id)

    @classmethod
    def campaign(cls, campaign_id: str) -> DncScope:
        """Only ``campaign_id``."""
        return cls(DncLevel.CAMPAIGN, campaign_id)

    @classmethod
    def parse(cls, text: str) -> DncScope:
        """``global``, ``account:<id>`` or ``campaign:<id>``."""
        level, _, ident = text.strip().partition(":")
        try:
            return cls(DncLevel(level.strip().lower()), ident.strip())
        except ValueError:
            raise ValueError(f"expected global, account:<id> or campaign:<id>, got {text!r}") from None

    def covers(self, account_id: str, campaign_id: str) -> bool:
        """True if a dial for this account and campaign falls under the scope."""
        if self.level is DncLevel.GLOBAL:
            return True
        if self.level is DncLevel.ACCOUNT:
            return self.id == account_id
        return self.id == campaign_id

    def __str__(self) -> str:
        return self.level.value if self.level is DncLevel.GLOBAL else f"{self.level.value}:{self.id}"


@dataclass(frozen=True, slots=True)
class DncEntry:
    """One number on one do-not-call list, from ``added_at`` on."""

    number: str
    scope: DncScope
    added_at: datetime
    reason: str = ""
    source: str = ""


class InvalidNumberError(OutboundError):
    """A number given to a compliance API is not in E.164 form."""

    code = "invalid_number"


def require_e164(number: str) -> str:
    """Return ``number`` if it is valid E.164, else raise :class:`InvalidNumberError`."""
    if not is_e164(number):
        raise InvalidNumberError(f"{number!r} is not a valid number in E.164 form (e.g. +31612345678)")
    return number


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware datetimes")
    return at


class DoNotCallRegistry:
    """Do-not-call entries of every scope, looked up by E.164 number."""

    def __init__(self) -> None:
        self._entries: dict[str, list[DncEntry]] = {}

    def add(
        self, number: str, scope: DncScope, at: datetime, *, reason: str = "", source: str = ""
    ) -> DncEntry:
        """Put ``number`` on the ``scope`` list from ``at`` on."""
        entry = DncEntry(require_e164(number), scope, _require_aware(at), reason, source)
        self._entries.setdefault(number, []).append(entry)
        return entry

    def blocking_entry(self, number: str, account_id: str, campaign_id: str, at: datetime) -> DncEntry | None:
        """The earliest entry that forbids calling ``number`` for this account and campaign at ``at``."""
        matches = [
            e
            for e in self._entries.get(number, ())
            if e.added_at <= at and e.scope.covers(account_id, campaign_id)
        ]
        return min(matches, key=lambda e: e.added_at) if matches else None

    def entries(self, number: str) -> tuple[DncEntry, ...]:
        """Every entry for ``number``, in the order they were added."""
        return tuple(self._entries.get(number, ()))

    def __len__(self) -> int:
        return sum(len(v) for v in self._entries.values())
