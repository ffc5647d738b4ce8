"""The event store: the engine's event log, persisted.

Theory of operation
-------------------
The live server runs one writer loop. Each tick it hands the engine the events that arrived,
collects the :class:`~centrale.core.eventlog.LoggedEvent` entries the engine's log produced (an
:class:`EventBuffer` is a ready-made sink), writes them with :meth:`EventStore.append` — **one
transaction per batch** — and only then carries out the commands. So whatever an agent or a
customer has seen happen is in the store, and a batch is either stored whole or not at all.

After a crash and a restart, :meth:`EventStore.recover` replays the stored log into a new engine:
every queued interaction, agent state and callback comes back exactly as it was (the engine reads
nothing but its events), and ``engine.pending_timers()`` lists the timers to arm again.

Durability
----------
* SQLite runs in WAL mode. With ``synchronous=NORMAL`` (the default) a commit is an append to the
  WAL file without an fsync: a committed batch survives the *process* dying (kill -9, a crash,
  an OOM kill) because it is in the operating system's page cache, but the last few batches may be
  lost if the *machine* loses power or the kernel crashes. ``synchronous=FULL`` fsyncs the WAL at
  every commit and survives power loss too, at the price of one fsync per batch (batching is what
  keeps that affordable). Either way the database is never corrupt and never holds half a batch.
* PostgreSQL commits are durable as configured on the server (``synchronous_commit``, ``fsync``).
  Batches are written with ``COPY … FROM STDIN`` inside one transaction.

Sequence numbers are the engine's: the store checks that each batch continues the stored log
without a gap or an overlap, and refuses anything else (a second writer, a lost batch).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import URL

from centrale.core.config import EngineConfig
from centrale.core.engine import Engine
from centrale.core.errors import DomainError
from centrale.core.eventlog import EventLog, LoggedEvent
from centrale.storage import codec
from centrale.storage.db import create_engine, describe_failure, dialect_insert, display, parse_url
from centrale.storage.errors import CodecError, StorageError
from centrale.storage.migrator import current_revision, head_revision
from centrale.storage.schema import campaign_positions, events, snapshots

_INSERT_SQLITE = "INSERT INTO events (seq, at, type, payload) VALUES (?, ?, ?, ?)"
_COPY_POSTGRESQL = "COPY events (seq, at, type, payload) FROM STDIN"
READ_CHUNK = 2000
"""Rows fetched per round trip when reading the log (PostgreSQL uses a server-side cursor)."""


class EventStore:
    """The persisted event log (plus snapshots and campaign positions) in SQLite or PostgreSQL.

    `url` is a SQLite file path or URL (``sqlite:///centrale.db``) or a PostgreSQL URL
    (``postgresql+psycopg://user@host/db``). The database must already be migrated
    (:func:`centrale.storage.migrate`); opening checks that it is, so a server never starts on the
    wrong schema. `synchronous` is SQLite's ``PRAGMA synchronous`` (see the module docstring).

    One writer per database: the store is meant to be used by the live server's single writer loop.
    Every failure is raised as :class:`StorageError` naming the database and the problem.
    """

    def __init__(self, url: str | os.PathLike[str] | URL, *, synchronous: str = "NORMAL") -> None:
        parsed = parse_url(url)
        self.url = display(parsed)
        self._engine = create_engine(parsed, synchronous=synchronous)
        self.dialect = self._engine.dialect.name
        self._last_seq: int | None = None  # cached once known: this process is the only writer
        try:
            with self._engine.connect() as conn:
                have = current_revision(conn)
        except Exception as exc:
            self._engine.dispose()
            raise StorageError(self.url, f"cannot connect: {describe_failure(exc)}") from exc
        want = head_revision()
        if have != want:
            self._engine.dispose()
            found = "has no centrale schema" if have is None else f"is at schema revision {have}"
            raise StorageError(
                self.url,
                f"the database {found}, this centrale needs {want}: run centrale.storage.migrate(url)",
            )

    # --- lifecycle ---------------------------------------------------------------------------------
    def ping(self) -> None:
        """Reach the database with a trivial query (a readiness probe); StorageError if it cannot.
        Any thread: it takes a connection of its own from the pool."""
        try:
            with self._engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:
            raise StorageError(self.url, f"cannot reach the database: {describe_failure(exc)}") from exc

    def close(self) -> None:
        """Close every connection. The store cannot be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({self.url!r})"

    # --- writing -----------------------------------------------------------------------------------
    def append(
        self,
        entries: Sequence[LoggedEvent],
        *,
        campaigns: Mapping[str, Any] | None = None,
        extra: Callable[[sa.Connection], None] | None = None,
    ) -> None:
        """Store `entries` — and the given campaign positions — in one transaction.

        `entries` must continue the stored log (first seq = last stored + 1, consecutive). The
        campaign positions (campaign id → JSON state) are stamped with the batch's last seq.
        `extra(conn)` runs inside the same transaction, after the events are written: the live
        server writes its read models there, so they are stored with the events or not at all. On
        any error nothing of the batch is stored and :class:`StorageError` is raised.
        """
        if not entries and not campaigns and extra is None:
            return
        rows = self._encode(entries)
        last = self.last_seq()
        if rows and rows[0][0] != last + 1:
            raise StorageError(
                self.url,
                f"batch starts at seq {rows[0][0]} but the stored log ends at {last} "
                "(a gap or an overlap: is another writer using this database?)",
            )
        new_last = rows[-1][0] if rows else last
        try:
            with self._engine.begin() as conn:
                if rows:
                    if self.dialect == "postgresql":
                        _copy_postgresql(conn, rows)
                    else:
                        conn.exec_driver_sql(_INSERT_SQLITE, rows)
                if campaigns:
                    self._upsert_campaigns(conn, campaigns, new_last)
                if extra is not None:
                    extra(conn)
        except Exception as exc:
            self._last_seq = None  # unknown now: ask the database next time
            raise StorageError(
                self.url, f"could not store events {_span(rows)}: {describe_failure(exc)}"
            ) from exc
        self._last_seq = new_last

    @property
    def sql(self) -> sa.Engine:
        """The SQLAlchemy engine, for the live server's other tables (same database, same pool)."""
        return self._engine

    def _encode(self, entries: Sequence[LoggedEvent]) -> list[tuple[int, float, str, str]]:
        rows: list[tuple[int, float, str, str]] = []
        dumps, encode = codec.dumps, codec.encode
        previous: int | None = None
        for seq, at, event in entries:
            if previous is not None and seq != previous + 1:
                raise StorageError(self.url, f"batch is not consecutive: seq {seq} follows {previous}")
            if not math.isfinite(at):
                raise StorageError(self.url, f"event {seq}: time {at!r} is not a finite number")
            try:
                name, payload = encode(event)
                rows.append((seq, float(at), name, dumps(payload)))
            except CodecError as exc:
                raise StorageError(self.url, f"event {seq}: {exc}") from exc
            previous = seq
        return rows

    def _upsert_campaigns(self, conn: sa.Connection, campaigns: Mapping[str, Any], seq: int) -> None:
        for campaign, state in campaigns.items():
            try:
                codec.dumps({"state": state})  # refuse non-JSON state with a clear message
            except CodecError as exc:
                raise StorageError(self.url, f"campaign {campaign!r}: {exc}") from exc
        upsert_campaign_positions(conn, campaigns, seq)

    def save_snapshot(self, seq: int, state: bytes, *, format: str) -> None:
        """Keep serialized engine state taken after event `seq` (optional; for faster restarts).

        The core does not yet restore an engine from a snapshot, so :meth:`recover` always replays
        the whole log; snapshots are stored for when it does, and for inspection.
        """
        try:
            with self._engine.begin() as conn:
                conn.execute(snapshots.delete().where(snapshots.c.seq == seq))
                conn.execute(snapshots.insert().values(seq=seq, format=format, state=state))
        except Exception as exc:
            raise StorageError(self.url, f"could not store snapshot {seq}: {describe_failure(exc)}") from exc

    # --- reading -----------------------------------------------------------------------------------
    def last_seq(self) -> int:
        """The seq of the last stored event; 0 for an empty log."""
        if self._last_seq is None:
            try:
                with self._engine.connect() as conn:
                    value = conn.execute(sa.select(sa.func.max(events.c.seq))).scalar()
            except Exception as exc:
                raise StorageError(self.url, f"cannot read the event log: {describe_failure(exc)}") from exc
            self._last_seq = int(value or 0)
        return self._last_seq

    def read(self, from_seq: int = 0) -> Iterator[LoggedEvent]:
        """Every stored event with seq ≥ `from_seq`, in order, streamed (not loaded at once).

        The connection stays open while the iterator is alive; exhaust or close it.
        """
        stmt = (
            sa.select(events.c.seq, events.c.at, events.c.type, events.c.payload)
            .where(events.c.seq >= from_seq)
            .order_by(events.c.seq)
        )
        decode = codec.decode
        try:
            with self._engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=READ_CHUNK).execute(stmt)
                for seq, at, type_name, payload in result:
                    try:
                        event = decode(type_name, payload)
                    except CodecError as exc:
                        raise StorageError(self.url, f"stored event {seq} cannot be read: {exc}") from exc
                    yield LoggedEvent(seq, at, event)
        except StorageError:
            raise
        except GeneratorExit:
            raise
        except Exception as exc:
            raise StorageError(self.url, f"cannot read the event log: {describe_failure(exc)}") from exc

    def latest_snapshot(self) -> tuple[int, str, bytes] | None:
        """``(seq, format, state)`` of the newest snapshot, or None."""
        stmt = sa.select(snapshots.c.seq, snapshots.c.format, snapshots.c.state).order_by(
            snapshots.c.seq.desc()
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(stmt.limit(1)).first()
        except Exception as exc:
            raise StorageError(self.url, f"cannot read snapshots: {describe_failure(exc)}") from exc
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def campaign_positions(self) -> dict[str, tuple[Any, int]]:
        """Campaign id → (state, seq of the batch that stored it)."""
        stmt = sa.select(
            campaign_positions.c.campaign, campaign_positions.c.state, campaign_positions.c.updated_seq
        )
        try:
            with self._engine.connect() as conn:
                return {c: (s, int(q)) for c, s, q in conn.execute(stmt)}
        except Exception as exc:
            raise StorageError(self.url, f"cannot read campaign positions: {describe_failure(exc)}") from exc

    # --- recovery ----------------------------------------------------------------------------------
    def recover(self, config: EngineConfig) -> Engine:
        """A new engine with the whole stored log replayed, ready to continue.

        The same as ``Engine.replay(config, …)`` except that the new engine's log does not keep
        the replayed entries in memory (a long-running center's log can be large); its
        ``last_seq`` is the stored one, so the next event is numbered right after it. The caller
        re-arms ``engine.pending_timers()`` (some may be overdue: fire those at once) and attaches
        its sink to ``engine.log``.

        Raises :class:`StorageError` if the log has a gap or an event is refused on replay (which
        means `config` is not the configuration the log was written with).
        """
        engine = Engine(config, log=EventLog(keep=False))
        expected = 1
        for seq, at, event in self.read():
            if seq != expected:
                raise StorageError(self.url, f"the event log has a gap: seq {seq} follows {expected - 1}")
            try:
                engine.handle(event, at)
            except DomainError as exc:
                raise StorageError(
                    self.url,
                    f"event {seq} ({type(event).__name__}) is refused on replay: {exc}; "
                    "was the configuration changed since it was written?",
                ) from exc
            expected += 1
        return engine


class EventBuffer:
    """An :class:`EventLog` sink that collects entries until the writer loop flushes them.

    ``engine = Engine(config, log=EventLog(sink=buffer, keep=False))``; after handling the events of
    a tick, ``buffer.flush()`` stores them as one batch, then the commands are carried out.
    """

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.pending: list[LoggedEvent] = []

    def __call__(self, entry: LoggedEvent) -> None:
        self.pending.append(entry)

    def __len__(self) -> int:
        return len(self.pending)

    def flush(self, *, campaigns: Mapping[str, Any] | None = None) -> int:
        """Store what was collected (one transaction); return how many events were stored.

        On failure the entries stay pending and :class:`StorageError` propagates: the loop must not
        act on their commands.
        """
        batch = self.pending
        if not batch and not campaigns:
            return 0
        self.store.append(batch, campaigns=campaigns)
        self.pending = []
        return len(batch)


def upsert_campaign_positions(conn: sa.Connection, states: Mapping[str, Any], seq: int) -> None:
    """Store campaign positions (campaign id → JSON state) stamped with event `seq`, on `conn`
    (inside the caller's transaction)."""
    stmt = dialect_insert(conn, campaign_positions)
    stmt = stmt.on_conflict_do_update(
        index_elements=[campaign_positions.c.campaign],
        set_={
            "state": stmt.excluded.state,
            "updated_seq": stmt.excluded.updated_seq,
            "updated_at": sa.func.current_timestamp(),
        },
    )
    conn.execute(stmt, [{"campaign": c, "state": s, "updated_seq": seq} for c, s in states.items()])


def _copy_postgresql(conn: sa.Connection, rows: list[tuple[int, float, str, str]]) -> None:
    """COPY the rows in through psycopg, inside the transaction SQLAlchemy has begun."""
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(_COPY_POSTGRESQL) as copy:
        for row in rows:
            copy.write_row(row)


def _span(rows: Sequence[tuple[int, Any, Any, Any]]) -> str:
    if not rows:
        return "(none)"
    return f"{rows[0][0]}–{rows[-1][0]}" if len(rows) > 1 else str(rows[0][0])
