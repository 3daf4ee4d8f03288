"""The CLI and Slack are the same incident: `incidentbot run` on an incident with a Slack channel queues
the Slack updates the same command typed in Slack queues, a running bot delivers them, and
`incidentbot outbox` never claims Slack is up to date when it is not."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import wire_usecases
from bot.cli.main import main
from bot.domain.effects import Effect
from bot.store import open_store
from tests.support.bot_server import BOT_TOKEN, running_bot, sqlite_url
from tests.support.cli import incidentbot_here
from tests.support.fake_slack import FakeSlack
from tests.support.slack_driver import SlackDriver

ROLLBACK = "rollback WAF rule inspect-large-payloads"


def _cli(
    database_url: str, *args: str, slack_api_url: str | None = None, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a child process; with ``slack_api_url``, Slack is configured (token and API URL); ``settings``
    adds other variables (TRACKER_*)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_URL", "TRACKER"))
    }
    env["DATABASE_URL"] = database_url
    if slack_api_url is not None:
        env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack_api_url})
    env.update(settings or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--env-file", "", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture()
def two_incidents(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[tuple[str, dict[str, str]]]:
    """INC-1 and INC-2 declared in Slack, each investigating with its channel, status message and topic;
    then INC-2 rolled back in Slack. Yields the database URL and the channel ids; the bot is stopped."""
    url = sqlite_url(tmp_path)
    with running_bot(url, fake_slack.base_url) as bot:
        driver = SlackDriver(bot, fake_slack)
        channels = {
            "INC-1": driver.declare("declare sev1 CDN edge returning 502s"),
            "INC-2": driver.declare("declare sev2 Checkout API returning 500s"),
        }
        for channel in channels.values():
            driver.command("hypothesis the WAF rule", channel_id=channel)
        fake_slack.clear_calls()
        typed = driver.command(ROLLBACK, channel_id=channels["INC-2"])
        assert typed.text.startswith("INC-2 · Rolled back: WAF rule inspect-large-payloads"), typed.text
    yield url, channels


def _slack_methods(fake: FakeSlack) -> list[str]:
    return [c.method for c in fake.calls if c.method not in ("auth.test", "response_url")]


class TestCliWithSlackConfigured:
    def test_cli_rollback_queues_what_slack_would_and_the_bot_delivers_it(
        self, two_incidents: tuple[str, dict[str, str]], fake_slack: FakeSlack
    ) -> None:
        """Issue 11 item 13: `incidentbot run "INC-1 rollback ..."` queues the status message update,
        topic and channel line; `incidentbot outbox` lists them instead of "Slack is up to date"; a
        running bot then makes the same Web API calls the command typed in Slack made for INC-2."""
        url, channels = two_incidents
        typed_in_slack = _slack_methods(fake_slack)
        # the status message, the topic, the channel line, then the announcement edit (the status changed)
        assert typed_in_slack == ["chat.update", "conversations.setTopic", "chat.postMessage", "chat.update"]
        fake_slack.clear_calls()

        result = _cli(url, "run", f"INC-1 {ROLLBACK}", slack_api_url=fake_slack.base_url)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("INC-1 · Rolled back: WAF rule inspect-large-payloads (status: mitigated)")
        assert result.stderr.splitlines() == [
            "Queued 3 Slack update(s) for INC-1; a running `incidentbot serve` delivers them "
            "(`incidentbot outbox` lists what is waiting)."
        ]
        assert fake_slack.calls == []  # the CLI itself calls no Web API method

        listed = json.loads(_cli(url, "outbox", "--format", "json", slack_api_url=fake_slack.base_url).stdout)
        assert [(i["kind"], i["incident"], i["status"]) for i in listed["items"]] == [
            ("slack.refresh", "INC-1", "pending"),
            ("slack.post_line", "INC-1", "pending"),
            ("slack.announce_refresh", "INC-1", "pending"),
        ]
        text = _cli(url, "outbox", slack_api_url=fake_slack.base_url).stdout
        assert "Slack is up to date" not in text and text.count("pending") == 3

        with running_bot(url, fake_slack.base_url) as bot:
            fake_slack.wait_for(
                "chat.postMessage", timeout=20, predicate=lambda c: c.params.get("channel") == channels["INC-1"]
            )
            bot.drain()
        assert _slack_methods(fake_slack) == typed_in_slack
        channel = fake_slack.channel(channels["INC-1"])
        assert channel.topic.startswith("sev1 · mitigated · Lead: none · CDN edge returning 502s")
        update = fake_slack.calls_to("chat.update")[0]
        assert update.params["channel"] == channels["INC-1"] and update.params["ts"] in channel.pins
        assert "*Status:* mitigated" in json.dumps(update.params["blocks"], ensure_ascii=False)
        line = fake_slack.calls_to("chat.postMessage")[0].params["text"]
        assert line == "cli: INC-1 · Rolled back: WAF rule inspect-large-payloads (status: mitigated)"
        done = _cli(url, "outbox", slack_api_url=fake_slack.base_url)
        assert re.fullmatch(r"The outbox is empty \(database: [^)]+\): Slack is up to date\.", done.stdout.strip())


class TestCliWithoutSlack:
    def test_the_cli_says_once_that_slack_was_not_told_and_outbox_does_not_claim_up_to_date(
        self, two_incidents: tuple[str, dict[str, str]]
    ) -> None:
        """Without SLACK_BOT_TOKEN the change is recorded, nothing is queued, stderr says so in one line,
        and `incidentbot outbox` does not say "Slack is up to date"."""
        url, _ = two_incidents
        result = _cli(url, "run", f"INC-1 {ROLLBACK}")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("INC-1 · Rolled back: WAF rule inspect-large-payloads (status: mitigated)")
        assert result.stderr.splitlines() == [
            "INC-1 has a Slack channel, but Slack is not configured here (SLACK_BOT_TOKEN is not set): "
            "its status message, topic and channel were not told of this change."
        ]
        assert json.loads(_cli(url, "outbox", "--format", "json").stdout) == {"items": []}
        text = _cli(url, "outbox").stdout.strip()
        assert "Slack is up to date" not in text
        assert re.fullmatch(
            r"The outbox is empty \(database: [^)]+\)\. Slack is not configured here \(SLACK_BOT_TOKEN is not set\), "
            r"so changes made with `incidentbot run` in this environment were recorded in the database only\.",
            text,
        )

    def test_a_cli_only_incident_without_a_channel_gets_no_slack_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Offline use (no channel, no token): the CLI prints its confirmation and nothing on stderr."""
        _environment(monkeypatch, sqlite_url(tmp_path), configured=False)
        for text in ("declare sev2 Checkout latency", "INC-1 note p99 at 2 s"):
            assert main(["--env-file", "", "run", text]) == 0
            printed = capsys.readouterr()
            assert printed.out.startswith("INC-1 · ") and printed.err == "", printed


