"""Commands sent from one channel take effect in the order they reached this process.

Without it, commands waiting for the database (a SQLite lock past its busy wait, a PostgreSQL row lock, a paused
server) were applied in whatever order their threads got it when it came back: a fresh tester saw notes posted
as ``014 010 011 008``, and ``resolve`` applied before the ``mitigate`` typed first, which was then refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.errors import StoreUnavailable

TURN_WAIT_SECONDS = 10.0
"""How long a command waits for the commands before it (from the same channel) before it is refused: as long as a
command waits for the database itself (SQLite's busy timeout, PostgreSQL's lock_timeout: bot.store.engine)."""

QUEUE_REFUSAL = (
    "The incident database is unavailable right now; please retry shortly. "
    "(Commands sent before this one are still waiting for it; this one was not recorded.)"
)


class TurnTaking:
    """One FIFO queue per key (``turn_key``: the channel a command was sent from, else the incident it names); the
    commands of one key run one at a time, in arrival order (``asyncio.Lock`` wakes its waiters first come, first
    served). Keys with nobody waiting are forgotten. A command still waiting after ``wait_seconds`` raises
    StoreUnavailable (``QUEUE_REFUSAL``): nothing of it was recorded. Commands of other keys never wait for each
    other. Within one process only: replicas have no common arrival order."""

    def __init__(self, wait_seconds: float = TURN_WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._locks: dict[str, asyncio.Lock] = {}
        self._holders: dict[str, int] = {}
        self._in_flight: set[asyncio.Task[Any]] = set()

    def track(self) -> None:
        """Count the current task (a command's listener, its reply and error reply included) among the commands
        in flight until it ends: ``settle`` waits for them when ``serve`` stops."""
        task = asyncio.current_task()
        if task is not None and task not in self._in_flight:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def settle(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the commands in flight to end (applied and answered, or refused and
        told: a queued one is refused after ``wait_seconds``); returns how many are still going."""
        going = {task for task in self._in_flight if not task.done()}
        if not going:
            return 0
        _, still = await asyncio.wait(going, timeout=timeout)
        return len(still)

    @asynccontextmanager
    async def turn(self, key: str | None) -> AsyncIterator[None]:
        """Wait for ``key``'s turn (none for None), hold it inside the ``async with``."""
        if key is None:
            yield
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            try:
                await asyncio.wait_for(lock.acquire(), self.wait_seconds)
            except TimeoutError:
                raise StoreUnavailable(QUEUE_REFUSAL) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key], self._locks[key]

    def waiting(self) -> int:
        """Commands holding or waiting for a turn, all keys together."""
        return sum(self._holders.values())


def turn_key(channel_id: str | None, incident_number: int | None) -> str | None:
    """``channel:C0...`` for a command sent from a channel (whatever incident it names: the channel's order is the
    order its people see), else ``INC-7`` for one that names its incident; None when neither is known."""
    if channel_id:
        return f"channel:{channel_id}"
    return f"INC-{incident_number}" if incident_number is not None else None
