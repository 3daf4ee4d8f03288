"""The incident row keeps its timeline's latest status change and whether it was corrected (migration 0014).

Loading an incident for a transition used to ask the timeline (two subqueries, planned on PostgreSQL while the
tables were empty); the row now holds ``latest_change_kind``, ``latest_change_at`` and ``corrected``, kept by the
database's triggers whoever writes an entry. Checked here against the raw timeline rows read back with plain SQL:
the status change entry (mitigation, rollback, monitoring, resolved, reopened, severity) that happened last, of
equal times the one written last (the highest id); and whether any correction or strike entry exists.
Corrections are not applied to those columns: the load's caller applies them (``read_incident``), as before.
"""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import UseCases
from bot.cli.demo import SEED_DAY, ReplayClock
from bot.domain.commands import Declare
from bot.domain.grammar import parse_command
from bot.domain.model import Severity
from bot.errors import BotError
from bot.store import open_store
from bot.store.migrate import upgrade
from bot.store.tables import TimelineEntryRow
from bot.usecases.shared import Actor

ALICE = Actor("U0ALICE", "alice")
STATUS_CHANGES = {"mitigation", "rollback", "monitoring", "resolved", "reopened", "severity"}
CORRECTIONS = {"correction", "strike"}
VERBS = (
    "note seen on the edge",
    "note 502s at 4% --at {at}",
    "mitigate rate limiting on the edge --at {at}",
    "rollback WAF rule 7731 --at {at}",
    "monitor 502 rate --at {at}",
    "resolve rolled back --at {at}",
    "reopen 502s again --at {at}",
    "severity sev1 --at {at}",
    "severity sev3",
    "mitigate drained eu-west",
    "correct {entry} --at {at}",
    "correct {entry} better words",
    "strike {entry} wrong incident",
)


def stored(engine: sa.Engine, number: int) -> tuple[Any, Any, bool]:
    """``(latest_change_kind, latest_change_at, corrected)`` as the incident row holds them."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT latest_change_kind, latest_change_at, corrected FROM incidents WHERE number = :n"),
            {"n": number},
        ).one()
    return row[0], _utc(row[1]), bool(row[2])


def from_timeline(engine: sa.Engine, number: int) -> tuple[Any, Any, bool]:
    """The same three, worked out in Python from the incident's raw timeline rows."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT t.id, t.kind, t.occurred_at, t.recorded_at FROM timeline_entries t "
                "JOIN incidents i ON i.id = t.incident_id WHERE i.number = :n"
            ),
            {"n": number},
        ).all()
    changes = [(_utc(occurred), row_id, kind) for row_id, kind, occurred, _recorded in rows if kind in STATUS_CHANGES]
    latest = max(changes) if changes else None
    corrected = any(kind in CORRECTIONS for _, kind, _, _ in rows)
    return (latest[2], latest[0], corrected) if latest else (None, None, corrected)


def _utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite's text, PostgreSQL's timestamptz)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.parametrize("seed", range(6))
def test_the_row_agrees_with_the_timeline_after_any_commands(usecases: UseCases, clock: ReplayClock, seed: int) -> None:
    """60 commands drawn at random (notes, status and severity changes backdated or not, corrections of an entry's
    time or text, strikes; refused ones included) on two incidents: after each, the row's three columns are what
    the raw timeline says, and the incident as loaded carries that latest change."""
    rng = random.Random(seed)
    clock.now = SEED_DAY.replace(hour=13)
    numbers = [
        usecases.incidents.declare(Declare(f"CDN 502s {i}", Severity.SEV2), ALICE).incident.number for i in (1, 2)
    ]
    engine = usecases.store.engine
    for _ in range(60):
        clock.now += timedelta(minutes=rng.randint(0, 3), seconds=rng.randint(0, 59))
        number = rng.choice(numbers)
        at = clock.now - timedelta(minutes=rng.choice((0, 0, 1, 5, 20, 59)))
        text = rng.choice(VERBS).format(at=f"{at:%H:%M}", entry=rng.randint(1, 12))
        # Refused (before the latest change, not possible in this status, no such entry): nothing written.
        with contextlib.suppress(BotError):
            usecases.incidents.run(parse_command(f"INC-{number} {text}"), ALICE)
        expected = from_timeline(engine, number)
        assert stored(engine, number) == expected, text
        with usecases.store.transaction(readonly=True) as uow:
            loaded = uow.incidents.get(number)
        assert loaded is not None
        change = loaded.latest_change
        assert ((change.kind.value, change.occurred_at) if change else (None, None)) == expected[:2], text


