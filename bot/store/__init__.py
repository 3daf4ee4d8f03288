"""Persistence adapter: SQLModel tables, the unit of work with one repository per aggregate, Alembic migrations.

The ORM (``bot.store.repo``: SQLModel, pydantic, SQLAlchemy's ORM) is imported when a store is opened, not by
importing this package: ``incidentbot list`` reads through ``open_engine_for_reading`` and the Core queries of
``bot.store.listing`` without it (issue 18, target 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.domain.model import IncidentSummary
from bot.errors import StoreUnavailable
from bot.store.engine import (
    create_store_engine,
    database_passwords,
    describe_database,
    hide_passwords,
    missing_sqlite_file,
    readonly_database_message,
)
from bot.store.migrate import HEAD_REVISION, current_revision, head_revision, known_revisions, upgrade

if TYPE_CHECKING:
    from bot.store.repo import IncidentStore, UnitOfWork

__all__ = [
    "IncidentStore",
    "IncidentSummary",
    "UnitOfWork",
    "open_engine_for_reading",
    "open_store",
    "open_store_for_reading",
]


def __getattr__(name: str) -> Any:
    """``IncidentStore`` and ``UnitOfWork``, imported (with the ORM) when first named."""
    if name in ("IncidentStore", "UnitOfWork"):
        from bot.store import repo

        return getattr(repo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(database_url: str, migrate: bool = True) -> IncidentStore:
    """Connect to ``database_url`` and (by default) bring its schema up to date.

    Raises StoreUnavailable (one line, saying what to do) when the database cannot be reached, is
    read-only, or was migrated by a newer incidentbot (a schema revision this version does not ship).
    """
    engine = create_store_engine(database_url)
    if migrate:
        try:
            current = current_revision(engine)
            if current != HEAD_REVISION:  # up to date: nothing to do, and Alembic is not even imported
                _refuse_newer_schema(engine, current)
                upgrade(engine)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise StoreUnavailable(_open_failure(engine, exc)) from exc
        except StoreUnavailable:
            engine.dispose()
            raise
    from bot.store.repo import IncidentStore

    return IncidentStore(engine)


def open_store_for_reading(database_url: str) -> IncidentStore:
    """Connect to an existing, up-to-date database without creating or migrating anything.

    For commands that only read (timeline, postmortem, slo, report, outbox). Raises StoreUnavailable as
    ``open_engine_for_reading`` does."""
    engine = open_engine_for_reading(database_url)
    from bot.store.repo import IncidentStore

    return IncidentStore(engine)


def open_engine_for_reading(database_url: str) -> Engine:
    """The engine of an existing, up-to-date database, opened without creating or migrating anything and
    without the ORM (``incidentbot list`` reads it with ``bot.store.listing``; the caller disposes of it).

    Raises
    StoreUnavailable naming the database when a SQLite file does not exist (it is not created), when
    the database has no incidentbot schema, an older one (``incidentbot db upgrade`` first) or a
    newer one, or cannot be reached.
    """
    missing = missing_sqlite_file(database_url)
    if missing is not None:
        raise StoreUnavailable(
            f"There is no database at {missing} (DATABASE_URL {database_url}); nothing was created. Point "
            "DATABASE_URL (environment or .env) at the bot's database, or record an incident first with "
            '`incidentbot run "declare ..."`.'
        )
    # Read-only: a SQLite file is opened with mode=ro (its journal mode and bytes left as they are, an empty file
    # stays empty, a read-only backup can be read) and PostgreSQL transactions are READ ONLY.
    engine = create_store_engine(database_url, read_only=True)
    try:
        current = current_revision(engine)  # one query on alembic_version: no Alembic imported when it is current
        head: str | None = HEAD_REVISION
        if current != HEAD_REVISION:  # what is wrong is told from Alembic's revision graph
            _refuse_newer_schema(engine, current)
            head = head_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUnavailable(_open_failure(engine, exc)) from exc
    except StoreUnavailable:
        engine.dispose()
        raise
    if current != head:
        engine.dispose()
        label = describe_database(engine.url)
        if current is None:
            raise StoreUnavailable(
                f"The database {label} holds no incidentbot data (no schema): check DATABASE_URL, or record an "
                'incident first with `incidentbot run "declare ..."`.'
            )
        raise StoreUnavailable(
            f"The database {label} has an older schema (revision {current}; this incidentbot reads {head}): run "
            "`incidentbot db upgrade` first (commands that only read never change the database)."
        )
    return engine


def _refuse_newer_schema(engine: Engine, current: str | None) -> None:
    if current is not None and current not in known_revisions(engine):
        raise StoreUnavailable(
            f"The database {describe_database(engine.url)} was migrated by a newer incidentbot (schema revision "
            f"{current}; this one knows up to {head_revision(engine)}): upgrade incidentbot "
            "(in its checkout: `git pull && pip install .`), or point DATABASE_URL at another database."
        )


def _open_failure(engine: Engine, exc: sa.exc.SQLAlchemyError) -> str:
    readonly = readonly_database_message(engine, exc)
    if readonly is not None:
        return readonly
    reason = next(iter(str(getattr(exc, "orig", None) or exc).splitlines()), "") or type(exc).__name__
    reason = hide_passwords(reason, database_passwords(engine.url))
    if _is_lock_wait(exc):
        return (
            f"The database {describe_database(engine.url)} is locked by another connection (waited 10 s: {reason}): "
            "retry once it is released (an open transaction in sqlite3 or psql, a migration or a restore in progress)."
        )
    return f"Cannot open the database {describe_database(engine.url)}: {reason}"


def _is_lock_wait(exc: sa.exc.SQLAlchemyError) -> bool:
    """SQLite's busy timeout ran out ("database is locked", SQLITE_BUSY) or PostgreSQL's lock_timeout did
    (SQLSTATE 55P03 lock_not_available: PostgreSQL 16 docs, Appendix A "PostgreSQL Error Codes")."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "55P03":
        return True
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(orig or exc)
