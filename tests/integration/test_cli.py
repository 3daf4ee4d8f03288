"""The ``incidentbot`` command line as users run it: a real process, DATABASE_URL in the environment.

Set-up steps that only put a database in a state, and the repeated spellings of a long session, run the same entry
function in this process (``incidentbot_here``: 0.4-1 s less a run); each test says which runs stay processes (at
least one per kind of outcome: success, refusal with exit 1, usage error with exit 2, help)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.main import main
from bot.store.engine import create_store_engine
from bot.store.migrate import current_revision, head_revision
from tests.support.cli import assert_one_line_error, incidentbot, incidentbot_here

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@dataclass(frozen=True)
class Workspace:
    """A folder with a database holding INC-1 (declared, then a note), made through the CLI itself."""

    folder: Path
    database_url: str
    declared: subprocess.CompletedProcess[str]
    noted: subprocess.CompletedProcess[str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``incidentbot ARGS`` as a child process."""
        return incidentbot(*args, database_url=self.database_url, cwd=self.folder)

    def here(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``incidentbot ARGS`` through the entry function in this process (``incidentbot_here``)."""
        return incidentbot_here(*args, database_url=self.database_url, cwd=self.folder)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """INC-1 declared by an ``incidentbot run`` process on a new SQLite file (the run creates it), then noted by
    ``incidentbot run`` in this process."""
    folder = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{folder / 'incidents.db'}"
    declared = incidentbot("run", "declare sev2 checkout is down", "--user", "U0ALICE", database_url=url, cwd=folder)
    noted = incidentbot_here(
        "run", "INC-1 note load balancer health checks flapping", "--user", "U0BOB", database_url=url, cwd=folder
    )
    return Workspace(folder, url, declared, noted)


class TestDemo:
    def test_demo_replays_the_outage_and_prints_the_postmortem(self, tmp_path: Path) -> None:
        """``demo`` walks 13:42 to 14:45 and ends with the postmortem and its four metrics."""
        result = incidentbot("demo", database_url=f"sqlite:///{tmp_path / 'unused.db'}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        out = result.stdout
        assert "13:42  @alice  /incident declare sev1 CDN edge returning 502s" in out
        assert "14:45  @alice  /incident resolve 502 rate back within SLO" in out
        assert out.index("13:42") < out.index("14:45") < out.index("# INC-1 Postmortem:")
        for row in (
            "| Time to assemble the IRT | 8 min |",
            "| Time to root cause | 23 min |",
            "| Time to mitigate | 53 min |",
            "| Time to resolve | 1h 3m |",
        ):
            assert row in out
        assert not (tmp_path / "unused.db").exists()


class TestRunTimelineList:
    def test_run_declares_and_notes(self, workspace: Workspace) -> None:
        """``run`` applies /incident commands and confirms each on stdout."""
        assert workspace.declared.returncode == 0, workspace.declared.stderr
        assert workspace.declared.stdout.startswith("INC-1 · Incident declared (sev2): checkout is down")
        assert workspace.noted.returncode == 0, workspace.noted.stderr
        assert "INC-1 · Note: load balancer health checks flapping" in workspace.noted.stdout

    def test_timeline_json_has_the_documented_shape(self, workspace: Workspace) -> None:
        """``timeline INC-1 --format json`` prints the incident id and entries with ISO ...Z times."""
        result = workspace.run("timeline", "INC-1", "--format", "json")
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["incident"] == "INC-1"
        entries = document["entries"]
        assert [e["kind"] for e in entries] == ["declared", "note"]
        for entry in entries:
            assert set(entry) >= {"kind", "occurred_at", "recorded_at", "actor", "text", "description", "data"}
            assert ISO_UTC.match(entry["occurred_at"]) and ISO_UTC.match(entry["recorded_at"])
        assert entries[1]["actor"] == "U0BOB"
        assert entries[1]["text"] == "load balancer health checks flapping"
        assert entries[0]["data"]["severity"] == "sev2"

    def test_timeline_text(self, workspace: Workspace) -> None:
        """``timeline INC-1`` prints one line per entry under a heading (in this process; the JSON timeline and the
        postmortem to a file are processes)."""
        result = workspace.here("timeline", "INC-1")
        assert result.returncode == 0, result.stderr
        assert "INC-1 timeline (UTC)" in result.stdout
        assert "Note: load balancer health checks flapping" in result.stdout

    def test_list_json(self, workspace: Workspace) -> None:
        """``list --format json`` lists INC-1 with its status and an ISO declaration time (in this process)."""
        result = workspace.here("list", "--format", "json")
        assert result.returncode == 0, result.stderr
        [incident] = json.loads(result.stdout)["incidents"]
        assert incident["incident"] == "INC-1"
        assert incident["status"] == "declared"
        assert incident["severity"] == "sev2" and incident["resolved_at"] is None
        assert ISO_UTC.match(incident["declared_at"])

    def test_postmortem_to_a_file(self, workspace: Workspace) -> None:
        """``postmortem INC-1 --out FILE`` writes the draft and says so on stderr only."""
        out = workspace.folder / "INC-1.md"
        result = workspace.run("postmortem", "INC-1", "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert result.stderr.strip() == f"Wrote {out}"
        assert out.read_text(encoding="utf-8").startswith("# INC-1 Postmortem: checkout is down")


class TestDatabaseUpgrade:
    def test_db_upgrade_reports_the_revision(self, tmp_path: Path) -> None:
        """``db upgrade`` on a new file migrates it and prints the revision it reached."""
        url = f"sqlite:///{tmp_path / 'new.db'}"
        result = incidentbot("db", "upgrade", database_url=url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        engine = create_store_engine(url)
        try:
            assert current_revision(engine) == head_revision(engine)
            assert result.stdout == f"Database schema at revision {head_revision(engine)}.\n"
        finally:
            engine.dispose()


class TestFailures:
    """Processes: an unknown incident (exit 1), a bad incident id (exit 2) and an unreadable database (no driver
    traceback); the other failures run the entry function in this process."""

    def test_unknown_incident(self, workspace: Workspace) -> None:
        """An incident that does not exist is one line on stderr and exit 1."""
        assert_one_line_error(workspace.run("timeline", "INC-999"), "There is no incident INC-999")

    def test_unknown_incident_in_a_command(self, workspace: Workspace) -> None:
        """A state change naming a missing incident fails the same way and changes nothing."""
        assert_one_line_error(workspace.here("run", "INC-999 note hello"), "There is no incident INC-999")

    def test_bad_incident_id(self, workspace: Workspace) -> None:
        """``FOO`` is not an incident id: a usage error (exit 2) with one line."""
        result = workspace.run("postmortem", "FOO")
        assert_one_line_error(result, "`FOO` is not an incident id")
        assert result.returncode == 2

    def test_unknown_template(self, workspace: Workspace) -> None:
        """An unknown template name fails with the available ones listed."""
        assert_one_line_error(
            workspace.here("postmortem", "INC-1", "--template", "nope"),
            "no postmortem template `nope`",
            "Available: postmortem",
        )

    def test_unreadable_database(self, tmp_path: Path) -> None:
        """A DATABASE_URL pointing at garbage bytes is one clear line, not a driver traceback."""
        garbage = tmp_path / "garbage.db"
        garbage.write_bytes(os.urandom(4096))
        result = incidentbot("list", database_url=f"sqlite:///{garbage}", cwd=tmp_path)
        assert_one_line_error(result, "Cannot open the database", "not a database")

    def test_unsupported_database_url(self, tmp_path: Path) -> None:
        """A DATABASE_URL of an unsupported kind is a configuration error in one line."""
        assert_one_line_error(
            incidentbot_here("list", database_url="mysql://x@localhost/db", cwd=tmp_path), "Unsupported database"
        )


class TestHelp:
    def test_top_level_help_from_the_installed_script(self, tmp_path: Path) -> None:
        """The installed ``incidentbot`` script answers --help listing every command."""
        result = incidentbot("--help", database_url="sqlite://", cwd=tmp_path, script=True)
        assert result.returncode == 0, result.stderr
        for command in ("demo", "run", "timeline", "postmortem", "list", "db", "serve", "socket"):
            assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command

    @pytest.mark.parametrize(
        "command",
        [["demo"], ["run"], ["timeline"], ["postmortem"], ["list"], ["db"], ["db", "upgrade"], ["serve"], ["socket"]],
    )
    def test_every_subcommand_has_help(self, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        """``incidentbot <command> --help`` prints its usage and exits 0."""
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: incidentbot {' '.join(command)}")


class TestChannelPrefixAtStartUp:
    @pytest.mark.parametrize("prefix", ["incé", "inc²"])  # uppercase and length: tests/unit/test_config.py
    def test_serve_with_a_prefix_slack_would_refuse_stops_in_one_line(self, tmp_path: Path, prefix: str) -> None:
        """`incidentbot serve` refuses to start, with one line naming the setting, before any Slack call."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))}
        env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL="http://127.0.0.1:9/api/",
            INCIDENT_CHANNEL_PREFIX=prefix,
        )
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "serve", "--port", "0"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert_one_line_error(result, "INCIDENT_CHANNEL_PREFIX", repr(prefix), "use 1 to 20 of a-z, 0-9, - and _")


