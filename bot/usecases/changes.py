"""Change use cases: deploys and config changes reported by CI/CD, and those before an incident."""

from __future__ import annotations

import structlog

from bot.domain.changes import RECENT_CHANGE_WINDOW, ChangeEvent
from bot.domain.model import Incident
from bot.domain.slo import EMPTY_CATALOG, SloCatalog
from bot.store.repo import UnitOfWork
from bot.usecases.shared import Transactions

log = structlog.get_logger("incidentbot.service")


def changes_before(uow: UnitOfWork, incident: Incident) -> list[ChangeEvent]:
    """Changes to the incident's service in the RECENT_CHANGE_WINDOW (2 hours) before it was declared."""
    if not incident.service:
        return []
    return uow.changes.list_between(incident.service, incident.declared_at - RECENT_CHANGE_WINDOW, incident.declared_at)


class ChangeUseCases:
    """Recording and reading change events."""

    def __init__(self, transactions: Transactions, slos: SloCatalog = EMPTY_CATALOG) -> None:
        self.transactions = transactions
        self.clock = transactions.clock
        self.slos = slos

    def record(self, change: ChangeEvent) -> int:
        """Store a deploy or config change reported by CI/CD; returns its id.

        Raises UsageError (the webhook answers 422) for a service that looks like a misspelt catalogued one
        (``cdn-egde``): recorded under that name it would never show beside the service's incidents."""
        self.slos.check_service(change.service)
        with self.transactions.write() as uow:
            change_id = uow.changes.add(change, self.clock())
        log.info(
            "change_recorded",
            change=change_id,
            service=change.service,
            author=change.author,
            occurred_at=change.occurred_at.isoformat(),
        )
        return change_id

    def recent(self, incident: Incident) -> list[ChangeEvent]:
        """Changes to the incident's service in the 2 hours before it was declared, oldest first."""
        if not incident.service:
            return []
        with self.transactions.read() as uow:
            return changes_before(uow, incident)
