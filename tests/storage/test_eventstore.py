"""The event store: append/read round trip, one transaction per batch, sequence checks, extras."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from centrale.core.engine import Engine
from centrale.core.eventlog import EventLog, LoggedEvent
from centrale.core.events import AgentLoggedIn, InteractionArrived, OfferAccepted
from centrale.storage import EventBuffer, EventStore, StorageError, migrate
from centrale.storage.db import create_engine
from centrale.storage.sample import sample_events


def _batches(entries: list[LoggedEvent], size: int) -> list[list[LoggedEvent]]:
    return [entries[i : i + size] for i in range(0, len(entries), size)]


def test_append_read_round_trip(store: EventStore) -> None:
    _, entries = sample_events(3000, seed=1)
    assert store.last_seq() == 0
    assert list(store.read()) == []
    for batch in _batches(entries, 250):
        store.append(batch)
    assert store.last_seq() == 3000
    assert list(store.read()) == entries
    assert list(store.read(from_seq=2990)) == entries[2989:]
    assert list(store.read(from_seq=5000)) == []


def test_a_second_store_sees_what_the_first_wrote(store: EventStore, db_url: str) -> None:
    _, entries = sample_events(100, seed=2)
    store.append(entries)
    with EventStore(db_url) as other:
        assert other.last_seq() == 100
        assert list(other.read()) == entries


def test_batches_must_continue_the_log(store: EventStore) -> None:
    store.append([LoggedEvent(1, 0.0, AgentLoggedIn("a"))])
    with pytest.raises(StorageError, match="batch starts at seq 3 but the stored log ends at 1"):
        store.append([LoggedEvent(3, 1.0, AgentLoggedIn("b"))])
    with pytest.raises(StorageError, match="batch starts at seq 1 but the stored log ends at 1"):
        store.append([LoggedEvent(1, 1.0, AgentLoggedIn("b"))])
    with pytest.raises(StorageError, match="not consecutive: seq 4 follows 2"):
        store.append([LoggedEvent(2, 1.0, AgentLoggedIn("b")), LoggedEvent(4, 1.0, AgentLoggedIn("c"))])
    with pytest.raises(StorageError, match="time nan is not a finite number"):
        store.append([LoggedEvent(2, float("nan"), AgentLoggedIn("b"))])
    assert store.last_seq() == 1


def test_a_bad_event_stores_nothing_of_its_batch(store: EventStore) -> None:
    batch = [
        LoggedEvent(1, 0.0, AgentLoggedIn("a")),
        LoggedEvent(2, 0.0, InteractionArrived("i", "q", attributes={"bad": {1, 2}})),
    ]
    with pytest.raises(StorageError, match=r"event 2: InteractionArrived.attributes.bad: set"):
        store.append(batch)
    assert store.last_seq() == 0
    assert list(store.read()) == []


def test_a_batch_failing_in_the_database_is_rolled_back_whole(store: EventStore, db_url: str) -> None:
    """Rows 1–4 of a batch are written, row 5 collides: nothing of the batch remains."""
    assert store.last_seq() == 0
    engine = create_engine(db_url)
    with engine.begin() as conn:  # another writer got seq 5 in first
        conn.execute(
            sa.text("INSERT INTO events (seq, at, type, payload) VALUES (5, 0, 'AgentReady', :p)"),
            {"p": '{"agent": "x"}'},
        )
    engine.dispose()
    batch = [LoggedEvent(i, float(i), AgentLoggedIn(f"a{i}")) for i in range(1, 9)]
    with pytest.raises(StorageError) as info:
        store.append(batch)
    assert "could not store events 1–8" in str(info.value)
    assert [e.seq for e in store.read()] == [5]


def test_a_second_writer_is_refused(store: EventStore, db_url: str) -> None:
    with EventStore(db_url) as other:
        assert other.last_seq() == 0  # it believes the log is empty…
        store.append([LoggedEvent(1, 0.0, AgentLoggedIn("a")), LoggedEvent(2, 0.0, AgentLoggedIn("b"))])
        with pytest.raises(StorageError, match="could not store events 1–2"):
            other.append([LoggedEvent(1, 0.0, AgentLoggedIn("x")), LoggedEvent(2, 0.0, AgentLoggedIn("y"))])
        assert other.last_seq() == 2  # …and rereads it after the failure
    assert [e.event.agent for e in store.read()] == ["a", "b"]


def test_campaign_positions_go_with_their_batch(store: EventStore) -> None:
    store.append([LoggedEvent(1, 0.0, AgentLoggedIn("a"))], campaigns={"spring": {"next_row": 10}})
    store.append(
        [LoggedEvent(2, 1.0, AgentLoggedIn("b"))], campaigns={"spring": {"next_row": 11}, "autumn": {}}
    )
    store.append([], campaigns={"autumn": {"next_row": 1, "paused": True}})
    assert store.campaign_positions() == {
        "spring": ({"next_row": 11}, 2),
        "autumn": ({"next_row": 1, "paused": True}, 2),
    }
    with pytest.raises(StorageError, match="campaign 'bad'"):
        store.append([LoggedEvent(3, 1.0, AgentLoggedIn("c"))], campaigns={"bad": {"x": float("inf")}})
    assert store.last_seq() == 2


def test_snapshots(store: EventStore) -> None:
    assert store.latest_snapshot() is None
    store.save_snapshot(10, b"\x00state-10", format="test")
    store.save_snapshot(20, b"state-20", format="test")
    store.save_snapshot(10, b"again", format="test")
    assert store.latest_snapshot() == (20, "test", b"state-20")


def test_event_buffer_is_a_log_sink(store: EventStore) -> None:
    """The writer loop's shape: handle a tick's events, flush them as one batch, then act."""
    config, entries = sample_events(500, seed=3)
    buffer = EventBuffer(store)
    engine = Engine(config, log=EventLog(sink=buffer, keep=False))
    for i, (_, at, event) in enumerate(entries, 1):
        engine.handle(event, at)
        if i % 37 == 0:
            assert buffer.flush() == 37
    buffer.flush()
    assert len(buffer) == 0
    assert list(store.read()) == entries


def test_failed_flush_keeps_the_entries(store: EventStore) -> None:
    buffer = EventBuffer(store)
    buffer(LoggedEvent(2, 0.0, OfferAccepted("i", "a")))  # seq 1 is missing
    with pytest.raises(StorageError):
        buffer.flush()
    assert len(buffer) == 1


def _pragma(store: EventStore, name: str) -> Any:
    with store._engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_runs_in_wal_mode(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    migrate(url)
    with EventStore(url) as store:
        assert _pragma(store, "journal_mode") == "wal"
        assert _pragma(store, "synchronous") == 1  # NORMAL
        assert _pragma(store, "foreign_keys") == 1
    with EventStore(url, synchronous="full") as store:
        assert _pragma(store, "synchronous") == 2  # FULL
    with pytest.raises(StorageError, match="synchronous='sometimes'"):
        EventStore(url, synchronous="sometimes")


def test_ping_reaches_the_database_and_says_so_when_it_cannot(pg_database: str) -> None:
    """The readiness probe's database check, on PostgreSQL refusing connections to the database
    (ALLOW_CONNECTIONS false, its sessions ended) and then taking them again."""
    from sqlalchemy.engine import make_url

    from .conftest import PG_ADMIN_URL, _reset_pg

    _reset_pg(pg_database)
    migrate(pg_database)
    name = make_url(pg_database).database
    store = EventStore(pg_database)
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        store.ping()
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"),
                {"db": name},
            )
        with pytest.raises(StorageError, match="cannot reach the database") as refused:
            store.ping()
        assert name in str(refused.value)  # the message names the database
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    store.ping()  # reachable again: the pool made a new connection
    store.close()