@dataclass(frozen=True)
class PeopleSession:
    """One incident driven through ``incidentbot run`` naming people as @name, and what each run printed."""

    workspace: Workspace
    runs: dict[str, subprocess.CompletedProcess[str]]


PEOPLE_COMMANDS = (
    "declare SEV-1 CDN down",
    "INC-1 lead @alice",
    "INC-1 followup canary rollout for WAF rules @bob",
    "INC-1 assemble @carol:networking @dave <@U0BOB|bobby>",
    "INC-1 status",
    "INC-1 timeline",
)


PEOPLE_PROCESSES = frozenset({"declare SEV-1 CDN down"})
"""The runs of PEOPLE_COMMANDS made by a real ``incidentbot`` process (the first, which creates the database); the
others, and the JSON timeline read after them, run the entry function in this process."""


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> PeopleSession:
    """Issue 11 item 7 through the CLI: every command by ``--user @Erin`` (PEOPLE_PROCESSES in real processes)."""
    folder = tmp_path_factory.mktemp("cli-people")
    url = f"sqlite:///{folder / 'incidents.db'}"
    runs = {
        text: (incidentbot if text in PEOPLE_PROCESSES else incidentbot_here)(
            "run", text, "--user", "@Erin", database_url=url, cwd=folder
        )
        for text in PEOPLE_COMMANDS
    }
    workspace = Workspace(folder, url, runs[PEOPLE_COMMANDS[0]], runs[PEOPLE_COMMANDS[1]])
    return PeopleSession(workspace, runs)


