"""A contact as imported from a list: who to call, where they live and what they agreed to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class TimeZoneSource(StrEnum):
    """Where a contact's candidate time zones came from, strongest evidence first."""

    COLUMN = "column"
    """An explicit time-zone column in the list."""
    ADDRESS = "address"
    """The number spans several zones and the postal address narrowed them down."""
    NUMBER = "number"
    """Derived from the phone number's prefix alone."""
    UNKNOWN = "unknown"
    """Nothing is known; compliance rules that need local time will refuse to dial."""


@dataclass(frozen=True, slots=True)
class Contact:
    """One row of a contact list after validation.

    ``phone`` and ``alt_phones`` are E.164 strings. ``time_zones`` holds every candidate zone for
    the contact: compliance requires a call to be allowed in *each* of them when there are several.
    """

    row: int
    phone: str
    alt_phones: tuple[str, ...] = ()
    first_name: str = ""
    last_name: str = ""
    customer_id: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    time_zones: tuple[str, ...] = ()
    time_zone_source: TimeZoneSource = TimeZoneSource.UNKNOWN
    consent_given_at: datetime | None = None
    consent_source: str = ""
    consent_scope: str = ""
    consent_expires_at: datetime | None = None
    consent_withdrawn_at: datetime | None = None
    customer_relationship_active: bool = False
    customer_relationship_ended_on: date | None = None
    custom: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        """A stable identity for attempt counting: the customer id if known, else the number."""
        return self.customer_id or self.phone

    @property
    def time_zone_ambiguous(self) -> bool:
        """True when the contact's local time cannot be pinned to a single zone."""
        return len(self.time_zones) != 1
