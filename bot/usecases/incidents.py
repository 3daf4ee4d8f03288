"""Use cases: find the incident, resolve ``--at``, let the domain decide, commit, log.

One use case is one transaction: the incident's new state and its timeline entries commit
together. Racing commands are retried on fresh state, so the loser sees the winner's result
(for example "INC-7 was already resolved by @bob at 14:45 UTC").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
import structlog

from bot.domain.alerts import (
    ALERTMANAGER_ACTOR,
    CLEARED,
    DEFAULT_SEVERITY_MAP,
    FIRED,
    AlertLine,
    Notification,
    StateChange,
    alert_list,
    clean,
    entry_data,
    group_declaration,
    truncation_note,
)
from bot.domain.changes import RECENT_CHANGE_WINDOW, ChangeEvent
from bot.domain.commands import AddNote, Declare, Nudge, ParsedCommand, Query, RecordAlert, Transition
from bot.domain.errors import IncidentNotFound
from bot.domain.lifecycle import Decision, Stamp, apply, declare
from bot.domain.model import OPEN_STATUSES, EntryKind, Incident, Severity, Status, TimelineEntry, format_incident_id
from bot.domain.nudges import due_nudges
from bot.domain.policy import check_allowed
from bot.domain.postmortem import PostmortemData, build_postmortem
from bot.domain.slo import EMPTY_CATALOG, BudgetReport, SloCatalog, budget_report
from bot.domain.timeparse import parse_when
from bot.errors import ConcurrentUpdate
from bot.store import outbox
from bot.store.outbox import Effect, OutboxItem
from bot.store.repo import IncidentStore, IncidentSummary, UnitOfWork

log = structlog.get_logger("incidentbot.service")

Clock = Callable[[], datetime]
T = TypeVar("T")
EffectPlan = Callable[["Outcome"], Sequence[Effect]]
"""Side effects a committed transition owes (Slack calls), queued in the same transaction."""
StandingPlan = Callable[[UnitOfWork, "Outcome"], Sequence[Effect]]
"""Effects every transition is checked for (paging); may read and write state in the same transaction."""
MAX_ATTEMPTS = 8
TIMELINE_VIEW_ENTRIES = 100
"""Entries a Slack timeline view shows: the latest ones, with the count of all (the CLI shows them all)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who typed the command: a Slack user id, and the name Slack sent along if any."""

    user_id: str
    name: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The result of a committed transition, for adapters to announce."""

    incident: Incident
    entries: tuple[TimelineEntry, ...]
    previous: Incident | None

    @property
    def declared(self) -> bool:
        return self.previous is None

    @property
    def status_changed(self) -> bool:
        return self.previous is None or self.previous.status is not self.incident.status


@dataclass(frozen=True)
class NotificationResult:
    """What one alert notification did.

    ``action``: ``declared`` (a new incident), ``recorded`` (new state changes only) or ``repeat``
    (nothing new). ``recorded`` counts the state changes recorded by this call.
    """

    action: str
    incident_id: str | None
    recorded: int
    previous_incident_id: str | None = None


def _record_alerts(
    incident: Incident, changes: Sequence[StateChange], now: datetime, note: str | None = None
) -> tuple[Incident, tuple[TimelineEntry, ...]]:
    """One alert_fired/alert_cleared entry per state change, each at its own time; then ``note`` (a note
    by the alert sender, at ``now``) if given."""
    entries: list[TimelineEntry] = []
    for change in changes:
        applied = apply(
            incident,
            RecordAlert(change.state == CLEARED, change.alert.summary, entry_data(change)),
            Stamp(ALERTMANAGER_ACTOR, change.occurred_at, now),
        )
        incident = applied.incident
        entries += applied.entries
    if note:
        applied = apply(incident, AddNote(note), Stamp(ALERTMANAGER_ACTOR, now, now))
        incident = applied.incident
        entries += applied.entries
    return incident, tuple(entries)


def _ignore_entry(_kind: EntryKind) -> None:
    return None