class TestPeopleByName:
    """``@name`` works wherever the CLI names a person; the CLI prints names, never Slack markup."""

    def test_every_command_succeeds_and_prints_no_slack_markup(self, people: PeopleSession) -> None:
        """All six runs exit 0 with nothing on stderr and no ``<@``, ``<#`` or ``/incident`` in their output."""
        for text, result in people.runs.items():
            assert (result.returncode, result.stderr) == (0, ""), text
            assert "<@" not in result.stdout and "<#" not in result.stdout and "/incident" not in result.stdout

    def test_declare_takes_sev_dash_1_out_of_the_title(self, people: PeopleSession) -> None:
        """Issue 11 item 6: ``declare SEV-1 CDN down`` is a sev1 titled "CDN down"."""
        assert people.runs["declare SEV-1 CDN down"].stdout == (
            "INC-1 · Incident declared (sev1): CDN down (status: declared)\n"
        )

    def test_lead_by_name(self, people: PeopleSession) -> None:
        """``lead @alice`` (once refused as "mentioned as @name") makes alice the lead."""
        assert people.runs["INC-1 lead @alice"].stdout == "INC-1 · @alice is now the incident lead\n"

    def test_followup_owner_by_name(self, people: PeopleSession) -> None:
        """``followup ... @bob`` records bob as the owner, not "@bob" in the text."""
        out = people.runs["INC-1 followup canary rollout for WAF rules @bob"].stdout
        assert out == "INC-1 · Follow-up #1: canary rollout for WAF rules (owner: @bob)\n"

    def test_assemble_by_name_and_by_mention(self, people: PeopleSession) -> None:
        """Names with roles, bare names and a Slack mention all join the IRT."""
        out = people.runs["INC-1 assemble @carol:networking @dave <@U0BOB|bobby>"].stdout
        assert out == "INC-1 · IRT assembled: @carol (networking), @dave, @bobby (status: investigating)\n"

    def test_status_prints_names(self, people: PeopleSession) -> None:
        """``status`` shows the lead and the IRT as @names."""
        out = people.runs["INC-1 status"].stdout
        assert "Severity: sev1 · Status: investigating · Lead: @alice\n" in out
        assert "IRT: @carol (networking), @dave, @bobby\n" in out

    def test_timeline_records_the_names(self, people: PeopleSession) -> None:
        """The database holds alice as lead, bob as owner and erin as the actor (from ``--user @Erin``)."""
        result = people.workspace.here("timeline", "INC-1", "--format", "json")
        assert result.returncode == 0, result.stderr
        entries = json.loads(result.stdout)["entries"]
        assert [e["kind"] for e in entries] == ["declared", "lead", "followup", "assembled"]
        assert {e["actor"] for e in entries} == {"erin"}
        assert entries[1]["data"]["user"] == "alice"
        assert entries[2]["data"]["owner"] == "bob"
        assert entries[2]["text"] == "canary rollout for WAF rules"
        assert [m["user"] for m in entries[3]["data"]["members"]] == ["carol", "dave", "U0BOB"]
        assert entries[3]["description"] == "IRT assembled: @carol (networking), @dave, @bobby"

    def test_timeline_text_prints_names(self, people: PeopleSession) -> None:
        """The text timeline names the actor and the people as @names."""
        out = people.runs["INC-1 timeline"].stdout
        assert "@alice is now the incident lead  (@erin)" in out


