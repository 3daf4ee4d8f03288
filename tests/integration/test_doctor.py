"""`incidentbot doctor` (issue 13, item 7): each check against the fake Slack and a real database.

Most cases call the CLI's entry function in-process (environment and working folder set per test). Real processes,
one per kind of outcome: every check passing (exit 0, nothing on stderr) and a failure (exit 1) in TestAllGood; an
env file's bad manifest (exit 1, nothing on stderr), an invalid setting (exit 1, nothing on stderr) and a standard
LOG_LEVEL (exit 0) through ``--env-file`` (PROCESS_MANIFEST, PROCESS_SETTING, PROCESS_LEVEL); and `serve` and
`socket` refusing a bad setting in one line (TestTheServersRefuseEveryBadSetting). Every expected line is written out
here.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from tests.support.cli import assert_one_line_error, incidentbot, run_incidentbot
from tests.support.fake_slack import GRANTED_SCOPES, FakeSlack
from tests.support.serve_process import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-test-token"
STRONG = "f" * 64


def _environment(tmp_path: Path, fake: FakeSlack, **overrides: str) -> dict[str, str]:
    slos = tmp_path / "slos.yml"
    if not slos.exists():
        slos.write_text("services:\n  cdn-edge:\n    slo: 99.95\n    window_days: 30\n")
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
        "SLACK_API_URL": fake.base_url,
        "INCIDENT_ANNOUNCE_CHANNEL": "C0GENERAL",
        "INCIDENT_WEBHOOK_TOKEN": STRONG,
        "INCIDENT_SLO_FILE": str(slos),
        **overrides,
    }


_TEMPLATE: dict[str, Path] = {}
"""conftest's ``sqlite_template`` (a SQLite file migrated to the head once per worker), for ``_migrated``."""


@pytest.fixture(autouse=True)
def _sqlite_template(sqlite_template: Path) -> None:
    _TEMPLATE["path"] = sqlite_template


def _migrated(tmp_path: Path, name: str = "bot.db") -> None:
    """A database at the current schema (what `incidentbot db upgrade` makes): a copy of the worker's migrated
    template (about 10 ms instead of 150-300 ms of migrations, seconds under load)."""
    shutil.copyfile(_TEMPLATE["path"], tmp_path / name)


@pytest.fixture()
def doctor(tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `incidentbot doctor` in-process in ``tmp_path`` with the test environment plus overrides
    (a value of None removes the variable); returns (exit status, output lines)."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "INCIDENT_", "DATABASE_", "LOG_", "PAGERDUTY_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, **overrides: str | None) -> tuple[int, list[str]]:
        environment = _environment(tmp_path, fake_slack)
        for key, value in overrides.items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        with monkeypatch.context() as scoped:
            for key, value in environment.items():
                scoped.setenv(key, value)
            code = main(["--env-file", "", "doctor", "--manifest", str(ROOT / "manifest.yml"), *args])
        return code, capsys.readouterr().out.splitlines()

    return run


def _line(lines: list[str], name: str) -> list[str]:
    """The checklist line of check ``name`` and its fix line, if any."""
    for index, line in enumerate(lines):
        if line.split("]", 1)[-1].strip().startswith(f"{name}:"):
            follow = (
                lines[index + 1] if index + 1 < len(lines) and lines[index + 1].startswith("        fix:") else None
            )
            return [line] if follow is None else [line, follow]
    raise AssertionError(f"no line for {name!r} in {lines}")


