"""The live server: sessions, API tokens, audit log, webhooks, read models, campaigns, do-not-call.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Written out, like 0001, so that it keeps creating the schema as it was at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EMPTY_OBJECT = sa.text("'{}'")
EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("csrf", sa.Text(), nullable=False),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("last_seen", sa.Double(), nullable=False),
        sa.Column("expires", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["users.username"], name=op.f("fk_sessions_username_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("last_used", sa.Double(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(
            ["username"], ["users.username"], name=op.f("fk_api_tokens_username_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", Serial, autoincrement=True, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False, server_default=""),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT),
        sa.Column("ip", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False, server_default=EMPTY_LIST),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", Serial, autoincrement=True, nullable=False),
        sa.Column("webhook", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt", sa.Double(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("created", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt"])
    op.create_table(
        "interactions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False, server_default="voice"),
        sa.Column("direction", sa.Text(), nullable=False, server_default="inbound"),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("parent", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("arrived", sa.Double(), nullable=False),
        sa.Column("answered", sa.Double(), nullable=True),
        sa.Column("ended", sa.Double(), nullable=True),
        sa.Column("agent", sa.Text(), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""),
        sa.Column("attributes", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT),
        sa.Column("updated_seq", Seq, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    op.create_index("ix_interactions_account_arrived", "interactions", ["account", "arrived"])
    op.create_index("ix_interactions_contact", "interactions", ["contact"])
    op.create_index("ix_interactions_agent", "interactions", ["agent"])
    op.create_table(
        "timeline",
        sa.Column("interaction", sa.Text(), nullable=False),
        sa.Column("seq", Seq, nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT),
        sa.PrimaryKeyConstraint("interaction", "seq", "pos", name=op.f("pk_timeline")),
    )
    op.create_table(
        "scheduled_callbacks",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("agent", sa.Text(), nullable=True),
        sa.Column("due", sa.Double(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="scheduled"),
        sa.Column("interaction", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""),
        sa.Column("created", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_callbacks")),
    )
    op.create_index("ix_scheduled_callbacks_due", "scheduled_callbacks", ["status", "due"])
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT),
        sa.Column("status", sa.Text(), nullable=False, server_default="stopped"),
        sa.Column("created", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "dnc_entries",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, server_default=""),
        sa.Column("created", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("number", "scope", name=op.f("pk_dnc_entries")),
    )


def downgrade() -> None:
    for index, table in (
        ("ix_scheduled_callbacks_due", "scheduled_callbacks"),
        ("ix_interactions_agent", "interactions"),
        ("ix_interactions_contact", "interactions"),
        ("ix_interactions_account_arrived", "interactions"),
        ("ix_webhook_deliveries_due", "webhook_deliveries"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "dnc_entries",
        "campaigns",
        "scheduled_callbacks",
        "timeline",
        "interactions",
        "webhook_deliveries",
        "webhooks",
        "audit_log",
        "api_tokens",
        "sessions",
    ):
        op.drop_table(table)