class TestCliSyntaxInErrors:
    """Errors from ``incidentbot run`` show commands as typed in a terminal, not ``/incident ...``. All through the
    entry function in this process: each kind of outcome here (a refusal with exit 1, a usage error with exit 2 and
    its usage line, ``help``, a bad ``--user``) is also a real process in TestFailures or the tester's session."""

    def test_unknown_incident_points_at_cli_list(self, workspace: Workspace) -> None:
        """A missing incident suggests ``incidentbot run "list"``."""
        result = workspace.here("run", "INC-99 note x")
        assert_one_line_error(result, 'There is no incident INC-99. `incidentbot run "list"` shows the open ones.')
        assert "`/incident" not in result.stderr

    def test_a_command_without_an_incident_asks_for_its_id(self, workspace: Workspace) -> None:
        """With no channel to imply the incident, the CLI asks for ``INC-n`` in CLI syntax (exit 2)."""
        result = workspace.here("run", "note checking the WAF")
        assert_one_line_error(result, '`incidentbot run "INC-7 note ..."`')
        assert result.returncode == 2 and "channel belongs" not in result.stderr

    def test_usage_is_shown_as_a_cli_command(self, workspace: Workspace) -> None:
        """A malformed command prints its reason, then its usage as ``incidentbot run "..."``."""
        result = workspace.here("run", "INC-1 lead")
        assert result.returncode == 2
        assert result.stderr == (
            'incidentbot: `lead` needs exactly one person, mentioned as @name.\nUsage: incidentbot run "lead @user"\n'
        )

    def test_help_is_shown_as_cli_commands(self, workspace: Workspace) -> None:
        """``help lead`` prints the CLI spelling."""
        result = workspace.here("run", "help lead")
        assert (result.returncode, result.stdout) == (0, 'Usage: incidentbot run "lead @user"\n')

    def test_refusal_hint_is_a_cli_command(self, tmp_path: Path) -> None:
        """After resolve, ``mitigate`` is refused with the reopen command in CLI syntax."""
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        for text in ("declare sev3 disk full", "INC-1 resolve cleaned up"):
            assert incidentbot_here("run", text, database_url=url, cwd=tmp_path).returncode == 0
        result = incidentbot_here("run", "INC-1 mitigate more disk", database_url=url, cwd=tmp_path)
        assert_one_line_error(result, '`incidentbot run "INC-1 reopen <reason>"` first')
        assert "`/incident" not in result.stderr

    def test_a_bad_user_is_refused(self, workspace: Workspace) -> None:
        """``--user`` takes a name or a Slack user id, nothing else."""
        assert_one_line_error(workspace.here("run", "INC-1 note x", "--user", "<@U0X>"), "is not a name")


