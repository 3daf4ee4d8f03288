"""Channel use cases: the bot archiving a resolved incident's channel (and unarchiving it on reopen), and
the note kept when Slack refuses the bot the channel (archived or made private by hand, the bot removed).

Each is one transaction; the effects they owe are queued in it (``plan`` callables given by the adapter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from bot.domain.effects import Effect
from bot.domain.model import EntryKind, Incident, Status, TimelineEntry, format_incident_id
from bot.store.repo import UnitOfWork
from bot.usecases.shared import Transactions, find_incident, read_incident

log = structlog.get_logger("incidentbot.service")

BOT_ACTOR = "incidentbot"
"""The actor of the entries the bot records itself (``channel_archived``, ``channel_unarchived``)."""


class ChannelUseCases:
    """The bot's own changes to an incident's channel, and Slack's refusals of it."""

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions
        self.clock = transactions.clock

    def archive_due(self, number: int) -> Incident | None:
        """INC-``number`` as its corrected timeline tells it (a ``correct N --at`` of the resolve moves
        ``resolved_at``) if its channel is still to be archived: it is resolved (a reopen cancels; a later
        resolve counts from its own time), has a channel, and the bot has not archived it yet; None otherwise.
        Raises IncidentNotFound."""
        with self.transactions.read() as uow:
            incident = read_incident(uow, find_incident(uow, number, None))
        if incident.status is not Status.RESOLVED or incident.resolved_at is None:
            return None
        if incident.channel_id is None or incident.channel_archived_at is not None:
            return None
        return incident

    def postmortem_link(self, number: int) -> str | None:
        """Where INC-``number``'s postmortem is: the url of its latest ``postmortem_published`` entry (Git,
        Confluence), else the draft uploaded to Slack (``incidents.postmortem_url``); None when neither."""
        with self.transactions.read() as uow:
            published = uow.timeline.list_entries(number, kinds=[EntryKind.POSTMORTEM_PUBLISHED])
            urls = [str(e.data["url"]) for e in published if e.data.get("url")]
            return urls[-1] if urls else uow.incidents.get_postmortem_url(number)

    def done(self, key: str) -> bool:
        """True once ``mark_done(key)`` committed (``archive-notice:<item>``: the last message is posted)."""
        with self.transactions.read() as uow:
            return uow.events.seen(key)

    def mark_done(self, key: str) -> None:
        """Remember ``key`` as done (a second call changes nothing)."""

        def attempt(uow: UnitOfWork) -> bool:
            return uow.events.remember(key, self.clock())

        self.transactions.retrying(attempt)

    def record_archived(
        self,
        number: int,
        after: str,
        reopened_plan: Callable[[Incident], Sequence[Effect]] | None = None,
        *,
        by_hand: bool = False,
    ) -> None:
        """Record that the bot archived INC-``number``'s channel now: ``channel_archived_at`` and a
        ``channel_archived`` entry (``after``: how long after the resolve, ``7d 0h``; ``by_hand``: a person had
        archived it before the bot's archive came due, the entry says so). Should the incident have been
        reopened meanwhile (the archive raced a reopen), ``reopened_plan``'s effects (the unarchive) are
        queued in the same transaction. Raises IncidentNotFound."""
        now = self.clock()

        def attempt(uow: UnitOfWork) -> Incident:
            incident = find_incident(uow, number, None)
            data = {**_channel(incident), "after": after, **({"by_hand": True} if by_hand else {})}
            entry = TimelineEntry(EntryKind.CHANNEL_ARCHIVED, now, now, BOT_ACTOR, "", data)
            uow.incidents.set_channel_archived(number, now, entry)
            uow.incidents.set_channel_problem(number, None)
            if incident.status is not Status.RESOLVED and reopened_plan is not None:
                uow.outbox.enqueue(reopened_plan(incident.with_changes(channel_archived_at=now)), now)
            return incident

        incident = self.transactions.retrying(attempt)
        log.info(
            "incident_channel_archived", incident=incident.incident_id, channel=incident.channel_id, by_hand=by_hand
        )

    def record_unarchived(self, number: int, *, noticed: bool = False) -> bool:
        """Record that INC-``number``'s channel is unarchived (a ``channel_unarchived`` entry when the bot had
        archived it) and clear its channel note; False when there was nothing to record. ``noticed``: the bot
        did not unarchive it, a call to the channel succeeded (a person unarchived it by hand); the entry says
        so. Raises IncidentNotFound."""
        now = self.clock()

        def attempt(uow: UnitOfWork) -> bool:
            incident = find_incident(uow, number, None)
            cleared = uow.incidents.set_channel_problem(number, None)
            if incident.channel_archived_at is None:
                return cleared
            data = {**_channel(incident), **({"noticed": True} if noticed else {})}
            entry = TimelineEntry(EntryKind.CHANNEL_UNARCHIVED, now, now, BOT_ACTOR, "", data)
            uow.incidents.set_channel_archived(number, None, entry)
            return True

        was_archived = False

        def recording(uow: UnitOfWork) -> bool:
            nonlocal was_archived
            was_archived = find_incident(uow, number, None).channel_archived_at is not None
            return attempt(uow)

        recorded = self.transactions.retrying(recording)
        if recorded and was_archived:
            log.info("incident_channel_unarchived", incident=format_incident_id(number), noticed=noticed)
        elif recorded:
            log.info("incident_channel_problem_cleared", incident=format_incident_id(number))
        return recorded

    def queue_after_unarchive(self, number: int, unarchive_kind: str, effects: Sequence[Effect]) -> bool:
        """Queue ``effects`` (refused by INC-``number``'s channel as archived) behind the channel's unarchive
        when the incident is open, the bot archived the channel and its unarchive (``unarchive_kind``) is
        still to be delivered; True when queued. Raises IncidentNotFound."""
        now = self.clock()

        def attempt(uow: UnitOfWork) -> bool:
            incident = find_incident(uow, number, None)
            if incident.status is Status.RESOLVED or incident.channel_archived_at is None:
                return False
            if not uow.outbox.is_pending(unarchive_kind, number):
                return False
            uow.outbox.enqueue(effects, now)
            return True

        return self.transactions.retrying(attempt)

    def note_problem(
        self,
        number: int,
        note: str,
        plan: Callable[[Incident, str], Sequence[Effect]] | None = None,
        *,
        archived_too: bool = False,
    ) -> bool:
        """Keep ``note`` (why Slack refuses the bot INC-``number``'s channel, as a person reads it) on the
        incident; True when it is new (then ``plan``'s effects, telling the lead, are queued with it: told
        once however many deliveries fail the same way). A channel the bot archived itself refuses calls as
        expected: no note then, unless ``archived_too`` (its unarchive was refused). Raises IncidentNotFound."""
        now = self.clock()

        def attempt(uow: UnitOfWork) -> bool:
            incident = find_incident(uow, number, None)
            if incident.channel_archived_at is not None and not archived_too:
                return False
            if not uow.incidents.set_channel_problem(number, note):
                return False
            if plan is not None:
                uow.outbox.enqueue(plan(incident, note), now)
            return True

        changed = self.transactions.retrying(attempt)
        if changed:
            log.warning("incident_channel_problem", incident=format_incident_id(number), problem=note)
        return changed

    def clear_problem(self, number: int) -> bool:
        """Forget INC-``number``'s channel note (a call to its channel succeeded again); True when one was kept."""
        with self.transactions.write() as uow:
            cleared = uow.incidents.set_channel_problem(number, None)
        if cleared:
            log.info("incident_channel_problem_cleared", incident=format_incident_id(number))
        return cleared


def _channel(incident: Incident) -> dict[str, str]:
    return {"channel": incident.channel_id} if incident.channel_id else {}
