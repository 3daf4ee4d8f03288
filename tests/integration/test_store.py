"""The store on SQLite and PostgreSQL: round trips, ordering, numbering, races, append-only timeline."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from bot.app import UseCases
from bot.cli.demo import SEED_DAY, ReplayClock
from bot.domain.changes import ChangeEvent
from bot.domain.commands import AddNote, Declare, Resolve
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import Decision
from bot.domain.model import (
    EntryKind,
    Followup,
    Hypothesis,
    HypothesisStatus,
    Incident,
    Member,
    Severity,
    Status,
    TimelineEntry,
)
from bot.errors import ConcurrentUpdate, StoreUnavailable, TimeParseError, TransitionError
from bot.slack.text import person_mention
from bot.store import IncidentStore, open_store
from bot.store.tables import TimelineEntryRow
from bot.usecases.shared import Actor, Transactions

T = TypeVar("T")
ALICE = Actor("U0ALICE", "alice")
BOB = Actor("U0BOB", "bob")
T0 = datetime(2026, 11, 22, 13, 0, 0, 123456, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``T0`` plus some minutes: an aware UTC moment with microseconds."""
    return T0 + timedelta(minutes=minutes)


def run_together(count: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``work(i)`` for i in 0..count-1 on as many threads, released together by a barrier."""
    barrier = threading.Barrier(count)

    def call(index: int) -> T | BaseException:
        barrier.wait(timeout=30)
        try:
            return work(index)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def declare(usecases: UseCases, title: str = "checkout is down", actor: Actor = ALICE) -> int:
    return usecases.incidents.declare(Declare(title, Severity.SEV2), actor).incident.number


def full_incident(number: int = 1) -> Incident:
    """An incident with every field set, times in assorted zones and with microseconds."""
    plus_two = timezone(timedelta(hours=2))
    return Incident(
        number=number,
        title="Payments 500 | “quoted” ünïcode 🔥",
        severity=Severity.SEV1,
        status=Status.RESOLVED,
        declared_at=at(0),
        declared_by="U0ALICE",
        lead="U0BOB",
        channel_id="C0INC1",
        description="multi\nline description",
        members=(Member("U0BOB", None, at(1)), Member("U0CAROL", "security", at(2).astimezone(plus_two))),
        hypotheses=(
            Hypothesis(1, "DNS", "U0CAROL", at(3), HypothesisStatus.REJECTED, "resolves fine", at(4)),
            Hypothesis(2, "bad deploy", "U0BOB", at(5), HypothesisStatus.CONFIRMED, "diff shows it", at(6)),
            Hypothesis(3, "cosmic rays", "U0DAVE", at(7)),
        ),
        followups=(Followup(1, "add a canary", "U0CAROL", at(8)), Followup(2, "write runbook", None, at(9))),
        resolved_at=at(10).astimezone(plus_two),
        resolved_by="U0BOB",
        summary="rolled back the deploy",
    )


class TestRoundTrip:
    def test_every_incident_field_comes_back_equal_and_in_utc(self, store: IncidentStore) -> None:
        """An incident with every field set reads back equal, each datetime aware UTC with microseconds."""
        full = full_incident()
        declared = replace(
            full,
            status=Status.DECLARED,
            lead=None,
            members=(),
            hypotheses=(),
            followups=(),
            resolved_at=None,
            resolved_by=None,
            summary="",
        )
        with store.transaction() as uow:
            stored = uow.incidents.add(Decision(declared, ()), at(0))
        with store.transaction() as uow:
            saved = uow.incidents.save(stored, Decision(full, ()), at(11))
        with store.transaction(readonly=True) as uow:
            loaded = uow.incidents.get(1)
            by_channel = uow.incidents.get_by_channel("C0INC1")
        assert loaded == saved == full.with_changes(version=2)
        assert by_channel == loaded
        assert loaded is not None
        moments = [
            loaded.declared_at,
            loaded.resolved_at,
            *(m.joined_at for m in loaded.members),
            *(h.proposed_at for h in loaded.hypotheses),
            *(h.decided_at for h in loaded.hypotheses if h.decided_at),
            *(f.created_at for f in loaded.followups),
        ]
        assert all(m is not None and m.tzinfo is UTC for m in moments)
        assert loaded.resolved_at == at(10) and loaded.resolved_at.microsecond == 123456

    def test_timeline_entries_round_trip_with_json_data(self, store: IncidentStore) -> None:
        """Every entry field comes back equal: kind, aware UTC times, actor, text and nested JSON data."""
        data: dict[str, Any] = {
            "names": {"U0ALICE": "alice"},
            "n": 3,
            "ratio": 0.5,
            "ok": True,
            "none": None,
            "list": [1, "two", {"three": [3]}],
            "text": "ünïcode “quotes” \n newline 🔥",
        }
        entries = (
            TimelineEntry(EntryKind.DECLARED, at(0), at(0.5), "U0ALICE", "declared", data),
            TimelineEntry(EntryKind.NOTE, at(1).astimezone(timezone(timedelta(hours=-5))), at(2), "U0BOB"),
        )
        incident = replace(full_incident(), status=Status.DECLARED, resolved_at=None)
        with store.transaction() as uow:
            uow.incidents.add(Decision(incident, entries), at(2))
        with store.transaction(readonly=True) as uow:
            loaded = uow.timeline.list_entries(1)
        assert loaded == list(entries)
        assert all(e.occurred_at.tzinfo is UTC and e.recorded_at.tzinfo is UTC for e in loaded)

    def test_service_state_after_the_seed_matches_what_it_returned(
        self, usecases: UseCases, clock: ReplayClock
    ) -> None:
        """After replaying the seed outage, the reloaded incident equals the last command's result."""
        from bot.cli.demo import SEED_STEPS, TYPING_DELAY

        last = None
        for step in SEED_STEPS:
            command = parse_command(step.slack_text)
            if not command.changes_state:
                continue
            clock.now = step.occurred_at + TYPING_DELAY
            last = usecases.incidents.run(command if last is None else replace(command, incident_number=1), step.actor)
        assert last is not None
        assert usecases.incidents.get(1) == last.incident
        assert last.incident.status is Status.RESOLVED and len(last.incident.followups) == 3

    def test_naive_datetimes_are_refused(self, store: IncidentStore) -> None:
        """A naive datetime never reaches the database: the column type refuses it."""
        naive = replace(full_incident(), declared_at=datetime(2026, 11, 22, 13, 0))  # noqa: DTZ001
        with pytest.raises(sa.exc.StatementError, match="naive datetime"), store.transaction() as uow:
            uow.incidents.add(Decision(naive, ()), at(0))


class TestTimelineOrder:
    def test_entries_sort_by_occurred_then_recorded_not_by_insertion(self, store: IncidentStore) -> None:
        """Entries inserted out of order come back by occurred_at, ties broken by recorded_at."""

        def entry(text: str, occurred: float, recorded: float) -> TimelineEntry:
            return TimelineEntry(EntryKind.NOTE, at(occurred), at(recorded), "U0ALICE", text)

        inserted = (entry("d", 9, 10), entry("b", 5, 30), entry("a", 1, 40), entry("c", 5, 20), entry("e", 9, 11))
        incident = replace(full_incident(), status=Status.DECLARED, resolved_at=None)
        with store.transaction() as uow:
            uow.incidents.add(Decision(incident, inserted), at(0))
        with store.transaction(readonly=True) as uow:
            assert [e.text for e in uow.timeline.list_entries(1)] == ["a", "c", "b", "d", "e"]
            assert [e.text for e in uow.timeline.list_entries(1, limit=2)] == ["a", "c"]

    def test_backdated_commands_land_in_their_place(self, usecases: UseCases, clock: ReplayClock) -> None:
        """A note typed later with ``--at`` an earlier time sorts before entries recorded before it."""
        clock.now = SEED_DAY.replace(hour=13, minute=40)
        number = declare(usecases)
        clock.now = SEED_DAY.replace(hour=14)
        usecases.incidents.run(parse_command(f"INC-{number} note second"), BOB)
        clock.now = SEED_DAY.replace(hour=14, minute=30)
        usecases.incidents.run(parse_command(f"INC-{number} note first --at 13:50"), BOB)
        _, entries = usecases.incidents.timeline(number)
        assert [e.text for e in entries] == ["checkout is down", "first", "second"]
        assert entries[1].recorded_at - entries[1].occurred_at == timedelta(minutes=40)

    def test_a_status_change_before_the_latest_one_is_refused(self, usecases: UseCases, clock: ReplayClock) -> None:
        """The tester's "resolved 12:45, reopened 13:20, resolved --at 13:10": the store remembers the
        reopening, so the third change is refused naming it; a note may still go before it."""
        clock.now = SEED_DAY.replace(hour=12)
        number = declare(usecases)
        clock.now = SEED_DAY.replace(hour=13, minute=30)
        usecases.incidents.run(parse_command(f"INC-{number} resolve fixed --at 12:45"), BOB)
        usecases.incidents.run(parse_command(f"INC-{number} reopen back --at 13:20"), BOB)
        with pytest.raises(TimeParseError) as raised:
            usecases.incidents.run(parse_command(f"INC-{number} resolve fixed again --at 13:10"), BOB)
        assert raised.value.user_message == (
            f"{SEED_DAY:%Y-%m-%d} 13:10 UTC is before the latest status change of INC-{number} "
            f"(reopened at {SEED_DAY:%Y-%m-%d} 13:20 UTC). Record this change at or after that time."
        )
        usecases.incidents.run(parse_command(f"INC-{number} note earlier context --at 13:10"), BOB)
        usecases.incidents.run(parse_command(f"INC-{number} severity sev1 --at 13:25"), BOB)
        incident, entries = usecases.incidents.timeline(number)
        assert incident.status is Status.INVESTIGATING and incident.severity is Severity.SEV1
        assert [(e.kind.value, f"{e.occurred_at:%H:%M}") for e in entries][1:] == [
            ("resolved", "12:45"),
            ("note", "13:10"),
            ("reopened", "13:20"),
            ("severity", "13:25"),
        ]


class TestIncidentNumbers:
    def test_numbers_count_up_from_one(self, usecases: UseCases) -> None:
        """Sequential declarations get INC-1, INC-2, INC-3 and list newest first."""
        assert [declare(usecases, f"incident {i}") for i in range(3)] == [1, 2, 3]
        assert [s.number for s in usecases.incidents.summaries()] == [3, 2, 1]

    def test_concurrent_declarations_get_numbers_without_gaps(self, usecases: UseCases) -> None:
        """Twenty threads declaring at once get exactly INC-1..INC-20."""
        results = run_together(20, lambda i: declare(usecases, f"incident {i}"))
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 21))
        assert sorted(s.number for s in usecases.incidents.summaries()) == list(range(1, 21))


