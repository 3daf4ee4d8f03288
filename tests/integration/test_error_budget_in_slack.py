"""Error budgets in Slack: the burn said in the incident channel and the owner's channel, in the status
message, `/incident slo` and App Home; without a catalogue, `slo` says what to configure."""

from __future__ import annotations

import json

from tests.support import signing
from tests.support.slack_driver import SlackDriver, channel_texts


class TestErrorBudgetInSlack:
    def test_budget_in_status_message_slo_command_channel_and_home(self, slo_slack: SlackDriver) -> None:
        """100% failing for 30 minutes exhausts cdn-edge's 21.6 min: said in the channel, the owner channel,
        the status message, `/incident slo` and App Home, with the release-freeze policy."""
        channel = slo_slack.declare("declare sev3 CDN edge down --at 30m ago")
        slo_slack.ephemeral("service cdn-edge", channel_id=channel)
        slo_slack.ephemeral("impact 100% --at 30m ago", channel_id=channel)
        slo_slack.ephemeral("rollback edge config", channel_id=channel)
        answer = slo_slack.ephemeral("slo cdn-edge")
        assert "Budget exhausted" in answer and "release freeze for cdn-edge" in answer and "INC-1" in answer
        assert "release freeze for cdn-edge" in channel_texts(slo_slack, channel)
        assert "error budget of cdn-edge is exhausted" in channel_texts(slo_slack, "C0GENERAL")
        status_blocks = json.dumps([c.params.get("blocks") for c in slo_slack.fake.calls_to("chat.update")])
        assert "*Impact:* 100% of requests failing" in status_blocks and "Error budget:" in status_blocks
        slo_slack.bot.event(signing.app_home_opened_event("U0BOB"))
        slo_slack.bot.drain()
        home = json.dumps(slo_slack.fake.calls_to("views.publish")[-1].params)
        assert "Error budgets exhausted" in home

    def test_slo_without_catalogue_says_how_to_configure(self, slack: SlackDriver) -> None:
        """Without INCIDENT_SLO_FILE, `/incident slo` explains what to set."""
        assert "INCIDENT_SLO_FILE" in slack.ephemeral("slo")