class TestAtThroughTheCli:
    def test_utc_offsets_are_ahead_of_utc(self, tmp_path: Path) -> None:
        """Issue 11 item 4 through ``incidentbot run``: 13:42 UTC+1 and GMT+1 are 12:42Z, UTC+05:30 is 08:12Z.

        All runs, the timeline read included, run the entry function in this process (what ``--at`` records does
        not depend on the process; ``run`` as a process is checked elsewhere in this file)."""
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()  # any day within --at's one year
        texts = (
            f"declare sev2 CDN down --at {day} 08:00Z",
            f"INC-1 note utc plus one --at {day} 13:42 UTC+1",
            f"INC-1 note gmt plus one --at {day} 13:42 GMT+1",
            f"INC-1 note india --at {day} 13:42 UTC+05:30",
        )
        for text in texts:
            result = incidentbot_here("run", text, database_url=url, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
        result = incidentbot_here("timeline", "INC-1", "--format", "json", database_url=url, cwd=tmp_path)
        entries = json.loads(result.stdout)["entries"]
        assert [(e["text"], e["occurred_at"]) for e in entries] == [
            ("CDN down", f"{day}T08:00:00Z"),
            ("india", f"{day}T08:12:00Z"),
            ("utc plus one", f"{day}T12:42:00Z"),
            ("gmt plus one", f"{day}T12:42:00Z"),
        ]


TESTER_RUNS: tuple[tuple[str, ...], ...] = (
    ("run", "declare [sev1] CDN down --at 1d 2h ago"),
    ("run", "declare SEV1 - CDN down"),
    ("run", "declare sev1x title"),
    ("run", "INC-1 note canonical --at 13:00"),
    ("run", "INC-1 note G \u2014at 13:00"),
    ("run", "INC-1 note G \u2013at 13:00"),
    ("run", "INC-1 note G --AT 13:00"),
    ("run", "INC-1 note G --at=13:00"),
    ("run", "INC-1 note H -at 13:00"),
    ("run", "INC-1 note J --at 13:00 --at 13:05"),
    ("run", "INC-1 lead @here"),
    ("run", "INC-1 followup check @everyone"),
    ("run", "INC-1 followup fix @"),
    ("run", "INC-1 assemble @W3C @U2"),
    ("run", "INC-1 lead @alice"),
    ("run", "INC-1 lead @alice"),
    ("run", "INC-1 note x", "--user", "@here"),
    ("run", "INC-1 note x", "--user", "<@U123ABC>"),
    ("run", "help"),
)
TESTER_PROCESSES = frozenset({0, 2, 15, 16, 18})
"""The positions in TESTER_RUNS typed into a real ``incidentbot`` process, one of each outcome: a declaration that
creates the database, a usage error with its usage line (exit 2), a refusal (exit 1), a bad ``--user`` (exit 2) and
``help``; the other spellings run the entry function in this process."""


@dataclass(frozen=True)
class CliSession:
    """What each of TESTER_RUNS printed (by position), and INC-1's timeline entries afterwards."""

    runs: list[subprocess.CompletedProcess[str]]
    entries: list[dict[str, Any]]


@pytest.fixture(scope="module")
def tester(tmp_path_factory: pytest.TempPathFactory) -> CliSession:
    """The fresh tester's CLI session, one run per command, in order, on one SQLite file (TESTER_PROCESSES in real
    processes, the rest in this process)."""
    folder = tmp_path_factory.mktemp("cli-tester")
    url = f"sqlite:///{folder / 'incidents.db'}"
    runs = [
        (incidentbot if i in TESTER_PROCESSES else incidentbot_here)(*args, database_url=url, cwd=folder)
        for i, args in enumerate(TESTER_RUNS)
    ]
    timeline = incidentbot_here("timeline", "INC-1", "--format", "json", database_url=url, cwd=folder)
    return CliSession(runs, json.loads(timeline.stdout)["entries"])


class TestTesterFindingsThroughTheCli:
    """The fresh tester's findings on items 4-7, as a user meets them in ``incidentbot run``."""

    def test_severity_spellings(self, tester: CliSession) -> None:
        """``[sev1]`` and ``SEV1 -`` declare sev1 "CDN down"; ``sev1x`` is refused with the valid list."""
        assert tester.runs[0].stdout == "INC-1 · Incident declared (sev1): CDN down (status: declared)\n"
        assert tester.runs[1].stdout == "INC-2 · Incident declared (sev1): CDN down (status: declared)\n"
        assert_one_line_error_with_usage(
            tester.runs[2],
            "`sev1x` is not a severity; use sev1 (worst) to sev4, also written SEV-1, sev 1, S1 or P1.",
        )

    def test_at_variants_backdate_like_at(self, tester: CliSession) -> None:
        """Em dash, en dash, ``--AT`` and ``--at=`` record note "G" at the same moment as ``--at 13:00``."""
        entries = tester.entries
        notes = [(e["text"], e["occurred_at"]) for e in entries if e["kind"] == "note"]
        canonical = next(moment for text, moment in notes if text == "canonical")
        assert canonical.endswith("T13:00:00Z")
        assert [moment for text, moment in notes if text == "G"] == [canonical] * 4
        assert {text for text, _ in notes} == {"canonical", "G"}

    def test_wrong_at_is_refused(self, tester: CliSession) -> None:
        """``-at`` asks for ``--at``; two ``--at`` are refused naming both; neither is recorded."""
        assert_one_line_error_with_usage(tester.runs[8], "`-at` is not an option: did you mean `--at`?")
        assert_one_line_error_with_usage(
            tester.runs[9], "`--at` is given 2 times (`--at 13:00`, `--at 13:05`); give one time."
        )

    @pytest.mark.parametrize(
        ("index", "message"),
        [
            (10, "`@here` notifies a whole channel; name one person, e.g. `@alice`."),
            (11, "`@everyone` notifies a whole channel; name one person, e.g. `@alice`."),
            (12, "`@` is not a person; end with the owner as `@name`, or leave the owner out."),
        ],
    )
    def test_broadcasts_and_bare_at_are_nobody(self, tester: CliSession, index: int, message: str) -> None:
        """``lead @here``, ``followup check @everyone`` and ``followup fix @`` are refused."""
        assert_one_line_error_with_usage(tester.runs[index], message)

    def test_w3c_and_u2_are_names(self, tester: CliSession) -> None:
        """``assemble @W3C @U2`` assembles the names w3c and u2, shown as @names, recorded lower-cased."""
        assert tester.runs[13].stdout == "INC-1 · IRT assembled: @w3c, @u2 (status: investigating)\n"
        entries = tester.entries
        assembled = next(e for e in entries if e["kind"] == "assembled")
        assert [m["user"] for m in assembled["data"]["members"]] == ["w3c", "u2"]

    def test_same_lead_is_at_name(self, tester: CliSession) -> None:
        """Naming alice as lead twice: "@alice already leads INC-1."."""
        assert tester.runs[14].returncode == 0
        assert_one_line_error(tester.runs[15])
        assert tester.runs[15].stderr == "incidentbot: @alice already leads INC-1.\n"

    @pytest.mark.parametrize(("index", "typed"), [(16, "@here"), (17, "<@U123ABC>")])
    def test_bad_user_is_echoed_as_typed(self, tester: CliSession, index: int, typed: str) -> None:
        """``--user @here`` and ``--user '<@U123ABC>'`` are refused, showing exactly what was typed."""
        result = tester.runs[index]
        assert result.returncode == 2
        assert result.stderr == (
            f"incidentbot: `--user {typed}` is not a name; use e.g. `--user @alice` or a Slack user id such as "
            "`--user U0123ABC` (not @here, @channel or @everyone).\n"
        )

    def test_help_is_plain_text(self, tester: CliSession) -> None:
        """``run "help"`` prints no Slack markup: no ``*Commands*``, no backticks, commands as typed here."""
        out = tester.runs[18].stdout
        assert out.startswith('Commands:\nincidentbot run "declare [--private] [sev1|sev2|sev3|sev4] <title>')
        assert 'incidentbot run "lead @user"\n' in out
        assert "*" not in out and "`" not in out and "/incident" not in out


def assert_one_line_error_with_usage(result: subprocess.CompletedProcess[str], message: str) -> None:
    """A usage error: exit 2, the message on the first stderr line, the usage on the second."""
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1].startswith('Usage: incidentbot run "'), result.stderr
    assert lines[0] == f"incidentbot: {message}"


