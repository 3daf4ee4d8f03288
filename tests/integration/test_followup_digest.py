"""The weekly follow-up digest (INCIDENT_FOLLOWUP_DIGEST_CHANNEL) through the running bot and the fake Slack,
on SQLite and PostgreSQL: open follow-ups by owner, overdue first, posted once per ISO week, also when
replicas check together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.app import DIGEST
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.slack_driver import SlackDriver

DIGEST_CHANNEL = "C0GENERAL"


@pytest.fixture
def digest_bot(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    with running_bot(database_url, fake_slack.base_url, INCIDENT_FOLLOWUP_DIGEST_CHANNEL=DIGEST_CHANNEL) as bot:
        yield bot


def week_of(moment: datetime) -> str:
    year, week, _ = moment.date().isocalendar()
    return f"{year}-W{week:02d}"


def digests(slack: SlackDriver) -> list[str]:
    return [str(p.get("text")) for p in slack.posted(DIGEST_CHANNEL) if str(p.get("text")).startswith(":clipboard:")]


def test_weekly_digest_lists_open_followups_by_owner_once_a_week(digest_bot: RunningBot, fake_slack: FakeSlack) -> None:
    """Carol (one overdue) before Bob, unassigned last; done and dropped ones left out; a second check in the
    same week posts nothing, the next week posts again, and four replicas checking together post once."""
    slack = SlackDriver(digest_bot, fake_slack)
    now = datetime.now(UTC)
    yesterday = f"{now - timedelta(days=1):%Y-%m-%d}"
    in_a_week = f"{now + timedelta(days=7):%Y-%m-%d}"
    first = slack.declare("declare sev1 CDN edge returning 502s")
    for text in (
        "followup canary deployment for firewall changes <@U0CAROL|carol> --due +7d",
        "followup synthetic WAF tests in staging <@U0BOB|bob>",
        'followup a "verify CPU load" runbook step',
        "followup rotate the edge certificates <@U0BOB|bob>",
        "followup done 4",
        "followup retire the old WAF rule set <@U0DAVE|dave>",
        "followup drop 5 covered by the canary",
    ):
        slack.ephemeral(text, channel_id=first)
    second = slack.declare("declare sev2 Checkout errors --at 3d ago")
    slack.ephemeral("followup retry budget for the payment client <@U0CAROL|carol> --at 2d ago", channel_id=second)
    slack.ephemeral(f"followup due 1 {yesterday}", channel_id=second)
    digest = digest_bot.web_app[DIGEST]
    # The Monday after today, 08:00 UTC: too early; 10:00: posted; later that week: nothing more.
    monday = datetime.combine(now.date() + timedelta(days=7 - now.weekday()), time(8), tzinfo=UTC)
    assert digest.check_once(monday) is None
    assert digest.check_once(monday + timedelta(hours=2)) == week_of(monday)
    assert digest.check_once(monday + timedelta(days=3)) is None
    digest_bot.drain()
    assert digests(slack) == [
        f":clipboard: Open follow-ups, week {week_of(monday)}: 4 open, 1 overdue.\n"
        f"<@U0CAROL>: INC-2 #1 retry budget for the payment client (overdue, due {yesterday}); "
        f"INC-1 #1 canary deployment for firewall changes (due {in_a_week})\n"
        "<@U0BOB>: INC-1 #2 synthetic WAF tests in staging (no due date)\n"
        'Unassigned: INC-1 #3 a "verify CPU load" runbook step (no due date)'
    ]
    next_week = monday + timedelta(days=8)  # Tuesday 08:00: later in the week is fine
    assert digest.check_once(next_week) == week_of(next_week)
    in_two_weeks = monday + timedelta(days=14, hours=2)
    results: list[str | None] = []
    barrier = threading.Barrier(4)

    def check() -> None:
        barrier.wait()
        results.append(digest.check_once(in_two_weeks))

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results, key=str) == [week_of(in_two_weeks), None, None, None]
    digest_bot.drain()
    assert len(digests(slack)) == 3
