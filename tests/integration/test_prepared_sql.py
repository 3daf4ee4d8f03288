"""The write path's statements run as driver SQL (``bot.store.prepared``), on SQLite and PostgreSQL: they store
exactly what SQLAlchemy's own execution of the same statements stores, byte for byte, and read rows as it reads
them; a transition's UPDATE sets only the columns that changed; a stale version still raises ConcurrentUpdate and
writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.commands import AddNote, ChangeSeverity, Declare, StrikeEntry
from bot.domain.effects import Effect
from bot.domain.lifecycle import Decision, Stamp, declare
from bot.domain.model import EntryKind, Severity, TimelineEntry
from bot.errors import ConcurrentUpdate
from bot.store import IncidentStore
from bot.store.incidents import _BY_NUMBER, _LOADS
from bot.store.outbox import OutboxRepository
from bot.store.prepared import Prepared
from bot.store.tables import OutboxRow, TimelineEntryRow
from bot.store.timeline import _INSERT_ENTRY
from bot.usecases.shared import Actor
from bot.usecases.wiring import UseCases

ALICE = Actor("U0ALICE", "alice")
NOW = datetime(2026, 11, 30, 14, 0, 0, 250_000, tzinfo=UTC)
ON_THE_SECOND = datetime(2026, 11, 30, 14, 0, 0, tzinfo=UTC)  # no microseconds: SQLite still stores ".000000"
ELSEWHERE = datetime(2026, 11, 30, 15, 30, 0, 7, tzinfo=timezone(timedelta(hours=1, minutes=30)))  # 14:00:00.000007Z


def _stored(store: IncidentStore, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """Each row of ``table`` as the database keeps it: every column as text and (SQLite) with its storage class."""
    if store.engine.dialect.name == "sqlite":
        shown = ", ".join(f"{c}, typeof({c})" for c in columns)
    else:
        shown = ", ".join(f"{c}::text" for c in columns)
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(f"SELECT {shown} FROM {table} ORDER BY id").all()]


def _incident(store: IncidentStore) -> int:
    with store.transaction() as uow:
        stamp = Stamp("U0ALICE", NOW, NOW, "alice")
        uow.incidents.add(declare(Declare("checkout is down", Severity.SEV2), 1, stamp), NOW)
        return uow.incidents._keys.row_id(1)


ENTRY_COLUMNS = ["incident_id", "kind", "occurred_at", "recorded_at", "actor", "text", "data"]


def test_an_entry_is_stored_as_sqlalchemy_stores_it(store: IncidentStore) -> None:
    """The same entries (times with and without microseconds, one given in another time zone; text and data with
    non-ASCII characters and quotes) inserted by SQLAlchemy's execution and as driver SQL: byte-identical rows."""
    row_id = _incident(store)
    entries = [
        {
            "incident_id": row_id,
            "kind": "note",
            "occurred_at": occurred,
            "recorded_at": NOW,
            "actor": "U0BOB",
            "text": "it's «ü» 100% <&>",
            "data": {"names": {"U0BOB": "bø'b"}, "n": [1, 2.5, None, True]},
        }
        for occurred in (NOW, ON_THE_SECOND, ELSEWHERE)
    ]
    table = TimelineEntryRow.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM timeline_entries")
        for values in entries:
            connection.execute(sa.insert(table), values)
    by_sqlalchemy = _stored(store, "timeline_entries", ENTRY_COLUMNS)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM timeline_entries")
        for values in entries:
            _INSERT_ENTRY.on(connection).execute(connection, values)
    as_driver_sql = _stored(store, "timeline_entries", ENTRY_COLUMNS)
    assert as_driver_sql == by_sqlalchemy
    assert len(as_driver_sql) == 3
    if store.engine.dialect.name == "sqlite":  # what SQLAlchemy's SQLite DATETIME writes: naive UTC, 6 digits
        assert [row[4:6] for row in as_driver_sql] == [
            ("2026-11-30 14:00:00.250000", "text"),
            ("2026-11-30 14:00:00.000000", "text"),
            ("2026-11-30 14:00:00.000007", "text"),
        ]
    else:
        assert [row[2] for row in as_driver_sql] == [
            "2026-11-30 14:00:00.25+00",
            "2026-11-30 14:00:00+00",
            "2026-11-30 14:00:00.000007+00",
        ]


