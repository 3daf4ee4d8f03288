"""Event use cases: Slack delivers an event again when the first delivery was slow; it takes effect once."""

from __future__ import annotations

from bot.store.repo import UnitOfWork
from bot.usecases.shared import Transactions


class EventUseCases:
    """Deduplication of Slack deliveries by their event (or envelope) id."""

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions

    def remember(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen, False for a retried delivery."""

        def attempt(uow: UnitOfWork) -> bool:
            return uow.events.remember(event_id, self.transactions.clock())

        return self.transactions.retrying(attempt)
