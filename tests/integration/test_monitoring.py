"""The `monitoring` status end to end (issue 12), through signed Slack HTTP and the CLI process, on
SQLite and PostgreSQL: the reply, the pinned status message and its buttons, the topic, `list`, App
Home, the timeline, `report` and the postmortem draft uploaded at resolve.

The seed's times: declared 13:42 UTC, rolled back 14:35, monitoring from 14:40, resolved 14:50.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import signing
from tests.support.cli import incidentbot
from tests.support.slack_driver import SlackDriver

DAY = "2026-11-22"


def _status_message(slack: SlackDriver, channel_id: str) -> dict[str, Any]:
    """The pinned status message as it stands now."""
    ts = slack.status_ts(channel_id)
    [message] = [m for m in slack.fake.channel(channel_id).messages if m.get("ts") == ts]
    return message


def _buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


class TestMonitoringOverSlack:
    def test_from_rollback_through_monitoring_to_the_postmortem(
        self, slack: SlackDriver, database_url: str, tmp_path: Path
    ) -> None:
        channel = slack.declare(f"declare sev1 CDN edge returning 502s --at {DAY}T13:42Z")
        slack.ephemeral(f"hypothesis the new WAF rule --at {DAY}T14:05Z", channel_id=channel)
        slack.ephemeral(f"rollback WAF rule inspect-large-payloads --at {DAY}T14:35Z", channel_id=channel)
        assert _buttons(_status_message(slack, channel)) == [
            "incident_add_hypothesis",
            "incident_add_note",
            "incident_post_update",
            "incident_mitigate",
            "incident_monitor",
            "incident_show_timeline",
            "incident_resolve",
        ]

        reply = slack.ephemeral(f"monitor edge 5xx rate for 10 min --at {DAY}T14:40Z", channel_id=channel)
        assert reply == "INC-1 · Monitoring: edge 5xx rate for 10 min (status: monitoring)"

        status = _status_message(slack, channel)
        assert "*Status:* monitoring" in json.dumps(status["blocks"])
        assert _buttons(status) == [
            "incident_add_hypothesis",
            "incident_add_note",
            "incident_post_update",
            "incident_mitigate",
            "incident_show_timeline",
            "incident_resolve",
        ]
        assert slack.fake.channel(channel).topic.startswith("sev1 · monitoring · ")

        listed = slack.ephemeral("list")
        assert "INC-1  sev1  monitoring" in listed

        assert slack.bot.event(signing.app_home_opened_event("U0BOB")).status == 200
        slack.bot.drain()
        home = json.dumps(slack.fake.home_views["U0BOB"], ensure_ascii=False)
        assert "sev1 · monitoring · " in home

        cli = incidentbot("list", database_url=database_url, cwd=tmp_path)
        assert cli.returncode == 0, cli.stderr
        assert "INC-1  sev1  monitoring" in cli.stdout

        timeline = json.dumps(slack.command("timeline", channel_id=channel).payload["blocks"], ensure_ascii=False)
        assert "Monitoring: edge 5xx rate for 10 min" in timeline

        slack.ephemeral(f"resolve edge healthy --at {DAY}T14:50Z", channel_id=channel)
        slack.fake.wait_for("files.completeUploadExternal")
        document = slack.fake.uploaded_files[-1].content.decode()
        assert "| Time to mitigate | 53 min |" in document  # from the 14:35 rollback, not the 14:40 monitoring
        assert "| Time to resolve | 1h 8m |" in document
        assert "Monitoring: edge 5xx rate for 10 min" in document

    def test_a_fix_that_did_not_hold_goes_back_to_investigating(self, slack: SlackDriver) -> None:
        channel = slack.declare("declare sev2 Checkout API returning 500s")
        slack.ephemeral("mitigate restarted the checkout pods", channel_id=channel)
        slack.ephemeral("monitor checkout error rate", channel_id=channel)
        noted = slack.ephemeral("hypothesis the connection pool is exhausted", channel_id=channel)
        assert noted == "INC-1 · Hypothesis #1: the connection pool is exhausted"  # still monitoring
        reply = slack.ephemeral("reopen 500s are back", channel_id=channel)
        assert reply == "INC-1 · The fix did not hold: back to investigating: 500s are back (status: investigating)"
        assert "*Status:* investigating" in json.dumps(_status_message(slack, channel)["blocks"])

    def test_a_stale_monitor_button_says_so_instead_of_opening_a_form(self, slack: SlackDriver) -> None:
        """The Monitor button of an older status message, clicked while monitoring: told at once, no form."""
        channel = slack.declare("declare sev2 Checkout API returning 500s")
        slack.ephemeral("rollback checkout deploy 7", channel_id=channel)
        slack.ephemeral("monitor checkout error rate", channel_id=channel)
        url = slack.fake.response_url("stale-click")
        result = slack.bot.interaction(
            signing.block_actions_body("incident_monitor", value="1", channel_id=channel, response_url=url)
        )
        slack.bot.drain()
        assert result.status == 200
        assert slack.fake.calls_to("views.open") == []
        [told] = [c.params for c in slack.fake.calls_to("response_url") if c.path.endswith("/stale-click")]
        assert told["text"] == (
            "That button is out of date: INC-1 is monitoring now. The pinned status message shows what can be "
            "done next."
        )

    def test_monitor_before_anyone_investigates_is_refused_in_words(self, slack: SlackDriver) -> None:
        channel = slack.declare("declare sev3 Search is slow")
        reply = slack.ephemeral("monitor search latency", channel_id=channel)
        assert reply == (
            "`monitor` follows a fix, and INC-1 is declared: record the fix first "
            "(`mitigate &lt;what you did&gt;` or `rollback &lt;change&gt;`), then `monitor &lt;what you watch&gt;`."
        )
