"""Moving a database: ``db copy`` (any database to any other, e.g. SQLite to PostgreSQL), ``db backup`` and
``db restore`` (SQLite files, through SQLite's online backup API).

Every table the migrations create is copied (the outbox and the processed Slack events too; Alembic's
own ``alembic_version`` is written by migrating the target), with SQLAlchemy Core over the tables'
metadata, parents before children (``MetaData.sorted_tables``), in batches, ids and incident numbers
kept. The source is read in one snapshot (a read transaction on SQLite, ``REPEATABLE READ`` on
PostgreSQL) and never written. What was copied is then checked by ``bot.store.checksums``: row counts per
table and a checksum of every incident's timeline, on both sides.

Messages name databases by ``describe_database`` (a SQLite path, else the URL without its password).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.config import sqlite_url
from bot.errors import BotError, StoreUnavailable
from bot.store import tables as _tables  # registers every table on SQLModel.metadata
from bot.store.checksums import Fingerprint, first_difference, timeline_checksum
from bot.store.engine import (
    create_store_engine,
    database_passwords,
    describe_database,
    hide_passwords,
    parse_database_url,
    sqlite_file_path,
    sqlite_uri,
)
from bot.store.migrate import current_revision, head_revision, known_revisions, upgrade

log = structlog.get_logger("incidentbot.store.copy")

BATCH_ROWS = 2_000
"""Rows per INSERT batch (and per committed target transaction)."""
SQLITE_TIMEOUT_SECONDS = 10.0
"""How long a backup or restore waits for a SQLite lock held by a writer (as the bot's busy timeout)."""
SEEDED_TABLES = frozenset({"installation"})
"""Tables the migrations fill themselves (0005 writes this installation's id): ignored when deciding
whether a target is empty, and replaced by the source's rows (PagerDuty dedup keys derive from it)."""

Progress = Callable[[str, int, int], None]
"""Told ``(table, rows copied so far in all tables, rows to copy in all)`` after every batch."""


class CopyRefused(BotError):
    """A copy, backup or restore that would lose or mix data (a non-empty target, a schema revision
    other than this incidentbot's, an existing backup file...); the message says what to do."""


class CopyInterrupted(KeyboardInterrupt):
    """Ctrl-C during a copy, with what it left: ``user_message`` says whether the target was partly filled
    (and to run the copy again with --force). A KeyboardInterrupt still: the command exits 130."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class CopyMismatch(BotError):
    """The copy or restore finished but the two databases do not compare equal; the message names the
    first difference."""


@dataclass(frozen=True)
class CopyReport:
    """What ``copy_database`` did: databases as messages name them, rows per table (copy order), the
    schema revision, the next incident number on the target, seconds taken (copy and checks)."""

    source: str
    target: str
    counts: Mapping[str, int]
    revision: str
    next_incident: int
    seconds: float
    target_url: str = ""
    """The target's URL as typed for DATABASE_URL, without its password (``sqlite:////srv/bot.db``)."""


@dataclass(frozen=True)
class BackupReport:
    """A backup or restore: the database and the file, rows per table, revision, seconds taken."""

    database: str
    file: Path
    counts: Mapping[str, int]
    revision: str
    seconds: float


def copy_tables() -> list[sa.Table]:
    """The tables incidentbot keeps, parents before children (what is copied, counted, emptied in reverse)."""
    return [table for table in SQLModel.metadata.sorted_tables if table.name in _model_table_names()]


def _model_table_names() -> set[str]:
    return {
        value.__table__.name
        for value in vars(_tables).values()
        if isinstance(value, type) and issubclass(value, SQLModel) and hasattr(value, "__table__")
    }


# ---------------------------------------------------------------------------------------------- copy


def copy_database(
    source_url: str,
    target_url: str,
    *,
    force: bool = False,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    source_option: str = "DATABASE_URL",
    checking: Callable[[], None] | None = None,
) -> CopyReport:
    """Copy every row of ``source_url`` into ``target_url`` (migrated to this incidentbot's schema first),
    then compare both (row counts, timeline checksums). The source is only read: a SQLite file is opened
    read-only (``mode=ro``, its journal mode untouched), PostgreSQL in READ ONLY transactions.

    Raises CopyRefused when: both URLs name one database (a SQLite file under two paths, a link to it; one
    PostgreSQL database under two host names or ports: asked of the servers themselves), checked before
    anything is written; the target is an in-memory SQLite database (the copy would be thrown away); the
    source has no database, no incidentbot schema, or another schema revision than this incidentbot's head
    (the message gives the fix); the target's schema revision is not one this incidentbot knows; the
    target holds tables incidentbot does not own (never deleted, even with ``force``); the target already
    holds incidentbot data and ``force`` is False (with ``force`` it is emptied first, children before
    parents, so a copy killed half-way can be re-run to the same end). Raises CopyMismatch naming the first
    difference, StoreUnavailable when a database cannot be reached (the driver's first line, passwords
    hidden: ``hide_passwords``), ConfigError for a URL that is not a database URL incidentbot supports
    (named as ``source_option`` says the source was given, or ``--to``). ``checking`` is called once the
    rows are copied, before the checks (the command line says so on a terminal).
    """
    started = time.perf_counter()
    source_parsed = parse_database_url(source_url, source_option)
    target_parsed = parse_database_url(target_url, "--to")
    shown_source, shown_target = describe_database(source_parsed), describe_database(target_parsed)
    if target_parsed.get_backend_name() == "sqlite" and sqlite_file_path(target_parsed) is None:
        raise CopyRefused(
            "--to names an in-memory SQLite database, which is thrown away when the copy ends: copy into a file "
            "(sqlite:///FILE) or PostgreSQL."
        )
    missing = sqlite_file_path(source_parsed)
    if missing is not None and not missing.exists():
        raise CopyRefused(
            f"There is no database at {missing} to copy from (--from, or DATABASE_URL); nothing was created."
        )
    _refuse_one_sqlite_file(source_parsed, target_parsed)
    passwords = [*database_passwords(source_parsed), *database_passwords(target_parsed)]
    source = create_store_engine(source_url, read_only=True, named=source_option)  # neither connects yet
    target = create_store_engine(target_url, named="--to")
    shown_url = printable_url(target_url)
    filling = False
    try:
        with _reported(passwords, "copy", shown_source):
            revision = _require_head(source, "source", _upgrade_fix(source_url))
        with _reported(passwords, "copy", shown_target):  # the source answered: a failure here is the target's
            _refuse_one_postgres_database(source, target, shown_source, shown_target)
            _prepare_target(target_url, target, shown_target)
        tables = copy_tables()
        with _reported(passwords, "copy", f"{shown_source} to {shown_target}"):
            _require_same_tables(source, tables, shown_source)
            with _snapshot(source) as reading:
                counts = _counts(reading, tables)
                filling = True
                _empty_target(target, tables, shown_target, force=force)
                log.info("database_copy_started", source=shown_source, target=shown_target, rows=sum(counts.values()))
                _copy_rows(reading, target, tables, counts, progress, batch_rows)
                _reset_sequences(target, tables)
                if checking is not None:
                    checking()
                expected = Fingerprint(counts, _timeline_checksums(reading))
            with target.connect() as connection:
                found = _fingerprint(connection, tables)
                next_incident = int(connection.execute(sa.select(sa.func.max(_incidents().c.number))).scalar() or 0) + 1
    except KeyboardInterrupt as exc:
        log.info("database_copy_interrupted", source=shown_source, target=shown_target, filling=filling)
        if filling:
            raise CopyInterrupted(
                f"Interrupted: the target {shown_target} is partly filled; run the same command with --force to copy "
                "again."
            ) from exc
        raise CopyInterrupted(f"Interrupted: nothing was copied into {shown_target}.") from exc
    finally:
        source.dispose()
        target.dispose()
    difference = first_difference(expected, found)
    if difference is not None:
        log.info("database_copy_mismatch", source=shown_source, target=shown_target, difference=difference)
        raise CopyMismatch(
            f"The copy to {shown_target} does not match {shown_source}: {difference}. Run the copy again with "
            "--force (the bot must be stopped while it copies)."
        )
    seconds = time.perf_counter() - started
    log.info("database_copied", source=shown_source, target=shown_target, rows=sum(counts.values()), seconds=seconds)
    return CopyReport(shown_source, shown_target, counts, revision, next_incident, seconds, shown_url)


def _same_database(shown_source: str, shown_target: str) -> CopyRefused:
    named = shown_source if shown_source == shown_target else f"{shown_source} and {shown_target} are one database"
    return CopyRefused(f"--from and --to name the same database ({named}); copy into another one.")


def _refuse_one_sqlite_file(source: sa.URL, target: sa.URL) -> None:
    """Two SQLite URLs naming one file: the same real path (``../x/same.db``, a symbolic link to it) or,
    when both exist, the same device and inode (a hard link)."""
    here, there = sqlite_file_path(source), sqlite_file_path(target)
    if here is None or there is None:
        return
    same = os.path.realpath(here) == os.path.realpath(there)
    if not same and here.exists() and there.exists():
        same = os.path.samefile(here, there)
    if same:
        raise _same_database(str(here), str(there))


def _refuse_one_postgres_database(source: Engine, target: Engine, shown_source: str, shown_target: str) -> None:
    """Ask the servers whether two PostgreSQL URLs (``localhost`` and ``127.0.0.1``, a port given in the
    query...) reach one database: a transaction-level advisory lock with a random key, taken through the
    source, is looked for in ``pg_locks`` through the target, in the target's own database (``pg_locks``
    and advisory locks need no privilege; nothing is written). Two schemas of one database (another
    ``search_path``) are two databases here."""
    if source.dialect.name != "postgresql" or target.dialect.name != "postgresql":
        return
    high, low = secrets.randbelow(2**31), secrets.randbelow(2**31)
    with source.connect() as here, here.begin():
        here.execute(sa.text("SELECT pg_advisory_xact_lock(:high, :low)"), {"high": high, "low": low})
        schema = here.execute(sa.text("SELECT current_schema()")).scalar()
        with target.connect() as there, there.begin():
            seen = there.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = CAST(:high AS oid) "
                    "AND objid = CAST(:low AS oid) AND objsubid = 2 "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"high": high, "low": low},
            ).scalar()
            their_schema = there.execute(sa.text("SELECT current_schema()")).scalar()
    if seen and schema == their_schema:
        raise _same_database(shown_source, shown_target)


