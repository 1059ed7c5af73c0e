"""chat moves: a staff group upgraded to a supergroup keeps receiving (issue 14)

Revision ID: 0041_chat_moves
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0041_chat_moves"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("chat_moves",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_moves",
        sa.Column("old_chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("new_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("moved_at", storage.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("old_chat_id", name=op.f("pk_chat_moves")),
    )


def downgrade() -> None:
    op.drop_table("chat_moves")
