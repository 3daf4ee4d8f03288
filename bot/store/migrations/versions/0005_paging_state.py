"""Paging follows what was paged: an installation id, and one page row per paged incident

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

``installation`` gets its single row here, with a random uuid4: PagerDuty ``dedup_key`` values are
derived from it, so two databases (production, staging, a reset one) never share a key.

Open incidents that are or ever were at sev1/sev2 (declared so, or raised to it: their timeline
says) may hold a page the previous release triggered with the bare incident id (``INC-7``) as
``dedup_key`` and, if lowered since, would never have resolved; they get an open page row under
that key, so resolving them resolves the page PagerDuty holds (a resolve for a key PagerDuty has no
open alert for changes nothing).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("installation_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    pages = op.create_table(
        "pages",
        sa.Column("incident_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("triggers", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_number"),
    )
    now = datetime.now(UTC)
    # SQLite stores naive UTC (see tables.UTCDateTime); PostgreSQL takes the aware value.
    stamp = now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now
    op.bulk_insert(installation, [{"id": 1, "installation_id": str(uuid.uuid4()), "created_at": stamp}])
    incidents = sa.table(
        "incidents",
        sa.column("id", sa.Integer()),
        sa.column("number", sa.Integer()),
        sa.column("severity"),
        sa.column("status"),
    )
    entries = sa.table(
        "timeline_entries", sa.column("incident_id", sa.Integer()), sa.column("kind"), sa.column("data", sa.JSON())
    )
    history = op.get_bind().execute(
        sa.select(incidents.c.number, incidents.c.severity, entries.c.data)
        .select_from(
            incidents.outerjoin(
                entries,
                sa.and_(entries.c.incident_id == incidents.c.id, entries.c.kind.in_(["declared", "severity"])),
            )
        )
        .where(incidents.c.status != "resolved")
    )
    paged: set[int] = set()
    for number, severity, data in history:
        seen = {severity, *((data or {}).get(key) for key in ("severity", "severity_to"))}
        if seen & {"sev1", "sev2"}:
            paged.add(number)
    legacy = [
        {"incident_number": n, "dedup_key": f"INC-{n}", "open": True, "triggers": 1, "updated_at": stamp}
        for n in sorted(paged)
    ]
    if legacy:
        op.bulk_insert(pages, legacy)


def downgrade() -> None:
    op.drop_table("pages")
    op.drop_table("installation")