def _upgrade_fix(database_url: str) -> str:
    shown = printable_url(database_url)
    password = " (with the password)" if shown != database_url and ":***@" in shown else ""
    return f"`DATABASE_URL={shlex.quote(shown)} incidentbot db upgrade`{password}, then copy again"


def _require_head(engine: Engine, role: str, older_fix: str) -> str:
    """The revision of ``engine``'s database, which must be this incidentbot's head."""
    current, head = current_revision(engine), head_revision(engine)
    shown = describe_database(engine.url)
    if current is None:
        raise CopyRefused(f"The {role} {shown} holds no incidentbot data (no schema revision): check the URL.")
    if current not in known_revisions(engine):
        raise CopyRefused(_unknown_revision(role, shown, current, head))
    if current != head:
        raise CopyRefused(
            f"The {role} {shown} is at schema revision {current}, this incidentbot at {head}: run {older_fix}."
        )
    return current


def _unknown_revision(role: str, shown: str, current: str, head: str | None) -> str:
    return (
        f"The {role} {shown} is at schema revision {current}, which is not one incidentbot knows (this one knows up "
        f"to {head}): a database of another application (check the URL), or of a newer incidentbot (upgrade "
        "incidentbot: in its checkout, `git pull && pip install .`, and run the command again)."
    )


