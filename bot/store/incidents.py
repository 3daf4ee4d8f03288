"""The incident repository: incidents with their team, hypotheses and follow-ups, version-checked.

A transition's new state and its timeline entries are written in the same transaction; the
incident row's ``version`` is checked so that two racing commands cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.domain.lifecycle import Decision
from bot.domain.model import (
    Followup,
    FollowupListing,
    FollowupState,
    Hypothesis,
    HypothesisStatus,
    Incident,
    IncidentSummary,
    Member,
    Severity,
    Status,
    StatusChange,
    TimelineEntry,
)
from bot.errors import ConcurrentUpdate
from bot.store.listing import DEFAULT_LIST_LIMIT, ListingReads
from bot.store.tables import FollowupRow, HypothesisRow, IncidentRow, ParticipantRow, StatuspageIncidentRow
from bot.store.timeline import IncidentKeys, TimelineRepository

_INCIDENTS: sa.Table = IncidentRow.__table__  # type: ignore[attr-defined]
INCIDENT_NUMBER_LOCK_ID = 7_240_432
"""pg_advisory_xact_lock key: declarations take numbers one at a time (on SQLite, BEGIN IMMEDIATE does)."""


class IncidentRepository:
    """Incidents in and out of the unit of work's transaction, as domain objects."""

    def __init__(self, session: Session, keys: IncidentKeys, timeline: TimelineRepository, locking: bool) -> None:
        self._session = session
        self._keys = keys
        self._timeline = timeline
        # In a write transaction, loading an incident locks its row until commit, so concurrent
        # commands on one incident queue up instead of failing the version check over and over.
        self._locking = locking

    def next_number(self) -> int:
        """The number after the highest committed one; declarers take turns, the unique index backs it up."""
        if self._session.get_bind().dialect.name == "postgresql":
            lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
            self._session.execute(lock, {"key": INCIDENT_NUMBER_LOCK_ID})
        highest = self._session.exec(select(sa.func.max(IncidentRow.number))).one()
        return int(highest or 0) + 1

    def get(self, number: int) -> Incident | None:
        """INC-``number`` (its row locked until commit in a write transaction), or None."""
        row = self._session.exec(self._locked(select(IncidentRow).where(IncidentRow.number == number))).first()
        return self._load(row) if row else None

    def get_by_channel(self, channel_id: str) -> Incident | None:
        """The incident whose Slack channel is ``channel_id``, or None."""
        query = select(IncidentRow).where(IncidentRow.channel_id == channel_id)
        row = self._session.exec(self._locked(query)).first()
        return self._load(row) if row else None

    def list_summaries(
        self, statuses: Sequence[Status] | None = None, limit: int = DEFAULT_LIST_LIMIT
    ) -> list[IncidentSummary]:
        """Newest first, bounded by ``limit`` (the listing's Core query, ``bot.store.listing``)."""
        return ListingReads(self._session).list_summaries(statuses, limit)

    def count_open(self) -> dict[tuple[Severity, Status], int]:
        """Unresolved incidents by (severity, status); combinations without any are left out."""
        query = (
            select(IncidentRow.severity, IncidentRow.status, sa.func.count())
            .where(col(IncidentRow.status).in_([s.value for s in Status if s.is_open]))
            .group_by(IncidentRow.severity, IncidentRow.status)
        )
        return {(Severity(severity), Status(status)): int(n) for severity, status, n in self._session.exec(query)}

    def add(self, decision: Decision, recorded_at: datetime) -> Incident:
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
            private=incident.private,
            version=1,
            created_at=recorded_at,
            updated_at=recorded_at,
        )
        self._session.add(row)
        self._session.flush()
        assert row.id is not None
        self._timeline.add_entries(row.id, decision.entries)
        return incident.with_changes(version=row.version)

    def save(self, before: Incident, decision: Decision, recorded_at: datetime) -> Incident:
        """Persist a transition of ``before``; raise ConcurrentUpdate if someone else changed it first."""
        after = decision.incident
        row_id = self._keys.row_id(before.number)
        # A Core UPDATE: the ORM's bulk-update bookkeeping costs a quarter of a note's time for nothing.
        updated = self._session.execute(
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
        self._timeline.add_entries(row_id, decision.entries)
        return after.with_changes(version=before.version + 1)

    def set_channel(self, number: int, channel_id: str) -> None:
        """Bind an incident to the Slack channel created for it."""
        self._session.execute(
            sa.update(IncidentRow).where(col(IncidentRow.number) == number).values(channel_id=channel_id)
        )

    def set_status_message(self, number: int, ts: str) -> None:
        """Remember the ``ts`` of the incident's status message (the one the bot keeps up to date)."""
        self._session.execute(
            sa.update(IncidentRow).where(col(IncidentRow.number) == number).values(status_message_ts=ts)
        )

    def set_postmortem_url(self, number: int, url: str) -> None:
        """Remember where the incident's postmortem was last published (a web address)."""
        self._session.execute(
            sa.update(IncidentRow).where(col(IncidentRow.number) == number).values(postmortem_url=url)
        )

    def get_postmortem_url(self, number: int) -> str | None:
        """Where the incident's postmortem was last published, or None before it was."""
        query = select(IncidentRow.postmortem_url).where(IncidentRow.number == number)
        return self._session.exec(query).first()

    def set_announcement(self, number: int, channel_id: str | None, ts: str | None) -> None:
        """Remember where the incident's announcement was posted (None, None: forget it, it is gone)."""
        self._session.execute(
            sa.update(IncidentRow)
            .where(col(IncidentRow.number) == number)
            .values(announcement_channel=channel_id, announcement_ts=ts)
        )

    def get_announcement(self, number: int) -> tuple[str, str] | None:
        """``(channel id, ts)`` of the incident's announcement, or None before it was posted."""
        columns = select(IncidentRow.announcement_channel, IncidentRow.announcement_ts)
        row = self._session.exec(columns.where(IncidentRow.number == number)).first()
        return (row[0], row[1]) if row is not None and row[0] and row[1] else None

    def statuspage_record(self, number: int, opened: int) -> tuple[str | None, bool]:
        """``(Statuspage id or None, given up)`` of INC-``number``'s ``opened``-th status-page incident;
        ``(None, False)`` before anything was recorded of it."""
        row = self._session.get(StatuspageIncidentRow, (number, opened))
        return (None, False) if row is None else (row.statuspage_id, row.given_up)

    def set_statuspage_record(
        self, number: int, opened: int, now: datetime, *, statuspage_id: str | None = None, given_up: bool = False
    ) -> None:
        """Record the Statuspage id of INC-``number``'s ``opened``-th status-page incident, or that it was
        given up (its resolve came before it was created)."""
        row = self._session.get(StatuspageIncidentRow, (number, opened))
        if row is None:
            row = StatuspageIncidentRow(incident_number=number, opened=opened, updated_at=now)
        if statuspage_id is not None:
            row.statuspage_id = statuspage_id
        row.given_up = row.given_up or given_up
        row.updated_at = now
        self._session.add(row)
        self._session.flush()

    def set_channel_archived(self, number: int, at: datetime | None, entry: TimelineEntry) -> None:
        """Record that the bot archived (``at``, UTC) or unarchived (None) INC-``number``'s channel, with
        its ``channel_archived``/``channel_unarchived`` timeline ``entry``."""
        self._session.execute(
            sa.update(IncidentRow).where(col(IncidentRow.number) == number).values(channel_archived_at=at)
        )
        self._timeline.add_entries(self._keys.row_id(number), [entry])

    def set_channel_problem(self, number: int, note: str | None) -> bool:
        """Set (or clear, with None) the note saying why Slack refuses INC-``number``'s channel; True when it
        changed (a note already there, or nothing to clear, writes nothing)."""
        changed = sa.or_(col(IncidentRow.channel_problem).is_(None), col(IncidentRow.channel_problem) != note)
        condition = changed if note is not None else col(IncidentRow.channel_problem).is_not(None)
        result = self._session.execute(
            sa.update(IncidentRow).where(col(IncidentRow.number) == number, condition).values(channel_problem=note)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def get_status_message(self, number: int) -> str | None:
        """The ``ts`` of the incident's status message, or None before it was posted."""
        query = select(IncidentRow.status_message_ts).where(IncidentRow.number == number)
        return self._session.exec(query).first()

    def list_with_timelines(
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
        rows = list(self._session.exec(query))
        return [(self._load(row), self._timeline.list_entries(row.number)) for row in rows]

    def list_last_activity(self, statuses: Sequence[Status]) -> list[tuple[Incident, list[TimelineEntry]]]:
        """Incidents in ``statuses``, each with its latest update and latest nudge: all the nudge check reads.

        Loading whole timelines every minute would grow with the incident; two rows do not.
        """
        query = select(IncidentRow).where(col(IncidentRow.status).in_([s.value for s in statuses]))
        result: list[tuple[Incident, list[TimelineEntry]]] = []
        for row in self._session.exec(query).all():
            result.append((self._load(row), self._timeline.list_latest_activity(row.number)))
        return result

    def list_followups(self, number: int | None = None, open_only: bool = False) -> list[FollowupListing]:
        """Follow-ups of INC-``number`` (of every incident if None), only open ones if ``open_only``,
        by incident then follow-up number, each with its incident's title, severity and service."""
        query = (
            select(FollowupRow, IncidentRow)
            .join(IncidentRow, col(FollowupRow.incident_id) == col(IncidentRow.id))
            .order_by(col(IncidentRow.number), col(FollowupRow.number))
        )
        if number is not None:
            query = query.where(IncidentRow.number == number)
        if open_only:
            query = query.where(FollowupRow.state == FollowupState.OPEN.value)
        return [
            FollowupListing(
                row.number, row.title, Severity(row.severity), row.service, _followup(followup), private=row.private
            )
            for followup, row in self._session.exec(query)
        ]

    # -- internals -----------------------------------------------------------------------------

    def _locked(self, query: SelectOfScalar[IncidentRow]) -> SelectOfScalar[IncidentRow]:
        """FOR UPDATE in write transactions (PostgreSQL; SQLite writers are already serialised)."""
        return query.with_for_update() if self._locking else query

    def _load(self, row: IncidentRow) -> Incident:
        assert row.id is not None
        self._keys.remember(row.number, row.id)
        participants = self._session.exec(
            select(ParticipantRow).where(ParticipantRow.incident_id == row.id).order_by(col(ParticipantRow.id))
        )
        hypotheses = self._session.exec(
            select(HypothesisRow).where(HypothesisRow.incident_id == row.id).order_by(col(HypothesisRow.number))
        )
        followups = self._session.exec(
            select(FollowupRow).where(FollowupRow.incident_id == row.id).order_by(col(FollowupRow.number))
        ).all()
        changes = self._timeline.get_latest_followup_changes(row.id) if followups else {}
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
            followups=tuple(_followup(f, changes.get(f.number)) for f in followups),
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            summary=row.summary,
            service=row.service,
            impact_percent=row.impact_percent,
            private=row.private,
            version=row.version,
            latest_change=self._timeline.get_latest_status_change(row.id),
            channel_archived_at=row.channel_archived_at,
            channel_problem=row.channel_problem,
        )

    def _save_members(self, row_id: int, before: Incident, after: Incident) -> None:
        old = {m.user_id: m for m in before.members}
        for member in after.members:
            previous = old.get(member.user_id)
            if previous is None:
                self._session.add(
                    ParticipantRow(
                        incident_id=row_id, user_id=member.user_id, role=member.role, joined_at=member.joined_at
                    )
                )
            elif previous != member:
                self._session.execute(
                    sa.update(ParticipantRow)
                    .where(col(ParticipantRow.incident_id) == row_id, col(ParticipantRow.user_id) == member.user_id)
                    .values(role=member.role)
                )

    def _save_hypotheses(self, row_id: int, before: Incident, after: Incident) -> None:
        old = {h.number: h for h in before.hypotheses}
        for hypothesis in after.hypotheses:
            previous = old.get(hypothesis.number)
            if previous is None:
                self._session.add(
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
                self._session.execute(
                    sa.update(HypothesisRow)
                    .where(col(HypothesisRow.incident_id) == row_id, col(HypothesisRow.number) == hypothesis.number)
                    .values(
                        status=hypothesis.status.value, outcome=hypothesis.outcome, decided_at=hypothesis.decided_at
                    )
                )

    def _save_followups(self, row_id: int, before: Incident, after: Incident) -> None:
        old = {f.number: f for f in before.followups}
        for followup in after.followups:
            previous = old.get(followup.number)
            if previous is None:
                self._session.add(
                    FollowupRow(
                        incident_id=row_id,
                        number=followup.number,
                        text=followup.text,
                        owner=followup.owner,
                        created_at=followup.created_at,
                        state=followup.state.value,
                        due=followup.due,
                        done_at=followup.done_at,
                        tracker_key=followup.tracker_key,
                        tracker_url=followup.tracker_url,
                    )
                )
            elif previous != followup:
                self._session.execute(
                    sa.update(FollowupRow)
                    .where(col(FollowupRow.incident_id) == row_id, col(FollowupRow.number) == followup.number)
                    .values(
                        owner=followup.owner,
                        state=followup.state.value,
                        due=followup.due,
                        done_at=followup.done_at,
                        tracker_key=followup.tracker_key,
                        tracker_url=followup.tracker_url,
                    )
                )


def _followup(row: FollowupRow, latest_change: StatusChange | None = None) -> Followup:
    return Followup(
        row.number,
        row.text,
        row.owner,
        row.created_at,
        FollowupState(row.state),
        row.due,
        row.done_at,
        row.tracker_key,
        row.tracker_url,
        latest_change,
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