class IncidentUseCases:
    """The application's entry point for every adapter (Slack, CLI, webhooks)."""

    def __init__(
        self,
        store: IncidentStore,
        clock: Clock = utc_now,
        strict_roles: bool = False,
        slos: SloCatalog = EMPTY_CATALOG,
        standing_plans: Sequence[StandingPlan] = (),
    ) -> None:
        self.store = store
        self.clock = clock
        self.strict_roles = strict_roles
        self.slos = slos
        # Effects every committed transition owes whoever caused it (paging), next to the caller's plan.
        self.standing_plans = tuple(standing_plans)
        # Told the kind of each timeline entry a committed transition recorded (the server counts them
        # for /metrics); set by the composition root, nothing by default.
        self.on_entry: Callable[[EntryKind], None] = _ignore_entry

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
            if event_id is not None and not uow.remember_event(event_id, now):
                return None
            decision = declare(action, uow.next_incident_number(), stamp, channel_id=channel_id)
            incident = uow.add_incident(decision, now)
            outcome = Outcome(incident, decision.entries, None)
            self._enqueue_plans(uow, outcome, plan, now)
            return outcome

        outcome = self._retrying(attempt)
        if outcome is None:
            log.info("event_duplicate_ignored", event_id=event_id)
        else:
            self._log(outcome, actor, channel_id)
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
        now = self.clock()
        when = occurred_at or (parse_when(at, now) if at else now)
        stamp = Stamp(actor.user_id, when, now, actor.name)

        def attempt(uow: UnitOfWork) -> Outcome | None:
            if event_id is not None and not uow.remember_event(event_id, now):
                return None
            before = self._find(uow, number, channel_id, channel_number)
            if still_wanted is not None and not still_wanted(uow, before):
                return None
            if self.strict_roles:
                check_allowed(before, action, actor.user_id)
            decision: Decision = apply(before, action, stamp)
            after = uow.save(before, decision, now)
            outcome = Outcome(after, decision.entries, before)
            self._enqueue_plans(uow, outcome, plan, now)
            return outcome

        outcome = self._retrying(attempt)
        if outcome is not None:
            self._log(outcome, actor, channel_id)
        return outcome

    def _enqueue_plans(self, uow: UnitOfWork, outcome: Outcome, plan: EffectPlan | None, now: datetime) -> None:
        if plan is not None:
            uow.enqueue(plan(outcome), now)
        for standing in self.standing_plans:
            uow.enqueue(standing(uow, outcome), now)

    # -- change events, alerts, nudges ---------------------------------------------------------

    def record_change(self, change: ChangeEvent) -> int:
        """Store a deploy or config change reported by CI/CD."""
        with self.store.transaction() as uow:
            change_id = uow.add_change(change, self.clock())
        log.info(
            "change_recorded",
            change=change_id,
            service=change.service,
            author=change.author,
            occurred_at=change.occurred_at.isoformat(),
        )
        return change_id

    def recent_changes(self, incident: Incident) -> list[ChangeEvent]:
        """Changes to the incident's service in the 2 hours before it was declared."""
        if not incident.service:
            return []
        with self.store.transaction(readonly=True) as uow:
            return uow.list_changes(incident.service, incident.declared_at - RECENT_CHANGE_WINDOW, incident.declared_at)

    def receive_notification(
        self,
        notification: Notification,
        severity_map: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP,
        plan: EffectPlan | None = None,
    ) -> NotificationResult:
        """Record an alert notification per the model in ``bot.domain.alerts``, in one transaction.

        Declares at most one incident (one declaration outcome, so one page); every state change not
        recorded before becomes one timeline entry. Replicas take turns per group (``lock_alert_group``);
        the unique keys settle any race regardless: a transaction whose insert of a group generation or
        of a state change meets another's is rolled back and decides again on fresh state (up to
        MAX_ATTEMPTS, then ConcurrentUpdate, which the webhook answers 503 so the sender retries).
        """
        actor = Actor(ALERTMANAGER_ACTOR)
        now = self.clock()
        changes = notification.state_changes()
        group_id = notification.group_id
        note = truncation_note(notification)

        def attempt(uow: UnitOfWork) -> tuple[NotificationResult, list[Outcome]]:
            uow.lock_alert_group(group_id)
            latest = uow.latest_alert_group(group_id)
            latest_incident = uow.get_incident(latest[1]) if latest else None
            open_incident = latest_incident if latest_incident and latest_incident.status.is_open else None
            known = uow.alert_events(group_id, (a.fingerprint for a in notification.alerts))
            new = [c for c in changes if c.key not in known]
            cleared = {c.episode for c in changes if c.state == CLEARED} | {
                (f, s) for (f, s, state) in known if state == CLEARED
            }
            firing = [c.alert for c in new if c.state == FIRED and c.episode not in cleared]
            declared: Decision | None = None
            previous: str | None = None
            if open_incident is None and firing:
                previous = latest_incident.incident_id if latest_incident else None
                action = group_declaration(notification, firing, severity_map, previous)
                declared_at = min(min(a.starts_at for a in firing), now)
                number = uow.next_incident_number()
                uow.add_alert_group(
                    group_id,
                    latest[0] + 1 if latest else 1,
                    number,
                    clean(notification.group_key),
                    notification.source,
                    now,
                )
                declared = declare(action, number, Stamp(actor.user_id, declared_at, now))
            target = declared.incident.number if declared else open_incident.number if open_incident else None
            fired_on = {(f, s): n for (f, s, state), n in known.items() if state == FIRED}
            placed: list[tuple[StateChange, int | None]] = []
            for state_change in new:
                if state_change.state == FIRED:
                    fired_on[state_change.episode] = target
                    placed.append((state_change, target))
                else:
                    placed.append((state_change, fired_on.get(state_change.episode) or target))
            inserted = uow.add_alert_events(group_id, placed, now)
            if len(inserted) < len(placed):
                # Another transaction recorded some of these first: what was decided here (declare or not,
                # where each change goes) rests on a stale view. Roll back and decide again on fresh state.
                raise ConcurrentUpdate("alert state changes were recorded concurrently; deciding again")
            by_incident: dict[int, list[StateChange]] = {}
            for state_change, home in placed:
                if home is not None:
                    by_incident.setdefault(home, []).append(state_change)
            if note is not None and target is not None:  # the note goes where the group's news goes
                by_incident.setdefault(target, [])
            outcomes: list[Outcome] = []
            if declared is not None:
                incident, entries = _record_alerts(
                    declared.incident, by_incident.pop(declared.incident.number, []), now, note
                )
                change = Decision(incident, declared.entries + entries)
                outcomes.append(Outcome(uow.add_incident(change, now), change.entries, None))
            for home, recorded in sorted(by_incident.items()):
                before = open_incident if open_incident and open_incident.number == home else uow.get_incident(home)
                if before is None:  # incidents are never deleted; only a broken database gets here
                    raise ConcurrentUpdate(f"{format_incident_id(home)} disappeared while alerts were recorded.")
                incident, entries = _record_alerts(before, recorded, now, note if home == target else None)
                outcomes.append(Outcome(uow.save(before, Decision(incident, entries), now), entries, before))
            for outcome in outcomes:
                self._enqueue_plans(uow, outcome, plan, now)
            action_taken = "declared" if declared else "recorded" if inserted else "repeat"
            shown = target if target is not None else min(by_incident, default=None)
            incident_id = format_incident_id(shown) if shown is not None else None
            return NotificationResult(action_taken, incident_id, len(inserted), previous), outcomes

        result, outcomes = self._retrying(attempt)
        log.info(
            "alert_notification_received",
            source=notification.source,
            group=notification.group_id[:16],
            alerts=len(notification.alerts),
            truncated=notification.truncated_alerts,
            action=result.action,
            recorded=result.recorded,
            incident=result.incident_id,
            previous=result.previous_incident_id,
        )
        for outcome in outcomes:
            self._count(outcome.entries[1:] if outcome.declared else outcome.entries)  # _log counts the first
            if outcome.declared:
                self._log(Outcome(outcome.incident, outcome.entries[:1], None), actor, None)
            fired = sum(1 for e in outcome.entries if e.kind is EntryKind.ALERT_FIRED)
            log.info(
                "incident_alerts_recorded",
                incident=outcome.incident.incident_id,
                fired=fired,
                cleared=sum(1 for e in outcome.entries if e.kind is EntryKind.ALERT_CLEARED),
            )
        return result

    def alert_lines(self, number: int) -> list[AlertLine]:
        """INC-``number``'s alert episodes (name, labels that differ, fired/cleared), for the status message."""
        with self.store.transaction(readonly=True) as uow:
            return alert_list(uow.timeline(number, kinds=(EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED)))

    def nudge_silent(
        self, thresholds: Mapping[Severity, timedelta], plan: EffectPlan | None = None, now: datetime | None = None
    ) -> list[Outcome]:
        """Post one reminder per silence: open incidents whose timeline has been quiet past their threshold.

        ``now`` (default: the clock) is when silence is measured to; tests pass a later time.
        """
        now = now or self.clock()
        with self.store.transaction(readonly=True) as uow:
            candidates = uow.last_activity(OPEN_STATUSES)
        outcomes: list[Outcome] = []

        def still_silent(uow: UnitOfWork, incident: Incident) -> bool:
            """Another replica may have nudged (or someone posted) since the candidates were read."""
            return bool(due_nudges([(incident, uow.latest_activity(incident.number))], thresholds, now))

        for nudge in due_nudges(candidates, thresholds, now):
            outcome = self.transition(
                Nudge(nudge.silent_minutes),
                Actor("incidentbot"),
                number=nudge.number,
                plan=plan,
                still_wanted=still_silent,
            )
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    # -- error budgets -------------------------------------------------------------------------

    def budget_reports(self, service: str | None = None) -> list[BudgetReport]:
        """Each catalogued service's budget over its window ending now (one service if named)."""
        now = self.clock()
        names = [service] if service else self.slos.names()
        reports: list[BudgetReport] = []
        for name in names:
            slo = self.slos.get(name)
            if slo is None:
                known = ", ".join(self.slos.names()) or "none: set INCIDENT_SLO_FILE"
                raise IncidentNotFound(f"There is no SLO for {name!r} in the catalogue (known: {known}).")
            with self.store.transaction(readonly=True) as uow:
                incidents = uow.incidents_with_timelines(since=now - slo.window, service=name)
            reports.append(budget_report(slo, incidents, now))
        return reports

    def incidents_since(self, since: datetime | None) -> list[tuple[Incident, list[TimelineEntry]]]:
        with self.store.transaction(readonly=True) as uow:
            return uow.incidents_with_timelines(since=since)

    def bind_channel(self, number: int, channel_id: str) -> None:
        """Remember the Slack channel created for an incident."""
        with self.store.transaction() as uow:
            uow.set_channel(number, channel_id)

    def set_status_message(self, number: int, ts: str) -> None:
        with self.store.transaction() as uow:
            uow.set_status_message(number, ts)

    def status_message(self, number: int) -> str | None:
        with self.store.transaction(readonly=True) as uow:
            return uow.get_status_message(number)

    def enqueue(self, effects: Sequence[Effect]) -> None:
        """Queue side effects that follow no transition (a postmortem re-export, say)."""
        with self.store.transaction() as uow:
            uow.enqueue(effects, self.clock())

    def outbox_items(self, status: str | None = None, limit: int = 200) -> list[OutboxItem]:
        with self.store.transaction(readonly=True) as uow:
            return outbox.list_items(uow.session, status, limit)

    def outbox_pending(self, kind: str, number: int) -> bool:
        """True when an outbox item of ``kind`` for INC-``number`` is still to be delivered."""
        with self.store.transaction(readonly=True) as uow:
            return outbox.is_pending(uow.session, kind, number)

    def revive_outbox_item(self, item_id: int) -> bool:
        """Queue an undeliverable item again, once its cause is fixed."""
        with self.store.transaction() as uow:
            return outbox.revive(uow.session, item_id, self.clock())

    def remember_event(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen, False for a retried delivery."""

        def attempt(uow: UnitOfWork) -> bool:
            return uow.remember_event(event_id, self.clock())

        return self._retrying(attempt)

    # -- reads ---------------------------------------------------------------------------------

    def incident(
        self, number: int | None = None, channel_id: str | None = None, channel_number: int | None = None
    ) -> Incident:
        """The incident named by ``number`` or owning ``channel_id`` (see ``_find``); reads only."""
        with self.store.transaction(readonly=True) as uow:
            return self._find(uow, number, channel_id, channel_number)

    def find_by_channel(self, channel_id: str) -> Incident | None:
        with self.store.transaction(readonly=True) as uow:
            return uow.get_incident_by_channel(channel_id)

    def timeline(
        self, number: int | None = None, channel_id: str | None = None, channel_number: int | None = None
    ) -> tuple[Incident, list[TimelineEntry]]:
        with self.store.transaction(readonly=True) as uow:
            incident = self._find(uow, number, channel_id, channel_number)
            return incident, uow.timeline(incident.number)

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
        """
        with self.store.transaction(readonly=True) as uow:
            incident = self._find(uow, number, channel_id, channel_number)
            return incident, uow.latest_entries(incident.number, limit), uow.count_entries(incident.number)

    def postmortem(self, number: int | None = None, channel_id: str | None = None) -> PostmortemData:
        incident, entries = self.timeline(number, channel_id)
        return build_postmortem(
            incident, entries, self.clock(), self.slos.get(incident.service), self.recent_changes(incident)
        )

    def list_incidents(self, statuses: Sequence[Status] | None = None, limit: int = 200) -> list[IncidentSummary]:
        with self.store.transaction(readonly=True) as uow:
            return uow.list_incidents(statuses, limit)

    # -- internals -----------------------------------------------------------------------------

    @staticmethod
    def _find(
        uow: UnitOfWork, number: int | None, channel_id: str | None, channel_number: int | None = None
    ) -> Incident:
        """The incident named by ``number``, else the one owning ``channel_id``.

        Failing that, INC-``channel_number`` if it has no channel yet: its channel was just created
        (``inc-7-...``) and not recorded. It is returned as bound to ``channel_id``, so a transition
        saves the binding with its own changes and a read writes nothing.
        """
        if number is not None:
            incident = uow.get_incident(number)
            if incident is None:
                raise IncidentNotFound(
                    f"There is no incident {format_incident_id(number)}. `/incident list` shows the open ones."
                )
            return incident
        incident = uow.get_incident_by_channel(channel_id) if channel_id else None
        if incident is None and channel_id and channel_number is not None:
            fresh = uow.get_incident(channel_number)
            if fresh is not None and fresh.channel_id == channel_id:
                incident = fresh  # bound by a racing command while this one waited for the row lock
            elif fresh is not None and fresh.channel_id is None:
                incident = fresh.with_changes(channel_id=channel_id)
                if uow.locking:
                    log.info("incident_channel_adopted", incident=incident.incident_id, channel=channel_id)
        if incident is None:
            raise IncidentNotFound(
                "This channel belongs to no incident. Run the command in the incident's channel, "
                "or name the incident first: `/incident INC-7 note ...` (`/incident list` shows them)."
            )
        return incident

    def _retrying(self, attempt: Callable[[UnitOfWork], T]) -> T:
        """Run ``attempt`` in a transaction, again on fresh state when a racing writer won."""
        for attempt_number in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.store.transaction() as uow:
                    return attempt(uow)
            except (ConcurrentUpdate, sa.exc.IntegrityError) as exc:
                log.info("transaction_retried", attempt=attempt_number, reason=type(exc).__name__)
                if attempt_number == MAX_ATTEMPTS:
                    raise ConcurrentUpdate("Too many people changed this incident at once; please try again.") from exc
        raise AssertionError("unreachable")

    def _count(self, entries: Sequence[TimelineEntry]) -> None:
        for entry in entries:
            self.on_entry(entry.kind)

    def _log(self, outcome: Outcome, actor: Actor, channel_id: str | None) -> None:
        self._count(outcome.entries)
        for entry in outcome.entries:
            log.info(
                f"incident_{entry.kind.value}",
                incident=outcome.incident.incident_id,
                actor=actor.user_id,
                channel=channel_id or outcome.incident.channel_id,
                status=outcome.incident.status.value,
                severity=outcome.incident.severity.value,
                occurred_at=entry.occurred_at.isoformat(),
            )