class TestRacingCommands:
    def test_two_racing_resolves_leave_one_resolution(self, usecases: UseCases) -> None:
        """Of two resolves racing on one incident, one wins and the other learns who resolved it, when."""
        actors = [Actor("U0ALICE", "alice"), Actor("U0BOB", "bob")]
        for _round in range(5):
            number = declare(usecases)

            def resolve(i: int, number: int = number) -> object:
                return usecases.incidents.transition(Resolve(f"fixed by {i}"), actors[i], number=number)

            results = run_together(2, resolve)
            losers = [r for r in results if isinstance(r, BaseException)]
            assert len(losers) == 1, results
            assert isinstance(losers[0], TransitionError), losers
            winner = usecases.incidents.get(number)
            assert winner.status is Status.RESOLVED and winner.resolved_by is not None
            assert losers[0].render(person_mention) == (
                f"INC-{number} was already resolved by <@{winner.resolved_by}> at 2026-11-22 13:00 UTC."
            )
            assert losers[0].user_message == (
                f"INC-{number} was already resolved by @{winner.resolved_by} at 2026-11-22 13:00 UTC."
            )
            _, entries = usecases.incidents.timeline(number)
            assert [e.kind for e in entries].count(EntryKind.RESOLVED) == 1

    def test_a_hundred_concurrent_notes_all_land(self, usecases: UseCases) -> None:
        """Notes from a hundred threads at once are all on the timeline, none lost, none doubled."""
        number = declare(usecases)
        results = run_together(100, lambda i: usecases.incidents.transition(AddNote(f"note {i}"), BOB, number=number))
        assert not [r for r in results if isinstance(r, BaseException)], results[:3]
        _, entries = usecases.incidents.timeline(number)
        notes = sorted(e.text for e in entries if e.kind is EntryKind.NOTE)
        assert notes == sorted(f"note {i}" for i in range(100))
        assert usecases.incidents.get(number).version == 101

    def test_saving_a_stale_incident_raises_concurrent_update(self, store: IncidentStore) -> None:
        """The version check refuses a save based on an incident someone else changed meanwhile."""
        with store.transaction() as uow:
            declared = replace(full_incident(), status=Status.DECLARED, resolved_at=None)
            first = uow.incidents.add(Decision(declared, ()), at(0))
        note = TimelineEntry(EntryKind.NOTE, at(1), at(1), "U0BOB", "winner")
        with store.transaction() as uow:
            uow.incidents.save(first, Decision(first.with_changes(title="winner's title"), (note,)), at(1))
        stale = TimelineEntry(EntryKind.NOTE, at(2), at(2), "U0BOB", "stale")
        with pytest.raises(ConcurrentUpdate, match="INC-1 changed while this command ran"), store.transaction() as uow:
            uow.incidents.save(first, Decision(first.with_changes(title="stale title"), (stale,)), at(2))
        with store.transaction(readonly=True) as uow:
            loaded = uow.incidents.get(1)
            assert loaded is not None and loaded.title == "winner's title" and loaded.version == 2
            assert [e.text for e in uow.timeline.list_entries(1)] == ["winner"]


