"""The page repository: this database's installation id and each incident's PagerDuty page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel import Session

from bot.domain.paging import Page
from bot.store.tables import InstallationRow, PageRow


class PageRepository:
    """Pages and the installation id, in the unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def installation_id(self) -> str:
        """This database's random identity: the uuid4 migration 0005 wrote.

        Should the row have been deleted by hand, a new one is written (pages already keyed keep
        their key; a racing replica's insert fails the primary key and its transaction is retried).
        """
        row = self._session.get(InstallationRow, 1)
        if row is None:
            row = InstallationRow(id=1, installation_id=str(uuid.uuid4()), created_at=datetime.now(UTC))
            self._session.add(row)
            self._session.flush()
        return row.installation_id

    def get(self, number: int) -> Page | None:
        """The page of INC-``number``, or None if it was never paged."""
        row = self._session.get(PageRow, number)
        return Page(row.incident_number, row.dedup_key, row.open, row.triggers) if row else None

    def save(self, page: Page, now: datetime) -> None:
        """Insert or update the page; call it in the transaction that queues the page's event."""
        row = self._session.get(PageRow, page.number)
        if row is None:
            row = PageRow(incident_number=page.number, dedup_key=page.dedup_key, open=page.open, updated_at=now)
        row.dedup_key, row.open, row.triggers, row.updated_at = page.dedup_key, page.open, page.triggers, now
        self._session.add(row)
        self._session.flush()
