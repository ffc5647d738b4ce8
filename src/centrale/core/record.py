"""Records: the immutable values that events and commands are made of.

Events and commands used to be NamedTuples. They are plain classes with read-only (``Final``)
fields instead, because mypyc compiles those to native classes: making one and reading a field
then costs nanoseconds instead of a Python-level call and a dictionary look-up, on the paths every
call takes several times. The base class gives them value semantics — equality, hashing, a readable
repr — and the NamedTuple-style ``_fields`` and ``_asdict()`` that storage and tests rely on.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    """An immutable value with named fields (see the module docstring)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def _asdict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"
