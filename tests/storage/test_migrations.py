"""Migrations apply on an empty database, are idempotent, and match schema.py; bad URLs are clear."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from centrale.storage import EventStore, StorageError, head_revision, migrate
from centrale.storage.db import create_engine
from centrale.storage.schema import metadata

# Every table of schema.py (the test below checks that the migrations create the same ones).
TABLES = {*metadata.tables, "alembic_version"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_creates_the_schema_and_is_idempotent(db_url: str) -> None:
    assert _tables(db_url) == set()
    head = head_revision()
    assert migrate(db_url) == head
    assert _tables(db_url) == TABLES
    assert migrate(db_url) == head  # nothing to do the second time
    assert _tables(db_url) == TABLES
    EventStore(db_url).close()


def test_migrations_match_schema_py(db_url: str) -> None:
    """The migration files and the SQLAlchemy tables describe the same schema."""
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_configuration_tables_take_rows(db_url: str) -> None:
    """A smoke test of defaults, JSON columns and foreign keys on both databases."""
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO accounts (id, name) VALUES ('acme', 'Acme')"))
            conn.execute(
                metadata.tables["queues"].insert(),
                {
                    "id": "sales",
                    "account": "acme",
                    "channel": "voice",
                    "requires": "sales >= 5",
                    "settings": {"sl_target": 0.8, "escalation": [{"after": 30, "action": "priority"}]},
                },
            )
            conn.execute(sa.text("INSERT INTO agents (id, account) VALUES ('a1', 'acme')"))
            conn.execute(
                metadata.tables["users"].insert(),
                {
                    "username": "ann",
                    "password_hash": "$argon2id$v=19$...",
                    "role": "agent",
                    "accounts": ["acme"],
                    "agent": "a1",
                },
            )
        with engine.connect() as conn:
            queue = conn.execute(sa.select(metadata.tables["queues"])).mappings().one()
            assert queue["settings"]["escalation"][0]["after"] == 30
            agent = conn.execute(sa.select(metadata.tables["agents"])).mappings().one()
            assert agent["capacity"] == {"voice": 1} and agent["skills"] == {}
            user = conn.execute(sa.select(metadata.tables["users"])).mappings().one()
            assert user["accounts"] == ["acme"] and user["disabled"] is False
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO agents (id, account) VALUES ('a2', 'nobody')"))
    finally:
        engine.dispose()


def test_store_refuses_a_database_without_the_schema(db_url: str) -> None:
    with pytest.raises(StorageError) as info:
        EventStore(db_url)
    assert "has no centrale schema" in str(info.value)
    assert "migrate" in str(info.value)


def test_store_refuses_an_unknown_revision(db_url: str) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    expected = f"is at schema revision 9999, this centrale needs {head_revision()}"
    with pytest.raises(StorageError, match=expected):
        EventStore(db_url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@localhost/db", "unsupported PostgreSQL driver"),
        ("::nonsense://", "not a valid database URL"),
        ("", "empty database URL"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(StorageError) as info:
        migrate(url)
    assert message in str(info.value)


def test_missing_sqlite_folder(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        EventStore(tmp_path / "nowhere" / "centrale.db")  # type: ignore[arg-type]
    assert f"folder {tmp_path / 'nowhere'} does not exist" in str(info.value)


def test_unreachable_postgresql_names_the_url_and_hides_the_password() -> None:
    url = "postgresql+psycopg://ann:s3cret@127.0.0.1:1/centrale"  # nothing listens on port 1
    for attempt in (lambda: migrate(url), lambda: EventStore(url)):
        with pytest.raises(StorageError) as info:
            attempt()
        message = str(info.value)
        assert message.startswith("postgresql+psycopg://ann:***@127.0.0.1:1/centrale: ")
        assert "s3cret" not in message
        assert "refused" in message.lower() or "connect" in message.lower()
        assert "\n" not in message


def test_plain_path_means_sqlite(tmp_path: Path) -> None:
    path = str(tmp_path / "plain.db")
    migrate(path)
    with EventStore(path) as store:
        assert store.dialect == "sqlite"
        assert store.last_seq() == 0
