"""The change repository: deploys and config changes reported by CI/CD."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain.changes import ChangeEvent
from bot.store.tables import ChangeEventRow


class ChangeRepository:
    """Change events, in the unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, change: ChangeEvent, received_at: datetime) -> int:
        """Insert ``change``; returns its id."""
        row = ChangeEventRow(
            service=change.service,
            description=change.description,
            author=change.author,
            occurred_at=change.occurred_at,
            link=change.link,
            received_at=received_at,
        )
        self._session.add(row)
        self._session.flush()
        assert row.id is not None
        return row.id

    def list_between(self, service: str, start: datetime, end: datetime) -> list[ChangeEvent]:
        """Changes to ``service`` that occurred in [``start``, ``end``] (UTC), oldest first."""
        query = (
            select(ChangeEventRow)
            .where(
                ChangeEventRow.service == service,
                col(ChangeEventRow.occurred_at) >= start,
                col(ChangeEventRow.occurred_at) <= end,
            )
            .order_by(col(ChangeEventRow.occurred_at), col(ChangeEventRow.id))
        )
        return [
            ChangeEvent(r.service, r.description, r.author, r.occurred_at, r.link) for r in self._session.exec(query)
        ]
