"""communication: private incidents, the announcement kept true, archived channels

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

- ``incidents.private``: declared with ``--private`` (a private channel; its title and details are
  shown only to its members). Existing incidents are public.
- ``incidents.announcement_channel`` and ``incidents.announcement_ts``: where the incident's
  announcement was posted, so that it is edited in place (``chat.update``) on every change and status
  updates are threaded under it. Incidents announced before this revision have none and are not edited.
- ``incidents.channel_archived_at``: when the bot archived the incident's channel (UTC); cleared when
  it unarchives it on a reopen.
- ``incidents.channel_problem``: why Slack no longer lets the bot use the channel (archived or made
  private by hand, the bot removed), shown in App Home; cleared once a call succeeds again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private", sa.Boolean(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("announcement_channel", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("announcement_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("channel_archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("channel_problem", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("channel_problem")
        batch_op.drop_column("channel_archived_at")
        batch_op.drop_column("announcement_ts")
        batch_op.drop_column("announcement_channel")
        batch_op.drop_column("private")
