"""people administration: a person can be deactivated; an unregistered sender's notice is
given once per room and day (issue 14)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "unregistered_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unregistered_notices")),
        sa.UniqueConstraint("platform", "room_id", "day", name="uq_unregistered_notices_room_day"),
    )


def downgrade() -> None:
    op.drop_table("unregistered_notices")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("deactivated_at")
