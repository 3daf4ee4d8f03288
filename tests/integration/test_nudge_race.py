"""Replicas checking for silent incidents at the same moment post one reminder per silence."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from bot.cli.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind
from bot.domain.nudges import DEFAULT_NUDGE_AFTER
from bot.usecases.incidents import Actor, IncidentUseCases

ALICE = Actor("U0ALICE", "alice")


class TestConcurrentNudgeChecks:
    def test_racing_checks_nudge_each_silence_once(self, usecases: IncidentUseCases, clock: ReplayClock) -> None:
        """Four checkers released together, over three silences, leave exactly three nudges."""
        usecases.run(parse_command("declare sev1 CDN edge returning 502s"), ALICE)
        for silence in range(3):
            clock.now += timedelta(minutes=20)
            barrier = threading.Barrier(4)

            def check(now: datetime = clock.now, start: threading.Barrier = barrier) -> None:
                start.wait()
                usecases.nudge_silent(DEFAULT_NUDGE_AFTER, now=now)

            threads = [threading.Thread(target=check) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            clock.now += timedelta(minutes=1)  # somebody posts an update after the reminder
            usecases.run(parse_command(f"INC-1 note update {silence}"), ALICE)
        _, entries = usecases.timeline(1)
        assert sum(e.kind is EntryKind.NUDGE for e in entries) == 3
