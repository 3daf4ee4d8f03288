"""The incident row keeps its timeline's latest status change and whether it was corrected (migration 0014).

Loading an incident for a transition used to ask the timeline (two subqueries, planned on PostgreSQL while the
tables were empty); the row now holds ``latest_change_kind``, ``latest_change_at`` and ``corrected``, written with
every entry. Checked here against the raw timeline rows read back with plain SQL: the status change entry
(mitigation, rollback, monitoring, resolved, reopened, severity) that happened last, of equal times the one
recorded last, then the highest id; and whether any correction or strike entry exists. Corrections are not applied
to those columns: the load's caller applies them (``read_incident``), as before.
"""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta
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
from bot.store.incidents import refresh_latest_changes
from bot.store.migrate import upgrade
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
    changes = [(_utc(occurred), _utc(recorded), row_id, kind) for row_id, kind, occurred, recorded in rows]
    changes = [change for change in changes if change[3] in STATUS_CHANGES]
    latest = max(changes) if changes else None
    corrected = any(kind in CORRECTIONS for _, kind, _, _ in rows)
    return (latest[3], latest[0], corrected) if latest else (None, None, corrected)


def _utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite's text, PostgreSQL's timestamptz)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=SEED_DAY.tzinfo)


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


def test_refresh_latest_changes_rewrites_nothing_the_repository_kept(usecases: UseCases, clock: ReplayClock) -> None:
    """``refresh_latest_changes`` (for rows bulk-loaded around the repository) and the repository agree."""
    clock.now = SEED_DAY.replace(hour=13)
    number = usecases.incidents.declare(Declare("CDN 502s", Severity.SEV1), ALICE).incident.number
    for text in ("mitigate rate limiting --at 13:00", "note more", "rollback WAF rule", "correct 2 --at 13:01"):
        clock.now += timedelta(minutes=5)
        usecases.incidents.run(parse_command(f"INC-{number} {text}"), ALICE)
    engine = usecases.store.engine
    kept = stored(engine, number)
    assert kept[0] == "rollback" and kept[2] is True
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE incidents SET latest_change_kind = NULL, latest_change_at = NULL"))
        assert refresh_latest_changes(connection) == 1
    assert stored(engine, number) == kept


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
