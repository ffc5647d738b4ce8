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
Serial = Seq  # an auto-incremented key, the same types
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

# --- the live server (revision 0002) ----------------------------------------------------------------
# Sessions and API tokens are stored as the SHA-256 of the secret handed out, so a copy of the
# database does not log anyone in.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),  # sha256 hex of the cookie value
    sa.Column("username", sa.Text(), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf", sa.Text(), nullable=False),
    sa.Column("created", sa.Double(), nullable=False),  # epoch seconds
    sa.Column("last_seen", sa.Double(), nullable=False),
    sa.Column("expires", sa.Double(), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),  # sha256 hex of the token
    sa.Column("username", sa.Text(), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text(), nullable=False, server_default=""),
    sa.Column("created", sa.Double(), nullable=False),
    sa.Column("last_used", sa.Double(), nullable=True),
    sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("username", sa.Text(), nullable=False),
    sa.Column("action", sa.Text(), nullable=False),  # queue.update, export.interactions, gdpr.erase, …
    sa.Column("target", sa.Text(), nullable=False, server_default=""),
    sa.Column("account", sa.Text(), nullable=True),
    sa.Column("detail", Json, nullable=False, server_default=_EMPTY_OBJECT),
    sa.Column("ip", sa.Text(), nullable=False, server_default=""),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("account", sa.Text(), nullable=True),  # NULL: every account (administrators only)
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("secret", sa.Text(), nullable=False),
    sa.Column("events", Json, nullable=False, server_default=_EMPTY_LIST),  # event kinds
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created", sa.Double(), nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("webhook", sa.Text(), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("status", sa.Text(), nullable=False, server_default="pending"),  # pending, delivered, failed
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt", sa.Double(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
    sa.Column("created", sa.Double(), nullable=False),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt"),
)

# Read models, written in the same transaction as the event batch they follow from.
interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("account", sa.Text(), nullable=False),
    sa.Column("queue", sa.Text(), nullable=False),
    sa.Column("channel", sa.Text(), nullable=False, server_default="voice"),
    sa.Column("direction", sa.Text(), nullable=False, server_default="inbound"),
    sa.Column("contact", sa.Text(), nullable=True),  # phone number, e-mail address, customer id
    sa.Column("parent", sa.Text(), nullable=True),  # the segment this one continues (transfer)
    sa.Column("state", sa.Text(), nullable=False),  # queued, offered, connected, …, or the outcome
    sa.Column("arrived", sa.Double(), nullable=False),
    sa.Column("answered", sa.Double(), nullable=True),
    sa.Column("ended", sa.Double(), nullable=True),
    sa.Column("agent", sa.Text(), nullable=True),
    sa.Column("disposition", sa.Text(), nullable=True),
    sa.Column("notes", sa.Text(), nullable=False, server_default=""),
    sa.Column("attributes", Json, nullable=False, server_default=_EMPTY_OBJECT),
    sa.Column("updated_seq", Seq, nullable=False),
    sa.Index("ix_interactions_account_arrived", "account", "arrived"),
    sa.Index("ix_interactions_contact", "contact"),
    sa.Index("ix_interactions_agent", "agent"),
)

timeline = sa.Table(
    "timeline",
    metadata,
    sa.Column("interaction", sa.Text(), nullable=False),
    sa.Column("seq", Seq, nullable=False),  # the event it follows from
    sa.Column("pos", sa.Integer(), nullable=False),  # order within that event
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),  # arrived, offered, accepted, held, finished, …
    sa.Column("detail", Json, nullable=False, server_default=_EMPTY_OBJECT),
    sa.PrimaryKeyConstraint("interaction", "seq", "pos"),
)

# Callbacks an agent scheduled at wrap-up (fields.callback_at): at `due` the server puts a new
# outbound interaction in `queue` for `contact`; `interaction` is that new one once it exists.
scheduled_callbacks = sa.Table(
    "scheduled_callbacks",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),  # "<interaction it came from>:callback"
    sa.Column("origin", sa.Text(), nullable=False),  # the interaction it was agreed in
    sa.Column("account", sa.Text(), nullable=False),
    sa.Column("queue", sa.Text(), nullable=False),
    sa.Column("contact", sa.Text(), nullable=True),
    sa.Column("agent", sa.Text(), nullable=True),  # who agreed it
    sa.Column("due", sa.Double(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False, server_default="scheduled"),  # queued, cancelled
    sa.Column("interaction", sa.Text(), nullable=True),
    sa.Column("notes", sa.Text(), nullable=False, server_default=""),
    sa.Column("created", sa.Double(), nullable=False),
    sa.Index("ix_scheduled_callbacks_due", "status", "due"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("account", sa.Text(), nullable=False),
    sa.Column("name", sa.Text(), nullable=False, server_default=""),
    sa.Column("queue", sa.Text(), nullable=False),  # the outbound queue its answered calls go to
    sa.Column("settings", Json, nullable=False, server_default=_EMPTY_OBJECT),  # campaign YAML as data
    sa.Column("status", sa.Text(), nullable=False, server_default="stopped"),  # running, paused, stopped
    sa.Column("created", sa.Double(), nullable=False),
)

dnc_entries = sa.Table(
    "dnc_entries",
    metadata,
    sa.Column("number", sa.Text(), nullable=False),  # E.164
    sa.Column("scope", sa.Text(), nullable=False),  # an account id, or "*" for the whole center
    sa.Column("source", sa.Text(), nullable=False, server_default=""),
    sa.Column("created", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint("number", "scope"),
)

# --- outbound lists (revision 0003) -------------------------------------------------------------------
# A contact list uploaded to a campaign: the contacts it accepted (JSON, one object per contact, so a
# restart rebuilds exactly the same leads whatever the phone-number library says by then) and the
# import report (one object per rejected row or dropped value).
campaign_lists = sa.Table(
    "campaign_lists",
    metadata,
    sa.Column("campaign", sa.Text(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("filename", sa.Text(), nullable=False, server_default=""),
    sa.Column("mapping", Json, nullable=False, server_default=_EMPTY_OBJECT),
    sa.Column("region", sa.Text(), nullable=False, server_default="NL"),
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("accepted", sa.Integer(), nullable=False),
    sa.Column("rejected", sa.Integer(), nullable=False),
    sa.Column("contacts", Json, nullable=False, server_default=_EMPTY_LIST),
    sa.Column("issues", Json, nullable=False, server_default=_EMPTY_LIST),
    sa.Column("created", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint("campaign", "name"),
)

# --- call recordings (revision 0004) --------------------------------------------------------------------
# One row per recorded call (centrale.telephony): the stereo WAV (left customer, right agent) written
# when the call ended. Erased with its interaction (centrale.server.privacy), file and row.
recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("interaction", sa.Text(), primary_key=True),
    sa.Column("account", sa.Text(), nullable=False),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("started", sa.Double(), nullable=False),
    sa.Column("ended", sa.Double(), nullable=False),
    sa.Column("bytes", sa.BigInteger(), nullable=False),
    sa.Column("created", sa.Double(), nullable=False),
    sa.Index("ix_recordings_account", "account"),
)

CONFIGURATION_TABLES = (accounts, skills, queues, agents, dispositions, users)
