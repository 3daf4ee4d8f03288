"""The timeline repository: an incident's entries, append-only, read in chronological order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.model import FOLLOWUP_CHANGE_NAMES, EntryKind, StatusChange, TimelineEntry
from bot.domain.nudges import BOT_CHATTER
from bot.errors import ConcurrentUpdate
from bot.store.prepared import Statement
from bot.store.tables import IncidentRow, TimelineEntryRow

_TIMELINE: sa.Table = TimelineEntryRow.__table__  # type: ignore[attr-defined]
_KINDS = {kind.value: kind for kind in EntryKind}
"""Each stored ``kind`` to its EntryKind (a dict lookup, cheaper than ``EntryKind(value)`` per row)."""

STREAM_BATCH = 2000
"""Rows fetched at a time by ``stream_entries`` and ``entry_names`` (a server-side cursor on PostgreSQL)."""


def kind_in(kinds: Iterable[EntryKind]) -> sa.ColumnElement[bool]:
    """``timeline_entries.kind IN ('a', 'b')`` with the kinds written into the SQL, for statements built once: a
    list of values would become an expanding parameter, rendered again at every execution."""
    values = sorted(kind.value for kind in kinds)
    if not all(value.isidentifier() for value in values):  # enum values only, never anything typed
        raise ValueError(f"not entry kinds: {values}")
    return _TIMELINE.c.kind.in_([sa.literal_column(f"'{value}'") for value in values])


CORRECTION_ENTRY_KINDS = (EntryKind.CORRECTION, EntryKind.STRIKE)
_CORRECTION_KINDS = tuple(kind.value for kind in CORRECTION_ENTRY_KINDS)
_ENTRY_COLUMNS = ("incident_id", "kind", "occurred_at", "recorded_at", "actor", "text", "data")
_INSERT_ENTRY = Statement(sa.insert(_TIMELINE), column_keys=_ENTRY_COLUMNS)
"""The insert of entries (``incident_id`` and ``entry_values``), run as driver SQL (bot.store.prepared)."""
_INCIDENTS: sa.Table = IncidentRow.__table__  # type: ignore[attr-defined]
_ROW_ID = sa.select(_INCIDENTS.c.id).where(_INCIDENTS.c.number == sa.bindparam("number"))
_HAS_CORRECTIONS = sa.select(_INCIDENTS.c.corrected).where(_INCIDENTS.c.id == sa.bindparam("incident_id"))
"""The incident row's ``corrected``, kept by a trigger with every correction or strike inserted (migration 0014)."""
_FOLLOWUP_CHANGES = (
    sa.select(_TIMELINE.c.kind, _TIMELINE.c.occurred_at, _TIMELINE.c.data)
    .where(_TIMELINE.c.incident_id == sa.bindparam("incident_id"), kind_in(FOLLOWUP_CHANGE_NAMES))
    .order_by(_TIMELINE.c.occurred_at, _TIMELINE.c.recorded_at, _TIMELINE.c.id)
)


def entry_values(entry: TimelineEntry, prefix: str = "") -> dict[str, Any]:
    """The ``timeline_entries`` column values of ``entry`` but its incident's: ``kind`` (the EntryKind's value),
    ``occurred_at`` and ``recorded_at`` (UTC), ``actor``, ``text``, ``data``; each key prefixed with ``prefix``
    (the bind names of a statement that also writes other tables' columns)."""
    return {
        f"{prefix}kind": entry.kind.value,
        f"{prefix}occurred_at": entry.occurred_at,
        f"{prefix}recorded_at": entry.recorded_at,
        f"{prefix}actor": entry.actor,
        f"{prefix}text": entry.text,
        f"{prefix}data": entry.data,
    }


