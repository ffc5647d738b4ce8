"""Disposition categories of outbound campaigns and the record of each dispositioned call.

A campaign's dispositions are :class:`centrale.core.config.Disposition` values (code, label,
category), the same shape the engine uses for inbound wrap-up; the category decides what happens
to the lead and how the call counts in targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DispositionCategory(StrEnum):
    """What a disposition means for the lead and for the figures."""

    SALE = "sale"
    """Converted: the lead is done and the call counts as a sale and a contact."""
    NOT_INTERESTED = "not_interested"
    """Reached, declined: done, a contact."""
    COMPLETED = "completed"
    """Reached, finished otherwise (information given, survey done): done, a contact."""
    CALLBACK = "callback"
    """Reached, asked to be called back: a scheduled callback, a contact."""
    DO_NOT_CALL = "do_not_call"
    """Objected to further calls: recorded on the do-not-call list at once; done, a contact."""
    WRONG_NUMBER = "wrong_number"
    """The number does not belong to the contact: done, not a contact."""
    NO_CONTACT = "no_contact"
    """Someone answered but not the contact (try later): retried like no answer, not a contact."""


CONTACT_CATEGORIES = frozenset(
    {
        DispositionCategory.SALE,
        DispositionCategory.NOT_INTERESTED,
        DispositionCategory.COMPLETED,
        DispositionCategory.CALLBACK,
        DispositionCategory.DO_NOT_CALL,
    }
)
"""Categories in which the intended person was reached: the denominator of the conversion rate."""


@dataclass(frozen=True, slots=True)
class DispositionRecord:
    """One dispositioned call: who, when, which code and its category."""

    at: datetime
    lead_id: str
    agent_id: str
    code: str
    category: DispositionCategory

    @property
    def contact(self) -> bool:
        return self.category in CONTACT_CATEGORIES

    @property
    def sale(self) -> bool:
        return self.category is DispositionCategory.SALE
