"""What `db copy`, `db backup` and `db restore` refuse, protect and say (issue 19's second round).

Most tests call bot.store.copy in process on small databases (fast); the command line runs only where
the user-facing line or exit status is the point. Every expected message is written out literally.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.config import sqlite_url
from bot.errors import ConfigError, StoreUnavailable
from bot.store.copy import (
    CopyInterrupted,
    CopyRefused,
    backup_database,
    copy_database,
    restore_database,
)
from bot.store.engine import create_store_engine
from bot.store.migrate import upgrade
from tests.support.cli import assert_one_line_error, incidentbot
from tests.support.history import contents, insert_history

INCIDENTS = 30


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small incidentbot database (30 incidents, 4 entries each) in journal mode DELETE, as a file
    copied from an older tool or left by `sqlite3` would be: a reader must not switch it to WAL."""
    folder = tmp_path_factory.mktemp("made")
    path = folder / "source.db"
    engine = create_store_engine(sqlite_url(path))
    try:
        upgrade(engine)
        insert_history(engine, INCIDENTS, 4)
    finally:
        engine.dispose()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    return path


@pytest.fixture()
def source(made: Path, tmp_path: Path) -> Path:
    """A fresh copy of ``made`` in this test's folder (journal mode DELETE: no -wal, no -shm)."""
    path = tmp_path / "source.db"
    shutil.copy(made, path)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


# ---------------------------------------------------------------------------------- 1. one database


class TestOneDatabaseUnderTwoNames:
    """A copy onto its own source would empty it (with --force): refused before anything is written."""

    @pytest.mark.parametrize("alias", ["symlink", "hardlink", "dotdot", "relative"])
    @pytest.mark.parametrize("force", [False, True])
    def test_a_sqlite_file_under_another_name_is_refused_and_left_as_it_was(
        self, source: Path, tmp_path: Path, alias: str, force: bool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "x").mkdir()
        other: Path | str
        if alias == "symlink":
            other = tmp_path / "link.db"
            other.symlink_to(source)
        elif alias == "hardlink":
            other = tmp_path / "hard.db"
            os.link(source, other)
        elif alias == "dotdot":
            other = tmp_path / "x" / ".." / "source.db"
        else:
            monkeypatch.chdir(tmp_path / "x")
            other = Path("../source.db")
        before = _sha256(source)
        with pytest.raises(CopyRefused) as refused:
            copy_database(sqlite_url(source), f"sqlite:///{other}", force=force)
        shown = Path(other).absolute()
        assert refused.value.user_message == (
            f"--from and --to name the same database ({source} and {shown} are one database); copy into another one."
        )
        assert _sha256(source) == before
        assert contents(sqlite_url(source))["incidents"]  # still holds its incidents

    def test_the_testers_example_dotdot_alias_with_force(self, source: Path, tmp_path: Path) -> None:
        """`--to sqlite:///../x/same.db` from inside x/: the same file, refused even with --force."""
        folder = tmp_path / "x"
        folder.mkdir()
        same = folder / "same.db"
        shutil.copy(source, same)
        before = _sha256(same)
        result = incidentbot(
            "db", "copy", "--to", "sqlite:///../x/same.db", "--force", database_url="sqlite:///same.db", cwd=folder
        )
        assert_one_line_error(
            result,
            f"incidentbot: --from and --to name the same database ({same} and {folder}/../x/same.db are one "
            "database); copy into another one.",
        )
        assert _sha256(same) == before

    @pytest.mark.postgres
    @pytest.mark.parametrize("alias", ["host-trailing-slash", "host-dot", "port-in-query"])
    def test_one_postgres_database_under_another_url_is_refused_and_keeps_its_rows(
        self, source: Path, postgres_url: str, alias: str
    ) -> None:
        copy_database(sqlite_url(source), postgres_url)
        held = contents(postgres_url)
        url = sa.make_url(postgres_url)
        host = str(url.query.get("host") or url.host or "")
        if alias == "host-trailing-slash" and host.startswith("/"):
            other = url.update_query_dict({"host": host + "/"})
        elif alias == "host-dot" and host.startswith("/"):
            other = url.update_query_dict({"host": host + "/."})
        elif alias == "port-in-query":
            other = url.set(port=None).update_query_dict({"port": str(url.port or 5432)})
        else:  # a TCP server: localhost for 127.0.0.1 (or the reverse)
            other = url.set(host="localhost" if url.host == "127.0.0.1" else "127.0.0.1")
        alias_url = other.render_as_string(hide_password=False)
        assert alias_url != postgres_url
        with pytest.raises(CopyRefused) as refused:
            copy_database(postgres_url, alias_url, force=True)
        assert refused.value.user_message.startswith("--from and --to name the same database (")
        assert refused.value.user_message.endswith(" are one database); copy into another one.")
        assert contents(postgres_url) == held


