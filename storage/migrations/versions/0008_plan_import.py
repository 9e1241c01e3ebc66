"""plan import: plan numbers, free fields and import baselines on measures; imports and their
items (for undo); files received in chat and previewed imports awaiting confirmation (issue 11)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("measures") as batch:
        batch.add_column(sa.Column("plan_number", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("extra_fields", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("import_baseline", sa.JSON(), nullable=True))
        batch.create_unique_constraint(op.f("uq_measures_plan_number"), ["plan_number"])
    op.create_table(
        "plan_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("origin_platform", sa.String(length=16), nullable=False),
        sa.Column("origin_room", sa.String(length=255), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_plan_imports_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_imports")),
    )
    op.create_table(
        "plan_import_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=True),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("version_after", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["plan_imports.id"],
            name=op.f("fk_plan_import_items_import_id_plan_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measures.id"],
            name=op.f("fk_plan_import_items_measure_id_measures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_import_items")),
    )
    op.create_index(
        op.f("ix_plan_import_items_import_id"), "plan_import_items", ["import_id"], unique=False
    )
    op.create_index(
        op.f("ix_plan_import_items_measure_id"), "plan_import_items", ["measure_id"], unique=False
    )
    op.create_table(
        "received_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_files")),
    )
    op.create_index(
        "ix_received_files_who",
        "received_files",
        ["platform", "room_id", "sender_id", "received_at"],
        unique=False,
    )
    op.create_table(
        "pending_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("preview_digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["received_files.id"],
            name=op.f("fk_pending_imports_file_id_received_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_imports")),
        sa.UniqueConstraint("platform", "room_id", "sender_id", name="uq_pending_imports_who"),
    )


def downgrade() -> None:
    op.drop_table("pending_imports")
    op.drop_index("ix_received_files_who", table_name="received_files")
    op.drop_table("received_files")
    op.drop_index(op.f("ix_plan_import_items_measure_id"), table_name="plan_import_items")
    op.drop_index(op.f("ix_plan_import_items_import_id"), table_name="plan_import_items")
    op.drop_table("plan_import_items")
    op.drop_table("plan_imports")
    with op.batch_alter_table("measures") as batch:
        batch.drop_constraint(op.f("uq_measures_plan_number"), type_="unique")
        batch.drop_column("import_baseline")
        batch.drop_column("extra_fields")
        batch.drop_column("plan_number")
