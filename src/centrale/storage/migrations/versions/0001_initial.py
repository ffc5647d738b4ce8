"""The initial schema: event log, snapshots, configuration, users and campaign positions.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out rather than generated from ``schema.metadata`` at run time: a migration must keep
creating the schema *as it was* at this revision, whatever schema.py becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created_at() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()
    )


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", Seq, autoincrement=False, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
    )
    op.create_table(
        "snapshots",
        sa.Column("seq", Seq, autoincrement=False, nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_snapshots")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "skills",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_skills")),
    )
    op.create_table(
        "queues",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("direction", sa.Text(), nullable=False, server_default="inbound"),
        sa.Column("requires", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
        _created_at(),
        sa.ForeignKeyConstraint(["account"], ["accounts.id"], name=op.f("fk_queues_account_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("team", sa.Text(), nullable=False, server_default=""),
        sa.Column("site", sa.Text(), nullable=False, server_default=""),
        sa.Column("skills", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("capacity", sa.JSON(), nullable=False, server_default=sa.text("""'{"voice": 1}'""")),
        sa.Column("settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
        _created_at(),
        sa.ForeignKeyConstraint(["account"], ["accounts.id"], name=op.f("fk_agents_account_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_table(
        "dispositions",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account"], ["accounts.id"], name=op.f("fk_dispositions_account_accounts")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dispositions")),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("agent", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["agent"], ["agents.id"], name=op.f("fk_users_agent_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_table(
        "campaign_positions",
        sa.Column("campaign", sa.Text(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_seq", Seq, nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.PrimaryKeyConstraint("campaign", name=op.f("pk_campaign_positions")),
    )


def downgrade() -> None:
    for table in (
        "campaign_positions",
        "users",
        "dispositions",
        "agents",
        "queues",
        "skills",
        "accounts",
        "snapshots",
        "events",
    ):
        op.drop_table(table)
