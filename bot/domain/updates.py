"""Status updates: what the people outside the channel were last told, and when they were promised the next.

An update is a timeline entry (``EntryKind.UPDATE``): its text is what we know and what we are doing;
``data["next_update"]`` (ISO 8601 UTC, ``2026-11-22T14:20:00Z``) is when the next one is due, counted
from when the update was recorded (``update ... --next 30m``). Only the latest update's promise counts:
a new update without ``--next`` withdraws it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.model import EntryKind, TimelineEntry
from bot.domain.timeparse import format_duration, format_iso, format_utc

NEXT_UPDATE_KEY = "next_update"


@dataclass(frozen=True)
class StatusUpdate:
    """The latest status update: its text, who posted it and when (recorded, UTC), the next one due (UTC)."""

    text: str
    posted_by: str
    posted_at: datetime
    next_due: datetime | None

    def overdue(self, now: datetime) -> bool:
        """True once ``now`` (UTC) has reached the promised next update."""
        return self.next_due is not None and now >= self.next_due

    def next_due_phrase(self, now: datetime, *, relative: bool = True) -> str | None:
        """``due 2026-11-22 14:20 UTC (in 12 min)`` (without ``relative``: no ``(in ...)``, for a message that
        stays up) or ``overdue since 2026-11-22 14:20 UTC``; None without a promise."""
        if self.next_due is None:
            return None
        if self.overdue(now):
            return f"overdue since {format_utc(self.next_due)}"
        left = f" (in {format_duration(self.next_due - now)})" if relative else ""
        return f"due {format_utc(self.next_due)}{left}"


def next_update_data(recorded_at: datetime, next_minutes: int | None) -> dict[str, str]:
    """The entry data promising the next update ``next_minutes`` after ``recorded_at`` (none: no promise)."""
    if next_minutes is None:
        return {}
    return {NEXT_UPDATE_KEY: format_iso(recorded_at + timedelta(minutes=next_minutes))}


def status_update(entry: TimelineEntry) -> StatusUpdate:
    """The status update an ``EntryKind.UPDATE`` entry records."""
    due = entry.data.get(NEXT_UPDATE_KEY)
    next_due = datetime.fromisoformat(str(due)) if due else None
    return StatusUpdate(entry.text, entry.actor, entry.recorded_at, next_due)


def latest_update(entries: Iterable[TimelineEntry]) -> StatusUpdate | None:
    """The most recently recorded update of a timeline, or None before the first."""
    updates = [e for e in entries if e.kind is EntryKind.UPDATE]
    return status_update(max(updates, key=lambda e: e.recorded_at)) if updates else None
