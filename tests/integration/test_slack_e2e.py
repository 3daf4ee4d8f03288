"""The seed scenario through the real HTTP endpoint: signed slash commands, the fake Slack Web API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.demo import SEED_STEPS
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack


@pytest.fixture()
def seed_bot(database_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    """The bot on SQLite and on PostgreSQL (the ``database_url`` fixture's two params)."""
    with running_bot(database_url, fake_slack.base_url) as running:
        yield running


def _ephemeral_text(result_body: str) -> str:
    payload = json.loads(result_body)
    assert payload.get("response_type") == "ephemeral"
    return str(payload["text"])


def _seed_slack_text(text: str) -> str:
    """The demo steps backdate with a time of day; here the date is explicit, so the test works any day."""
    return text.replace("--at ", "--at 2026-11-22 ", 1) if "--at " in text else text


class TestSeedScenarioOverSlack:
    def test_whole_outage_from_declare_to_postmortem_upload(self, seed_bot: RunningBot, fake_slack: FakeSlack) -> None:
        """Declare at 13:42 ... resolve at 14:45 via signed slash commands; the postmortem lands in the channel."""
        bot = seed_bot
        users = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL", "dave": "U0DAVE"}
        channel_id = "C0GENERAL"
        for step in SEED_STEPS:
            started = time.monotonic()
            result = bot.command(
                _seed_slack_text(step.slack_text),
                user_id=users[str(step.actor.name)],
                user_name=str(step.actor.name),
                channel_id=channel_id,
                response_url=fake_slack.response_url(step.time),
            )
            elapsed = time.monotonic() - started
            assert result.status == 200, result.body
            assert elapsed < 3.0
            if step.text.startswith("declare"):
                assert "INC-1" in _ephemeral_text(result.body)
                created = fake_slack.wait_for("conversations.create")[0]
                assert created.params["name"].startswith("inc-1-cdn-edge-returning-502s")
                bot.drain()
                channel_id = fake_slack.channel(created.params["name"]).id
            else:
                assert "INC-1" in result.body or "Exporting" in result.body, result.body
            bot.drain()

        uploads = fake_slack.wait_for("files.completeUploadExternal", count=2)
        assert uploads
        files = fake_slack.uploaded_files
        assert files[-1].filename == "INC-1-postmortem.md"
        assert files[-1].channel_id == channel_id
        document = files[-1].content.decode()
        for expected in (
            "13:42",
            "14:05",
            "14:35",
            "14:45",
            "| Time to assemble the IRT | 8 min |",
            "| Time to root cause | 23 min |",
            "| Time to mitigate | 53 min |",
            "| Time to resolve | 1h 3m |",
            "canary deployment for firewall changes",
        ):
            assert expected in document

        incident, entries = bot.service.timeline(1)
        assert incident.status.value == "resolved"
        assert entries[0].occurred_at == datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
        assert [e.occurred_at.strftime("%H:%M") for e in entries][:5] == ["13:42", "13:42", "13:42", "13:43", "13:50"]

        topic = fake_slack.calls_to("conversations.setTopic")[-1].params["topic"]
        assert "resolved" in topic and "sev1" in topic
        pins = fake_slack.calls_to("pins.add")
        assert len(pins) == 1
        # Who is really in the channel (a refused invitation would not count).
        members = set(fake_slack.channel(str(incident.channel_id)).members)
        assert {"U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"} <= members
