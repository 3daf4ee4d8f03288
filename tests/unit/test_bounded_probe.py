"""BoundedProbe (bot.metrics): an answer within the timeout or ProbeTimedOut, one run at a time."""

from __future__ import annotations

import threading
import time

import pytest

from bot.metrics import BoundedProbe, ProbeTimedOut


def test_a_probe_that_answers_gives_its_result_and_its_error() -> None:
    assert BoundedProbe(lambda: 42, timeout=1)() == 42

    def broken() -> int:
        raise ValueError("database said no")

    with pytest.raises(ValueError, match="database said no"):
        BoundedProbe(broken, timeout=1)()


def test_a_stuck_probe_times_out_and_calls_meanwhile_wait_for_the_same_run() -> None:
    released = threading.Event()
    runs: list[int] = []

    def stuck() -> str:
        runs.append(1)
        released.wait(10)
        return "answered"

    probe = BoundedProbe(stuck, timeout=0.1, name="stuck")
    started = time.monotonic()
    with pytest.raises(ProbeTimedOut, match=r"stuck: no answer within 0\.1 s"):
        probe()
    with pytest.raises(ProbeTimedOut):
        probe()
    assert time.monotonic() - started < 5  # both answered without waiting for the stuck run
    assert len(runs) == 1  # the second call did not start another run while the first one waits
    released.set()
    time.sleep(0.3)  # the stuck run returns
    assert probe() == "answered"
    assert len(runs) == 2  # a new run once the last one is done


def test_answer_awaits_on_the_loop_and_times_out_alike() -> None:
    import asyncio

    released = threading.Event()
    probe = BoundedProbe(lambda: released.wait(10), timeout=0.1, name="ping")

    async def scenario() -> tuple[str, bool]:
        try:
            await probe.answer()
            first = "answered"
        except ProbeTimedOut as exc:
            first = str(exc)
        released.set()
        await asyncio.sleep(0.3)
        return first, await probe.answer()

    assert asyncio.run(scenario()) == ("ping: no answer within 0.1 s", True)