OUTBOX_COLUMNS = [c.name for c in OutboxRow.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("coalescing", [False, True])
def test_outbox_rows_are_stored_as_sqlalchemy_stores_them_in_order(store: IncidentStore, coalescing: bool) -> None:
    """The outbox rows of effects (a plain executemany, or the insert with the coalescing check) as driver SQL and
    through SQLAlchemy's execution of the same statements: byte-identical rows, ids in the effects' order."""
    effects = [
        Effect("slack.refresh", {}, 7, coalesce=coalescing, not_before=timedelta(seconds=5)),
        Effect("slack.post_line", {"text": "a «ü» 'q'"}, 7),
        Effect("pagerduty.trigger", {"n": [1, 2]}, None),
        Effect("slack.post_line", {"text": "b"}, 7),
    ]
    with store.engine.begin() as connection:
        _enqueue_through_sqlalchemy(connection, effects, coalescing)
    by_sqlalchemy = _stored(store, "outbox", ["kind", *OUTBOX_COLUMNS])
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM outbox")
    with store.transaction() as uow:
        uow.outbox.enqueue(effects, NOW)
    as_driver_sql = _stored(store, "outbox", ["kind", *OUTBOX_COLUMNS])
    assert as_driver_sql == by_sqlalchemy
    kinds = [row[0] for row in as_driver_sql]
    assert kinds == ["slack.refresh", "slack.post_line", "pagerduty.trigger", "slack.post_line"]
    with store.engine.connect() as connection:
        ids = connection.exec_driver_sql("SELECT id FROM outbox ORDER BY id").scalars().all()
    assert len(set(ids)) == 4


def _enqueue_through_sqlalchemy(connection: sa.Connection, effects: list[Effect], coalescing: bool) -> None:
    """What ``enqueue`` ran before its statements were driver SQL: the same statements through ``execute``."""
    from bot.store import outbox

    if not coalescing:
        rows = [OutboxRepository._row(effect, NOW) for effect in effects]
        connection.execute(outbox._INSERT.statement, rows)
        return
    parameters: dict[str, Any] = {"now": NOW}
    for index, effect in enumerate(effects):
        parameters[f"kind_{index}"] = effect.kind
        parameters[f"lane_{index}"] = outbox.lane_of(effect.kind)
        parameters[f"incident_number_{index}"] = effect.incident_number
        parameters[f"payload_{index}"] = effect.payload
        parameters[f"next_attempt_at_{index}"] = NOW + effect.not_before if effect.not_before else NOW
    shape = (outbox.GUARDED, outbox.PLAIN, outbox.PLAIN, outbox.PLAIN)
    statement = outbox._insert_guarded(shape, connection.dialect.name == "postgresql").statement
    connection.execute(statement, parameters)


@pytest.mark.parametrize("locked", [False, True])
def test_the_load_reads_what_sqlalchemy_reads(store: IncidentStore, usecases: UseCases, locked: bool) -> None:
    """The incident load as driver SQL gives every column as SQLAlchemy's execution of the same query gives it
    (aware UTC datetimes, booleans, None), with the latest status change and the child-table flags."""
    number = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number
    usecases.incidents.transition(ChangeSeverity(Severity.SEV1), ALICE, number=number)
    usecases.incidents.transition(AddNote("edge CPU at 40%"), ALICE, number=number)
    usecases.incidents.transition(StrikeEntry(3, "wrong incident"), ALICE, number=number)
    with store.engine.begin() as connection:
        core = connection.execute(_BY_NUMBER, {"number": number}).one()
        prepared = _LOADS[(False, locked)].on(connection).first(connection, {"number": number})
        missing = _LOADS[(False, locked)].on(connection).first(connection, {"number": number + 1})
    assert tuple(prepared) == tuple(core)
    assert prepared._fields == tuple(core._fields)
    assert prepared.declared_at.tzinfo is UTC
    assert prepared.private is False
    assert (prepared.corrected, prepared.has_members) == (True, False)
    # A severity change counts as a status change (STATUS_CHANGE_KINDS); the row keeps it (migration 0014).
    assert prepared.latest_change_kind == "severity"
    assert missing is None


def _update_statements(store: IncidentStore, run: Any) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("UPDATE incidents", "WITH updated")):
            seen.append(" ".join(statement.split()))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    return seen


def test_a_transition_s_update_sets_only_what_changed(store: IncidentStore, usecases: UseCases) -> None:
    """A note's UPDATE sets the version and the time only (SQLite would rewrite the index entries of every column
    named); a severity change sets the severity too; the row then reads as the transitions left it."""
    number = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number
    note = _update_statements(store, lambda: usecases.incidents.transition(AddNote("a"), ALICE, number=number))
    severity = _update_statements(
        store, lambda: usecases.incidents.transition(ChangeSeverity(Severity.SEV1), ALICE, number=number)
    )
    assert len(note) == len(severity) == 1
    set_clause = [statement.split(" SET ", 1)[1].split(" WHERE ", 1)[0] for statement in (*note, *severity)]
    assert [[part.split("=")[0] for part in clause.split(", ")] for clause in set_clause] == [
        ["version", "updated_at"],
        ["severity", "version", "updated_at"],
    ]
    incident = usecases.incidents.get(number)
    assert (incident.severity, incident.version, incident.title) == (Severity.SEV1, 3, "checkout is down")


def test_a_stale_note_raises_and_writes_nothing(store: IncidentStore) -> None:
    """A note (nothing changed but the version) saved on a version another transaction moved past: ConcurrentUpdate,
    and neither the entry nor any change of the incident row is kept."""
    _incident(store)
    with store.transaction() as uow:
        before = uow.incidents.get(1)
        assert before is not None
    first = TimelineEntry(EntryKind.NOTE, NOW, NOW, "U0BOB", "first")
    with store.transaction() as uow:
        uow.incidents.get(1)
        uow.incidents.save(before, Decision(before, (first,)), NOW + timedelta(minutes=1))
    stale = TimelineEntry(EntryKind.NOTE, NOW, NOW, "U0BOB", "stale")
    with pytest.raises(ConcurrentUpdate), store.transaction() as uow:
        uow.incidents.get(1)
        uow.incidents.save(before, Decision(before, (stale,)), NOW + timedelta(minutes=2))
    with store.transaction(readonly=True) as uow:
        after = uow.incidents.get(1)
        texts = [entry.text for entry in uow.timeline.list_entries(1)]
    assert after is not None and after.version == 2
    assert "first" in texts and "stale" not in texts
    with store.engine.connect() as connection:
        updated = connection.exec_driver_sql("SELECT updated_at FROM incidents").scalar_one()
    read = datetime.fromisoformat(updated) if isinstance(updated, str) else updated
    assert (read.replace(tzinfo=UTC) if read.tzinfo is None else read) == NOW + timedelta(minutes=1)


def test_a_statement_computing_values_at_execution_is_refused(store: IncidentStore) -> None:
    """A column default computed at execution (the ORM tables' Python defaults) or an expanding ``IN`` would not be
    applied by driver SQL: ``Prepared`` refuses such statements instead of writing without them."""
    table = TimelineEntryRow.__table__  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="defaults"):
        Prepared(sa.insert(table), store.engine.dialect, ["incident_id", "kind"])  # text and data take defaults
    with pytest.raises(ValueError, match="at execution"):
        Prepared(sa.select(table.c.id).where(table.c.kind.in_(["a", "b"])), store.engine.dialect)


def test_a_driver_error_is_raised_as_sqlalchemy_s(store: IncidentStore) -> None:
    """An entry of an incident that does not exist, inserted as driver SQL: the driver's foreign-key error comes out
    as SQLAlchemy's IntegrityError carrying the statement (what ``Connection.execute`` raises), which the store's
    transaction turns into ConcurrentUpdate; nothing is written."""
    entry = {
        "incident_id": 999,
        "kind": "note",
        "occurred_at": NOW,
        "recorded_at": NOW,
        "actor": "U0BOB",
        "text": "orphan",
        "data": {},
    }
    with store.engine.begin() as connection, pytest.raises(sa.exc.IntegrityError) as raised:
        _INSERT_ENTRY.on(connection).execute(connection, entry)
    assert raised.value.statement is not None and raised.value.statement.startswith("INSERT INTO timeline_entries")
    with pytest.raises(ConcurrentUpdate), store.transaction() as uow:
        _INSERT_ENTRY.on(uow.connection).execute(uow.connection, entry)
    assert _stored(store, "timeline_entries", ["text"]) == []


@pytest.mark.parametrize("loaded", [True, False])
def test_what_changed_is_judged_against_the_row_not_the_caller_s_before(store: IncidentStore, loaded: bool) -> None:
    """``before`` may already carry a change the row lacks (find_incident binds a channel not yet recorded to the
    incident it returns): ``save`` compares with the row as loaded in its transaction, so the channel is written;
    without a load in the transaction it sets every column."""
    _incident(store)
    with store.transaction() as uow:
        stored = uow.incidents.get(1)
        assert stored is not None and stored.channel_id is None
    bound = stored.with_changes(channel_id="C0FRESH")
    note = TimelineEntry(EntryKind.NOTE, NOW, NOW, "U0BOB", "bound")
    with store.transaction() as uow:
        if loaded:
            assert uow.incidents.get(1) == stored
        uow.incidents.save(bound, Decision(bound.with_changes(summary="s"), (note,)), NOW)
    with store.transaction(readonly=True) as uow:
        after = uow.incidents.get(1)
    assert after is not None
    assert (after.channel_id, after.summary, after.version) == ("C0FRESH", "s", 2)
