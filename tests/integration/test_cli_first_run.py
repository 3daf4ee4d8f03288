"""Issue 13, items 1-5 and 10-11: the first run and the CLI as a new user meets them, through real processes.

Each check runs ``python -m bot.cli.main`` (or the installed ``incidentbot`` script) in a fresh folder
with only the settings it names, and checks exit status, the one line on stderr and what is left on disk.
Set-up that only puts INC-1 in a database (``declare_one``) and the reads that confirm a refusal recorded nothing
run the same entry function in this process (``incidentbot_here``), and so do the variants of a bad DATABASE_URL
that take a path another case already takes through a process (``test_a_bad_url_is_one_line``). Where a test is
parametrised over commands or spellings whose outcome is of one kind (a one-line refusal, a usage error, an
answer), at least one case runs a real process and the others the entry function in this process; each test's
docstring names which. The demo, its suggested commands pasted into a shell, the closed pipe, matplotlib missing,
every `serve` and the installed script stay processes.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa

from bot.cli.main import _parser
from bot.store import open_store
from bot.store.engine import create_store_engine
from bot.store.migrate import current_revision, upgrade
from tests.support.cli import incidentbot_here

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "incidentbot"
SLOS = ROOT / "slos.yml"  # cdn-edge, checkout-api, search
HEAD = max(p.name[:4] for p in (ROOT / "bot/store/migrations/versions").glob("0*.py"))
"""The newest shipped schema revision, read from the migration files' names."""
OLDER = f"{int(HEAD) - 1:04d}"


