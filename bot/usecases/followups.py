"""Follow-up use cases: the action items of one incident or of all, as lists read in one transaction.

Changing a follow-up (``followup done 2``...) is a transition of its incident
(``IncidentUseCases.run``); this module only reads across incidents.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import FollowupListing, format_incident_id
from bot.domain.timeline import collect_names
from bot.usecases.shared import Transactions, find_incident


@dataclass(frozen=True)
class FollowupList:
    """Follow-ups with their incidents, and the display names Slack told us for their owners (id -> name)."""

    items: list[FollowupListing]
    names: dict[str, str]
    incident_id: str | None = None
    """``INC-n`` when the list is one incident's; None across incidents."""


class FollowupUseCases:
    """Reading follow-ups across incidents."""

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions
        self.clock = transactions.clock

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
                names.update(collect_names(uow.timeline.list_entries(incident_number)))
        if owner is not None:
            wanted = owner.lower()
            items = [
                item
                for item in items
                if item.followup.owner is not None
                and wanted in (item.followup.owner.lower(), names.get(item.followup.owner, "").lower())
            ]
        return FollowupList(items, names, format_incident_id(only) if only is not None else None)
