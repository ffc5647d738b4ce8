"""Fixtures for the storage tests: every store test runs on SQLite (a temp file) and PostgreSQL.

PostgreSQL is the server at ``CENTRALE_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/
test``, trust auth). Each test session (each xdist worker) creates a fresh database
``centrale_test_<random>`` there and drops it at the end; each test starts from an empty schema.
If the server cannot be reached the PostgreSQL tests *fail* with a message saying so — a storage
layer that was never tested on PostgreSQL must not look green — unless ``CENTRALE_SKIP_PG=1``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from centrale.storage import EventStore, migrate

PG_ADMIN_URL = os.environ.get("CENTRALE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def _skip_pg() -> bool:
    return os.environ.get("CENTRALE_SKIP_PG", "") in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session (dropped afterwards)."""
    if _skip_pg():
        pytest.skip("PostgreSQL tests skipped: CENTRALE_SKIP_PG=1")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"centrale_test_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({reason}). The storage tests need it "
            "(trust auth, user postgres); set CENTRALE_SKIP_PG=1 to skip them.",
            pytrace=False,
        )
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_pg(url: str) -> None:
    """An empty public schema (fast, and no leftover from the previous test)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # A killed writer's backend may still hold its aborted transaction for a moment.
            conn.execute(sa.text("SET lock_timeout = '20s'"))
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (no schema yet)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'centrale.db'}"
    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[EventStore]:
    """A migrated, empty event store of each kind."""
    migrate(db_url)
    s = EventStore(db_url)
    try:
        yield s
    finally:
        s.close()