def cli(
    *args: str,
    cwd: Path,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    script: bool = False,
    python: tuple[str, ...] = ("-m", "bot.cli.main"),
) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process in ``cwd``, with no setting of the caller's environment but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_URL"))}
    if database_url is not None:
        clean["DATABASE_URL"] = database_url
    clean.update(env or {})
    command = [str(SCRIPT)] if script else [sys.executable, *python]
    return subprocess.run(
        [*command, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=90, check=False
    )


def one_line_error(result: subprocess.CompletedProcess[str], expected_status: int = 1) -> str:
    """The single ``incidentbot: ...`` line of a failure (no traceback, nothing else on stderr)."""
    assert result.returncode == expected_status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("incidentbot: "), lines[0]
    return lines[0]


def revision(database_url: str) -> str | None:
    engine = create_store_engine(database_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def run_cli(
    in_process: bool, *args: str, cwd: Path, database_url: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``cli(*args, ...)`` in a child process, or (``in_process``) the same entry function with the same settings
    in this process (``incidentbot_here``)."""
    if in_process:
        return incidentbot_here(*args, cwd=cwd, database_url=database_url, settings=dict(env or {}))
    return cli(*args, cwd=cwd, database_url=database_url, env=env)


@pytest.fixture(scope="module")
def shell_stub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding an ``incidentbot`` that only prints, NUL-separated, whether DATABASE_URL was set, its value
    and the arguments: put first on PATH, it shows what a shell made of a pasted line, without starting Python."""
    folder = tmp_path_factory.mktemp("stub")
    stub = folder / "incidentbot"
    stub.write_text('#!/bin/sh\nprintf \'%s\\0\' "${DATABASE_URL+set}" "$DATABASE_URL" "$@"\n')
    stub.chmod(0o755)
    return folder


def paste(line: str, cwd: Path, bin_folder: Path) -> subprocess.CompletedProcess[str]:
    """``line`` pasted into ``sh`` in ``cwd``, ``bin_folder`` first on PATH, no DATABASE_URL of the caller's."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PATH"] = f"{bin_folder}{os.pathsep}{env['PATH']}"
    return subprocess.run(["sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=90, check=False)


def paste_here(line: str, cwd: Path, stub: Path) -> subprocess.CompletedProcess[str]:
    """``line`` parsed by ``sh`` (through ``shell_stub``: quoting, globbing, ``#``), then the DATABASE_URL and the
    arguments the shell gave ``incidentbot`` run through the entry function in this process."""
    parsed = paste(line, cwd, stub)
    assert parsed.returncode == 0, parsed.stderr
    is_set, url, *args = parsed.stdout.split("\0")[:-1]
    return incidentbot_here(*args, cwd=cwd, database_url=url if is_set else None)


def declare_one(database_url: str, cwd: Path) -> None:
    """INC-1 through the CLI's entry function, in this process (set-up: the process is what the tests check next)."""
    result = incidentbot_here("run", "declare sev2 checkout is down", cwd=cwd, database_url=database_url)
    assert result.returncode == 0, result.stderr


class TestReadmeCommands:
    def test_ci_reads_the_two_readme_commands(self) -> None:
        """.ci/run runs these two lines from README.md verbatim: a venv, then the install and demo / tests."""
        result = subprocess.run(
            [sys.executable, ".ci/readme_commands.py", "README.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            "python3 -m venv .venv && . .venv/bin/activate && pip install . && incidentbot demo",
            "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' "
            "&& pytest -q -n 4 --dist worksteal",
        ]

    def test_the_readme_says_python_311_and_pipx_before_the_first_command(self) -> None:
        """A new user reads the version and the pipx alternative in "Try it", where the first command is."""
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        try_it = readme[readme.index("## Try it") : readme.index("## Run the tests")]
        assert "Python 3.11+" in try_it and "pipx install ." in try_it and "python3-venv" in try_it


class TestDemo:
    def test_demo_writes_nothing_here_and_says_how_to_keep_it(self, tmp_path: Path) -> None:
        """Without --keep the folder stays empty (no incidents.db) and the last lines say so and what to do."""
        result = cli("demo", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert list(tmp_path.iterdir()) == []
        assert result.stdout.splitlines()[-2:] == [
            "The demo ran in a temporary database, now deleted: nothing was written here. To explore it, run",
            "`incidentbot demo --keep`, which keeps it in incidentbot-demo.db and shows commands that read it.",
        ]

    @pytest.mark.parametrize(("keep", "file"), [((), "incidentbot-demo.db"), (("my demo.db",), "my demo.db")])
    def test_demo_keep_ends_with_commands_that_work(
        self, tmp_path: Path, keep: tuple[str, ...], file: str, shell_stub: Path
    ) -> None:
        """Every command `demo --keep` suggests, pasted into a shell in that folder, reads the demo's INC-1. The demo
        is a real process; the first suggested line runs in `sh` with the installed script; the other two are parsed
        by `sh` (``paste_here``) and run through the entry function in this process."""
        result = cli("demo", "--keep", *keep, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [file]
        suggested = [line.strip() for line in result.stdout.splitlines() if line.startswith("  DATABASE_URL=")]
        assert [shlex.split(line)[1:] for line in suggested] == [
            ["incidentbot", "timeline", "INC-1"],
            ["incidentbot", "postmortem", "INC-1"],
            ["incidentbot", "list"],
        ]
        outputs = []
        for index, line in enumerate(suggested):
            run = paste(line, tmp_path, SCRIPT.parent) if index == 0 else paste_here(line, tmp_path, shell_stub)
            assert run.returncode == 0, (line, run.stderr)
            outputs.append(run.stdout)
        assert outputs[0].startswith("INC-1 timeline (UTC) · CDN edge returning 502s above the 5% alerting threshold\n")
        assert outputs[1].startswith("# INC-1 Postmortem: CDN edge returning 502s above the 5% alerting threshold")
        assert re.match(r"INC-1  sev1  resolved .*CDN edge returning 502s", outputs[2])

    @pytest.mark.parametrize("name", ["incidents%2Edb", "a?b.db", "a?mode=ro", "x#y.db", "50% done.db"])
    def test_demo_keep_writes_exactly_the_file_named(self, tmp_path: Path, name: str, shell_stub: Path) -> None:
        """Characters that mean something in a URL (`?`, `%xx`, `#`) are part of the file name: the demo writes
        that file and nothing else, and never a neighbour such as `incidents.db` (a real database). For
        `incidents%2Edb` the demo, the suggested `list` pasted into `sh` and the second demo are real processes;
        for the other names the same steps run the entry function in this process, the pasted line parsed by `sh`
        (``paste_here``)."""
        here = name != "incidents%2Edb"
        (tmp_path / "incidents.db").write_bytes(b"precious")
        result = run_cli(here, "demo", "--keep", name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == sorted(
            ["incidents.db", name]
        )
        assert (tmp_path / "incidents.db").read_bytes() == b"precious"
        suggested = [line.strip() for line in result.stdout.splitlines() if line.startswith("  DATABASE_URL=")]
        listed = (
            paste_here(suggested[2], tmp_path, shell_stub) if here else paste(suggested[2], tmp_path, SCRIPT.parent)
        )
        assert listed.returncode == 0, listed.stderr
        assert re.match(r"INC-1  sev1  resolved .*CDN edge returning 502s", listed.stdout)
        again = one_line_error(run_cli(here, "demo", "--keep", name, cwd=tmp_path))
        assert again.startswith(f"incidentbot: {name} already exists; the demo never overwrites a file")

    def test_demo_keep_with_an_empty_name_is_refused(self, tmp_path: Path) -> None:
        line = one_line_error(cli("demo", "--keep", "", cwd=tmp_path), expected_status=2)
        assert line == "incidentbot: demo --keep needs a file name, e.g. `incidentbot demo --keep demo.db`."
        assert list(tmp_path.iterdir()) == []

    def test_demo_keep_never_overwrites_a_file(self, tmp_path: Path) -> None:
        """An existing file is refused in one line and left as it was."""
        (tmp_path / "incidentbot-demo.db").write_bytes(b"precious")
        line = one_line_error(cli("demo", "--keep", cwd=tmp_path))
        assert line == (
            "incidentbot: incidentbot-demo.db already exists; the demo never overwrites a file: remove it, or keep "
            "the demo elsewhere with `incidentbot demo --keep FILE`."
        )
        assert (tmp_path / "incidentbot-demo.db").read_bytes() == b"precious"


READ_COMMANDS = [
    ("list", "--format", "json"),
    ("timeline", "INC-1"),
    ("postmortem", "INC-1"),
    ("slo", "cdn-edge"),
    ("report", "--format", "csv"),
    ("outbox",),
    ("outbox", "--status", "dead"),
    ("run", "list"),
    ("run", "INC-1 status"),
    ("run", "INC-1 timeline"),
    ("run", "INC-1 postmortem"),
    ("run", "slo"),
]
"""Every command that only reads; each must leave the database (or its absence) as it found it."""
READS_BY_PROCESS = frozenset({("list", "--format", "json"), ("run", "INC-1 status")})
"""The read commands given to a real process (a subcommand, a `run` verb) where every read command is checked;
the others run the entry function in this process: the same refusal, without an interpreter start-up each."""
WITH_SLOS = {"INCIDENT_SLO_FILE": str(SLOS)}


@pytest.fixture(scope="module")
def older_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite database one schema revision behind this incidentbot's."""
    url = f"sqlite:///{tmp_path_factory.mktemp('older') / 'incidents.db'}"
    engine = create_store_engine(url)
    upgrade(engine, OLDER)
    engine.dispose()
    yield url


class TestReadsNeverWrite:
    @pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
    def test_no_database_is_created(self, tmp_path: Path, command: tuple[str, ...]) -> None:
        """With the default DATABASE_URL and no database here, one line names the file, and none appears (a real
        process for READS_BY_PROCESS, the entry function in this process for the other commands)."""
        line = one_line_error(run_cli(command not in READS_BY_PROCESS, *command, cwd=tmp_path, env=WITH_SLOS))
        assert line.startswith(f"incidentbot: There is no database at {tmp_path / 'incidents.db'} ")
        assert "DATABASE_URL sqlite:///incidents.db" in line and "nothing was created" in line
        assert list(tmp_path.iterdir()) == []

    def test_help_needs_no_database(self, tmp_path: Path) -> None:
        """`run help` answers without opening any database, and leaves the folder empty."""
        result = cli("run", "help", cwd=tmp_path)
        assert result.returncode == 0 and result.stdout.startswith("Commands:\n"), result.stderr
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
    def test_an_older_schema_is_not_migrated(self, older_database: str, command: tuple[str, ...]) -> None:
        """A database behind this version is named, `db upgrade` is suggested, and its revision is unchanged (a real
        process for READS_BY_PROCESS, the entry function in this process for the other commands)."""
        folder = Path(older_database.removeprefix("sqlite:///")).parent
        here = command not in READS_BY_PROCESS
        line = one_line_error(run_cli(here, *command, cwd=folder, database_url=older_database, env=WITH_SLOS))
        assert line == (
            f"incidentbot: The database {folder / 'incidents.db'} has an older schema (revision {OLDER}; this "
            f"incidentbot reads {HEAD}): run `incidentbot db upgrade` first (commands that only read never change "
            "the database)."
        )
        assert revision(older_database) == OLDER

    @pytest.mark.postgres
    @pytest.mark.parametrize("command", [("list",), ("timeline", "INC-1"), ("report",)], ids=" ".join)
    def test_postgres_without_schema_is_left_alone(
        self, postgres_url: str, tmp_path: Path, command: tuple[str, ...]
    ) -> None:
        """On an empty PostgreSQL database a read names it (password hidden) and creates no table."""
        line = one_line_error(cli(*command, cwd=tmp_path, database_url=postgres_url))
        shown = sa.make_url(postgres_url).set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        assert line.startswith(f"incidentbot: The database {shown} holds no incidentbot data (no schema)")
        engine = create_store_engine(postgres_url)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()

    def test_an_empty_answer_names_the_database(self, database_url: str, tmp_path: Path) -> None:
        """list, outbox and report on an empty, current database say which database they read (`list` a real
        process, `outbox` and `report` the entry function in this process)."""
        open_store(database_url).dispose()
        url = sa.make_url(database_url)
        shown = (
            str(tmp_path / "incidents.db")
            if url.get_backend_name() == "sqlite"
            else url.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        )
        listed = cli("list", cwd=tmp_path, database_url=database_url)
        assert (listed.returncode, listed.stdout) == (0, f"No incidents in {shown}.\n")
        dead = incidentbot_here("outbox", "--status", "dead", cwd=tmp_path, database_url=database_url)
        assert (dead.returncode, dead.stdout) == (0, f"No outbox item has been given up on (database: {shown}).\n")
        report = incidentbot_here("report", cwd=tmp_path, database_url=database_url)
        assert report.returncode == 0
        assert report.stdout.endswith(f"\n(no incidents declared in this period in {shown})\n")


def _set_revision(database_url: str, value: str) -> None:
    engine = create_store_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": value})
    finally:
        engine.dispose()


class TestNewerSchema:
    @pytest.mark.migrated_database  # a current database to begin with (the migrations: test_migrations.py)
    @pytest.mark.parametrize(
        "command",
        [
            ("list",),
            ("timeline", "INC-1"),
            ("run", "declare sev2 still here"),
            ("run", "INC-1 note x"),
            ("db", "upgrade"),
        ],
        ids=" ".join,
    )
    def test_a_database_migrated_by_a_newer_incidentbot_is_one_line(
        self, database_url: str, tmp_path: Path, command: tuple[str, ...]
    ) -> None:
        """Reads, writes and `db upgrade` all stop with one line saying to upgrade; the schema is untouched (`list`
        and `db upgrade` real processes, `timeline` and the two writes the entry function in this process)."""
        declare_one(database_url, tmp_path)
        _set_revision(database_url, "0999")
        here = command not in {("list",), ("db", "upgrade")}
        line = one_line_error(run_cli(here, *command, cwd=tmp_path, database_url=database_url))
        assert f"was migrated by a newer incidentbot (schema revision 0999; this one knows up to {HEAD})" in line
        assert line.endswith(
            "upgrade incidentbot (in its checkout: `git pull && pip install .`), or point DATABASE_URL at another "
            "database."
        )
        assert revision(database_url) == "0999"


class TestReadOnlySqlite:
    @pytest.fixture()
    def read_only_url(self, tmp_path: Path) -> str:
        """INC-1 in a SQLite file, opened read-only (SQLite's mode=ro: what a file without write permission
        gives; the suite runs as root, whom file permissions do not stop)."""
        declare_one(f"sqlite:///{tmp_path / 'incidents.db'}", tmp_path)
        return f"sqlite:///file:{tmp_path / 'incidents.db'}?mode=ro&uri=true"

    @pytest.mark.parametrize(
        "command", [("run", "declare sev3 another"), ("run", "INC-1 note x"), ("run", "INC-1 resolve")], ids=" ".join
    )
    def test_a_change_says_the_file_is_read_only(
        self, read_only_url: str, tmp_path: Path, command: tuple[str, ...]
    ) -> None:
        """A write is refused in one line saying what to do; nothing changed (`declare` a real process, the note
        and the resolve the entry function in this process)."""
        here = command != ("run", "declare sev3 another")
        line = one_line_error(run_cli(here, *command, cwd=tmp_path, database_url=read_only_url))
        assert line == (
            f"incidentbot: The database {tmp_path / 'incidents.db'} is read-only (SQLite: attempt to write a readonly "
            "database): give this user write access to the file and its folder, or only read it (list, timeline, "
            "postmortem, slo, report, outbox)."
        )
        listed = incidentbot_here("list", cwd=tmp_path, database_url=read_only_url)
        assert listed.returncode == 0 and listed.stdout.startswith("INC-1  sev2  declared")
        assert listed.stdout.count("INC-") == 1


class TestPorts:
    @pytest.mark.parametrize(
        ("command", "port"),
        [("serve", "65536"), ("serve", "70000"), ("serve", "-1"), ("serve", "http"), ("socket", "3000x")],
    )
    def test_a_port_that_is_not_one_is_one_line(self, tmp_path: Path, command: str, port: str) -> None:
        """Out of range or not a number: a usage error (exit 2) before anything starts (`serve --port 65536` and
        `socket --port 3000x` real processes, the other ports the entry function in this process)."""
        here = port not in {"65536", "3000x"}
        line = one_line_error(run_cli(here, command, "--port", port, cwd=tmp_path), expected_status=2)
        assert line == (
            f"incidentbot: argument --port: {port!r} is not a TCP port: use 1 to 65535 (or 0 for any free port); "
            f"see `incidentbot {command} --help`."
        )


RUN_VERBS = (
    "declare",
    "lead",
    "assemble",
    "hypothesis",
    "mitigate",
    "rollback",
    "resolve",
    "reopen",
    "severity",
    "note",
    "followup",
    "followups",
    "service",
    "impact",
    "status",
    "timeline",
    "postmortem",
    "list",
    "slo",
    "help",
)
SUBCOMMANDS = (
    "demo",
    "run",
    "timeline",
    "postmortem",
    "list",
    "slo",
    "report",
    "followups",
    "db",
    "serve",
    "outbox",
    "socket",
)


class TestVersionAndHelp:
    def test_version_from_the_installed_script(self, tmp_path: Path) -> None:
        """`incidentbot --version` prints the version pyproject.toml declares."""
        declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        result = cli("--version", cwd=tmp_path, script=True)
        assert (result.returncode, result.stdout) == (0, f"incidentbot {declared}\n")

    def test_run_help_lists_every_verb_and_at(self, tmp_path: Path) -> None:
        """`run --help` shows each /incident verb as a terminal command, and how to use --at."""
        result = cli("run", "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        for verb in RUN_VERBS:
            assert re.search(rf'^incidentbot run "{verb}\b', result.stdout, re.MULTILINE), verb
        assert "--at WHEN" in result.stdout and "--at 15m ago" in result.stdout
        assert 'incidentbot run "INC-1 note checking the WAF --at 15m ago" --user @alice' in result.stdout

    @pytest.mark.parametrize("name", [*SUBCOMMANDS, "db upgrade"])
    def test_every_option_and_argument_has_help(self, name: str) -> None:
        """Each option and positional of each command (the parser the process runs) explains itself."""
        parser = _parser()
        for word in name.split():
            subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = subparsers.choices[word]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help.strip(), (name, action.option_strings or action.dest)


class TestEnvFile:
    @pytest.fixture()
    def env_folder(self, tmp_path: Path) -> Path:
        """settings.env points at a database holding INC-1; no .env here."""
        database = tmp_path / "elsewhere.db"
        declare_one(f"sqlite:///{database}", tmp_path)
        (tmp_path / "settings.env").write_text(f"DATABASE_URL=sqlite:///{database}\n")
        return tmp_path

    @pytest.mark.parametrize(
        "args",
        [
            ("--env-file", "settings.env", "list"),
            ("list", "--env-file", "settings.env"),
            ("--env-file", "settings.env", "timeline", "INC-1"),
            ("timeline", "INC-1", "--env-file", "settings.env"),
            ("run", "INC-1 status", "--env-file", "settings.env"),
        ],
        ids=" ".join,
    )
    def test_before_or_after_the_subcommand(self, env_folder: Path, args: tuple[str, ...]) -> None:
        """The file is read wherever the option stands (before and after `list` in real processes, the other
        commands through the entry function in this process)."""
        if args[-1] == "list" or args[0] == "list":
            result = cli(*args, cwd=env_folder)
        else:
            result = incidentbot_here(*args, cwd=env_folder, database_url=None)
        assert result.returncode == 0, result.stderr
        assert "checkout is down" in result.stdout

    @pytest.mark.parametrize(
        "args",
        [
            ("--env-file", "missing.env", "list"),
            ("list", "--env-file", "missing.env"),
            ("db", "upgrade", "--env-file", "missing.env"),
            ("--env-file", "missing.env", "demo"),
        ],
        ids=" ".join,
    )
    def test_a_missing_explicit_file_is_an_error(self, tmp_path: Path, args: tuple[str, ...]) -> None:
        """Naming a file that is not there stops with one line, and nothing is created (before `list` and before
        `demo` real processes, after `list` and `db upgrade` the entry function in this process)."""
        here = args[0] != "--env-file"
        line = one_line_error(run_cli(here, *args, cwd=tmp_path))
        assert line == (
            "incidentbot: --env-file missing.env: no such file (leave the option out to read .env if there is one)."
        )
        assert list(tmp_path.iterdir()) == []


BAD_URLS_IN_PROCESS = frozenset(
    {
        "postgres://u@127.0.0.1:1/db?password=s3cret",
        "postgresql://u@127.0.0.1:1/db?sslmode=disable&PASSWORD=s3cret",
        "postgres://u:pw@127.0.0.1:1/db?sslpassword=s3cret",
        "postgres://u:s3cret@[::1/db?password=s3cret",
    }
)


class TestDatabaseUrls:
    @pytest.mark.postgres
    @pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
    def test_every_postgresql_spelling_reaches_the_database(
        self, postgres_url: str, tmp_path: Path, scheme: str
    ) -> None:
        """postgres:// (what most hosts give), postgresql:// and postgresql+psycopg:// all work (postgres:// in real
        processes, the other two spellings through the entry function in this process)."""
        url = scheme + "://" + postgres_url.split("://", 1)[1]
        here = scheme != "postgres"
        declared = run_cli(here, "run", "declare sev3 checkout slow", cwd=tmp_path, database_url=url)
        assert declared.returncode == 0, declared.stderr
        listed = run_cli(here, "list", cwd=tmp_path, database_url=url)
        assert listed.returncode == 0 and listed.stdout.startswith("INC-1  sev3  declared")

    @pytest.mark.parametrize("command", [("list",), ("run", "declare sev2 x")], ids=" ".join)
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            (
                "mysql://x@localhost/db",
                "Unsupported database 'mysql' in DATABASE_URL: use sqlite:///FILE or postgresql://",
            ),
            (
                "not a url",
                "DATABASE_URL is not a database URL (no scheme such as sqlite:/// or postgresql://): 'not a url'; "
                "use e.g. sqlite:///incidents.db or",
            ),
            ("postgresql+psycopg2://u@127.0.0.1:1/db", "asks for the PostgreSQL driver 'psycopg2', which is not"),
            (
                "postgres://u:s3cret@127.0.0.1:1/db",
                "Cannot open the database postgresql+psycopg://u:***@127.0.0.1:1/db:",
            ),
            # libpq's password as a query parameter (PostgreSQL docs, "Connection URIs"), any case.
            (
                "postgres://u@127.0.0.1:1/db?password=s3cret",
                "Cannot open the database postgresql+psycopg://u@127.0.0.1:1/db?password=***:",
            ),
            (
                "postgresql://u@127.0.0.1:1/db?sslmode=disable&PASSWORD=s3cret",
                "Cannot open the database postgresql+psycopg://u@127.0.0.1:1/db?PASSWORD=***&sslmode=disable:",
            ),
            (
                "postgres://u:pw@127.0.0.1:1/db?sslpassword=s3cret",
                "Cannot open the database postgresql+psycopg://u:***@127.0.0.1:1/db?sslpassword=***:",
            ),
            # A port that is not a number, a broken IPv6 host: one line, never a traceback, password hidden.
            (
                "postgres://u:s3cret@127.0.0.1:abc/db",
                "DATABASE_URL is not a database URL (its port is not a number, or its host is cut short; a password's "
                "@, :, / or # must be percent-encoded): 'postgres://***@127.0.0.1:abc/db'; use e.g.",
            ),
            (
                "postgres://u:s3cret@[::1/db?password=s3cret",
                "DATABASE_URL is not a database URL (its port is not a number, or its host is cut short; a password's "
                "@, :, / or # must be percent-encoded): 'postgres://***@[::1/db?password=***'; use e.g.",
            ),
        ],
    )
    def test_a_bad_url_is_one_line(self, tmp_path: Path, command: tuple[str, ...], url: str, expected: str) -> None:
        """Each kind of bad DATABASE_URL: one line naming it, never the password. One URL of each kind (scheme,
        no URL, driver, connection refused, unparsable port or host) is given to a real process with `list`, and to
        the entry function in this process with `run declare`; the other spellings of a password in the query and
        the broken IPv6 host (the paths of the connection refused and the unparsable port) run the entry function
        in this process with both commands (BAD_URLS_IN_PROCESS)."""
        if url in BAD_URLS_IN_PROCESS or command != ("list",):
            result = incidentbot_here(*command, cwd=tmp_path, database_url=url)
        else:
            result = cli(*command, cwd=tmp_path, database_url=url)
        line = one_line_error(result)
        assert expected in line
        assert "s3cret" not in result.stderr + result.stdout


class TestServiceNames:
    @pytest.mark.parametrize(
        ("typed", "closest"), [("cdn-egde", "cdn-edge"), ("checkout-ap", "checkout-api"), ("serch", "search")]
    )
    def test_a_misspelt_service_is_refused_with_the_closest(self, tmp_path: Path, typed: str, closest: str) -> None:
        """With slos.yml loaded, `service cdn-egde` is refused naming cdn-edge, and nothing is recorded (cdn-egde in
        a real process, the other two through the entry function in this process)."""
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        declare_one(url, tmp_path)
        here = typed != "cdn-egde"
        refused = run_cli(here, "run", f"INC-1 service {typed}", cwd=tmp_path, database_url=url, env=WITH_SLOS)
        line = one_line_error(refused, 2)
        assert line == (
            f"incidentbot: `{typed}` is not in the SLO catalogue; did you mean `{closest}`? "
            "(catalogued: cdn-edge, checkout-api, search)"
        )
        timeline = incidentbot_here("timeline", "INC-1", cwd=tmp_path, database_url=url)
        assert timeline.returncode == 0 and "Service affected" not in timeline.stdout

    def test_a_service_without_an_slo_is_accepted(self, tmp_path: Path) -> None:
        """A name nothing in the catalogue resembles is a service without an SLO: recorded, with a note saying so."""
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        declare_one(url, tmp_path)
        result = cli("run", "INC-1 service billing-batch", cwd=tmp_path, database_url=url, env=WITH_SLOS)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("INC-1 · Service affected: billing-batch")
        assert result.stderr == (
            f"Note: billing-batch has no SLO in {SLOS}, so INC-1 charges no error budget; add it there to track one.\n"
        )

    def test_slo_of_a_misspelt_service_offers_the_closest(self, tmp_path: Path) -> None:
        """`incidentbot slo cdn-egde` names cdn-edge."""
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        open_store(url).dispose()
        line = one_line_error(cli("slo", "cdn-egde", cwd=tmp_path, database_url=url, env=WITH_SLOS))
        assert line.endswith("Did you mean 'cdn-edge'?")

    @pytest.mark.parametrize("command", [("slo",), ("run", "declare sev2 x")], ids=" ".join)
    def test_an_unknown_key_in_slos_yml_is_one_line(self, tmp_path: Path, command: tuple[str, ...]) -> None:
        """`windows_days` stops the command naming the key and `window_days`."""
        slos = tmp_path / "slos.yml"
        slos.write_text("services:\n  cdn-edge:\n    slo: 99.95\n    windows_days: 30\n")
        line = one_line_error(cli(*command, cwd=tmp_path, env={"INCIDENT_SLO_FILE": str(slos)}))
        assert line == (
            f"incidentbot: {slos}: unknown key `cdn-edge.windows_days`; did you mean `window_days`? "
            "(known keys of a service: slo, window_days, owner_channel, statuspage_components)."
        )


BLOCK_MATPLOTLIB = (
    "-c",
    "import sys; sys.modules['matplotlib'] = None; from bot.cli.main import main; sys.exit(main(sys.argv[1:]))",
)
"""The CLI as it runs where the charts extra is not installed: importing matplotlib fails."""


class TestCharts:
    @pytest.fixture()
    def folder(self, tmp_path: Path) -> Path:
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        declare_one(url, tmp_path)
        (tmp_path / ".env").write_text(f"DATABASE_URL={url}\nINCIDENT_SLO_FILE={SLOS}\n")
        return tmp_path

    @pytest.mark.parametrize(("name", "signature"), [("r.svg", b"<?xml"), ("r.png", b"\x89PNG\r\n\x1a\n")])
    def test_the_format_follows_the_extension(self, folder: Path, name: str, signature: bytes) -> None:
        """report --chart r.svg writes SVG, r.png writes PNG."""
        result = cli("report", "--chart", name, cwd=folder)
        assert result.returncode == 0, result.stderr
        assert result.stderr == f"Wrote {name}\n"
        assert (folder / name).read_bytes().startswith(signature)

    @pytest.mark.parametrize("name", ["r.txt", "r.jpg", "chart"])
    def test_another_extension_is_refused_before_any_work(self, folder: Path, name: str) -> None:
        """One usage line, no report printed, no file (r.txt through a real process; r.jpg and chart, the same
        check of the name, through the entry function in this process)."""
        if name == "r.txt":
            result = cli("report", "--chart", name, cwd=folder)
        else:
            result = incidentbot_here("report", "--chart", name, cwd=folder, database_url=None)
        line = one_line_error(result, expected_status=2)
        assert line == f"incidentbot: `--chart {name}`: a chart is written as PNG or SVG; name the file .png or .svg."
        assert result.stdout == "" and not (folder / name).exists()

    def test_an_empty_period_says_so(self, folder: Path) -> None:
        """A database without incidents draws "No incidents in this period" instead of empty axes."""
        empty = folder / "empty.db"
        open_store(f"sqlite:///{empty}").dispose()
        result = cli("report", "--chart", "e.svg", cwd=folder, database_url=f"sqlite:///{empty}")
        assert result.returncode == 0, result.stderr
        assert "No incidents in this period" in (folder / "e.svg").read_text()

    def test_without_matplotlib_a_chart_is_one_line_with_the_install_command(self, folder: Path) -> None:
        """Where the charts extra is missing, `report --chart` prints the report, then one line saying how to
        install the extra, and exits 1 (the chart asked for was not drawn); without --chart nothing changes."""
        plain = cli("report", cwd=folder, python=BLOCK_MATPLOTLIB)
        assert (plain.returncode, plain.stderr) == (0, "") and plain.stdout.startswith("Incidents ")
        result = cli("report", "--chart", "r.png", cwd=folder, python=BLOCK_MATPLOTLIB)
        line = one_line_error(result)
        assert line == "incidentbot: Charts need matplotlib, which is not installed: pip install 'incidentbot[charts]'."
        assert result.stdout == plain.stdout  # the whole report, as without --chart
        assert not (folder / "r.png").exists()


class TestUnreadableSettingsFiles:
    """A settings file that cannot be read as settings: one line naming it (never its text), for every
    command that reads settings, whether the file is `.env` here or given with --env-file."""

    CASES: ClassVar[list[tuple[str, bytes, str]]] = [
        (
            "utf-16",
            "DATABASE_URL=sqlite:///x.db\n".encode("utf-16"),
            "is not UTF-8 text (some editors save UTF-16): save it as UTF-8, one NAME=value per line.",
        ),
        (
            "binary",
            bytes(range(128, 256)),
            "is not UTF-8 text (some editors save UTF-16): save it as UTF-8, one NAME=value per line.",
        ),
        (
            "a line without =",
            b"DATABASE_URL=sqlite:///x.db\nSLACK_BOT_TOKEN xoxb-real-secret-123\n",
            ": line 2 is not NAME=value settings (e.g. SLACK_BOT_TOKEN=xoxb-...; a # starts a comment): "
            "correct or remove them.",
        ),
        (
            "two bad lines",
            b"=nameless\nLOG_LEVEL=INFO\n'quoted\n",
            ": line 1, 3 are not NAME=value settings (e.g. SLACK_BOT_TOKEN=xoxb-...; a # starts a comment): "
            "correct or remove them.",
        ),
    ]

    SECOND_OF_A_KIND: ClassVar[frozenset[str]] = frozenset({"binary", "two bad lines"})
    """Cases read by the same path as the one before them (not UTF-8; lines that are not settings): for ``list`` and
    ``doctor`` they run the entry function in this process; every ``serve``, and the first of each kind as `.env`,
    run as real processes (for ``list`` and ``doctor`` the first of each kind given with --env-file, the same file
    read by the same path, runs in this process too)."""

    @pytest.mark.parametrize(("case", "content", "expected"), CASES, ids=[c[0] for c in CASES])
    @pytest.mark.parametrize("where", [".env", "--env-file"])
    @pytest.mark.parametrize("command", [("list",), ("serve", "--port", "0"), ("doctor",)], ids=" ".join)
    def test_one_line_naming_the_file(
        self, tmp_path: Path, case: str, content: bytes, expected: str, where: str, command: tuple[str, ...]
    ) -> None:
        name = ".env" if where == ".env" else "team.env"
        (tmp_path / name).write_bytes(content)
        args = (*command, "--env-file", name) if where == "--env-file" else command
        if command[0] != "serve" and (case in self.SECOND_OF_A_KIND or where == "--env-file"):
            result = incidentbot_here(*args, cwd=tmp_path, database_url=None)
        else:
            result = cli(*args, cwd=tmp_path)
        if command == ("doctor",):
            assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
            assert f"{name}{' ' if expected[0] == 'i' else ''}{expected}" in result.stdout
        else:
            line = one_line_error(result)
            assert line == f"incidentbot: {name}{' ' if expected[0] == 'i' else ''}{expected}"
        assert "xoxb-real-secret-123" not in result.stdout + result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [name]

    def test_a_folder_given_as_env_file(self, tmp_path: Path) -> None:
        (tmp_path / "conf").mkdir()
        line = one_line_error(cli("list", "--env-file", "conf", cwd=tmp_path))
        assert (
            line
            == "incidentbot: --env-file conf: a folder, not a file; name the settings file itself (e.g. conf/.env)."
        )


class TestClosedPipe:
    @pytest.mark.parametrize("command", [("run", "help"), ("doctor",), ("list",)], ids=" ".join)
    def test_a_reader_that_went_away_ends_the_command_quietly(self, tmp_path: Path, command: tuple[str, ...]) -> None:
        """`incidentbot doctor | head -1`: the pipe closed before the output; nothing on stderr, no traceback."""
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        declare_one(url, tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_"))}
        env["DATABASE_URL"] = url
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", *command],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert (process.wait(timeout=60), stderr) == (1, "")
