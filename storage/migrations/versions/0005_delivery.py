"""delivery: leases in database time, bounded retries, waiting entries, e-mail, versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("email", sa.String(length=255), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("tries", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("passed_over", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("measure_version", sa.Integer(), nullable=True))
    # Entries the old deliverer gave up on ("no recipient on a configured platform") were
    # never superseded: they wait for a recipient now, and go out when one appears.
    op.execute(
        "UPDATE outbox SET state = 'waiting' "
        "WHERE state = 'failed' AND (last_error IS NULL OR last_error NOT LIKE 'superseded%')"
    )
    op.execute("UPDATE outbox SET state = 'superseded' WHERE state = 'failed'")


def downgrade() -> None:
    op.execute("UPDATE outbox SET state = 'failed' WHERE state IN ('waiting', 'superseded')")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("measure_version")
        batch.drop_column("passed_over")
        batch.drop_column("tries")
        batch.drop_column("next_attempt_at")
        batch.drop_column("lease_until")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("email")
