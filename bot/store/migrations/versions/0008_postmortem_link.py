"""postmortem link: where the incident's postmortem was last published

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

``incidents.postmortem_url`` is the web address of the postmortem draft last published for the
incident (today the Slack permalink of the uploaded ``INC-n-postmortem.md``); tracker issues of its
follow-ups link it. Incidents resolved before this revision have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postmortem_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("postmortem_url")
