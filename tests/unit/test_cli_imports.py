"""Start-up of the ``incidentbot`` command (issue 18, target 3): each subcommand imports only what it needs.

Not a timing test (the machine is shared; times are measured in bench/README.md): each case runs the CLI
in a fresh interpreter, exactly as ``python -m bot.cli.main ARGS`` does, and reads ``sys.modules`` when it
has finished. ``--help`` must load none of the database, template, Slack or HTTP libraries, and the
reading commands (``list``, ``timeline``, ``run "INC-1 status"``) none of Alembic, Jinja, Slack or
aiohttp; ``list`` (Core reads) not even SQLModel, pydantic, SQLAlchemy's ORM, the tables or the use-case wiring.
Each case also checks the command did its work (exit status, output), so a command that failed
before importing anything cannot pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.compose import open_usecases
from bot.domain.grammar import parse_command
from bot.domain.slo import EMPTY_CATALOG
from bot.store import open_store
from bot.store.migrate import alembic_config, upgrade
from bot.usecases.shared import Actor

# Runs the CLI as `python -m bot.cli.main` does, then prints which of the named modules were imported.
PROBE = """
import json, runpy, sys
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["incidentbot", *args]
code = 0
try:
    runpy.run_module("bot.cli.main", run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
sys.stdout.flush()
print("\\nIMPORTED " + json.dumps({"code": code, "modules": sorted(m for m in watched if m in sys.modules)}))
"""

WATCHED = ("sqlalchemy", "sqlmodel", "alembic", "jinja2", "slack_bolt", "slack_sdk", "aiohttp", "structlog")
# What `incidentbot list` leaves out besides (its Core reads on a plain connection): the ORM and what builds it,
# and PyYAML (no YAML file is read without INCIDENT_SLO_FILE or TRACKER_USERS_FILE).
ORM = ("sqlalchemy.orm", "pydantic", "bot.store.tables", "bot.store.repo", "bot.usecases.wiring", "yaml")


def _run_cli(args: list[str], cwd: Path, database_url: str | None = None) -> tuple[int, list[str], str, str]:
    """(exit status, the WATCHED and ORM modules imported by the end, stdout without the probe's line, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER"))}
    env.pop("DATABASE_URL", None)
    env.pop("PAGERDUTY_ROUTING_KEY", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps([*WATCHED, *ORM])],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output, _, probe = result.stdout.rpartition("\nIMPORTED ")
    assert probe, result.stderr
    found = json.loads(probe)
    return found["code"], found["modules"], output, result.stderr


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder (no .env) and a migrated SQLite database holding INC-1 "Checkout latency", with a note."""
    folder = tmp_path_factory.mktemp("cli_imports")
    url = f"sqlite:///{folder / 'bot.db'}"
    usecases = open_usecases(url, lambda: datetime.now(UTC), EMPTY_CATALOG)
    try:
        for text in ("declare sev2 Checkout latency", "INC-1 note WAF rule rolled back"):
            usecases.incidents.run(parse_command(text, names=True), Actor("alice"))
    finally:
        usecases.store.dispose()
    return folder, url


@pytest.mark.parametrize("args", [["--help"], ["list", "--help"], ["run", "--help"], ["--version"]])
def test_help_and_version_import_no_library_of_the_commands(args: list[str], tmp_path: Path) -> None:
    """``incidentbot --help`` (and a subcommand's, and ``--version``) loads only argparse and the pure
    domain: none of SQLAlchemy, SQLModel, Alembic, Jinja, Slack's SDKs, aiohttp or structlog."""
    code, modules, output, _ = _run_cli(args, tmp_path)
    assert code == 0
    assert output.startswith("usage: incidentbot") or output.startswith("incidentbot ")
    assert modules == []


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["timeline", "INC-1"], "WAF rule rolled back"),
        (["run", "INC-1 status"], "Checkout latency"),
    ],
)
def test_reading_commands_import_no_alembic_jinja_slack_or_aiohttp(
    args: list[str], shown: str, seeded: tuple[Path, str]
) -> None:
    """``timeline`` and ``run "INC-1 status"`` read the database through the ORM and the use cases (which
    log with structlog), but never load Alembic (the schema revision is one SQL query compared with the
    head revision), Jinja, slack_bolt, slack_sdk or aiohttp."""
    folder, url = seeded
    code, modules, output, _ = _run_cli(args, folder, url)
    assert code == 0, output
    assert shown in output
    assert [m for m in modules if m in WATCHED] == ["sqlalchemy", "sqlmodel", "structlog"]


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["list"], "Checkout latency"),
        (["list", "--format", "json"], '"incident": "INC-1"'),
        (["list", "--status", "declared", "--limit", "5"], "INC-1"),
    ],
)
def test_list_reads_with_core_and_imports_no_orm(args: list[str], shown: str, seeded: tuple[Path, str]) -> None:
    """``list`` reads with SQLAlchemy Core on a plain connection (``bot.store.listing``): besides Alembic, Jinja,
    Slack and aiohttp it loads neither SQLModel, pydantic, SQLAlchemy's ORM, the SQLModel tables, the unit of
    work nor the use-case wiring, nor PyYAML; only SQLAlchemy (Core) and structlog (the settings' logging)."""
    folder, url = seeded
    code, modules, output, _ = _run_cli(args, folder, url)
    assert code == 0, output
    assert shown in output
    assert modules == ["sqlalchemy", "structlog"]


def test_an_old_schema_still_gets_alembic_to_say_what_is_wrong(tmp_path: Path) -> None:
    """The fast check skips Alembic only for a database at the head revision: one at an older revision is
    refused, naming the head read from Alembic's own script directory (the message it always had)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url, migrate=False)
    try:
        upgrade(store.engine, "0007")
        head = ScriptDirectory.from_config(alembic_config(store.engine)).get_current_head()
    finally:
        store.dispose()
    code, modules, output, stderr = _run_cli(["list"], tmp_path, url)
    assert (code, output) == (1, "")
    assert stderr == (
        f"incidentbot: The database {tmp_path / 'old.db'} has an older schema (revision 0007; this "
        f"incidentbot reads {head}): run `incidentbot db upgrade` first (commands that only read never change "
        "the database).\n"
    )
    assert "alembic" in modules
