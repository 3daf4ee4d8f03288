"""Databases for the benchmarks: a few live incidents for load runs, and big bulk-loaded histories.

The big dataset is written with the driver's bulk paths (sqlite3 ``executemany`` in one transaction,
PostgreSQL ``COPY``), after ``open_store`` created the schema with the real migrations, so the
indexes the bot ships are the ones being measured. Every incident gets the same shape whatever the
size: ``entries_per_incident`` timeline entries and two participants; the newest ``OPEN_INCIDENTS``
incidents are open, all older ones resolved (as in a real history).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.commands import Declare
from bot.domain.model import Severity
from bot.slack.web_api import channel_name
from bot.store import open_store
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import Actor, Transactions

BASE_TIME = datetime(2020, 1, 1, tzinfo=UTC)
OPEN_STATUSES = ("declared", "investigating", "mitigated")
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")


def channel_of(number: int) -> str:
    return f"CINC{number:07d}"


def live_channel(number: int) -> tuple[str, str]:
    """``(id, name)`` of the generated incident INC-``number``'s channel, named as the bot names it."""
    return channel_of(number), channel_name("inc", number, incident_title(number))


def incident_title(number: int) -> str:
    return f"Incident {number}: checkout latency"


def seed_live(database_url: str, count: int, add_channel: Any) -> list[tuple[str, str]]:
    """Declare ``count`` incidents through the service and bind each to a channel ``add_channel`` creates.

    Returns ``(channel id, channel name)`` per incident, named as the bot names them (``inc-7-bench-incident-6``,
    ``bot.slack.web_api.channel_name``): load runs send their commands from these channels, as people do.
    """
    store = open_store(database_url)
    incidents = IncidentUseCases(Transactions(store))
    channels = []
    try:
        for index in range(count):
            outcome = incidents.declare(Declare(f"Bench incident {index}", Severity.SEV2), Actor("U0SEED", "seed"))
            name = channel_name("inc", outcome.incident.number, outcome.incident.title)
            channel = add_channel(None, name)
            incidents.bind_channel(outcome.incident.number, channel)
            channels.append((channel, name))
    finally:
        store.dispose()
    return channels


@dataclass(frozen=True)
class Generated:
    incidents: int
    entries: int
    participants: int
    seconds: float
    target_number: int
    target_channel: str


def _incident_rows(count: int, open_count: int) -> Iterator[dict[str, Any]]:
    for number in range(1, count + 1):
        declared = BASE_TIME + timedelta(minutes=15 * number)
        is_open = number > count - open_count
        yield {
            "id": number,
            "number": number,
            "title": incident_title(number),
            "description": "",
            "severity": SEVERITIES[number % 4],
            "status": OPEN_STATUSES[number % 3] if is_open else "resolved",
            "declared_at": declared,
            "declared_by": f"U{number % 97:04d}",
            "lead": f"U{number % 53:04d}",
            "channel_id": channel_of(number),
            "resolved_at": None if is_open else declared + timedelta(hours=1),
            "resolved_by": None if is_open else f"U{number % 53:04d}",
            "summary": "",
            "status_message_ts": None,
            "version": 12,
            "created_at": declared,
            "updated_at": declared,
        }


def _entry_rows(count: int, per_incident: int) -> Iterator[tuple[Any, ...]]:
    entry_id = 0
    for number in range(1, count + 1):
        declared = BASE_TIME + timedelta(minutes=15 * number)
        for position in range(per_incident):
            entry_id += 1
            at = declared + timedelta(minutes=position)
            if position == 0:
                kind, text, data = "declared", f"Incident {number}: checkout latency", '{"severity": "sev2"}'
            else:
                kind, text, data = "note", f"Observation {position}: p99 latency at {200 + position} ms", "{}"
            yield (entry_id, number, kind, at, at, f"U{(number + position) % 97:04d}", text, data)


