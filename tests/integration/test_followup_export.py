"""Tracker export through the real entry points, on SQLite and PostgreSQL: signed Slack commands to the
running bot, the ``incidentbot`` command line in a child process, the fake GitHub and fake Jira served on
127.0.0.1. The seed scenario's three action items are filed once each across 5xx faults, a dropped answer
and a restart; one is closed in the tracker, sync-back records it, and ``incidentbot postmortem INC-1``
shows it done with its link.

CLI runs that only put the database in a state, and reads whose output another check of the same test already took
from a process, run the entry function in this process (``incidentbot_here``); what a test checks of the CLI's own
answer comes from a child process once per kind: a refusal, the queued filing, the dead outbox items, the postmortem
(GitHub's case), the --due filing (Due date on Jira's screen) and the listing. ``doctor``, the postmortem of Jira's
case and the --due filing without Due date on the screen run in this process too (``doctor`` as a process is
tests/integration/test_doctor.py's)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import TRACKER_SYNC
from bot.cli.demo import SEED_STEPS
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind
from bot.outbox.worker import RetryPolicy
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, RunningBot, running_bot
from tests.support.cli import incidentbot, incidentbot_here
from tests.support.fake_github import TOKEN as GITHUB_TOKEN
from tests.support.fake_github import FakeGitHub
from tests.support.fake_jira import EMAIL, FakeJira
from tests.support.fake_jira import TOKEN as JIRA_TOKEN
from tests.support.fake_slack import FakeSlack
from tests.support.fake_tracker_http import FakeTrackerServer, serving
from tests.support.slack_driver import SlackDriver, channel_texts

pytestmark = pytest.mark.migrated_database
"""database_url comes at the schema's head, a copy of a template (the first CLI run or the running bot would migrate it;
the migrations are tested in test_migrations.py and the first-run tests)."""


@dataclass
class Tracker:
    """One fake tracker and what the test needs to know of it, written out here (not read from the client)."""

    fake: FakeTrackerServer
    settings: dict[str, str]
    key: Callable[[int], str]
    url: Callable[[int], str]
    close: Callable[[int, datetime], None]
    actor: str


@pytest.fixture
def github() -> Iterator[Tracker]:
    with serving(FakeGitHub()) as fake:
        yield Tracker(
            fake,
            {
                "TRACKER": "github",
                "TRACKER_URL": fake.url,
                "TRACKER_PROJECT": "acme/web",
                "TRACKER_TOKEN": GITHUB_TOKEN,
            },
            lambda n: f"acme/web#{n}",
            lambda n: f"https://github.com/acme/web/issues/{n}",
            lambda n, at: fake.close(n, at=at),
            "github",
        )


@pytest.fixture
def jira() -> Iterator[Tracker]:
    with serving(FakeJira()) as fake:
        yield Tracker(
            fake,
            {
                "TRACKER": "jira",
                "TRACKER_URL": fake.url,
                "TRACKER_PROJECT": "OPS",
                "TRACKER_USER": EMAIL,
                "TRACKER_TOKEN": JIRA_TOKEN,
            },
            lambda n: f"OPS-{n}",
            lambda n: f"{fake.url}/browse/OPS-{n}",
            lambda n, at: fake.close(f"OPS-{n}", at=at),
            "jira",
        )


QUICK_RETRIES = RetryPolicy(base_seconds=0.1, max_seconds=0.5)
"""The outbox's backoff in the seed test (1 s doubling to 5 minutes as deployed): a filing is retried every
0.05-0.5 s, so the restarted bot finds the first one's retries due at once instead of seconds later. How often a
filing is tried is not what the test checks (each action item filed exactly once, across 503s, a 502, a dropped
answer and a restart); the backoff has its own tests (test_outbox.py)."""


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.1)


def all_filed(bot: RunningBot, count: int) -> Callable[[], bool]:
    def check() -> bool:
        followups = bot.usecases.incidents.get(1).followups
        return len(followups) == count and all(f.tracker_key for f in followups)

    return check


def test_new_followup_is_filed_recorded_and_announced(
    database_url: str, fake_slack: FakeSlack, github: Tracker
) -> None:
    """``followup ... @carol`` in Slack: one GitHub issue; the follow-up keeps its key and URL; the timeline
    says the bot filed it; the channel hears the link; ``followups`` shows it; ``followup export 1``
    is refused naming the key."""
    with running_bot(database_url, fake_slack.base_url, **github.settings) as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare("declare sev1 CDN edge returning 502s")
        slack.ephemeral("followup canary deployment for firewall changes <@U0CAROL|carol>", channel_id=channel)
        wait_until(all_filed(bot, 1))
        bot.drain()
        fake = github.fake
        assert isinstance(fake, FakeGitHub)
        assert [(n, i["title"]) for n, i in fake.issues.items()] == [(1, "canary deployment for firewall changes")]
        followup = bot.usecases.incidents.get(1).followups[0]
        assert (followup.tracker_key, followup.tracker_url) == ("acme/web#1", "https://github.com/acme/web/issues/1")
        entries = bot.usecases.incidents.timeline(1)[1]
        assert [(e.actor, e.data["key"], e.data["url"]) for e in entries if e.kind is EntryKind.FOLLOWUP_EXPORTED] == [
            ("incidentbot", "acme/web#1", "https://github.com/acme/web/issues/1")
        ]
        assert (
            ":ticket: INC-1 follow-up #1 filed as https://github.com/acme/web/issues/1"
            in channel_texts(slack, channel).splitlines()
        )
        assert "https://github.com/acme/web/issues/1" in slack.ephemeral("followups", channel_id=channel)
        assert slack.ephemeral("followup export 1", channel_id=channel) == (
            "Follow-up #1 is already filed as acme/web#1 (https://github.com/acme/web/issues/1)."
        )
        assert len(fake.calls("create")) == 1
        slack.ephemeral("resolve WAF rule rolled back", channel_id=channel)  # uploads the postmortem draft
        wait_until(lambda: bool(fake.comments.get(1)))
        link = bot.usecases.incidents.postmortem_url(1)
        assert link is not None
        assert re.fullmatch(r"https://[a-z0-9-]+\.slack\.com/files/U[A-Z0-9]+/F[A-Z0-9]+/INC-1-postmortem\.md", link)
        assert [c["body"].split("\n\n")[0] for c in fake.comments[1]] == [f"Postmortem of INC-1: {link}"]


def test_followup_export_files_followups_added_before_the_tracker(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, github: Tracker
) -> None:
    """Without TRACKER, a follow-up is not filed and ``followup export`` is refused with what to set; with
    it, ``followup export 1`` (CLI) queues the filing, a running bot files it, and a second export is
    refused naming the key; ``incidentbot followups --format json`` carries key and URL. The first refusal and the
    export are child processes, the rest runs in this process."""
    cli = {"database_url": database_url, "cwd": tmp_path}
    assert incidentbot_here("run", "declare sev2 Checkout errors", **cli).returncode == 0
    assert incidentbot_here("run", "INC-1 followup retry budget for the payment client @bob", **cli).returncode == 0
    refused = incidentbot("run", "INC-1 followup export 1", **cli)
    assert refused.returncode != 0
    assert refused.stderr.strip() == (
        "incidentbot: No tracker is configured, so follow-ups cannot be filed: set TRACKER (github or jira), "
        "TRACKER_PROJECT and TRACKER_TOKEN (README: Trackers)."
    )
    assert incidentbot_here("outbox", **cli).stdout.startswith("The outbox is empty (database: ")
    exported = incidentbot("run", "INC-1 followup export 1", **cli, settings=github.settings)
    assert exported.returncode == 0, exported.stderr
    assert (
        exported.stdout.strip()
        == "INC-1 · Follow-up #1 (retry budget for the payment client) to be filed in the tracker"
    )
    assert exported.stderr.strip() == (
        "Queued 1 tracker filing(s) for INC-1; a running `incidentbot serve` delivers them "
        "(`incidentbot outbox` lists what is waiting)."
    )
    assert "tracker.file" in incidentbot_here("outbox", **cli).stdout
    with running_bot(database_url, fake_slack.base_url, **github.settings) as bot:
        wait_until(all_filed(bot, 1))
    again = incidentbot_here("run", "INC-1 followup export 1", **cli, settings=github.settings)
    assert again.stderr.strip() == (
        "incidentbot: Follow-up #1 is already filed as acme/web#1 (https://github.com/acme/web/issues/1)."
    )
    listed = incidentbot_here("followups", "INC-1", "--format", "json", **cli)
    assert '"tracker_key": "acme/web#1"' in listed.stdout
    assert '"tracker_url": "https://github.com/acme/web/issues/1"' in listed.stdout
    fake = github.fake
    assert isinstance(fake, FakeGitHub)
    assert [i["title"] for i in fake.issues.values()] == ["retry budget for the payment client"]


def test_a_followup_recorded_before_the_bot_ran_links_its_incident_channel(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, github: Tracker
) -> None:
    """Declared and given a follow-up through the CLI while no bot runs (both deliveries wait in the outbox);
    when the bot starts, channel creation and filing race: whichever comes first, the issue links the
    channel, in its body or in one comment (the two CLI runs in this process)."""
    slack = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.base_url}
    settings = {**slack, **github.settings}
    cli = {"database_url": database_url, "cwd": tmp_path, "settings": settings}
    assert incidentbot_here("run", "declare sev2 Link race check", **cli).returncode == 0
    assert incidentbot_here("run", "INC-1 followup first action", **cli).returncode == 0
    fake = github.fake
    assert isinstance(fake, FakeGitHub)
    with running_bot(database_url, fake_slack.base_url, **github.settings) as bot:
        wait_until(all_filed(bot, 1))
        channel = bot.usecases.incidents.get(1).channel_id
        assert channel is not None
        link = f"- Incident: https://slack.com/app_redirect?channel={channel}"
        comment = f"Incident channel of INC-1: https://slack.com/app_redirect?channel={channel}"
        wait_until(lambda: link in fake.issues[1]["body"] or bool(fake.comments.get(1)))
        bot.drain()
        comments = [c["body"].split("\n\n")[0] for c in fake.comments.get(1, [])]
        assert (link in fake.issues[1]["body"]) != (comments == [comment])


def test_refused_filings_show_in_outbox_and_doctor(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, github: Tracker
) -> None:
    """GitHub refusing the label (422): a dead item whose reason is GitHub's, listed by ``incidentbot outbox
    --status dead`` (a process), counted by ``incidentbot doctor`` (in this process); the token is in neither."""
    fake = github.fake
    fake.fail(
        "create",
        422,
        body={"message": "Validation Failed", "errors": [{"resource": "Label", "code": "invalid", "field": "labels"}]},
    )
    cli = {"database_url": database_url, "cwd": tmp_path}
    with running_bot(database_url, fake_slack.base_url, **github.settings) as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare("declare sev1 CDN edge returning 502s")
        slack.ephemeral("followup canary deployment for firewall changes", channel_id=channel)
        wait_until(lambda: bool(bot.usecases.outbox.items("dead")))
    dead = incidentbot("outbox", "--status", "dead", **cli)
    assert "tracker.file" in dead.stdout
    assert "GitHub refused (HTTP 422" in dead.stdout
    doctor = incidentbot_here("doctor", **cli, settings=github.settings)
    lines = doctor.stdout.splitlines()
    [item] = [line.split()[0] for line in dead.stdout.splitlines() if "tracker.file" in line]
    [reason] = [line for line in lines if line.startswith("[warn] tracker filings: ")]
    assert reason == (
        "[warn] tracker filings: 1 follow-up filing(s) refused by the tracker (dead outbox items); "
        f"latest {item} INC-1: POST /repos/acme/web/issues: GitHub refused (HTTP 422, a field the tracker "
        "refuses): Validation Failed: Label labels invalid"
    )
    assert GITHUB_TOKEN not in dead.stdout + dead.stderr + doctor.stdout + doctor.stderr


SEED_FOLLOWUPS = [
    "canary deployment for firewall changes",
    "synthetic traffic tests against the WAF in staging every 5 minutes",
    'add a "verify CPU load" step to the runbook before global rollout',
]


@pytest.mark.parametrize("kind", ["github", "jira"])
def test_seed_action_items_filed_once_closed_and_shown_done(
    kind: str, database_url: str, tmp_path: Path, fake_slack: FakeSlack, request: pytest.FixtureRequest
) -> None:
    """The seed outage replayed through Slack while the tracker is down; the bot restarts; the tracker
    answers 502 once and drops one answer after filing: each of the three action items is filed exactly
    once. Closing #2 in the tracker, sync-back records it done (by the tracker, "closed in KEY"), the
    channel hears both, and ``incidentbot postmortem INC-1`` shows #2 done with its link (a process for GitHub, in
    this process for Jira)."""
    tracker: Tracker = request.getfixturevalue(kind)
    fake = tracker.fake
    outage = fake.fail("*", 503, body={"message": "down for maintenance"}, times=10_000)
    with running_bot(database_url, fake_slack.base_url, **tracker.settings) as first:
        first.worker.policy = QUICK_RETRIES
        slack = SlackDriver(first, fake_slack)
        channel = ""
        for step in SEED_STEPS:
            if not parse_command(step.text).changes_state:
                continue
            who = {"user_id": step.actor.user_id, "user_name": step.actor.name or step.actor.user_id}
            if not channel:
                channel = slack.declare(step.text, **who)
            else:  # no drain: the filings are failing and being retried
                slack.ephemeral(step.text, channel_id=channel, drain=False, **who)
        wait_until(lambda: len(first.usecases.incidents.get(1).followups) == 3)
        wait_until(lambda: len(fake.requests) >= 1)
    assert not any(f.tracker_key for f in first.usecases.incidents.get(1).followups)
    fake.faults.remove(outage)
    fake.fail("create", 502)
    fake.fail("create", drop=True)
    with running_bot(database_url, fake_slack.base_url, **tracker.settings) as second:
        second.worker.idle_poll_seconds = 0.2  # look for retries due often (the default is 5 s)
        second.worker.policy = QUICK_RETRIES
        wait_until(all_filed(second, 3))
        followups = second.usecases.incidents.get(1).followups
        assert [(f.text, f.tracker_key, f.tracker_url) for f in followups] == [
            (text, tracker.key(n), tracker.url(n)) for n, text in enumerate(SEED_FOLLOWUPS, start=1)
        ]
        assert len(fake.calls("create")) == 4  # 1 answered 502, 1 filed without an answer, 2 more filed
        closed_at = datetime.now(UTC).replace(microsecond=0)
        tracker.close(2, closed_at)
        assert second.call(second.web_app[TRACKER_SYNC].check_once()) == ["INC-1#2"]
        assert second.call(second.web_app[TRACKER_SYNC].check_once()) == []
        second.drain()
        entries = second.usecases.incidents.timeline(1)[1]
        done = [(e.actor, e.data["number"], e.text) for e in entries if e.kind is EntryKind.FOLLOWUP_DONE]
        assert done == [(tracker.actor, 2, f"closed in {tracker.key(2)}")]
        lines = channel_texts(SlackDriver(second, fake_slack), channel).splitlines()
        for n in (1, 2, 3):
            assert lines.count(f":ticket: INC-1 follow-up #{n} filed as {tracker.url(n)}") == 1
        assert f":white_check_mark: INC-1 follow-up #2 is done: closed in {tracker.key(2)}" in lines
    filed = [r for r in fake.calls("create")]
    titles = {str((r.body or {}).get("title") or (r.body or {}).get("fields", {}).get("summary")) for r in filed}
    assert titles == set(SEED_FOLLOWUPS)
    postmortem = (incidentbot if kind == "github" else incidentbot_here)(
        "postmortem", "INC-1", database_url=database_url, cwd=tmp_path
    )
    assert postmortem.returncode == 0, postmortem.stderr
    action_items = postmortem.stdout.split("## Action items", 1)[1].split("## ", 1)[0]
    rows = [line for line in action_items.splitlines() if line.startswith("| 2 |")]
    assert rows == [
        f"| 2 | synthetic traffic tests against the WAF in staging every 5 minutes | @bob | "
        f"done {closed_at:%Y-%m-%d} | - | {tracker.url(2)} |"
    ]


@pytest.mark.parametrize("kind", ["github", "jira"])
def test_two_installations_filing_into_one_project_never_share_an_issue(
    tmp_path: Path, fake_slack: FakeSlack, request: pytest.FixtureRequest, kind: str
) -> None:
    """A staging bot and a production bot (two databases, each its own INC-1 follow-up #1) file into the
    same repository or project: two issues, each follow-up linked to its own (found by a fresh tester:
    the second was linked to the first's issue and never filed)."""
    tracker: Tracker = request.getfixturevalue(kind)
    keys = []
    for name, text in (("staging", "canary deployment for firewall changes"), ("production", "rotate the WAF keys")):
        with running_bot(f"sqlite:///{tmp_path / name}.db", fake_slack.base_url, **tracker.settings) as bot:
            slack = SlackDriver(bot, fake_slack)
            channel = slack.declare("declare sev1 CDN edge returning 502s")
            slack.ephemeral(f"followup {text}", channel_id=channel)
            wait_until(all_filed(bot, 1))
            followup = bot.usecases.incidents.get(1).followups[0]
            keys.append((followup.text, followup.tracker_key))
    assert keys == [
        ("canary deployment for firewall changes", tracker.key(1)),
        ("rotate the WAF keys", tracker.key(2)),
    ]
    assert len(tracker.fake.calls("create")) == 2


@pytest.mark.parametrize("on_screen", [True, False])
def test_a_due_followup_is_filed_in_jira_with_its_due_date(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, jira: Tracker, on_screen: bool
) -> None:
    """``followup ... --due DAY`` (CLI; DAY 30 days ahead, as typed) filed by the running bot: Jira's issue
    has duedate DAY; with Due date off the project's create screen, the issue is filed once, without it. The
    declaration before it, and the follow-up of the case without Due date on the screen, run in this process."""
    day = f"{datetime.now(UTC) + timedelta(days=30):%Y-%m-%d}"
    sent = day if on_screen else None
    fake = jira.fake
    assert isinstance(fake, FakeJira)
    fake.duedate_on_screen = on_screen
    cli = {"database_url": database_url, "cwd": tmp_path, "settings": jira.settings}
    assert incidentbot_here("run", "declare sev2 Checkout errors", **cli).returncode == 0
    added = (incidentbot if on_screen else incidentbot_here)(
        "run", f"INC-1 followup retry budget for the payment client --due {day}", **cli
    )
    assert added.returncode == 0, added.stderr
    with running_bot(database_url, fake_slack.base_url, **jira.settings) as bot:
        wait_until(all_filed(bot, 1))
    assert [(key, issue["fields"]["duedate"]) for key, issue in fake.issues.items()] == [("OPS-1", sent)]


def test_a_jira_issue_deleted_is_recorded_once_by_the_running_bots_sync(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, jira: Tracker
) -> None:
    """OPS-1 deleted in Jira (404): the running bot's sync-back records it once and stops asking (the next
    round sends Jira no request for it); ``incidentbot followups`` (a process) says the issue is gone (the set-up
    runs in this process)."""
    fake = jira.fake
    assert isinstance(fake, FakeJira)
    cli = {"database_url": database_url, "cwd": tmp_path}
    assert incidentbot_here("run", "declare sev2 Checkout errors", **cli).returncode == 0
    added = incidentbot_here("run", "INC-1 followup retry budget for the payment client", **cli, settings=jira.settings)
    assert added.returncode == 0, added.stderr
    with running_bot(database_url, fake_slack.base_url, **jira.settings) as bot:
        wait_until(all_filed(bot, 1))
        fake.delete("OPS-1")
        sync = bot.web_app[TRACKER_SYNC]
        assert bot.call(sync.check_once()) == ["INC-1#1"]
        asked = len(fake.requests)
        assert bot.call(sync.check_once()) == []
        assert fake.requests[asked:] == []
        entries = bot.usecases.incidents.timeline(1)[1]
        gone = [(e.actor, e.data["key"], e.text) for e in entries if e.kind is EntryKind.FOLLOWUP_TRACKER_GONE]
        assert gone == [
            (
                "incidentbot",
                "OPS-1",
                "GET /rest/api/3/issue/OPS-1: Jira refused (HTTP 404, no such project or issue, or the token cannot "
                "see it: check TRACKER_PROJECT): Issue does not exist or you do not have permission to see it.",
            )
        ]
    listed = incidentbot("followups", **cli)
    assert listed.stdout.splitlines() == [
        "1 follow-up(s)",
        "INC-1 #1 open · retry budget for the payment client · owner unassigned · due - · "
        "link tracker issue OPS-1 gone",
    ]