class IncidentKeys:
    """The primary key behind INC-``number``, remembered from loading it in this transaction, and whether its
    timeline holds a correction or strike (as loaded, and kept true when this transaction appends one)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._row_ids: dict[int, int] = {}
        self._corrected: dict[int, bool] = {}  # by row id

    def remember(self, number: int, row_id: int, corrected: bool | None = None) -> None:
        """``corrected``: whether INC-``number``'s timeline holds a correction or strike (None: not known)."""
        self._row_ids[number] = row_id
        if corrected is not None:
            self._corrected[row_id] = corrected

    def corrected(self, row_id: int) -> bool | None:
        """Whether the incident of ``row_id`` has a correction or strike entry; None when not known here."""
        return self._corrected.get(row_id)

    def entries_added(self, row_id: int, kinds: Sequence[str]) -> None:
        """This transaction appended entries of ``kinds`` to the incident of ``row_id``."""
        if any(kind in _CORRECTION_KINDS for kind in kinds):
            self._corrected[row_id] = True

    def row_id(self, number: int) -> int:
        """The row id of INC-``number``; raises ConcurrentUpdate if the incident is gone."""
        if number in self._row_ids:
            return self._row_ids[number]
        row_id = self._connection.execute(_ROW_ID, {"number": number}).scalar()
        if row_id is None:
            raise ConcurrentUpdate(f"INC-{number} disappeared while this command ran.")
        return int(row_id)


