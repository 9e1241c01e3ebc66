"""numbered picks bound to the list: earlier picks, the list's message, superseded

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Open choices are minutes old and cheap to ask again: start the new rules from none.
    op.execute("DELETE FROM pending_choices")
    with op.batch_alter_table("pending_choices") as batch:
        batch.add_column(sa.Column("pins", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("list_message_id", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column("superseded", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_choices") as batch:
        batch.drop_column("superseded")
        batch.drop_column("list_message_id")
        batch.drop_column("pins")
