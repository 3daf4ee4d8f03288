"""The unit of work and its store: one transaction per use case, one repository per aggregate.

``IncidentStore.transaction()`` is the one transaction boundary. The ``UnitOfWork`` it yields
reaches every table through a repository that shares its session: ``uow.incidents``,
``uow.timeline``, ``uow.alerts``, ``uow.changes``, ``uow.events``, ``uow.pages`` and ``uow.outbox``
(and ``uow.listing``, the incident list's Core queries).
Database errors do not leave the store: a lost race on a unique key becomes ConcurrentUpdate (the
use cases retry on fresh state), an unreachable database StoreUnavailable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.errors import ConcurrentUpdate, StoreUnavailable
from bot.store.alerts import AlertRepository
from bot.store.changes import ChangeRepository
from bot.store.engine import readonly_database_message
from bot.store.events import EventRepository
from bot.store.incidents import IncidentRepository
from bot.store.listing import ListingReads
from bot.store.outbox import OutboxRepository
from bot.store.pages import PageRepository
from bot.store.timeline import IncidentKeys, TimelineRepository


class UnitOfWork:
    """The reads and writes of one transaction, one repository per aggregate (all on one session)."""

    def __init__(self, session: Session, locking: bool = False) -> None:
        # In a write transaction (``locking``), loading an incident locks its row until commit.
        self.locking = locking
        # The transaction's connection, for the Core statements of the hot paths: fetched once, as
        # Session.connection() costs tens of microseconds a call.
        connection = session.connection()
        keys = IncidentKeys(session)
        self.timeline = TimelineRepository(session, keys, connection)
        self.incidents = IncidentRepository(session, keys, self.timeline, locking, connection)
        self.alerts = AlertRepository(session)
        self.changes = ChangeRepository(session)
        self.events = EventRepository(session)
        self.pages = PageRepository(session)
        self.outbox = OutboxRepository(session, connection)
        self.listing = ListingReads(session)  # the incident list, in Core (bot.store.listing)


class IncidentStore:
    """Opens transactions; everything else happens on the UnitOfWork it yields."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._readonly_engine = engine.execution_options(readonly=True)
        # SQLite has one writer at a time; threads of this process that collide on BEGIN IMMEDIATE
        # wait in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) instead of
        # waking when the lock frees: under 50 concurrent commands p99 rose to seconds (bench/).
        # Queueing our own writers on a lock hands the database over at once; other processes
        # still meet the busy timeout.
        self._write_lock: AbstractContextManager[object] = (
            threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[UnitOfWork]:
        """Commit on success, roll back on any error.

        Raises StoreUnavailable when the database is unreachable (OperationalError), and
        ConcurrentUpdate when a write met another transaction's committed row on a unique key
        (IntegrityError, at flush or at commit: a racing writer won).
        """
        engine = self._readonly_engine if readonly else self.engine
        try:
            with (
                nullcontext() if readonly else self._write_lock,
                Session(engine, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield UnitOfWork(session, locking=not readonly)
        except sa.exc.OperationalError as exc:
            refusal = readonly_database_message(self.engine, exc)
            if refusal is not None:
                raise StoreUnavailable(refusal) from exc
            raise StoreUnavailable("The incident database is unavailable right now; please retry shortly.") from exc
        except sa.exc.IntegrityError as exc:
            raise ConcurrentUpdate("Another command wrote the same record at the same time; please try again.") from exc

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
