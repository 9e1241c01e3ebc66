"""monitoring: indicator baselines, update intervals and departments; who recorded a value;
goal evaluations; frozen meeting records (issue 12)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("indicators") as batch:
        batch.add_column(sa.Column("baseline_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("update_interval", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_indicators_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_indicators_department_id"), ["department_id"])
    with op.batch_alter_table("indicator_values") as batch:
        batch.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_indicator_values_person_id_people"), "people", ["person_id"], ["id"]
        )
    op.create_table(
        "goal_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum(
                "erreicht",
                "teilweise",
                "nicht",
                name="verdict",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin_platform", sa.String(length=16), nullable=True),
        sa.Column("origin_room", sa.String(length=255), nullable=True),
        sa.Column("origin_message_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["goals.id"],
            name=op.f("fk_goal_evaluations_goal_id_goals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_goal_evaluations_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_evaluations")),
    )
    op.create_index("ix_goal_evaluations_goal_at", "goal_evaluations", ["goal_id", "at"])
    op.create_table(
        "meeting_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agenda", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_records_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_records")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_meeting_records_meeting_id")),
    )


def downgrade() -> None:
    op.drop_table("meeting_records")
    op.drop_index("ix_goal_evaluations_goal_at", table_name="goal_evaluations")
    op.drop_table("goal_evaluations")
    with op.batch_alter_table("indicator_values") as batch:
        batch.drop_constraint(op.f("fk_indicator_values_person_id_people"), type_="foreignkey")
        batch.drop_column("recorded_at")
        batch.drop_column("person_id")
    with op.batch_alter_table("indicators") as batch:
        batch.drop_index(op.f("ix_indicators_department_id"))
        batch.drop_constraint(op.f("fk_indicators_department_id_departments"), type_="foreignkey")
        batch.drop_column("created_at")
        batch.drop_column("department_id")
        batch.drop_column("update_interval")
        batch.drop_column("baseline_date")
