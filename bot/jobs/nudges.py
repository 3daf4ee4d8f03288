"""Nudges: a periodic check that asks quiet incidents for a status update, once per silence, and the lead of
an incident whose promised status update is overdue, once per promise (also with silence nudges off).

``check_once`` is the whole job and takes no timer, so tests call it with a controlled clock;
``run_forever`` just repeats it. What a nudge posts is the ``plan`` given by the composition root
(``bot.slack.delivery.nudge_effects`` in ``bot.app``): the job knows no chat surface.

Every replica may run it: each nudge re-checks the silence inside its own transaction, with the
incident's row locked, so replicas checking at the same moment still post one reminder per silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog

from bot.domain.model import Severity
from bot.jobs.periodic import repeat
from bot.metrics import NUDGES_SENT
from bot.usecases.nudges import NudgeUseCases
from bot.usecases.shared import EffectPlan

log = structlog.get_logger("incidentbot.nudges")

CHECK_SECONDS = 60.0


class Nudger:
    """Posts reminders in quiet incident channels through the outbox."""

    def __init__(
        self,
        nudges: NudgeUseCases,
        thresholds: Mapping[Severity, timedelta],
        plan: EffectPlan,
        wake_outbox: Callable[[], None] = lambda: None,
        interval: float = CHECK_SECONDS,
    ) -> None:
        """``thresholds``: silence (per severity) after which an open incident is nudged; ``plan``: the
        effects a nudge owes (the reminder line), queued in the nudge's transaction; ``interval``: seconds
        between checks."""
        self.nudges = nudges
        self.plan = plan
        self.thresholds = thresholds
        self.wake_outbox = wake_outbox
        self.interval = interval
        self._stopping = asyncio.Event()

    def check_once(self, now: datetime | None = None) -> list[str]:
        """Nudge every incident due at ``now`` (default: the use cases' clock); returns their ids."""
        outcomes = self.nudges.nudge_silent(self.thresholds, plan=self.plan, now=now)
        for outcome in outcomes:
            log.info(
                "incident_nudged",
                incident=outcome.incident.incident_id,
                severity=outcome.incident.severity.value,
            )
        NUDGES_SENT.inc(len(outcomes))
        if outcomes:
            self.wake_outbox()
        return [o.incident.incident_id for o in outcomes]

    async def run_forever(self) -> None:
        await repeat(
            lambda: asyncio.to_thread(self.check_once), self.interval, self._stopping, log, "nudge_check_failed"
        )

    def stop(self) -> None:
        self._stopping.set()
