"""Agent scripts with field substitution: ``Hello {first_name}, this is {agent_name} …``.

Placeholders are checked when the campaign is loaded, not when an agent is on the phone: an
unknown field is a configuration error. Only plain names are allowed — no attribute access,
indexing, conversions or format specs — because :meth:`str.format` on user-written templates can
reach into objects; the template is parsed with :class:`string.Formatter` and the values are
looked up by this module, never by ``format``. A field without a value renders as the script's
default for that field, or as an empty string.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

_NAME = re.compile(r"^(?:custom\.)?[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Script:
    """A validated script template.

    ``pieces`` alternates literal text and field names: ``(literal, field or None)`` pairs in
    order. Build one with :meth:`parse`.
    """

    text: str
    pieces: tuple[tuple[str, str | None], ...]
    defaults: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def parse(cls, text: str, known: Collection[str], defaults: Mapping[str, str] | None = None) -> Script:
        """Check ``text`` against the ``known`` field names; raises ``ValueError`` naming the problem."""
        pieces: list[tuple[str, str | None]] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ValueError(
                f"not a valid script template: {exc} (write {{{{ and }}}} for literal braces)"
            ) from None
        for literal, name, spec, conversion in parsed:
            if name is None:
                pieces.append((literal, None))
                continue
            if spec or conversion:
                raise ValueError(f"placeholder {{{name}}} may not have a format spec or conversion")
            if not _NAME.match(name):
                raise ValueError(f"placeholder {{{name}}} is not a field name")
            if name not in known:
                raise ValueError(
                    f"unknown field {{{name}}} in the script; known fields: {', '.join(sorted(known))}"
                )
            pieces.append((literal, name))
        defaults = dict(defaults or {})
        unknown_defaults = sorted(set(defaults) - set(known))
        if unknown_defaults:
            raise ValueError(f"defaults given for unknown fields: {', '.join(unknown_defaults)}")
        return cls(text, tuple(pieces), MappingProxyType(defaults))

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names used, in order of first use."""
        return tuple(dict.fromkeys(name for _, name in self.pieces if name is not None))

    def render(self, values: Mapping[str, str]) -> str:
        """The script with every placeholder replaced; missing or empty values use the default."""
        out: list[str] = []
        for literal, name in self.pieces:
            out.append(literal)
            if name is not None:
                out.append(values.get(name) or self.defaults.get(name, ""))
        return "".join(out)
