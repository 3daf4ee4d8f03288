"""The public status page's record: the id Statuspage gave each incident's current status-page incident.

Everything else about the status page is on the timeline (``statuspage`` entries, decided by
``bot.domain.statuspage``) and in the outbox (the ``statuspage.*`` effects the standing plan,
``bot.integrations.statuspage.plan``, queues with them). The deliverer reads the id here before an update
and records it here when Statuspage created the incident, so a retried create never makes a second one.
"""

from __future__ import annotations

import structlog

from bot.domain.model import format_incident_id
from bot.store.repo import UnitOfWork
from bot.usecases.shared import Transactions, find_incident

log = structlog.get_logger("incidentbot.statuspage")


class StatuspageUseCases:
    """Reading and recording INC-n's Statuspage incident id."""

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions

    def known_id(self, number: int) -> str | None:
        """The id of INC-``number``'s current Statuspage incident, None before Statuspage answered one (or
        after a new ``statuspage open``). Raises IncidentNotFound."""
        with self.transactions.read() as uow:
            find_incident(uow, number, None)
            return uow.incidents.get_statuspage_id(number)

    def record_id(self, number: int, statuspage_id: str) -> bool:
        """Record ``statuspage_id`` as INC-``number``'s current Statuspage incident; False (nothing written) when
        it is already recorded (a retried delivery, another replica). Raises IncidentNotFound."""

        def attempt(uow: UnitOfWork) -> bool:
            find_incident(uow, number, None)
            if uow.incidents.get_statuspage_id(number) == statuspage_id:
                return False
            uow.incidents.set_statuspage_id(number, statuspage_id)
            return True

        recorded = self.transactions.retrying(attempt)
        log.info(
            "statuspage_incident_recorded" if recorded else "statuspage_incident_known",
            incident=format_incident_id(number),
            statuspage_id=statuspage_id,
        )
        return recorded
