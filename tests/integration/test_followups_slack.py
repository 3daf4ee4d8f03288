"""Follow-ups through signed ``/incident`` requests to the real bot and the fake Slack (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.slack_driver import SlackDriver, channel_texts


def test_followups_after_resolution_in_slack(slack: SlackDriver) -> None:
    """Added after the resolve with an owner and a due date, done by its owner, one dropped: the channel hears
    each change, ``followups`` lists state, owner, due date and link, and refusals are ephemeral sentences."""
    channel_id = slack.declare("declare sev1 CDN edge returning 502s")
    slack.ephemeral("resolve WAF rule rolled back", channel_id=channel_id)
    in_a_week = f"{datetime.now(UTC) + timedelta(days=7):%Y-%m-%d}"
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    assert slack.ephemeral(
        "followup canary deployment for firewall changes <@U0CAROL|carol> --due +7d", channel_id=channel_id
    ) == (f"INC-1 · Follow-up #1: canary deployment for firewall changes (owner: <@U0CAROL>; due {in_a_week})")
    slack.ephemeral("followup synthetic WAF tests in staging", channel_id=channel_id)
    assert slack.ephemeral(
        "followup done 1 canary stage live", channel_id=channel_id, user_id="U0CAROL", user_name="carol"
    ) == ("INC-1 · Follow-up #1 (canary deployment for firewall changes) done: canary stage live")
    assert slack.ephemeral("followup drop 2", channel_id=channel_id).startswith(
        "`followup` needs a reason to drop it, e.g. `followup drop 2 covered by #1`."
    )
    assert slack.ephemeral("followup reopen 2", channel_id=channel_id) == (
        "Follow-up #2 is still open; there is nothing to reopen."
    )
    assert slack.ephemeral("followup done 5", channel_id=channel_id) == (
        "INC-1 has no follow-up #5 (it has: #1, #2). `followups` lists them; add one with "
        "`followup &lt;text&gt; [@owner]`."
    )
    slack.ephemeral("followup drop 2 covered by the WAF canary", channel_id=channel_id)
    listing = slack.ephemeral("INC-1 followups")  # from another channel, naming the incident
    assert listing.splitlines() == [
        "INC-1 follow-ups",
        f"#1 done {today} · canary deployment for firewall changes · owner <@U0CAROL> · due {in_a_week} · link -",
        "#2 dropped · synthetic WAF tests in staging · owner unassigned · due - · link -",
    ]
    said = channel_texts(slack, channel_id)
    assert "Follow-up #1 (canary deployment for firewall changes) done: canary stage live" in said
    assert "Follow-up #2 (synthetic WAF tests in staging) dropped: covered by the WAF canary" in said
    assert slack.bot.usecases.incidents.get(1).status.value == "resolved"


def test_followups_of_an_incident_without_any(slack: SlackDriver) -> None:
    """An incident without follow-ups says how to add one (``<text>`` escaped, or Slack reads it as a link)."""
    channel_id = slack.declare("declare sev3 Search slow")
    assert slack.ephemeral("followups", channel_id=channel_id) == (
        "INC-1 has no follow-ups; add one with `/incident followup &lt;text&gt; [@owner] [--due DATE]`."
    )
