"""Nudges: a quiet high-severity incident gets one reminder per silence (also when replicas check at the same
moment), and follow-ups nobody owns are pointed out at resolve."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.app import NUDGER, UseCases
from bot.cli.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind
from bot.domain.nudges import DEFAULT_NUDGE_AFTER
from bot.usecases.shared import Actor
from tests.support.slack_driver import SlackDriver, channel_texts

ALICE = Actor("U0ALICE", "alice")


class TestConcurrentNudgeChecks:
    def test_racing_checks_nudge_each_silence_once(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Four checkers released together, over three silences, leave exactly three nudges."""
        usecases.incidents.run(parse_command("declare sev1 CDN edge returning 502s"), ALICE)
        for silence in range(3):
            clock.now += timedelta(minutes=20)
            barrier = threading.Barrier(4)

            def check(now: datetime = clock.now, start: threading.Barrier = barrier) -> None:
                start.wait()
                usecases.nudges.nudge_silent(DEFAULT_NUDGE_AFTER, now=now)

            threads = [threading.Thread(target=check) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            clock.now += timedelta(minutes=1)  # somebody posts an update after the reminder
            usecases.incidents.run(parse_command(f"INC-1 note update {silence}"), ALICE)
        _, entries = usecases.incidents.timeline(1)
        assert sum(e.kind is EntryKind.NUDGE for e in entries) == 3


class TestNudges:
    def test_quiet_sev1_gets_one_reminder(self, slo_slack: SlackDriver) -> None:
        """16 minutes after the last entry a sev1 channel gets a reminder; a second check adds none."""
        channel = slo_slack.declare("declare sev1 Checkout down")
        usecases = slo_slack.bot.usecases
        nudger = slo_slack.bot.web_app[NUDGER]
        later = datetime.now(UTC) + timedelta(minutes=16)
        assert nudger.check_once(datetime.now(UTC)) == []
        assert nudger.check_once(later) == ["INC-1"]
        assert nudger.check_once(later + timedelta(minutes=30)) == []
        slo_slack.bot.drain()
        reminders = [t for t in channel_texts(slo_slack, channel).splitlines() if "no timeline update" in t]
        assert len(reminders) == 1 and "status update" in reminders[0]
        assert [e.kind for e in usecases.incidents.timeline(1)[1]].count(EntryKind.NUDGE) == 1

    def test_unowned_followups_are_flagged_at_resolve(self, slo_slack: SlackDriver) -> None:
        """Resolving with a follow-up nobody owns posts a warning naming it."""
        channel = slo_slack.declare("declare sev3 Search slow")
        slo_slack.ephemeral("followup add an index on queries", channel_id=channel)
        slo_slack.ephemeral("followup alert on p99 <@U0BOB|bob>", channel_id=channel)
        slo_slack.ephemeral("resolve index added", channel_id=channel)
        texts = channel_texts(slo_slack, channel)
        assert "1 follow-up(s) without an owner: #1 add an index on queries" in texts
        assert "#2" not in texts.split("without an owner")[1].split("\n")[0]
