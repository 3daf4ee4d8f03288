"""Building the SQLAlchemy engine: SQLite tuned for safe concurrent writes, or PostgreSQL via psycopg."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bot.errors import ConfigError
from bot.store.threads import DATABASE_CONNECTIONS

SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_store_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; SQLite gets WAL, a busy timeout and immediate write transactions."""
    try:
        url = make_url(database_url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL: {database_url!r}") from exc
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        try:
            # A connection for every thread of the server's two pools (bot.store.threads), so a read never
            # waits for a connection that a writer holds while it waits for a row lock; the overflow
            # covers anything outside them (the CLI, start-up).
            return sa.create_engine(url, pool_pre_ping=True, pool_size=DATABASE_CONNECTIONS, max_overflow=8)
        except ModuleNotFoundError as exc:
            raise ConfigError("PostgreSQL needs its driver: pip install 'incidentbot[postgres]'") from exc
    raise ConfigError(f"Unsupported database {url.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://")


def _sqlite_engine(url: sa.URL) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (pysqlite would defer them).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if url.database and url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable against process crashes in WAL mode
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the lock up front: a deferred transaction that later upgrades can fail
        # with SQLITE_BUSY regardless of the busy timeout.
        readonly = connection.get_execution_options().get("readonly", False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
