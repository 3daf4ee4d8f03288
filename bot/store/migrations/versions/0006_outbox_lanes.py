"""outbox lanes: items of one incident are ordered per destination, not across destinations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

``outbox.lane`` is the destination an item goes to (the kind's prefix: ``slack``, ``pagerduty``).
Items of one incident are delivered in order within their lane only, so a Slack outage never holds
back a PagerDuty page. Existing rows get the lane their kind names.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=32), nullable=False, server_default=""))
    outbox = sa.table("outbox", sa.column("kind", sa.String()), sa.column("lane", sa.String()))
    bind = op.get_bind()
    for (kind,) in bind.execute(sa.select(outbox.c.kind).distinct()).all():
        bind.execute(sa.update(outbox).where(outbox.c.kind == kind).values(lane=str(kind).split(".", 1)[0][:32]))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("lane", server_default=None)
        batch_op.drop_index("ix_outbox_incident_order")
        batch_op.create_index("ix_outbox_incident_order", ["incident_number", "lane", "status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_incident_order")
        batch_op.create_index("ix_outbox_incident_order", ["incident_number", "status", "id"], unique=False)
        batch_op.drop_column("lane")
