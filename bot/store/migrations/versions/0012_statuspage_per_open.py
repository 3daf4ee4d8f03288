"""statuspage per open: the Statuspage id of each ``statuspage open``, not one per incident

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

- ``statuspage_incidents`` (incident_number, opened): the id Statuspage gave the incident's ``opened``-th
  status-page incident, and ``given_up`` (its resolve came before it was created). Every ``statuspage.*``
  item carries the ``opened`` of the open it follows, so an update or resolve goes to its own status-page
  incident even when a later open was delivered first. ``incidents.statuspage_incident_id`` (0011) is no
  longer read: an item queued before this revision finds its incident by its marker among the page's
  unresolved incidents.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statuspage_incidents",
        sa.Column("incident_number", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("opened", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("statuspage_id", sa.String(length=64), nullable=True),
        sa.Column("given_up", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_number", "opened"),
    )


def downgrade() -> None:
    op.drop_table("statuspage_incidents")
