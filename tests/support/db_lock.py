"""Another client holding the incident database's lock, as a stuck transaction of another replica, a
long migration or a backup would: the bot must still answer Slack while the lock is held.

The lock is held until the test leaves the block (at most ``seconds``), so "answered while the lock was
held" is an ordering the test observes, not a race between a fixed hold and a loaded machine's clock."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import make_url


class LockMode(StrEnum):
    WRITERS = "writers"
    """Writers wait, readers do not. SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: every incident row
    ``SELECT ... FOR UPDATE`` (what each transition takes first)."""
    EVERYONE = "everyone"
    """As strong as the database allows. SQLite: ``BEGIN EXCLUSIVE`` (WAL readers still read);
    PostgreSQL: ``LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE`` (even plain reads wait)."""


@contextmanager
def lock_held(database_url: str, seconds: float, mode: LockMode = LockMode.WRITERS) -> Iterator[float]:
    """Hold the lock from another connection until the block is left, or ``seconds`` have passed if that
    comes first (a safety cap: a bot that waits for the lock then gets its answer only after the cap);
    yields once it is held.

    The value yielded is the ``time.monotonic()`` at which the lock was taken. Leaving the block
    releases the lock and waits until it is released.
    """
    taken = threading.Event()
    release = threading.Event()
    failure: list[BaseException] = []
    at: list[float] = []
    url = make_url(database_url)

    def hold() -> None:
        try:
            if url.get_backend_name() == "sqlite":
                _hold_sqlite(str(url.database), seconds, mode, taken, release, at)
            else:
                _hold_postgres(database_url, seconds, mode, taken, release, at)
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            taken.set()

    holder = threading.Thread(target=hold, name="db-lock-holder", daemon=True)
    holder.start()
    if not taken.wait(timeout=30):
        raise AssertionError("the lock was not taken within 30 s")
    if failure:
        raise failure[0]
    try:
        yield at[0]
    finally:
        release.set()
        holder.join(timeout=seconds + 30)
    if failure:
        raise failure[0]


def _hold_sqlite(
    path: str, seconds: float, mode: LockMode, taken: threading.Event, release: threading.Event, at: list[float]
) -> None:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN EXCLUSIVE" if mode is LockMode.EVERYONE else "BEGIN IMMEDIATE")
        at.append(time.monotonic())
        taken.set()
        release.wait(timeout=seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


def _hold_postgres(
    database_url: str,
    seconds: float,
    mode: LockMode,
    taken: threading.Event,
    release: threading.Event,
    at: list[float],
) -> None:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            if mode is LockMode.EVERYONE:
                connection.exec_driver_sql("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
            else:
                connection.exec_driver_sql("SELECT id FROM incidents FOR UPDATE").fetchall()
            at.append(time.monotonic())
            taken.set()
            release.wait(timeout=seconds)
            connection.rollback()
    finally:
        engine.dispose()
