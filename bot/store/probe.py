"""What ``incidentbot doctor`` asks the database, without creating or changing anything.

The store's side of the doctor's database checks: the SQL, SQLAlchemy's exceptions and Alembic's
revision graph stay here (the store boundary), the doctor gets plain answers (text of a failure's first
line, revision ids, a path).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from bot.store.engine import create_store_engine, describe_database
from bot.store.migrate import alembic_config, current_revision


class DatabaseProbe:
    """One engine on ``database_url``, for read-only questions and one rolled-back write.

    Raises ConfigError (a BotError) when ``database_url`` is not a database URL the store supports.
    Call ``dispose`` when done.
    """

    def __init__(self, database_url: str) -> None:
        # Never switched to WAL: the probe's one write is rolled back, and the file stays as it was.
        self._engine = create_store_engine(database_url, keep_journal_mode=True)

    @property
    def shown(self) -> str:
        """The database as messages name it (``describe_database``: a SQLite path, else the URL without passwords)."""
        return describe_database(self._engine.url)

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    @property
    def database(self) -> str | None:
        """The URL's database part: a SQLite file's path, a PostgreSQL database's name."""
        return self._engine.url.database

    def sqlite_file(self) -> Path | None:
        """The SQLite database's file (``file:`` URIs included), None for PostgreSQL or an in-memory database."""
        url = self._engine.url
        if not self.is_sqlite or not url.database or url.database == ":memory:":
            return None
        database = url.database
        if url.query.get("uri") == "true":  # sqlite:///file:/srv/bot.db?mode=ro&uri=true
            database = database.removeprefix("file:")
        return Path(database)

    def ping(self) -> str | None:
        """None when the database answers ``SELECT 1``; else the first line of the driver's error."""
        try:
            with self._engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return first_line(exc)
        return None

    def current_revision(self) -> str | None:
        """The schema's Alembic revision, None when there are no incidentbot tables yet."""
        return current_revision(self._engine)

    def head_revision(self) -> str | None:
        """This version's latest Alembic revision."""
        return ScriptDirectory.from_config(alembic_config(self._engine)).get_current_head()

    def knows_revision(self, revision: str) -> bool:
        """True when ``revision`` is one of this version's migrations (False: a newer version migrated it)."""
        try:
            return ScriptDirectory.from_config(alembic_config(self._engine)).get_revision(revision) is not None
        except CommandError:
            return False

    def try_write(self) -> str | None:
        """Write in a transaction that is rolled back (needs the schema); None when the write was
        accepted, else the first line of the driver's error (a read-only file, folder or role)."""
        try:
            with self._engine.connect() as connection, connection.begin() as transaction:
                connection.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
                transaction.rollback()
        except sa.exc.SQLAlchemyError as exc:
            return first_line(exc)
        return None

    def count_dead(self, kind_prefix: str) -> int | str:
        """Dead outbox items whose kind starts with ``kind_prefix`` (``tracker.``), or the first line of
        the driver's error (needs the schema)."""
        try:
            with self._engine.connect() as connection:
                found = connection.execute(
                    sa.text("SELECT count(*) FROM outbox WHERE status = 'dead' AND kind LIKE :kinds"),
                    {"kinds": kind_prefix.replace("%", "").replace("_", "") + "%"},
                ).scalar()
        except sa.exc.SQLAlchemyError as exc:
            return first_line(exc)
        return int(found or 0)

    def latest_dead(self, kind_prefix: str) -> tuple[int, str, int | None] | str:
        """The latest dead outbox item whose kind starts with ``kind_prefix``, as (its id, the reason it
        was given up, its incident number); ``(0, "", None)`` when there is none; or the first line of the
        driver's error."""
        try:
            with self._engine.connect() as connection:
                row = connection.execute(
                    sa.text(
                        "SELECT id, last_error, incident_number FROM outbox WHERE status = 'dead' AND kind LIKE :kinds "
                        "ORDER BY id DESC LIMIT 1"
                    ),
                    {"kinds": kind_prefix.replace("%", "").replace("_", "") + "%"},
                ).first()
        except sa.exc.SQLAlchemyError as exc:
            return first_line(exc)
        if row is None:
            return (0, "", None)
        return (int(row[0]), str(row[1] or ""), int(row[2]) if row[2] is not None else None)

    def dispose(self) -> None:
        self._engine.dispose()


def first_line(exc: BaseException) -> str:
    """The first line of a database error's driver message (or of ``exc``), else its class name."""
    text = str(getattr(exc, "orig", None) or exc)
    return next(iter(text.splitlines()), type(exc).__name__)
