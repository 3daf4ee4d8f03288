"""Incident use cases: declare, transition and read incidents (their timeline, postmortem, list).

Find the incident, resolve ``--at``, let the domain decide, commit, log: one transaction per
command, retried on fresh state when a racing command won (see ``bot.usecases.shared``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

import structlog

from bot.domain.changes import ChangeEvent
from bot.domain.commands import (
    CorrectEntry,
    Declare,
    ExportFollowup,
    ParsedCommand,
    PostmortemChange,
    Query,
    ScheduleReview,
    SetService,
    StatuspageChange,
    StatuspageOpen,
    StatuspageResolve,
    StrikeEntry,
    Transition,
)
from bot.domain.corrections import corrected_incident
from bot.domain.effects import Effect
from bot.domain.lifecycle import Decision, Stamp, apply, declare
from bot.domain.model import (
    EntryKind,
    Incident,
    IncidentSummary,
    Status,
    TimelineEntry,
    format_incident_id,
)
from bot.domain.policy import check_allowed, strict_roles_for
from bot.domain.postmortem import PostmortemData, build_postmortem
from bot.domain.privacy import hidden_summary, may_see
from bot.domain.review import REVIEW_KINDS, PostmortemReview, default_uid, review_state
from bot.domain.slo import EMPTY_CATALOG, SloCatalog
from bot.domain.statuspage import DEFAULT_RESOLVE_TEXT, resolve_components
from bot.domain.timeline import collect_names
from bot.domain.timeparse import parse_review_time, parse_when
from bot.domain.updates import StatusUpdate, latest_update
from bot.errors import ConfigError
from bot.store.repo import UnitOfWork
from bot.usecases.changes import changes_before
from bot.usecases.listing import list_incidents
from bot.usecases.shared import (
    Actor,
    EffectPlan,
    Outcome,
    Transactions,
    corrected_timelines,
    find_incident,
    log_outcome,
    read_incident,
)

log = structlog.get_logger("incidentbot.service")

LEAD_NAMING_KINDS = (EntryKind.DECLARED, EntryKind.LEAD)
"""The entries that carry the names of an incident's declarer and lead (``lead_names``)."""
TIMELINE_VIEW_ENTRIES = 100
"""Entries a Slack timeline view shows: the latest ones, with the count of all (the CLI shows them all)."""


