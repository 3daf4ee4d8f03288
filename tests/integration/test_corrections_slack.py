"""Corrections through signed Slack slash commands (issue 16), strict roles on, SQLite and PostgreSQL: the
timeline numbers its entries, the IRT corrects and strikes, an outsider may not, the status view and the
pinned status message read the corrected record."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.support.bot_server import running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.slack_driver import SlackDriver


@pytest.fixture()
def strict_slack(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    with running_bot(database_url, fake_slack.base_url, INCIDENT_STRICT_ROLES="true") as bot:
        driver = SlackDriver(bot, fake_slack)
        yield driver
        bot.drain()
        driver.assert_slack_saw_no_internals()


def timeline_lines(driver: SlackDriver, channel: str) -> list[str]:
    """The lines of the ephemeral ``/incident timeline`` answer, times replaced by ``HH:MM``."""
    reply = driver.command("timeline", channel_id=channel)
    assert reply.result.status == 200, reply.result.body
    sections = [b["text"]["text"] for b in reply.payload["blocks"] if b["type"] == "section"]
    return [re.sub(r"`\d\d:\d\d`", "`HH:MM`", line) for text in sections for line in text.split("\n")]


def test_the_irt_corrects_and_strikes_and_every_view_follows(strict_slack: SlackDriver) -> None:
    slack = strict_slack
    channel = slack.declare("declare sev2 Checkout API returning 500s")
    for text, user in (
        ("lead <@U0ALICE|alice>", ("U0ALICE", "alice")),
        ("assemble <@U0BOB|bob>:networking", ("U0ALICE", "alice")),
        ("note edge CPU at 100%", ("U0DAVE", "dave")),
        ("impact 20%", ("U0ALICE", "alice")),
    ):
        reply = slack.command(text, channel_id=channel, user_id=user[0], user_name=user[1])
        assert reply.result.status == 200, reply.result.body
    assert timeline_lines(slack, channel) == [
        "#1 `HH:MM` Incident declared (sev2): Checkout API returning 500s (<@U0ALICE>)",
        "#2 `HH:MM` <@U0ALICE> is now the incident lead (<@U0ALICE>)",
        "#3 `HH:MM` IRT assembled: <@U0BOB> (networking) (<@U0ALICE>)",
        "#4 `HH:MM` Note: edge CPU at 100% (<@U0DAVE>)",
        "#5 `HH:MM` Impact: 20% of requests failing (<@U0ALICE>)",
    ]
    assert "Impact: 20% of requests failing" in slack.ephemeral("status", channel_id=channel)

    refused = slack.ephemeral("strike 4 not ours", channel_id=channel, user_id="U0DAVE", user_name="dave")
    assert refused.startswith(
        "Only the lead <@U0ALICE> and the IRT of INC-1 may strike entries from the timeline of it "
        "(strict roles are on)."
    )
    corrected = slack.ephemeral("correct 4 edge CPU at 90%", channel_id=channel, user_id="U0BOB", user_name="bob")
    assert corrected == 'INC-1 · Corrected #4 (note): now "edge CPU at 90%" (was "edge CPU at 100%")'
    struck = slack.ephemeral("strike 5 that was another service", channel_id=channel)
    assert struck == "INC-1 · Struck #5 (impact): that was another service"
    status_change = slack.ephemeral("strike 2 wrong lead", channel_id=channel)
    assert status_change.startswith("Entry #2 (lead change) cannot be struck: correct its time (`correct 2 --at WHEN`)")

    assert timeline_lines(slack, channel) == [
        "#1 `HH:MM` Incident declared (sev2): Checkout API returning 500s (<@U0ALICE>)",
        "#2 `HH:MM` <@U0ALICE> is now the incident lead (<@U0ALICE>)",
        "#3 `HH:MM` IRT assembled: <@U0BOB> (networking) (<@U0ALICE>)",
        "#4 `HH:MM` Note: edge CPU at 90% (<@U0DAVE>) _[corrected by #6]_",
        "#5 `HH:MM` ~Impact: 20% of requests failing~ (<@U0ALICE>) _[struck by #7: that was another service]_",
        '#6 `HH:MM` Corrected #4 (note): now "edge CPU at 90%" (was "edge CPU at 100%") (<@U0BOB>)',
        "#7 `HH:MM` Struck #5 (impact): that was another service (<@U0ALICE>)",
    ]
    # The status view and the pinned status message read the corrected record: no impact is stated any more.
    assert "Impact" not in slack.ephemeral("status", channel_id=channel)
    status_ts = slack.status_ts(channel)
    updates = [c.params for c in slack.fake.calls_to("chat.update") if c.ok and c.params.get("ts") == status_ts]
    assert updates, "the status message was never updated"
    assert any("20% of requests failing" in json.dumps(u.get("blocks")) for u in updates[:-1])  # it was shown
    assert "20% of requests failing" not in json.dumps(updates[-1].get("blocks"))
