"""The incident listing's reads in SQLAlchemy Core: the list of incidents and the few timeline facts it shows.

One implementation for both ways in: the unit of work's ``uow.listing`` runs these queries on its ORM
session (Slack's ``/incident list``, App Home, the web page), and ``incidentbot list`` runs them on a plain
connection (``read_listing``), so that the command loads neither SQLModel, pydantic nor SQLAlchemy's ORM
(issue 18, target 3: about a third of its start-up was building the ORM). The tables are named here as
lightweight ``sa.table`` clauses of the columns read, with the stored types of ``bot.store.tables``
(``tests/unit/test_listing_columns.py`` checks they match).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.domain.model import EntryKind, IncidentSummary, Severity, Status, TimelineEntry
from bot.errors import StoreUnavailable
from bot.store.columns import UTCDateTime
from bot.store.engine import readonly_database_message

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_LIST_LIMIT = 200

INCIDENTS = sa.table(
    "incidents",
    sa.column("id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("title", sa.Text),
    sa.column("severity", sa.String),
    sa.column("status", sa.String),
    sa.column("lead", sa.String),
    sa.column("channel_id", sa.String),
    sa.column("declared_at", UTCDateTime),
    sa.column("resolved_at", UTCDateTime),
    sa.column("private", sa.Boolean),
    sa.column("channel_problem", sa.Text),
    sa.column("service", sa.String),
)
"""The columns of ``incidents`` an ``IncidentSummary`` is made of (and the row id, to join the timeline)."""

TIMELINE = sa.table(
    "timeline_entries",
    sa.column("id", sa.Integer),
    sa.column("incident_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("occurred_at", UTCDateTime),
    sa.column("recorded_at", UTCDateTime),
    sa.column("actor", sa.String),
    sa.column("text", sa.Text),
    sa.column("data", sa.JSON),
)
"""``timeline_entries``; ``data`` is JSON on SQLite and JSONB on PostgreSQL, both read back as a dict."""


class ListingReads:
    """The listing's queries on one connection or ORM session (the caller's transaction)."""

    def __init__(self, connection: Connection | Session) -> None:
        self._connection = connection

    def list_summaries(
        self, statuses: Sequence[Status] | None = None, limit: int = DEFAULT_LIST_LIMIT
    ) -> list[IncidentSummary]:
        """Incidents in ``statuses`` (all if None), newest (highest number) first, at most ``limit``, as stored."""
        c = INCIDENTS.c
        query = sa.select(
            c.number,
            c.title,
            c.severity,
            c.status,
            c.lead,
            c.channel_id,
            c.declared_at,
            c.resolved_at,
            c.private,
            c.channel_problem,
            c.service,
        )
        if statuses:
            query = query.where(c.status.in_([s.value for s in statuses]))
        query = query.order_by(c.number.desc()).limit(limit)
        return [
            IncidentSummary(
                number=row.number,
                title=row.title,
                severity=Severity(row.severity),
                status=Status(row.status),
                lead=row.lead,
                channel_id=row.channel_id,
                declared_at=row.declared_at,
                resolved_at=row.resolved_at,
                private=bool(row.private),
                channel_problem=row.channel_problem,
                service=row.service,
            )
            for row in self._connection.execute(query)
        ]

    def numbers_with(self, kinds: Sequence[EntryKind], numbers: Sequence[int]) -> set[int]:
        """Which of the incidents INC-``numbers`` have an entry of ``kinds``, in one query."""
        if not numbers:
            return set()
        query = (
            sa.select(INCIDENTS.c.number)
            .join(TIMELINE, INCIDENTS.c.id == TIMELINE.c.incident_id)
            .where(INCIDENTS.c.number.in_(list(numbers)), TIMELINE.c.kind.in_([k.value for k in kinds]))
            .distinct()
        )
        return {int(number) for number in self._connection.execute(query).scalars()}

    def list_entries(self, number: int, kinds: Sequence[EntryKind], *, numbered: bool = False) -> list[TimelineEntry]:
        """INC-``number``'s entries of ``kinds`` in chronological order (occurred, then recorded, then row id);
        ``numbered``: with their numbers in the whole timeline (1.. in recording order; one more query)."""
        t = TIMELINE.c
        query = (
            sa.select(t.id, t.kind, t.occurred_at, t.recorded_at, t.actor, t.text, t.data)
            .join(INCIDENTS, INCIDENTS.c.id == t.incident_id)
            .where(INCIDENTS.c.number == number, t.kind.in_([k.value for k in kinds]))
            .order_by(t.occurred_at, t.recorded_at, t.id)
        )
        rows = list(self._connection.execute(query))
        numbers: dict[int, int] = {}
        if numbered and rows:
            ids = self._connection.execute(
                sa.select(t.id).join(INCIDENTS, INCIDENTS.c.id == t.incident_id).where(INCIDENTS.c.number == number)
            ).scalars()
            numbers = {row_id: index for index, row_id in enumerate(sorted(ids), start=1)}
        return [
            TimelineEntry(
                EntryKind(row.kind),
                row.occurred_at,
                row.recorded_at,
                row.actor,
                row.text,
                dict(row.data or {}),
                numbers.get(row.id),
            )
            for row in rows
        ]


@contextmanager
def read_listing(engine: Engine) -> Iterator[ListingReads]:
    """The listing's queries in one read transaction on ``engine`` (no ORM session).

    Raises StoreUnavailable when the database cannot be read (as ``IncidentStore.transaction`` does)."""
    try:
        with engine.execution_options(readonly=True).connect() as connection, connection.begin():  # SQLite: BEGIN
            yield ListingReads(connection)
    except sa.exc.OperationalError as exc:
        refusal = readonly_database_message(engine, exc)
        if refusal is not None:
            raise StoreUnavailable(refusal) from exc
        raise StoreUnavailable("The incident database is unavailable right now; please retry shortly.") from exc
