"""The public status page's record: the id Statuspage gave each ``statuspage open`` of an incident (its
``opened``-th status-page incident, 1 first), and the opens given up before they were created.

Everything else about the status page is on the timeline (``statuspage`` entries, decided by
``bot.domain.statuspage``) and in the outbox (the ``statuspage.*`` effects the standing plan,
``bot.integrations.statuspage.plan``, queues with them, each carrying the ``opened`` of the open it follows).
The deliverer reads the id here before an update and records it here when Statuspage created the incident, so
a retried create never makes a second one and an update goes to its own open's incident.
"""

from __future__ import annotations

import structlog

from bot.domain.model import format_incident_id
from bot.store.repo import UnitOfWork
from bot.usecases.shared import Transactions, find_incident

log = structlog.get_logger("incidentbot.statuspage")


class StatuspageUseCases:
    """Reading and recording the Statuspage incident of each of INC-n's opens."""

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions

    def known_id(self, number: int, opened: int) -> str | None:
        """The id of INC-``number``'s ``opened``-th Statuspage incident, None before Statuspage answered one.
        Raises IncidentNotFound."""
        return self.record(number, opened)[0]

    def record(self, number: int, opened: int) -> tuple[str | None, bool]:
        """``(id or None, given up)`` of INC-``number``'s ``opened``-th status-page incident (``given up``: its
        resolve was delivered before Statuspage created it). Raises IncidentNotFound."""
        with self.transactions.read() as uow:
            find_incident(uow, number, None)
            return uow.incidents.statuspage_record(number, opened)

    def record_id(self, number: int, opened: int, statuspage_id: str) -> bool:
        """Record ``statuspage_id`` as INC-``number``'s ``opened``-th Statuspage incident; False (nothing written)
        when it is already recorded (a retried delivery, another replica). Raises IncidentNotFound."""

        def attempt(uow: UnitOfWork) -> bool:
            find_incident(uow, number, None)
            if uow.incidents.statuspage_record(number, opened)[0] == statuspage_id:
                return False
            uow.incidents.set_statuspage_record(number, opened, self.transactions.clock(), statuspage_id=statuspage_id)
            return True

        recorded = self.transactions.retrying(attempt)
        log.info(
            "statuspage_incident_recorded" if recorded else "statuspage_incident_known",
            incident=format_incident_id(number),
            opened=opened,
            statuspage_id=statuspage_id,
        )
        return recorded

    def give_up(self, number: int, opened: int) -> None:
        """Record that INC-``number``'s ``opened``-th open was resolved before Statuspage created it (a refused
        open given up with ``statuspage resolve``): a later retry of that open creates nothing. Raises
        IncidentNotFound."""

        def attempt(uow: UnitOfWork) -> None:
            find_incident(uow, number, None)
            uow.incidents.set_statuspage_record(number, opened, self.transactions.clock(), given_up=True)

        self.transactions.retrying(attempt)
        log.info("statuspage_open_given_up", incident=format_incident_id(number), opened=opened)
