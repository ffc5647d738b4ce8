"""The event log: every accepted event, numbered, immutable, in order.

The engine appends an event only after it has been applied without error, so the log holds exactly
the history that produced the current state; `Engine.replay` rebuilds that state from it. A live
server persists entries (through a `sink`) before acting on the commands they produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple


class LoggedEvent(NamedTuple):
    seq: int
    at: float
    event: Any


class EventLog:
    """An append-only list of :class:`LoggedEvent`; optionally streamed to a sink as well."""

    def __init__(self, sink: Callable[[LoggedEvent], None] | None = None, *, keep: bool = True) -> None:
        self.entries: list[LoggedEvent] = []
        self.sink = sink
        self.keep = keep
        self.last_seq = 0

    def append(self, at: float, event: Any) -> LoggedEvent:
        self.last_seq += 1
        entry = LoggedEvent(self.last_seq, at, event)
        if self.keep:
            self.entries.append(entry)
        if self.sink is not None:
            self.sink(entry)
        return entry

    def __iter__(self) -> Iterator[tuple[float, Any]]:
        return ((e.at, e.event) for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)
