"""Building the SQLAlchemy engine: SQLite tuned for safe concurrent writes, or PostgreSQL via psycopg."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bot.errors import ConfigError
from bot.store.threads import DATABASE_CONNECTIONS

SQLITE_BUSY_TIMEOUT_MS = 10_000


POSTGRES_DRIVER = "postgresql+psycopg"
"""The SQLAlchemy dialect+driver the project uses for PostgreSQL (psycopg 3, the `postgres` extra)."""
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgres+psycopg"}
"""Spellings that mean PostgreSQL through psycopg: ``postgres://`` is what Heroku, Render, Fly.io and
libpq (``postgres://`` and ``postgresql://`` are both valid libpq connection URIs) hand out."""


_USERINFO_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/]*@")
_QUERY_PASSWORD = re.compile(r"([?&][^=&]*password=)[^&]*", re.IGNORECASE)
"""libpq's secret connection parameters (``password``, ``sslpassword``: PostgreSQL docs, "Parameter Key
Words"), which a URL may give as query parameters and messages must hide like ``user:password@``."""


def redact_database_url(text: str) -> str:
    """``text`` (a DATABASE_URL that may not even parse) with every password shown as ``***``: the
    ``user:password@`` part and any ``...password=`` query parameter."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO_PASSWORD.sub(r"\1:***@", text))


def parse_database_url(database_url: str) -> sa.URL:
    """``database_url`` as SQLAlchemy's URL, with ``postgres://`` and ``postgresql://`` normalised to
    ``postgresql+psycopg://``. Raises ConfigError for text that is not a database URL (the message shows
    it with its password hidden)."""
    try:
        url = make_url(database_url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number (`:abc`, `[::1`)
        raise ConfigError(
            f"DATABASE_URL is not a database URL: {redact_database_url(database_url)!r}; use e.g. "
            "sqlite:///incidents.db or postgresql://user:password@host:5432/db (the port a number)."
        ) from exc
    if url.drivername in _POSTGRES_SCHEMES:
        url = url.set(drivername=POSTGRES_DRIVER)
    return url


def describe_database(url: sa.URL) -> str:
    """How messages name a database: a SQLite file by its absolute path, any other by its URL without the password."""
    path = _sqlite_path(url)
    if path is not None:
        return str(path)
    if url.get_backend_name() == "sqlite":
        return "sqlite (in memory)"
    return redact_database_url(url.render_as_string(hide_password=True))


def missing_sqlite_file(database_url: str) -> Path | None:
    """The absolute path of the SQLite file ``database_url`` names when that file does not exist, else None."""
    path = _sqlite_path(parse_database_url(database_url))
    return path if path is not None and not path.exists() else None


def sqlite_file_path(url: sa.URL) -> Path | None:
    """The absolute path of the SQLite file ``url`` names (``file:`` URIs included); None for PostgreSQL
    or an in-memory database."""
    return _sqlite_path(url)


def _sqlite_path(url: sa.URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = url.database
    if url.query.get("uri") in ("true", "1") and database.startswith("file:"):
        database = database.removeprefix("file:")
        if database.startswith("//"):  # file:///abs/path
            database = database[2:]
        if database == ":memory:" or url.query.get("mode") == "memory":
            return None
    return Path(database).absolute()


def create_store_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; SQLite gets WAL, a busy timeout and immediate write transactions.

    Accepts ``sqlite:///FILE`` and PostgreSQL as ``postgres://``, ``postgresql://`` or
    ``postgresql+psycopg://``; raises ConfigError (one line) for anything else.
    """
    url = parse_database_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        try:
            # A connection for every thread of the server's two pools (bot.store.threads), so a read never
            # waits for a connection that a writer holds while it waits for a row lock; the overflow
            # covers anything outside them (the CLI, start-up).
            return sa.create_engine(url, pool_pre_ping=True, pool_size=DATABASE_CONNECTIONS, max_overflow=8)
        except ModuleNotFoundError as exc:
            if url.drivername != POSTGRES_DRIVER:
                raise ConfigError(
                    f"DATABASE_URL asks for the PostgreSQL driver {url.get_driver_name()!r}, which is not installed; "
                    "incidentbot uses psycopg 3: write postgresql://user:password@host/db."
                ) from exc
            raise ConfigError("PostgreSQL needs its driver: pip install 'incidentbot[postgres]'") from exc
    raise ConfigError(
        f"Unsupported database {url.get_backend_name()!r} in DATABASE_URL: use sqlite:///FILE or postgresql://..."
    )


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


def readonly_database_message(engine: Engine, exc: sa.exc.SQLAlchemyError) -> str | None:
    """What to do when ``exc`` is SQLite refusing to write a read-only database file; None for any other error."""
    if engine.dialect.name != "sqlite" or "readonly database" not in str(getattr(exc, "orig", None) or exc):
        return None
    return (
        f"The database {describe_database(engine.url)} is read-only (SQLite: attempt to write a readonly database): "
        "give this user write access to the file and its folder, or only read it (list, timeline, postmortem, "
        "slo, report, outbox)."
    )
