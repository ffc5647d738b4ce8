"""Forms agents fill in during a call (an order, an appointment), with typed, validated fields.

:meth:`Form.validate` checks a submission (text as typed in the agent desktop) and returns the
typed values or one clear problem per field, so the desktop can show each next to its input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from centrale.outbound.phone import NormalisedNumber, normalise_number, problem_message

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not knowable here.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

FormValue = str | Decimal | date


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    PHONE = "phone"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a form.

    ``min``/``max`` bound a number's value, a date (ISO dates) or a text's length; ``pattern`` is a
    regular expression a text must match in full; ``choices`` lists the allowed values of a choice.
    """

    name: str
    type: FieldType
    label: str = ""
    required: bool = False
    min: Decimal | date | None = None
    max: Decimal | date | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    region: str = "NL"
    """Region for phone numbers typed without a country code."""

    def __post_init__(self) -> None:
        if self.type is FieldType.CHOICE and not self.choices:
            raise ValueError(f"choice field {self.name!r} needs choices")
        if self.type is not FieldType.CHOICE and self.choices:
            raise ValueError(f"only choice fields have choices ({self.name!r} is {self.type.value})")
        if self.pattern is not None:
            if self.type is not FieldType.TEXT:
                raise ValueError(f"only text fields have a pattern ({self.name!r} is {self.type.value})")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern of {self.name!r} is not a valid regular expression: {exc}"
                ) from None
        bounded = (FieldType.TEXT, FieldType.NUMBER, FieldType.DATE)
        if (self.min is not None or self.max is not None) and self.type not in bounded:
            raise ValueError(f"only text, number and date fields have min/max ({self.name!r})")
        want = date if self.type is FieldType.DATE else Decimal
        for bound in (self.min, self.max):
            if bound is not None and not isinstance(bound, want):
                raise ValueError(f"min/max of {self.name!r} must be {'dates' if want is date else 'numbers'}")
        if self.min is not None and self.max is not None and self.min > self.max:  # type: ignore[operator]
            raise ValueError(f"min of {self.name!r} is above its max")

    def parse(self, raw: str) -> FormValue:
        """The typed value of ``raw`` (not empty); raises ``ValueError`` with the problem."""
        text = raw.strip()
        if self.type is FieldType.TEXT:
            if self.min is not None and len(text) < self.min:  # type: ignore[operator]
                raise ValueError(f"must be at least {self.min} characters")
            if self.max is not None and len(text) > self.max:  # type: ignore[operator]
                raise ValueError(f"must be at most {self.max} characters")
            if self.pattern is not None and not re.fullmatch(self.pattern, text):
                raise ValueError(f"does not have the expected form ({self.pattern})")
            return text
        if self.type is FieldType.NUMBER:
            try:
                number = Decimal(text.replace(",", ".") if text.count(",") == 1 and "." not in text else text)
            except InvalidOperation:
                raise ValueError(f"{raw!r} is not a number") from None
            if not number.is_finite():
                raise ValueError(f"{raw!r} is not a number")
            return self._bounded(number, str(number))
        if self.type is FieldType.DATE:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD)") from None
            return self._bounded(day, day.isoformat())
        if self.type is FieldType.CHOICE:
            if text not in self.choices:
                raise ValueError(f"{raw!r} is not one of {', '.join(self.choices)}")
            return text
        if self.type is FieldType.PHONE:
            result = normalise_number(text, self.region)
            if not isinstance(result, NormalisedNumber):
                raise ValueError(f"{raw!r} is not a valid phone number: {problem_message(result)}")
            return result.e164
        if not _EMAIL.match(text):
            raise ValueError(f"{raw!r} is not an e-mail address")
        return text

    def _bounded(self, value: Decimal | date, shown: str) -> Decimal | date:
        if self.min is not None and value < self.min:  # type: ignore[operator]
            raise ValueError(f"{shown} is below the minimum {self.min}")
        if self.max is not None and value > self.max:  # type: ignore[operator]
            raise ValueError(f"{shown} is above the maximum {self.max}")
        return value


@dataclass(frozen=True, slots=True)
class FormResult:
    """A checked submission: typed ``values`` of the valid fields and ``errors`` per field."""

    values: Mapping[str, FormValue]
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class Form:
    """An ordered set of fields with unique names."""

    name: str
    fields: tuple[FormField, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for f in self.fields:
            if f.name in seen:
                raise ValueError(f"field {f.name!r} appears twice in form {self.name!r}")
            seen.add(f.name)

    def validate(self, submitted: Mapping[str, str]) -> FormResult:
        """Check every field (not just the first bad one); unknown names are errors too."""
        values: dict[str, FormValue] = {}
        errors: dict[str, str] = {}
        for f in self.fields:
            raw = submitted.get(f.name, "")
            if not raw.strip():
                if f.required:
                    errors[f.name] = "is required"
                continue
            try:
                values[f.name] = f.parse(raw)
            except ValueError as exc:
                errors[f.name] = str(exc)
        names = {f.name for f in self.fields}
        for extra in sorted(set(submitted) - names):
            errors[extra] = f"is not a field of form {self.name!r}"
        return FormResult(values, errors)

    def field_names(self) -> Sequence[str]:
        return [f.name for f in self.fields]
