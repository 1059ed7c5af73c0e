"""flow prompt message: the id of the message showing a member's current question, a plain
column noted with the reply's delivery result (issue 14: no transaction of its own)

Revision ID: 0042_runtime_prompt_message
Revises: 0030_runtime_sent_message_links
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0042_runtime_prompt_message"
down_revision: str | None = "0030_runtime_sent_message_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flow_states") as batch:
        batch.add_column(sa.Column("prompt_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flow_states") as batch:
        batch.drop_column("prompt_message_id")
