"""The loop every periodic job runs (nudges, follow-up reminders and digest, tracker sync-back).

A job's ``check_once`` is the whole work and takes no timer (tests call it with a controlled clock);
``repeat`` runs it every ``interval`` seconds until ``stopping`` is set, logging a failed round and
trying again next round (the database or the tracker may be restarting).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any


async def repeat(
    check: Callable[[], Awaitable[object]],
    interval: float,
    stopping: asyncio.Event,
    log: Any,
    failure_event: str,
    *,
    wait_first: bool = False,
) -> None:
    """Await ``check()`` every ``interval`` seconds until ``stopping`` is set; a round that raises is
    logged as ``failure_event`` (with its traceback) on ``log``, a structlog logger. ``wait_first``: the
    first round comes one interval after start, not at once."""
    if wait_first:
        await _wait(stopping, interval)
    while not stopping.is_set():
        try:
            await check()
        except Exception:  # the database may be restarting; try again next round
            log.exception(failure_event)
        await _wait(stopping, interval)


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    """Until ``stopping`` is set or ``seconds`` have passed, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
