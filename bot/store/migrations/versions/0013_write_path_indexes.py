"""write path indexes: an incident's timeline entries by kind, and outbox items by incident and kind

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

Loading an incident for a transition asks its timeline two questions by kind: its latest status change,
and whether it holds a correction or strike. Through ``ix_timeline_entries_incident_order`` alone both
read every entry of an incident that has none of those kinds (a note on a 1,000-entry incident cost about
3 ms in SQLite). ``ix_timeline_entries_incident_kind`` (incident_id, kind, occurred_at) answers each
with a few index steps whatever the timeline's length. ``ix_outbox_incident_kind`` (incident_number,
kind, status) does the same for the check a coalescing effect makes for a pending twin, which otherwise
read every pending item of the incident's lane (a backlog while Slack is down).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_timeline_entries_incident_kind", "timeline_entries", ["incident_id", "kind", "occurred_at"], unique=False
    )
    op.create_index("ix_outbox_incident_kind", "outbox", ["incident_number", "kind", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_incident_kind", table_name="outbox")
    op.drop_index("ix_timeline_entries_incident_kind", table_name="timeline_entries")
