"""Which open incidents need a nudge: a status update promised for a time now past (``update ...
--next 30m``), or a timeline gone quiet for longer than their severity allows; and which incidents'
overdue follow-ups need a reminder today.

A silence is nudged once: the nudge is itself a timeline entry, and a new one is due only after
somebody posts an update and goes quiet again. An overdue update is nudged once per promise (the
nudge records the time it asks about); while a promised update is not yet due, the promise sets the
cadence and the silence rule waits. Follow-up reminders are entries too (with their UTC
day), so an incident is reminded at most once a day; neither counts as an update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.model import EntryKind, Incident, Severity, TimelineEntry
from bot.domain.timeparse import format_day, format_iso
from bot.domain.updates import latest_update

BOT_CHATTER = frozenset(
    {
        EntryKind.NUDGE,
        EntryKind.FOLLOWUP_REMINDER,
        EntryKind.FOLLOWUP_EXPORTED,
        EntryKind.FOLLOWUP_TRACKER_GONE,
        EntryKind.POSTMORTEM_PUBLISHED,
        EntryKind.POSTMORTEM_REMINDER,
    }
)
"""Entries the bot records on its own (a nudge, a reminder, a filed issue's key, a tracker issue found
gone, a published postmortem, a draft postmortem's reminder): not a status update."""
DEFAULT_NUDGE_AFTER: Mapping[Severity, timedelta] = {
    Severity.SEV1: timedelta(minutes=15),
    Severity.SEV2: timedelta(minutes=30),
}


@dataclass(frozen=True)
class DueNudge:
    """``silent_minutes``: since the last update of the timeline; ``update_due``: the promised status
    update now overdue (UTC), None for a nudge about a silence."""

    number: int
    silent_minutes: int
    update_due: datetime | None = None


def due_nudges(
    incidents: Sequence[tuple[Incident, Sequence[TimelineEntry]]],
    thresholds: Mapping[Severity, timedelta],
    now: datetime,
) -> list[DueNudge]:
    """Open incidents whose promised status update is overdue and not yet nudged for (whatever their
    severity, and even with no silence thresholds), then those quiet for longer than their severity's
    threshold, not yet nudged for this silence and with no promised update still to come.

    A promise counts while it is the latest update's and no resolve was recorded after it (a resolve
    answers it: after a reopen the old promise is not nudged); once nudged, the silence rule takes over.
    ``entries`` needs the latest update, nudge and resolve and the latest entry that is not
    ``BOT_CHATTER`` (``TimelineRepository.list_latest_activity``)."""
    due: list[DueNudge] = []
    for incident, entries in incidents:
        if not incident.status.is_open:
            continue
        updates = [e.recorded_at for e in entries if e.kind not in BOT_CHATTER]
        last_update = max(updates, default=incident.declared_at)
        silent_minutes = int((now - last_update).total_seconds() // 60)
        promise = latest_update(entries)
        if promise is not None and any(
            e.kind is EntryKind.RESOLVED and e.recorded_at > promise.posted_at for e in entries
        ):
            promise = None  # a resolve after it answered it
        if promise is not None and promise.next_due is not None:
            asked = format_iso(promise.next_due)
            nudged = any(e.kind is EntryKind.NUDGE and e.data.get("update_due") == asked for e in entries)
            if not promise.overdue(now):
                continue  # a promised update still to come sets the cadence, not the severity's threshold
            if not nudged:
                due.append(DueNudge(incident.number, silent_minutes, promise.next_due))
                continue
        threshold = thresholds.get(incident.severity)
        if threshold is None:
            continue
        nudged_since = any(e.kind is EntryKind.NUDGE and e.recorded_at >= last_update for e in entries)
        if not nudged_since and now - last_update >= threshold:
            due.append(DueNudge(incident.number, silent_minutes))
    return due


def needs_followup_reminder(incident: Incident, last_reminder: TimelineEntry | None, today: date) -> bool:
    """True when ``incident`` has a follow-up overdue on ``today`` (UTC) and was not reminded on that day
    (``last_reminder``: its latest ``followup_reminder`` entry, whose ``day`` says when)."""
    if not any(f.is_overdue(today) for f in incident.followups):
        return False
    return last_reminder is None or str(last_reminder.data.get("day") or "") < format_day(today)
