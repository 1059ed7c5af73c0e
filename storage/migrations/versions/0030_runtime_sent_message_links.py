"""runtime: links from delivered messages to what they were about (issue 18: a member's
Telegram reply to a relayed staff message reaches the case)

Revision ID: 0030_runtime_sent_message_links
Revises: 0009_runtime_leases
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0030_runtime_sent_message_links"
down_revision: str | None = "0009_runtime_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sent_message_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lookup_key", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_message_links")),
        sa.UniqueConstraint("lookup_key", name=op.f("uq_sent_message_links_lookup_key")),
    )
    with op.batch_alter_table("sent_message_links", schema=None) as batch_op:
        batch_op.create_index("ix_sent_links_subject", ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sent_message_links", schema=None) as batch_op:
        batch_op.drop_index("ix_sent_links_subject")
    op.drop_table("sent_message_links")
