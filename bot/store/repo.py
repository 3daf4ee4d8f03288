"""The store: one transaction per use case, domain objects in and out, rows kept inside.

A transition's new state and its timeline entries are written in the same transaction; the
incident row's ``version`` is checked so that two racing commands cannot both win.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.domain.alerts import StateChange
from bot.domain.changes import ChangeEvent
from bot.domain.lifecycle import Decision
from bot.domain.model import (
    STATUS_CHANGE_KINDS,
    EntryKind,
    Followup,
    Hypothesis,
    HypothesisStatus,
    Incident,
    Member,
    Severity,
    Status,
    StatusChange,
    TimelineEntry,
)
from bot.domain.paging import Page
from bot.errors import ConcurrentUpdate, StoreUnavailable
from bot.store import outbox
from bot.store.outbox import Effect
from bot.store.tables import (
    AlertEventRow,
    AlertGroupRow,
    ChangeEventRow,
    FollowupRow,
    HypothesisRow,
    IncidentRow,
    InstallationRow,
    PageRow,
    ParticipantRow,
    ProcessedEventRow,
    TimelineEntryRow,
)

DEFAULT_LIST_LIMIT = 200
_INCIDENTS: sa.Table = IncidentRow.__table__  # type: ignore[attr-defined]
_ALERT_EVENTS: sa.Table = AlertEventRow.__table__  # type: ignore[attr-defined]
_TIMELINE: sa.Table = TimelineEntryRow.__table__  # type: ignore[attr-defined]
ALERT_GROUP_LOCK_SPACE = 7_240_433
"""First key of the two-key pg_advisory_xact_lock per alert group (a key space apart from the one-key locks)."""
ALERT_EVENT_CHUNK = 500
"""Rows per statement: 500 x 7 parameters stays far below SQLite's and PostgreSQL's parameter limits."""
AlertEventKey = tuple[str, datetime, str]
"""(fingerprint, startsAt, state) of a recorded alert state change."""
INCIDENT_NUMBER_LOCK_ID = 7_240_432
"""pg_advisory_xact_lock key: declarations take numbers one at a time (on SQLite, BEGIN IMMEDIATE does)."""


@dataclass(frozen=True)
class IncidentSummary:
    """What lists show: enough to pick an incident, without loading its team or timeline."""

    number: int
    title: str
    severity: Severity
    status: Status
    lead: str | None
    channel_id: str | None
    declared_at: datetime
    resolved_at: datetime | None


class UnitOfWork:
    """The reads and writes of one transaction."""

    def __init__(self, session: Session, locking: bool = False) -> None:
        self.session = session
        # In a write transaction, loading an incident locks its row until commit, so concurrent
        # commands on one incident queue up instead of failing the version check over and over.
        self.locking = locking
        self._row_ids: dict[int, int] = {}

    # -- incidents -----------------------------------------------------------------------------

    def next_incident_number(self) -> int:
        """The number after the highest committed one; declarers take turns, the unique index backs it up."""
        if self.session.get_bind().dialect.name == "postgresql":
            lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
            self.session.execute(lock, {"key": INCIDENT_NUMBER_LOCK_ID})
        highest = self.session.exec(select(sa.func.max(IncidentRow.number))).one()
        return int(highest or 0) + 1

    def get_incident(self, number: int) -> Incident | None:
        row = self.session.exec(self._locked(select(IncidentRow).where(IncidentRow.number == number))).first()
        return self._load(row) if row else None

    def get_incident_by_channel(self, channel_id: str) -> Incident | None:
        query = select(IncidentRow).where(IncidentRow.channel_id == channel_id)
        row = self.session.exec(self._locked(query)).first()
        return self._load(row) if row else None

    def list_incidents(
        self, statuses: Sequence[Status] | None = None, limit: int = DEFAULT_LIST_LIMIT
    ) -> list[IncidentSummary]:
        """Newest first, bounded by ``limit``."""
        query = select(IncidentRow).order_by(col(IncidentRow.number).desc()).limit(limit)
        if statuses:
            query = query.where(col(IncidentRow.status).in_([s.value for s in statuses]))
        return [_summary(row) for row in self.session.exec(query)]

    def count_open_incidents(self) -> dict[tuple[Severity, Status], int]:
        """Unresolved incidents by (severity, status); combinations without any are left out."""
        query = (
            select(IncidentRow.severity, IncidentRow.status, sa.func.count())
            .where(col(IncidentRow.status).in_([s.value for s in Status if s.is_open]))
            .group_by(IncidentRow.severity, IncidentRow.status)
        )
        return {(Severity(severity), Status(status)): int(n) for severity, status, n in self.session.exec(query)}

    def add_incident(self, decision: Decision, recorded_at: datetime) -> Incident:
        """Insert a newly declared incident and its first timeline entries."""
        incident = decision.incident
        row = IncidentRow(
            number=incident.number,
            title=incident.title,
            description=incident.description,
            severity=incident.severity.value,
            status=incident.status.value,
            declared_at=incident.declared_at,
            declared_by=incident.declared_by,
            lead=incident.lead,
            channel_id=incident.channel_id,
            service=incident.service,
            impact_percent=incident.impact_percent,
            version=1,
            created_at=recorded_at,
            updated_at=recorded_at,
        )
        self.session.add(row)
        self.session.flush()
        assert row.id is not None
        self._add_entries(row.id, decision.entries)
        return incident.with_changes(version=row.version)

    def save(self, before: Incident, decision: Decision, recorded_at: datetime) -> Incident:
        """Persist a transition of ``before``; raise ConcurrentUpdate if someone else changed it first."""
        after = decision.incident
        row_id = self._incident_row_id(before.number)
        # A Core UPDATE: the ORM's bulk-update bookkeeping costs a quarter of a note's time for nothing.
        updated = self.session.execute(
            sa.update(_INCIDENTS)
            .where(_INCIDENTS.c.id == row_id, _INCIDENTS.c.version == before.version)
            .values(
                title=after.title,
                severity=after.severity.value,
                status=after.status.value,
                lead=after.lead,
                channel_id=after.channel_id,
                resolved_at=after.resolved_at,
                resolved_by=after.resolved_by,
                summary=after.summary,
                service=after.service,
                impact_percent=after.impact_percent,
                version=before.version + 1,
                updated_at=recorded_at,
            )
        )
        if updated.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"{before.incident_id} changed while this command ran; please try again.")
        self._save_members(row_id, before, after)
        self._save_hypotheses(row_id, before, after)
        self._save_followups(row_id, before, after)
        self._add_entries(row_id, decision.entries)
        return after.with_changes(version=before.version + 1)

    def set_channel(self, number: int, channel_id: str) -> None:
        """Bind an incident to the Slack channel created for it."""
        self.session.execute(
            sa.update(IncidentRow).where(col(IncidentRow.number) == number).values(channel_id=channel_id)
        )

    def set_status_message(self, number: int, ts: str) -> None:
        self.session.execute(
            sa.update(IncidentRow).where(col(IncidentRow.number) == number).values(status_message_ts=ts)
        )

    def get_status_message(self, number: int) -> str | None:
        query = select(IncidentRow.status_message_ts).where(IncidentRow.number == number)
        return self.session.exec(query).first()

    # -- timeline ------------------------------------------------------------------------------

    def timeline(
        self, number: int, limit: int | None = None, kinds: Sequence[EntryKind] | None = None
    ) -> list[TimelineEntry]:
        """The incident's entries in chronological order (occurred, then recorded), of ``kinds`` if given."""
        query = (
            select(TimelineEntryRow)
            .join(IncidentRow, col(IncidentRow.id) == col(TimelineEntryRow.incident_id))
            .where(IncidentRow.number == number)
            .order_by(col(TimelineEntryRow.occurred_at), col(TimelineEntryRow.recorded_at), col(TimelineEntryRow.id))
        )
        if kinds is not None:
            query = query.where(col(TimelineEntryRow.kind).in_([k.value for k in kinds]))
        if limit is not None:
            query = query.limit(limit)
        return [_entry(row) for row in self.session.exec(query)]

    def latest_entries(self, number: int, limit: int) -> list[TimelineEntry]:
        """INC-``number``'s latest ``limit`` entries, oldest first (read newest-first through the timeline index)."""
        query = (
            select(TimelineEntryRow)
            .where(TimelineEntryRow.incident_id == self._incident_row_id(number))
            .order_by(
                col(TimelineEntryRow.occurred_at).desc(),
                col(TimelineEntryRow.recorded_at).desc(),
                col(TimelineEntryRow.id).desc(),
            )
            .limit(limit)
        )
        return [_entry(row) for row in reversed(self.session.exec(query).all())]

    def count_entries(self, number: int) -> int:
        query = (
            select(sa.func.count())
            .select_from(TimelineEntryRow)
            .join(IncidentRow, col(IncidentRow.id) == col(TimelineEntryRow.incident_id))
            .where(IncidentRow.number == number)
        )
        return int(self.session.exec(query).one())

    def incidents_with_timelines(
        self, since: datetime | None = None, service: str | None = None
    ) -> list[tuple[Incident, list[TimelineEntry]]]:
        """Incidents declared after ``since`` (or still open), oldest first, each with its timeline."""
        query = select(IncidentRow).order_by(col(IncidentRow.number))
        if since is not None:
            query = query.where(
                sa.or_(
                    col(IncidentRow.declared_at) >= since,
                    col(IncidentRow.resolved_at) >= since,
                    col(IncidentRow.resolved_at).is_(None),
                )
            )
        if service is not None:
            query = query.where(IncidentRow.service == service)
        rows = list(self.session.exec(query))
        return [(self._load(row), self.timeline(row.number)) for row in rows]

    def last_activity(self, statuses: Sequence[Status]) -> list[tuple[Incident, list[TimelineEntry]]]:
        """Incidents in ``statuses``, each with its latest update and latest nudge: all the nudge check reads.

        Loading whole timelines every minute would grow with the incident; two rows do not.
        """
        query = select(IncidentRow).where(col(IncidentRow.status).in_([s.value for s in statuses]))
        result: list[tuple[Incident, list[TimelineEntry]]] = []
        for row in self.session.exec(query).all():
            result.append((self._load(row), self.latest_activity(row.number)))
        return result

    def latest_activity(self, number: int) -> list[TimelineEntry]:
        """INC-``number``'s latest update and latest nudge (whichever exist)."""
        row_id = self._incident_row_id(number)
        latest = [self._latest_entry(row_id, nudge=False), self._latest_entry(row_id, nudge=True)]
        return [entry for entry in latest if entry is not None]

    def _latest_entry(self, incident_row_id: int, nudge: bool) -> TimelineEntry | None:
        is_nudge = col(TimelineEntryRow.kind) == EntryKind.NUDGE.value
        query = (
            select(TimelineEntryRow)
            .where(TimelineEntryRow.incident_id == incident_row_id, is_nudge if nudge else ~is_nudge)
            .order_by(col(TimelineEntryRow.recorded_at).desc(), col(TimelineEntryRow.id).desc())
            .limit(1)
        )
        row = self.session.exec(query).first()
        return _entry(row) if row else None

    # -- change events -------------------------------------------------------------------------

    def add_change(self, change: ChangeEvent, received_at: datetime) -> int:
        row = ChangeEventRow(
            service=change.service,
            description=change.description,
            author=change.author,
            occurred_at=change.occurred_at,
            link=change.link,
            received_at=received_at,
        )
        self.session.add(row)
        self.session.flush()
        assert row.id is not None
        return row.id

    def list_changes(self, service: str, start: datetime, end: datetime) -> list[ChangeEvent]:
        query = (
            select(ChangeEventRow)
            .where(
                ChangeEventRow.service == service,
                col(ChangeEventRow.occurred_at) >= start,
                col(ChangeEventRow.occurred_at) <= end,
            )
            .order_by(col(ChangeEventRow.occurred_at), col(ChangeEventRow.id))
        )
        return [
            ChangeEvent(r.service, r.description, r.author, r.occurred_at, r.link) for r in self.session.exec(query)
        ]

    # -- alert groups and alert state changes -----------------------------------------------------

    def lock_alert_group(self, group_id: str) -> None:
        """Take the group's turn until commit (PostgreSQL advisory lock; SQLite writers are serialised already).

        Replicas receiving one group at once then read each other's committed records instead of deciding
        on the same stale snapshot; the unique keys remain the guarantee.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            lock = sa.text("SELECT pg_advisory_xact_lock(:space, :key)")
            self.session.execute(lock, {"space": ALERT_GROUP_LOCK_SPACE, "key": int(group_id[:7], 16)})

    def latest_alert_group(self, group_id: str) -> tuple[int, int] | None:
        """(generation, incident number) of the newest incident the group declared, or None."""
        query = (
            select(AlertGroupRow)
            .where(AlertGroupRow.group_id == group_id)
            .order_by(col(AlertGroupRow.generation).desc())
            .limit(1)
        )
        row = self.session.exec(query).first()
        return (row.generation, row.incident_number) if row else None

    def add_alert_group(
        self, group_id: str, generation: int, number: int, group_key: str, source: str, now: datetime
    ) -> None:
        """Insert; a racing replica's insert of the same generation fails the unique constraint (it retries)."""
        self.session.add(
            AlertGroupRow(
                group_id=group_id,
                generation=generation,
                incident_number=number,
                group_key=group_key,
                source=source,
                created_at=now,
            )
        )
        self.session.flush()

    def alert_events(self, group_id: str, fingerprints: Iterable[str]) -> dict[AlertEventKey, int | None]:
        """The recorded state changes of ``fingerprints`` in the group: key -> incident number (or None)."""
        wanted = sorted(set(fingerprints))
        found: dict[AlertEventKey, int | None] = {}
        for start in range(0, len(wanted), ALERT_EVENT_CHUNK):
            chunk = wanted[start : start + ALERT_EVENT_CHUNK]
            query = select(
                AlertEventRow.fingerprint, AlertEventRow.starts_at, AlertEventRow.state, AlertEventRow.incident_number
            ).where(AlertEventRow.group_id == group_id, col(AlertEventRow.fingerprint).in_(chunk))
            for fingerprint, starts_at, state, number in self.session.exec(query):
                found[(fingerprint, starts_at, state)] = number
        return found

    def add_alert_events(
        self, group_id: str, changes: Sequence[tuple[StateChange, int | None]], now: datetime
    ) -> set[AlertEventKey]:
        """Insert state changes, skipping any already recorded (by anyone, even a concurrent transaction).

        Returns the keys this call inserted: only those get timeline entries. ``INSERT ... ON CONFLICT
        DO NOTHING`` on both databases; on PostgreSQL a conflicting insert waits for the other
        transaction and then skips, so two replicas never both record one state change.
        """
        if not changes:
            return set()
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        # executemany with RETURNING (SQLAlchemy's "insertmanyvalues"): one cached statement, batched rows.
        statement = (
            insert(_ALERT_EVENTS)
            .on_conflict_do_nothing(index_elements=["group_id", "fingerprint", "starts_at", "state"])
            .returning(_ALERT_EVENTS.c.fingerprint, _ALERT_EVENTS.c.starts_at, _ALERT_EVENTS.c.state)
        )
        rows = [
            {
                "group_id": group_id,
                "fingerprint": change.alert.fingerprint,
                "starts_at": change.alert.starts_at,
                "state": change.state,
                "occurred_at": change.occurred_at,
                "incident_number": number,
                "recorded_at": now,
            }
            for change, number in changes
        ]
        inserted: set[AlertEventKey] = {(f, s, st) for f, s, st in self.session.execute(statement, rows)}
        return inserted

    # -- Slack event deduplication -------------------------------------------------------------

    def remember_event(self, event_id: str, received_at: datetime) -> bool:
        """Record ``event_id``; False if it was already recorded (a retried delivery)."""
        if self.session.get(ProcessedEventRow, event_id) is not None:
            return False
        self.session.add(ProcessedEventRow(event_id=event_id, received_at=received_at))
        self.session.flush()
        return True

    # -- paging --------------------------------------------------------------------------------

    def installation_id(self) -> str:
        """This database's random identity: the uuid4 migration 0005 wrote.

        Should the row have been deleted by hand, a new one is written (pages already keyed keep
        their key; a racing replica's insert fails the primary key and its transaction is retried).
        """
        row = self.session.get(InstallationRow, 1)
        if row is None:
            row = InstallationRow(id=1, installation_id=str(uuid.uuid4()), created_at=datetime.now(UTC))
            self.session.add(row)
            self.session.flush()
        return row.installation_id

    def get_page(self, number: int) -> Page | None:
        """The page of INC-``number``, or None if it was never paged."""
        row = self.session.get(PageRow, number)
        return Page(row.incident_number, row.dedup_key, row.open, row.triggers) if row else None

    def save_page(self, page: Page, now: datetime) -> None:
        """Insert or update the page; call it in the transaction that queues the page's event."""
        row = self.session.get(PageRow, page.number)
        if row is None:
            row = PageRow(incident_number=page.number, dedup_key=page.dedup_key, open=page.open, updated_at=now)
        row.dedup_key, row.open, row.triggers, row.updated_at = page.dedup_key, page.open, page.triggers, now
        self.session.add(row)
        self.session.flush()

    # -- outbox --------------------------------------------------------------------------------

    def enqueue(self, effects: Sequence[Effect], now: datetime) -> None:
        """Queue side effects in this transaction: they exist if and only if the transition committed."""
        outbox.enqueue(self.session, effects, now)

    def outbox_stats(self) -> outbox.QueueStats:
        """Pending and dead items, and when the oldest pending one was queued."""
        return outbox.queue_stats(self.session)

    # -- internals -----------------------------------------------------------------------------

    def _locked(self, query: SelectOfScalar[IncidentRow]) -> SelectOfScalar[IncidentRow]:
        """FOR UPDATE in write transactions (PostgreSQL; SQLite writers are already serialised)."""
        return query.with_for_update() if self.locking else query

    def _incident_row_id(self, number: int) -> int:
        """The primary key behind INC-``number``: remembered from loading it in this transaction."""
        if number in self._row_ids:
            return self._row_ids[number]
        row_id = self.session.exec(select(IncidentRow.id).where(IncidentRow.number == number)).first()
        if row_id is None:
            raise ConcurrentUpdate(f"INC-{number} disappeared while this command ran.")
        return row_id

    def _load(self, row: IncidentRow) -> Incident:
        assert row.id is not None
        self._row_ids[row.number] = row.id
        participants = self.session.exec(
            select(ParticipantRow).where(ParticipantRow.incident_id == row.id).order_by(col(ParticipantRow.id))
        )
        hypotheses = self.session.exec(
            select(HypothesisRow).where(HypothesisRow.incident_id == row.id).order_by(col(HypothesisRow.number))
        )
        followups = self.session.exec(
            select(FollowupRow).where(FollowupRow.incident_id == row.id).order_by(col(FollowupRow.number))
        )
        latest = self.session.exec(
            select(TimelineEntryRow.kind, TimelineEntryRow.occurred_at)
            .where(
                TimelineEntryRow.incident_id == row.id,
                col(TimelineEntryRow.kind).in_(sorted(kind.value for kind in STATUS_CHANGE_KINDS)),
            )
            .order_by(col(TimelineEntryRow.occurred_at).desc())
            .limit(1)
        ).first()
        return Incident(
            number=row.number,
            title=row.title,
            severity=Severity(row.severity),
            status=Status(row.status),
            declared_at=row.declared_at,
            declared_by=row.declared_by,
            lead=row.lead,
            channel_id=row.channel_id,
            description=row.description,
            members=tuple(Member(p.user_id, p.role, p.joined_at) for p in participants),
            hypotheses=tuple(_hypothesis(h) for h in hypotheses),
            followups=tuple(Followup(f.number, f.text, f.owner, f.created_at) for f in followups),
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            summary=row.summary,
            service=row.service,
            impact_percent=row.impact_percent,
            version=row.version,
            latest_change=StatusChange(EntryKind(latest[0]), latest[1]) if latest else None,
        )

    def _add_entries(self, incident_row_id: int, entries: Sequence[TimelineEntry]) -> None:
        """One Core executemany: ORM objects cost a quarter of a second per 1,000 entries (an alert group)."""
        if not entries:
            return
        self.session.execute(
            sa.insert(_TIMELINE),
            [
                {
                    "incident_id": incident_row_id,
                    "kind": entry.kind.value,
                    "occurred_at": entry.occurred_at,
                    "recorded_at": entry.recorded_at,
                    "actor": entry.actor,
                    "text": entry.text,
                    "data": entry.data,
                }
                for entry in entries
            ],
        )

    def _save_members(self, row_id: int, before: Incident, after: Incident) -> None:
        old = {m.user_id: m for m in before.members}
        for member in after.members:
            previous = old.get(member.user_id)
            if previous is None:
                self.session.add(
                    ParticipantRow(
                        incident_id=row_id, user_id=member.user_id, role=member.role, joined_at=member.joined_at
                    )
                )
            elif previous != member:
                self.session.execute(
                    sa.update(ParticipantRow)
                    .where(col(ParticipantRow.incident_id) == row_id, col(ParticipantRow.user_id) == member.user_id)
                    .values(role=member.role)
                )

    def _save_hypotheses(self, row_id: int, before: Incident, after: Incident) -> None:
        old = {h.number: h for h in before.hypotheses}
        for hypothesis in after.hypotheses:
            previous = old.get(hypothesis.number)
            if previous is None:
                self.session.add(
                    HypothesisRow(
                        incident_id=row_id,
                        number=hypothesis.number,
                        text=hypothesis.text,
                        status=hypothesis.status.value,
                        outcome=hypothesis.outcome,
                        proposed_by=hypothesis.proposed_by,
                        proposed_at=hypothesis.proposed_at,
                        decided_at=hypothesis.decided_at,
                    )
                )
            elif previous != hypothesis:
                self.session.execute(
                    sa.update(HypothesisRow)
                    .where(col(HypothesisRow.incident_id) == row_id, col(HypothesisRow.number) == hypothesis.number)
                    .values(
                        status=hypothesis.status.value, outcome=hypothesis.outcome, decided_at=hypothesis.decided_at
                    )
                )

    def _save_followups(self, row_id: int, before: Incident, after: Incident) -> None:
        known = {f.number for f in before.followups}
        for followup in after.followups:
            if followup.number not in known:
                self.session.add(
                    FollowupRow(
                        incident_id=row_id,
                        number=followup.number,
                        text=followup.text,
                        owner=followup.owner,
                        created_at=followup.created_at,
                    )
                )


