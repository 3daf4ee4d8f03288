"""`incidentbot db copy`, `db backup` and `db restore` through the real command, as a process.

The source is the seed scenario (`incidentbot demo --keep`) plus 1,000 generated incidents with 8,000
timeline entries, participants, hypotheses, follow-ups, alert groups and events, pages, outbox rows and
processed Slack events (tests/support/history.py; the benchmark copies 10,000 and more). Every
comparison reads every column of every table on both sides (``contents``), independently of the copy's
own check.

Each kind of answer of the commands comes from a real process: a copy's summary (its stderr a pipe: no progress
bar), a refusal, the copy's own check failing, a copy killed with SIGKILL, a backup while `serve` writes, a
restore, a connection failure. The runs after that one in a test (the copy back, a forced copy, the re-run after
the kill, a declaration, a second refusal, the pg_dump advice, a restore refused) and the making of the demo
database run the same entry function in this process (``incidentbot_here``); the store's functions are called
directly where the test says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.store.copy import CopyMismatch, CopyRefused, backup_database, copy_database, restore_database
from bot.store.engine import create_store_engine
from bot.store.migrate import MIGRATIONS_DIR, upgrade
from tests.support.cli import assert_one_line_error, incidentbot, incidentbot_here
from tests.support.fake_slack import FakeSlack
from tests.support.history import contents, insert_history
from tests.support.serve_process import Server, free_port

GENERATED = 1_000
"""Generated incidents in the databases of the refusal, kill and backup tests."""
ROUND_TRIP = 10_000
"""Generated incidents in the round trip SQLite -> PostgreSQL -> SQLite: the issue's "realistic" size."""
ENTRIES_PER_INCIDENT = 8
PASSWORD = "Pa55-w0rd-never-shown"


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``seed``: the demo's database (`incidentbot demo --keep`, in this process: the demo as a process is
    test_cli_first_run's); ``history``: the same plus the generated history."""
    folder = tmp_path_factory.mktemp("sources")
    made = incidentbot_here("demo", "--keep", "seed.db", database_url=f"sqlite:///{folder / 'unused.db'}", cwd=folder)
    assert made.returncode == 0, made.stderr
    shutil.copy(folder / "seed.db", folder / "history.db")
    engine = create_store_engine(f"sqlite:///{folder / 'history.db'}")
    try:
        added = insert_history(engine, GENERATED, ENTRIES_PER_INCIDENT)
    finally:
        engine.dispose()
    assert added["incidents"] == GENERATED and added["timeline_entries"] == GENERATED * ENTRIES_PER_INCIDENT
    return {"seed": folder / "seed.db", "history": folder / "history.db"}


@pytest.fixture(scope="module")
def large_source(sources: dict[str, Path]) -> Path:
    """The seed plus ``ROUND_TRIP`` generated incidents, made only in a worker that runs the round trip."""
    large = sources["seed"].with_name("large.db")
    shutil.copy(sources["seed"], large)
    engine = create_store_engine(_url(large))
    try:
        added = insert_history(engine, ROUND_TRIP, ENTRIES_PER_INCIDENT)
    finally:
        engine.dispose()
    assert added["incidents"] == ROUND_TRIP
    return large


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _with_password(url: str) -> str:
    return sa.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.mark.postgres
