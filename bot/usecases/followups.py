"""Follow-up use cases: the action items of one incident or of all, as lists read in one transaction.

Changing a follow-up (``followup done 2``...) is a transition of its incident
(``IncidentUseCases.run``); this module only reads across incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import NamedTuple

import structlog

from bot.domain.commands import (
    CompleteFollowup,
    DropFollowup,
    RecordFollowupExport,
    RecordTrackerIssueGone,
    RemindFollowups,
    ReopenFollowup,
)
from bot.domain.effects import Effect
from bot.domain.model import (
    EntryKind,
    FollowupListing,
    FollowupState,
    Incident,
    TimelineEntry,
    format_incident_id,
)
from bot.domain.nudges import needs_followup_reminder
from bot.domain.privacy import hidden_listing
from bot.domain.timeline import collect_names
from bot.domain.tracking import SYNC_KINDS, SyncAction, sync_action
from bot.store.repo import UnitOfWork
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import Actor, EffectPlan, Outcome, find_incident

log = structlog.get_logger("incidentbot.followups")

BOT_ACTOR = Actor("incidentbot")
"""Who records what the bot itself learnt (a filed issue's key)."""
NAMING_KINDS = (EntryKind.FOLLOWUP, EntryKind.FOLLOWUP_OWNER)
"""The entries that name a follow-up's owner (with the display name Slack sent)."""
FILING_RECORD_KINDS = (EntryKind.FOLLOWUP_EXPORTED, EntryKind.FOLLOWUP_TRACKER_GONE)
"""The entries that tell whether a follow-up's latest tracker issue is gone."""


DIGEST_HOUR = 9
"""The weekly digest is posted at the first check from Monday 09:00 UTC (or later in the week when no
replica ran then)."""
DigestPlan = Callable[[str, list[FollowupListing], dict[str, str], date], Sequence[Effect]]
"""(ISO week ``2026-W48``, open follow-ups, owners' names, today UTC) -> the digest's effects."""


@dataclass(frozen=True)
class FollowupList:
    """Follow-ups with their incidents, and the display names Slack told us for their owners (id -> name)."""

    items: list[FollowupListing]
    names: dict[str, str]
    incident_id: str | None = None
    """``INC-n`` when the list is one incident's; None across incidents."""
    gone: dict[tuple[int, int], str] = field(default_factory=dict)
    """(incident number, follow-up number) -> the key of its tracker issue found gone (deleted in the
    tracker), for the follow-ups not filed again since."""


class FilingState(NamedTuple):
    """See ``FollowupUseCases.filing_state``."""

    obstacle: str | None
    channel_id: str | None = None
    postmortem_url: str | None = None


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

    def post_digest(self, plan: DigestPlan, now: datetime | None = None) -> str | None:
        """Queue the weekly digest of open follow-ups (``plan``'s effects) unless this ISO week's was queued or
        it is before Monday 09:00 UTC: the week (``2026-W48``) is remembered in the same transaction, so
        replicas checking together post once. Returns the week when it was queued now, else None."""
        moment = (now or self.clock()).astimezone(UTC)
        today = moment.date()
        year, week, weekday = today.isocalendar()
        if weekday == 1 and moment.hour < DIGEST_HOUR:
            return None
        label = f"{year}-W{week:02d}"

        def attempt(uow: UnitOfWork) -> str | None:
            queued_at = self.clock()  # ``now`` decides the week; the queue runs on the clock
            if not uow.events.remember(f"followup-digest:{label}", queued_at):
                return None
            # Posted where anyone reads: a private incident's follow-ups are chased without their text.
            items = [hidden_listing(item) for item in uow.incidents.list_followups(None, open_only=True)]
            names: dict[str, str] = {}
            for incident_number in dict.fromkeys(item.incident_number for item in items):
                names.update(collect_names(uow.timeline.list_entries(incident_number, kinds=NAMING_KINDS)))
            uow.outbox.enqueue(plan(label, items, names, today), queued_at)
            return label

        posted = self.transactions.retrying(attempt)
        if posted is not None:
            log.info("followup_digest_queued", week=posted)
        return posted

    def record_export(
        self,
        number: int,
        followup_number: int,
        key: str,
        url: str,
        plan: EffectPlan | None = None,
        linked: tuple[str, ...] = (),
    ) -> Outcome | None:
        """Record that follow-up ``followup_number`` of INC-``number`` was filed as ``key`` at ``url``
        (its body linking ``linked``: ``channel``, ``postmortem``): a ``followup_exported`` entry (by the
        bot) and the follow-up's tracker key and URL, in one transaction with ``plan``'s effects.
        Idempotent: a follow-up that already has a key (a retried delivery, another replica) records
        nothing and returns None. Raises IncidentNotFound."""

        def not_recorded(_uow: UnitOfWork, incident: Incident) -> bool:
            followup = incident.followup(followup_number)
            return followup is not None and followup.tracker_key is None

        return self.incidents.transition(
            RecordFollowupExport(followup_number, key, url, linked),
            BOT_ACTOR,
            number=number,
            plan=plan,
            still_wanted=not_recorded,
        )

    def record_tracker_gone(
        self, number: int, followup_number: int, key: str, reason: str, plan: EffectPlan | None = None
    ) -> Outcome | None:
        """Record that follow-up ``followup_number`` of INC-``number``'s issue ``key`` is gone from the tracker
        (``reason``: the tracker's answer): a ``followup_tracker_gone`` entry by the bot, and the follow-up
        forgets the key and URL, so sync-back stops reading it and ``followup export <n>`` may file it again;
        with ``plan``'s effects. Once: a follow-up no longer filed as ``key`` (another replica recorded it,
        or it was filed anew) records nothing and returns None. Raises IncidentNotFound."""

        def still_filed(_uow: UnitOfWork, incident: Incident) -> bool:
            followup = incident.followup(followup_number)
            return followup is not None and followup.tracker_key == key

        return self.incidents.transition(
            RecordTrackerIssueGone(followup_number, key, reason),
            BOT_ACTOR,
            number=number,
            plan=plan,
            still_wanted=still_filed,
        )

    def filing_state(self, number: int, followup_number: int) -> FilingState:
        """What a queued filing of follow-up ``followup_number`` of INC-``number`` needs at delivery time,
        read in its own transaction (``TrackerDeliverer``): why it must not be sent now (``obstacle``:
        ``"dropped"`` since it was queued, ``"already filed as KEY"`` for a retried or revived item after the
        key was recorded, ``"no follow-up #n"``, ``"no INC-n"``; None to send it), and the links the issue
        body carries as they are now (the incident's Slack channel id, the postmortem's URL)."""
        with self.transactions.read() as uow:
            incident = uow.incidents.get(number)
            postmortem_url = uow.incidents.get_postmortem_url(number) if incident is not None else None
        if incident is None:
            return FilingState(f"no {format_incident_id(number)}")
        followup = incident.followup(followup_number)
        obstacle: str | None = None
        if followup is None:
            obstacle = f"no follow-up #{followup_number}"
        elif followup.tracker_key is not None:
            obstacle = f"already filed as {followup.tracker_key}"
        elif followup.state is FollowupState.DROPPED:
            obstacle = "dropped"
        return FilingState(obstacle, incident.channel_id, postmortem_url)

    def exported(self, tracker_actor: str | None = None) -> list[FollowupListing]:
        """Follow-ups filed in the tracker, across incidents. With ``tracker_actor`` (what sync-back reads),
        dropped ones only when the tracker dropped them (their latest ``followup_dropped`` is by
        ``tracker_actor``: closed as not planned there), since reopening that issue reopens the follow-up;
        one a person dropped here is left alone. Without it, every filed one."""
        with self.transactions.read() as uow:
            items = [item for item in uow.incidents.list_followups(None) if item.followup.tracker_key is not None]
            if tracker_actor is None:
                return items
            drops: dict[tuple[int, int], str] = {}
            for number in {i.incident_number for i in items if i.followup.state is FollowupState.DROPPED}:
                for entry in uow.timeline.list_entries(number, kinds=(EntryKind.FOLLOWUP_DROPPED,)):
                    drops[(number, int(entry.data.get("number") or 0))] = entry.actor  # oldest first: latest wins
        return [
            item
            for item in items
            if item.followup.state is not FollowupState.DROPPED
            or drops.get((item.incident_number, item.followup.number)) == tracker_actor
        ]

    def find_exported(self, key: str) -> FollowupListing | None:
        """The filed follow-up whose tracker key is ``key`` (``acme/web#7``), or None."""
        return next((item for item in self.exported() if item.followup.tracker_key == key), None)

    def sync(
        self,
        number: int,
        followup_number: int,
        tracker_closed: bool,
        closed_at: datetime | None,
        tracker_actor: str,
        plan: EffectPlan | None = None,
        dropped: str | None = None,
    ) -> Outcome | None:
        """Record what the tracker's state of a follow-up's issue means (``bot.domain.tracking.sync_action``):
        ``followup_done`` (note "closed in KEY"), ``followup_dropped`` when ``dropped`` says the issue was
        closed without being done (reason: ``dropped`` and the key, "closed as not planned in GitHub
        (acme/web#7)") or ``followup_reopened`` (reason "reopened in KEY"), by ``tracker_actor``; None when
        nothing differs. Decided again with the incident locked, so replicas syncing together record once.
        Raises IncidentNotFound."""
        with self.transactions.read() as uow:
            incident = uow.incidents.get(number)
            entries = uow.timeline.list_entries(number, kinds=SYNC_KINDS) if incident is not None else []
        followup = incident.followup(followup_number) if incident is not None else None
        if followup is None or followup.tracker_key is None:
            return None
        tracker_dropped = dropped is not None
        action = sync_action(followup, tracker_closed, closed_at, entries, tracker_actor, tracker_dropped)
        if action is None:
            return None

        def still_same(uow: UnitOfWork, current: Incident) -> bool:
            now_followup = current.followup(followup_number)
            if now_followup is None:
                return False
            now_entries = uow.timeline.list_entries(number, kinds=SYNC_KINDS)
            now = sync_action(now_followup, tracker_closed, closed_at, now_entries, tracker_actor, tracker_dropped)
            return now is action

        key = followup.tracker_key
        command: CompleteFollowup | DropFollowup | ReopenFollowup
        if action is SyncAction.DONE:
            command = CompleteFollowup(followup_number, f"closed in {key}")
        elif action is SyncAction.DROP:
            command = DropFollowup(followup_number, f"{dropped} ({key})")
        else:
            command = ReopenFollowup(followup_number, f"reopened in {key}")
        closing = action in (SyncAction.DONE, SyncAction.DROP)
        occurred_at = closed_at if closing and closed_at is not None else None
        latest = followup.latest_change
        if occurred_at is not None and (
            occurred_at < followup.created_at or (latest is not None and occurred_at < latest.occurred_at)
        ):
            occurred_at = None  # a clock skew must not refuse the change (it may not precede the latest one)
        if occurred_at is not None and occurred_at > self.clock():
            occurred_at = None
        return self.incidents.transition(
            command,
            Actor(tracker_actor),
            number=number,
            occurred_at=occurred_at,
            plan=plan,
            still_wanted=still_same,
        )

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
            gone: dict[tuple[int, int], str] = {}
            for incident_number in dict.fromkeys(item.incident_number for item in items):
                # Owners' names come with the entries that named them: not the whole timeline.
                named = uow.timeline.list_entries(incident_number, kinds=NAMING_KINDS)
                names.update(collect_names(named))
                if any(item.incident_number == incident_number and item.followup.tracker_key is None for item in items):
                    gone.update(
                        _gone_keys(
                            incident_number, uow.timeline.list_entries(incident_number, kinds=FILING_RECORD_KINDS)
                        )
                    )
        if owner is not None:
            wanted = owner.lower()
            items = [
                item
                for item in items
                if item.followup.owner is not None
                and wanted in (item.followup.owner.lower(), names.get(item.followup.owner, "").lower())
            ]
        return FollowupList(items, names, format_incident_id(only) if only is not None else None, gone)


def _gone_keys(incident_number: int, entries: Sequence[TimelineEntry]) -> dict[tuple[int, int], str]:
    """(incident, follow-up) -> gone key, for each follow-up whose latest ``followup_exported`` /
    ``followup_tracker_gone`` entry (``entries`` in timeline order) says its issue is gone."""
    latest: dict[int, TimelineEntry] = {}
    for entry in entries:
        latest[int(entry.data.get("number") or 0)] = entry
    return {
        (incident_number, number): str(entry.data.get("key"))
        for number, entry in latest.items()
        if entry.kind is EntryKind.FOLLOWUP_TRACKER_GONE
    }
