"""name changes: the ids each name revision changed, for the lookup caches (issue 10)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty to start with: a cache older than the first logged revision rebuilds.
    op.create_table(
        "name_changes",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entity_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("kind", "revision", "entity_id", name=op.f("pk_name_changes")),
    )


def downgrade() -> None:
    op.drop_table("name_changes")