class TestCopyToPostgresAndBack:
    def test_sqlite_to_postgres_to_a_new_sqlite_keeps_every_row_and_numbering_continues(
        self, large_source: Path, postgres_url: str, tmp_path: Path
    ) -> None:
        """The seed plus 10,000 generated incidents (80,000 entries): every column of every table (outbox and
        processed events included) is equal on all three; the next incident declared on PostgreSQL is
        INC-10002. The copy there is a real process; the copy back and the declaration run in this process."""
        source = _url(large_source)
        # A hang guard, not a time limit: 10,000 incidents take about 9 s on a quiet 2-core machine and took more
        # than 60 s under a load average of 10.
        there = incidentbot("db", "copy", "--to", postgres_url, database_url=source, cwd=tmp_path, timeout=300)
        assert there.returncode == 0, there.stderr
        assert there.stderr == ""  # no progress bar, no log line: stderr is a pipe here
        assert (
            "Checked: the row counts of 13 tables and the timelines of 10,001 incidents match. "
            "The next incident there is INC-10002." in there.stdout
        )
        expected = contents(source)
        assert len(expected["incidents"]) == 10_001 and len(expected["timeline_entries"]) == 80_016
        assert len(expected["outbox"]) == 2_500 and len(expected["processed_events"]) == 3_334
        assert contents(postgres_url) == expected

        back = tmp_path / "back.db"
        again = incidentbot_here(
            "db", "copy", "--from", postgres_url, "--to", _url(back), database_url=source, cwd=tmp_path
        )
        assert again.returncode == 0, again.stderr
        assert contents(_url(back)) == expected

        declared = incidentbot_here(
            "run", "declare sev2 First incident on PostgreSQL", database_url=postgres_url, cwd=tmp_path
        )
        assert declared.returncode == 0, declared.stderr
        assert declared.stdout.startswith("INC-10002 · Incident declared (sev2): First incident on PostgreSQL")

    def test_a_target_holding_data_is_refused_and_force_replaces_it(
        self, sources: dict[str, Path], postgres_url: str, tmp_path: Path
    ) -> None:
        """The refusal is a real process; the forced copy runs the entry function in this process."""
        copy_database(_url(sources["seed"]), postgres_url)  # in process: the command's start-up is tested below
        seeded = contents(postgres_url)

        refused = incidentbot("db", "copy", "--to", postgres_url, database_url=_url(sources["history"]), cwd=tmp_path)
        assert_one_line_error(
            refused,
            "already holds data (change_events: 1, incidents: 1, followups: 3, hypotheses: 2, participants: 3, "
            "timeline_entries: 16): copy into an empty database, or add --force to delete everything in it first.",
        )
        assert refused.returncode == 1
        assert contents(postgres_url) == seeded

        forced = incidentbot_here(
            "db", "copy", "--to", postgres_url, "--force", database_url=_url(sources["history"]), cwd=tmp_path
        )
        assert forced.returncode == 0, forced.stderr
        assert contents(postgres_url) == contents(_url(sources["history"]))

    def test_a_copy_killed_with_sigkill_is_re_run_with_force_to_the_same_end(
        self, sources: dict[str, Path], postgres_url: str, tmp_path: Path
    ) -> None:
        """kill -9 once the target has incidents but not yet its timelines (copied last); the re-run without
        --force is refused, with --force it ends equal to the source (the killed copy a real process, the re-run
        with --force the entry function in this process)."""
        big = tmp_path / "big.db"
        shutil.copy(sources["seed"], big)
        engine = create_store_engine(_url(big))
        try:
            insert_history(engine, 2 * GENERATED, ENTRIES_PER_INCIDENT)
        finally:
            engine.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER"))}
        env["DATABASE_URL"] = _url(big)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "db", "copy", "--to", postgres_url],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        watcher = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        try:
            copied = _wait_for_rows(watcher, process, "incidents")
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL
            with watcher.connect() as connection:
                entries = connection.execute(sa.text("SELECT count(*) FROM timeline_entries")).scalar_one()
        finally:
            watcher.dispose()
            if process.poll() is None:
                process.kill()
        assert copied > 0
        assert entries < (2 * GENERATED) * ENTRIES_PER_INCIDENT + 16, "the kill should land before the last table"

        with pytest.raises(CopyRefused) as refused:  # in process (the command's refusal is tested above)
            copy_database(_url(big), postgres_url)
        assert "already holds data (" in refused.value.user_message
        rerun = incidentbot_here("db", "copy", "--to", postgres_url, "--force", database_url=_url(big), cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        assert "the timelines of 2,001 incidents match" in rerun.stdout
        assert contents(postgres_url) == contents(_url(big))

    def test_passwords_are_never_shown(self, sources: dict[str, Path], postgres_url: str, tmp_path: Path) -> None:
        """Neither a copy's summary, nor its refusal, nor a connection failure, nor the pg_dump advice
        prints the password of any URL given (PostgreSQL here trusts local connections: any password works). The
        copy and the connection failure are real processes; the refusal and the pg_dump advice run the entry
        function in this process."""
        target = _with_password(postgres_url)
        done = incidentbot("db", "copy", "--to", target, database_url=_url(sources["seed"]), cwd=tmp_path)
        refused = incidentbot_here("db", "copy", "--to", target, database_url=_url(sources["seed"]), cwd=tmp_path)
        unreachable = incidentbot(
            "db",
            "copy",
            "--from",
            target,
            "--to",
            f"postgresql://admin:{PASSWORD}@127.0.0.1:1/incidents",
            database_url=_url(sources["seed"]),
            cwd=tmp_path,
        )
        dump = incidentbot_here("db", "backup", "nightly.dump", database_url=target, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert ":***@" in done.stdout
        assert_one_line_error(refused, ":***@", "already holds data")
        assert_one_line_error(unreachable, "Cannot copy postgresql+psycopg://admin:***@127.0.0.1:1/incidents: ")
        assert dump.returncode == 0, dump.stderr
        assert "pg_dump --format=custom --file=nightly.dump 'postgresql://postgres@/" in dump.stdout
        assert not (tmp_path / "nightly.dump").exists()
        for result in (done, refused, unreachable, dump):
            assert PASSWORD not in result.stdout + result.stderr
            assert "Traceback" not in result.stderr


class TestTheCheckAfterTheCopy:
    """A target that quietly changes what it is given (a trigger) fails the copy's own check, named."""

    @pytest.mark.postgres
    def test_a_row_the_target_drops_is_named_by_its_table_and_counts(
        self, sources: dict[str, Path], postgres_url: str, tmp_path: Path
    ) -> None:
        engine = create_store_engine(postgres_url)
        try:
            upgrade(engine)
            with engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "CREATE FUNCTION drop_fifth() RETURNS trigger AS $$ BEGIN "
                        "IF NEW.id = 5 THEN RETURN NULL; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                    )
                )
                connection.execute(
                    sa.text(
                        "CREATE TRIGGER drop_fifth BEFORE INSERT ON timeline_entries "
                        "FOR EACH ROW EXECUTE FUNCTION drop_fifth()"
                    )
                )
        finally:
            engine.dispose()
        result = incidentbot("db", "copy", "--to", postgres_url, database_url=_url(sources["seed"]), cwd=tmp_path)
        assert_one_line_error(
            result, "does not match", ": timeline_entries: 16 rows in the source, 15 rows in the target. Run the copy"
        )

    def test_a_timeline_text_the_target_changes_is_named_by_its_incident(
        self, sources: dict[str, Path], tmp_path: Path
    ) -> None:
        target = tmp_path / "target.db"
        engine = create_store_engine(_url(target))
        try:
            upgrade(engine)
            with engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "CREATE TRIGGER touch AFTER INSERT ON timeline_entries WHEN NEW.id = 5 BEGIN "
                        "UPDATE timeline_entries SET text = text || '!' WHERE id = NEW.id; END"
                    )
                )
        finally:
            engine.dispose()
        with pytest.raises(CopyMismatch) as mismatch:  # in process (the command's answer is tested above)
            copy_database(_url(sources["seed"]), _url(target))
        assert mismatch.value.user_message.startswith(
            f"The copy to {target} does not match {sources['seed']}: INC-1's timeline differs: checksum "
        )