class TestDatabaseErrorsStayInTheStore:
    """A write that meets another's row on a unique key is a lost race: the store says ConcurrentUpdate
    (never the driver's IntegrityError), rolls the whole transaction back, and a retry decides again."""

    @pytest.mark.parametrize("key", ["incident number", "alert group generation"])
    def test_a_taken_unique_key_raises_concurrent_update_and_rolls_back(self, store: IncidentStore, key: str) -> None:
        """The second insert of INC-1 (or of generation 1 of a group) fails as ConcurrentUpdate; the change
        event written before it in the same transaction is gone with it."""
        declared = replace(full_incident(), status=Status.DECLARED, resolved_at=None)

        def write(uow: Any) -> None:
            if key == "incident number":
                uow.incidents.add(Decision(declared, ()), at(0))
            else:
                uow.alerts.add_group("ab12cd3", 1, 1, "{}:{alertname=X}", "alertmanager", at(0))

        with store.transaction() as uow:
            write(uow)
        change = ChangeEvent("checkout-api", "deploy v2", "U0BOB", at(1))
        with (
            pytest.raises(ConcurrentUpdate, match="Another command wrote the same record") as raised,
            store.transaction() as uow,
        ):
            uow.changes.add(change, at(1))
            write(uow)
        assert isinstance(raised.value.__cause__, sa.exc.IntegrityError)
        with store.transaction(readonly=True) as uow:
            assert uow.changes.list_between("checkout-api", at(0), at(2)) == []
            assert [s.number for s in uow.listing.list_summaries()] == ([1] if key == "incident number" else [])

    def test_a_lost_race_on_a_unique_key_is_retried_on_fresh_state(self, store: IncidentStore) -> None:
        """Transactions.retrying runs the attempt again after the store's ConcurrentUpdate: the first attempt
        takes a stale number (1, already committed), the second reads the next free one (2)."""
        declared = replace(full_incident(), status=Status.DECLARED, resolved_at=None)
        with store.transaction() as uow:
            uow.incidents.add(Decision(declared, ()), at(0))
        attempts: list[int] = []

        def attempt(uow: Any) -> int:
            number = 1 if not attempts else uow.incidents.next_number()
            attempts.append(number)
            return int(uow.incidents.add(Decision(replace(declared, number=number, channel_id=None), ()), at(1)).number)

        assert Transactions(store).retrying(attempt) == 2
        assert attempts == [1, 2]


