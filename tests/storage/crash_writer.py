"""Child process of the crash test: appends the sample log in batches until it is killed.

Usage: ``python crash_writer.py URL SEED COUNT``. Before each batch it prints ``begin FIRST LAST``
and after its commit ``done LAST`` (flushed), so the parent can kill it at any moment.

The write itself is split in two halves inside the batch's transaction, with ``inside`` printed and
a short pause between them: a parent that kills on ``inside`` kills a writer that has certainly
written part of a batch in an open transaction. (Only the test child does this; the store writes
each batch with one statement.)
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

import sqlalchemy as sa

from centrale.storage import EventStore, eventstore
from centrale.storage.sample import sample_events


def _pause_between_halves() -> None:
    original_copy = eventstore._copy_postgresql
    original_exec = sa.Connection.exec_driver_sql

    def copy_in_halves(conn: sa.Connection, rows: list[Any]) -> None:
        original_copy(conn, rows[: len(rows) // 2])
        print("inside", flush=True)
        time.sleep(0.05)
        original_copy(conn, rows[len(rows) // 2 :])

    def exec_in_halves(self: sa.Connection, statement: str, parameters: Any = None, *args: Any) -> Any:
        if statement != eventstore._INSERT_SQLITE:
            return original_exec(self, statement, parameters, *args)
        original_exec(self, statement, parameters[: len(parameters) // 2])
        print("inside", flush=True)
        time.sleep(0.05)
        return original_exec(self, statement, parameters[len(parameters) // 2 :])

    eventstore._copy_postgresql = copy_in_halves  # type: ignore[assignment]
    sa.Connection.exec_driver_sql = exec_in_halves  # type: ignore[assignment,method-assign]


def main() -> None:
    url, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    _, entries = sample_events(count, seed=seed)
    rng = random.Random(seed)
    _pause_between_halves()
    store = EventStore(url)
    start = store.last_seq()
    print("ready", flush=True)
    i = start
    while i < len(entries):
        size = rng.randint(100, 1000)
        batch = entries[i : i + size]
        print(f"begin {batch[0].seq} {batch[-1].seq}", flush=True)
        store.append(batch)
        print(f"done {batch[-1].seq}", flush=True)
        i += size
    print("finished", flush=True)
    time.sleep(60)  # wait to be killed


if __name__ == "__main__":
    main()
