"""What every use case shares: who acts (Actor), what a transition produced (Outcome), the clock,
and ``Transactions``, the one helper that opens transactions, retries them when a racing writer
won, and queues a committed transition's side effects in its own transaction.

One use case is one transaction: the incident's new state and its timeline entries commit
together. Racing commands are retried on fresh state, so the loser sees the winner's result
(for example "INC-7 was already resolved by @bob at 14:45 UTC").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import structlog

from bot.domain.corrections import STATE_KINDS, apply_corrections, corrected_incident
from bot.domain.effects import Effect
from bot.domain.errors import IncidentNotFound
from bot.domain.model import EntryKind, Incident, TimelineEntry, format_incident_id
from bot.errors import ConcurrentUpdate

if TYPE_CHECKING:  # the ORM is imported by what opens the store, not by every reader of these helpers
    from bot.store.repo import IncidentStore, UnitOfWork

log = structlog.get_logger("incidentbot.service")

Clock = Callable[[], datetime]
T = TypeVar("T")
EffectPlan = Callable[["Outcome"], Sequence[Effect]]
"""Side effects a committed transition owes (Slack calls), queued in the same transaction."""
StandingPlan = Callable[["UnitOfWork", "Outcome"], Sequence[Effect]]
"""Effects every transition is checked for (paging); may read and write state in the same transaction."""
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


def _ignore_entry(_kind: EntryKind) -> None:
    return None


def _ignore_effects(_effects: Sequence[Effect]) -> None:
    return None


class Transactions:
    """The store's transactions as the use cases open them, with the clock they stamp writes with.

    ``standing_plans`` are the effects every committed transition owes whoever caused it (paging),
    queued next to the caller's own plan.
    """

    def __init__(
        self, store: IncidentStore, clock: Clock = utc_now, standing_plans: Sequence[StandingPlan] = ()
    ) -> None:
        self.store = store
        self.clock = clock
        self.standing_plans = tuple(standing_plans)
        # Told the kind of each timeline entry a committed transition recorded (the server counts them
        # for /metrics); set by the composition root, nothing by default.
        self.on_entry: Callable[[EntryKind], None] = _ignore_entry
        # Told every effect one transaction queued (the caller's plan and the standing plans together),
        # once per attempt: a retried transaction tells it again, so the last call is what committed. The
        # CLI sets it to say what it queued; nothing by default.
        self.on_queued: Callable[[Sequence[Effect]], None] = _ignore_effects

    def read(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only transaction."""
        return self.store.transaction(readonly=True)

    def write(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction, not retried (for writes no racing writer can invalidate)."""
        return self.store.transaction()

    def retrying(self, attempt: Callable[[UnitOfWork], T]) -> T:
        """Run ``attempt`` in a write transaction, again on fresh state when a racing writer won.

        Raises ConcurrentUpdate after MAX_ATTEMPTS lost races.
        """
        for attempt_number in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.store.transaction() as uow:
                    return attempt(uow)
            except ConcurrentUpdate as exc:
                # The store's cause (a unique key another writer took first) names the race more exactly.
                reason = type(exc.__cause__ or exc).__name__
                log.info("transaction_retried", attempt=attempt_number, reason=reason)
                if attempt_number == MAX_ATTEMPTS:
                    raise ConcurrentUpdate("Too many people changed this incident at once; please try again.") from exc
        raise AssertionError("unreachable")

    def count(self, entries: Sequence[TimelineEntry]) -> None:
        """Tell ``on_entry`` the kind of each of ``entries`` (committed)."""
        for entry in entries:
            self.on_entry(entry.kind)

    def enqueue_plans(self, uow: UnitOfWork, outcome: Outcome, plan: EffectPlan | None, now: datetime) -> None:
        """Queue the effects ``outcome`` owes (the caller's ``plan`` and the standing plans) in ``uow``."""
        queued: list[Effect] = []
        if plan is not None:
            queued.extend(plan(outcome))
            uow.outbox.enqueue(queued, now)
        for standing in self.standing_plans:
            owed = list(standing(uow, outcome))
            uow.outbox.enqueue(owed, now)
            queued.extend(owed)
        self.on_queued(queued)


def find_incident(
    uow: UnitOfWork, number: int | None, channel_id: str | None, channel_number: int | None = None
) -> Incident:
    """The incident named by ``number``, else the one owning ``channel_id``; raises IncidentNotFound.

    Failing that, INC-``channel_number`` if it has no channel yet: its channel was just created
    (``inc-7-...``) and not recorded. It is returned as bound to ``channel_id``, so a transition
    saves the binding with its own changes and a read writes nothing.
    """
    if number is not None:
        incident = uow.incidents.get(number)
        if incident is None:
            raise IncidentNotFound(
                f"There is no incident {format_incident_id(number)}. `/incident list` shows the open ones."
            )
        return incident
    incident = uow.incidents.get_by_channel(channel_id) if channel_id else None
    if incident is None and channel_id and channel_number is not None:
        fresh = uow.incidents.get(channel_number)
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


def log_outcome(outcome: Outcome, actor: Actor, channel_id: str | None) -> None:
    """One structlog event per timeline entry of ``outcome`` (``incident_<kind>``); a follow-up's entry also
    names the follow-up (``followup=<n>``)."""
    for entry in outcome.entries:
        number = entry.data.get("number") if entry.kind.value.startswith("followup") else None
        log.info(
            f"incident_{entry.kind.value}",
            **({"followup": number} if number is not None else {}),
            **({"entry": entry.data.get("entry")} if entry.kind in CORRECTION_KINDS else {}),
            incident=outcome.incident.incident_id,
            actor=actor.user_id,
            channel=channel_id or outcome.incident.channel_id,
            status=outcome.incident.status.value,
            severity=outcome.incident.severity.value,
            occurred_at=entry.occurred_at.isoformat(),
        )


CORRECTION_KINDS = (EntryKind.CORRECTION, EntryKind.STRIKE)


def read_incident(uow: UnitOfWork, incident: Incident) -> Incident:
    """``incident`` as its corrected timeline tells it (``bot.domain.corrections.corrected_incident``): what
    every view shows. Costs no query when nothing was corrected and the incident was loaded in ``uow`` (one
    otherwise), and then returns ``incident`` itself; never written back."""
    if not uow.timeline.has_corrections(incident.number):
        return incident
    entries = uow.timeline.list_entries(incident.number, kinds=sorted(STATE_KINDS), numbered=True)
    return corrected_incident(incident, entries)


def corrected_timelines(
    incidents: Sequence[tuple[Incident, list[TimelineEntry]]],
) -> list[tuple[Incident, list[TimelineEntry]]]:
    """Each incident and timeline as corrected: struck entries, corrections and strikes left out."""
    return [(corrected_incident(incident, entries), apply_corrections(entries)) for incident, entries in incidents]