class TimelineRepository:
    """Reads and appends of timeline entries, in the unit of work's transaction."""

    def __init__(self, session: Callable[[], Session], keys: IncidentKeys, connection: sa.Connection) -> None:
        """``session``: the transaction's ORM session, made when first asked for; ``connection``: the
        transaction's connection, for Core statements."""
        self._orm = session
        self._keys = keys
        self._connection = connection

    @property
    def _session(self) -> Session:
        return self._orm()

    def list_entries(
        self,
        number: int,
        limit: int | None = None,
        kinds: Sequence[EntryKind] | None = None,
        *,
        numbered: bool = False,
    ) -> list[TimelineEntry]:
        """The incident's entries in chronological order (occurred, then recorded), of ``kinds`` if given.

        Listing every entry (no ``kinds``, no ``limit``) numbers them (``TimelineEntry.number``); a part of the
        timeline comes without numbers unless ``numbered`` (one more query, of the incident's row ids)."""
        query = (
            select(TimelineEntryRow)
            .join(IncidentRow, col(IncidentRow.id) == col(TimelineEntryRow.incident_id))
            .where(IncidentRow.number == number)
            .order_by(col(TimelineEntryRow.occurred_at), col(TimelineEntryRow.recorded_at), col(TimelineEntryRow.id))
        )
        if kinds is None and limit is None:  # every entry: number them here, by recording order (row id)
            rows = list(self._session.exec(query))
            numbers = {row_id: index for index, row_id in enumerate(sorted(row.id or 0 for row in rows), start=1)}
            return [_entry(row, numbers[row.id or 0]) for row in rows]
        if kinds is not None:
            query = query.where(col(TimelineEntryRow.kind).in_([k.value for k in kinds]))
        if limit is not None:
            query = query.limit(limit)
        rows = list(self._session.exec(query))
        numbers = self._numbers(number) if numbered and rows else {}
        return [_entry(row, numbers.get(row.id or 0)) for row in rows]

    def stream_entries(self, number: int, batch: int = STREAM_BATCH) -> Iterator[TimelineEntry]:
        """INC-``number``'s every entry, numbered and ordered as ``list_entries(number)`` gives them, read ``batch``
        rows at a time: a server-side cursor on PostgreSQL, SQLite's stepping cursor, no ORM objects. The
        entry numbers (recording order) come from the database (``row_number() OVER (ORDER BY id)``), so memory
        does not grow with the timeline. Iterate inside the unit of work's transaction."""
        t = _TIMELINE
        numbered = (
            sa.select(
                t.c.id,
                t.c.kind,
                t.c.occurred_at,
                t.c.recorded_at,
                t.c.actor,
                t.c.text,
                t.c.data,
                sa.func.row_number().over(order_by=t.c.id).label("number"),
            )
            .where(t.c.incident_id == self._keys.row_id(number))
            .subquery()
        )
        query = sa.select(numbered).order_by(numbered.c.occurred_at, numbered.c.recorded_at, numbered.c.id)
        result = self._connection.execute(query, execution_options={"stream_results": True})
        for rows in result.partitions(batch):
            for row in rows:
                yield _entry(row, row.number)

    def entry_names(self, number: int, batch: int = STREAM_BATCH) -> dict[str, str]:
        """``collect_names`` over INC-``number``'s whole timeline (user id -> display name, later entries win),
        reading only each entry's ``data.names``, ``batch`` rows at a time."""
        t = _TIMELINE
        query = (
            sa.select(t.c.data["names"])
            .where(t.c.incident_id == self._keys.row_id(number))
            .order_by(t.c.occurred_at, t.c.recorded_at, t.c.id)
        )
        names: dict[str, str] = {}
        result = self._connection.execute(query, execution_options={"stream_results": True})
        for values in result.scalars().partitions(batch):
            for value in values:
                names.update(value or {})
        return names

    def _numbers(self, number: int) -> dict[int, int]:
        """Row id -> entry number (1.. in recording order) for INC-``number``: the ids alone, not the rows
        (10,000 integers read in milliseconds)."""
        ids = self._session.exec(
            select(TimelineEntryRow.id).where(TimelineEntryRow.incident_id == self._keys.row_id(number))
        ).all()
        return {row_id: index for index, row_id in enumerate(sorted(i or 0 for i in ids), start=1)}

    def list_recorded_after(self, number: int, known: int) -> list[TimelineEntry]:
        """INC-``number``'s entries recorded after its first ``known`` ones, in recording order (row id), numbered
        ``known + 1``, ``known + 2``...: what a reader that kept the first ``known`` lacks (entries are never
        changed nor deleted). Read with SQLAlchemy Core (the column types still make UTC datetimes and the JSON
        data): no ORM objects, about a third of ``list_entries``' time for a whole timeline (``known`` 0)."""
        t = _TIMELINE.c
        query = (
            sa.select(t.kind, t.occurred_at, t.recorded_at, t.actor, t.text, t.data)
            .where(t.incident_id == self._keys.row_id(number))
            .order_by(t.id)
            .offset(known)
        )
        return [_entry(row, index) for index, row in enumerate(self._connection.execute(query), start=known + 1)]

    def list_latest(self, number: int, limit: int) -> list[TimelineEntry]:
        """INC-``number``'s latest ``limit`` entries, oldest first (read newest-first through the timeline index)."""
        query = (
            select(TimelineEntryRow)
            .where(TimelineEntryRow.incident_id == self._keys.row_id(number))
            .order_by(
                col(TimelineEntryRow.occurred_at).desc(),
                col(TimelineEntryRow.recorded_at).desc(),
                col(TimelineEntryRow.id).desc(),
            )
            .limit(limit)
        )
        rows = list(reversed(self._session.exec(query).all()))
        numbers = self._numbers(number)
        return [_entry(row, numbers.get(row.id or 0)) for row in rows]

    def count(self, number: int) -> int:
        """How many entries INC-``number`` has."""
        query = (
            select(sa.func.count())
            .select_from(TimelineEntryRow)
            .join(IncidentRow, col(IncidentRow.id) == col(TimelineEntryRow.incident_id))
            .where(IncidentRow.number == number)
        )
        return int(self._session.exec(query).one())

    def list_latest_activity(self, number: int) -> list[TimelineEntry]:
        """INC-``number``'s latest entry that is not ``BOT_CHATTER``, latest nudge, latest status update and
        latest resolve (whichever exist; the same entry may come twice): all ``bot.domain.nudges`` reads."""
        row_id = self._keys.row_id(number)
        kind = col(TimelineEntryRow.kind)
        conditions = (
            kind.not_in([k.value for k in BOT_CHATTER]),
            kind == EntryKind.NUDGE.value,
            kind == EntryKind.UPDATE.value,
            kind == EntryKind.RESOLVED.value,
        )
        latest = [self._latest_entry(row_id, condition) for condition in conditions]
        return [entry for entry in latest if entry is not None]

    def list_latest_of(self, number: int, kind: EntryKind) -> list[TimelineEntry]:
        """INC-``number``'s latest recorded entry of ``kind``, as a list of one (none: empty)."""
        latest = self._latest_entry(self._keys.row_id(number), col(TimelineEntryRow.kind) == kind.value)
        return [latest] if latest is not None else []

    def has_corrections(self, number: int) -> bool:
        """Whether INC-``number``'s timeline holds a correction or strike entry: known without a query when the
        incident was loaded in this transaction (``IncidentKeys``), else read from its row."""
        row_id = self._keys.row_id(number)
        known = self._keys.corrected(row_id)
        if known is not None:
            return known
        found = bool(self._connection.execute(_HAS_CORRECTIONS, {"incident_id": row_id}).scalar())
        self._keys.remember(number, row_id, found)
        return found

    def get_latest_followup_changes(self, incident_row_id: int) -> dict[int, StatusChange]:
        """Each follow-up's newest change (``FOLLOWUP_CHANGE_NAMES`` kinds), by follow-up number; a follow-up
        never changed since it was added is absent. Ties in time go to the later recorded."""
        rows = self._connection.execute(_FOLLOWUP_CHANGES, {"incident_id": incident_row_id}).all()
        latest: dict[int, StatusChange] = {}
        for kind, occurred_at, data in rows:
            number = data.get("number") if isinstance(data, dict) else None
            if isinstance(number, int):
                latest[number] = StatusChange(EntryKind(kind), occurred_at)
        return latest

    def append(self, number: int, entries: Sequence[TimelineEntry]) -> None:
        """Add ``entries`` to INC-``number``'s timeline in this transaction (a standing plan recording what it
        decided alongside the transition, e.g. the status page resolved with the incident)."""
        self.add_entries(self._keys.row_id(number), entries)

    def add_entries(self, incident_row_id: int, entries: Sequence[TimelineEntry]) -> None:
        """One Core statement (an executemany for several): ORM objects cost a quarter of a second per 1,000
        entries (an alert group), and a statement built anew per call costs more than running it."""
        if not entries:
            return
        rows = [{"incident_id": incident_row_id, **entry_values(entry)} for entry in entries]
        connection = self._connection
        _INSERT_ENTRY.on(connection).execute(connection, rows[0] if len(rows) == 1 else rows)
        self.inserted(incident_row_id, entries)

    def inserted(self, incident_row_id: int, entries: Sequence[TimelineEntry]) -> None:
        """``entries`` were inserted for the incident of ``incident_row_id`` in this transaction, by
        ``add_entries`` or by a statement of the caller's that wrote them with ``entry_values`` (PostgreSQL's
        version-checked update with its entry): keeps what the transaction knows of the timeline up to date."""
        self._keys.entries_added(incident_row_id, [entry.kind.value for entry in entries])

    def latest_of_kind(self, number: int, kind: EntryKind) -> TimelineEntry | None:
        """INC-``number``'s most recently recorded entry of ``kind``, or None."""
        query = (
            select(TimelineEntryRow)
            .where(TimelineEntryRow.incident_id == self._keys.row_id(number), TimelineEntryRow.kind == kind.value)
            .order_by(col(TimelineEntryRow.recorded_at).desc(), col(TimelineEntryRow.id).desc())
            .limit(1)
        )
        row = self._session.exec(query).first()
        return _entry(row) if row else None

    def _latest_entry(self, incident_row_id: int, condition: sa.ColumnElement[bool]) -> TimelineEntry | None:
        """The latest recorded entry of the incident that meets ``condition``."""
        query = (
            select(TimelineEntryRow)
            .where(TimelineEntryRow.incident_id == incident_row_id, condition)
            .order_by(col(TimelineEntryRow.recorded_at).desc(), col(TimelineEntryRow.id).desc())
            .limit(1)
        )
        row = self._session.exec(query).first()
        return _entry(row) if row else None


class _EntryColumns(Protocol):
    """What ``_entry`` reads: an ORM ``TimelineEntryRow`` or a Core row of the same columns."""

    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


def _entry(row: _EntryColumns, number: int | None = None) -> TimelineEntry:
    """One stored row as the domain's entry, numbered ``number`` (1.. in recording order) when given."""
    return TimelineEntry(
        _KINDS[row.kind], row.occurred_at, row.recorded_at, row.actor, row.text, dict(row.data), number
    )
