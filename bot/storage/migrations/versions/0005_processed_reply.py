"""A claimed message may keep the reply it got, so that a client's retry of it (the web page's or an API
gateway's `message_id`) gets the same reply again instead of a second answer and a second record.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("processed_messages", sa.Column("reply", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processed_messages") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("reply")
