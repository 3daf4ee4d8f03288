"""The incident repository: incidents with their team, hypotheses and follow-ups, version-checked.

A transition's new state and its timeline entries are written in the same transaction; the
incident row's ``version`` is checked so that two racing commands cannot both win.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.lifecycle import Decision
from bot.domain.model import (
    EntryKind,
    Followup,
    FollowupListing,
    FollowupState,
    Hypothesis,
    HypothesisStatus,
    Incident,
    Member,
    Severity,
    Status,
    StatusChange,
    TimelineEntry,
)
from bot.errors import ConcurrentUpdate
from bot.store.prepared import Statement
from bot.store.tables import (
    FollowupRow,
    HypothesisRow,
    IncidentRow,
    ParticipantRow,
    StatuspageIncidentRow,
    TimelineEntryRow,
)
from bot.store.timeline import IncidentKeys, TimelineRepository, entry_values

_INCIDENTS: sa.Table = IncidentRow.__table__  # type: ignore[attr-defined]
_TIMELINE: sa.Table = TimelineEntryRow.__table__  # type: ignore[attr-defined]
_PARTICIPANTS: sa.Table = ParticipantRow.__table__  # type: ignore[attr-defined]
_HYPOTHESES: sa.Table = HypothesisRow.__table__  # type: ignore[attr-defined]
_FOLLOWUPS: sa.Table = FollowupRow.__table__  # type: ignore[attr-defined]
INCIDENT_NUMBER_LOCK_ID = 7_240_432
"""pg_advisory_xact_lock key: declarations take numbers one at a time (on SQLite, BEGIN IMMEDIATE does)."""

# Statements of the write path are built once, here: SQLAlchemy then finds them compiled in its cache
# from their cache key alone, and a statement built anew per call cost more than running it (bench row 3).
# They run on the session's connection (Core), not through the ORM: no row objects, no identity map.


def _of_incident(table: sa.Table, *conditions: sa.ColumnElement[bool]) -> sa.Exists:
    return sa.exists().where(table.c.incident_id == _INCIDENTS.c.id, *conditions).correlate(_INCIDENTS)


_LOAD = sa.select(
    *_INCIDENTS.c,
    _of_incident(_PARTICIPANTS).label("has_members"),
    _of_incident(_HYPOTHESES).label("has_hypotheses"),
    _of_incident(_FOLLOWUPS).label("has_followups"),
)
"""An incident row with all a load needs to know besides its children, in one query: its latest status change
(kind and time) and whether its timeline holds a correction or strike are columns of the row, kept by the
database's triggers (migration 0014: on a PostgreSQL database never analyzed, subqueries of the timeline kept a
plan made for empty tables), and which child tables have its rows."""
_BY_NUMBER = _LOAD.where(_INCIDENTS.c.number == sa.bindparam("number"))
_BY_CHANNEL = _LOAD.where(_INCIDENTS.c.channel_id == sa.bindparam("channel_id"))
_BY_NUMBER_LOCKED = _BY_NUMBER.with_for_update(of=_INCIDENTS)
_BY_CHANNEL_LOCKED = _BY_CHANNEL.with_for_update(of=_INCIDENTS)
_LOADS = {
    (False, False): Statement(_BY_NUMBER),
    (True, False): Statement(_BY_CHANNEL),
    (False, True): Statement(_BY_NUMBER_LOCKED),
    (True, True): Statement(_BY_CHANNEL_LOCKED),
}
"""The four loads, run as driver SQL (bot.store.prepared): by number or by channel, locked or not."""
_MEMBERS = (
    sa.select(_PARTICIPANTS.c.user_id, _PARTICIPANTS.c.role, _PARTICIPANTS.c.joined_at)
    .where(_PARTICIPANTS.c.incident_id == sa.bindparam("incident_id"))
    .order_by(_PARTICIPANTS.c.id)
)
_HYPOTHESES_OF = (
    sa.select(_HYPOTHESES)
    .where(_HYPOTHESES.c.incident_id == sa.bindparam("incident_id"))
    .order_by(_HYPOTHESES.c.number)
)
_FOLLOWUPS_OF = (
    sa.select(_FOLLOWUPS).where(_FOLLOWUPS.c.incident_id == sa.bindparam("incident_id")).order_by(_FOLLOWUPS.c.number)
)
_SAVED_COLUMNS = (
    "title",
    "severity",
    "status",
    "lead",
    "channel_id",
    "resolved_at",
    "resolved_by",
    "summary",
    "service",
    "impact_percent",
)
"""The incident columns a transition may change; ``save`` sets those that changed (bind ``b_<column>``), and always
``version`` (``b_new_version``) and ``updated_at`` (``b_updated_at``)."""


def _save(changed: tuple[str, ...]) -> sa.Update:
    """The version-checked update of a transition that changed ``changed``: it matches no row when another transaction
    changed the incident. A column is set only when it changed: SQLite rewrites the entries of every index on a
    column named in ``SET`` (status, channel, service), changed or not: 3 more pages to write per note."""
    values: dict[str, Any] = {column: sa.bindparam(f"b_{column}") for column in changed}
    return (
        sa.update(_INCIDENTS)
        .where(_INCIDENTS.c.id == sa.bindparam("b_id"), _INCIDENTS.c.version == sa.bindparam("b_version"))
        .values(**values, version=sa.bindparam("b_new_version"), updated_at=sa.bindparam("b_updated_at"))
    )


def _save_with_entry(changed: tuple[str, ...]) -> sa.Insert:
    """PostgreSQL only (a data-modifying ``WITH``): ``_save(changed)`` and a transition's one timeline entry in one
    statement, one round trip: the entry is inserted only for the row the update matched (no row inserted: another
    transaction won)."""
    updated = _save(changed).returning(_INCIDENTS.c.id).cte("updated")
    return sa.insert(_TIMELINE).from_select(
        ["incident_id", "kind", "occurred_at", "recorded_at", "actor", "text", "data"],
        sa.select(
            updated.c.id,
            sa.bindparam("e_kind", type_=_TIMELINE.c.kind.type),
            sa.bindparam("e_occurred_at", type_=_TIMELINE.c.occurred_at.type),
            sa.bindparam("e_recorded_at", type_=_TIMELINE.c.recorded_at.type),
            sa.bindparam("e_actor", type_=_TIMELINE.c.actor.type),
            sa.bindparam("e_text", type_=_TIMELINE.c.text.type),
            sa.bindparam("e_data", type_=_TIMELINE.c.data.type),
        ),
    )


@functools.lru_cache(maxsize=256)
def _save_statement(with_entry: bool, changed: tuple[str, ...]) -> Statement:
    """``_save`` (``with_entry`` False) or ``_save_with_entry`` (True) for the columns changed, built once per set (a
    note: none; at most 2 x 2 ** 10 sets, transitions change a handful of them)."""
    return Statement(_save_with_entry(changed) if with_entry else _save(changed))


_INSERT_MEMBER = sa.insert(_PARTICIPANTS)
_UPDATE_MEMBER = (
    sa.update(_PARTICIPANTS)
    .where(
        _PARTICIPANTS.c.incident_id == sa.bindparam("b_incident_id"),
        _PARTICIPANTS.c.user_id == sa.bindparam("b_user_id"),
    )
    .values(role=sa.bindparam("b_role"))
)
_INSERT_HYPOTHESIS = sa.insert(_HYPOTHESES)
_UPDATE_HYPOTHESIS = (
    sa.update(_HYPOTHESES)
    .where(_HYPOTHESES.c.incident_id == sa.bindparam("b_incident_id"), _HYPOTHESES.c.number == sa.bindparam("b_number"))
    .values(status=sa.bindparam("b_status"), outcome=sa.bindparam("b_outcome"), decided_at=sa.bindparam("b_decided_at"))
)
_INSERT_FOLLOWUP = sa.insert(_FOLLOWUPS)
_UPDATE_FOLLOWUP = (
    sa.update(_FOLLOWUPS)
    .where(_FOLLOWUPS.c.incident_id == sa.bindparam("b_incident_id"), _FOLLOWUPS.c.number == sa.bindparam("b_number"))
    .values(
        owner=sa.bindparam("b_owner"),
        state=sa.bindparam("b_state"),
        due=sa.bindparam("b_due"),
        done_at=sa.bindparam("b_done_at"),
        tracker_key=sa.bindparam("b_tracker_key"),
        tracker_url=sa.bindparam("b_tracker_url"),
    )
)


class IncidentRepository:
    """Incidents in and out of the unit of work's transaction, as domain objects."""

    def __init__(
        self,
        session: Callable[[], Session],
        keys: IncidentKeys,
        timeline: TimelineRepository,
        locking: bool,
        connection: sa.Connection,
    ) -> None:
        """``session``: the transaction's ORM session, made when first asked for; ``connection``: the
        transaction's connection, for Core statements."""
        self._orm = session
        self._connection = connection
        self._keys = keys
        self._timeline = timeline
        # In a write transaction, loading an incident locks its row until commit, so concurrent
        # commands on one incident queue up instead of failing the version check over and over.
        self._locking = locking
        # The _SAVED_COLUMNS of each incident row as loaded (or last saved) in this transaction, by row id: ``save``
        # sets only the columns whose value differs.
        self._stored: dict[int, tuple[Any, ...]] = {}

    @property
    def _session(self) -> Session:
        return self._orm()

    def next_number(self) -> int:
        """The number after the highest committed one; declarers take turns, the unique index backs it up."""
        if self._session.get_bind().dialect.name == "postgresql":
            lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
            self._session.execute(lock, {"key": INCIDENT_NUMBER_LOCK_ID})
        highest = self._session.exec(select(sa.func.max(IncidentRow.number))).one()
        return int(highest or 0) + 1

    def get(self, number: int) -> Incident | None:
        """INC-``number`` (its row locked until commit in a write transaction), or None.

        One query, plus one per child table (team, hypotheses, follow-ups) that has rows of it."""
        connection = self._connection
        row = _LOADS[(False, self._locking)].on(connection).first(connection, {"number": number})
        return self._load(row) if row else None

    def get_by_channel(self, channel_id: str) -> Incident | None:
        """The incident whose Slack channel is ``channel_id`` (its row locked as ``get`` does), or None."""
        connection = self._connection
        row = _LOADS[(True, self._locking)].on(connection).first(connection, {"channel_id": channel_id})
        return self._load(row) if row else None

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
        # A Core UPDATE built once per set of changed columns (_save), run as driver SQL (bot.store.prepared): the
        # ORM's bulk-update bookkeeping cost a quarter of a note's time, SQLAlchemy's execution another tenth.
        connection = self._connection
        parameters = {
            "b_id": row_id,
            "b_version": before.version,
            "b_title": after.title,
            "b_severity": after.severity.value,
            "b_status": after.status.value,
            "b_lead": after.lead,
            "b_channel_id": after.channel_id,
            "b_resolved_at": after.resolved_at,
            "b_resolved_by": after.resolved_by,
            "b_summary": after.summary,
            "b_service": after.service,
            "b_impact_percent": after.impact_percent,
            "b_new_version": before.version + 1,
            "b_updated_at": recorded_at,
        }
        # The columns whose value differs from the row as this transaction loaded it (``before`` may differ from the
        # row: find_incident binds a channel not yet recorded); every column for a row not loaded here.
        stored = self._stored.get(row_id)
        values = tuple(parameters[f"b_{column}"] for column in _SAVED_COLUMNS)
        changed = (
            _SAVED_COLUMNS
            if stored is None
            else tuple(column for column, new, old in zip(_SAVED_COLUMNS, values, stored, strict=True) if new != old)
        )
        entries = decision.entries
        if len(entries) == 1 and connection.dialect.name == "postgresql":
            parameters.update(entry_values(entries[0], prefix="e_"))
            updated = _save_statement(True, changed).on(connection).execute(connection, parameters)
            self._timeline.inserted(row_id, entries)
            entries = ()
        else:
            updated = _save_statement(False, changed).on(connection).execute(connection, parameters)
        if updated != 1:
            raise ConcurrentUpdate(f"{before.incident_id} changed while this command ran; please try again.")
        self._stored[row_id] = values
        if after.members != before.members:
            self._save_members(connection, row_id, before, after)
        if after.hypotheses != before.hypotheses:
            self._save_hypotheses(connection, row_id, before, after)
        if after.followups != before.followups:
            self._save_followups(connection, row_id, before, after)
        self._timeline.add_entries(row_id, entries)
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
        query = _LOAD.order_by(_INCIDENTS.c.number)
        if since is not None:
            query = query.where(
                sa.or_(
                    _INCIDENTS.c.declared_at >= since,
                    _INCIDENTS.c.resolved_at >= since,
                    _INCIDENTS.c.resolved_at.is_(None),
                )
            )
        if service is not None:
            query = query.where(_INCIDENTS.c.service == service)
        rows = self._connection.execute(query).all()
        return [(self._load(row), self._timeline.list_entries(row.number)) for row in rows]

    def list_last_activity(self, statuses: Sequence[Status]) -> list[tuple[Incident, list[TimelineEntry]]]:
        """Incidents in ``statuses``, each with its latest update and latest nudge: all the nudge check reads.

        Loading whole timelines every minute would grow with the incident; two rows do not.
        """
        query = _LOAD.where(_INCIDENTS.c.status.in_([s.value for s in statuses]))
        result: list[tuple[Incident, list[TimelineEntry]]] = []
        for row in self._connection.execute(query).all():
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

    def _load(self, row: Any) -> Incident:
        """The incident of a ``_LOAD`` row, with its children (a query for each child table that has its rows)."""
        row_id: int = row.id
        self._keys.remember(row.number, row_id, bool(row.corrected))
        self._stored[row_id] = tuple(getattr(row, column) for column in _SAVED_COLUMNS)
        connection = self._connection
        key = {"incident_id": row_id}
        members: tuple[Member, ...] = ()
        if row.has_members:
            members = tuple(Member(*member) for member in connection.execute(_MEMBERS, key))
        hypotheses: tuple[Hypothesis, ...] = ()
        if row.has_hypotheses:
            hypotheses = tuple(_hypothesis(h) for h in connection.execute(_HYPOTHESES_OF, key))
        followups: tuple[Followup, ...] = ()
        if row.has_followups:
            changes = self._timeline.get_latest_followup_changes(row_id)
            followups = tuple(_followup(f, changes.get(f.number)) for f in connection.execute(_FOLLOWUPS_OF, key).all())
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
            members=members,
            hypotheses=hypotheses,
            followups=followups,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            summary=row.summary,
            service=row.service,
            impact_percent=row.impact_percent,
            private=bool(row.private),
            version=row.version,
            latest_change=(
                StatusChange(EntryKind(row.latest_change_kind), row.latest_change_at)
                if row.latest_change_kind
                else None
            ),
            channel_archived_at=row.channel_archived_at,
            channel_problem=row.channel_problem,
        )

    @staticmethod
    def _save_members(connection: sa.Connection, row_id: int, before: Incident, after: Incident) -> None:
        old = {m.user_id: m for m in before.members}
        for member in after.members:
            previous = old.get(member.user_id)
            if previous is None:
                connection.execute(
                    _INSERT_MEMBER,
                    {
                        "incident_id": row_id,
                        "user_id": member.user_id,
                        "role": member.role,
                        "joined_at": member.joined_at,
                    },
                )
            elif previous != member:
                connection.execute(
                    _UPDATE_MEMBER, {"b_incident_id": row_id, "b_user_id": member.user_id, "b_role": member.role}
                )

    @staticmethod
    def _save_hypotheses(connection: sa.Connection, row_id: int, before: Incident, after: Incident) -> None:
        old = {h.number: h for h in before.hypotheses}
        for hypothesis in after.hypotheses:
            previous = old.get(hypothesis.number)
            if previous is None:
                connection.execute(
                    _INSERT_HYPOTHESIS,
                    {
                        "incident_id": row_id,
                        "number": hypothesis.number,
                        "text": hypothesis.text,
                        "status": hypothesis.status.value,
                        "outcome": hypothesis.outcome,
                        "proposed_by": hypothesis.proposed_by,
                        "proposed_at": hypothesis.proposed_at,
                        "decided_at": hypothesis.decided_at,
                    },
                )
            elif previous != hypothesis:
                connection.execute(
                    _UPDATE_HYPOTHESIS,
                    {
                        "b_incident_id": row_id,
                        "b_number": hypothesis.number,
                        "b_status": hypothesis.status.value,
                        "b_outcome": hypothesis.outcome,
                        "b_decided_at": hypothesis.decided_at,
                    },
                )

    @staticmethod
    def _save_followups(connection: sa.Connection, row_id: int, before: Incident, after: Incident) -> None:
        old = {f.number: f for f in before.followups}
        for followup in after.followups:
            previous = old.get(followup.number)
            if previous is None:
                connection.execute(
                    _INSERT_FOLLOWUP,
                    {
                        "incident_id": row_id,
                        "number": followup.number,
                        "text": followup.text,
                        "owner": followup.owner,
                        "created_at": followup.created_at,
                        "state": followup.state.value,
                        "due": followup.due,
                        "done_at": followup.done_at,
                        "tracker_key": followup.tracker_key,
                        "tracker_url": followup.tracker_url,
                    },
                )
            elif previous != followup:
                connection.execute(
                    _UPDATE_FOLLOWUP,
                    {
                        "b_incident_id": row_id,
                        "b_number": followup.number,
                        "b_owner": followup.owner,
                        "b_state": followup.state.value,
                        "b_due": followup.due,
                        "b_done_at": followup.done_at,
                        "b_tracker_key": followup.tracker_key,
                        "b_tracker_url": followup.tracker_url,
                    },
                )


def _followup(row: Any, latest_change: StatusChange | None = None) -> Followup:
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


def _hypothesis(row: Any) -> Hypothesis:
    return Hypothesis(
        row.number,
        row.text,
        row.proposed_by,
        row.proposed_at,
        HypothesisStatus(row.status),
        row.outcome,
        row.decided_at,
    )
