"""Sync-back: a periodic job that reads the tracker issues of exported follow-ups and records what
changed there (an issue closed: ``followup_done``, or ``followup_dropped`` when closed as not planned,
a duplicate, won't do...; reopened: ``followup_reopened``; deleted: ``followup_tracker_gone``, once,
and the follow-up is not read again).

``check_once`` is the whole job (tests call it); ``run_forever`` repeats it every ``interval`` seconds
(TRACKER_SYNC_MINUTES, default 10). The job knows no tracker: ``read_state`` (given by ``bot.app``)
reads one issue, and ``plan`` (the channel line) is Slack's. What a state means is decided by
``bot.domain.tracking.sync_action`` and decided again with the incident locked
(``FollowupUseCases.sync``), so replicas syncing at the same moment record a change once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from bot.domain.model import FollowupListing
from bot.jobs.periodic import repeat
from bot.usecases.followups import FollowupUseCases
from bot.usecases.shared import EffectPlan

log = structlog.get_logger("incidentbot.tracker_sync")

SYNC_SECONDS = 600.0


@dataclass(frozen=True)
class IssueReading:
    """An issue's state as sync-back needs it: ``closed``, and when (UTC; None if the tracker does not say);
    ``dropped``: closed without being done, in words (``closed as not planned in GitHub``), else None."""

    closed: bool
    closed_at: datetime | None = None
    dropped: str | None = None
    gone: str | None = None
    """The tracker's answer when the issue is gone (deleted there), else None: recorded once, then the
    follow-up is no longer read."""


ReadState = Callable[[str, str], Awaitable[IssueReading]]
"""Reads the issue with this key and URL; raises on a tracker failure (the follow-up is tried next round);
a reading with ``gone`` when the tracker says the issue no longer exists."""


class TrackerSync:
    """Records the tracker's closes and reopens of exported follow-ups on their incidents' timelines."""

    def __init__(
        self,
        followups: FollowupUseCases,
        read_state: ReadState,
        tracker_actor: str,
        plan: EffectPlan | None = None,
        wake_outbox: Callable[[], None] = lambda: None,
        interval: float = SYNC_SECONDS,
    ) -> None:
        """``tracker_actor``: who the changes are recorded as (``github``, ``jira``); ``interval``: seconds."""
        self.followups = followups
        self.read_state = read_state
        self.tracker_actor = tracker_actor
        self.plan = plan
        self.wake_outbox = wake_outbox
        self.interval = interval
        self._stopping = asyncio.Event()

    async def check_once(self) -> list[str]:
        """Read every exported follow-up's issue (a dropped one only when the tracker dropped it) and record
        what changed; returns
        ``INC-n#k`` for each follow-up changed."""
        items = await asyncio.to_thread(self.followups.exported, self.tracker_actor)
        changed: list[str] = []
        for item in items:
            followup = item.followup
            assert followup.tracker_key is not None
            try:
                reading = await self.read_state(followup.tracker_key, followup.tracker_url or "")
            except Exception as exc:  # a tracker outage or a deleted issue: try again next round
                log.warning(
                    "tracker_sync_failed",
                    incident=item.incident_id,
                    followup=followup.number,
                    key=followup.tracker_key,
                    error=str(exc)[:300],
                )
                continue
            if reading.gone is not None:
                if await self._record_gone(item, reading.gone):
                    changed.append(f"{item.incident_id}#{followup.number}")
                continue
            outcome = await asyncio.to_thread(
                self.followups.sync,
                item.incident_number,
                followup.number,
                reading.closed,
                reading.closed_at,
                self.tracker_actor,
                self.plan,
                reading.dropped,
            )
            if outcome is not None:
                kinds = [e.kind.value for e in outcome.entries]
                log.info(
                    "followup_synced",
                    incident=item.incident_id,
                    followup=followup.number,
                    key=followup.tracker_key,
                    recorded=kinds,
                )
                changed.append(f"{item.incident_id}#{followup.number}")
        if changed:
            self.wake_outbox()
        return changed

    async def _record_gone(self, item: FollowupListing, reason: str) -> bool:
        """Record once that ``item``'s issue is gone (``FollowupUseCases.record_tracker_gone``: the follow-up
        forgets its key, so it is not read again), logged as ``tracker_issue_gone``; False when another
        replica recorded it first."""
        followup = item.followup
        assert followup.tracker_key is not None
        outcome = await asyncio.to_thread(
            self.followups.record_tracker_gone,
            item.incident_number,
            followup.number,
            followup.tracker_key,
            reason,
            self.plan,
        )
        if outcome is None:
            return False
        log.warning(
            "tracker_issue_gone",
            incident=item.incident_id,
            followup=followup.number,
            key=followup.tracker_key,
            reason=reason[:300],
        )
        return True

    async def run_forever(self) -> None:
        await repeat(self.check_once, self.interval, self._stopping, log, "tracker_sync_check_failed")

    def stop(self) -> None:
        self._stopping.set()
