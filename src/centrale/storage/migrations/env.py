"""Alembic environment: how a migration run reaches the database.

:func:`centrale.storage.migrate` passes an open SQLAlchemy connection in
``config.attributes["connection"]`` (already inside a transaction), so the whole upgrade commits or
rolls back as one. Alembic's command line works too, with ``-x url=…`` or the ``CENTRALE_DATABASE_URL``
variable naming the database. ``render_as_batch`` lets future migrations alter tables on SQLite, which
supports only a few ALTER TABLE forms.
"""

from __future__ import annotations

import os

from alembic import context

from centrale.storage.db import create_engine
from centrale.storage.schema import metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("CENTRALE_DATABASE_URL")
    if not url:
        raise SystemExit("give the database with -x url=… or CENTRALE_DATABASE_URL")
    return url


def run_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