class IncidentUseCases:
    """Declaring incidents, applying commands to them, and reading them back."""

    def __init__(
        self,
        transactions: Transactions,
        strict_roles: bool = False,
        slos: SloCatalog = EMPTY_CATALOG,
        *,
        tracker: str | None = None,
        statuspage_resolve_text: str | None = None,
    ) -> None:
        """``tracker``: the tracker follow-ups are filed in (``github``, ``jira``), None without one:
        ``followup export`` is then refused. ``statuspage_resolve_text``: the public sentence of a status-page
        resolve nobody worded, when Statuspage is configured; None without it: ``statuspage`` commands are
        refused, saying how to enable them."""
        self.transactions = transactions
        self.clock = transactions.clock
        self.strict_roles = strict_roles
        self.slos = slos
        self.tracker = tracker
        self.statuspage_resolve_text = statuspage_resolve_text

    # -- writes --------------------------------------------------------------------------------

    def run(
        self,
        command: ParsedCommand,
        actor: Actor,
        channel_id: str | None = None,
        plan: EffectPlan | None = None,
        *,
        channel_number: int | None = None,
    ) -> Outcome:
        """Apply a parsed state-changing command typed in ``channel_id`` (or naming its incident).

        ``channel_number`` is the incident number in the channel's name (``inc-7-...`` -> 7): a channel
        the bot created a moment ago and has not recorded yet is bound to that incident in the same
        transaction as the command.
        """
        outcome = self.run_once(command, actor, channel_id, plan, channel_number=channel_number)
        assert outcome is not None  # only commands with an event id can be skipped
        return outcome

    def run_once(
        self,
        command: ParsedCommand,
        actor: Actor,
        channel_id: str | None = None,
        plan: EffectPlan | None = None,
        *,
        channel_number: int | None = None,
        event_id: str | None = None,
    ) -> Outcome | None:
        """Like ``run``; with ``event_id`` (a resubmitted form) the command takes effect once.

        The event id (at most 64 characters) is remembered in the command's own transaction; a repeat
        changes nothing and returns None.
        """
        action = command.action
        if isinstance(action, Declare):
            return self._declare(action, actor, command.at, None, plan, event_id)
        if isinstance(action, Query):
            raise TypeError(f"{type(action).__name__} only reads; call the query methods")
        return self.transition(
            action,
            actor,
            command.at,
            number=command.incident_number,
            channel_id=channel_id,
            channel_number=channel_number,
            event_id=event_id,
            plan=plan,
        )

    def declare(
        self,
        action: Declare,
        actor: Actor,
        at: str | None = None,
        channel_id: str | None = None,
        plan: EffectPlan | None = None,
    ) -> Outcome:
        """Open a new incident with the next free number."""
        outcome = self._declare(action, actor, at, channel_id, plan, None)
        assert outcome is not None  # only declarations with an event id can be skipped
        return outcome

    def declare_once(
        self, action: Declare, actor: Actor, event_id: str, plan: EffectPlan | None = None
    ) -> Outcome | None:
        """Declare unless ``event_id`` (a submitted form's key) was seen before; a repeat returns None."""
        return self._declare(action, actor, None, None, plan, event_id)

    def _declare(
        self,
        action: Declare,
        actor: Actor,
        at: str | None,
        channel_id: str | None,
        plan: EffectPlan | None,
        event_id: str | None,
    ) -> Outcome | None:
        now = self.clock()
        occurred_at = parse_when(at, now) if at else now
        stamp = Stamp(actor.user_id, occurred_at, now, actor.name)

        def attempt(uow: UnitOfWork) -> Outcome | None:
            if event_id is not None and not uow.events.remember(event_id, now):
                return None
            decision = declare(action, uow.incidents.next_number(), stamp, channel_id=channel_id)
            incident = uow.incidents.add(decision, now)
            outcome = Outcome(incident, decision.entries, None)
            self.transactions.enqueue_plans(uow, outcome, plan, now)
            return outcome

        outcome = self.transactions.retrying(attempt)
        if outcome is None:
            log.info("event_duplicate_ignored", event_id=event_id)
        else:
            log_outcome(outcome, actor, channel_id)
            self.transactions.count(outcome.entries)
        return outcome

    def transition(
        self,
        action: Transition,
        actor: Actor,
        at: str | None = None,
        *,
        number: int | None = None,
        channel_id: str | None = None,
        channel_number: int | None = None,
        occurred_at: datetime | None = None,
        event_id: str | None = None,
        plan: EffectPlan | None = None,
        still_wanted: Callable[[UnitOfWork, Incident], bool] | None = None,
    ) -> Outcome | None:
        """Apply ``action`` to the incident named by ``number`` or owning ``channel_id``.

        ``still_wanted`` is re-checked once the incident is loaded (and locked) in the transaction;
        False skips the transition (returns None), so replicas racing on the same decision act once.

        ``channel_number`` (from the channel's name) finds an incident whose channel the outbox created
        but has not recorded yet; the channel is then bound to it in this transaction.

        ``occurred_at`` overrides ``at`` for facts with a known time (a pinned message's own time).
        With ``event_id``, the transition takes effect once: a repeat returns None. The event id is
        remembered in the same transaction, so a crash before commit leaves the retry to do the work.
        """
        if isinstance(action, SetService):
            self.slos.check_service(action.name)
        if isinstance(action, ExportFollowup) and self.tracker is None:
            raise ConfigError(
                "No tracker is configured, so follow-ups cannot be filed: set TRACKER (github or jira), "
                "TRACKER_PROJECT and TRACKER_TOKEN (README: Trackers)."
            )
        if isinstance(action, StatuspageChange) and self.statuspage_resolve_text is None:
            raise ConfigError(
                "No status page is configured, so nothing can be published on it: set STATUSPAGE_API_KEY and "
                "STATUSPAGE_PAGE_ID (README: Public status page (Statuspage))."
            )
        if isinstance(action, StatuspageResolve) and not action.text.strip():
            action = StatuspageResolve(self.statuspage_resolve_text or DEFAULT_RESOLVE_TEXT)
        now = self.clock()
        corrects = isinstance(action, CorrectEntry | StrikeEntry)
        reviews = isinstance(action, PostmortemChange)
        publishes = isinstance(action, StatuspageChange)
        if isinstance(action, ScheduleReview) and action.at is None:  # the review's own time, a time to come
            action = replace(action, at=parse_review_time(action.when, now))
        if isinstance(action, CorrectEntry) and at:  # `correct N --at WHEN`: the entry's time, not the command's
            action, at = replace(action, at=parse_when(at, now)), None
        named = occurred_at or (parse_when(at, now) if at else None)  # a time the command gives, checked first

        def attempt(uow: UnitOfWork) -> Outcome | None:
            if event_id is not None and not uow.events.remember(event_id, now):
                return None
            before = find_incident(uow, number, channel_id, channel_number)
            if still_wanted is not None and not still_wanted(uow, before):
                return None
            # The entries' times are read once the incident is held (SQLite: the write lock, taken by BEGIN
            # IMMEDIATE; PostgreSQL: its row, loaded FOR UPDATE), so concurrent commands' entries are in the same
            # order by time as by number (read before the transaction, 63 of 300 notes from 10 threads were not).
            held = self.clock()
            stamp = Stamp(actor.user_id, named or held, held, actor.name)
            if corrects:
                timeline: Sequence[TimelineEntry] = uow.timeline.list_entries(before.number)
            else:
                timeline = uow.timeline.list_entries(before.number, kinds=REVIEW_KINDS) if reviews else ()
                if publishes:
                    timeline = uow.timeline.list_entries(before.number, kinds=[EntryKind.STATUSPAGE], numbered=True)
            if strict_roles_for(before, self.strict_roles):
                check_allowed(before, action, actor.user_id, review_state(timeline).owner if reviews else None)
            decided = action
            if isinstance(decided, ScheduleReview) and decided.uid is None:
                decided = replace(decided, uid=default_uid(before, uow.pages.installation_id()))
            if isinstance(decided, StatuspageOpen):  # the components typed, read against the catalogue
                ids = resolve_components(decided.components, before.service, self.slos.statuspage_components())
                decided = replace(decided, component_ids=ids)
            shown_before = read_incident(uow, before)
            corrected = corrects or shown_before is not before  # read_incident returns it as is when uncorrected
            if shown_before is not before:
                # A corrected declaration or status change's time is the one later backdating is checked against
                # (the row keeps what was first recorded; save writes neither column).
                before = before.with_changes(
                    latest_change=shown_before.latest_change, declared_at=shown_before.declared_at
                )
            decision: Decision = apply(before, decided, stamp, timeline)
            after = uow.incidents.save(before, decision, held)
            # What adapters announce (the status message, the reply) is the corrected incident; rows stay as stored.
            outcome = Outcome(read_incident(uow, after) if corrected else after, decision.entries, shown_before)
            self.transactions.enqueue_plans(uow, outcome, plan, held)
            return outcome

        outcome = self.transactions.retrying(attempt)
        if outcome is not None:
            log_outcome(outcome, actor, channel_id)
            self.transactions.count(outcome.entries)
        return outcome

    def bind_channel(
        self, number: int, channel_id: str, plan: Callable[[Incident], Sequence[Effect]] | None = None
    ) -> None:
        """Remember the Slack channel created for an incident, with ``plan``'s effects for the incident as
        bound (the tracker comments linking the channel from issues filed before it existed,
        ``TrackerPlan.channel_comments``) in the same transaction."""
        with self.transactions.write() as uow:
            uow.incidents.set_channel(number, channel_id)
            if plan is not None:
                incident = uow.incidents.get(number)
                if incident is not None:
                    uow.outbox.enqueue(plan(incident), self.transactions.clock())

    def set_status_message(self, number: int, ts: str) -> None:
        """Remember the ``ts`` of the incident's status message."""
        with self.transactions.write() as uow:
            uow.incidents.set_status_message(number, ts)

    def set_announcement(self, number: int, channel_id: str | None, ts: str | None) -> None:
        """Remember where INC-``number``'s announcement was posted (None, None: it is gone)."""
        with self.transactions.write() as uow:
            uow.incidents.set_announcement(number, channel_id, ts)

    def record_postmortem_url(
        self, number: int, url: str, plan: Callable[[Incident, str], Sequence[Effect]] | None = None
    ) -> bool:
        """Remember ``url`` as where INC-``number``'s postmortem was published, with ``plan``'s effects
        (the tracker comments linking it, ``TrackerPlan.postmortem_comments``) in the same transaction.
        Idempotent: the URL already recorded changes nothing and queues nothing (returns False).
        Raises IncidentNotFound."""
        now = self.transactions.clock()

        def attempt(uow: UnitOfWork) -> bool:
            incident = find_incident(uow, number, None)
            if uow.incidents.get_postmortem_url(number) == url:
                return False
            uow.incidents.set_postmortem_url(number, url)
            if plan is not None:
                uow.outbox.enqueue(plan(incident, url), now)
            return True

        recorded = self.transactions.retrying(attempt)
        if recorded:
            log.info("postmortem_link_recorded", incident=format_incident_id(number), url=url)
        return recorded

    def postmortem_url(self, number: int) -> str | None:
        """Where INC-``number``'s postmortem was last published, or None."""
        with self.transactions.read() as uow:
            return uow.incidents.get_postmortem_url(number)

    # -- reads ---------------------------------------------------------------------------------

    def get(
        self, number: int | None = None, channel_id: str | None = None, channel_number: int | None = None
    ) -> Incident:
        """The incident named by ``number`` or owning ``channel_id`` (see ``find_incident``); reads only.

        Raises IncidentNotFound. Corrections are applied (``read_incident``).
        """
        with self.transactions.read() as uow:
            return read_incident(uow, find_incident(uow, number, channel_id, channel_number))

    def find_by_channel(self, channel_id: str) -> Incident | None:
        """The incident whose channel is ``channel_id``, or None."""
        with self.transactions.read() as uow:
            return uow.incidents.get_by_channel(channel_id)

    def status_message(self, number: int) -> str | None:
        """The ``ts`` of the incident's status message, or None before it was posted."""
        with self.transactions.read() as uow:
            return uow.incidents.get_status_message(number)

    def announcement(self, number: int) -> tuple[str, str] | None:
        """``(channel id, ts)`` of INC-``number``'s announcement, or None before it was posted."""
        with self.transactions.read() as uow:
            return uow.incidents.get_announcement(number)

    def latest_update(self, number: int) -> StatusUpdate | None:
        """INC-``number``'s latest status update (``bot.domain.updates``), or None before the first."""
        with self.transactions.read() as uow:
            return latest_update(uow.timeline.list_latest_of(number, EntryKind.UPDATE))

    def timeline(
        self, number: int | None = None, channel_id: str | None = None, channel_number: int | None = None
    ) -> tuple[Incident, list[TimelineEntry]]:
        """The incident (corrected, as views show it) and its whole timeline as recorded, oldest first: corrections
        and struck entries included (``apply_corrections`` reads it as it now stands)."""
        with self.transactions.read() as uow:
            incident = find_incident(uow, number, channel_id, channel_number)
            entries = uow.timeline.list_entries(incident.number)
            return corrected_incident(incident, entries), entries

    def timeline_after(self, number: int, known: int) -> tuple[Incident, list[TimelineEntry], int]:
        """INC-``number`` as stored (``corrected_incident`` with its whole timeline corrects it), the entries
        recorded after its first ``known`` (in recording order, numbered from ``known + 1``) and how many entries
        it has in all, in one read: a reader that kept the first ``known`` entries (the web view's
        ``TimelineCache``) reads only the new ones; ``known`` 0 reads them all. Raises IncidentNotFound."""
        with self.transactions.read() as uow:
            incident = find_incident(uow, number, None)
            recorded = uow.timeline.list_recorded_after(incident.number, known)
            return incident, recorded, uow.timeline.count(incident.number)

    @contextmanager
    def streamed_timeline(self, number: int) -> Iterator[tuple[Incident, dict[str, str], Iterator[TimelineEntry]]]:
        """INC-``number`` as stored, the names its timeline's entries carry (``collect_names`` of the whole
        timeline) and an iterator over its every entry as ``timeline(number)`` lists them (numbered, oldest
        first), read in batches inside one read transaction, open until the block ends: the export of a
        timeline of any length (``timeline --format json``) without holding it in memory. The incident is not
        corrected: corrections never change its id, title, status, severity or privacy, all an export shows of it.
        Raises IncidentNotFound."""
        with self.transactions.read() as uow:
            incident = find_incident(uow, number, None)
            names = uow.timeline.entry_names(incident.number)
            yield incident, names, uow.timeline.stream_entries(incident.number)

    def recent_timeline(
        self,
        number: int | None = None,
        channel_id: str | None = None,
        channel_number: int | None = None,
        limit: int = TIMELINE_VIEW_ENTRIES,
    ) -> tuple[Incident, list[TimelineEntry], int]:
        """The incident, its latest ``limit`` entries (oldest first) and how many entries it has in all.

        Slack views of a long incident read this, not the whole timeline: its cost does not grow
        with the incident. The whole timeline stays available to the CLI and the postmortem.
        Entries come as recorded (numbered, corrections included), the incident corrected.
        """
        with self.transactions.read() as uow:
            incident = find_incident(uow, number, channel_id, channel_number)
            latest = uow.timeline.list_latest(incident.number, limit)
            return read_incident(uow, incident), latest, uow.timeline.count(incident.number)

    def postmortem(self, number: int | None = None, channel_id: str | None = None) -> PostmortemData:
        """What the postmortem document is rendered from: timeline, SLO and the changes before the incident."""
        return self.postmortem_of(*self.timeline(number, channel_id))

    def postmortem_of(
        self, incident: Incident, entries: Sequence[TimelineEntry], changes: Sequence[ChangeEvent] | None = None
    ) -> PostmortemData:
        """``postmortem`` from an incident and its whole timeline already read (``timeline``), and its
        ``recent_changes`` when already read (else they are read), so a view showing both reads a long timeline once."""
        if changes is None:
            changes = self.recent_changes(incident)
        return build_postmortem(incident, entries, self.clock(), self.slos.get(incident.service), list(changes))

    def recent_changes(self, incident: Incident) -> list[ChangeEvent]:
        """The change events to ``incident``'s service in the 2 hours before its declaration (what the postmortem's
        "Recent changes" lists); one small query."""
        with self.transactions.read() as uow:
            return changes_before(uow, incident)

    def review(self, number: int) -> tuple[Incident, PostmortemReview]:
        """INC-``number`` (corrected) and its postmortem's review state (``bot.domain.review``).

        Raises IncidentNotFound."""
        with self.transactions.read() as uow:
            incident = read_incident(uow, find_incident(uow, number, None))
            return incident, review_state(uow.timeline.list_entries(number, kinds=REVIEW_KINDS))

    def summaries(self, statuses: Sequence[Status] | None = None, limit: int = 200) -> list[IncidentSummary]:
        """Incidents in ``statuses`` (all if None), newest first, at most ``limit``."""
        with self.transactions.read() as uow:
            return list_incidents(uow.listing, statuses, limit)

    def lead_names(self, numbers: Sequence[int]) -> dict[str, str]:
        """The display names Slack sent for the people who declared or lead INC-``numbers`` (Slack user id ->
        name), from their declaration and ``lead`` entries only (one small query per incident)."""
        names: dict[str, str] = {}
        with self.transactions.read() as uow:
            for number in numbers:
                names.update(collect_names(uow.timeline.list_entries(number, kinds=LEAD_NAMING_KINDS)))
        return names

    def summaries_seen_by(
        self, viewer: str, statuses: Sequence[Status] | None = None, limit: int = 200
    ) -> list[IncidentSummary]:
        """``summaries`` as the Slack user ``viewer`` may see them: a private incident they are not a member of
        (``bot.domain.privacy.may_see``: declarer, lead, IRT) is listed as ``private incident``."""
        summaries = self.summaries(statuses, limit)
        private = [s.number for s in summaries if s.private]
        if not private:
            return summaries
        with self.transactions.read() as uow:
            visible = {n for n in private if may_see(find_incident(uow, n, None), viewer)}
        return [s if s.number in visible else hidden_summary(s) for s in summaries]

    def with_timelines(self, since: datetime | None) -> list[tuple[Incident, list[TimelineEntry]]]:
        """Incidents declared after ``since`` (or still open; all if None), oldest first, with their timelines.

        Both as corrected (``bot.domain.corrections``): reports measure what the record now says.
        """
        with self.transactions.read() as uow:
            return corrected_timelines(uow.incidents.list_with_timelines(since=since))