def test_entries_written_by_a_writer_that_knows_nothing_of_the_columns_keep_them(
    usecases: UseCases, clock: ReplayClock
) -> None:
    """The tester's rolling upgrade (2026-12-01): a replica still running the code from before migration 0014 keeps
    serving after another one migrated, and writes entries with an INSERT of the timeline's own columns only: a
    mitigation at 13:30 (#2), its time corrected to 13:35 (#3), a rollback backdated to 13:20 (#4, which the old
    code would have refused; written here as-is) and a note. The row holds the mitigation at 13:30 as stored and
    that the incident was corrected; so the bot checks a severity change backdated to 13:33 against the corrected
    13:35 and refuses it (with ``corrected`` left false it would compare with 13:30 and accept it)."""
    clock.now = SEED_DAY.replace(hour=13)
    number = usecases.incidents.declare(Declare("CDN 502s", Severity.SEV1), ALICE).incident.number
    engine = usecases.store.engine
    at = SEED_DAY.replace
    with engine.begin() as connection:
        incident_id = connection.execute(sa.text("SELECT id FROM incidents WHERE number = :n"), {"n": number}).scalar()
        for kind, occurred, recorded in (
            ("mitigation", at(hour=13, minute=30), at(hour=13, minute=31)),
            ("correction", at(hour=13, minute=36), at(hour=13, minute=36)),
            ("rollback", at(hour=13, minute=20), at(hour=13, minute=37)),
            ("note", at(hour=13, minute=40), at(hour=13, minute=40)),
        ):
            connection.execute(
                sa.insert(TimelineEntryRow.__table__),  # type: ignore[attr-defined]
                {
                    "incident_id": incident_id,
                    "kind": kind,
                    "occurred_at": occurred,
                    "recorded_at": recorded,
                    "actor": "U0OLDREPLICA",
                    "text": "written by the previous code",
                    "data": {
                        "entry": 2,
                        "at_from": f"{at(hour=13, minute=30):%FT%T+00:00}",
                        "at_to": f"{at(hour=13, minute=35):%FT%T+00:00}",
                    }
                    if kind == "correction"
                    else {},
                },
            )
    assert stored(engine, number) == ("mitigation", at(hour=13, minute=30), True)
    clock.now = at(hour=13, minute=45)
    with pytest.raises(BotError) as refused:
        usecases.incidents.run(parse_command(f"INC-{number} severity sev2 --at 13:33"), ALICE)
    assert "before the latest status change" in refused.value.user_message
    assert "(mitigation at 2026-11-22 13:35 UTC)" in refused.value.user_message


