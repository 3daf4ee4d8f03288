"""``incidentbot timeline INC-n --format json`` as a real process, on SQLite and PostgreSQL: its exact output for
a small timeline, and that it writes a long one while reading it (issue 18, target 6) rather than after."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.store import open_store
from bot.store.tables import IncidentRow, TimelineEntryRow
from tests.support.cli import incidentbot, rest_of_export, timeline_export

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
INCIDENTS: sa.Table = IncidentRow.__table__  # type: ignore[attr-defined]
ENTRIES: sa.Table = TimelineEntryRow.__table__  # type: ignore[attr-defined]


def minute(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def seed(database_url: str, entries: list[dict[str, Any]]) -> None:
    """A migrated database holding INC-4 (row id 1) with ``entries`` (their ``id`` is their recording order)."""
    store = open_store(database_url)
    try:
        with store.engine.begin() as connection:
            connection.execute(
                sa.insert(INCIDENTS).values(
                    id=1,
                    number=4,
                    title='Checkout — 502s from "edge"',
                    severity="sev2",
                    status="investigating",
                    declared_at=T0,
                    declared_by="U0ALICE",
                    created_at=T0,
                    updated_at=T0,
                )
            )
            if entries:
                connection.execute(sa.insert(ENTRIES), [{"incident_id": 1, **entry} for entry in entries])
    finally:
        store.dispose()


SMALL = [  # data keys in PostgreSQL's JSONB order (shorter first, then bytewise), which SQLite keeps as written
    {
        "id": 1,
        "kind": "declared",
        "occurred_at": minute(0),
        "recorded_at": minute(0),
        "actor": "U0ALICE",
        "text": 'Checkout — 502s from "edge"',
        "data": {"names": {"U0ALICE": "alice"}, "severity": "sev2"},
    },
    {  # names U0BOB, whose name only a later-recorded entry carries
        "id": 2,
        "kind": "note",
        "occurred_at": minute(8),
        "recorded_at": minute(8),
        "actor": "U0ALICE",
        "text": "asked <@U0BOB> to look",
        "data": {},
    },
    {  # recorded last, backdated before the second: listed second, numbered 3
        "id": 3,
        "kind": "note",
        "occurred_at": minute(3),
        "recorded_at": minute(13),
        "actor": "U0BOB",
        "text": "edge CPU at 95%\non pop-3 ✓",
        "data": {"empty": {}, "links": [1, {"a": None}], "names": {"U0BOB": "bob"}},
    },
]

EXPECTED = """{
  "incident": "INC-4",
  "title": "Checkout — 502s from \\"edge\\"",
  "status": "investigating",
  "severity": "sev2",
  "entries": [
    {
      "number": 1,
      "kind": "declared",
      "occurred_at": "2026-11-22T13:42:00Z",
      "recorded_at": "2026-11-22T13:42:00Z",
      "actor": "U0ALICE",
      "text": "Checkout — 502s from \\"edge\\"",
      "description": "Incident declared (sev2): Checkout — 502s from \\"edge\\"",
      "data": {
        "names": {
          "U0ALICE": "alice"
        },
        "severity": "sev2"
      }
    },
    {
      "number": 3,
      "kind": "note",
      "occurred_at": "2026-11-22T13:45:00Z",
      "recorded_at": "2026-11-22T13:55:00Z",
      "actor": "U0BOB",
      "text": "edge CPU at 95%\\non pop-3 ✓",
      "description": "Note: edge CPU at 95%\\non pop-3 ✓",
      "data": {
        "empty": {},
        "links": [
          1,
          {
            "a": null
          }
        ],
        "names": {
          "U0BOB": "bob"
        }
      }
    },
    {
      "number": 2,
      "kind": "note",
      "occurred_at": "2026-11-22T13:50:00Z",
      "recorded_at": "2026-11-22T13:50:00Z",
      "actor": "U0ALICE",
      "text": "asked <@U0BOB> to look",
      "description": "Note: asked @bob to look",
      "data": {}
    }
  ]
}
"""


def test_the_export_of_a_small_timeline_is_exactly_the_document(database_url: str, tmp_path: Path) -> None:
    """Chronological order with recording numbers, names from any entry, indent 2, UTF-8 as typed, one newline."""
    seed(database_url, SMALL)
    result = incidentbot("timeline", "INC-4", "--format", "json", database_url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED
    assert result.stderr == ""


def test_an_empty_timeline_and_an_unknown_incident(database_url: str, tmp_path: Path) -> None:
    seed(database_url, [])
    result = incidentbot("timeline", "INC-4", "--format", "json", database_url=database_url, cwd=tmp_path)
    assert result.stdout == (
        '{\n  "incident": "INC-4",\n  "title": "Checkout — 502s from \\"edge\\"",\n  "status": "investigating",\n'
        '  "severity": "sev2",\n  "entries": []\n}\n'
    )
    missing = incidentbot("timeline", "INC-5", "--format", "json", database_url=database_url, cwd=tmp_path)
    assert missing.returncode != 0 and missing.stdout == ""
    assert "There is no incident INC-5" in missing.stderr and "Traceback" not in missing.stderr


LONG = 20_000
"""Entries of the long timeline: about 7 MB of JSON, far beyond a pipe's 64 KiB and ten reading batches."""