def _summary(row: IncidentRow) -> IncidentSummary:
    return IncidentSummary(
        number=row.number,
        title=row.title,
        severity=Severity(row.severity),
        status=Status(row.status),
        lead=row.lead,
        channel_id=row.channel_id,
        declared_at=row.declared_at,
        resolved_at=row.resolved_at,
    )


def _hypothesis(row: HypothesisRow) -> Hypothesis:
    return Hypothesis(
        row.number,
        row.text,
        row.proposed_by,
        row.proposed_at,
        HypothesisStatus(row.status),
        row.outcome,
        row.decided_at,
    )


def _entry(row: TimelineEntryRow) -> TimelineEntry:
    return TimelineEntry(EntryKind(row.kind), row.occurred_at, row.recorded_at, row.actor, row.text, dict(row.data))


class IncidentStore:
    """Opens transactions; everything else happens on the UnitOfWork it yields."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._readonly_engine = engine.execution_options(readonly=True)
        # SQLite has one writer at a time; threads of this process that collide on BEGIN IMMEDIATE
        # wait in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) instead of
        # waking when the lock frees: under 50 concurrent commands p99 rose to seconds (bench/).
        # Queueing our own writers on a lock hands the database over at once; other processes
        # still meet the busy timeout.
        self._write_lock: AbstractContextManager[object] = (
            threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[UnitOfWork]:
        """Commit on success, roll back on any error; database outages become StoreUnavailable."""
        engine = self._readonly_engine if readonly else self.engine
        try:
            with (
                nullcontext() if readonly else self._write_lock,
                Session(engine, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield UnitOfWork(session, locking=not readonly)
        except sa.exc.OperationalError as exc:
            raise StoreUnavailable("The incident database is unavailable right now; please retry shortly.") from exc

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
