"""sessions: the venue in English too (issue 20: a bilingual venue)

Revision ID: 0020_sessions_venue_en
Revises: 0004_sessions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_sessions_venue_en"
down_revision: str | None = "0004_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dialogue_sessions") as batch:
        batch.add_column(sa.Column("venue_en", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dialogue_sessions") as batch:
        batch.drop_column("venue_en")
