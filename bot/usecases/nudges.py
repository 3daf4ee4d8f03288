"""Nudge use cases: remind open incidents whose promised status update is overdue, or that have been
silent past their severity's threshold."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.domain.commands import Nudge
from bot.domain.model import OPEN_STATUSES, Incident, Severity
from bot.domain.nudges import due_nudges
from bot.domain.timeparse import format_iso
from bot.store.repo import UnitOfWork
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import Actor, EffectPlan, Outcome


class NudgeUseCases:
    """The silence check; each reminder is an incident transition (``Nudge``)."""

    def __init__(self, incidents: IncidentUseCases) -> None:
        self.incidents = incidents

    def nudge_silent(
        self, thresholds: Mapping[Severity, timedelta], plan: EffectPlan | None = None, now: datetime | None = None
    ) -> list[Outcome]:
        """Post one reminder per silence: open incidents whose timeline has been quiet past their threshold.

        ``now`` (default: the clock) is when silence is measured to; tests pass a later time.
        """
        now = now or self.incidents.clock()
        with self.incidents.transactions.read() as uow:
            candidates = uow.incidents.list_last_activity(OPEN_STATUSES)
        outcomes: list[Outcome] = []

        def still_silent(uow: UnitOfWork, incident: Incident) -> bool:
            """Another replica may have nudged (or someone posted) since the candidates were read."""
            return bool(due_nudges([(incident, uow.timeline.list_latest_activity(incident.number))], thresholds, now))

        for nudge in due_nudges(candidates, thresholds, now):
            outcome = self.incidents.transition(
                Nudge(nudge.silent_minutes, format_iso(nudge.update_due) if nudge.update_due else None),
                Actor("incidentbot"),
                number=nudge.number,
                plan=plan,
                still_wanted=still_silent,
            )
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes
