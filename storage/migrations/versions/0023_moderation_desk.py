"""moderation: the desk (issue 18): card copies, staff names, who changed a case last

Revision ID: 0023_moderation_desk
Revises: 0007_moderation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0023_moderation_desk"
down_revision: str | None = "0007_moderation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_card_copies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "grievance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("back", sa.String(length=64), nullable=True),
        sa.Column("created_at", storage.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grievance_id"],
            ["grievances.id"],
            name=op.f("fk_case_card_copies_grievance_id_grievances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_card_copies")),
    )
    with op.batch_alter_table("case_card_copies", schema=None) as batch_op:
        batch_op.create_index("ix_case_card_copies_case", ["grievance_id"], unique=False)
        batch_op.create_index(
            "ix_case_card_copies_message", ["chat_id", "message_id"], unique=False
        )
    op.create_table(
        "staff_names",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("first_name", sa.String(length=64), nullable=True),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("updated_at", storage.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_names")),
    )
    with op.batch_alter_table("grievances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_actor_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("actor_since_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grievances", schema=None) as batch_op:
        batch_op.drop_column("actor_since_version")
        batch_op.drop_column("last_actor_id")
    op.drop_table("staff_names")
    with op.batch_alter_table("case_card_copies", schema=None) as batch_op:
        batch_op.drop_index("ix_case_card_copies_message")
        batch_op.drop_index("ix_case_card_copies_case")
    op.drop_table("case_card_copies")
