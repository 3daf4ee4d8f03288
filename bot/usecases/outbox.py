"""Outbox use cases: queue side effects that follow no transition, list the queue, revive dead items.

(Effects a transition owes are queued by that transition's own use case, in its transaction; the
worker in ``bot.outbox.worker`` delivers them.)
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.outbox import Effect, OutboxItem
from bot.usecases.shared import Transactions


class OutboxUseCases:
    """The outbox as the adapters and the CLI see it."""

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions

    def enqueue(self, effects: Sequence[Effect]) -> None:
        """Queue side effects that follow no transition (a postmortem re-export, say)."""
        with self.transactions.write() as uow:
            uow.outbox.enqueue(effects, self.transactions.clock())

    def items(self, status: str | None = None, limit: int = 200) -> list[OutboxItem]:
        """Up to ``limit`` items (``pending`` or ``dead`` if ``status`` is given), oldest first."""
        with self.transactions.read() as uow:
            return uow.outbox.list_items(status, limit)

    def is_pending(self, kind: str, number: int) -> bool:
        """True when an outbox item of ``kind`` for INC-``number`` is still to be delivered."""
        with self.transactions.read() as uow:
            return uow.outbox.is_pending(kind, number)

    def revive(self, item_id: int) -> bool:
        """Queue an undeliverable item again, once its cause is fixed; False if no dead item has that id."""
        with self.transactions.write() as uow:
            return uow.outbox.revive(item_id, self.transactions.clock())