# ------------------------------------------------------------------------------ 5. the source is read


class TestTheSourceIsOnlyRead:
    def test_a_copy_leaves_the_source_file_byte_for_byte_and_in_its_journal_mode(
        self, source: Path, tmp_path: Path
    ) -> None:
        before = _sha256(source)
        copy_database(sqlite_url(source), sqlite_url(tmp_path / "target.db"))
        backup_database(sqlite_url(source), tmp_path / "backup.db")
        assert _sha256(source) == before
        assert _files(tmp_path) == ["backup.db", "source.db", "target.db"]
        with closing(sqlite3.connect(source)) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)

    def test_the_reading_engine_refuses_every_write(self, database_url: str) -> None:
        """SQLite opened with mode=ro, PostgreSQL in READ ONLY transactions: an INSERT fails."""
        writer = create_store_engine(database_url)
        try:
            upgrade(writer)
        finally:
            writer.dispose()
        reader = create_store_engine(database_url, read_only=True)
        try:
            with pytest.raises(sa.exc.DBAPIError) as refused, reader.begin() as connection:
                connection.execute(sa.text("CREATE TABLE scratch (x INTEGER)"))
        finally:
            reader.dispose()
        assert "readonly database" in str(refused.value) or "read-only transaction" in str(refused.value)


# ----------------------------------------------------------------------------------- 2. file names

NAMES = ["backup #3.db", "a?b.db", "a%20b.db", "100%.db", "two words.db", "ünïcødé.db", "semi;colon.db", "-lead.db"]


