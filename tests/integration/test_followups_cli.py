"""Follow-ups through the ``incidentbot`` command line: the life cycle with ``run`` (in-process ``main``, the
real entry point), then ``followups`` in text, JSON and CSV with its filters, the postmortem's action items and
the report's completion, on SQLite and PostgreSQL. One run per kind of outcome comes from a child process: the
listing (``followups`` in the life cycle), a refusal in one line (exit 1: an unknown incident) and a typo's hint
(exit 2: ``-due``, TYPO_IN_A_PROCESS); set-up steps, the postmortem, the report, the other formats, filters, refusals
and typos run the entry function in this process (``incidentbot_here``: 0.4-1 s less each, more under load)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.support.cli import assert_one_line_error, incidentbot, incidentbot_here

pytestmark = pytest.mark.migrated_database
"""database_url comes at the schema's head, a copy of a template (the first CLI run or the running bot would migrate it;
the migrations are tested in test_migrations.py and the first-run tests)."""


class Cli:
    """``incidentbot ARGS`` exiting 0: its stdout, from a child process, or (``here``) from the entry function run in
    this process with the same environment."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.database_url, self.folder = database_url, folder

    def __call__(self, *args: str) -> str:
        return self._ran(incidentbot(*args, database_url=self.database_url, cwd=self.folder))

    def here(self, *args: str) -> str:
        return self._ran(incidentbot_here(*args, database_url=self.database_url, cwd=self.folder))

    @staticmethod
    def _ran(result: subprocess.CompletedProcess[str]) -> str:
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture()
def run(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """``incidentbot run TEXT [--user @x]`` in this process: (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("SLACK_BOT_TOKEN", "INCIDENT_SLO_FILE"):
        monkeypatch.delenv(name, raising=False)

    def call(text: str, *options: str) -> tuple[int, str, str]:
        code = main(["run", text, *options])
        captured = capsys.readouterr()
        return code, captured.out.strip(), captured.err.strip()

    return call


def test_followup_life_cycle_through_the_cli(
    database_url: str, tmp_path: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Two incidents, four follow-ups carried to every completion: each view shows the same measured states (the
    first ``followups`` listing from a child process, the other views in this process)."""
    cli = Cli(database_url, tmp_path)

    def step(text: str, *options: str) -> str:
        code, out, err = run(text, *options)
        assert (code, err) == (0, ""), err
        return out

    now = datetime.now(UTC)
    today, yesterday, two_days_ago = (f"{now - timedelta(days=d):%Y-%m-%d}" for d in (0, 1, 2))
    in_a_week = f"{now + timedelta(days=7):%Y-%m-%d}"
    step("declare sev1 CDN edge down --at 3d ago")
    step("INC-1 service cdn-edge")
    step("INC-1 resolve WAF rule rolled back --at 2d 23h ago")
    step("declare sev3 Search slow --at 3d ago")
    # After the resolve: follow-ups on a resolved incident, one backdated two days.
    assert step("INC-1 followup canary deployment for firewall changes @carol --due +7d") == (
        f"INC-1 · Follow-up #1: canary deployment for firewall changes (owner: @carol; due {in_a_week})"
    )
    step("INC-1 followup synthetic WAF tests in staging @bob --at 2d ago")
    step("INC-1 followup verify CPU load runbook step --at 2d ago")
    step("INC-2 followup index rebuild alert @bob --at 2d ago")
    step(f"INC-1 followup due 2 {two_days_ago}")
    step(f"INC-1 followup due 3 {yesterday}")
    step("INC-1 followup owner 3 @dave")
    assert step("INC-1 followup done 2 dashboards live", "--user", "@bob") == (
        "INC-1 · Follow-up #2 (synthetic WAF tests in staging) done: dashboards live"
    )
    step("INC-2 followup drop 1 covered by the search SLO alert")

    assert step("followups").splitlines()[:2] == [  # `run "followups"` without an id: every incident's
        "4 follow-up(s)",
        f"INC-1 #1 open · canary deployment for firewall changes · owner @carol · due {in_a_week} · link -",
    ]
    assert cli("followups").splitlines() == [
        "4 follow-up(s)",
        f"INC-1 #1 open · canary deployment for firewall changes · owner @carol · due {in_a_week} · link -",
        f"INC-1 #2 done {today} (late) · synthetic WAF tests in staging · owner @bob · due {two_days_ago} · link -",
        f"INC-1 #3 overdue · verify CPU load runbook step · owner @dave · due {yesterday} · link -",
        "INC-2 #1 dropped · index rebuild alert · owner @bob · due - · link -",
    ]
    assert cli.here("followups", "INC-1", "--open").splitlines() == [
        "INC-1 follow-ups",
        f"#1 open · canary deployment for firewall changes · owner @carol · due {in_a_week} · link -",
        f"#3 overdue · verify CPU load runbook step · owner @dave · due {yesterday} · link -",
    ]
    assert cli.here("run", "INC-2 followups").splitlines() == [
        "INC-2 follow-ups",
        "#1 dropped · index rebuild alert · owner @bob · due - · link -",
    ]
    document = json.loads(cli.here("followups", "--owner", "@bob", "--format", "json"))
    assert [(f["incident"], f["number"], f["state"], f["overdue"], f["due"]) for f in document["followups"]] == [
        ("INC-1", 2, "done", False, two_days_ago),
        ("INC-2", 1, "dropped", False, None),
    ]
    rows = list(csv.DictReader(io.StringIO(cli.here("followups", "--open", "--format", "csv"))))
    assert [(r["incident"], r["number"], r["owner"], r["state"], r["overdue"], r["due"]) for r in rows] == [
        ("INC-1", "1", "carol", "open", "false", in_a_week),
        ("INC-1", "3", "dave", "open", "true", yesterday),
    ]

    postmortem = cli.here("postmortem", "INC-1")
    assert "| # | Action item | Owner | State | Due (UTC) | Link |" in postmortem
    assert f"| 2 | synthetic WAF tests in staging | @bob | done {today} (late) | {two_days_ago} | - |" in postmortem
    assert f"| 3 | verify CPU load runbook step | @dave | overdue | {yesterday} | - |" in postmortem

    report = cli.here("report", "--since", "30d")
    assert report.split("Follow-ups (done on time / done late / open / open overdue / dropped):\n")[1].splitlines() == [
        "  by service:",
        "    (none)       0 / 0 / 0 / 0 / 1",
        "    cdn-edge     0 / 1 / 1 / 1 / 0",
        "  by severity:",
        "    sev1         0 / 1 / 1 / 1 / 0",
        "    sev3         0 / 0 / 0 / 0 / 1",
    ]
    report_rows = list(csv.DictReader(io.StringIO(cli.here("report", "--since", "30d", "--format", "csv"))))
    assert [
        (r["incident"], r["followups_done_late"], r["followups_open_overdue"], r["followups_dropped"])
        for r in report_rows
    ] == [("INC-1", "1", "1", "0"), ("INC-2", "0", "0", "1")]
    followups = json.loads(cli.here("report", "--since", "30d", "--format", "json"))["followups"]
    assert followups["by_severity"]["sev1"] == {
        "done_on_time": 0,
        "done_late": 1,
        "open": 1,
        "open_overdue": 1,
        "dropped": 0,
    }


def test_refusals_are_one_clear_line(
    database_url: str, tmp_path: Path, run: Callable[..., tuple[int, str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown numbers, done twice, reopen of an open one, drop without reason, bad dates: a clear refusal each (the
    unknown incident from a child process, the rest in this process)."""
    for text in ("declare sev2 Checkout errors", "INC-1 followup retry budget for the payment client"):
        assert run(text)[0] == 0
    assert run("INC-1 followup done 1")[0] == 0
    assert run("INC-1 followup done 4")[::2] == (
        1,
        "incidentbot: INC-1 has no follow-up #4 (it has: #1). `followups` lists them; add one with "
        "`followup <text> [@owner]`.",
    )
    code, _, err = run("INC-1 followup done 1")
    assert code == 1 and err.startswith("incidentbot: Follow-up #1 is already done (at ")
    assert run("INC-1 followup reopen 1")[0] == 0
    assert run("INC-1 followup reopen 1")[::2] == (
        1,
        "incidentbot: Follow-up #1 is still open; there is nothing to reopen.",
    )
    code, _, err = run("INC-1 followup due 1 next friday")
    assert code == 2 and err.splitlines()[0] == (
        "incidentbot: `next friday` is not a due date I understand. Accepted due dates: `2026-12-15` (a UTC "
        "calendar date), `today`, `tomorrow`, `+7d`, `+2w`, `in 3 days`, `in 2 weeks` (counted from the day the "
        "command is typed, UTC)."
    )
    code, _, err = run("INC-1 followup drop 1")
    assert code == 2 and err.splitlines()[0] == (
        "incidentbot: `followup` needs a reason to drop it, e.g. `followup drop 2 covered by #1`."
    )
    assert main(["followups", "INC-1", "--owner", "@zoe"]) == 0
    assert capsys.readouterr().out == "No follow-ups (owned by @zoe) in INC-1.\n"
    unknown = incidentbot("followups", "INC-9", database_url=database_url, cwd=tmp_path)
    assert_one_line_error(unknown, "There is no incident INC-9.")
    broadcast = incidentbot_here("followups", "--owner", "@channel", database_url=database_url, cwd=tmp_path)
    assert_one_line_error(broadcast)
    assert broadcast.stderr.strip() == (
        "incidentbot: `--owner @channel` is not a person; use e.g. `--owner @bob` or a Slack user id such as "
        "`--owner U0123ABC`."
    )


def test_a_followup_typed_over_several_lines_lists_as_one(database_url: str, tmp_path: Path) -> None:
    """`incidentbot followups`: a follow-up whose text holds a newline and a tab is one line in the text list;
    `--format json` keeps its text exactly (all in this process: the listing's process is the life cycle's)."""
    cli = Cli(database_url, tmp_path)
    cli.here("run", "declare sev2 CDN edge down")
    cli.here("run", "INC-1 followup canary\ndeployment\tfor firewall changes @carol")
    cli.here("run", "INC-1 followup verify CPU load")
    assert cli.here("followups").splitlines() == [
        "2 follow-up(s)",
        "INC-1 #1 open · canary deployment for firewall changes · owner @carol · due - · link -",
        "INC-1 #2 open · verify CPU load · owner unassigned · due - · link -",
    ]
    texts = [f["text"] for f in json.loads(cli.here("followups", "--format", "json"))["followups"]]
    assert texts == ["canary\ndeployment\tfor firewall changes", "verify CPU load"]


TYPO_IN_A_PROCESS = "INC-1 followup a4 -due tomorrow"
"""The typo of test_an_option_typed_wrong_records_nothing typed into a child process; the others run in this process."""


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("INC-1 followup a4 -due tomorrow", "`-due` is not an option: did you mean `--due`?"),
        (
            "INC-1 followup a4 \u2013 due tomorrow",
            "`\u2013 due tomorrow` reads like the option `--due`: write `--due tomorrow` (two hyphens, no space), "
            "or leave out the dash to keep it as text.",
        ),
        (
            "INC-1 followup done 1 --due 2026-12-01",
            "`followup done` takes no `--due`: only a new follow-up does (`followup <text> [@owner] --due DATE`); "
            "to move follow-up #1's date, `followup due 1 DATE`.",
        ),
    ],
)
def test_an_option_typed_wrong_records_nothing(database_url: str, tmp_path: Path, typed: str, message: str) -> None:
    """`incidentbot run` with the fresh tester's typos: exit 2, the hint on stderr's first line, and the incident
    keeps its one open follow-up without a due date (nothing became text). TYPO_IN_A_PROCESS is typed into a child
    process, the other typos, the set-up and the listing run the entry function in this process."""
    cli = Cli(database_url, tmp_path)
    cli.here("run", "declare sev2 CDN edge down")
    cli.here("run", "INC-1 followup canary deployment")
    result = (incidentbot if typed == TYPO_IN_A_PROCESS else incidentbot_here)(
        "run", typed, database_url=database_url, cwd=tmp_path
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == f"incidentbot: {message}"
    listed = json.loads(cli.here("followups", "INC-1", "--format", "json"))["followups"]
    assert [(f["number"], f["text"], f["state"], f["due"]) for f in listed] == [(1, "canary deployment", "open", None)]
