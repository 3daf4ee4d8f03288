"""Reminders: periodic checks that remind owners and incident channels of overdue follow-ups and of postmortems
left as drafts (``DailyReminder`` is their shared machinery), and the weekly follow-up digest.

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
from bot.usecases.reviews import ReviewUseCases
from bot.usecases.shared import EffectPlan, Outcome

log = structlog.get_logger("incidentbot.reminders")

CHECK_SECONDS = 300.0


class DailyReminder:
    """The machinery of a reminder recorded at most once per UTC day (``remind`` decides, records and queues its
    effects, returning what it recorded): checked every ``interval`` seconds, the outbox woken when it queued."""

    failure_event = "reminder_check_failed"

    def __init__(
        self,
        remind: Callable[[datetime | None], list[Outcome]],
        wake_outbox: Callable[[], None] = lambda: None,
        interval: float = CHECK_SECONDS,
    ) -> None:
        self.remind = remind
        self.wake_outbox = wake_outbox
        self.interval = interval
        self._stopping = asyncio.Event()

    def check_once(self, now: datetime | None = None) -> list[str]:
        """Remind what is due on ``now``'s UTC day (default: the clock) and not yet reminded that day; returns
        the ids of the incidents reminded."""
        outcomes = self.remind(now)
        for outcome in outcomes:
            self.logged(outcome)
        if outcomes:
            self.wake_outbox()
        return [o.incident.incident_id for o in outcomes]

    def logged(self, outcome: Outcome) -> None:
        """Log one reminder (each kind says what it reminded of)."""

    async def run_forever(self) -> None:
        await repeat(lambda: asyncio.to_thread(self.check_once), self.interval, self._stopping, log, self.failure_event)

    def stop(self) -> None:
        self._stopping.set()


class FollowupReminder(DailyReminder):
    """Reminds owners and channels of overdue follow-ups through the outbox."""

    failure_event = "followup_reminder_check_failed"

    def __init__(
        self,
        followups: FollowupUseCases,
        plan: EffectPlan,
        wake_outbox: Callable[[], None] = lambda: None,
        interval: float = CHECK_SECONDS,
    ) -> None:
        """``plan``: the effects a reminder owes, queued in its transaction; ``interval``: seconds between checks."""
        super().__init__(lambda now: followups.remind_overdue(plan=plan, now=now), wake_outbox, interval)
        self.followups = followups
        self.plan = plan

    def logged(self, outcome: Outcome) -> None:
        numbers = [n for e in outcome.entries for n in e.data.get("numbers") or []]
        log.info("followups_reminded", incident=outcome.incident.incident_id, followups=numbers)


class PostmortemReminder(DailyReminder):
    """Chases the postmortems of resolved sev1/sev2 incidents still drafts ``after_days`` days after their resolve
    (INCIDENT_POSTMORTEM_REMINDER_DAYS): the owner (else the lead) by DM and the channel, once a UTC day."""

    failure_event = "postmortem_reminder_check_failed"

    def __init__(
        self,
        reviews: ReviewUseCases,
        after_days: int | None,
        plan: EffectPlan,
        wake_outbox: Callable[[], None] = lambda: None,
        interval: float = CHECK_SECONDS,
    ) -> None:
        """``after_days``: None switches it off; ``plan``: the effects a reminder owes (Slack's, from ``bot.app``)."""
        super().__init__(lambda now: reviews.remind_drafts(after_days, plan=plan, now=now), wake_outbox, interval)

    def logged(self, outcome: Outcome) -> None:
        reminded = next((e.data.get("reminded") for e in outcome.entries), None)
        log.info("postmortem_draft_reminded", incident=outcome.incident.incident_id, reminded=reminded)


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