class TestFileNamesAreFileNames:
    @pytest.mark.parametrize("name", NAMES)
    def test_a_backup_restores_under_any_file_name_and_leaves_no_stray_file(
        self, source: Path, tmp_path: Path, name: str
    ) -> None:
        folder = tmp_path / "files"
        folder.mkdir()
        backup = folder / name
        backup_database(sqlite_url(source), backup)
        restored = restore_database(backup, sqlite_url(folder / "restored.db"))
        assert restored.counts["incidents"] == INCIDENTS
        assert contents(sqlite_url(folder / "restored.db")) == contents(sqlite_url(source))
        assert _files(folder) == sorted([name, "restored.db"])

    @pytest.mark.parametrize("name", NAMES)
    def test_a_file_named_anything_is_copied_from_and_into(self, source: Path, tmp_path: Path, name: str) -> None:
        odd = tmp_path / name
        shutil.copy(source, odd)
        target = tmp_path / f"to {name}"
        report = copy_database(sqlite_url(odd), sqlite_url(target))
        assert report.source == str(odd) and report.target == str(target)
        assert sa.make_url(report.target_url).database == str(target)  # the printed URL names that very file
        assert contents(sqlite_url(target)) == contents(sqlite_url(source))

    def test_the_testers_example_restore_backup_hash_3(self, source: Path, tmp_path: Path) -> None:
        backup = tmp_path / "backup #3.db"
        shutil.copy(source, backup)
        result = incidentbot("db", "restore", "backup #3.db", database_url="sqlite:///live.db", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.endswith(
            f"Checked: the row counts of 13 tables and the timelines of {INCIDENTS} incidents match the backup.\n"
        )
        assert _files(tmp_path) == ["backup #3.db", "live.db", "source.db"]


# ----------------------------------------------------------------------------- 6-9. bad places to write


class TestPlacesThatCannotHoldTheCopy:
    @pytest.mark.parametrize("option", ["--to", "--from"])
    def test_sqlite_with_two_slashes_is_named_with_the_fix(self, source: Path, option: str) -> None:
        with pytest.raises(ConfigError) as refused:
            if option == "--to":
                copy_database(sqlite_url(source), "sqlite://x.db")
            else:
                copy_database("sqlite://x.db", sqlite_url(source), source_option="--from")
        assert refused.value.user_message == (
            "sqlite://x.db is not a SQLite URL: use sqlite:///relative/path.db or sqlite:////absolute/path.db "
            f"(the URL given to {option})."
        )

    @pytest.mark.parametrize("command", [("db", "backup", "y.db"), ("db", "restore", "y.db")], ids=" ".join)
    def test_database_url_with_two_slashes_is_one_line(self, tmp_path: Path, command: tuple[str, ...]) -> None:
        result = incidentbot(*command, database_url="sqlite://x.db", cwd=tmp_path)
        assert_one_line_error(
            result,
            "incidentbot: sqlite://x.db is not a SQLite URL: use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db.",
        )
        assert _files(tmp_path) == []

    @pytest.mark.parametrize("memory", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"])
    def test_an_in_memory_target_is_refused(self, source: Path, memory: str) -> None:
        with pytest.raises(CopyRefused) as refused:
            copy_database(sqlite_url(source), memory)
        assert refused.value.user_message == (
            "--to names an in-memory SQLite database, which is thrown away when the copy ends: copy into a file "
            "(sqlite:///FILE) or PostgreSQL."
        )

    @pytest.mark.parametrize("force", [False, True])
    def test_a_backup_onto_a_folder_is_refused(self, source: Path, tmp_path: Path, force: bool) -> None:
        folder = tmp_path / "adir"
        folder.mkdir()
        with pytest.raises(CopyRefused) as refused:
            backup_database(sqlite_url(source), folder, force=force)
        assert refused.value.user_message == (
            f"{folder} is a folder; name a file to write, e.g. {folder}/incidents-backup.db."
        )
        assert _files(folder) == []

    def test_a_folder_that_refuses_the_rename_and_the_cleanup_is_one_message(
        self, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A read-only file system (simulated: root writes anywhere): the rename and every unlink fail."""

        def read_only(*_args: object, **_kwargs: object) -> None:
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(os, "replace", read_only)
        monkeypatch.setattr(Path, "unlink", read_only)
        with pytest.raises(StoreUnavailable) as failed:
            backup_database(sqlite_url(source), tmp_path / "b.db")
        assert failed.value.user_message == f"Cannot back up {source} into {tmp_path}/b.db: Read-only file system."

    def test_a_failed_backup_removes_the_temporary_file_and_the_journal_left_beside_it(
        self, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """As after a full disk (the tester found ``.b.db.partial-NNN-journal``): the rename fails with ENOSPC.
        (A stray -wal or -shm SQLite removes itself when the copy is closed; a -journal it leaves.)"""
        folder = tmp_path / "out"
        folder.mkdir()
        (folder / f".b.db.partial-{os.getpid()}-journal").write_bytes(b"left by SQLite")

        def disk_full(*_args: object, **_kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "replace", disk_full)
        with pytest.raises(StoreUnavailable) as failed:
            backup_database(sqlite_url(source), folder / "b.db")
        assert failed.value.user_message == f"Cannot back up {source} into {folder}/b.db: No space left on device."
        assert _files(folder) == []

    def test_a_full_disk_leaves_no_partial_file_nor_its_journal(self, source: Path, tmp_path: Path) -> None:
        """The command with a file-size limit below the database's size (as a full disk: SQLite sees EFBIG)."""
        size = source.stat().st_size
        assert size > 64 * 1024

        def limited() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, resource.RLIM_INFINITY))

        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER"))}
        env["DATABASE_URL"] = sqlite_url(source)
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "db", "backup", "b.db"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=limited,
            check=False,
        )
        assert_one_line_error(result, f"incidentbot: Cannot back up {source} into {tmp_path}/b.db: ")
        assert _files(tmp_path) == ["source.db"]


# --------------------------------------------------------------------- 10-11. another application's data


def _foreign(path: Path, rows: int, revision: str | None = None) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        connection.executemany("INSERT INTO users (name) VALUES (?)", [(f"user {n}",) for n in range(rows)])
        if revision is not None:
            connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        connection.commit()


