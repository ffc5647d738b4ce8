"""Outbound contact lists uploaded to campaigns: accepted contacts and the import report.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Written out, like 0001 and 0002, so that it keeps creating the schema as it was at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_OBJECT = sa.text("'{}'")
EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    op.create_table(
        "campaign_lists",
        sa.Column("campaign", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False, server_default=""),
        sa.Column("mapping", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT),
        sa.Column("region", sa.Text(), nullable=False, server_default="NL"),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False, server_default=EMPTY_LIST),
        sa.Column("issues", sa.JSON(), nullable=False, server_default=EMPTY_LIST),
        sa.Column("created", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign"],
            ["campaigns.id"],
            name=op.f("fk_campaign_lists_campaign_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign", "name", name=op.f("pk_campaign_lists")),
    )


def downgrade() -> None:
    op.drop_table("campaign_lists")