class TestEventDeduplication:
    def test_an_event_id_is_remembered_once(self, usecases: UseCases) -> None:
        """events.remember answers True the first time and False for a retried delivery."""
        assert usecases.events.remember("Ev01") is True
        assert usecases.events.remember("Ev01") is False
        assert usecases.events.remember("Ev02") is True

    def test_a_retried_event_takes_effect_once(self, usecases: UseCases) -> None:
        """A transition carrying an event id already seen is skipped and returns None."""
        number = declare(usecases)
        assert usecases.incidents.transition(AddNote("pinned"), BOB, number=number, event_id="Ev9") is not None
        assert usecases.incidents.transition(AddNote("pinned"), BOB, number=number, event_id="Ev9") is None
        _, entries = usecases.incidents.timeline(number)
        assert [e.text for e in entries].count("pinned") == 1


class TestAppendOnlyTimeline:
    def test_timeline_rows_are_never_updated_or_deleted(
        self, store: IncidentStore, usecases: UseCases, clock: ReplayClock
    ) -> None:
        """Over a whole life cycle no timeline row is updated or deleted; earlier rows stay as they were."""
        statements: list[str] = []

        @sa.event.listens_for(store.engine, "before_cursor_execute")
        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(" ".join(statement.split()).lower())

        def rows() -> list[tuple[Any, ...]]:
            with store.engine.connect() as connection:
                table = TimelineEntryRow.__table__  # type: ignore[attr-defined]
                return [tuple(r) for r in connection.execute(sa.select(table).order_by(table.c.id))]

        number = declare(usecases)
        snapshots = [rows()]
        for minute, text in enumerate(
            [
                "lead <@U0BOB>",
                "assemble <@U0CAROL>:security",
                "hypothesis dns",
                "hypothesis reject 1 nope",
                "mitigate failover",
                "resolve back",
                "reopen again",
                "severity sev1",
                "rollback deploy",
                "resolve done",
                "followup canary <@U0BOB>",
            ],
            start=1,
        ):
            clock.now = T0 + timedelta(minutes=minute)
            usecases.incidents.run(parse_command(f"INC-{number} {text}"), ALICE)
            snapshot = rows()
            assert snapshot[: len(snapshots[-1])] == snapshots[-1]
            assert len(snapshot) == len(snapshots[-1]) + 1
            snapshots.append(snapshot)
        writes = [s for s in statements if "timeline_entries" in s and s.startswith(("update", "delete"))]
        assert writes == []
        assert any(s.startswith("insert into timeline_entries") for s in statements)


