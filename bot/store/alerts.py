"""The alert repository: which incident each alert group declared, and every recorded alert state change."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.domain.alerts import StateChange
from bot.store.columns import UTCDateTime
from bot.store.tables import AlertEventRow, AlertGroupRow

_ALERT_EVENTS: sa.Table = AlertEventRow.__table__  # type: ignore[attr-defined]
ALERT_GROUP_LOCK_SPACE = 7_240_433
"""First key of the two-key pg_advisory_xact_lock per alert group (a key space apart from the one-key locks)."""
ALERT_EVENT_CHUNK = 500
"""SQLite: fingerprints per ``IN`` list, far below its parameter limit (PostgreSQL takes them as one array)."""
AlertEventKey = tuple[str, datetime, str]
"""(fingerprint, startsAt, state) of a recorded alert state change."""
_RETURNED_KEY: dict[str, sa.types.TypeEngine[Any]] = {
    "fingerprint": sa.String(),
    "starts_at": UTCDateTime(),
    "state": sa.String(),
}
_INSERT_EVENTS_POSTGRES = sa.text(
    "INSERT INTO alert_events (group_id, fingerprint, starts_at, state, occurred_at, incident_number, recorded_at) "
    "SELECT :group_id, c.fingerprint, c.starts_at, c.state, c.occurred_at, c.incident_number, :recorded_at "
    "FROM unnest(CAST(:fingerprints AS VARCHAR[]), CAST(:starts AS TIMESTAMPTZ[]), CAST(:states AS VARCHAR[]), "
    "CAST(:occurred AS TIMESTAMPTZ[]), CAST(:numbers AS INTEGER[])) "
    "AS c(fingerprint, starts_at, state, occurred_at, incident_number) "
    "ON CONFLICT (group_id, fingerprint, starts_at, state) DO NOTHING "
    "RETURNING fingerprint, starts_at, state"
).columns(**_RETURNED_KEY)
"""PostgreSQL: any number of state changes in one statement of constant text, the rows as five arrays. The rows
as ``VALUES`` (SQLAlchemy's insertmanyvalues) made a statement of 1,000 rows about 100 KB of SQL that psycopg
re-parsed at every call (it caches only short queries) and PostgreSQL parsed and planned anew: 90 of 190 ms of a
1,000-alert notification (bench row A)."""
_EVENTS_OF_POSTGRES = sa.text(
    "SELECT fingerprint, starts_at, state, incident_number FROM alert_events "
    "WHERE group_id = :group_id AND fingerprint = ANY(CAST(:fingerprints AS VARCHAR[]))"
).columns(**_RETURNED_KEY, incident_number=sa.Integer())
"""PostgreSQL: the recorded state changes of any number of fingerprints, the fingerprints as one array."""


class AlertRepository:
    """Alert groups and alert state changes, in the unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_group(self, group_id: str) -> None:
        """Take the group's turn until commit (PostgreSQL advisory lock; SQLite writers are serialised already).

        Replicas receiving one group at once then read each other's committed records instead of deciding
        on the same stale snapshot; the unique keys remain the guarantee.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            lock = sa.text("SELECT pg_advisory_xact_lock(:space, :key)")
            self._session.execute(lock, {"space": ALERT_GROUP_LOCK_SPACE, "key": int(group_id[:7], 16)})

    def get_latest_group(self, group_id: str) -> tuple[int, int] | None:
        """(generation, incident number) of the newest incident the group declared, or None."""
        query = (
            select(AlertGroupRow)
            .where(AlertGroupRow.group_id == group_id)
            .order_by(col(AlertGroupRow.generation).desc())
            .limit(1)
        )
        row = self._session.exec(query).first()
        return (row.generation, row.incident_number) if row else None

    def add_group(
        self, group_id: str, generation: int, number: int, group_key: str, source: str, now: datetime
    ) -> None:
        """Insert; a racing replica's insert of the same generation fails the unique constraint
        (ConcurrentUpdate at flush or commit: it retries)."""
        self._session.add(
            AlertGroupRow(
                group_id=group_id,
                generation=generation,
                incident_number=number,
                group_key=group_key,
                source=source,
                created_at=now,
            )
        )
        self._session.flush()

    def get_events(self, group_id: str, fingerprints: Iterable[str]) -> dict[AlertEventKey, int | None]:
        """The recorded state changes of ``fingerprints`` in the group: key -> incident number (or None)."""
        wanted = sorted(set(fingerprints))
        found: dict[AlertEventKey, int | None] = {}
        if self._session.get_bind().dialect.name == "postgresql":
            parameters = {"group_id": group_id, "fingerprints": wanted}
            for fingerprint, starts_at, state, number in self._session.execute(_EVENTS_OF_POSTGRES, parameters):
                found[(fingerprint, starts_at, state)] = number
            return found
        for start in range(0, len(wanted), ALERT_EVENT_CHUNK):
            chunk = wanted[start : start + ALERT_EVENT_CHUNK]
            query = select(
                AlertEventRow.fingerprint, AlertEventRow.starts_at, AlertEventRow.state, AlertEventRow.incident_number
            ).where(AlertEventRow.group_id == group_id, col(AlertEventRow.fingerprint).in_(chunk))
            for fingerprint, starts_at, state, number in self._session.exec(query):
                found[(fingerprint, starts_at, state)] = number
        return found

    def add_events(
        self, group_id: str, changes: Sequence[tuple[StateChange, int | None]], now: datetime
    ) -> set[AlertEventKey]:
        """Insert state changes, skipping any already recorded (by anyone, even a concurrent transaction).

        Returns the keys this call inserted: only those get timeline entries. ``INSERT ... ON CONFLICT
        DO NOTHING`` on both databases; on PostgreSQL a conflicting insert waits for the other
        transaction and then skips, so two replicas never both record one state change.
        """
        if not changes:
            return set()
        if self._session.get_bind().dialect.name == "postgresql":
            parameters = {
                "group_id": group_id,
                "recorded_at": now,
                "fingerprints": [change.alert.fingerprint for change, _number in changes],
                "starts": [change.alert.starts_at for change, _number in changes],
                "states": [change.state for change, _number in changes],
                "occurred": [change.occurred_at for change, _number in changes],
                "numbers": [number for _change, number in changes],
            }
            return {(f, s, st) for f, s, st in self._session.execute(_INSERT_EVENTS_POSTGRES, parameters)}
        # SQLite: executemany with RETURNING (SQLAlchemy's "insertmanyvalues"): one cached statement, batched rows.
        statement = (
            sqlite_insert(_ALERT_EVENTS)
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
        inserted: set[AlertEventKey] = {(f, s, st) for f, s, st in self._session.execute(statement, rows)}
        return inserted
