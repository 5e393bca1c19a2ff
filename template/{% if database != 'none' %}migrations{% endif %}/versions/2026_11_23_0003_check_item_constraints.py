"""Check item rows: a version from 1, a name not empty, updated no earlier than created.

Revision ID: 2026_11_23_0003
Revises: 2026_11_23_0001
Create Date: 2026-11-23 00:03:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "2026_11_23_0003"
down_revision: str | None = "2026_11_23_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = (
    ("ck_item_version_positive", "version >= 1"),
    ("ck_item_name_not_blank", "length(name) > 0"),
    ("ck_item_updated_after_created", "updated_at >= created_at"),
)
"""Each constraint's full name (``orm.py``'s convention) and condition, as ``ItemRow`` has them."""


def upgrade() -> None:
    # SQLite cannot add a constraint to a table: batch mode rebuilds it (the migrate
    # step turns foreign keys off meanwhile, so the idempotency keys stay).
    with op.batch_alter_table("item") as batch:
        for name, condition in CHECKS:
            batch.create_check_constraint(op.f(name), condition)


def downgrade() -> None:
    with op.batch_alter_table("item") as batch:
        for name, _condition in CHECKS:
            batch.drop_constraint(op.f(name), type_="check")
