"""Follow-up reminders: a periodic check that reminds owners and incident channels of overdue follow-ups.

``check_once`` is the whole job and takes no timer, so tests call it with a controlled clock;
``run_forever`` repeats it every ``interval`` seconds. What a reminder posts is the ``plan`` given by
the composition root (``bot.slack.delivery.followup_reminder_effects`` in ``bot.app``: a line in the
channel, a direct message to each owner); the job knows no chat surface.

An incident is reminded at most once per UTC day: the reminder is a timeline entry carrying its day,
re-checked with the incident locked, so replicas checking at the same moment remind once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from bot.jobs.periodic import repeat
from bot.usecases.followups import DigestPlan, FollowupUseCases
from bot.usecases.shared import EffectPlan

log = structlog.get_logger("incidentbot.reminders")

CHECK_SECONDS = 300.0


class FollowupReminder:
    """Reminds owners and channels of overdue follow-ups through the outbox."""

    def __init__(
        self,
        followups: FollowupUseCases,
        plan: EffectPlan,
        wake_outbox: Callable[[], None] = lambda: None,
        interval: float = CHECK_SECONDS,
    ) -> None:
        """``plan``: the effects a reminder owes, queued in its transaction; ``interval``: seconds between checks."""
        self.followups = followups
        self.plan = plan
        self.wake_outbox = wake_outbox
        self.interval = interval
        self._stopping = asyncio.Event()

    def check_once(self, now: datetime | None = None) -> list[str]:
        """Remind every incident with follow-ups overdue on ``now``'s UTC day (default: the clock) and not yet
        reminded that day; returns their ids."""
        outcomes = self.followups.remind_overdue(plan=self.plan, now=now)
        for outcome in outcomes:
            numbers = [n for e in outcome.entries for n in e.data.get("numbers") or []]
            log.info("followups_reminded", incident=outcome.incident.incident_id, followups=numbers)
        if outcomes:
            self.wake_outbox()
        return [o.incident.incident_id for o in outcomes]

    async def run_forever(self) -> None:
        await repeat(
            lambda: asyncio.to_thread(self.check_once),
            self.interval,
            self._stopping,
            log,
            "followup_reminder_check_failed",
        )

    def stop(self) -> None:
        self._stopping.set()


class FollowupDigest:
    """Posts the weekly digest of open follow-ups (INCIDENT_FOLLOWUP_DIGEST_CHANNEL) once per ISO week: the
    first check of a week queues it, remembering the week, so replicas post it once."""

    def __init__(
        self,
        followups: FollowupUseCases,
        plan: DigestPlan,
        wake_outbox: Callable[[], None] = lambda: None,
        interval: float = CHECK_SECONDS,
    ) -> None:
        """``plan``: the digest's effects (Slack's, given by ``bot.app``); ``interval``: seconds between checks."""
        self.followups = followups
        self.plan = plan
        self.wake_outbox = wake_outbox
        self.interval = interval
        self._stopping = asyncio.Event()

    def check_once(self, now: datetime | None = None) -> str | None:
        """Queue this ISO week's digest if it was not yet (``now``: default the clock); returns the week queued."""
        week = self.followups.post_digest(self.plan, now)
        if week is not None:
            self.wake_outbox()
        return week

    async def run_forever(self) -> None:
        """Check every ``interval`` seconds, the first time one interval after start (a replica that
        restarts in a loop does not post the moment it starts)."""
        await repeat(
            lambda: asyncio.to_thread(self.check_once),
            self.interval,
            self._stopping,
            log,
            "followup_digest_check_failed",
            wait_first=True,
        )

    def stop(self) -> None:
        self._stopping.set()
