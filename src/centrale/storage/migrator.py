"""Running the Alembic migrations from Python: ``centrale.storage.migrate(url)``.

There is no ``alembic.ini``: the configuration is built here, pointing at the ``migrations``
package that ships inside centrale, and the upgrade runs on a connection this module opens, in one
transaction (DDL is transactional on PostgreSQL, and on SQLite because :mod:`centrale.storage.db`
lets SQLAlchemy emit ``BEGIN`` itself). Upgrading an up-to-date database does nothing, so the live
server can call :func:`migrate` on every start.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from centrale.storage.db import create_engine, describe_failure, display, parse_url
from centrale.storage.errors import StorageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Taken inside the migration transaction on PostgreSQL, so two servers starting at once do not both
# try to create the tables (the second waits, then finds the schema current). Any constant will do.
_PG_MIGRATION_LOCK = 0x63656E74  # "cent"


def alembic_config() -> Config:
    """An Alembic configuration for centrale's migrations (no ini file needed)."""
    config = Config()
    # ConfigParser interpolation: a '%' in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision the code expects the database to be at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise StorageError("", f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is at; None for a database without centrale's schema."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(url: str | os.PathLike[str] | URL, *, revision: str = "head") -> str:
    """Bring the database at `url` up to `revision` (default: the newest); return the revision.

    Idempotent. Raises :class:`StorageError` (naming the URL) when the database cannot be reached
    or a migration fails; nothing is half-applied, since the upgrade is one transaction.
    """
    parsed = parse_url(url)
    engine = create_engine(parsed)
    config = alembic_config()
    try:
        with engine.connect():
            pass
    except Exception as exc:
        engine.dispose()
        raise StorageError(display(parsed), f"cannot connect: {describe_failure(exc)}") from exc
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            now = current_revision(connection)
    except StorageError:
        raise
    except Exception as exc:  # any driver or Alembic failure becomes one clear line
        raise StorageError(display(parsed), f"migration failed: {describe_failure(exc)}") from exc
    finally:
        engine.dispose()
    return now or ""