def _long_timeline() -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "kind": "note",
            "occurred_at": minute(n),
            "recorded_at": minute(n),
            "actor": f"U{n % 40:04d}",
            "text": f"edge CPU at {50 + n % 50}% on pop-{n % 30}",
            "data": {},
        }
        for n in range(1, LONG + 1)
    ]


def _reader_holds_a_snapshot(database_url: str) -> bool:
    """True when another connection holds a read transaction on this SQLite file: a write made now cannot be
    checkpointed into the database file (``PRAGMA wal_checkpoint`` reports fewer frames checkpointed than
    logged), because that reader still reads the file as it was."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE incidents SET summary = 'probe' WHERE number = 4"))
        with engine.connect() as connection:
            connection.execute(sa.text("PRAGMA busy_timeout = 0"))
            _, logged, checkpointed = connection.execute(sa.text("PRAGMA wal_checkpoint(PASSIVE)")).one()
        return bool(checkpointed < logged)
    finally:
        engine.dispose()


def _fetching_backend(database_url: str) -> str | None:
    """The query of another session on this PostgreSQL database that sits in an open transaction with a
    server-side cursor being read (``FETCH ...``), within 30 s; None if there is none."""
    engine = sa.create_engine(database_url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.text(
                        "SELECT state, query FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            for state, query in rows:
                if state == "idle in transaction" and query.lstrip().upper().startswith("FETCH"):
                    return str(query)
            time.sleep(0.1)
        return None
    finally:
        engine.dispose()


def test_a_long_timeline_is_written_while_it_is_read(database_url: str, tmp_path: Path) -> None:
    """Structural, no timing threshold: the process's first entries come out of its pipe while its reading
    transaction is still open on rows not yet read (SQLite: its snapshot still pins the database file; PostgreSQL:
    its session idles inside the transaction on a server-side cursor, blocked on the full pipe). An export that
    read the whole timeline first would have closed its transaction before writing a byte. Then the whole
    output is read and every entry is there, in order."""
    seed(database_url, _long_timeline())
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(database_url)
        with engine.connect() as connection:
            connection.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        engine.dispose()
    with timeline_export(database_url, tmp_path) as process:
        assert process.stdout is not None
        first = process.stdout.read(4096)  # the process has begun writing
        assert first.startswith(b'{\n  "incident": "INC-4",')
        assert b'"text": "edge CPU at 51% on pop-1"' in first
        if database_url.startswith("sqlite"):
            assert _reader_holds_a_snapshot(database_url)
        else:
            query = _fetching_backend(database_url)
            assert query is not None, "no session of the export idles on a server-side cursor"
        document = rest_of_export(process, first)
    assert [e["number"] for e in document["entries"]] == list(range(1, LONG + 1))
    assert document["entries"][-1]["text"] == f"edge CPU at {50 + LONG % 50}% on pop-{LONG % 30}"


def test_batches_keep_the_order_and_the_recording_numbers(database_url: str) -> None:
    """Seven entries recorded in one order and backdated into another, read two rows at a time: the stream gives
    the entries and numbers that listing the whole timeline gives, and the names of the whole timeline."""
    occurred = [0, 30, 10, 20, 5, 40, 10]  # minutes; the 3rd and 7th tie on occurred_at, then recorded_at decides
    seed(
        database_url,
        [
            {
                "id": n,
                "kind": "note",
                "occurred_at": minute(occurred[n - 1]),
                "recorded_at": minute(50 + n),
                "actor": "U0BOB",
                "text": f"note recorded {n}",
                "data": {"names": {"U0BOB": f"bob{n}"}} if n in (2, 5) else {},
            }
            for n in range(1, 8)
        ],
    )
    store = open_store(database_url)
    try:
        with store.transaction(readonly=True) as uow:
            streamed = list(uow.timeline.stream_entries(4, batch=2))
            names = uow.timeline.entry_names(4, batch=2)
            listed = uow.timeline.list_entries(4)
    finally:
        store.dispose()
    assert [(e.number, e.text) for e in streamed] == [
        (1, "note recorded 1"),
        (5, "note recorded 5"),
        (3, "note recorded 3"),
        (7, "note recorded 7"),
        (4, "note recorded 4"),
        (2, "note recorded 2"),
        (6, "note recorded 6"),
    ]
    assert streamed == listed and [e.number for e in streamed] == [e.number for e in listed]
    assert names == {"U0BOB": "bob2"}  # entry 2 (minute 30) is later on the timeline than entry 5 (minute 5)
