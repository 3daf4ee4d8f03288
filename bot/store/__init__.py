"""Persistence adapter: SQLModel tables, the unit of work with one repository per aggregate, Alembic migrations."""

from __future__ import annotations

import sqlalchemy as sa

from bot.errors import StoreUnavailable
from bot.store.engine import create_store_engine
from bot.store.incidents import IncidentSummary
from bot.store.migrate import upgrade
from bot.store.repo import IncidentStore, UnitOfWork

__all__ = ["IncidentStore", "IncidentSummary", "UnitOfWork", "open_store"]


def open_store(database_url: str, migrate: bool = True) -> IncidentStore:
    """Connect to ``database_url`` and (by default) bring its schema up to date."""
    engine = create_store_engine(database_url)
    if migrate:
        try:
            upgrade(engine)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            reason = next(iter(str(getattr(exc, "orig", None) or exc).splitlines()), type(exc).__name__)
            raise StoreUnavailable(f"Cannot open the database {engine.url.render_as_string()}: {reason}") from exc
    return IncidentStore(engine)
