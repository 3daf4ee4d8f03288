"""Postmortem review use cases across incidents: chasing the drafts of resolved sev1/sev2 incidents.

Changing one postmortem's status, owner or review (``postmortem status|owner|review``) is a transition of its
incident (``IncidentUseCases.run``); its state is read with ``IncidentUseCases.review``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.commands import RemindPostmortem
from bot.domain.model import Incident, Status
from bot.domain.review import REMINDED_SEVERITIES, REVIEW_KINDS, needs_postmortem_reminder, review_state
from bot.store.repo import UnitOfWork
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import CORRECTION_KINDS, Actor, EffectPlan, Outcome, read_incident

CHECKED_INCIDENTS = 1000
"""The latest resolved incidents a reminder round looks at (newest first)."""


class ReviewUseCases:
    """Reminding the owners of postmortems left as drafts."""

    def __init__(self, incidents: IncidentUseCases) -> None:
        self.incidents = incidents
        self.transactions = incidents.transactions
        self.clock = incidents.clock

    def remind_drafts(
        self, after_days: int | None, plan: EffectPlan | None = None, now: datetime | None = None
    ) -> list[Outcome]:
        """Remind each resolved sev1/sev2 incident (of the latest :data:`CHECKED_INCIDENTS` resolved) whose
        postmortem is still a draft ``after_days`` UTC days after its resolve, at most once per UTC day of ``now``
        (default: the clock): a ``postmortem_reminder`` entry with ``plan``'s effects (a DM to the owner, else the
        lead; a channel line) queued in its transaction. Decided again with the incident locked, so replicas
        checking together remind once. ``after_days`` None (reminders off): nothing."""
        if after_days is None:
            return []
        today = (now or self.clock()).astimezone(UTC).date()
        with self.transactions.read() as uow:
            summaries = uow.listing.list_summaries([Status.RESOLVED], CHECKED_INCIDENTS)
            severe = [s for s in summaries if s.severity in REMINDED_SEVERITIES and s.resolved_at is not None]
            corrected = uow.listing.numbers_with(CORRECTION_KINDS, [s.number for s in severe])
        numbers = [  # a corrected one is decided on its corrected resolve time, below
            s.number
            for s in severe
            if s.number in corrected
            or (s.resolved_at is not None and (today - s.resolved_at.astimezone(UTC).date()).days >= after_days)
        ]

        def still_due(uow: UnitOfWork, incident: Incident) -> bool:
            state = review_state(uow.timeline.list_entries(incident.number, kinds=REVIEW_KINDS))
            return needs_postmortem_reminder(read_incident(uow, incident), state, today, after_days)

        outcomes: list[Outcome] = []
        for number in sorted(numbers):
            outcome = self.incidents.transition(
                RemindPostmortem(today), Actor("incidentbot"), number=number, plan=plan, still_wanted=still_due
            )
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes
