"""outbox crashes: how many times an item's deliverer raised something unexpected

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

``outbox.crashes`` counts the attempts of an item that ended in an unexpected exception (a bug in a
deliverer, not a Slack or tracker answer). The worker buries an item after 3 of them. It used to
count every attempt, so an item retried through a long outage (attempts 20) was buried at its first
crash. Items queued before this revision start at 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crashes", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("crashes")