def _prepare_target(target_url: str, target: Engine, shown: str) -> None:
    """Refuse a target whose revision this incidentbot does not know, or holding tables it does not own;
    bring any other to this incidentbot's schema. The refusals are decided through a read-only engine
    first (a SQLite file is not even switched to WAL), except for the tables of an incidentbot database at
    an older revision (that schema has tables this one dropped): those are looked at once it is upgraded."""
    missing = sqlite_file_path(target.url)
    if missing is None or missing.exists():
        reader = create_store_engine(target_url, read_only=True, named="--to")
        try:
            current = current_revision(reader)
            if current is not None and current not in known_revisions(reader):
                raise CopyRefused(_unknown_revision("target", shown, current, head_revision(reader)))
            if current is None:
                _refuse_foreign_tables(reader, shown)
        finally:
            reader.dispose()
    upgrade(target)
    _refuse_foreign_tables(target, shown)


def _refuse_foreign_tables(target: Engine, shown: str) -> None:
    ours = {table.name for table in copy_tables()} | {"alembic_version"}
    foreign = sorted(set(sa.inspect(target).get_table_names()) - ours)
    if foreign:
        raise CopyRefused(_foreign_message(f"The target {shown}", foreign, "copy into an empty database"))


def _foreign_message(subject: str, foreign: Sequence[str], instead: str) -> str:
    return f"{subject} holds tables incidentbot does not own: {', '.join(foreign)}; {instead}."