class TestStrictRolesInTheCli:
    def test_a_refusal_names_people_as_the_cli_writes_them(self, tmp_path: Path) -> None:
        """With INCIDENT_STRICT_ROLES=true, the CLI's refusal says `@alice` and reads `may roll it back` (all in this
        process: a strict-roles refusal from a real process is slack_users' rollback)."""
        url = f"sqlite:///{tmp_path / 'incidents.db'}"
        strict = {"INCIDENT_STRICT_ROLES": "true"}
        for text in ("declare sev1 CDN edge returning 502s", "INC-1 lead @alice"):
            done = incidentbot_here("run", text, "--user", "@alice", database_url=url, cwd=tmp_path, settings=strict)
            assert done.returncode == 0, done.stderr
        refused = incidentbot_here(
            "run", "INC-1 rollback WAF rule", "--user", "@mallory", database_url=url, cwd=tmp_path, settings=strict
        )
        assert_one_line_error(refused)
        assert refused.stderr.strip() == (
            "incidentbot: Only the lead @alice and the IRT of INC-1 may roll it back (strict roles are on). "
            'Ask one of them to add you: `incidentbot run "INC-1 assemble @mallory"`.'
        )


SLACK_USER_COMMANDS = (
    ("declare sev2 API errors", "U0123ABC", False),
    ("INC-1 lead <@U0123ABC|alice>", "U0123ABC", False),
    ("INC-1 lead <@U0123ABC>", "U0BOB", False),
    ("INC-1 assemble <@U0BOB|bob>:db <@U0CAROL>", "U0123ABC", False),
    ("INC-1 rollback the WAF rule", "U0MALLORY", True),
    ("INC-1 followup canary the WAF rules <@U0BOB>", "U0123ABC", False),
    ("INC-1 resolve fixed", "U0BOB", False),
    ("INC-1 resolve again", "U0123ABC", False),
    ("INC-1 status", "U0123ABC", False),
    ("INC-1 timeline", "U0123ABC", False),
)
"""(text, --user, strict roles): people named by Slack user id, with and without the name Slack sends."""
SLACK_USER_PROCESSES = frozenset(
    {"INC-1 lead <@U0123ABC>", "INC-1 rollback the WAF rule", "INC-1 status", "timeline text"}
)
"""The runs of ``slack_users`` made by a real ``incidentbot`` process: a refusal, the strict-roles refusal (its setting
in the process's environment), a status and the text timeline; the others run the entry function in this process."""


