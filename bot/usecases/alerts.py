"""Alert use cases: record an Alertmanager/Grafana notification, list an incident's alert episodes.

The model (which state changes declare an incident, where each is recorded) is ``bot.domain.alerts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

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
from bot.domain.commands import AddNote, RecordAlert
from bot.domain.lifecycle import Decision, Stamp, apply, declare
from bot.domain.model import EntryKind, Incident, Severity, TimelineEntry, format_incident_id
from bot.domain.slo import EMPTY_CATALOG, SloCatalog
from bot.errors import ConcurrentUpdate
from bot.store.repo import UnitOfWork
from bot.usecases.shared import Actor, EffectPlan, Outcome, Transactions, log_outcome

log = structlog.get_logger("incidentbot.service")


@dataclass(frozen=True)
class NotificationResult:
    """What one alert notification did.

    ``action``: ``declared`` (a new incident), ``recorded`` (new state changes only) or ``repeat``
    (nothing new). ``incident_id``: the group's incident (the one it declared or its open one; otherwise the
    first one that got an entry). ``recorded`` counts the state changes recorded by this call. ``updated``:
    every incident this call added timeline entries to, in number order (``INC-4`` too when the clear of an alert
    that fired on INC-4 came with the firing that declared INC-7); empty when nothing was added (a repeat
    without a note of left-out alerts).
    """

    action: str
    incident_id: str | None
    recorded: int
    previous_incident_id: str | None = None
    updated: tuple[str, ...] = ()


def _record_alerts(
    incident: Incident, changes: Sequence[StateChange], now: datetime, notes: Sequence[str] = ()
) -> tuple[Incident, tuple[TimelineEntry, ...]]:
    """One alert_fired/alert_cleared entry per state change, each at its own time; then each of ``notes``
    (notes by the alert sender, at ``now``)."""
    entries: list[TimelineEntry] = []
    for change in changes:
        applied = apply(
            incident,
            RecordAlert(change.state == CLEARED, change.alert.summary, entry_data(change)),
            Stamp(ALERTMANAGER_ACTOR, change.occurred_at, now),
        )
        incident = applied.incident
        entries += applied.entries
    for note in notes:
        applied = apply(incident, AddNote(note), Stamp(ALERTMANAGER_ACTOR, now, now))
        incident = applied.incident
        entries += applied.entries
    return incident, tuple(entries)


def misspelt_service_note(service: str, closest: str) -> str:
    """The note an incident declared from an alert gets when its ``service`` label looks like a misspelt
    catalogued service: the alert is never refused, the people in the channel fix the name."""
    return (
        f"The alerts' service label `{service}` is not in the SLO catalogue; did you mean `{closest}`? "
        f"No error budget is charged until the service is set: `/incident service {closest}`."
    )


class AlertUseCases:
    """Alert notifications in, alert episodes out."""

    def __init__(self, transactions: Transactions, slos: SloCatalog = EMPTY_CATALOG) -> None:
        self.transactions = transactions
        self.clock = transactions.clock
        self.slos = slos

    def receive_notification(
        self,
        notification: Notification,
        severity_map: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP,
        plan: EffectPlan | None = None,
    ) -> NotificationResult:
        """Record an alert notification per the model in ``bot.domain.alerts``, in one transaction.

        Declares at most one incident (one declaration outcome, so one page); every state change not
        recorded before becomes one timeline entry. Replicas take turns per group (``lock_group``);
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
            uow.alerts.lock_group(group_id)
            latest = uow.alerts.get_latest_group(group_id)
            latest_incident = uow.incidents.get(latest[1]) if latest else None
            open_incident = latest_incident if latest_incident and latest_incident.status.is_open else None
            known = uow.alerts.get_events(group_id, (a.fingerprint for a in notification.alerts))
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
                # Dated at the earliest start this incident records: an alert that fired and cleared before the
                # bot heard of the group (an outage, a long group_wait) is impact too, and no entry precedes the
                # declaration. Alerts recorded on an earlier incident of the group are not new here.
                declared_at = min(min(c.alert.starts_at for c in new if c.state == FIRED), now)
                number = uow.incidents.next_number()
                uow.alerts.add_group(
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
            inserted = uow.alerts.add_events(group_id, placed, now)
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
                service = declared.incident.service
                closest = self.slos.misspelt(service)
                notes = [
                    n for n in (note, misspelt_service_note(service, closest) if service and closest else None) if n
                ]
                incident, entries = _record_alerts(
                    declared.incident, by_incident.pop(declared.incident.number, []), now, notes
                )
                change = Decision(incident, declared.entries + entries)
                outcomes.append(Outcome(uow.incidents.add(change, now), change.entries, None))
            for home, recorded in sorted(by_incident.items()):
                before = open_incident if open_incident and open_incident.number == home else uow.incidents.get(home)
                if before is None:  # incidents are never deleted; only a broken database gets here
                    raise ConcurrentUpdate(f"{format_incident_id(home)} disappeared while alerts were recorded.")
                incident, entries = _record_alerts(before, recorded, now, [note] if note and home == target else [])
                outcomes.append(Outcome(uow.incidents.save(before, Decision(incident, entries), now), entries, before))
            for outcome in outcomes:
                self.transactions.enqueue_plans(uow, outcome, plan, now)
            action_taken = "declared" if declared else "recorded" if inserted else "repeat"
            shown = target if target is not None else min(by_incident, default=None)
            incident_id = format_incident_id(shown) if shown is not None else None
            updated = tuple(
                o.incident.incident_id for o in sorted(outcomes, key=lambda o: o.incident.number) if o.entries
            )
            return NotificationResult(action_taken, incident_id, len(inserted), previous, updated), outcomes

        result, outcomes = self.transactions.retrying(attempt)
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
            self.transactions.count(outcome.entries)
            if outcome.declared:
                log_outcome(Outcome(outcome.incident, outcome.entries[:1], None), actor, None)
            fired = sum(1 for e in outcome.entries if e.kind is EntryKind.ALERT_FIRED)
            log.info(
                "incident_alerts_recorded",
                incident=outcome.incident.incident_id,
                fired=fired,
                cleared=sum(1 for e in outcome.entries if e.kind is EntryKind.ALERT_CLEARED),
            )
        return result

    def lines(self, number: int) -> list[AlertLine]:
        """INC-``number``'s alert episodes (name, labels that differ, fired/cleared), for the status message."""
        with self.transactions.read() as uow:
            return alert_list(uow.timeline.list_entries(number, kinds=(EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED)))
