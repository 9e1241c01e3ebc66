"""indexes for the overview, department and due queries (measured in bench/)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_measures_status_deadline_lead",
        "measures",
        ["status", "deadline", "lead_department_id"],
        unique=False,
    )
    op.create_index(
        "ix_measures_status_due_lead",
        "measures",
        ["status", "evaluation_due_on", "lead_department_id"],
        unique=False,
    )
    op.create_index(
        "ix_measures_lead_status_due",
        "measures",
        ["lead_department_id", "status", "evaluation_due_on"],
        unique=False,
    )
    op.create_index(
        "ix_measure_participants_department_measure",
        "measure_participants",
        ["department_id", "measure_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_measure_participants_department_measure", table_name="measure_participants")
    op.drop_index("ix_measures_lead_status_due", table_name="measures")
    op.drop_index("ix_measures_status_due_lead", table_name="measures")
    op.drop_index("ix_measures_status_deadline_lead", table_name="measures")
