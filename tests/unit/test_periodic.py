"""bot.jobs.periodic.repeat: the loop of every periodic job (nudges, reminders, digest, sync-back)."""

from __future__ import annotations

import asyncio

import structlog
from structlog.testing import capture_logs

from bot.jobs.periodic import repeat


async def test_a_failed_round_is_logged_and_the_next_round_runs() -> None:
    stopping = asyncio.Event()
    rounds: list[int] = []

    async def check() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database restarting")
        if len(rounds) == 3:
            stopping.set()

    with capture_logs() as logs:
        await asyncio.wait_for(repeat(check, 0.01, stopping, structlog.get_logger("t"), "x_check_failed"), 5)
    assert rounds == [0, 1, 2]
    assert [(e["event"], e["log_level"]) for e in logs] == [("x_check_failed", "error")]


async def test_wait_first_runs_nothing_when_stopped_during_the_first_interval() -> None:
    stopping = asyncio.Event()
    rounds: list[int] = []

    async def check() -> None:
        rounds.append(1)

    task = asyncio.create_task(repeat(check, 60, stopping, structlog.get_logger("t"), "x", wait_first=True))
    await asyncio.sleep(0.05)
    stopping.set()
    await asyncio.wait_for(task, 5)
    assert rounds == []


async def test_without_wait_first_the_first_round_is_at_once() -> None:
    stopping = asyncio.Event()

    async def check() -> None:
        stopping.set()

    await asyncio.wait_for(repeat(check, 60, stopping, structlog.get_logger("t"), "x"), 5)
