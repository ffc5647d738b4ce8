"""Database URLs and SQLAlchemy engines for the two supported databases.

SQLite is the default (one file, no server); PostgreSQL is chosen with a URL. Both go through
SQLAlchemy 2 Core so there is one schema and one set of migrations. This module turns what a user
typed into an engine configured the way the event store needs:

* SQLite: WAL journal (readers never block the single writer, and a commit is one append to the
  WAL), ``synchronous=NORMAL`` by default, foreign keys on, a busy timeout. pysqlite's own implicit
  transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself — the documented
  SQLAlchemy recipe — so DDL (migrations) is transactional too and a batch is exactly one
  transaction.
* PostgreSQL: psycopg 3 (``postgresql+psycopg``). A bare ``postgresql://`` URL is mapped to it,
  because SQLAlchemy's default driver for that scheme is psycopg2, which centrale does not ship.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from centrale.storage.errors import StorageError

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
CONNECT_TIMEOUT_SECONDS = 5


def parse_url(url: str | os.PathLike[str] | URL) -> URL:
    """A SQLAlchemy URL for `url`: a database URL, or a plain file path meaning SQLite.

    Raises :class:`StorageError` for anything that is neither SQLite nor PostgreSQL.
    """
    if isinstance(url, URL):
        parsed = url
    elif isinstance(url, os.PathLike):
        return URL.create("sqlite", database=str(Path(url).expanduser()))
    else:
        text = str(url).strip()
        if not text:
            raise StorageError("", "empty database URL")
        if "://" not in text:
            # A plain path is the common case for the default SQLite store: `centrale.db`.
            return URL.create("sqlite", database=str(Path(text).expanduser()))
        try:
            parsed = make_url(text)
        except Exception as exc:  # SQLAlchemy raises ArgumentError/ValueError variants
            raise StorageError(text, f"not a valid database URL ({exc})") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise StorageError(display(parsed), f"unsupported SQLite driver {parsed.drivername!r}")
        return parsed
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            return parsed.set(drivername="postgresql+psycopg")
        raise StorageError(
            display(parsed),
            f"unsupported PostgreSQL driver {parsed.drivername!r}; use postgresql+psycopg://",
        )
    raise StorageError(
        display(parsed),
        f"unsupported database {backend!r}: use a SQLite file (sqlite:///path.db) "
        "or PostgreSQL (postgresql+psycopg://user@host/db)",
    )


def display(url: URL) -> str:
    """The URL as it may appear in messages and logs: the password is masked."""
    return url.render_as_string(hide_password=True)


def create_engine(url: str | os.PathLike[str] | URL, *, synchronous: str = "NORMAL") -> Engine:
    """A SQLAlchemy engine for `url`, set up for the event store (see the module docstring)."""
    parsed = parse_url(url)
    mode = synchronous.upper()
    if mode not in SYNCHRONOUS_MODES:
        raise StorageError(
            display(parsed), f"synchronous={synchronous!r}; expected one of {', '.join(SYNCHRONOUS_MODES)}"
        )
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                # sqlite3 would only say "unable to open database file"; say which folder is missing.
                raise StorageError(display(parsed), f"folder {folder} does not exist")
        engine = sa.create_engine(parsed, connect_args={"timeout": 30.0})
        _configure_sqlite(engine, mode)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    # No pre-ping (a round trip before every use, 7 % of the live server's time at 200 requests/s);
    # connections are recycled after 30 minutes instead, well before servers drop idle ones.
    return sa.create_engine(parsed, connect_args=connect_args, pool_recycle=1800)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (BEGIN below); pysqlite would otherwise start
        # transactions only before DML and run DDL outside them.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL is persistent in the file; setting it again on every connection is harmless and
            # covers a file created by someone else. In-memory databases answer "memory".
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def describe_failure(exc: BaseException) -> str:
    """One line for a driver error: the database's own words, without SQLAlchemy's boilerplate."""
    orig = getattr(exc, "orig", None) or exc
    lines = (" ".join(line.split()) for line in str(orig).splitlines())
    kept = [line for line in lines if line and not line.startswith(("[SQL", "[parameters", "(Background"))]
    text = " ".join(kept) or type(orig).__name__
    return text if len(text) <= 400 else text[:399] + "…"


def dialect_insert(conn: sa.Connection | str, table: sa.Table) -> Any:
    """An INSERT for `table` in the connection's dialect (or the dialect named), which has
    ``on_conflict_do_update`` and ``on_conflict_do_nothing`` (PostgreSQL's and SQLite's
    ``INSERT … ON CONFLICT``)."""
    dialect = conn if isinstance(conn, str) else conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