class TestOpeningTheDatabase:
    def test_sqlite_file_is_in_wal_mode(self, tmp_path: Path) -> None:
        """A store opened on a SQLite file switches it to write-ahead logging, persistently."""
        path = tmp_path / "wal.db"
        open_store(f"sqlite:///{path}").dispose()
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_garbage_file_gives_store_unavailable(self, tmp_path: Path) -> None:
        """A file that is not a database is reported as StoreUnavailable with one clear line."""
        path = tmp_path / "garbage.db"
        path.write_bytes(b"this is not a database\x00\xff" * 512)
        with pytest.raises(StoreUnavailable) as caught:
            open_store(f"sqlite:///{path}")
        assert "Cannot open the database" in caught.value.user_message
        assert "not a database" in caught.value.user_message
        assert "\n" not in caught.value.user_message

    def test_missing_folder_gives_store_unavailable(self, tmp_path: Path) -> None:
        """A SQLite path in a folder that does not exist is reported as StoreUnavailable."""
        with pytest.raises(StoreUnavailable, match="unable to open database file"):
            open_store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")

    def test_unreachable_postgres_gives_store_unavailable(self, tmp_path: Path) -> None:
        """A PostgreSQL URL nobody answers at is reported as StoreUnavailable, not a driver traceback."""
        with pytest.raises(StoreUnavailable, match="Cannot open the database"):
            open_store(f"postgresql+psycopg://postgres@/incidents?host={tmp_path}")

    def test_ping_answers(self, store: IncidentStore) -> None:
        """ping() is True on a healthy database."""
        assert store.ping() is True
