"""Paging follows what was paged: an installation id, and one page row per paged incident

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

``installation`` gets its single row here, with a random uuid4: PagerDuty ``dedup_key`` values are
derived from it, so two databases (production, staging, a reset one) never share a key.

Incidents open at sev1/sev2 when this runs were paged by the previous release with the bare
incident id (``INC-7``) as ``dedup_key``; they get an open page row under that key, so resolving
them resolves the page PagerDuty already holds.
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
    incidents = sa.table("incidents", sa.column("number", sa.Integer()), sa.column("severity"), sa.column("status"))
    open_paged = op.get_bind().execute(
        sa.select(incidents.c.number).where(
            incidents.c.status != "resolved", incidents.c.severity.in_(["sev1", "sev2"])
        )
    )
    legacy = [
        {"incident_number": n, "dedup_key": f"INC-{n}", "open": True, "triggers": 1, "updated_at": stamp}
        for (n,) in open_paged
    ]
    if legacy:
        op.bulk_insert(pages, legacy)


def downgrade() -> None:
    op.drop_table("pages")
    op.drop_table("installation")