class TestAllGood:
    def test_a_correct_set_up_passes_every_check_as_a_process(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        """The installed command on a migrated database and a healthy fake Slack: every line ok, exit 0."""
        _migrated(tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_", "LOG_"))}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli.main",
                "--env-file",
                "",
                "doctor",
                "--manifest",
                str(ROOT / "manifest.yml"),
            ],
            env={**env, **_environment(tmp_path, fake_slack)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode, result.stderr) == (0, "")
        lines = result.stdout.splitlines()
        assert [line.split(":", 1)[0] for line in lines[:-1]] == [
            "[ok]   configuration",
            "[ok]   database",
            "[ok]   schema",
            "[ok]   database writable",
            "[ok]   Slack token",
            "[ok]   Slack scopes",
            "[ok]   announce channel",
            "[ok]   webhook token",
            "[ok]   SLO catalogue",
            "[ok]   templates",
        ]
        assert lines[-1] == "All checks passed (0 warning(s))."
        assert _line(lines, "Slack token") == ["[ok]   Slack token: valid: bot @incidentbot in workspace Test Team"]
        assert _line(lines, "announce channel") == ["[ok]   announce channel: #general (C0GENERAL) reachable"]
        assert _line(lines, "webhook token") == ["[ok]   webhook token: set (64 characters)"]
        assert _line(lines, "SLO catalogue") == ["[ok]   SLO catalogue: 1 service(s): cdn-edge"]
        assert _line(lines, "database writable") == ["[ok]   database writable: a write was accepted (and rolled back)"]
        assert [c.method for c in fake_slack.calls] == ["auth.test", "conversations.info"]

    def test_a_failure_exits_1_as_a_process(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        """One failing check (Slack refuses the token) makes the exit status 1; the checklist is still printed."""
        _migrated(tmp_path)
        fake_slack.fail_next("auth.test", "invalid_auth", status=200)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_", "LOG_"))}
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "--env-file", "", "doctor"],
            env={**env, **_environment(tmp_path, fake_slack)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert result.stdout.splitlines()[-1] == "1 check(s) failed, 0 warning(s)."


class TestConfiguration:
    def test_placeholders_fail_each_and_slack_is_not_asked(self, doctor, fake_slack: FakeSlack) -> None:  # type: ignore[no-untyped-def]
        """.env.example's bot token and signing secret: one failing line each with the fix; no Slack call."""
        code, lines = doctor(SLACK_BOT_TOKEN="xoxb-your-bot-token", SLACK_SIGNING_SECRET="your-signing-secret")
        assert code == 1
        assert _line(lines, "SLACK_BOT_TOKEN") == [
            "[FAIL] SLACK_BOT_TOKEN: still the placeholder from .env.example",
            "        fix: paste the Bot User OAuth Token (xoxb-...) from OAuth & Permissions of your Slack app",
        ]
        assert _line(lines, "SLACK_SIGNING_SECRET") == [
            "[FAIL] SLACK_SIGNING_SECRET: still the placeholder from .env.example",
            "        fix: paste the Signing Secret from Basic Information of your Slack app",
        ]
        assert fake_slack.calls == []

    def test_missing_tokens_fail(self, doctor) -> None:  # type: ignore[no-untyped-def]
        """No SLACK_BOT_TOKEN and no SLACK_SIGNING_SECRET (and no app token): both fail."""
        code, lines = doctor(SLACK_BOT_TOKEN=None, SLACK_SIGNING_SECRET=None)
        assert code == 1
        assert _line(lines, "SLACK_BOT_TOKEN")[0] == "[FAIL] SLACK_BOT_TOKEN: not set"
        assert _line(lines, "SLACK_SIGNING_SECRET")[0] == (
            "[FAIL] SLACK_SIGNING_SECRET: not set (needed by `serve`; `socket` needs SLACK_APP_TOKEN instead)"
        )


class TestDatabase:
    def test_a_missing_sqlite_file_is_reported_not_created(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """No database file yet: a warning naming it and how it gets made; the file still does not exist."""
        code, lines = doctor()
        assert code == 0
        assert _line(lines, "database") == [
            f"[warn] database: {tmp_path / 'bot.db'} does not exist yet",
            "        fix: `incidentbot db upgrade` creates it (so does the first `serve`); check DATABASE_URL if it "
            "should exist",
        ]
        assert not (tmp_path / "bot.db").exists()

    def test_a_database_without_tables_is_a_warning(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """An empty SQLite file: reachable, schema missing (warn), write not tried."""
        sqlite3.connect(tmp_path / "bot.db").close()
        code, lines = doctor()
        assert code == 0
        assert _line(lines, "schema") == [
            "[warn] schema: no incidentbot tables yet",
            "        fix: run `incidentbot db upgrade` (serve does too)",
        ]
        assert not any("database writable" in line for line in lines)

    def test_a_database_migrated_by_a_newer_version_fails(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """alembic_version names a revision this version does not have: FAIL, upgrade incidentbot."""
        _migrated(tmp_path)
        with sqlite3.connect(tmp_path / "bot.db") as connection:
            connection.execute("UPDATE alembic_version SET version_num = '9999'")
        code, lines = doctor()
        assert code == 1
        assert _line(lines, "schema") == [
            "[FAIL] schema: at revision 9999, which this incidentbot does not know (a newer version migrated it)",
            "        fix: upgrade incidentbot to the version that migrated this database",
        ]

    def test_an_older_schema_is_a_warning(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """alembic_version at the first revision: behind the head, `db upgrade` fixes it."""
        _migrated(tmp_path)
        with sqlite3.connect(tmp_path / "bot.db") as connection:
            connection.execute("UPDATE alembic_version SET version_num = '0001'")
        code, lines = doctor()
        assert code == 0
        line, fix = _line(lines, "schema")
        assert (
            line.startswith("[warn] schema: at revision 0001, behind ")
            and fix == "        fix: run `incidentbot db upgrade`"
        )

    def test_a_read_only_database_fails_the_write_check(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """The database opened read-only (SQLite mode=ro): reachable and current, but the write check fails."""
        _migrated(tmp_path)
        code, lines = doctor(DATABASE_URL=f"sqlite:///file:{tmp_path / 'bot.db'}?mode=ro&uri=true")
        assert code == 1
        assert _line(lines, "database writable") == [
            "[FAIL] database writable: attempt to write a readonly database",
            f"        fix: give the bot's user write access to file:{tmp_path / 'bot.db'} (SQLite: the file and its "
            "folder)",
        ]

    def test_an_unreachable_postgresql_fails_with_the_drivers_reason(self, doctor) -> None:  # type: ignore[no-untyped-def]
        """Nothing listens at the PostgreSQL URL: FAIL with the connection error's first line."""
        port = free_port()
        code, lines = doctor(DATABASE_URL=f"postgresql://bot:secret@127.0.0.1:{port}/bot")
        assert code == 1
        line, fix = _line(lines, "database")
        assert line.startswith(f"[FAIL] database: postgresql+psycopg://bot:***@127.0.0.1:{port}/bot: ")
        assert "secret" not in "\n".join(lines)
        assert fix == "        fix: check DATABASE_URL, the server and the password"


class TestSlack:
    @pytest.fixture(autouse=True)
    def migrated(self, tmp_path: Path) -> None:
        _migrated(tmp_path)

    @pytest.mark.parametrize(
        ("error", "fix"),
        [
            (
                "invalid_auth",
                "Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token (xoxb-...) from OAuth & "
                "Permissions of your Slack app.",
            ),
            (
                "token_revoked",
                "Slack refused SLACK_BOT_TOKEN (token_revoked): copy the Bot User OAuth Token (xoxb-...) from OAuth & "
                "Permissions of your Slack app.",
            ),
        ],
    )
    def test_a_refused_token_fails_with_the_fix(self, doctor, fake_slack: FakeSlack, error: str, fix: str) -> None:  # type: ignore[no-untyped-def]
        """auth.test refuses the token: FAIL with the same fix `serve` gives; scopes and channel are not asked."""
        fake_slack.fail_next("auth.test", error, status=200)
        code, lines = doctor()
        assert code == 1
        assert _line(lines, "Slack token") == ["[FAIL] Slack token: Slack refused auth.test", f"        fix: {fix}"]
        assert [c.method for c in fake_slack.calls] == ["auth.test"]

    def test_slack_api_url_serving_a_web_page_fails_naming_the_setting(self, doctor, fake_slack: FakeSlack) -> None:  # type: ignore[no-untyped-def]
        """SLACK_API_URL answers an HTML page: a setup fault, with the same fix `serve` gives."""
        fake_slack.fail_next_raw("auth.test", 200, "<!doctype html><title>Welcome to nginx!</title>")
        code, lines = doctor()
        assert code == 1
        assert _line(lines, "Slack token") == [
            "[FAIL] Slack token: Slack refused auth.test",
            f"        fix: SLACK_API_URL {fake_slack.base_url}: auth.test: Slack answered HTTP 200 without a Slack "
            "JSON body (text/html): check SLACK_API_URL (it should end in /api/ and serve Slack's Web API).",
        ]

    def test_slack_answering_503_is_unavailable(self, doctor, fake_slack: FakeSlack) -> None:  # type: ignore[no-untyped-def]
        """auth.test answered 503 service_unavailable: Slack is down, not the set-up; still a failure to look at."""
        fake_slack.fail_next("auth.test", "service_unavailable", status=503, times=3)
        code, lines = doctor()
        assert code == 1
        line, _fix = _line(lines, "Slack token")
        assert line.startswith(f"[FAIL] Slack token: Slack did not answer auth.test at {fake_slack.base_url} (")
        assert "service_unavailable" in line

    def test_an_unreachable_slack_fails(self, doctor) -> None:  # type: ignore[no-untyped-def]
        """Nothing listens at SLACK_API_URL: FAIL naming the URL and the network error."""
        url = f"http://127.0.0.1:{free_port()}/api/"
        code, lines = doctor(SLACK_API_URL=url)
        assert code == 1
        assert _line(lines, "Slack token") == [
            f"[FAIL] Slack token: Slack did not answer auth.test at {url} (network: ClientConnectorError)",
            "        fix: check the network path to Slack (proxy, firewall) and SLACK_API_URL, then run doctor again",
        ]

    def test_the_fakes_default_scopes_are_the_manifests(self) -> None:
        """The fake grants exactly what manifest.yml asks for, so a healthy fake passes the scope check."""
        manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
        assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(GRANTED_SCOPES)

    @pytest.mark.parametrize("scope", GRANTED_SCOPES)
    def test_each_scope_missing_from_the_grant_fails(self, doctor, fake_slack: FakeSlack, scope: str) -> None:  # type: ignore[no-untyped-def]
        """Slack's x-oauth-scopes lacks one scope manifest.yml asks for: FAIL naming it, reinstall."""
        fake_slack.scopes.remove(scope)
        code, lines = doctor()
        assert code == 1
        assert _line(lines, "Slack scopes") == [
            f"[FAIL] Slack scopes: {ROOT / 'manifest.yml'} asks for {scope}, which the token was not granted",
            "        fix: add them under OAuth & Permissions > Bot Token Scopes (or paste the manifest again) and "
            "reinstall the app to the workspace",
        ]

    def test_extra_scopes_are_named_but_pass(self, doctor, fake_slack: FakeSlack) -> None:  # type: ignore[no-untyped-def]
        """A grant wider than the manifest still passes; the extra scopes are named."""
        fake_slack.scopes.extend(["users:write", "admin"])
        code, lines = doctor()
        assert code == 0
        assert _line(lines, "Slack scopes") == [
            f"[ok]   Slack scopes: all 13 scopes of {ROOT / 'manifest.yml'} granted; also granted, unused: admin, "
            "users:write"
        ]

    def test_a_manifest_of_your_own_is_compared(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """--manifest names another manifest: its scopes are the ones required."""
        own = tmp_path / "app.yml"
        own.write_text("oauth_config:\n  scopes:\n    bot: [chat:write, im:history, users:write]\n")
        code, lines = doctor("--manifest", str(own))
        assert code == 1
        assert _line(lines, "Slack scopes")[0] == (
            f"[FAIL] Slack scopes: {own} asks for im:history, users:write, which the token was not granted"
        )

    @pytest.mark.parametrize(
        ("setup", "channel", "expected"),
        [
            (
                "none",
                "C0MISSING",
                ["[FAIL] announce channel: C0MISSING: conversations.info answered channel_not_found"],
            ),
            (
                "private",
                "C0SECRET",
                ["[FAIL] announce channel: C0SECRET: conversations.info answered channel_not_found"],
            ),
            ("archived", "C0OLD", ["[FAIL] announce channel: #old-incidents (C0OLD) is archived"]),
            (
                "public",
                "C0INCIDENTS",
                [
                    "[ok]   announce channel: #incidents (C0INCIDENTS) reachable "
                    "(the bot joins it at the first announcement)"
                ],
            ),
        ],
    )
    def test_announce_channel(  # type: ignore[no-untyped-def]
        self, doctor, fake_slack: FakeSlack, setup: str, channel: str, expected: list[str]
    ) -> None:
        """Unknown, private without the bot, archived: FAIL; public without the bot: ok (it joins)."""
        if setup == "private":
            fake_slack.add_channel("C0SECRET", "secret-ops", is_private=True, bot_member=False)
        elif setup == "archived":
            fake_slack.add_channel("C0OLD", "old-incidents", is_archived=True)
        elif setup == "public":
            fake_slack.add_channel("C0INCIDENTS", "incidents", bot_member=False)
        code, lines = doctor(INCIDENT_ANNOUNCE_CHANNEL=channel)
        assert code == (0 if setup == "public" else 1)
        assert _line(lines, "announce channel")[:1] == expected

    def test_no_announce_channel_is_a_warning(self, doctor, fake_slack: FakeSlack) -> None:  # type: ignore[no-untyped-def]
        """INCIDENT_ANNOUNCE_CHANNEL unset: warn, and conversations.info is not called."""
        code, lines = doctor(INCIDENT_ANNOUNCE_CHANNEL=None)
        assert code == 0
        assert _line(lines, "announce channel")[0] == (
            "[warn] announce channel: INCIDENT_ANNOUNCE_CHANNEL is not set: new incidents are announced nowhere"
        )
        assert [c.method for c in fake_slack.calls] == ["auth.test"]


class TestTheRest:
    @pytest.fixture(autouse=True)
    def migrated(self, tmp_path: Path) -> None:
        _migrated(tmp_path)

    @pytest.mark.parametrize(
        ("token", "expected"),
        [
            (None, "[warn] webhook token: INCIDENT_WEBHOOK_TOKEN is not set: /alerts/* and /changes answer 401"),
            ("short-token-123", "[warn] webhook token: INCIDENT_WEBHOOK_TOKEN has 15 characters: easy to guess"),
            ("a" * 31, "[warn] webhook token: INCIDENT_WEBHOOK_TOKEN has 31 characters: easy to guess"),
            ("a" * 32, "[ok]   webhook token: set (32 characters)"),
        ],
    )
    def test_webhook_token(self, doctor, token: str | None, expected: str) -> None:  # type: ignore[no-untyped-def]
        """Unset or under 32 characters: a warning (the exit status stays 0); 32 and more: ok."""
        code, lines = doctor(INCIDENT_WEBHOOK_TOKEN=token)
        assert code == 0
        assert _line(lines, "webhook token")[0] == expected

    def test_a_placeholder_webhook_token_fails(self, doctor) -> None:  # type: ignore[no-untyped-def]
        """A placeholder in INCIDENT_WEBHOOK_TOKEN is a failure with its own fix."""
        code, lines = doctor(INCIDENT_WEBHOOK_TOKEN="<your-webhook-token>")
        assert code == 1
        assert _line(lines, "INCIDENT_WEBHOOK_TOKEN") == [
            "[FAIL] INCIDENT_WEBHOOK_TOKEN: still the placeholder from .env.example",
            "        fix: generate one with `openssl rand -hex 32`, or leave it empty to refuse webhooks",
        ]

    def test_a_broken_slo_catalogue_fails(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """INCIDENT_SLO_FILE that is not YAML: FAIL naming the file."""
        broken = tmp_path / "broken.yml"
        broken.write_text("services: [cdn-edge: {slo: }\n")
        code, lines = doctor(INCIDENT_SLO_FILE=str(broken))
        assert code == 1
        line, fix = _line(lines, "SLO catalogue")
        assert line.startswith(f"[FAIL] SLO catalogue: INCIDENT_SLO_FILE '{broken}' is not valid YAML")
        assert fix == f"        fix: correct {broken}"

    def test_no_slo_catalogue_is_a_warning(self, doctor) -> None:  # type: ignore[no-untyped-def]
        """INCIDENT_SLO_FILE unset: warn, no error budgets."""
        code, lines = doctor(INCIDENT_SLO_FILE=None)
        assert code == 0
        assert (
            _line(lines, "SLO catalogue")[0] == "[warn] SLO catalogue: INCIDENT_SLO_FILE is not set: no error budgets"
        )

    def test_a_template_that_does_not_compile_fails(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """A team template with a syntax error: FAIL naming it; the bundled one still counts."""
        folder = tmp_path / "templates"
        folder.mkdir()
        (folder / "short.md.j2").write_text("# {{ pm.title }\n")
        (folder / "ok.md.j2").write_text("# {{ pm.title }}\n")
        code, lines = doctor(INCIDENT_TEMPLATES_DIR=str(folder))
        assert code == 1
        line, fix = _line(lines, "templates")
        assert line.startswith("[FAIL] templates: ") and "short" in line and "ok" not in line.split(":", 2)[-1]
        assert fix == f"        fix: fix the template in {folder}"

    def test_good_templates_pass(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """The bundled template and a team one: both compile."""
        folder = tmp_path / "templates"
        folder.mkdir()
        (folder / "short.md.j2").write_text("# {{ pm.title }}\n")
        code, lines = doctor(INCIDENT_TEMPLATES_DIR=str(folder))
        assert code == 0
        assert _line(lines, "templates") == ["[ok]   templates: 2 compile: postmortem, short"]


def _doctor_cli(
    tmp_path: Path, fake: FakeSlack, *args: str, process: bool = False, **overrides: str | None
) -> tuple[int, list[str], str]:
    """`incidentbot --env-file doctor.env doctor ...`: the test environment is written to an env file (the CLI helpers
    pass only DATABASE_URL through); with ``process`` a child process (the real entry point), else the same entry
    function run in this process with the same clean environment and folder (``incidentbot_here``: no interpreter
    start-up and imports, 2-10 s of a doctor process on this shared machine). Returns (exit status, stdout lines,
    stderr)."""
    environment: dict[str, str | None] = {**_environment(tmp_path, fake), **overrides}
    env_file = tmp_path / "doctor.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in environment.items() if k != "DATABASE_URL" and v is not None))
    result = run_incidentbot(
        "--env-file",
        str(env_file),
        "doctor",
        *args,
        process=process,
        database_url=environment["DATABASE_URL"] or "",
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result.returncode, result.stdout.splitlines(), result.stderr


SCOPES_FIX = (
    "        fix: make oauth_config.scopes.bot a list of scope names, e.g. [commands, chat:write], as in "
    "incidentbot's manifest.yml"
)
MANIFEST_FIX = "        fix: pass --manifest the manifest.yml of your Slack app (its App Manifest page shows it)"


PROCESS_MANIFEST = b"oauth_config:\n  scopes:\n    bot: chat:write\n"
"""The bad manifest ("a-string") that ``doctor`` reads in a child process; the other shapes and the rest of
TestManifest run the entry function in this process."""


class TestManifest:
    """--manifest names a file: anything but a readable manifest with a list of scope names fails (issue 13, A)."""

    @pytest.fixture(autouse=True)
    def migrated(self, tmp_path: Path) -> None:
        _migrated(tmp_path)

    @pytest.mark.parametrize(
        ("content", "detail", "fix"),
        [
            (
                b"oauth_config:\n  scopes:\n    bot: chat:write\n",
                "oauth_config.scopes.bot is the string 'chat:write', not a list of scope names",
                SCOPES_FIX,
            ),
            (
                b"oauth_config:\n  scopes:\n    bot: [chat:write, 42, null]\n",
                "oauth_config.scopes.bot lists the number 42, null, which are not scope names",
                SCOPES_FIX,
            ),
            (
                b"oauth_config:\n  scopes:\n    bot: [chat:write, yes]\n",
                "oauth_config.scopes.bot lists the boolean true, which is not a scope name",
                SCOPES_FIX,
            ),
            (
                b"oauth_config:\n  scopes:\n    bot: [chat:write, ' ']\n",
                "oauth_config.scopes.bot lists the string ' ', which is not a scope name",
                SCOPES_FIX,
            ),
            (
                b"oauth_config:\n  scopes:\n    bot: {chat: write}\n",
                "oauth_config.scopes.bot is a mapping, not a list of scope names",
                SCOPES_FIX,
            ),
            (b"oauth_config:\n  scopes:\n    bot: []\n", "oauth_config.scopes.bot is an empty list", SCOPES_FIX),
            (
                b"oauth_config:\n  scopes:\n    bot: 7\n",
                "oauth_config.scopes.bot is the number 7, not a list of scope names",
                SCOPES_FIX,
            ),
            (
                b"oauth_config:\n  scopes:\n    user: [chat:write]\n",
                "has no oauth_config.scopes.bot (the bot scopes the app asks for)",
                SCOPES_FIX,
            ),
            (
                b"- commands\n- chat:write\n",
                "has no oauth_config.scopes.bot (the bot scopes the app asks for)",
                SCOPES_FIX,
            ),
            (b"", "has no oauth_config.scopes.bot (the bot scopes the app asks for)", SCOPES_FIX),
            (
                b"oauth_config: [\n  a: b\n",
                "is not valid YAML at line 3: expected ',' or ']', but got '<stream end>'",
                "        fix: correct the YAML of {path}",
            ),
            (
                b"oauth_config:\n  scopes:\n    bot: [caf\xe9]\n",
                "is not UTF-8 text (byte 0xe9 at offset 37)",
                "        fix: save {path} as UTF-8 (the manifest Slack shows is UTF-8)",
            ),
        ],
        ids=[
            "a-string",
            "non-strings",
            "a-boolean",
            "a-blank-name",
            "a-mapping",
            "empty",
            "a-number",
            "no-bot-key",
            "not-a-mapping",
            "empty-file",
            "broken-yaml",
            "latin-1",
        ],
    )
    def test_a_bad_manifest_fails_naming_the_bad_value(
        self, tmp_path: Path, fake_slack: FakeSlack, content: bytes, detail: str, fix: str
    ) -> None:
        """Each bad shape: one FAIL line naming what is wrong, its fix, exit 1; the other checks still run
        (PROCESS_MANIFEST from a child process, the other shapes in this process)."""
        path = tmp_path / "app.yml"
        path.write_bytes(content)
        code, lines, stderr = _doctor_cli(
            tmp_path, fake_slack, "--manifest", str(path), process=content == PROCESS_MANIFEST
        )
        assert (code, stderr) == (1, "")
        assert _line(lines, "Slack scopes") == [
            f"[FAIL] Slack scopes: --manifest {path} {detail}",
            fix.format(path=path),
        ]
        assert lines[-1] == "1 check(s) failed, 0 warning(s)."
        assert _line(lines, "announce channel") == ["[ok]   announce channel: #general (C0GENERAL) reachable"]

    @pytest.mark.parametrize(
        ("name", "detail"), [("missing.yml", "does not exist"), ("folder", "is a folder, not a manifest file")]
    )
    def test_a_named_manifest_that_is_not_a_file_fails(
        self, tmp_path: Path, fake_slack: FakeSlack, name: str, detail: str
    ) -> None:
        """--manifest naming nothing, or a folder: FAIL (the user named it), not a warning."""
        (tmp_path / "folder").mkdir()
        path = tmp_path / name
        code, lines, _ = _doctor_cli(tmp_path, fake_slack, "--manifest", str(path))
        assert code == 1
        assert _line(lines, "Slack scopes") == [f"[FAIL] Slack scopes: --manifest {path} {detail}", MANIFEST_FIX]

    def test_a_bad_manifest_fails_even_when_slack_is_not_asked(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        """No bot token, so Slack is not asked: the broken manifest named on the command line still fails."""
        path = tmp_path / "app.yml"
        path.write_text("oauth_config:\n  scopes:\n    bot: chat:write\n")
        code, lines, _ = _doctor_cli(tmp_path, fake_slack, "--manifest", str(path), SLACK_BOT_TOKEN=None)
        assert code == 1
        assert _line(lines, "Slack scopes") == [
            f"[FAIL] Slack scopes: --manifest {path} oauth_config.scopes.bot is the string 'chat:write', not a list "
            "of scope names",
            SCOPES_FIX,
        ]
        assert fake_slack.calls == []

    def test_no_manifest_in_the_folder_is_a_warning(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        """Without --manifest and no ./manifest.yml: a warning, exit 0."""
        code, lines, _ = _doctor_cli(tmp_path, fake_slack)
        assert code == 0
        assert _line(lines, "Slack scopes") == [
            "[warn] Slack scopes: no manifest.yml in this folder: scopes not compared",
            MANIFEST_FIX,
        ]

    def test_a_broken_manifest_in_the_folder_fails(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        """./manifest.yml exists but asks for a string: it is meant to be the manifest, so it fails too."""
        (tmp_path / "manifest.yml").write_text("oauth_config:\n  scopes:\n    bot: chat:write\n")
        code, lines, _ = _doctor_cli(tmp_path, fake_slack)
        assert code == 1
        assert _line(lines, "Slack scopes")[0] == (
            "[FAIL] Slack scopes: manifest.yml oauth_config.scopes.bot is the string 'chat:write', not a list of "
            "scope names"
        )


ALL_GOOD = [
    "[ok]   database",
    "[ok]   schema",
    "[ok]   database writable",
    "[ok]   Slack token",
    "[ok]   Slack scopes",
    "[ok]   announce channel",
    "[ok]   webhook token",
    "[ok]   SLO catalogue",
    "[ok]   templates",
]
SLACK_NOT_ASKED = {
    "[ok]   Slack token": "[warn] Slack",
    "[ok]   Slack scopes": None,
    "[ok]   announce channel": None,
}


def _checklist(lines: list[str]) -> list[str]:
    """Each check's status and name (``[ok]   database``), without details, fixes and the summary."""
    return [line.split(":", 1)[0] for line in lines[:-1] if not line.startswith("        fix:")]


def _expected(replaced: dict[str, str | None]) -> list[str]:
    return [replaced.get(line, line) for line in ALL_GOOD if replaced.get(line, line) is not None]  # type: ignore[misc]


PROCESS_SETTING = "LOG_LEVEL"
"""The invalid setting whose ``doctor`` runs in a child process (a bad LOG_LEVEL is where a process's logging set-up
could write to stderr); the other settings run the entry function in this process."""
PROCESS_LEVEL = "Warning"
"""The standard LOG_LEVEL spelling whose ``doctor`` runs in a child process; the others in this process."""


class TestEverySetting:
    """Each invalid setting is its own FAIL line with its fix, and every check that does not depend on it still
    runs (issue 13, B and C): a bad SLO file does not stop the database and Slack checks."""

    @pytest.fixture(autouse=True)
    def migrated(self, tmp_path: Path) -> None:
        _migrated(tmp_path)

    @pytest.mark.parametrize(
        ("name", "value", "message", "fix", "replaced"),
        [
            (
                "SLACK_APP_TOKEN",
                "xoxb-1234-5678",
                "SLACK_APP_TOKEN must be an app-level token (xapp-...), from Basic Information > App-Level Tokens "
                "of your Slack app; xoxb-... is the bot token (SLACK_BOT_TOKEN).",
                "paste the xapp-... token from Basic Information > App-Level Tokens, or leave it unset for HTTP",
                {},
            ),
            (
                "SLACK_API_URL",
                "ftp://slack.example/api",
                "SLACK_API_URL must be an http(s) URL, got 'ftp://slack.example/api'.",
                "leave SLACK_API_URL unset for Slack itself (https://slack.com/api/), or give an http(s) URL",
                SLACK_NOT_ASKED,
            ),
            (
                "INCIDENT_CHANNEL_PREFIX",
                "Inc!",
                "INCIDENT_CHANNEL_PREFIX 'Inc!' is not a name Slack accepts: use 1 to 20 of a-z, 0-9, - and _ "
                "(lowercase ASCII), starting and ending with a letter or digit, e.g. inc.",
                "set INCIDENT_CHANNEL_PREFIX to e.g. inc, or leave it unset",
                {},
            ),
            (
                "INCIDENT_TEMPLATES_DIR",
                "/nonexistent-templates",
                "INCIDENT_TEMPLATES_DIR '/nonexistent-templates' is not a directory.",
                "point INCIDENT_TEMPLATES_DIR at the folder of your .md.j2 templates, or leave it unset",
                {"[ok]   templates": "[warn] templates"},
            ),
            (
                "LOG_FORMAT",
                "xml",
                "LOG_FORMAT must be console or json, got 'xml'.",
                "set LOG_FORMAT to console or json",
                {},
            ),
            (
                "LOG_LEVEL",
                "verbose",
                "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case), got 'verbose'.",
                "set LOG_LEVEL to DEBUG, INFO, WARNING, ERROR or CRITICAL",
                {},
            ),
            (
                "INCIDENT_STRICT_ROLES",
                "maybe",
                "INCIDENT_STRICT_ROLES must be true or false, got 'maybe'.",
                "set INCIDENT_STRICT_ROLES to true or false",
                {},
            ),
            (
                "INCIDENT_SLO_FILE",
                "/nonexistent.yml",
                "INCIDENT_SLO_FILE '/nonexistent.yml' is not a file.",
                "point INCIDENT_SLO_FILE at your slos.yml, or leave it unset for no error budgets",
                {"[ok]   SLO catalogue": "[warn] SLO catalogue"},
            ),
            (
                "PAGERDUTY_EVENTS_URL",
                "events.pagerduty.com/v2/enqueue",
                "PAGERDUTY_EVENTS_URL must be an http(s) URL, got 'events.pagerduty.com/v2/enqueue'.",
                "leave PAGERDUTY_EVENTS_URL unset for PagerDuty itself, or give an http(s) URL",
                {},
            ),
            (
                "INCIDENT_NUDGE_MINUTES",
                "sev1=0",
                "INCIDENT_NUDGE_MINUTES: sev1=0 needs sev1-4 and minutes from 1 to 1440.",
                "write it as sev1=15,sev2=30 (minutes from 1 to 1440), or off",
                {},
            ),
            (
                "INCIDENT_ALERT_SEVERITY_MAP",
                "page=urgent",
                "INCIDENT_ALERT_SEVERITY_MAP: page=urgent must map to sev1, sev2, sev3 or sev4.",
                "write it as label=sevN pairs, e.g. page=sev1,minor=sev4",
                {},
            ),
            (
                "INCIDENT_ALERT_MAX_BYTES",
                "12",
                "INCIDENT_ALERT_MAX_BYTES must be a number of bytes from 1048576 (1 MiB) to 1073741824 (1 GiB), "
                "got '12'.",
                "give a number of bytes from 1048576 to 1073741824, or leave it unset (32 MiB)",
                {},
            ),
        ],
    )
    def test_each_invalid_setting_fails_alone_and_the_rest_is_checked(  # type: ignore[no-untyped-def]
        self, tmp_path: Path, fake_slack: FakeSlack, name: str, value: str, message: str, fix: str, replaced
    ) -> None:
        """PROCESS_SETTING from a child process, the other settings in this process."""
        code, lines, stderr = _doctor_cli(
            tmp_path,
            fake_slack,
            "--manifest",
            str(ROOT / "manifest.yml"),
            process=name == PROCESS_SETTING,
            **{name: value},
        )
        assert (code, stderr) == (1, "")
        assert lines[:2] == [f"[FAIL] configuration: {message}", f"        fix: {fix}"]
        assert _checklist(lines) == ["[FAIL] configuration", *_expected(replaced)]
        assert lines[-1] == f"1 check(s) failed, {len([v for v in replaced.values() if v])} warning(s)."

    def test_every_invalid_setting_is_listed_and_the_database_and_slack_are_still_checked(
        self, tmp_path: Path, fake_slack: FakeSlack
    ) -> None:
        """The tester's case and two more bad settings: three FAIL lines in .env.example's order, each with its
        fix; database, Slack, webhook token and templates checked; the SLO catalogue says why it was not."""
        code, lines, _ = _doctor_cli(
            tmp_path,
            fake_slack,
            "--manifest",
            str(ROOT / "manifest.yml"),
            INCIDENT_SLO_FILE="/nonexistent.yml",
            LOG_LEVEL="verbose",
            LOG_FORMAT="xml",
        )
        assert code == 1
        assert lines[:6] == [
            "[FAIL] configuration: LOG_FORMAT must be console or json, got 'xml'.",
            "        fix: set LOG_FORMAT to console or json",
            "[FAIL] configuration: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case), got "
            "'verbose'.",
            "        fix: set LOG_LEVEL to DEBUG, INFO, WARNING, ERROR or CRITICAL",
            "[FAIL] configuration: INCIDENT_SLO_FILE '/nonexistent.yml' is not a file.",
            "        fix: point INCIDENT_SLO_FILE at your slos.yml, or leave it unset for no error budgets",
        ]
        assert _checklist(lines)[3:] == [
            "[ok]   database",
            "[ok]   schema",
            "[ok]   database writable",
            "[ok]   Slack token",
            "[ok]   Slack scopes",
            "[ok]   announce channel",
            "[ok]   webhook token",
            "[warn] SLO catalogue",
            "[ok]   templates",
        ]
        assert _line(lines, "SLO catalogue") == [
            "[warn] SLO catalogue: not checked: INCIDENT_SLO_FILE is invalid",
            "        fix: see above",
        ]
        assert lines[-1] == "3 check(s) failed, 1 warning(s)."
        assert [c.method for c in fake_slack.calls] == ["auth.test", "conversations.info"]

    @pytest.mark.parametrize("level", ["debug", "Warning", "ERROR", "critical", "info"])
    def test_standard_level_names_pass_in_any_case(self, tmp_path: Path, fake_slack: FakeSlack, level: str) -> None:
        """PROCESS_LEVEL from a child process, the other spellings in this process."""
        code, lines, _ = _doctor_cli(
            tmp_path,
            fake_slack,
            "--manifest",
            str(ROOT / "manifest.yml"),
            process=level == PROCESS_LEVEL,
            LOG_LEVEL=level,
        )
        assert (code, lines[0].split(":", 1)[0]) == (0, "[ok]   configuration")


class TestTheServersRefuseEveryBadSetting:
    """`serve` (and every other command) refuses an invalid setting in one line; several are named together."""

    @pytest.mark.parametrize("command", ["serve", "socket", "list"])
    def test_log_level_verbose_is_refused(self, tmp_path: Path, command: str) -> None:
        """LOG_LEVEL=verbose used to start at INFO silently. `serve` and `socket` are refused in child processes (one
        that started instead would end at the process's timeout, not block this one), ``list`` in this process."""
        env_file = tmp_path / "bad.env"
        env_file.write_text("LOG_LEVEL=verbose\nSLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=abc\n")
        database_url = f"sqlite:///{tmp_path / 'bot.db'}"
        result = run_incidentbot(
            "--env-file", str(env_file), command, process=command != "list", database_url=database_url, cwd=tmp_path
        )
        assert_one_line_error(result)
        assert result.stderr == (
            "incidentbot: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case), got 'verbose'.\n"
        )

    def test_several_bad_settings_are_named_in_one_line(self, tmp_path: Path) -> None:
        env_file = tmp_path / "bad.env"
        env_file.write_text("LOG_LEVEL=verbose\nINCIDENT_SLO_FILE=/nonexistent.yml\n")
        result = incidentbot("--env-file", str(env_file), "serve", database_url="sqlite:///x.db", cwd=tmp_path)
        assert_one_line_error(result)
        assert result.stderr == (
            "incidentbot: 2 settings are invalid: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL "
            "(any case), got 'verbose'. INCIDENT_SLO_FILE '/nonexistent.yml' is not a file.\n"
        )
