"""Replies and posted messages stay within Slack's limits through the real endpoint: long user text is
cut with a note that the full text is on the timeline, and nothing the bot sends breaks a limit."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.domain.model import EntryKind
from tests.support import signing
from tests.support.slack_limits import TOPIC, message_errors, view_errors

if TYPE_CHECKING:
    from tests.support.slack_driver import SlackDriver

NOTE = "… (truncated; the full text is on the timeline)"
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")


def _everything_sent_fits(slack: SlackDriver) -> None:
    """Every message, view and topic the bot sent to the fake Slack, checked against the written-out limits."""
    for call in slack.fake.calls:
        params: dict[str, Any] = call.params
        if call.method in MESSAGE_METHODS:
            sent_blocks = params.get("blocks")
            if isinstance(sent_blocks, str):
                sent_blocks = json.loads(sent_blocks)
            assert message_errors(params.get("text"), sent_blocks) == [], call.describe()
        elif call.method in ("views.open", "views.publish"):
            view = params["view"] if isinstance(params["view"], dict) else json.loads(params["view"])
            assert view_errors(view) == [], call.describe()
        elif call.method == "conversations.setTopic":
            assert len(str(params["topic"])) <= TOPIC


class TestLongTextThroughSlack:
    def test_status_with_three_15000_character_hypotheses_is_cut_at_40000_with_the_note(
        self, slack: SlackDriver
    ) -> None:
        """Issue 11 item 3: `/incident status` of an incident with three 15,000-character hypotheses
        answers exactly 40,000 characters ending with the note; the hypotheses are whole on the timeline."""
        channel = slack.declare("declare sev1 CDN edge 502s")
        for letter in "abc":
            slack.command(f"hypothesis {letter * 15_000}", channel_id=channel)
        reply = slack.command("status", channel_id=channel)
        assert reply.result.status == 200
        assert len(reply.text) == 40_000
        assert reply.text.endswith(NOTE)
        assert reply.text.startswith("INC-1 · CDN edge 502s\nSeverity: sev1 · Status: investigating")
        kept = [e.text for e in slack.bot.usecases.incidents.timeline(1)[1] if e.kind is EntryKind.HYPOTHESIS]
        assert kept == ["a" * 15_000, "b" * 15_000, "c" * 15_000]
        _everything_sent_fits(slack)

    def test_twenty_thousand_ampersands_fit_every_reply_and_post(self, slack: SlackDriver) -> None:
        """A 20,000-character note of `&` (100,000 characters once escaped for mrkdwn) is cut in the
        confirmation, the channel line and the timeline; every surface Slack would accept."""
        channel = slack.declare("declare sev2 Checkout API returning 500s")
        reply = slack.command("note " + "&" * 20_000, channel_id=channel)
        assert reply.text.startswith("INC-1 · Note: &amp;&amp;") and reply.text.endswith(NOTE)
        assert len(reply.text) <= 40_000
        assert "&am…" not in reply.text  # never half an entity before the note
        slack.command("hypothesis " + "<!channel> " * 1_800, channel_id=channel)
        timeline = slack.command("timeline", channel_id=channel)
        assert message_errors(timeline.text, timeline.payload.get("blocks")) == []
        slack.bot.event(signing.app_home_opened_event("U0BOB"))
        slack.bot.drain()
        line = [p["text"] for p in slack.posted(channel) if "Note:" in str(p.get("text"))]
        assert len(line) == 1 and line[0].endswith(NOTE)
        _everything_sent_fits(slack)
        assert [e.text for e in slack.bot.usecases.incidents.timeline(1)[1] if e.kind is EntryKind.NOTE] == [
            "&" * 20_000
        ]
