"""Claim-once for every channel: (channel, message key as text) instead of Telegram's integer update id.

Existing rows stay meaningful: update 123 becomes ("telegram", "123"), which is the key the Telegram
channel claims now, so an update handled before the upgrade is still not answered twice after it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_messages",
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("message_key", sa.String(128), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_processed_messages_processed_at", "processed_messages", ["processed_at"])
    op.execute("INSERT INTO processed_messages (channel, message_key, processed_at) "
               "SELECT 'telegram', CAST(update_id AS VARCHAR(128)), processed_at FROM processed_updates")
    op.drop_index("ix_processed_updates_processed_at", table_name="processed_updates")
    op.drop_table("processed_updates")


def downgrade() -> None:
    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])
    # Only Telegram's keys were update ids; other channels' claims have no place in the old table.
    op.execute("INSERT INTO processed_updates (update_id, processed_at) "
               "SELECT CAST(message_key AS BIGINT), processed_at FROM processed_messages WHERE channel = 'telegram'")
    op.drop_index("ix_processed_messages_processed_at", table_name="processed_messages")
    op.drop_table("processed_messages")
