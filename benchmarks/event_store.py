#!/usr/bin/env python3
"""Benchmark: event persistence throughput of the event store on SQLite and PostgreSQL.

Generates a realistic event log with :func:`centrale.storage.sample.sample_events` (a real engine
driven through arrivals, offers, accepts, holds, hang-ups, wrap-ups, breaks, timers, …), then
times :meth:`EventStore.append` — encoding included — writing it in batches of ``--batch`` events,
one transaction per batch, as the live server's writer loop does. Each database starts empty:
SQLite is a fresh file in a temporary folder (WAL, ``synchronous=NORMAL``); PostgreSQL a fresh
temporary database on ``--pg`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
dropped afterwards. Reading the log back (``read``) is timed as well.

Prints one JSON object::

    {"benchmark": "event_store", "events": …, "batch": …, "sqlite_events_per_second": …,
     "postgresql_events_per_second": …, "sqlite_read_events_per_second": …, …}

A database that cannot be reached gives ``null`` and a ``*_error`` key. Run:
``.venv/bin/python benchmarks/event_store.py`` (or ``--quick``, well under 30 s). Targets: ≥ 20,000
events/s on SQLite and ≥ 10,000 on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from centrale.core.eventlog import LoggedEvent
from centrale.storage import EventStore, StorageError, migrate
from centrale.storage.sample import sample_events

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def measure(
    url: str, entries: list[LoggedEvent], batch: int, synchronous: str = "NORMAL"
) -> dict[str, float]:
    migrate(url)
    with EventStore(url, synchronous=synchronous) as store:
        start = time.perf_counter()
        for i in range(0, len(entries), batch):
            store.append(entries[i : i + batch])
        write = time.perf_counter() - start
        start = time.perf_counter()
        count = sum(1 for _ in store.read())
        read = time.perf_counter() - start
    assert count == len(entries)
    return {"write": len(entries) / write, "read": len(entries) / read}


def with_sqlite(run: Callable[[str], dict[str, float]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="centrale-bench-") as folder:
        return run(f"sqlite:///{Path(folder) / 'events.db'}")


def with_postgresql(admin_url: str, run: Callable[[str], dict[str, float]]) -> dict[str, float]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"centrale_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise StorageError(admin_url, f"cannot connect: {str(exc.orig).strip().splitlines()[0]}") from exc
    try:
        return run(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000, help="events to write (default 100,000)")
    parser.add_argument("--batch", type=int, default=500, help="events per transaction (default 500)")
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL server URL (default {DEFAULT_PG})")
    parser.add_argument("--quick", action="store_true", help="20,000 events: a run of a few seconds")
    args = parser.parse_args()
    count = 20_000 if args.quick else args.events

    started = time.perf_counter()
    _, entries = sample_events(count, seed=1)
    result: dict[str, Any] = {"benchmark": "event_store", "events": count, "batch": args.batch}
    print(f"generated {count} events in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    sqlite = with_sqlite(lambda url: measure(url, entries, args.batch))
    result["sqlite_events_per_second"] = round(sqlite["write"])
    result["sqlite_read_events_per_second"] = round(sqlite["read"])
    if not args.quick:
        full = with_sqlite(lambda url: measure(url, entries, args.batch, synchronous="FULL"))
        result["sqlite_full_sync_events_per_second"] = round(full["write"])
    try:
        pg = with_postgresql(args.pg, lambda url: measure(url, entries, args.batch))
        result["postgresql_events_per_second"] = round(pg["write"])
        result["postgresql_read_events_per_second"] = round(pg["read"])
    except StorageError as exc:
        result["postgresql_events_per_second"] = None
        result["postgresql_error"] = str(exc)
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
