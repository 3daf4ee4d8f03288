"""Threads for the store's blocking calls, in two pools so that a read never waits behind writers.

``asyncio.to_thread`` runs on the event loop's default executor: ``min(32, cores + 4)`` threads, 6
on a 2-core machine. While another client holds the database lock every write waits in one of
those threads, so six waiting ``/incident note`` commands took them all and ``/incident status``,
which takes no lock, queued behind them until the lock was released. Here reads (the read-only
queries: status, timeline, list, slo, App Home, ``/healthz``) run in a pool of their own; writes
and every other blocking call (outbox, nudges, webhooks) run in the writers' pool, which the
server makes its event loop's default executor, so ``asyncio.to_thread`` uses it.

The sizes live here, with the database connection pool they imply (``bot.store.engine``): one
connection per thread, so a reader never waits for a connection either, even when every writer
holds one while it waits for a PostgreSQL row lock.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

READ_THREADS = 8
"""Read-only queries at once. Reads take no lock (SQLite WAL readers, PostgreSQL plain SELECTs), so
each is a few milliseconds; 8 keeps both cores busy with room for a slow one."""
WRITE_THREADS = 16
"""Transactions and other blocking calls at once. On SQLite writers queue on one lock whatever the
number; on PostgreSQL transitions of different incidents run in parallel. More waiting writers
than this queue for a thread, and are answered "Working on it…" in time all the same."""
DATABASE_CONNECTIONS = READ_THREADS + WRITE_THREADS
"""Connections the pool keeps: one per thread of both pools."""

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseThreads:
    """The readers' and the writers' thread pools of one server (sizes above).

    Neither is shut down when the server stops: listeners still running after the last request may
    need them until the event loop ends (``web.run_app`` then shuts the default executor down, and
    idle reader threads end with the pool or at interpreter exit).
    """

    def __init__(self, readers: int = READ_THREADS, writers: int = WRITE_THREADS) -> None:
        self.readers = ThreadPoolExecutor(readers, thread_name_prefix="db-read")
        self.writers = ThreadPoolExecutor(writers, thread_name_prefix="db-write")

    async def read(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``func`` (which must only read: no write transaction, no lock) in the readers' pool.

        Like ``asyncio.to_thread``, the caller's context variables (log context) go with it.
        """
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
        return await loop.run_in_executor(self.readers, call)

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make the writers' pool ``loop``'s default executor (what ``asyncio.to_thread`` uses)."""
        loop.set_default_executor(self.writers)
