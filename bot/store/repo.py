"""The unit of work and its store: one transaction per use case, one repository per aggregate.

``IncidentStore.transaction()`` is the one transaction boundary. The ``UnitOfWork`` it yields
reaches every table through a repository that shares its connection: ``uow.incidents``,
``uow.timeline``, ``uow.alerts``, ``uow.changes``, ``uow.events``, ``uow.pages`` and ``uow.outbox``
(and ``uow.listing``, the incident list's Core queries).
Database errors do not leave the store: a lost race on a unique key becomes ConcurrentUpdate (the
use cases retry on fresh state), an unreachable database StoreUnavailable.
"""

from __future__ import annotations

import functools
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
    """The reads and writes of one transaction, one repository per aggregate, on one connection.

    The transaction is a plain Core connection's: the hot paths (a transition: load, update, entry, outbox)
    run Core statements on it. An ORM ``Session`` bound to that connection is made only when a repository
    first needs one (``session``), and flushed before the commit (``IncidentStore.transaction``)."""

    def __init__(self, connection: sa.Connection, locking: bool = False) -> None:
        # In a write transaction (``locking``), loading an incident locks its row until commit.
        self.locking = locking
        self.connection = connection
        self._session: Session | None = None
        keys = IncidentKeys(connection)
        self.timeline = TimelineRepository(self._orm, keys, connection)
        self.incidents = IncidentRepository(self._orm, keys, self.timeline, locking, connection)
        self.outbox = OutboxRepository(self._orm, connection)

    def _orm(self) -> Session:
        """The transaction's ORM session, made on first use (about 50 µs a transaction that needs none)."""
        if self._session is None:
            # rollback_only: the session never commits the connection's transaction (the store does) and
            # leaves it alone when closed.
            self._session = Session(bind=self.connection, expire_on_commit=False, join_transaction_mode="rollback_only")
        return self._session

    @functools.cached_property
    def alerts(self) -> AlertRepository:
        return AlertRepository(self._orm())

    @functools.cached_property
    def changes(self) -> ChangeRepository:
        return ChangeRepository(self._orm())

    @functools.cached_property
    def events(self) -> EventRepository:
        return EventRepository(self._orm())

    @functools.cached_property
    def pages(self) -> PageRepository:
        return PageRepository(self._orm())

    @functools.cached_property
    def listing(self) -> ListingReads:
        """The incident list, in Core (bot.store.listing)."""
        return ListingReads(self.connection)

    def flush(self) -> None:
        """Send the ORM session's pending writes (if a session was made): before the commit."""
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


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
            # A Core connection's transaction, not an ORM Session's: a Session's begin, connection and commit
            # cost about half of a note's transaction overhead (bench row 3); see UnitOfWork.
            with (
                nullcontext() if readonly else self._write_lock,
                engine.connect() as connection,
                connection.begin(),
            ):
                uow = UnitOfWork(connection, locking=not readonly)
                try:
                    yield uow
                    uow.flush()
                finally:
                    uow.close()
        except sa.exc.OperationalError as exc:
            refusal = readonly_database_message(self.engine, exc)
            if refusal is not None:
                raise StoreUnavailable(refusal) from exc
            raise StoreUnavailable("The incident database is unavailable right now; please retry shortly.") from exc
        except sa.exc.IntegrityError as exc:
            raise ConcurrentUpdate("Another command wrote the same record at the same time; please try again.") from exc

    def ping(self) -> bool:
        """True when the database answers a trivial query (read-only: on SQLite no write lock is waited for, so a
        long write by another process does not make the database look down)."""
        try:
            with self.engine.execution_options(readonly=True).connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
