"""statuspage: the public status-page incident of each incident

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

- ``incidents.statuspage_incident_id``: the id Statuspage gave the incident's current status-page
  incident (``POST /v1/pages/{page_id}/incidents`` answers it), recorded when Statuspage answered, so a
  retried create never makes a second one and updates know where to go. None before any was created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("statuspage_incident_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("statuspage_incident_id")
