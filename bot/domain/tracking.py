"""Sync-back: what the state of a follow-up's tracker issue means for the follow-up.

The tracker and the bot can both move a follow-up, so sync-back does not mirror the tracker blindly:
it records what *changed in the tracker*. An issue closed in the tracker while the follow-up is open
makes it done, or dropped when the tracker says it was closed without being done (GitHub "not
planned" or "duplicate", a Jira resolution such as "Won't Do"), unless a person reopened the
follow-up here after that close; an issue open in the tracker while the follow-up is done or dropped
makes it open again only when the tracker was what made it so (someone reopened the issue), not when
a person marked it done or dropped it here and left the issue open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from bot.domain.model import EntryKind, Followup, FollowupState, TimelineEntry


class SyncAction(StrEnum):
    DONE = "done"
    DROP = "drop"
    REOPEN = "reopen"


SYNC_KINDS = (EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_DROPPED, EntryKind.FOLLOWUP_REOPENED)
"""The entries sync-back reads to tell a change made in the tracker from one made here."""


def sync_action(
    followup: Followup,
    tracker_closed: bool,
    closed_at: datetime | None,
    entries: Iterable[TimelineEntry],
    tracker_actor: str,
    tracker_dropped: bool = False,
) -> SyncAction | None:
    """What to record for ``followup`` given its issue's state: DONE, DROP, REOPEN or None (nothing).

    ``tracker_closed``: the issue is closed; ``closed_at``: when (UTC), None when the tracker does not
    say; ``tracker_dropped``: it was closed without being done (not planned, a duplicate, won't do);
    ``entries``: the incident's timeline (any order; only this follow-up's :data:`SYNC_KINDS` entries
    are read); ``tracker_actor``: the actor sync-back records as (``github``, ``jira``).
    """
    mine = [e for e in entries if e.data.get("number") == followup.number and e.kind in SYNC_KINDS]
    mine.sort(key=lambda e: (e.recorded_at, e.occurred_at))
    if followup.state is FollowupState.OPEN:
        if not tracker_closed:
            return None
        reopens = [e for e in mine if e.kind is EntryKind.FOLLOWUP_REOPENED]
        last = reopens[-1] if reopens else None
        if last is not None and last.actor != tracker_actor and (closed_at is None or last.recorded_at >= closed_at):
            return None  # a person reopened it here after the tracker closed it
        return SyncAction.DROP if tracker_dropped else SyncAction.DONE
    if tracker_closed:
        return None
    kind = EntryKind.FOLLOWUP_DONE if followup.state is FollowupState.DONE else EntryKind.FOLLOWUP_DROPPED
    made = [e for e in mine if e.kind is kind]
    if made and made[-1].actor == tracker_actor:
        return SyncAction.REOPEN
    return None
