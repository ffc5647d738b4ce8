"""Call recordings: one row per recorded call, linked to its interaction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Written out, like the earlier revisions, so that it keeps creating the schema as it was at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("interaction", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("started", sa.Double(), nullable=False),
        sa.Column("ended", sa.Double(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("interaction", name=op.f("pk_recordings")),
    )
    op.create_index("ix_recordings_account", "recordings", ["account"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_recordings_account", table_name="recordings")
    op.drop_table("recordings")