class TestAnotherApplicationsDatabase:
    @pytest.mark.parametrize("rows", [0, 1])
    @pytest.mark.parametrize("force", [False, True])
    def test_a_copy_into_a_database_with_foreign_tables_is_refused_and_writes_nothing(
        self, source: Path, tmp_path: Path, rows: int, force: bool
    ) -> None:
        other = tmp_path / "other.db"
        _foreign(other, rows)
        before = _sha256(other)
        with pytest.raises(CopyRefused) as refused:
            copy_database(sqlite_url(source), sqlite_url(other), force=force)
        assert refused.value.user_message == (
            f"The target {other} holds tables incidentbot does not own: users; copy into an empty database."
        )
        assert _sha256(other) == before

    @pytest.mark.parametrize("force", [False, True])
    def test_a_restore_over_foreign_tables_is_refused_with_the_same_words(
        self, source: Path, tmp_path: Path, force: bool
    ) -> None:
        other = tmp_path / "other.db"
        _foreign(other, 1)
        with pytest.raises(CopyRefused) as refused:
            restore_database(source, sqlite_url(other), force=force)
        assert refused.value.user_message == (
            f"The database {other} holds tables incidentbot does not own: users; restore into a new file (point "
            "DATABASE_URL at it)."
        )
        with closing(sqlite3.connect(other)) as connection:
            assert connection.execute("SELECT name FROM users").fetchall() == [("user 0",)]

    @pytest.mark.parametrize("role", ["target", "source", "backup"])
    def test_a_revision_incidentbot_does_not_know_names_both_explanations(
        self, source: Path, tmp_path: Path, role: str
    ) -> None:
        other = tmp_path / "alembic-app.db"
        _foreign(other, 1, revision="ae1027a6acf")
        with pytest.raises(CopyRefused) as refused:
            if role == "target":
                copy_database(sqlite_url(source), sqlite_url(other))
            elif role == "source":
                copy_database(sqlite_url(other), sqlite_url(tmp_path / "new.db"))
            else:
                restore_database(other, sqlite_url(tmp_path / "new.db"))
        assert refused.value.user_message == (
            f"The {role} {other} is at schema revision ae1027a6acf, which is not one incidentbot knows (this one "
            "knows up to 0014): a database of another application (check the URL), or of a newer incidentbot "
            "(upgrade incidentbot: in its checkout, `git pull && pip install .`, and run the command again)."
        )


# ------------------------------------------------------------------------------------ 13. interrupted


class TestInterrupted:
    def test_ctrl_c_while_rows_are_copied_says_the_target_is_partly_filled(self, source: Path, tmp_path: Path) -> None:
        target = tmp_path / "target.db"
        batches: list[str] = []

        def interrupt_after_a_batch(table: str, done: int, total: int) -> None:
            if table:
                batches.append(table)
                raise KeyboardInterrupt

        with pytest.raises(CopyInterrupted) as stopped:
            copy_database(sqlite_url(source), sqlite_url(target), progress=interrupt_after_a_batch, batch_rows=10)
        assert stopped.value.user_message == (
            f"Interrupted: the target {target} is partly filled; run the same command with --force to copy again."
        )
        assert batches == ["change_events"] or len(batches) == 1
        assert isinstance(stopped.value, KeyboardInterrupt)  # the command still exits 130

    def test_ctrl_c_before_any_row_is_written_says_nothing_was_copied(
        self, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        target = tmp_path / "target.db"

        def interrupt(*_args: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr("bot.store.copy._require_same_tables", interrupt)
        with pytest.raises(CopyInterrupted) as stopped:
            copy_database(sqlite_url(source), sqlite_url(target))
        assert stopped.value.user_message == f"Interrupted: nothing was copied into {target}."

    def test_the_command_prints_the_line_and_exits_130_and_nothing_else(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        from bot.cli.main import main

        def interrupted(*_args: object, **_kwargs: object) -> None:
            # What psycopg logs when Ctrl-C lands inside a pipelined batch insert (psycopg/_pipeline.py).
            logging.getLogger("psycopg").warning("error ignored terminating %r: %s", "<Pipeline>", "canceled")
            raise CopyInterrupted("Interrupted: the target /x.db is partly filled; run the same command with --force.")

        monkeypatch.setattr("bot.compose.copy_data", interrupted)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABASE_URL", sqlite_url(tmp_path / "a.db"))
        level = logging.getLogger("psycopg").level
        try:
            assert main(["db", "copy", "--to", sqlite_url(tmp_path / "b.db")]) == 130
        finally:
            logging.getLogger("psycopg").setLevel(level)  # main() quiets it for the process: not for other tests
        captured = capsys.readouterr()
        assert captured.err == (
            "incidentbot: Interrupted: the target /x.db is partly filled; run the same command with --force.\n"
        )
        assert captured.out == ""
