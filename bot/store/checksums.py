"""What a database copy is checked by: row counts per table and a checksum of every incident's timeline.

Pure (standard library only): the store reads the rows (``bot.store.copy``), this module turns them into
comparable values and names the first difference. Datetimes are compared as UTC ISO 8601 text, so a
SQLite file (naive UTC text) and PostgreSQL (``timestamptz``) holding the same instant compare equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

TimelineRow = tuple[datetime, datetime, str, str, str]
"""One timeline entry as checksummed: (occurred_at, recorded_at, actor, kind, text)."""


def utc_iso(moment: datetime) -> str:
    """``moment`` as UTC ISO 8601 with microseconds and ``Z``: ``2026-11-22T13:42:00.000000Z``.

    A naive datetime is taken as UTC (how SQLite stores the bot's timestamps)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timeline_line(row: TimelineRow) -> str:
    """The canonical text of one entry: a compact JSON array of the five fields, times as ``utc_iso``.

    ``(13:42Z, 13:43Z, "alice", "note", "WAF?")`` ->
    ``["2026-11-22T13:42:00.000000Z","2026-11-22T13:43:00.000000Z","alice","note","WAF?"]``."""
    occurred_at, recorded_at, actor, kind, text = row
    return json.dumps(
        [utc_iso(occurred_at), utc_iso(recorded_at), actor, kind, text], ensure_ascii=False, separators=(",", ":")
    )


def timeline_checksum(rows: Iterable[TimelineRow]) -> str:
    """SHA-256 (64 hex digits) of the entries' ``timeline_line`` texts, each followed by a newline, in
    the order given (the store gives them by entry id). No entries: the SHA-256 of the empty text."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(timeline_line(row).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """What one database holds, as compared: ``counts`` rows per table (in copy order), ``timelines``
    the checksum of each incident's timeline by incident number."""

    counts: Mapping[str, int]
    timelines: Mapping[int, str] = field(default_factory=dict)


def first_difference(
    left: Fingerprint, right: Fingerprint, left_name: str = "the source", right_name: str = "the target"
) -> str | None:
    """The first way ``right`` differs from ``left``, as a sentence; None when they are equal.

    Tables are compared first, in ``left``'s order (then any table only ``right`` has), by row count;
    then incidents by number, by timeline checksum (the first 12 hex digits are shown).
    E.g. ``timeline_entries: 1,204 rows in the source, 1,203 rows in the target`` or
    ``INC-7's timeline differs: checksum 3f2a9c0d1b2e in the source, 9b1c77aa0e41 in the target``.
    """
    for table in [*left.counts, *(t for t in right.counts if t not in left.counts)]:
        here, there = left.counts.get(table), right.counts.get(table)
        if here != there:
            return f"{table}: {_rows(here)} in {left_name}, {_rows(there)} in {right_name}"
    for number in sorted({*left.timelines, *right.timelines}):
        here_sum, there_sum = left.timelines.get(number), right.timelines.get(number)
        if here_sum == there_sum:
            continue
        if there_sum is None:
            return f"INC-{number} is in {left_name} but not in {right_name}"
        if here_sum is None:
            return f"INC-{number} is in {right_name} but not in {left_name}"
        return (
            f"INC-{number}'s timeline differs: checksum {here_sum[:12]} in {left_name}, "
            f"{there_sum[:12]} in {right_name}"
        )
    return None


def _rows(count: int | None) -> str:
    if count is None:
        return "no such table"
    return f"{count:,} row" if count == 1 else f"{count:,} rows"
