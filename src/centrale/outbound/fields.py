"""The contact fields a campaign may refer to by name: in scripts, in lead order, in exports.

A name is a standard contact field (``first_name``, ``city`` …) or ``custom.<name>`` for a column
imported as a custom field. Values are always text here; interpretation is up to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable

from centrale.outbound.contact import Contact
from centrale.outbound.mapping import CUSTOM_PREFIX

# The contact's attributes that make sense to show or sort by (the consent fields are for the
# compliance engine, not for scripts).
CONTACT_TEXT_FIELDS = (
    "phone",
    "first_name",
    "last_name",
    "customer_id",
    "street",
    "postal_code",
    "city",
    "state",
    "country",
)


def known_fields(custom_fields: Iterable[str]) -> frozenset[str]:
    """Every field name valid for contacts with the given custom fields (names without prefix)."""
    return frozenset(CONTACT_TEXT_FIELDS) | {f"{CUSTOM_PREFIX}{name}" for name in custom_fields}


def contact_value(contact: Contact, name: str) -> str:
    """The text of field ``name`` for ``contact`` ("" when the contact has no value)."""
    if name.startswith(CUSTOM_PREFIX):
        return contact.custom.get(name[len(CUSTOM_PREFIX) :], "")
    if name in CONTACT_TEXT_FIELDS:
        value: str = getattr(contact, name)
        return value
    raise KeyError(name)
