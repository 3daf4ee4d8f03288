"""Follow-up reminders: overdue follow-ups nudge their owners by DM and the incident channel at most once per
UTC day, through the outbox and the fake Slack (controlled clock), also when replicas check together."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from bot.app import REMINDER, UseCases
from bot.cli.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind
from bot.usecases.shared import Actor
from tests.support.slack_driver import SlackDriver, channel_texts

ALICE = Actor("U0ALICE", "alice")


def test_overdue_followups_remind_owner_and_channel_once_a_day(slack: SlackDriver) -> None:
    """Due yesterday: one channel line and one DM per Slack owner today; none on a second check that day;
    again the next day; none once everything overdue is done or dropped."""
    yesterday = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
    channel = slack.declare("declare sev2 Checkout errors --at 3d ago")
    for text in (
        "resolve retry storm contained --at 2d 23h ago",
        "followup retry budget for the payment client <@U0CAROL|carol> --at 2d ago",
        "followup alert on retry rate --at 2d ago",
        "followup load test the client <@U0CAROL|carol> --due +30d",
        f"followup due 1 {yesterday}",
        f"followup due 2 {yesterday}",
    ):
        slack.ephemeral(text, channel_id=channel)
    reminder = slack.bot.web_app[REMINDER]
    now = datetime.now(UTC)
    assert reminder.check_once(now) == ["INC-1"]
    assert reminder.check_once(now + timedelta(minutes=5)) == []
    slack.bot.drain()
    lines = [t for t in channel_texts(slack, channel).splitlines() if ":hourglass:" in t]
    assert lines == [
        ":hourglass: INC-1 has overdue follow-ups: #1 retry budget for the payment client (<@U0CAROL>, due "
        f"{yesterday}); #2 alert on retry rate (unassigned, due {yesterday}). Mark one done with "
        "`/incident INC-1 followup done &lt;n&gt;`, give it a new date with "
        "`/incident INC-1 followup due &lt;n&gt; DATE`, or drop it with a reason."
    ]
    direct = [m["text"] for m in slack.fake.channel("D0CAROL").messages]
    assert direct == [
        f":hourglass: Your follow-ups on INC-1 (Checkout errors) are overdue: #1 retry budget for the payment "
        f"client (due {yesterday}). Mark one done with `/incident INC-1 followup done &lt;n&gt;`, give it a new "
        "date with `/incident INC-1 followup due &lt;n&gt; DATE`, or drop it with a reason."
    ]
    assert reminder.check_once(now + timedelta(days=1)) == ["INC-1"]
    slack.ephemeral("followup done 1", channel_id=channel)
    slack.ephemeral("followup drop 2 the retry budget alerts already", channel_id=channel)
    assert reminder.check_once(now + timedelta(days=2)) == []
    slack.bot.drain()
    assert len(slack.fake.channel("D0CAROL").messages) == 2
    entries = slack.bot.usecases.incidents.timeline(1)[1]
    assert [e.data["numbers"] for e in entries if e.kind is EntryKind.FOLLOWUP_REMINDER] == [[1, 2], [1, 2]]


def test_racing_checks_remind_once_per_day(usecases: UseCases, clock: ReplayClock) -> None:
    """Four checkers released together on each of two days leave exactly two reminders."""
    usecases.incidents.run(parse_command("declare sev1 CDN edge returning 502s"), ALICE)
    usecases.incidents.run(parse_command("INC-1 followup canary deployment --due tomorrow"), ALICE)
    assert usecases.incidents.get(1).followups[0].due == date(2026, 11, 23)  # the clock stands on 2026-11-22
    for day in (2, 3):
        moment = clock.now + timedelta(days=day)
        barrier = threading.Barrier(4)

        def check(now: datetime = moment, start: threading.Barrier = barrier) -> None:
            start.wait()
            usecases.followups.remind_overdue(now=now)

        threads = [threading.Thread(target=check) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    _, entries = usecases.incidents.timeline(1)
    assert [e.data["day"] for e in entries if e.kind is EntryKind.FOLLOWUP_REMINDER] == ["2026-11-24", "2026-11-25"]
