"""The database schema: one SQLAlchemy Core definition for SQLite and PostgreSQL.

The tables fall into three groups:

* the **event log** (``events``) — the source of truth. Every event the engine accepted, numbered by
  the engine (``seq``), with the engine time (``at``), the event type and its fields as JSON. The
  live server appends to it before acting on an event's commands; replaying it rebuilds the engine.
  ``snapshots`` may hold serialized state at some ``seq`` to shorten restarts (optional).
* **configuration** — accounts, skills, queues, agents, dispositions and users, from which the
  composition root builds an :class:`~centrale.core.config.EngineConfig`. Settings that are plain
  data for the engine (service-level targets, opening hours, escalation steps, capacities) are JSON
  columns, so adding a setting to the core does not need a migration.
* **campaign positions** — where each outbound campaign is in its contact list, written in the same
  transaction as the event batch they belong to (``updated_seq``), so a restart resumes dialling
  exactly where the recovered engine is.

Column types are chosen to mean the same on both databases: ``seq`` is a 64-bit integer (on SQLite
declared ``INTEGER`` so the primary key is the rowid itself — no second index to maintain on every
append); ``at`` is a double, as the engine's clock is; ``payload`` is ``JSON`` — TEXT on SQLite,
``json`` on PostgreSQL. ``json`` rather than ``jsonb`` on purpose: inserting it is a validation
rather than a conversion (the log is written far more than queried), it keeps the text exactly as
the codec wrote it, and it accepts every string the engine may carry (``jsonb`` refuses ``\\u0000``).
Queries can still cast: ``payload::jsonb ->> 'interaction'``.

Keep this file and the migrations in ``migrations/versions`` in step: a test compares them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# Names for constraints and indexes, so migrations can refer to them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# A 64-bit sequence number; on SQLite exactly INTEGER so that a primary key on it is the rowid.
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON()
_EMPTY_OBJECT = sa.text("'{}'")
_EMPTY_LIST = sa.text("'[]'")


def _created_at() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()
    )


events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", Seq, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column(
        "recorded_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.current_timestamp(),
    ),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("seq", Seq, primary_key=True, autoincrement=False),
    sa.Column("format", sa.Text(), nullable=False),
    sa.Column("state", sa.LargeBinary(), nullable=False),
    _created_at(),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("name", sa.Text(), nullable=False, server_default=""),
    sa.Column("settings", Json, nullable=False, server_default=_EMPTY_OBJECT),
    _created_at(),
)

skills = sa.Table(
    "skills",
    metadata,
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
)

queues = sa.Table(
    "queues",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("account", sa.Text(), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("channel", sa.Text(), nullable=False),
    sa.Column("name", sa.Text(), nullable=False, server_default=""),
    sa.Column("direction", sa.Text(), nullable=False, server_default="inbound"),
    # The requirement expression as text (`sales >= 5 and skill[task.language] >= 6`); the
    # composition root parses it with centrale.core.expressions.parse when it builds the config.
    sa.Column("requires", sa.Text(), nullable=False),
    # Everything else of QueueConfig: priority, service level, hours, wrap-up, escalation, …
    sa.Column("settings", Json, nullable=False, server_default=_EMPTY_OBJECT),
    _created_at(),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("account", sa.Text(), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("name", sa.Text(), nullable=False, server_default=""),
    sa.Column("team", sa.Text(), nullable=False, server_default=""),
    sa.Column("site", sa.Text(), nullable=False, server_default=""),
    sa.Column("skills", Json, nullable=False, server_default=_EMPTY_OBJECT),  # skill → proficiency
    sa.Column("capacity", Json, nullable=False, server_default=sa.text("""'{"voice": 1}'""")),
    sa.Column("settings", Json, nullable=False, server_default=_EMPTY_OBJECT),
    _created_at(),
)

dispositions = sa.Table(
    "dispositions",
    metadata,
    sa.Column("code", sa.Text(), primary_key=True),
    sa.Column("label", sa.Text(), nullable=False),
    sa.Column("category", sa.Text(), nullable=False),
    # NULL: usable by every account (as Disposition.account in the core).
    sa.Column("account", sa.Text(), sa.ForeignKey("accounts.id"), nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.Text(), primary_key=True),
    # A full PHC string ($argon2id$…, $scrypt$…): algorithm, parameters and salt travel with the hash.
    sa.Column("password_hash", sa.Text(), nullable=False),
    sa.Column("role", sa.Text(), nullable=False),
    sa.Column("accounts", Json, nullable=False, server_default=_EMPTY_LIST),  # account ids; [] = none
    sa.Column("agent", sa.Text(), sa.ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    _created_at(),
)

campaign_positions = sa.Table(
    "campaign_positions",
    metadata,
    sa.Column("campaign", sa.Text(), primary_key=True),
    sa.Column("state", Json, nullable=False),
    sa.Column("updated_seq", Seq, nullable=False),  # the event seq this position goes with
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()
    ),
)

CONFIGURATION_TABLES = (accounts, skills, queues, agents, dispositions, users)