def _require_same_tables(engine: Engine, tables: Sequence[sa.Table], shown: str) -> None:
    """The database's tables and columns are the ones this incidentbot copies (nothing would be left behind)."""
    inspector = sa.inspect(engine)
    present = set(inspector.get_table_names()) - {"alembic_version"}
    expected = {table.name for table in tables}
    if present != expected:
        extra, missing = sorted(present - expected), sorted(expected - present)
        raise CopyRefused(
            f"The tables of {shown} are not the ones this incidentbot copies (unknown: {', '.join(extra) or 'none'}; "
            f"missing: {', '.join(missing) or 'none'}): nothing was copied."
        )
    for table in tables:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        if columns != set(table.columns.keys()):
            raise CopyRefused(
                f"The table {table.name} of {shown} has other columns than this incidentbot's "
                f"({', '.join(sorted(columns ^ set(table.columns.keys())))}): nothing was copied."
            )


@contextmanager
def _snapshot(engine: Engine) -> Iterator[sa.Connection]:
    """One read transaction: everything read through it is one consistent state of the database."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.execution_options(readonly=True)  # BEGIN, not BEGIN IMMEDIATE: writers are not held up
        else:
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def _counts(connection: sa.Connection, tables: Sequence[sa.Table]) -> dict[str, int]:
    return {
        table.name: int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
        for table in tables
    }


def _empty_target(target: Engine, tables: Sequence[sa.Table], shown: str, *, force: bool) -> None:
    with target.begin() as connection:
        held = {
            name: count for name, count in _counts(connection, tables).items() if count and name not in SEEDED_TABLES
        }
        if held and not force:
            listed = ", ".join(f"{name}: {count:,}" for name, count in held.items())
            raise CopyRefused(
                f"The target {shown} already holds data ({listed}): copy into an empty database, or add --force "
                "to delete everything in it first."
            )
        for table in reversed(tables):  # children before parents
            connection.execute(table.delete())
    if held:
        log.info("database_copy_target_emptied", target=shown, tables=len(held))


def _copy_rows(
    reading: sa.Connection,
    target: Engine,
    tables: Sequence[sa.Table],
    counts: Mapping[str, int],
    progress: Progress | None,
    batch_rows: int,
) -> None:
    total, done = sum(counts.values()), 0
    if progress is not None:
        progress("", 0, total)
    for table in tables:
        if not counts[table.name]:
            continue
        query = sa.select(table).order_by(*table.primary_key.columns).execution_options(yield_per=batch_rows)
        for batch in reading.execute(query).partitions():
            with target.begin() as writing:
                writing.execute(table.insert(), [dict(row._mapping) for row in batch])
            done += len(batch)
            if progress is not None:
                progress(table.name, done, total)


def _reset_sequences(target: Engine, tables: Sequence[sa.Table]) -> None:
    """PostgreSQL: each serial id's sequence continues after the highest copied id (rows came with their ids)."""
    if target.dialect.name != "postgresql":
        return  # SQLite gives an INTEGER PRIMARY KEY the highest rowid + 1 by itself
    quote = target.dialect.identifier_preparer.quote
    with target.begin() as connection:
        for table in tables:
            keys = list(table.primary_key.columns)
            if len(keys) != 1:
                continue
            sequence = connection.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": keys[0].name}
            ).scalar()
            if sequence is None:
                continue
            column, name = quote(keys[0].name), quote(table.name)
            connection.execute(
                sa.text(f"SELECT setval(:sequence, COALESCE((SELECT max({column}) FROM {name}), 0) + 1, false)"),
                {"sequence": sequence},
            )


