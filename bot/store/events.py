"""The event repository: ids of Slack deliveries already processed (Slack retries a slow delivery)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.store.tables import ProcessedEventRow


class EventRepository:
    """Processed event ids, in the unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def remember(self, event_id: str, received_at: datetime) -> bool:
        """Record ``event_id``; False if it was already recorded (a retried delivery).

        Two transactions recording the same new id at once: the second fails the primary key
        (ConcurrentUpdate at flush or commit) and, retried, answers False.
        """
        if self._session.get(ProcessedEventRow, event_id) is not None:
            return False
        self._session.add(ProcessedEventRow(event_id=event_id, received_at=received_at))
        self._session.flush()
        return True

    def seen(self, event_id: str) -> bool:
        """True if ``event_id`` is recorded (a read: records nothing)."""
        return self._session.get(ProcessedEventRow, event_id) is not None
