"""A realistic history appended to an incidentbot database with bulk inserts: incidents with timelines,
participants, hypotheses, follow-ups, alert groups and alert events, PagerDuty pages, outbox rows
(pending and dead) and processed Slack events.

Rows are generated from their index alone (deterministic, no randomness), after whatever the database
already holds (ids and incident numbers continue from the highest ones). Text includes non-ASCII,
quotes and newlines; times have microseconds and entries are backdated (``occurred_at`` before
``recorded_at``), so a copy that loses precision, zone or characters shows. ``contents`` reads back every
table of any incidentbot database in a form that compares equal across SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (the tables' metadata)

BASE = datetime(2024, 3, 1, 8, 0, 0, 123_456, tzinfo=UTC)
KINDS = ("note", "hypothesis", "mitigation", "status_change", "note", "alert", "note")
Rows = Callable[[int], Iterator[dict[str, Any]]]


@dataclass(frozen=True)
class Start:
    """Where the generated rows begin: the next id of each table and the next incident number."""

    ids: dict[str, int]
    number: int


def _table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


def next_ids(connection: sa.Connection) -> Start:
    ids = {}
    tables = ("incidents", "timeline_entries", "participants", "hypotheses", "followups", "outbox", "alert_groups")
    for name in (*tables, "alert_events"):
        ids[name] = int(connection.execute(sa.select(sa.func.max(_table(name).c.id))).scalar() or 0) + 1
    number = int(connection.execute(sa.select(sa.func.max(_table("incidents").c.number))).scalar() or 0) + 1
    return Start(ids, number)


def history(start: Start, incidents: int, entries_per_incident: int) -> dict[str, Iterator[dict[str, Any]]]:
    """Generators of every table's new rows, parents first (insert them in this order)."""
    return {
        "incidents": _incidents(start, incidents),
        "timeline_entries": _entries(start, incidents, entries_per_incident),
        "participants": _per_incident(start, incidents, "participants", _participant),
        "hypotheses": _per_incident(start, incidents, "hypotheses", _hypothesis),
        "followups": _per_incident(start, incidents, "followups", _followup),
        "alert_groups": _every(start, incidents, 5, "alert_groups", _alert_group),
        "alert_events": _alert_events(start, incidents),
        "outbox": _every(start, incidents, 4, "outbox", _outbox),
        "pages": _every(start, incidents, 10, None, _page),
        "processed_events": _every(start, incidents, 3, None, _event),
    }


def _declared(number: int) -> datetime:
    return BASE + timedelta(hours=3 * number, microseconds=number)


def _incidents(start: Start, count: int) -> Iterator[dict[str, Any]]:
    for index in range(count):
        number = start.number + index
        declared = _declared(number)
        resolved = index % 7 != 0
        yield {
            "id": start.ids["incidents"] + index,
            "number": number,
            "title": f'Checkout «{number}» returns "502" for 5% of EU users',
            "description": "Seen first on the edge\nthen on the origin" if index % 2 else "",
            "severity": ("sev1", "sev2", "sev3", "sev4")[index % 4],
            "status": "resolved" if resolved else ("investigating", "mitigated", "monitoring")[index % 3],
            "declared_at": declared,
            "declared_by": f"U{index % 41:06d}",
            "lead": f"U{index % 13:06d}" if index % 5 else None,
            "channel_id": f"CGEN{number:08d}",
            "resolved_at": declared + timedelta(minutes=47, seconds=3) if resolved else None,
            "resolved_by": f"U{index % 13:06d}" if resolved else None,
            "summary": "Rolled back the WAF rule; p99 back to 180 ms" if resolved else "",
            "status_message_ts": f"{1700000000 + number}.000{index % 1000:03d}",
            "postmortem_url": f"https://acme.slack.com/files/U0BOT/F{number:08d}/INC-{number}-postmortem.md"
            if resolved
            else None,
            "service": ("cdn-edge", "checkout", "search", None)[index % 4],
            "impact_percent": (12.5, 50.0, None, 0.25)[index % 4],
            "private": index % 17 == 3,
            "announcement_channel": "CANNOUNCE01" if index % 3 else None,
            "announcement_ts": f"{1700000500 + number}.000{index % 1000:03d}" if index % 3 else None,
            "channel_archived_at": declared + timedelta(days=7, minutes=47) if resolved and index % 2 else None,
            "channel_problem": "Slack refuses the channel: not_in_channel (the bot was removed)"
            if index % 29 == 5
            else None,
            "statuspage_incident_id": f"sp{number:010d}" if index % 11 == 2 else None,
            # As any writer leaves them: the triggers of migration 0014 set them as the entries are inserted.
            "latest_change_kind": None,
            "latest_change_at": None,
            "corrected": False,
            "version": 3 + index % 9,
            "created_at": declared,
            "updated_at": declared + timedelta(minutes=48),
        }


