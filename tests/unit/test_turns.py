"""TurnTaking (bot.slack.turns): commands of one key run one at a time in arrival order, a wait is bounded, keys
do not wait for each other, and nothing is left behind."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import StoreUnavailable
from bot.slack.turns import QUEUE_REFUSAL, TURN_WAIT_SECONDS, TurnTaking, turn_key
from bot.store.engine import POSTGRES_LOCK_TIMEOUT_MS, SQLITE_BUSY_TIMEOUT_MS


def test_commands_of_one_key_run_one_at_a_time_in_arrival_order() -> None:
    order: list[int] = []
    inside = 0
    most_inside = 0

    async def command(turns: TurnTaking, number: int) -> None:
        nonlocal inside, most_inside
        async with turns.turn("channel:C1"):
            inside += 1
            most_inside = max(most_inside, inside)
            await asyncio.sleep(0.005 * (12 - number))  # the earlier ones take longer: a free-for-all reorders
            order.append(number)
            inside -= 1

    async def scenario() -> TurnTaking:
        turns = TurnTaking(wait_seconds=5)
        tasks = []
        for number in range(12):
            tasks.append(asyncio.create_task(command(turns, number)))
            await asyncio.sleep(0)  # each arrives after the one before
        await asyncio.gather(*tasks)
        return turns

    turns = asyncio.run(scenario())
    assert order == list(range(12))
    assert most_inside == 1
    assert turns.waiting() == 0


def test_a_command_waiting_past_the_limit_is_refused_and_the_queue_goes_on() -> None:
    async def scenario() -> tuple[list[str], TurnTaking]:
        turns = TurnTaking(wait_seconds=0.05)
        release = asyncio.Event()
        results: list[str] = []

        async def holder() -> None:
            async with turns.turn("channel:C1"):
                await release.wait()
                results.append("first")

        async def waiter() -> None:
            try:
                async with turns.turn("channel:C1"):
                    results.append("second")
            except StoreUnavailable as exc:
                results.append(str(exc))

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        await waiter()  # gives up after 0.05 s while the first still holds the turn
        release.set()
        await first
        async with turns.turn("channel:C1"):  # the key is free again
            results.append("third")
        return results, turns

    results, turns = asyncio.run(scenario())
    assert results == [QUEUE_REFUSAL, "first", "third"]
    assert turns.waiting() == 0


def test_other_keys_do_not_wait() -> None:
    async def scenario() -> list[str]:
        turns = TurnTaking(wait_seconds=0.05)
        seen: list[str] = []
        async with turns.turn("channel:C1"):
            async with turns.turn("channel:C2"):
                seen.append("C2 inside while C1 is held")
            async with turns.turn(None):
                seen.append("no key inside while C1 is held")
        return seen

    assert asyncio.run(scenario()) == ["C2 inside while C1 is held", "no key inside while C1 is held"]


@pytest.mark.parametrize(
    ("channel_id", "number", "key"),
    [("C0INC1", None, "channel:C0INC1"), ("C0GENERAL", 7, "channel:C0GENERAL"), (None, 7, "INC-7"), (None, None, None)],
)
def test_turn_key(channel_id: str | None, number: int | None, key: str | None) -> None:
    assert turn_key(channel_id, number) == key


def test_a_command_waits_for_its_turn_as_long_as_for_the_database() -> None:
    assert TURN_WAIT_SECONDS * 1000 == SQLITE_BUSY_TIMEOUT_MS == POSTGRES_LOCK_TIMEOUT_MS == 10_000


def test_settle_waits_for_the_commands_in_flight_and_counts_those_still_going() -> None:
    async def scenario() -> tuple[int, int, list[str]]:
        turns = TurnTaking(wait_seconds=5)
        done: list[str] = []

        async def command(name: str, seconds: float) -> None:
            turns.track()
            await asyncio.sleep(seconds)
            done.append(name)

        quick = asyncio.create_task(command("quick", 0.05))
        slow = asyncio.create_task(command("slow", 5))
        await asyncio.sleep(0)  # both started and tracked
        still = await turns.settle(timeout=0.5)
        slow.cancel()
        await asyncio.gather(quick, slow, return_exceptions=True)
        return still, await turns.settle(timeout=0.1), done

    still, after, done = asyncio.run(scenario())
    assert (still, after, done) == (1, 0, ["quick"])
