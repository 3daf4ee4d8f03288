"""Use cases: find the incident, resolve ``--at``, let the domain decide, commit, log.

One use case is one transaction: the incident's new state and its timeline entries commit
together. Racing commands are retried on fresh state, so the loser sees the winner's result
(for example "INC-7 was already resolved by @bob at 14:45 UTC").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa
import structlog

from bot.domain.commands import Declare, ParsedCommand, Transition
from bot.domain.errors import IncidentNotFound
from bot.domain.lifecycle import Change, Stamp, apply, declare
from bot.domain.model import Incident, Status, TimelineEntry, format_incident_id
from bot.domain.policy import check_allowed
from bot.domain.postmortem import PostmortemData, build_postmortem
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
MAX_ATTEMPTS = 8


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


class IncidentService:
    """The application's entry point for every adapter (Slack, CLI, webhooks)."""

    def __init__(self, store: IncidentStore, clock: Clock = utc_now, strict_roles: bool = False) -> None:
        self.store = store
        self.clock = clock
        self.strict_roles = strict_roles

    # -- writes --------------------------------------------------------------------------------

    def run(
        self, command: ParsedCommand, actor: Actor, channel_id: str | None = None, plan: EffectPlan | None = None
    ) -> Outcome:
        """Apply a parsed state-changing command typed in ``channel_id`` (or naming its incident)."""
        action = command.action
        if isinstance(action, Declare):
            return self.declare(action, actor, at=command.at, plan=plan)
        if not command.changes_state:
            raise TypeError(f"{type(action).__name__} only reads; call the query methods")
        outcome = self.transition(action, actor, command.at, number=command.incident_number, channel_id=channel_id,
                                  plan=plan)
        assert outcome is not None  # only event-deduplicated transitions can be skipped
        return outcome

    def declare(
        self, action: Declare, actor: Actor, at: str | None = None, channel_id: str | None = None,
        plan: EffectPlan | None = None,
    ) -> Outcome:
        """Open a new incident with the next free number."""
        now = self.clock()
        occurred_at = parse_when(at, now) if at else now
        stamp = Stamp(actor.user_id, occurred_at, now, actor.name)

        def attempt(uow: UnitOfWork) -> Outcome:
            change = declare(action, uow.next_incident_number(), stamp, channel_id=channel_id)
            incident = uow.add_incident(change, now)
            outcome = Outcome(incident, change.entries, None)
            if plan is not None:
                uow.enqueue(plan(outcome), now)
            return outcome

        outcome = self._retrying(attempt)
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
        occurred_at: datetime | None = None,
        event_id: str | None = None,
        plan: EffectPlan | None = None,
    ) -> Outcome | None:
        """Apply ``action`` to the incident named by ``number`` or owning ``channel_id``.

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
            before = self._find(uow, number, channel_id)
            if self.strict_roles:
                check_allowed(before, action, actor.user_id)
            change: Change = apply(before, action, stamp)
            after = uow.save(before, change, now)
            outcome = Outcome(after, change.entries, before)
            if plan is not None:
                uow.enqueue(plan(outcome), now)
            return outcome

        outcome = self._retrying(attempt)
        if outcome is not None:
            self._log(outcome, actor, channel_id)
        return outcome

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

    def incident(self, number: int | None = None, channel_id: str | None = None) -> Incident:
        with self.store.transaction(readonly=True) as uow:
            return self._find(uow, number, channel_id)

    def find_by_channel(self, channel_id: str) -> Incident | None:
        with self.store.transaction(readonly=True) as uow:
            return uow.get_incident_by_channel(channel_id)

    def timeline(self, number: int | None = None, channel_id: str | None = None) -> tuple[Incident, list[TimelineEntry]]:
        with self.store.transaction(readonly=True) as uow:
            incident = self._find(uow, number, channel_id)
            return incident, uow.timeline(incident.number)

    def postmortem(self, number: int | None = None, channel_id: str | None = None) -> PostmortemData:
        incident, entries = self.timeline(number, channel_id)
        return build_postmortem(incident, entries, self.clock())

    def list_incidents(self, statuses: Sequence[Status] | None = None, limit: int = 200) -> list[IncidentSummary]:
        with self.store.transaction(readonly=True) as uow:
            return uow.list_incidents(statuses, limit)

    # -- internals -----------------------------------------------------------------------------

    @staticmethod
    def _find(uow: UnitOfWork, number: int | None, channel_id: str | None) -> Incident:
        if number is not None:
            incident = uow.get_incident(number)
            if incident is None:
                raise IncidentNotFound(f"There is no incident {format_incident_id(number)}. "
                                       "`/incident list` shows the open ones.")
            return incident
        incident = uow.get_incident_by_channel(channel_id) if channel_id else None
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
                    raise ConcurrentUpdate("Too many people changed this incident at once; please try again.") \
                        from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _log(outcome: Outcome, actor: Actor, channel_id: str | None) -> None:
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