def _participant_rows(count: int) -> Iterator[tuple[Any, ...]]:
    participant_id = 0
    for number in range(1, count + 1):
        declared = BASE_TIME + timedelta(minutes=15 * number)
        for offset, role in ((1, "ops"), (2, "networking")):
            participant_id += 1
            yield (participant_id, number, f"U{(number + offset) % 97:04d}", role, declared)


INCIDENT_COLUMNS = (
    "id",
    "number",
    "title",
    "description",
    "severity",
    "status",
    "declared_at",
    "declared_by",
    "lead",
    "channel_id",
    "resolved_at",
    "resolved_by",
    "summary",
    "status_message_ts",
    "version",
    "created_at",
    "updated_at",
)
ENTRY_COLUMNS = ("id", "incident_id", "kind", "occurred_at", "recorded_at", "actor", "text", "data")
PARTICIPANT_COLUMNS = ("id", "incident_id", "user_id", "role", "joined_at")


def generate(database_url: str, incidents: int, entries_per_incident: int) -> Generated:
    """Create the schema (migrations) and bulk-load the history; returns counts and the load time."""
    store = open_store(database_url)
    started = time.perf_counter()
    try:
        if store.engine.dialect.name == "sqlite":
            _load_sqlite(store.engine, incidents, entries_per_incident)
        else:
            _load_postgres(store.engine, incidents, entries_per_incident)
    finally:
        store.dispose()
    target = incidents - _open_count(incidents) // 2  # an open incident, same shape in every dataset size
    return Generated(
        incidents,
        incidents * entries_per_incident,
        incidents * 2,
        time.perf_counter() - started,
        target,
        channel_of(target),
    )


def _sqlite_time(moment: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME storage format, UTC without offset (see bot.store.tables.UTCDateTime)
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _load_sqlite(engine: Any, incidents: int, per_incident: int) -> None:
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        connection.execute("BEGIN IMMEDIATE")
        placeholders = ", ".join("?" for _ in INCIDENT_COLUMNS)
        connection.executemany(
            f"INSERT INTO incidents ({', '.join(INCIDENT_COLUMNS)}) VALUES ({placeholders})",
            (
                [_sqlite_time(v) if isinstance(v, datetime) else v for v in (row[c] for c in INCIDENT_COLUMNS)]
                for row in _incident_rows(incidents, _open_count(incidents))
            ),
        )
        connection.executemany(
            f"INSERT INTO timeline_entries ({', '.join(ENTRY_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (i, n, k, _sqlite_time(o), _sqlite_time(r), a, t, d)
                for i, n, k, o, r, a, t, d in _entry_rows(incidents, per_incident)
            ),
        )
        connection.executemany(
            f"INSERT INTO participants ({', '.join(PARTICIPANT_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            ((i, n, u, role, _sqlite_time(j)) for i, n, u, role, j in _participant_rows(incidents)),
        )
        connection.execute("COMMIT")
    finally:
        raw.close()


def _load_postgres(engine: Any, incidents: int, per_incident: int) -> None:
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY incidents ({', '.join(INCIDENT_COLUMNS)}) FROM STDIN") as copy:
                for row in _incident_rows(incidents, _open_count(incidents)):
                    copy.write_row([row[c] for c in INCIDENT_COLUMNS])
            with cursor.copy(f"COPY timeline_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
                for row in _entry_rows(incidents, per_incident):
                    copy.write_row(row)
            with cursor.copy(f"COPY participants ({', '.join(PARTICIPANT_COLUMNS)}) FROM STDIN") as copy:
                for row in _participant_rows(incidents):
                    copy.write_row(row)
            for table in ("incidents", "timeline_entries", "participants"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a bulk load
        connection.autocommit = False
    finally:
        raw.close()


OPEN_INCIDENTS = 50
"""Open incidents in every dataset, so views show the same amount whatever the history's size."""


def _open_count(incidents: int) -> int:
    return min(OPEN_INCIDENTS, incidents)