def _incidents() -> sa.Table:
    return SQLModel.metadata.tables["incidents"]


def _timeline_checksums(connection: sa.Connection) -> dict[int, str]:
    """Incident number -> checksum of its timeline (entries by id); an incident without entries has one too."""
    incidents, entries = _incidents(), SQLModel.metadata.tables["timeline_entries"]
    numbers = {
        int(row_id): int(number) for row_id, number in connection.execute(sa.select(incidents.c.id, incidents.c.number))
    }
    query = (
        sa.select(
            entries.c.incident_id,
            entries.c.occurred_at,
            entries.c.recorded_at,
            entries.c.actor,
            entries.c.kind,
            entries.c.text,
        )
        .order_by(entries.c.incident_id, entries.c.id)
        .execution_options(yield_per=10_000)
    )
    found = {number: timeline_checksum([]) for number in numbers.values()}
    for incident_id, rows in groupby(connection.execute(query), key=lambda row: int(row[0])):
        found[numbers.get(incident_id, -incident_id)] = timeline_checksum((r[1], r[2], r[3], r[4], r[5]) for r in rows)
    return found


def _fingerprint(connection: sa.Connection, tables: Sequence[sa.Table]) -> Fingerprint:
    return Fingerprint(_counts(connection, tables), _timeline_checksums(connection))


# --------------------------------------------------------------------------------------- messages


