"""catalogs: the seven fields of action and six trends in every database; retired_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PRODUCT.md §1 "Catalogs", in the order of integrated municipal development.
FIELDS_OF_ACTION = ["Arbeit", "Wohnen", "Integration", "Soziales", "Bildung", "Kultur", "Umwelt"]
TRENDS = [
    "Demografischer Wandel",
    "Diversität",
    "Digitalisierung",
    "Demokratie",
    "Daseinsvorsorge",
    "Klimawandel",
]


def _fold(name: str) -> str:
    # Frozen here rather than imported: a later change to storage.lookup must not change
    # what this migration did. "bildung" or "Diversitaet" already present count as present.
    folded = name.casefold()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        folded = folded.replace(umlaut, spelled)
    return " ".join(folded.split())


def _insert_missing(table_name: str, names: list[str]) -> None:
    table = sa.table(table_name, sa.column("name", sa.String()))
    connection = op.get_bind()
    present = {_fold(name) for name in connection.execute(sa.select(table.c.name)).scalars()}
    missing = [{"name": name} for name in names if _fold(name) not in present]
    if missing:
        op.bulk_insert(table, missing)


def upgrade() -> None:
    with op.batch_alter_table("fields_of_action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("trends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    _insert_missing("fields_of_action", FIELDS_OF_ACTION)
    _insert_missing("trends", TRENDS)


def downgrade() -> None:
    # The entries stay: goals refer to them, and 0002 had them wherever the demo ran.
    with op.batch_alter_table("trends", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("fields_of_action", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
