"""Fixtures for the live-server tests: stores run on SQLite (a temp file) and PostgreSQL.

The PostgreSQL database is the storage tests' (``pg_database`` in ``tests/storage/conftest.py``:
``CENTRALE_TEST_PG``, one fresh database per session, ``CENTRALE_SKIP_PG=1`` to skip); each test
starts from an empty, migrated schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from centrale.storage import migrate
from centrale.storage.db import create_engine

# `tests/` is on sys.path (pytest's rootdir-based import), and this is the module pytest itself
# loaded for tests/storage, so the PostgreSQL set-up lives in one place.
from storage.conftest import BACKENDS, _reset_pg, pg_database  # noqa: F401 (pg_database: a fixture)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'centrale.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        _reset_pg(url)
    migrate(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """A SQLAlchemy engine on `db_url`, set up as the server sets it up."""
    e = create_engine(db_url)
    try:
        yield e
    finally:
        e.dispose()
