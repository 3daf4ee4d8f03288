"""follow-up life cycle: state, due date, when done, tracker issue

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

``followups.state`` is ``open``, ``done`` or ``dropped``; ``due`` the UTC day it should be done by;
``done_at`` when it was done; ``tracker_key``/``tracker_url`` the issue filed for it in the team's
tracker. Follow-ups recorded before this revision had no life cycle: they are open, with no due
date, never done, not exported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=16), nullable=False, server_default="open"))
        batch_op.add_column(sa.Column("due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("tracker_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("tracker_url", sa.Text(), nullable=True))
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.alter_column("state", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_column("tracker_url")
        batch_op.drop_column("tracker_key")
        batch_op.drop_column("done_at")
        batch_op.drop_column("due")
        batch_op.drop_column("state")
