"""Follow-up use cases: the action items of one incident or of all, as lists read in one transaction.

Changing a follow-up (``followup done 2``...) is a transition of its incident
(``IncidentUseCases.run``); this module only reads across incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.commands import RemindFollowups
from bot.domain.model import EntryKind, FollowupListing, Incident, format_incident_id
from bot.domain.nudges import needs_followup_reminder
from bot.domain.timeline import collect_names
from bot.store.repo import UnitOfWork
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import Actor, EffectPlan, Outcome, find_incident

NAMING_KINDS = (EntryKind.FOLLOWUP, EntryKind.FOLLOWUP_OWNER)
"""The entries that name a follow-up's owner (with the display name Slack sent)."""


@dataclass(frozen=True)
class FollowupList:
    """Follow-ups with their incidents, and the display names Slack told us for their owners (id -> name)."""

    items: list[FollowupListing]
    names: dict[str, str]
    incident_id: str | None = None
    """``INC-n`` when the list is one incident's; None across incidents."""


class FollowupUseCases:
    """Reading follow-ups across incidents; reminding owners of overdue ones."""

    def __init__(self, incidents: IncidentUseCases) -> None:
        self.incidents = incidents
        self.transactions = incidents.transactions
        self.clock = incidents.clock

    def remind_overdue(self, plan: EffectPlan | None = None, now: datetime | None = None) -> list[Outcome]:
        """Remind each incident with follow-ups overdue on ``now``'s UTC day (default: the clock), at most once
        that day: a ``followup_reminder`` entry per incident, with ``plan``'s effects (owner DMs, a channel
        line) queued in its transaction. The day is re-checked with the incident locked, so replicas
        checking together remind once."""
        today = (now or self.clock()).astimezone(UTC).date()
        with self.transactions.read() as uow:
            items = uow.incidents.list_followups(None, open_only=True)
        numbers = sorted({item.incident_number for item in items if item.followup.is_overdue(today)})

        def still_due(uow: UnitOfWork, incident: Incident) -> bool:
            last = uow.timeline.latest_of_kind(incident.number, EntryKind.FOLLOWUP_REMINDER)
            return needs_followup_reminder(incident, last, today)

        outcomes: list[Outcome] = []
        for number in numbers:
            outcome = self.incidents.transition(
                RemindFollowups(today), Actor("incidentbot"), number=number, plan=plan, still_wanted=still_due
            )
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def listing(
        self,
        number: int | None = None,
        channel_id: str | None = None,
        channel_number: int | None = None,
        *,
        open_only: bool = False,
        owner: str | None = None,
    ) -> FollowupList:
        """Follow-ups of the incident named by ``number`` or owning ``channel_id`` (``find_incident``), or
        of every incident when neither is given; by incident and number.

        ``open_only`` keeps the open ones; ``owner`` (a Slack user id, or a name as the CLI records it:
        ``bob``) keeps those owned by that person, matched by id or by the name Slack sent for them.
        Raises IncidentNotFound when the incident named does not exist.
        """
        with self.transactions.read() as uow:
            only: int | None = None
            if number is not None or channel_id is not None:
                only = find_incident(uow, number, channel_id, channel_number).number
            items = uow.incidents.list_followups(only, open_only)
            names: dict[str, str] = {}
            for incident_number in dict.fromkeys(item.incident_number for item in items):
                # Owners' names come with the entries that named them: not the whole timeline.
                named = uow.timeline.list_entries(incident_number, kinds=NAMING_KINDS)
                names.update(collect_names(named))
        if owner is not None:
            wanted = owner.lower()
            items = [
                item
                for item in items
                if item.followup.owner is not None
                and wanted in (item.followup.owner.lower(), names.get(item.followup.owner, "").lower())
            ]
        return FollowupList(items, names, format_incident_id(only) if only is not None else None)
