"""The write path of a transition (issue 18, target 1), on SQLite and PostgreSQL: what it costs in statements,
and that the shortcuts taken for it keep the answers the longer path gave.

* A note is a fixed number of statements however long the incident's timeline (the load is one query; the
  latest status change and "was it corrected" come with it through an index, not by reading the timeline).
* "Was it corrected", learnt at load time, stays true for a correction appended later in the same
  transaction.
* The outbox keeps coalescing within one batch of effects and across batches, with or without an incident; the
  one statement that checks for a waiting twin and inserts writes exactly the rows the plain insert writes.
* A transition's update and its one entry (one statement on PostgreSQL) write exactly the rows the two
  statements write, and nothing when the version check fails.
* A transaction is a Core connection's; the ORM session made on demand joins it: its writes commit with the
  transaction's, and roll back with them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.cli.demo import ReplayClock
from bot.domain.commands import AddNote, Declare, Mitigate, Reopen, Resolve, StrikeEntry
from bot.domain.effects import Effect
from bot.domain.model import EntryKind, Severity, StatusChange, TimelineEntry
from bot.slack.delivery import plan_effects
from bot.store import IncidentStore
from bot.usecases.shared import Actor, Outcome
from bot.usecases.wiring import UseCases

ALICE = Actor("U0ALICE", "alice")


def _note_statements(store: IncidentStore, usecases: UseCases, number: int) -> list[str]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]))  # the verb and the table, on either database

    def plan(outcome: Outcome) -> list[Effect]:
        return plan_effects(outcome, ALICE)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        usecases.incidents.transition(AddNote("edge CPU at 40%"), ALICE, channel_id="C0INC1", plan=plan)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    return statements


def test_a_note_costs_the_same_statements_whatever_the_timeline_length(
    store: IncidentStore, usecases: UseCases, database_url: str
) -> None:
    """A note from the incident's channel: BEGIN IMMEDIATE (SQLite only), the incident with what a load needs in
    one query, the version-checked UPDATE and the entry (one statement on PostgreSQL), the outbox rows with the
    coalescing check of the status refresh in the same statement; the same with 3 entries as with 300."""
    number = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number
    usecases.incidents.bind_channel(number, "C0INC1")
    short = _note_statements(store, usecases, number)
    for index in range(300):
        usecases.incidents.transition(AddNote(f"note {index}"), ALICE, number=number)
    long = _note_statements(store, usecases, number)
    expected = [
        *(["BEGIN IMMEDIATE"] if database_url.startswith("sqlite") else []),
        "SELECT incidents.id, incidents.number,",
        # PostgreSQL: the version-checked UPDATE and the entry in one statement (WITH updated AS (UPDATE ...)).
        *(["UPDATE incidents SET", "INSERT INTO timeline_entries"] if database_url.startswith("sqlite") else []),
        *([] if database_url.startswith("sqlite") else ["WITH updated AS"]),
        "INSERT INTO outbox",  # the status refresh only where none waits, and the line: one statement
    ]
    assert short == expected
    assert long == expected


def test_the_latest_status_change_is_the_newest_by_time_then_by_recording(
    usecases: UseCases, clock: ReplayClock
) -> None:
    """Loaded with the incident: the newest status-changing entry by its time, a later recording winning a tie,
    and a backdated one not displacing a newer one."""
    start = clock.now
    number = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number
    assert usecases.incidents.get(number).latest_change is None
    clock.now = start + timedelta(minutes=10)
    usecases.incidents.transition(Mitigate("failover"), ALICE, number=number)
    clock.now = start + timedelta(minutes=20)
    usecases.incidents.transition(AddNote("quiet now"), ALICE, number=number)
    assert usecases.incidents.get(number).latest_change == StatusChange(
        EntryKind.MITIGATION, start + timedelta(minutes=10)
    )
    clock.now = start + timedelta(minutes=30)
    usecases.incidents.transition(Resolve("back"), ALICE, number=number)
    clock.now = start + timedelta(minutes=31)
    usecases.incidents.transition(Reopen("again"), ALICE, number=number, occurred_at=start + timedelta(minutes=30))
    assert usecases.incidents.get(number).latest_change == StatusChange(
        EntryKind.REOPENED, start + timedelta(minutes=30)
    )


def test_a_strike_appended_in_the_transaction_counts_as_a_correction(store: IncidentStore, usecases: UseCases) -> None:
    """Loading learns the incident is uncorrected; a strike appended afterwards in the same transaction makes it
    corrected for the rest of that transaction, and for the next one."""
    number = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number
    usecases.incidents.transition(AddNote("wrong incident"), ALICE, number=number)
    with store.transaction() as uow:
        incident = uow.incidents.get(number)
        assert incident is not None
        assert uow.timeline.has_corrections(number) is False
        _, entries = usecases.incidents.timeline(number)
        strike = TimelineEntry(EntryKind.STRIKE, entries[-1].recorded_at, entries[-1].recorded_at, "U0ALICE", "", {})
        uow.timeline.append(number, [strike])
        assert uow.timeline.has_corrections(number) is True
    with store.transaction(readonly=True) as uow:
        assert uow.incidents.get(number) is not None
        assert uow.timeline.has_corrections(number) is True


def test_has_corrections_without_loading_the_incident_reads_its_row(store: IncidentStore, usecases: UseCases) -> None:
    """In a transaction that did not load the incident, ``has_corrections`` reads the row's ``corrected`` (kept by
    the trigger of migration 0014): false for an incident with notes only, true once an entry was struck."""
    plain = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number
    struck = usecases.incidents.declare(Declare("search is slow", Severity.SEV3), ALICE).incident.number
    for number in (plain, struck):
        usecases.incidents.transition(AddNote("wrong incident"), ALICE, number=number)
    usecases.incidents.transition(StrikeEntry(2, "wrong incident"), ALICE, number=struck)
    with store.transaction(readonly=True) as uow:
        assert (uow.timeline.has_corrections(plain), uow.timeline.has_corrections(struck)) == (False, True)


def test_a_struck_entry_is_left_out_of_what_the_transition_announces(usecases: UseCases) -> None:
    """Through the use case: after ``strike``, the incident is read as corrected (the struck note is gone from
    the timeline as views read it)."""
    number = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number
    usecases.incidents.transition(AddNote("posted in the wrong incident"), ALICE, number=number)
    usecases.incidents.transition(StrikeEntry(2, "wrong incident"), ALICE, number=number)
    with usecases.incidents.transactions.read() as uow:
        assert uow.incidents.get(number) is not None
        assert uow.timeline.has_corrections(number) is True


def test_coalescing_within_one_batch_and_across_batches(store: IncidentStore, usecases: UseCases) -> None:
    """A coalescing effect is dropped when an item of its kind and incident waits, whether that item came earlier
    in the same batch (coalescing or not) or from an earlier transaction; incidents, and no incident, are apart."""
    now = usecases.incidents.clock()
    with store.transaction() as uow:
        uow.outbox.enqueue(
            [
                Effect("slack.refresh", {}, 1),
                Effect("slack.refresh", {}, 1, coalesce=True),
                Effect("slack.post_line", {"text": "a"}, 1),
                Effect("slack.refresh", {}, 2, coalesce=True),
                Effect("slack.refresh", {}, 2, coalesce=True),
                Effect("slack.home", {}, None, coalesce=True),
            ],
            now,
        )
    with store.transaction() as uow:
        uow.outbox.enqueue(
            [
                Effect("slack.refresh", {}, 1, coalesce=True),
                Effect("slack.home", {}, None, coalesce=True),
                Effect("slack.post_line", {"text": "b"}, 1),
                Effect("slack.refresh", {}, 3, coalesce=True),
            ],
            now,
        )
    with store.transaction(readonly=True) as uow:
        items = [(item.kind, item.incident_number, item.payload) for item in uow.outbox.list_items()]
    assert items == [
        ("slack.refresh", 1, {}),
        ("slack.post_line", 1, {"text": "a"}),
        ("slack.refresh", 2, {}),
        ("slack.home", None, {}),
        ("slack.post_line", 1, {"text": "b"}),
        ("slack.refresh", 3, {}),
    ]


OUTBOX_COLUMNS = (
    "kind, lane, incident_number, payload, status, attempts, crashes, next_attempt_at, locked_until, locked_by, "
    "last_error, created_at, updated_at"
)


def _outbox_rows(store: IncidentStore) -> list[tuple[Any, ...]]:
    """Every outbox row as stored, in id order, times as aware UTC (SQLite keeps them naive)."""
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT id, {OUTBOX_COLUMNS} FROM outbox ORDER BY id")).all()
    ids = [row[0] for row in rows]
    assert ids == sorted(ids)

    def value(v: Any) -> Any:
        if isinstance(v, str) and v.startswith("{"):
            return __import__("json").loads(v)  # SQLite's JSON comes back as text through sa.text
        if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] == " ":
            v = datetime.fromisoformat(v)
        if isinstance(v, datetime):
            return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        return v

    return [tuple(value(v) for v in row[1:]) for row in rows]


NOW = datetime(2026, 11, 30, 14, 0, 0, 250_000, tzinfo=UTC)


def _expected(kind: str, number: int | None, payload: dict[str, Any], due: datetime = NOW) -> tuple[Any, ...]:
    return (kind, kind.split(".")[0], number, payload, "pending", 0, 0, due, None, None, "", NOW, NOW)


def test_the_guarded_outbox_insert_writes_exactly_the_rows_of_the_plain_one(store: IncidentStore) -> None:
    """The coalescing check inside the insert (``INSERT ... SELECT ... WHERE NOT EXISTS ... UNION ALL``): every
    column as the plain insert writes it, ``not_before`` added to the due time, the rows in the effects' order,
    and a coalescing effect dropped only by a twin that is pending, never tried and not leased."""
    with store.transaction() as uow:
        uow.outbox.enqueue(
            [
                Effect("slack.post_line", {"text": "plain <&> ünïcode"}, 7),
                Effect("pagerduty.trigger", {"n": [1, 2]}, None, not_before=timedelta(seconds=90)),
            ],
            NOW,
        )
    assert _outbox_rows(store) == [
        _expected("slack.post_line", 7, {"text": "plain <&> ünïcode"}),
        _expected("pagerduty.trigger", None, {"n": [1, 2]}, NOW + timedelta(seconds=90)),
    ]
    with store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM outbox"))
    with store.transaction() as uow:  # nothing waits: every row of the guarded statement is added, in order
        uow.outbox.enqueue(
            [
                Effect("slack.refresh", {}, 7, coalesce=True, not_before=timedelta(seconds=5)),
                Effect("slack.post_line", {"text": "a"}, 7),
                Effect("slack.home", {"user": "U1"}, None, coalesce=True),
                Effect("slack.post_line", {"text": "b"}, 8),
            ],
            NOW,
        )
    first = [
        _expected("slack.refresh", 7, {}, NOW + timedelta(seconds=5)),
        _expected("slack.post_line", 7, {"text": "a"}),
        _expected("slack.home", None, {"user": "U1"}),
        _expected("slack.post_line", 8, {"text": "b"}),
    ]
    assert _outbox_rows(store) == first
    with store.transaction() as uow:  # both twins wait: only the line is added
        uow.outbox.enqueue(
            [
                Effect("slack.refresh", {}, 7, coalesce=True),
                Effect("slack.home", {"user": "U1"}, None, coalesce=True),
                Effect("slack.post_line", {"text": "c"}, 7),
            ],
            NOW,
        )
    assert _outbox_rows(store) == [*first, _expected("slack.post_line", 7, {"text": "c"})]
    # A twin that was tried (attempts 1) or is leased (locked_until ahead of now) is not waiting: a new one is added.
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE outbox SET attempts = 1 WHERE kind = 'slack.refresh'"))
        leased = {
            "until": (NOW + timedelta(minutes=1)).replace(tzinfo=None)
            if store.engine.dialect.name == "sqlite"
            else NOW + timedelta(minutes=1)
        }
        connection.execute(sa.text("UPDATE outbox SET locked_until = :until WHERE kind = 'slack.home'"), leased)
    with store.transaction() as uow:
        uow.outbox.enqueue(
            [Effect("slack.refresh", {}, 7, coalesce=True), Effect("slack.home", {"user": "U1"}, None, coalesce=True)],
            NOW,
        )
    rows = _outbox_rows(store)
    assert rows[-2:] == [_expected("slack.refresh", 7, {}), _expected("slack.home", None, {"user": "U1"})]
    assert len(rows) == 7


@pytest.mark.parametrize("fails", [False, True])
def test_orm_writes_commit_and_roll_back_with_the_core_transaction(
    store: IncidentStore, usecases: UseCases, fails: bool
) -> None:
    """An ORM write (``uow.events.remember``, made through the session the unit of work creates on demand) and a
    Core write (a note) in one transaction: both kept, or, when the transaction fails after them, neither."""
    number = usecases.incidents.declare(Declare("checkout is down", Severity.SEV2), ALICE).incident.number

    class Boom(Exception):
        pass

    try:
        with store.transaction() as uow:
            assert uow.events.remember("Ev0TEST", NOW) is True
            uow.timeline.append(number, [TimelineEntry(EntryKind.NOTE, NOW, NOW, "U0ALICE", "both or neither", {})])
            if fails:
                raise Boom
    except Boom:
        pass
    with store.transaction(readonly=True) as uow:
        texts = [entry.text for entry in uow.timeline.list_entries(number)]
    with store.transaction() as uow:
        seen_before = not uow.events.remember("Ev0TEST", NOW)
    assert ("both or neither" in texts) is (not fails)
    assert seen_before is (not fails)


def _rows(store: IncidentStore, query: str) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(query)).all()]


def _utc(value: Any) -> datetime:
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@pytest.mark.parametrize("entries", [1, 2])
def test_a_save_writes_exactly_its_update_and_entries_or_nothing(store: IncidentStore, entries: int) -> None:
    """``IncidentRepository.save`` with one entry (PostgreSQL: the update and the entry in one ``WITH``
    statement) and with two (separate statements): the incident row gets the new values and version, each entry
    row is exactly the entry; a save of a stale version raises ConcurrentUpdate and writes neither."""
    from bot.domain.lifecycle import Decision
    from bot.errors import ConcurrentUpdate

    declared_at = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    with store.transaction() as uow:
        incident = Declare("checkout is down", Severity.SEV2)
        from bot.domain.lifecycle import Stamp, declare

        first = uow.incidents.add(declare(incident, 1, Stamp("U0ALICE", declared_at, declared_at, "alice")), NOW)
    made = [
        TimelineEntry(
            EntryKind.NOTE, NOW + timedelta(seconds=i), NOW, "U0BOB", f"note {i} «ü»", {"names": {"U0BOB": "b"}}
        )
        for i in range(entries)
    ]
    with store.transaction() as uow:
        uow.incidents.save(
            first, Decision(first.with_changes(title="checkout is slow", service="cart"), tuple(made)), NOW
        )
    incident_rows = _rows(store, "SELECT number, title, service, version, updated_at FROM incidents")
    assert [(n, t, s, v, _utc(u)) for n, t, s, v, u in incident_rows] == [(1, "checkout is slow", "cart", 2, NOW)]
    entry_rows = _rows(
        store,
        "SELECT e.incident_id = i.id, e.kind, e.occurred_at, e.recorded_at, e.actor, e.text, e.data "
        "FROM timeline_entries e JOIN incidents i ON i.id = e.incident_id WHERE e.kind = 'note' ORDER BY e.id",
    )
    as_read = [
        (
            bool(same),
            kind,
            _utc(occurred),
            _utc(recorded),
            actor,
            text,
            data if isinstance(data, dict) else __import__("json").loads(data),
        )
        for same, kind, occurred, recorded, actor, text, data in entry_rows
    ]
    assert as_read == [
        (True, "note", NOW + timedelta(seconds=i), NOW, "U0BOB", f"note {i} «ü»", {"names": {"U0BOB": "b"}})
        for i in range(entries)
    ]
    stale = TimelineEntry(EntryKind.NOTE, NOW, NOW, "U0BOB", "stale")
    with pytest.raises(ConcurrentUpdate), store.transaction() as uow:
        uow.incidents.get(1)
        uow.incidents.save(first, Decision(first.with_changes(title="stale"), (stale,) * entries), NOW)
    assert _rows(store, "SELECT title, version FROM incidents") == [("checkout is slow", 2)]
    assert _rows(store, "SELECT count(*) FROM timeline_entries WHERE text = 'stale'") == [(0,)]