def _entries(start: Start, count: int, per_incident: int) -> Iterator[dict[str, Any]]:
    entry_id = start.ids["timeline_entries"]
    for index in range(count):
        declared = _declared(start.number + index)
        for position in range(per_incident):
            recorded = declared + timedelta(minutes=position, microseconds=position * 7)
            kind = "declared" if position == 0 else KINDS[(index + position) % len(KINDS)]
            yield {
                "id": entry_id,
                "incident_id": start.ids["incidents"] + index,
                "kind": kind,
                "occurred_at": recorded - timedelta(minutes=position % 3),  # backdated with --at
                "recorded_at": recorded,
                "actor": f"U{(index + position) % 41:06d}",
                "text": f'Observation {position}: p99 at {200 + position} ms — «edge» "eu-west"',
                "data": {"names": {f"U{position:06d}": "zoë"}, "n": position} if position % 2 else {},
            }
            entry_id += 1


def _per_incident(
    start: Start, count: int, table: str, row: Callable[[int, int, int, datetime], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    for index in range(count):
        yield row(start.ids[table] + index, start.ids["incidents"] + index, index, _declared(start.number + index))


def _participant(row_id: int, incident_id: int, index: int, declared: datetime) -> dict[str, Any]:
    return {
        "id": row_id,
        "incident_id": incident_id,
        "user_id": f"U{index % 29:06d}",
        "role": ("networking", "security", None)[index % 3],
        "joined_at": declared + timedelta(minutes=8),
    }


def _hypothesis(row_id: int, incident_id: int, index: int, declared: datetime) -> dict[str, Any]:
    decided = index % 3 != 2
    return {
        "id": row_id,
        "incident_id": incident_id,
        "number": 1,
        "text": "DDoS on the edge?",
        "status": ("rejected", "confirmed", "open")[index % 3],
        "outcome": "traffic is normal" if decided else "",
        "proposed_by": f"U{index % 17:06d}",
        "proposed_at": declared + timedelta(minutes=10),
        "decided_at": declared + timedelta(minutes=20) if decided else None,
    }


def _followup(row_id: int, incident_id: int, index: int, declared: datetime) -> dict[str, Any]:
    done = index % 3 == 0
    return {
        "id": row_id,
        "incident_id": incident_id,
        "number": 1,
        "text": "Canary every WAF rule change",
        "owner": f"U{index % 11:06d}" if index % 4 else None,
        "created_at": declared + timedelta(hours=1),
        "state": "done" if done else ("open", "open", "dropped")[index % 3],
        "due": date(2025, 1, 1) + timedelta(days=index % 300) if index % 2 else None,
        "done_at": declared + timedelta(days=3) if done else None,
        "tracker_key": f"OPS-{index}" if index % 5 == 0 else None,
        "tracker_url": f"https://tracker.example/OPS-{index}" if index % 5 == 0 else None,
    }


def _every(
    start: Start, count: int, step: int, table: str | None, row: Callable[[int, int, int, datetime], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    for serial, index in enumerate(range(0, count, step)):
        number = start.number + index
        row_id = start.ids[table] + serial if table else 0
        yield row(row_id, number, index, _declared(number))


def _alert_group(row_id: int, number: int, index: int, declared: datetime) -> dict[str, Any]:
    return {
        "id": row_id,
        "group_id": f"g{number:010x}",
        "generation": 1,
        "incident_number": number,
        "group_key": '{}:{alertname="HighErrorRate", service="cdn-edge"}',
        "source": "alertmanager" if index % 2 else "grafana",
        "created_at": declared,
    }


def _alert_events(start: Start, count: int) -> Iterator[dict[str, Any]]:
    event_id = start.ids["alert_events"]
    for index in range(0, count, 5):
        number = start.number + index
        declared = _declared(number)
        for state, minutes in (("firing", 0), ("resolved", 40)):
            yield {
                "id": event_id,
                "group_id": f"g{number:010x}",
                "fingerprint": f"fp{index:08d}",
                "starts_at": declared - timedelta(minutes=2),
                "state": state,
                "occurred_at": declared + timedelta(minutes=minutes),
                "incident_number": number,
                "recorded_at": declared + timedelta(minutes=minutes, seconds=1),
            }
            event_id += 1


def _outbox(row_id: int, number: int, index: int, declared: datetime) -> dict[str, Any]:
    dead = index % 8 == 4
    return {
        "id": row_id,
        "kind": "slack.post_message" if index % 3 else "pagerduty.event",
        "lane": "slack" if index % 3 else "pagerduty",
        "incident_number": number,
        "payload": {"channel": f"CGEN{number:08d}", "text": f"INC-{number} → mitigated ✓", "blocks": [{"n": index}]},
        "status": "dead" if dead else "pending",
        "attempts": 3 if dead else index % 4,
        "crashes": 1 if index % 8 == 1 else 0,
        "next_attempt_at": declared + timedelta(seconds=30),
        "locked_until": declared + timedelta(seconds=60) if index % 16 == 0 else None,
        "locked_by": "replica-a:4242" if index % 16 == 0 else None,
        "last_error": "channel_not_found" if dead else "",
        "created_at": declared,
        "updated_at": declared + timedelta(seconds=31),
    }


def _page(_row_id: int, number: int, index: int, declared: datetime) -> dict[str, Any]:
    return {
        "incident_number": number,
        "dedup_key": f"incidentbot-6a1f-{number}",
        "open": index % 20 != 0,
        "triggers": 1 + index % 3,
        "updated_at": declared,
    }


def _event(_row_id: int, number: int, index: int, declared: datetime) -> dict[str, Any]:
    return {"event_id": f"Ev{number:012d}", "received_at": declared + timedelta(seconds=index % 60)}


def insert_history(engine: sa.Engine, incidents: int, entries_per_incident: int, batch: int = 5_000) -> dict[str, int]:
    """Append the history to the (migrated) database of ``engine`` in one transaction with SQLAlchemy
    Core ``executemany`` batches; returns the rows added per table."""
    added: dict[str, int] = {}
    with engine.begin() as connection:
        start = next_ids(connection)
        for name, rows in history(start, incidents, entries_per_incident).items():
            table, chunk, added[name] = _table(name), [], 0
            for row in rows:
                chunk.append(row)
                if len(chunk) == batch:
                    connection.execute(table.insert(), chunk)
                    added[name] += len(chunk)
                    chunk = []
            if chunk:
                connection.execute(table.insert(), chunk)
                added[name] += len(chunk)
    return added


def copy_history_postgres(engine: sa.Engine, incidents: int, entries_per_incident: int) -> dict[str, int]:
    """The same rows as ``insert_history``, written into a (migrated) PostgreSQL database with ``COPY``, the
    fastest bulk path there is (the benchmark's baseline); sequences are moved past the copied ids."""
    added: dict[str, int] = {}
    with engine.connect() as connection:
        start = next_ids(connection)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor() as cursor:
            for name, rows in history(start, incidents, entries_per_incident).items():
                columns = list(_table(name).columns.keys())
                added[name] = 0
                with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(
                            [json.dumps(v) if isinstance(v, dict) else v for v in (row.get(c) for c in columns)]
                        )
                        added[name] += 1
                if "id" in columns and name != "installation":
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                    )
        driver.commit()
    finally:
        raw.close()
    return added


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def contents(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every incidentbot table, ordered by primary key, every column, times as UTC ISO text
    and JSON as sorted text (PostgreSQL's jsonb reorders keys): equal for two databases holding the same."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    found: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as connection:
            for table in SQLModel.metadata.sorted_tables:
                query = sa.select(table).order_by(*table.primary_key.columns)
                found[table.name] = [tuple(_plain(v) for v in row) for row in connection.execute(query)]
    finally:
        engine.dispose()
    return found