def _environment(monkeypatch: pytest.MonkeyPatch, database_url: str, configured: bool) -> None:
    """This process's environment as the CLI's: the database, and the bot token only if ``configured``."""
    for name in [k for k in os.environ if k.startswith(("SLACK_", "INCIDENT_", "DATABASE_URL"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    if configured:
        monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)


class TestOutboxNeverClaimsUpToDateFalsely:
    @pytest.mark.parametrize("configured", [True, False])
    @pytest.mark.parametrize("state", ["empty", "pending", "dead", "pending and dead"])
    @pytest.mark.parametrize("status", [None, "pending", "dead"])
    def test_up_to_date_only_when_nothing_waits_nothing_died_and_slack_is_configured(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        configured: bool,
        state: str,
        status: str | None,
    ) -> None:
        """Every queue state x every --status filter x Slack configured or not: "Slack is up to date" is
        printed only when the queue is empty, nothing was given up on, and SLACK_BOT_TOKEN is set (and
        always then, without a filter)."""
        url = sqlite_url(tmp_path)
        usecases = wire_usecases(open_store(url))
        if "pending" in state:
            usecases.outbox.enqueue([Effect("slack.refresh", {}, 1)])
        if "dead" in state:
            usecases.outbox.enqueue([Effect("slack.post_line", {"text": "x"}, 2)])
            with usecases.store.transaction() as uow:
                item = uow.outbox.list_items("pending", 10)[-1]
                uow.outbox.bury(item.id, "channel_not_found", datetime.now(UTC))
        usecases.store.dispose()
        _environment(monkeypatch, url, configured)
        assert main(["--env-file", "", "outbox", *(["--status", status] if status else [])]) == 0
        printed = capsys.readouterr().out
        if "Slack is up to date" in printed:
            assert state == "empty" and configured, printed
        if status is None and state == "empty" and configured:
            assert re.fullmatch(r"The outbox is empty \(database: [^)]+\): Slack is up to date\.", printed.strip())


OPENING = ["slack.create_channel", "slack.invite", "slack.refresh", "slack.announce"]
"""What a declaration with Slack configured queues first: the channel, the team, the pinned status, the announcement."""


def _queued(database_url: str) -> list[tuple[str, dict[str, object]]]:
    usecases = wire_usecases(open_store(database_url, migrate=False))
    try:
        return [(i.kind, i.payload) for i in usecases.outbox.items(status="pending")]
    finally:
        usecases.store.dispose()


TRACKER = {
    "TRACKER": "github",
    "TRACKER_URL": "http://127.0.0.1:9",  # never called: the CLI only queues; a running bot files
    "TRACKER_PROJECT": "acme/web",
    "TRACKER_TOKEN": "ghp_FAKEtoken0123",
}


class TestCliSaysWhatItQueuedByDestination:
    def test_a_followup_queues_slack_updates_and_a_tracker_filing(
        self, two_incidents: tuple[str, dict[str, str]], fake_slack: FakeSlack
    ) -> None:
        """`incidentbot run "INC-1 followup ..."` with Slack and a tracker: the line names the Slack updates and
        the filing apart, and matches what `incidentbot outbox` lists."""
        url, _ = two_incidents
        result = _cli(
            url, "run", "INC-1 followup canary deployment", slack_api_url=fake_slack.base_url, settings=TRACKER
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines() == [
            "Queued 2 Slack update(s) and 1 tracker filing(s) for INC-1; a running `incidentbot serve` delivers "
            "them (`incidentbot outbox` lists what is waiting)."
        ]
        listed = json.loads(_cli(url, "outbox", "--format", "json", settings=TRACKER).stdout)
        assert sorted(i["kind"] for i in listed["items"]) == ["slack.post_line", "slack.refresh", "tracker.file"]


@pytest.mark.migrated_database  # database_url at the schema's head to begin with (the migrations: test_migrations.py)
class TestCliOpensTheChannelOfAnIncidentThatHasNone:
    def test_a_cli_change_with_slack_configured_opens_the_channel_and_a_bot_delivers_it(
        self, database_url: str, fake_slack: FakeSlack
    ) -> None:
        """Declared from the CLI without Slack (no channel), then `INC-1 note ...` with SLACK_BOT_TOKEN: the
        note queues the declaration's plan first (channel, invitation of the Slack users, pinned status,
        announcement) and its own line; a running bot makes them all, and the next change is the usual two."""
        for text in ("declare sev2 Checkout latency", "INC-1 lead @U0BOB", "INC-1 assemble @carol:networking"):
            # set-up without Slack: the entry function in this process (tests.support.cli.incidentbot_here)
            offline = incidentbot_here("--env-file", "", "run", text, database_url=database_url, cwd=Path.cwd())
            assert (offline.returncode, offline.stderr) == (0, ""), offline.stderr

        noted = _cli(database_url, "run", "INC-1 note p99 at 2 s", slack_api_url=fake_slack.base_url)
        assert noted.returncode == 0, noted.stderr
        assert noted.stderr.splitlines() == [
            "Queued 5 Slack update(s) for INC-1, starting with its channel (it had none: it is created, its Slack "
            "users invited, the status message posted and pinned); a running `incidentbot serve` delivers them "
            "(`incidentbot outbox` lists what is waiting)."
        ]
        queued = _queued(database_url)
        assert [kind for kind, _ in queued] == [*OPENING, "slack.post_line"]
        assert queued[1][1]["users"] == ["U0BOB"]  # `carol` and `cli` are CLI names, not Slack users
        assert fake_slack.calls == []

        with running_bot(database_url, fake_slack.base_url) as bot:
            fake_slack.wait_for("chat.postMessage", timeout=20, predicate=lambda c: "Note: p99" in c.params["text"])
            bot.drain()
            channel_id = bot.usecases.incidents.get(1).channel_id
            assert channel_id is not None
            channel = fake_slack.channel(channel_id)
            assert channel.name == "inc-1-checkout-latency"
            assert "U0BOB" in channel.members
            assert len(channel.pins) == 1
            assert channel.topic == "sev2 · investigating · Lead: <@U0BOB> · Checkout latency"
            announced = [
                c.params for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "C0GENERAL"
            ]
            assert len(announced) == 1 and f"<#{channel_id}>" in json.dumps(announced[0]["blocks"])
            [line] = [c.params["text"] for c in fake_slack.calls_to("chat.postMessage") if "Note:" in c.params["text"]]
            assert line == "cli: INC-1 · Note: p99 at 2 s"
            assert bot.usecases.outbox.items() == []

        again = _cli(database_url, "run", "INC-1 note p99 back at 200 ms", slack_api_url=fake_slack.base_url)
        assert again.stderr.splitlines()[0].startswith("Queued 2 Slack update(s) for INC-1; a running")
        assert [kind for kind, _ in _queued(database_url)] == ["slack.refresh", "slack.post_line"]
        assert len(fake_slack.calls_to("conversations.create")) == 1

    def test_a_channel_already_on_its_way_is_not_opened_twice(self, database_url: str, fake_slack: FakeSlack) -> None:
        """Declared from the CLI with Slack configured (its channel queued, no bot running yet), a further
        change queues only its own updates; the bot then creates one channel and announces once. The declaration
        runs the entry function in this process (set-up: its output is not checked), the note in a process."""
        slack = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.base_url}
        declared = incidentbot_here(
            "--env-file",
            "",
            "run",
            "declare sev2 Checkout latency",
            database_url=database_url,
            cwd=Path.cwd(),
            settings=slack,
        )
        assert declared.returncode == 0, declared.stderr
        noted = _cli(database_url, "run", "INC-1 note p99 at 2 s", slack_api_url=fake_slack.base_url)
        assert noted.stderr.splitlines()[0].startswith("Queued 2 Slack update(s) for INC-1; a running")
        with running_bot(database_url, fake_slack.base_url) as bot:
            fake_slack.wait_for("chat.postMessage", timeout=20, predicate=lambda c: "Note: p99" in c.params["text"])
            bot.drain()
        assert len(fake_slack.calls_to("conversations.create")) == 1
        assert len([c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "C0GENERAL"]) == 1

    @pytest.mark.parametrize(
        "change",
        [
            "note edge CPU at 100%",
            "hypothesis the WAF rule",
            "mitigate rate limiting",
            "rollback WAF rule",
            "severity sev1",
            "lead @U0DAVE",
            "assemble @U0DAVE:networking",
            "followup add a canary @U0DAVE",
            "service checkout",
            "impact 20%",
            "resolve rolled back",
        ],
    )
    def test_every_kind_of_change_opens_the_channel_first(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        change: str,
    ) -> None:
        """Any change to a channel-less incident, with Slack configured, queues the opening before its own
        updates, with one status refresh, and says so on stderr."""
        url = sqlite_url(tmp_path)
        _environment(monkeypatch, url, configured=False)
        assert main(["--env-file", "", "run", "declare sev2 Checkout latency"]) == 0
        _environment(monkeypatch, url, configured=True)
        capsys.readouterr()
        assert main(["--env-file", "", "run", f"INC-1 {change}"]) == 0
        kinds = [kind for kind, _ in _queued(url)]
        assert kinds[:1] == ["slack.create_channel"]
        assert [k for k in kinds if k in OPENING] == [k for k in OPENING if k in kinds]
        assert set(OPENING) - {"slack.invite"} <= set(kinds)
        assert kinds.count("slack.refresh") == kinds.count("slack.create_channel") == 1
        joins_the_team = change.startswith(("lead", "assemble"))  # a follow-up's owner is not invited
        assert kinds.count("slack.invite") == (1 if joins_the_team else 0)
        assert "slack.post_line" in kinds
        assert "starting with its channel" in capsys.readouterr().err
