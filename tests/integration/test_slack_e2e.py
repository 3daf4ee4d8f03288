"""The seed scenario through the real HTTP endpoint: signed slash commands, the fake Slack Web API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time

import pytest

from bot.cli.demo import SEED_STEPS
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack


@pytest.fixture()
def seed_bot(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    """The bot on SQLite and on PostgreSQL (the ``database_url`` fixture's two params)."""
    with running_bot(database_url, fake_slack.base_url) as running:
        yield running


def _ephemeral_text(result_body: str) -> str:
    payload = json.loads(result_body)
    assert payload.get("response_type") == "ephemeral"
    return str(payload["text"])


# What each seed command is answered with, written out by hand (not built from the code under test):
# a refusal such as "INC-1 was already resolved ..." must not pass for a success.
EXPECTED_REPLIES = [
    "INC-1 · Incident declared (sev1): CDN edge returning 502s above the 5% alerting threshold (status: declared)",
    "INC-1 · Service affected: cdn-edge",
    "INC-1 · Impact: 50% of requests failing",
    "INC-1 · <@U0ALICE> is now the incident lead",
    "INC-1 · IRT assembled: <@U0BOB> (networking), <@U0CAROL> (security), <@U0DAVE> (ops) (status: investigating)",
    "INC-1 · Hypothesis #1: external DDoS attack against the edge",
    "INC-1 · Mitigation attempted: rate limiting at the edge",
    "INC-1 · Hypothesis #1 rejected (external DDoS attack against the edge): rate limiting had no effect; "
    "request volume is normal",
    "INC-1 · Note: half of the edge servers are pinned at 100% CPU",
    "INC-1 · Hypothesis #2: new WAF rule causes a CPU spin loop on packet inspection",
    "INC-1 · Hypothesis #2 confirmed as root cause (new WAF rule causes a CPU spin loop on packet inspection): "
    "CPU profiles show the WAF rule's regex spinning",
    "INC-1 · Rolled back: WAF rule rolled back globally (status: mitigated)",
    "INC-1 · Incident resolved: 502 rate back within SLO and edge CPU normal (status: resolved)",
    "INC-1 · Follow-up #1: canary deployment for firewall changes (owner: <@U0CAROL>)",
    "INC-1 · Follow-up #2: synthetic traffic tests against the WAF in staging every 5 minutes (owner: <@U0BOB>)",
    'INC-1 · Follow-up #3: add a "verify CPU load" step to the runbook before global rollout (owner: <@U0DAVE>)',
    "Exporting the postmortem draft of INC-1 to its channel…",
]


SEED_DATE = (datetime.now(UTC) - timedelta(days=2)).date()
"""Two days ago: explicit, so the test works at any time of day, and within ``--at``'s one-year limit."""


def _seed_slack_text(text: str) -> str:
    """The demo steps backdate with a time of day; here the date is explicit, so the test works any day."""
    return text.replace("--at ", f"--at {SEED_DATE.isoformat()} ", 1) if "--at " in text else text


class TestSeedScenarioOverSlack:
    def test_whole_outage_from_declare_to_postmortem_upload(self, seed_bot: RunningBot, fake_slack: FakeSlack) -> None:
        """Declare at 13:42 ... resolve at 14:45 via signed slash commands; the postmortem lands in the channel."""
        bot = seed_bot
        users = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL", "dave": "U0DAVE"}
        channel_id = "C0GENERAL"
        for step, expected_reply in zip(SEED_STEPS, EXPECTED_REPLIES, strict=True):
            result = bot.command(
                _seed_slack_text(step.slack_text),
                user_id=users[str(step.actor.name)],
                user_name=str(step.actor.name),
                channel_id=channel_id,
                response_url=fake_slack.response_url(step.time),
            )
            assert result.status == 200, result.body
            reply = _ephemeral_text(result.body)
            if reply == "Working on it…":  # documented: past the 2 s ack budget the answer follows via response_url
                bot.drain()
                followup = [c.params for c in fake_slack.calls_to("response_url") if c.path.endswith(f"/{step.time}")][
                    -1
                ]
                reply = str(followup["text"])
            assert reply == expected_reply
            if step.text.startswith("declare"):
                created = fake_slack.wait_for("conversations.create")[0]
                assert created.params["name"].startswith("inc-1-cdn-edge-returning-502s")
                bot.drain()
                channel_id = fake_slack.channel(created.params["name"]).id
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

        incident, entries = bot.usecases.incidents.timeline(1)
        assert incident.status.value == "resolved"
        assert entries[0].occurred_at == datetime.combine(SEED_DATE, wall_time(13, 42), UTC)
        assert [e.occurred_at.strftime("%H:%M") for e in entries][:5] == ["13:42", "13:42", "13:42", "13:43", "13:50"]

        topic = fake_slack.calls_to("conversations.setTopic")[-1].params["topic"]
        assert "resolved" in topic and "sev1" in topic
        pins = fake_slack.calls_to("pins.add")
        assert len(pins) == 1
        # Invitations Slack accepted, and the channel's members as Slack holds them (a refused invite is no member).
        invited = {
            u for c in fake_slack.calls_to("conversations.invite") if c.ok for u in str(c.params["users"]).split(",")
        }
        assert {"U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"} <= invited
        members = set(fake_slack.channel(created.params["name"]).members)
        assert {"U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"} <= members