@pytest.fixture(scope="module")
def slack_users(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Issue 12 item 6: INC-1 driven by Slack user ids through ``incidentbot run``, and its ``timeline`` in text
    and JSON; each run's result by its text (SLACK_USER_PROCESSES in real processes, the rest in this process)."""
    folder = tmp_path_factory.mktemp("cli-slack-users")
    url = f"sqlite:///{folder / 'incidents.db'}"
    runs: dict[str, subprocess.CompletedProcess[str]] = {}
    for text, user, strict in SLACK_USER_COMMANDS:
        cli = incidentbot if text in SLACK_USER_PROCESSES else incidentbot_here
        settings = {"INCIDENT_STRICT_ROLES": "true" if strict else "false"}
        runs[text] = cli("run", text, "--user", user, database_url=url, cwd=folder, settings=settings)
    for form in ("text", "json"):
        cli = incidentbot if f"timeline {form}" in SLACK_USER_PROCESSES else incidentbot_here
        runs[f"timeline {form}"] = cli("timeline", "INC-1", "--format", form, database_url=url, cwd=folder)
    return runs


class TestSlackUsersInTheTerminal:
    """The domain names people; the CLI writes them as @name (the name Slack told us) or @id, never as
    Slack's ``<@U0123ABC>`` markup, in its output and in its refusals."""

    def test_nothing_printed_is_slack_markup(self, slack_users: dict[str, subprocess.CompletedProcess[str]]) -> None:
        """No run, no refusal and neither timeline prints ``<@`` (12 runs, 4 of them processes)."""
        assert len(slack_users) == 12
        for text, result in slack_users.items():
            assert "Traceback" not in result.stderr, text
            assert "<@" not in result.stdout + result.stderr, (text, result.stdout, result.stderr)

    def test_a_lead_named_again_is_refused_by_the_name_on_record(
        self, slack_users: dict[str, subprocess.CompletedProcess[str]]
    ) -> None:
        """``lead <@U0123ABC>`` (no name sent) for the lead: refused naming them by the name recorded earlier."""
        assert slack_users["INC-1 lead <@U0123ABC|alice>"].stdout == "INC-1 · @alice is now the incident lead\n"
        result = slack_users["INC-1 lead <@U0123ABC>"]
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == "incidentbot: @alice already leads INC-1.\n"

    def test_a_strict_roles_refusal_names_the_lead_and_the_outsider(
        self, slack_users: dict[str, subprocess.CompletedProcess[str]]
    ) -> None:
        """The lead is @alice (recorded), the outsider U0MALLORY has no name on record: @U0MALLORY."""
        result = slack_users["INC-1 rollback the WAF rule"]
        assert result.returncode == 1
        assert result.stderr == (
            "incidentbot: Only the lead @alice and the IRT of INC-1 may roll it back (strict roles are on). "
            'Ask one of them to add you: `incidentbot run "INC-1 assemble @U0MALLORY"`.\n'
        )

    def test_resolving_twice_names_the_resolver(self, slack_users: dict[str, subprocess.CompletedProcess[str]]) -> None:
        """U0BOB resolved it; his name (bob) was recorded when he joined the IRT."""
        result = slack_users["INC-1 resolve again"]
        assert result.returncode == 1
        assert re.fullmatch(
            r"incidentbot: INC-1 was already resolved by @bob at \d{4}-\d\d-\d\d \d\d:\d\d UTC\.\n", result.stderr
        ), result.stderr

    def test_changes_and_status_name_people(self, slack_users: dict[str, subprocess.CompletedProcess[str]]) -> None:
        """Assemble, follow-up owner and status write @bob, @U0CAROL (no name sent) and @alice."""
        assert slack_users["INC-1 assemble <@U0BOB|bob>:db <@U0CAROL>"].stdout == (
            "INC-1 · IRT assembled: @bob (db), @U0CAROL (status: investigating)\n"
        )
        assert slack_users["INC-1 followup canary the WAF rules <@U0BOB>"].stdout == (
            "INC-1 · Follow-up #1: canary the WAF rules (owner: @bob)\n"
        )
        status = slack_users["INC-1 status"].stdout
        assert "Lead: @alice\n" in status and "IRT: @bob (db), @U0CAROL\n" in status

    def test_timelines_name_people(self, slack_users: dict[str, subprocess.CompletedProcess[str]]) -> None:
        """The text timeline says who acted as @alice / @bob; the JSON keeps ids in data, names in descriptions."""
        text = slack_users["timeline text"].stdout
        assert "@alice is now the incident lead  (@alice)" in text
        assert "Incident resolved: fixed  (@bob)" in text
        entries = json.loads(slack_users["timeline json"].stdout)["entries"]
        lead = next(e for e in entries if e["kind"] == "lead")
        assert (lead["actor"], lead["data"]["user"], lead["description"]) == (
            "U0123ABC",
            "U0123ABC",
            "@alice is now the incident lead",
        )


@pytest.mark.parametrize("listing", [("list",), ("run", "list")], ids=["list", "run list"])
def test_a_title_with_slack_mentions_is_listed_as_people_write_them(tmp_path: Path, listing: tuple[str, ...]) -> None:
    """Found by a fresh tester: `list` printed a title's ``<@U0BOB|bob>`` markup; it reads ``@bob`` (``@U0EVE``
    without a name), as status, timeline and the postmortem already showed it (declared in this process, listed by a
    real process for `list`, in this process for `run list`)."""
    url = f"sqlite:///{tmp_path / 'incidents.db'}"
    declared = incidentbot_here(
        "run", "declare sev1 <@U0BOB|bob> broke <@U0EVE>", "--user", "U0ALICE", database_url=url, cwd=tmp_path
    )
    assert declared.returncode == 0, declared.stderr
    user = ("--user", "U0ALICE") if listing[0] == "run" else ()
    result = (incidentbot if listing == ("list",) else incidentbot_here)(
        *listing, *user, database_url=url, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("INC-1")]
    assert line.startswith("INC-1  sev1  declared") and line.endswith("  @bob broke @U0EVE")
