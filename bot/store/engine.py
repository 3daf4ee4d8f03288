"""Building the SQLAlchemy engine: SQLite tuned for safe concurrent writes, or PostgreSQL via psycopg."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bot.errors import ConfigError
from bot.store.prepared import Statement
from bot.store.threads import DATABASE_CONNECTIONS

SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 10
"""Seconds a new PostgreSQL connection may take (libpq ``connect_timeout``), as long as SQLite waits for a lock."""
POSTGRES_LOCK_TIMEOUT_MS = SQLITE_BUSY_TIMEOUT_MS
"""How long a PostgreSQL statement waits for a lock (the session's ``lock_timeout``), as SQLite's busy timeout: a
table or row lock held by something else (a ``LOCK TABLE`` left open in psql, a long migration by hand) fails
the command with StoreUnavailable after 10 s instead of holding its thread for as long as the lock is held."""
POSTGRES_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
"""TCP keepalives on every PostgreSQL connection (libpq parameters, seconds): a pooled connection whose server
host went away (a failover, a network partition) is found dead after about a minute of silence instead of the
kernel's two hours, and ``tcp_user_timeout`` (``POSTGRES_TCP_USER_TIMEOUT_MS``) gives up on data the server
never acknowledged after 30 s instead of the kernel's 15 minutes of retransmissions. Source: PostgreSQL 16
documentation, 34.1.2 "Parameter Key Words"."""
POSTGRES_TCP_USER_TIMEOUT_MS = 30_000


POSTGRES_DRIVER = "postgresql+psycopg"
"""The SQLAlchemy dialect+driver the project uses for PostgreSQL (psycopg 3, the `postgres` extra)."""
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgres+psycopg"}
"""Spellings that mean PostgreSQL through psycopg: ``postgres://`` is what Heroku, Render, Fly.io and
libpq (``postgres://`` and ``postgresql://`` are both valid libpq connection URIs) hand out."""


_QUERY_PASSWORD = re.compile(r"([?&][^=&\s]*password=)[^&\s]*", re.IGNORECASE)
"""libpq's secret connection parameters (``password``, ``sslpassword``: PostgreSQL docs, "Parameter Key
Words"), which a URL may give as query parameters and messages must hide like ``user:password@``."""
_SECRET_QUERY_KEY = re.compile(r"password", re.IGNORECASE)
_HIDDEN = "\x00hidden\x00"
"""What a secret query value is replaced with before rendering (then shown as ``***``)."""
SHORT_PASSWORD = 6
"""A password shorter than this (``1``, ``pass``) is hidden in a driver's message only where it stands as a
whole quoted value or ``key=value``: elsewhere its characters are ordinary text (``127.0.0.1``, ``password
authentication failed``). A longer one is hidden wherever it appears."""


def redact_database_url(text: str) -> str:
    """``text`` (a DATABASE_URL that may not even parse) without its secrets: every ``...password=`` query
    value shown as ``***``, and the whole user information (everything from ``://`` to the last ``@``: an
    unencoded ``@``, ``:`` or ``/`` in a password makes its end unknowable) as ``***``.

    ``postgresql://ann:p@ss:w/rd#1@127.0.0.1:55432/h2x`` -> ``postgresql://***@127.0.0.1:55432/h2x``."""
    text = _QUERY_PASSWORD.sub(r"\1***", text)
    scheme, separator, rest = text.partition("://")
    if separator and "@" in rest:
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return text


def database_passwords(url: sa.URL) -> list[str]:
    """The secrets ``url`` carries: its ``user:password@`` password and any ``...password=`` query value."""
    found = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if _SECRET_QUERY_KEY.search(key):
            found.extend(v for v in ([value] if isinstance(value, str) else value) if v)
    return found


def hide_passwords(text: str, passwords: Sequence[str]) -> str:
    """A driver's message ``text`` with each of ``passwords`` shown as ``***``: a password of at least
    ``SHORT_PASSWORD`` characters wherever it appears, a shorter one only as a whole quoted value (``"pw"``,
    ``'pw'``) or a ``key=pw`` value, so that the message still reads as written (``port 1``, ``127.0.0.1``
    and ``password authentication failed`` keep their letters when the password is ``1`` or ``pass``)."""
    for password in sorted(set(passwords), key=len, reverse=True):
        if len(password) >= SHORT_PASSWORD:
            text = text.replace(password, "***")
            continue
        escaped = re.escape(password)
        text = re.sub(rf'(["\'])({escaped})\1', r"\1***\1", text)
        text = re.sub(rf"(=)({escaped})(?=$|[\s&;,)])", r"\1***", text)
    return text


def parse_database_url(database_url: str, named: str = "DATABASE_URL") -> sa.URL:
    """``database_url`` as SQLAlchemy's URL, with ``postgres://`` and ``postgresql://`` normalised to
    ``postgresql+psycopg://``. ``named`` is where the URL came from (``DATABASE_URL``, or an option such
    as ``--to``, named "the URL given to --to"). Raises ConfigError for text that is not a database URL,
    saying what is wrong and never showing its user information (``redact_database_url``), and for a
    SQLite URL with a host (``sqlite://x.db``: two slashes)."""
    try:
        url = make_url(database_url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number (`:abc`, `[::1`)
        raise ConfigError(
            f"{_subject(named)} is not a database URL ({_what_is_wrong(database_url, exc)}): "
            f"{redact_database_url(database_url)!r}; use e.g. "
            "sqlite:///incidents.db or postgresql://user:password@host:5432/db (the port a number)."
        ) from exc
    if url.drivername in _POSTGRES_SCHEMES:
        url = url.set(drivername=POSTGRES_DRIVER)
    if url.get_backend_name() == "sqlite" and (url.host or url.username or url.port):
        shown = redact_database_url(database_url)
        raise ConfigError(
            f"{shown} is not a SQLite URL: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
            + ("" if named == "DATABASE_URL" else f" ({_subject(named)[0].lower()}{_subject(named)[1:]})")
            + "."
        )
    return url


def _subject(named: str) -> str:
    """``DATABASE_URL``, or ``The URL given to --to`` for a command-line option."""
    return named if named == "DATABASE_URL" or not named.startswith("--") else f"The URL given to {named}"


def _what_is_wrong(text: str, exc: Exception) -> str:
    if "://" not in text:
        return "no scheme such as sqlite:/// or postgresql://"
    if text.partition("://")[2].count("@") > 1:
        return "more than one @: percent-encode a password's @ as %40, : as %3A, / as %2F, # as %23"
    if isinstance(exc, ValueError):
        return "its port is not a number, or its host is cut short; a password's @, :, / or # must be percent-encoded"
    return "it cannot be read as scheme://user:password@host:port/database"


def sqlite_uri(path: Path, mode: str = "ro") -> str:
    """The SQLite URI filename (``sqlite3.connect(..., uri=True)``) opening the file ``path`` in ``mode``
    (``ro``: never written, never created): ``/srv/a #3.db`` -> ``file:/srv/a%20%233.db?mode=ro``."""
    return f"file:{quote(str(path.absolute()))}?mode={mode}"


def describe_database(url: sa.URL) -> str:
    """How messages name a database: a SQLite file by its absolute path, any other by its URL with every
    password (``user:password@``, ``...password=`` query values) shown as ``***``."""
    path = _sqlite_path(url)
    if path is not None:
        return str(path)
    if url.get_backend_name() == "sqlite":
        return "sqlite (in memory)"
    hidden = {key: (_HIDDEN if _SECRET_QUERY_KEY.search(key) else value) for key, value in url.query.items()}
    return url.set(query=hidden).render_as_string(hide_password=True).replace(quote(_HIDDEN, safe=""), "***")


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
        if database.startswith("//"):  # file:///abs/path or file://localhost/abs/path
            database = database[2:].removeprefix("localhost")
        if database == ":memory:" or url.query.get("mode") == "memory":
            return None
        database = unquote(database)  # SQLite decodes a URI's %HH escapes
    return Path(database).absolute()


def create_store_engine(
    database_url: str, *, read_only: bool = False, keep_journal_mode: bool = False, named: str = "DATABASE_URL"
) -> Engine:
    """An engine for ``database_url``; SQLite gets WAL, a busy timeout and immediate write transactions.

    Accepts ``sqlite:///FILE`` and PostgreSQL as ``postgres://``, ``postgresql://`` or
    ``postgresql+psycopg://``; raises ConfigError (one line, naming the URL as ``named``) for anything else.
    ``read_only``: nothing is ever written through the engine: a SQLite file is opened with the URI
    ``mode=ro`` (never created, its journal mode left as it is), every PostgreSQL transaction is READ ONLY.
    ``keep_journal_mode``: a SQLite file may be written but is not switched to WAL (``incidentbot doctor``'s
    rolled-back write changes nothing in the file).
    """
    url = parse_database_url(database_url, named)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if read_only and path is not None:
            reading = sa.URL.create("sqlite", database=f"file:{quote(str(path))}", query={"mode": "ro", "uri": "true"})
            return _sqlite_engine(reading, read_only=True)
        return _sqlite_engine(url, wal=not keep_journal_mode)
    if url.get_backend_name() == "postgresql":
        try:
            # A connection for every thread of the server's two pools (bot.store.threads), so a read never
            # waits for a connection that a writer holds while it waits for a row lock; the overflow
            # covers anything outside them (the CLI, start-up).
            # A server that accepts the connection and never answers (a stuck proxy or pooler) fails a new connection
            # after POSTGRES_CONNECT_TIMEOUT_S instead of hanging; see postgres_connect_args.
            engine = sa.create_engine(
                url,
                pool_pre_ping=True,
                pool_size=DATABASE_CONNECTIONS,
                max_overflow=8,
                connect_args=postgres_connect_args(url),
            )
        except ModuleNotFoundError as exc:
            if url.drivername != POSTGRES_DRIVER:
                raise ConfigError(
                    f"{named} asks for the PostgreSQL driver {url.get_driver_name()!r}, which is not installed; "
                    "incidentbot uses psycopg 3: write postgresql://user:password@host/db."
                ) from exc
            raise ConfigError("PostgreSQL needs its driver: pip install 'incidentbot[postgres]'") from exc

        @sa.event.listens_for(engine, "connect")
        def _lock_timeout(dbapi_connection: Any, _record: Any) -> None:
            # A statement, not a start-up `options` parameter: PgBouncer refuses unknown start-up parameters.
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            dbapi_connection.execute(f"SET lock_timeout = {POSTGRES_LOCK_TIMEOUT_MS}")
            dbapi_connection.autocommit = autocommit

        if read_only:

            @sa.event.listens_for(engine, "connect")
            def _read_only(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.read_only = True  # psycopg 3: every transaction is BEGIN READ ONLY

        return engine
    raise ConfigError(
        f"Unsupported database {url.get_backend_name()!r} in {named}: use sqlite:///FILE or postgresql://..."
    )


def postgres_connect_args(url: sa.URL) -> dict[str, Any]:
    """libpq parameters for a connection to ``url``: ``connect_timeout`` (``POSTGRES_CONNECT_TIMEOUT_S``), the TCP
    keepalives and ``tcp_user_timeout`` (``POSTGRES_KEEPALIVES``); a parameter the URL sets itself wins. All are
    the client's own (nothing is sent to the server at start-up that a pooler such as PgBouncer could refuse)."""
    wanted: dict[str, Any] = {
        "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
        **POSTGRES_KEEPALIVES,
        "tcp_user_timeout": POSTGRES_TCP_USER_TIMEOUT_MS,
    }
    return {key: value for key, value in wanted.items() if key not in url.query}


_BEGIN = Statement(sa.text("BEGIN"))
_BEGIN_IMMEDIATE = Statement(sa.text("BEGIN IMMEDIATE"))
"""How a SQLite transaction starts: readers defer their lock, writers take it up front."""


def _sqlite_engine(url: sa.URL, *, read_only: bool = False, wal: bool = True) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (pysqlite would defer them).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        switch = wal and not read_only
        if url.database and url.database != ":memory:" and switch:
            cursor.execute("PRAGMA journal_mode=WAL")  # written into the file: never on a file only read
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if switch:
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable against process crashes in WAL mode
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the lock up front: a deferred transaction that later upgrades can fail
        # with SQLITE_BUSY regardless of the busy timeout.
        readonly = read_only or connection.get_execution_options().get("readonly", False)
        # On the driver's cursor, the engine's cursor listeners still called (``Prepared``): exec_driver_sql's
        # execution context and result set-up were a tenth of a note's CPU time on SQLite (bench/README.md).
        (_BEGIN if readonly else _BEGIN_IMMEDIATE).on(connection).execute(connection, {})

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