def test_the_migration_fills_the_columns_from_the_timeline(database_url: str) -> None:
    """An incident recorded at 0013 with a backdated mitigation (13:50, typed 14:10), a rollback at 14:35, a
    severity change backdated to 14:35 (recorded after the rollback) and a strike; another with notes only. After
    0014: the first holds the severity change at 14:35 (same time as the rollback, recorded later) and corrected;
    the second holds nothing and is not corrected."""
    engine = sa.create_engine(database_url)
    try:
        upgrade(engine, "0013")
        t = datetime.fromisoformat
        with engine.begin() as connection:
            for number in (1, 2):
                connection.execute(
                    sa.text(
                        "INSERT INTO incidents (id, number, title, description, severity, status, declared_at, "
                        "declared_by, summary, version, created_at, updated_at) VALUES (:n, :n, 'CDN 502s', '', "
                        "'sev1', 'mitigated', :t, 'U0ALICE', '', 1, :t, :t)"
                    ),
                    {"n": number, "t": t("2026-11-22T13:42:00+00:00")},
                )
            entries = [
                (1, "declared", "13:42", "13:42"),
                (1, "mitigation", "13:50", "14:10"),
                (1, "rollback", "14:35", "14:35"),
                (1, "severity", "14:35", "14:40"),
                (1, "note", "14:45", "14:45"),
                (1, "strike", "14:46", "14:46"),
                (2, "declared", "13:42", "13:42"),
                (2, "note", "13:43", "13:43"),
            ]
            for incident, kind, occurred, recorded in entries:
                connection.execute(
                    sa.text(
                        "INSERT INTO timeline_entries (incident_id, kind, occurred_at, recorded_at, actor, text, data) "
                        "VALUES (:i, :k, :o, :r, 'U0ALICE', 'x', '{}')"
                    ),
                    {
                        "i": incident,
                        "k": kind,
                        "o": t(f"2026-11-22T{occurred}:00+00:00"),
                        "r": t(f"2026-11-22T{recorded}:00+00:00"),
                    },
                )
        upgrade(engine)
        assert stored(engine, 1) == ("severity", t("2026-11-22T14:35:00+00:00"), True)
        assert stored(engine, 2) == (None, None, False)
    finally:
        engine.dispose()
    store = open_store(database_url)
    try:
        with store.transaction(readonly=True) as uow:
            loaded = uow.incidents.get(1)
        assert loaded is not None
        assert loaded.latest_change is not None
        assert (loaded.latest_change.kind.value, loaded.latest_change.occurred_at) == (
            "severity",
            t("2026-11-22T14:35:00+00:00"),
        )
    finally:
        store.dispose()


def test_a_status_change_written_after_a_correction_moved_the_latest_earlier(
    usecases: UseCases, clock: ReplayClock
) -> None:
    """Rollback at 14:35, its time corrected to 14:20, then a mitigation backdated to 14:25 (allowed: after the
    corrected latest change). The row keeps the timeline as stored: the rollback's 14:35 stays the latest (the load's
    caller applies the correction, and the next backdated change is checked against 14:25)."""
    clock.now = SEED_DAY.replace(hour=14)
    number = usecases.incidents.declare(Declare("CDN 502s", Severity.SEV1), ALICE).incident.number
    clock.now = SEED_DAY.replace(hour=14, minute=40)
    usecases.incidents.run(parse_command(f"INC-{number} rollback WAF rule 7731 --at 14:35"), ALICE)
    usecases.incidents.run(parse_command(f"INC-{number} correct 2 --at 14:20"), ALICE)
    usecases.incidents.run(parse_command(f"INC-{number} mitigate drained eu-west --at 14:25"), ALICE)
    engine = usecases.store.engine
    assert stored(engine, number) == ("rollback", SEED_DAY.replace(hour=14, minute=35), True)
    assert stored(engine, number) == from_timeline(engine, number)
    with pytest.raises(BotError) as refused:
        usecases.incidents.run(parse_command(f"INC-{number} monitor 502 rate --at 14:22"), ALICE)
    assert "before the latest status change" in refused.value.user_message
    assert "14:25" in refused.value.user_message


def test_backdating_is_checked_against_the_corrected_declaration(usecases: UseCases, clock: ReplayClock) -> None:
    """Found by the same tester, older than the kept columns: declared --at 13:00, the declaration corrected to 12:30
    (``timeline`` and ``status`` then say 12:30), a note backdated to 12:40 was refused as "before INC-1 was
    declared (13:00)". Expected: 12:40 is recorded; 12:20 is refused naming the corrected 12:30."""
    clock.now = SEED_DAY.replace(hour=14)
    number = usecases.incidents.run(parse_command("declare sev2 CDN 502s --at 13:00"), ALICE).incident.number
    usecases.incidents.run(parse_command(f"INC-{number} correct 1 --at 12:30"), ALICE)
    usecases.incidents.run(parse_command(f"INC-{number} note started earlier --at 12:40"), ALICE)
    with pytest.raises(BotError) as refused:
        usecases.incidents.run(parse_command(f"INC-{number} note even earlier --at 12:20"), ALICE)
    assert refused.value.user_message.startswith(
        "2026-11-22 12:20 UTC is before INC-1 was declared (2026-11-22 12:30 UTC)."
    )
    _, entries = usecases.incidents.timeline(number)
    assert [(e.text, f"{e.occurred_at:%H:%M}") for e in entries if e.kind.value == "note"] == [
        ("started earlier", "12:40")
    ]