def _wait_for_rows(engine: sa.Engine, process: subprocess.Popen[bytes], table: str) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the copy ended before it could be killed"
        try:
            with engine.connect() as connection:
                found = int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
        except sa.exc.ProgrammingError:  # the table is not created yet
            found = 0
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {table} row was copied within 30 s")


class TestSchemaRevisions:
    def test_a_source_behind_this_incidentbot_is_refused_with_the_upgrade_command(
        self, sources: dict[str, Path], tmp_path: Path
    ) -> None:
        old = tmp_path / "old.db"
        engine = create_store_engine(_url(old))
        try:
            upgrade(engine, "0006")
        finally:
            engine.dispose()
        target = tmp_path / "new.db"
        # In this process: the command's one-line refusal as a process is test_a_target_holding_data_is_refused...
        result = incidentbot_here("db", "copy", "--to", _url(target), database_url=_url(old), cwd=tmp_path)
        assert_one_line_error(
            result,
            f"The source {old} is at schema revision 0006, this incidentbot at {_head()}: run "
            f"`DATABASE_URL=sqlite:///{old} incidentbot db upgrade`, then copy again.",
        )
        assert not target.exists()  # refused before the target was touched

    def test_a_target_from_a_newer_incidentbot_is_refused_with_upgrade_incidentbot(
        self, sources: dict[str, Path], tmp_path: Path
    ) -> None:
        newer = tmp_path / "newer.db"
        engine = create_store_engine(_url(newer))
        try:
            upgrade(engine)
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        finally:
            engine.dispose()
        with pytest.raises(CopyRefused) as refused:  # in process (the command's refusals are tested above)
            copy_database(_url(sources["seed"]), _url(newer))
        assert refused.value.user_message == (
            f"The target {newer} is at schema revision 9999, which is not one incidentbot knows (this one knows up "
            f"to {_head()}): a database of another application (check the URL), or of a newer incidentbot (upgrade "
            "incidentbot: in its checkout, `git pull && pip install .`, and run the command again)."
        )


