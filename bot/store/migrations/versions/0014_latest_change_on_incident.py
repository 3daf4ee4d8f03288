"""an incident's latest status change and whether it was corrected, kept on its row

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

Loading an incident for a transition asked its timeline for its latest status change and whether it holds
a correction or strike. On PostgreSQL those subqueries were planned once, in psycopg's prepared statement,
and a database new enough to have never been analyzed kept a plan made for empty tables (sequential scans)
until autovacuum's first ANALYZE: a note on a 3,000-entry incident then cost 4.7 ms instead of 1.3 ms.
The row now holds both (``incidents.latest_change_kind``, ``incidents.latest_change_at``,
``incidents.corrected``) and the load reads no timeline.

The database keeps them, with two triggers on ``timeline_entries`` (SQLite and PostgreSQL alike): whoever writes an
entry (this bot, a replica still running the code from before this revision during a rolling upgrade, a bulk
load, ``db copy``) leaves the row true. Written by the application instead, a replica of the previous code that
kept serving while another one migrated left them wrong for good (found by a tester, 2026-12-01). A status change
entry becomes the latest unless one that happened later is stored (of equal times, the one written last wins); a
correction or strike sets ``corrected``. Other entries (a note) fire nothing: the triggers' ``WHEN`` filters them.

The backfill is the same rule over the timelines already there: the status change that happened last, then the
highest id; any correction or strike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_STATUS_CHANGES = "('mitigation', 'rollback', 'monitoring', 'resolved', 'reopened', 'severity')"
_CORRECTIONS = "('correction', 'strike')"
_LATEST = f"""
    SELECT {{column}} FROM timeline_entries AS t
    WHERE t.incident_id = incidents.id AND t.kind IN {_STATUS_CHANGES}
    ORDER BY t.occurred_at DESC, t.id DESC
    LIMIT 1
"""
_KEEP_LATEST = """
    UPDATE incidents SET latest_change_kind = NEW.kind, latest_change_at = NEW.occurred_at
    WHERE id = NEW.incident_id AND (latest_change_at IS NULL OR NEW.occurred_at >= latest_change_at)
"""
_KEEP_CORRECTED = "UPDATE incidents SET corrected = TRUE WHERE id = NEW.incident_id AND NOT corrected"
TRIGGERS = ("timeline_entries_keep_latest_change", "timeline_entries_keep_corrected")
POSTGRES_FUNCTIONS = ("incidentbot_keep_latest_change", "incidentbot_keep_corrected")


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latest_change_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("latest_change_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("corrected", sa.Boolean(), nullable=False, server_default="0"))
    op.execute(
        f"UPDATE incidents SET latest_change_kind = ({_LATEST.format(column='t.kind')}), "
        f"latest_change_at = ({_LATEST.format(column='t.occurred_at')}), "
        "corrected = EXISTS (SELECT 1 FROM timeline_entries AS c "
        f"WHERE c.incident_id = incidents.id AND c.kind IN {_CORRECTIONS})"
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger, function, kinds, update in zip(
        TRIGGERS, POSTGRES_FUNCTIONS, (_STATUS_CHANGES, _CORRECTIONS), (_KEEP_LATEST, _KEEP_CORRECTED), strict=True
    ):
        if postgres:
            op.execute(
                f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {update}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER INSERT ON timeline_entries FOR EACH ROW "
                f"WHEN (NEW.kind IN {kinds}) EXECUTE PROCEDURE {function}()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER INSERT ON timeline_entries FOR EACH ROW "
                f"WHEN NEW.kind IN {kinds} BEGIN {update}; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger, function in zip(TRIGGERS, POSTGRES_FUNCTIONS, strict=True):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON timeline_entries" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("corrected")
        batch_op.drop_column("latest_change_at")
        batch_op.drop_column("latest_change_kind")