@contextmanager
def _reported(passwords: Sequence[str], action: str, shown: str) -> Iterator[None]:
    """A database error below becomes StoreUnavailable: ``Cannot <action> <shown>: <the driver's first
    line>``, the databases named by ``describe_database`` (built without passwords) and the driver's line
    with ``passwords`` hidden by ``hide_passwords`` (the rest of the message reads as written)."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        reason = next(iter(str(getattr(exc, "orig", None) or exc).splitlines()), "") or type(exc).__name__
        raise StoreUnavailable(f"Cannot {action} {shown}: {hide_passwords(reason, passwords)}") from exc


_URL_HEAD = re.compile(r"^[\w+]+://(?:[^:/]*(?::[^@]*)?@)?")
"""Scheme and user information of a URL, as SQLAlchemy reads them (the user information ends at its first ``@``)."""


def printable_url(database_url: str) -> str:
    """``database_url`` as a person types it (for DATABASE_URL, ``psql``, ``pg_dump``), without its
    password: a SQLite file as ``bot.config.sqlite_url`` writes it; PostgreSQL as ``postgresql://`` with
    user, host, port and database, and the query string kept exactly as given (libpq reads ``%20`` but
    not ``+`` as a space) less any ``...password=`` parameter. The user information keeps ``:***``
    where the URL had a password, so the reader knows one is needed."""
    url = parse_database_url(database_url)
    path = sqlite_file_path(url)
    if path is not None:
        return sqlite_url(path)
    if url.get_backend_name() != "postgresql":
        return describe_database(url)
    head = sa.URL.create("postgresql", url.username, None, url.host, url.port, url.database)
    shown = head.render_as_string(hide_password=False)
    if url.password:
        scheme, _, rest = shown.partition("://")
        user, at, place = rest.partition("@") if url.username else ("", "@", rest.removeprefix("@"))
        shown = f"{scheme}://{user}:***@{place if at else rest}"
    query = _URL_HEAD.sub("", database_url).partition("?")[2]
    kept = [part for part in query.split("&") if part and "password" not in part.partition("=")[0].lower()]
    return shown + ("?" + "&".join(kept) if kept else "")


# ------------------------------------------------------------------------------------ backup, restore


def pg_dump_command(database_url: str, file: Path) -> str | None:
    """For PostgreSQL, the ``pg_dump`` command that backs ``database_url`` up into ``file`` (custom format,
    restored with ``pg_restore``), without the password (pg_dump asks for it, or reads PGPASSWORD or
    ~/.pgpass), the query string as given (``printable_url``); None for SQLite."""
    url = parse_database_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    shown = printable_url(database_url).replace(":***@", "@", 1).replace("://@", "://", 1)
    return f"pg_dump --format=custom --file={shlex.quote(str(file))} {shlex.quote(shown)}"


def backup_database(database_url: str, file: Path, *, force: bool = False) -> BackupReport:
    """Copy the live SQLite database of ``database_url`` into ``file`` with SQLite's online backup API: one
    consistent state, while ``serve`` keeps writing (in WAL mode readers do not block writers).

    The copy is written next to ``file`` under a temporary name, checked (``PRAGMA integrity_check``) and
    then renamed over it, so ``file`` is never half-written. Raises CopyRefused for PostgreSQL (use
    ``pg_dump_command``), a missing database, a database that is not incidentbot's, ``file`` already
    existing without ``force``, or ``file`` being the database itself.
    """
    started = time.perf_counter()
    path = _sqlite_file(database_url, "back up")
    if path is None:
        raise CopyRefused(
            "db backup copies a SQLite file; DATABASE_URL names an in-memory database, which holds nothing to back up."
        )
    if not path.exists():
        raise CopyRefused(f"There is no database at {path} to back up (DATABASE_URL); nothing was created.")
    file = file.absolute()
    if file.is_dir():
        raise CopyRefused(f"{file} is a folder; name a file to write, e.g. {file / 'incidents-backup.db'}.")
    if file.resolve() == path.resolve() or (file.exists() and os.path.samefile(file, path)):
        raise CopyRefused(f"{file} is the database itself; back it up into another file.")
    if file.exists() and not force:
        raise CopyRefused(f"{file} already exists; name another file, or add --force to replace it.")
    if not file.parent.is_dir():
        raise CopyRefused(f"There is no folder {file.parent} to write {file.name} in.")
    partial = file.with_name(f".{file.name}.partial-{os.getpid()}")
    try:
        with closing(sqlite3.connect(sqlite_uri(path), uri=True, timeout=SQLITE_TIMEOUT_SECONDS)) as live:
            revision = _sqlite_revision(live, path)
            with closing(sqlite3.connect(sqlite_uri(partial, "rwc"), uri=True)) as copy:
                live.backup(copy)  # all pages in one step: one read transaction, one consistent snapshot
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                _require_intact(copy, partial)
                counts = _sqlite_counts(copy)
        os.replace(partial, file)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"Cannot back up {path} into {file}: {exc}.") from exc
    except OSError as exc:  # os.replace: the folder refuses the rename
        raise StoreUnavailable(f"Cannot back up {path} into {file}: {exc.strerror or exc}.") from exc
    finally:
        _remove_partial(partial)
    seconds = time.perf_counter() - started
    log.info("database_backed_up", database=str(path), file=str(file), revision=revision, seconds=seconds)
    return BackupReport(str(path), file, counts, revision, seconds)


def _remove_partial(partial: Path) -> None:
    """Remove a temporary copy and what SQLite may have left beside it (``-journal`` after a full disk,
    ``-wal``, ``-shm``); a folder that refuses (read-only) leaves them, and the error already said why."""
    for leftover in (partial, *(partial.with_name(partial.name + end) for end in ("-journal", "-wal", "-shm"))):
        with suppress(OSError):
            leftover.unlink(missing_ok=True)


def restore_database(file: Path, database_url: str, *, force: bool = False) -> BackupReport:
    """Restore the SQLite backup ``file`` into the SQLite database of ``database_url`` (SQLite's backup
    API), then compare both (row counts, timeline checksums). The bot must be stopped.

    Raises CopyRefused when ``file`` is missing, not a SQLite database, fails ``PRAGMA integrity_check``,
    holds no incidentbot schema or another revision than this incidentbot's head; when the target is not
    SQLite; when the target already holds incidentbot data (or other tables) and ``force`` is False.
    Raises CopyMismatch naming the first difference.
    """
    started = time.perf_counter()
    target = _sqlite_file(database_url, "restore into")
    if target is None:
        raise CopyRefused(
            "db restore writes a SQLite database; DATABASE_URL names an in-memory one, which is thrown away when "
            "the restore ends: point DATABASE_URL at a file (sqlite:///FILE)."
        )
    file = file.absolute()
    if not file.is_file():
        raise CopyRefused(f"There is no backup file {file}.")
    if target.exists() and (file.resolve() == target.resolve() or os.path.samefile(file, target)):
        raise CopyRefused(f"{file} is the database DATABASE_URL names; restore another file into it.")
    restored = create_store_engine(database_url)
    head = head_revision(restored)
    try:
        with closing(sqlite3.connect(sqlite_uri(file), uri=True)) as backup:
            _require_intact(backup, file)
            revision = _sqlite_revision(backup, file)
            if revision not in known_revisions(restored):
                raise CopyRefused(_unknown_revision("backup", str(file), revision, head))
            if revision != head:
                raise CopyRefused(
                    f"The backup {file} is at schema revision {revision}, this incidentbot at {head}: restore it into "
                    "a new file with the incidentbot that made it, or bring a copy of it up to date with "
                    f"`DATABASE_URL=sqlite:///COPY incidentbot db upgrade` and restore that."
                )
            if target.exists():
                _require_empty_sqlite(target, force=force)
            with closing(sqlite3.connect(target, timeout=SQLITE_TIMEOUT_SECONDS)) as live:
                backup.backup(live)
                _require_intact(live, target)
    except sqlite3.Error as exc:
        restored.dispose()
        raise StoreUnavailable(f"Cannot restore {file} into {target}: {exc}") from exc
    except CopyRefused:
        restored.dispose()
        raise
    tables = copy_tables()
    reading = create_store_engine(sqlite_url(file), read_only=True)
    try:
        with reading.connect() as connection:
            expected = _fingerprint(connection, tables)
        with restored.connect() as connection:
            found = _fingerprint(connection, tables)
    finally:
        reading.dispose()
        restored.dispose()
    difference = first_difference(expected, found, "the backup", "the restored database")
    if difference is not None:
        raise CopyMismatch(f"The restored database {target} does not match {file}: {difference}.")
    seconds = time.perf_counter() - started
    log.info("database_restored", database=str(target), file=str(file), revision=revision, seconds=seconds)
    return BackupReport(str(target), file, dict(expected.counts), revision, seconds)


_NOT_SQLITE = {
    "back up": "back it up with pg_dump (`incidentbot db backup FILE` prints the command)",
    "restore into": "restore a pg_dump file with pg_restore, or copy a SQLite backup into it with "
    "`incidentbot db copy --from sqlite:///FILE --to URL`",
}


def _sqlite_file(database_url: str, action: str) -> Path | None:
    """The SQLite file of ``database_url`` (None: in memory); CopyRefused for PostgreSQL, with what to use."""
    url = parse_database_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise CopyRefused(
            f"The SQLite backup API cannot {action} {describe_database(url)}, a PostgreSQL database: "
            f"{_NOT_SQLITE[action]}."
        )
    return sqlite_file_path(url)


def _require_intact(connection: sqlite3.Connection, path: Path) -> None:
    try:
        problems = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        raise CopyRefused(f"{path} is not a SQLite database ({exc}).") from exc
    if problems != ["ok"]:
        raise CopyRefused(f"{path} fails SQLite's integrity check: {'; '.join(problems[:3])}.")


def _sqlite_revision(connection: sqlite3.Connection, path: Path) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CopyRefused(f"{path} is not an incidentbot database (no schema revision: {exc}).") from exc
    if row is None:
        raise CopyRefused(f"{path} is not an incidentbot database (no schema revision).")
    return str(row[0])


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return sorted(str(row[0]) for row in rows)


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    present = set(_sqlite_tables(connection))
    return {
        table.name: int(connection.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0])
        for table in copy_tables()
        if table.name in present
    }


def _require_empty_sqlite(path: Path, *, force: bool) -> None:
    with closing(sqlite3.connect(path, timeout=SQLITE_TIMEOUT_SECONDS)) as connection:
        names = _sqlite_tables(connection)
        known = {table.name for table in copy_tables()} | {"alembic_version"}
        held = {
            name: count
            for name in names
            if name not in SEEDED_TABLES | {"alembic_version"}
            and (count := int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]))
        }
        foreign = [name for name in names if name not in known]
    if foreign:
        raise CopyRefused(
            _foreign_message(f"The database {path}", foreign, "restore into a new file (point DATABASE_URL at it)")
        )
    if held and not force:
        listed = ", ".join(f"{name}: {count:,}" for name, count in held.items())
        raise CopyRefused(
            f"The database {path} already holds data ({listed}): restore into a new file (point DATABASE_URL at "
            "it), or add --force to replace everything in it."
        )