@pytest.fixture()
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


def _sqlite_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return [tuple(row) for row in connection.execute(sql)]


class TestBackupWhileServing:
    def test_backups_taken_while_serve_writes_100_notes_are_consistent_and_lose_none(
        self, tmp_path: Path, fake: FakeSlack
    ) -> None:
        """Each backup passes SQLite's integrity check and holds whole notes only (INC-1's version moved
        with every note it holds); a backup taken mid-way restores equal; the live database has all 100. The
        backups and the restore are real processes; the restore over the live database (refused) runs in this
        process."""
        live = tmp_path / "live.db"
        server = Server(live, free_port(), fake).start()
        try:
            status, text = server.command("declare sev1 CDN edge returning 502s")
            assert status == 200 and "INC-1" in text, text
            channel = str(fake.wait_for("conversations.create", timeout=10)[0].response["channel"]["id"])  # type: ignore[index]
            fake.wait_for("pins.add", timeout=10)  # the channel is bound to INC-1: a note there is INC-1's
            answers: list[tuple[int, str]] = []

            def write_notes() -> None:
                for n in range(100):
                    answers.append(server.command(f"note backup check {n}", channel))
                    time.sleep(0.015)  # the notes span 1.5 s at least: the first backup (a process start) lands mid-way

            writer = threading.Thread(target=write_notes)
            writer.start()
            while len(answers) < 5:
                time.sleep(0.01)
            backups = []
            while writer.is_alive() and len(backups) < 3:
                backup = tmp_path / f"backup-{len(backups)}.db"
                made = incidentbot("db", "backup", str(backup), database_url=_url(live), cwd=tmp_path)
                assert made.returncode == 0, made.stderr
                assert f"Backed up {live} into {backup} (schema revision {_head()}, integrity ok)" in made.stdout
                backups.append(backup)
            writer.join(timeout=60)
        finally:
            assert server.stop() == 0

        assert answers == [(200, f"INC-1 · Note: backup check {n}") for n in range(100)]
        notes_sql = "SELECT text FROM timeline_entries WHERE kind = 'note' ORDER BY id"
        assert [row[0] for row in _sqlite_rows(live, notes_sql)] == [f"backup check {n}" for n in range(100)]
        version_sql = "SELECT version FROM incidents WHERE number = 1"
        offset = int(str(_sqlite_rows(live, version_sql)[0][0])) - 100  # INC-1's version before the first note
        held = []
        for backup in backups:
            assert _sqlite_rows(backup, "PRAGMA integrity_check") == [("ok",)]
            notes = [row[0] for row in _sqlite_rows(backup, notes_sql)]
            assert notes == [f"backup check {n}" for n in range(len(notes))]  # a prefix: none lost, none torn
            assert int(str(_sqlite_rows(backup, version_sql)[0][0])) == offset + len(notes)
            held.append(len(notes))
        assert 0 < held[0] < 100, f"the first backup should land mid-way: {held}"

        restored = tmp_path / "restored.db"
        result = incidentbot("db", "restore", str(backups[0]), database_url=_url(restored), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Checked: the row counts of 13 tables and the timelines of 1 incident match the backup." in result.stdout
        assert contents(_url(restored)) == contents(_url(backups[0]))

        with pytest.raises(CopyRefused) as again:
            backup_database(_url(live), backups[0])
        assert (
            again.value.user_message == f"{backups[0]} already exists; name another file, or add --force to replace it."
        )
        over = incidentbot_here("db", "restore", str(backups[0]), database_url=_url(live), cwd=tmp_path)
        assert_one_line_error(over, f"The database {live} already holds data (", "add --force")


class TestRestoreChecks:
    """What ``db restore`` checks in the file (called in process: the CLI's refusal path is the one above)."""

    def test_a_file_that_is_not_an_incidentbot_database_is_refused(self, tmp_path: Path) -> None:
        garbage = tmp_path / "notes.txt"
        garbage.write_text("not a database at all, just some text that is long enough" * 20)
        plain = tmp_path / "plain.db"
        with closing(sqlite3.connect(plain)) as connection:
            connection.execute("CREATE TABLE t (x)")
        target = _url(tmp_path / "target.db")
        with pytest.raises(CopyRefused) as not_sqlite:
            restore_database(garbage, target)
        with pytest.raises(CopyRefused) as not_ours:
            restore_database(plain, target)
        assert not_sqlite.value.user_message == f"{garbage} is not a SQLite database (file is not a database)."
        assert not_ours.value.user_message == (
            f"{plain} is not an incidentbot database (no schema revision: no such table: alembic_version)."
        )
        assert not (tmp_path / "target.db").exists()

    def test_a_backup_at_another_schema_revision_is_refused_with_what_to_do(self, tmp_path: Path) -> None:
        old = tmp_path / "old-backup.db"
        engine = create_store_engine(_url(old))
        try:
            upgrade(engine, "0006")
        finally:
            engine.dispose()
        with pytest.raises(CopyRefused) as refused:
            restore_database(old, _url(tmp_path / "target.db"))
        assert refused.value.user_message == (
            f"The backup {old} is at schema revision 0006, this incidentbot at {_head()}: restore it into a new "
            "file with the incidentbot that made it, or bring a copy of it up to date with "
            "`DATABASE_URL=sqlite:///COPY incidentbot db upgrade` and restore that."
        )
        assert not (tmp_path / "target.db").exists()


class TestStoreCalls:
    """The store's functions called in process (no command start-up): the refusals the CLI tests above do
    not reach, and a forced restore."""

    def test_one_database_named_twice_is_refused(
        self, sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(sources["seed"].parent)
        with pytest.raises(CopyRefused) as refused:
            copy_database("sqlite:///seed.db", _url(sources["seed"]))
        assert refused.value.user_message == (
            f"--from and --to name the same database ({sources['seed']}); copy into another one."
        )

    def test_a_missing_source_file_is_refused_and_not_created(self, tmp_path: Path) -> None:
        missing = tmp_path / "nowhere.db"
        with pytest.raises(CopyRefused) as refused:
            copy_database(_url(missing), _url(tmp_path / "target.db"))
        assert refused.value.user_message == (
            f"There is no database at {missing} to copy from (--from, or DATABASE_URL); nothing was created."
        )
        assert not missing.exists() and not (tmp_path / "target.db").exists()

    @pytest.mark.postgres
    def test_backup_and_restore_refuse_postgresql_with_what_to_use(self, postgres_url: str, tmp_path: Path) -> None:
        with pytest.raises(CopyRefused) as restore:
            restore_database(tmp_path / "backup.db", postgres_url)
        with pytest.raises(CopyRefused) as backup:
            backup_database(postgres_url, tmp_path / "backup.db")
        assert (
            "a PostgreSQL database: restore a pg_dump file with pg_restore, or copy a SQLite backup into it with "
            "`incidentbot db copy --from sqlite:///FILE --to URL`." in restore.value.user_message
        )
        assert backup.value.user_message.endswith(
            "a PostgreSQL database: back it up with pg_dump (`incidentbot db backup FILE` prints the command)."
        )

    def test_a_forced_restore_replaces_a_database_that_holds_data(
        self, sources: dict[str, Path], tmp_path: Path
    ) -> None:
        live = tmp_path / "live.db"
        shutil.copy(sources["seed"], live)
        backup = tmp_path / "history-backup.db"
        made = backup_database(_url(sources["history"]), backup)
        assert made.counts["incidents"] == 1 + GENERATED
        with pytest.raises(CopyRefused):
            restore_database(backup, _url(live))
        assert contents(_url(live)) == contents(_url(sources["seed"]))  # refused: untouched
        restored = restore_database(backup, _url(live), force=True)
        assert restored.counts["timeline_entries"] == 16 + GENERATED * ENTRIES_PER_INCIDENT
        assert contents(_url(live)) == contents(_url(sources["history"]))
