"""Column mapping: which column of a list file feeds which contact field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from centrale.outbound.errors import ListImportError

STANDARD_FIELDS: tuple[str, ...] = (
    "phone",
    "alt_phones",
    "first_name",
    "last_name",
    "customer_id",
    "street",
    "postal_code",
    "city",
    "state",
    "country",
    "time_zone",
    "consent_given_at",
    "consent_source",
    "consent_scope",
    "consent_expires_at",
    "consent_withdrawn_at",
    "customer_relationship_active",
    "customer_relationship_ended_on",
)
CUSTOM_PREFIX = "custom."
# Only alternative numbers may come from several columns (mobile, work, home …).
_MULTI_COLUMN_FIELDS = frozenset({"alt_phones"})


def _check_field(name: str) -> None:
    if name in STANDARD_FIELDS:
        return
    if name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX):
        return
    raise ValueError(
        f"unknown contact field {name!r}; expected one of {', '.join(STANDARD_FIELDS)} "
        f"or {CUSTOM_PREFIX}<name> for a custom field"
    )


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Contact field → the column(s) of the file it is read from. ``phone`` is mandatory."""

    columns: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        for name, cols in self.columns.items():
            _check_field(name)
            if not cols:
                raise ValueError(f"field {name!r} is mapped to no column")
            if len(cols) > 1 and name not in _MULTI_COLUMN_FIELDS:
                raise ValueError(f"field {name!r} can be read from one column only, got {', '.join(cols)}")
        if "phone" not in self.columns:
            raise ValueError("the mapping must name the column holding the phone number (phone=<column>)")

    @classmethod
    def from_dict(cls, fields: Mapping[str, str | Sequence[str]]) -> ColumnMapping:
        """Build from ``{"phone": "Telefoon", "alt_phones": ["Mobiel", "Werk"]}``."""
        return cls({k: (v,) if isinstance(v, str) else tuple(v) for k, v in fields.items()})

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> ColumnMapping:
        """Build from ``field=Column`` strings as given on the command line.

        Repeating ``alt_phones=…`` adds columns; the column name may itself contain ``=``.
        """
        columns: dict[str, list[str]] = {}
        for pair in pairs:
            name, sep, column = pair.partition("=")
            name, column = name.strip(), column.strip()
            if not sep or not name or not column:
                raise ValueError(f"expected field=Column, got {pair!r}")
            columns.setdefault(name, []).append(column)
        return cls({k: tuple(v) for k, v in columns.items()})

    @property
    def custom_fields(self) -> tuple[str, ...]:
        """Names (without the ``custom.`` prefix) of the mapped custom fields, in mapping order."""
        return tuple(k[len(CUSTOM_PREFIX) :] for k in self.columns if k.startswith(CUSTOM_PREFIX))

    def resolve(self, header: Sequence[str], source: str) -> dict[str, tuple[int, ...]]:
        """Column indices for each field; raises :class:`ListImportError` naming missing columns."""
        exact: dict[str, int] = {}
        folded: dict[str, list[int]] = {}
        for index, name in enumerate(header):
            clean = name.strip()
            exact.setdefault(clean, index)
            folded.setdefault(clean.casefold(), []).append(index)
        resolved: dict[str, tuple[int, ...]] = {}
        missing: list[str] = []
        for field_name, cols in self.columns.items():
            indices: list[int] = []
            for col in cols:
                if col in exact:
                    indices.append(exact[col])
                elif len(folded.get(col.casefold(), ())) == 1:
                    indices.append(folded[col.casefold()][0])
                else:
                    missing.append(f"{col!r} (for {field_name})")
            resolved[field_name] = tuple(indices)
        if missing:
            shown = ", ".join(repr(h) for h in header[:20])
            raise ListImportError(
                source,
                f"mapped column(s) not in the header: {', '.join(missing)}; the header has: {shown}",
                code="missing_column",
            )
        return resolved
