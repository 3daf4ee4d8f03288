"""The pacer of Slack calls (``bot.slack.pacing``) and how lines are cut into messages, on a clock the test moves.

Slack's figures are written here as literals from its documentation (docs.slack.dev, "Rate limits"):
Tier 2 20 calls a minute, Tier 3 50, Tier 4 100; chat.postMessage one a second per channel."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.delivery import lines_in_one_message
from bot.slack.pacing import SlackPacer, TooSoon

PER_MINUTE = {"conversations.setTopic": 20, "pins.add": 20, "chat.update": 50, "users.info": 100}


class Clock:
    """Monotonic seconds that only a sleep moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _pacer(clock: Clock, max_wait: float = 1e9) -> SlackPacer:
    return SlackPacer(clock=clock, sleep=clock.sleep, max_wait=max_wait)


async def _calls(
    pacer: SlackPacer, clock: Clock, method: str, gaps: list[float], channel: str | None = None, duration: float = 0.0
) -> list[tuple[float, float]]:
    """(start, answered) of each call, the next one asked ``gap`` seconds after the previous was answered."""
    spans = []
    for gap in gaps:
        clock.now += gap
        async with pacer.turn(method, channel):
            start = clock.now
            clock.now += duration
        spans.append((start, clock.now))
    return spans


@given(
    method=st.sampled_from(sorted(PER_MINUTE)),
    gaps=st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), min_size=1, max_size=150),
)
def test_no_minute_holds_more_calls_than_the_tier_allows(method: str, gaps: list[float]) -> None:
    clock = Clock()
    starts = [start for start, _ in asyncio.run(_calls(_pacer(clock), clock, method, gaps))]
    allowed = PER_MINUTE[method]
    for i, first in enumerate(starts):
        in_window = [s for s in starts[i:] if s < first + 60]
        assert len(in_window) <= allowed


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), min_size=1, max_size=60),
    duration=st.floats(min_value=0, max_value=0.5, allow_nan=False),
)
def test_posts_to_a_channel_start_a_second_after_the_previous_was_answered(gaps: list[float], duration: float) -> None:
    clock = Clock()
    spans = asyncio.run(_calls(_pacer(clock), clock, "chat.postMessage", gaps, "C1", duration))
    for (_, answered), (start, _) in itertools.pairwise(spans):
        assert start >= answered + 1.0 - 1e-9


def test_channels_are_paced_apart() -> None:
    """Posts to two channels do not wait for each other."""
    clock = Clock()
    pacer = _pacer(clock)

    async def both() -> list[float]:
        starts = []
        for channel in ("C1", "C2", "C3"):
            async with pacer.turn("chat.postMessage", channel):
                starts.append(clock.now)
        return starts

    assert asyncio.run(both()) == [0.0, 0.0, 0.0]


def test_a_burst_of_tier_3_calls_then_the_refill() -> None:
    """chat.update (Tier 3, 50 a minute): 10 at once, then one every 1.5 s (40 a minute)."""
    clock = Clock()
    starts = [s for s, _ in asyncio.run(_calls(_pacer(clock), clock, "chat.update", [0.0] * 13))]
    assert starts == [0.0] * 10 + [1.5, 3.0, 4.5]


def test_a_retry_after_holds_the_method_and_the_channel() -> None:
    clock = Clock()
    pacer = _pacer(clock)
    pacer.hold("chat.postMessage", "C1", 7)
    pacer.hold("pins.add", None, 3)
    post = asyncio.run(_calls(pacer, clock, "chat.postMessage", [0.0], "C1"))[0][0]
    assert post == 7.0
    clock.now = 0.0
    pin = asyncio.run(_calls(pacer, clock, "pins.add", [0.0]))[0][0]
    assert pin == 3.0


@pytest.mark.parametrize("retry_after", [None, float("nan"), -4.0, 0.0])
def test_an_unreadable_retry_after_holds_one_second(retry_after: float | None) -> None:
    clock = Clock()
    pacer = _pacer(clock)
    pacer.hold("chat.update", None, retry_after)
    assert asyncio.run(_calls(pacer, clock, "chat.update", [0.0]))[0][0] == 1.0


def test_a_turn_too_far_away_raises_too_soon_and_takes_nothing() -> None:
    """With 3 s as the most a delivery waits: 4 pins.add (Tier 2: 4 at once, then one per 3.75 s) go at once;
    the 5th would wait 3.75 s: TooSoon, taking nothing, so asked again 3.75 s later it goes at once."""
    clock = Clock()
    pacer = _pacer(clock, max_wait=3.0)
    starts = [s for s, _ in asyncio.run(_calls(pacer, clock, "pins.add", [0.0] * 4))]
    assert starts == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(TooSoon) as refused:
        asyncio.run(_calls(pacer, clock, "pins.add", [0.0]))
    assert refused.value.after == pytest.approx(3.75)
    assert asyncio.run(_calls(pacer, clock, "pins.add", [3.75]))[0][0] == pytest.approx(3.75)


def test_interactive_calls_are_never_held() -> None:
    clock = Clock()
    pacer = _pacer(clock)
    starts = [s for s, _ in asyncio.run(_calls(pacer, clock, "views.open", [0.0] * 300))]
    assert set(starts) == {0.0}


@given(st.lists(st.text(alphabet="ab <>@:\n", min_size=0, max_size=5000), min_size=1, max_size=40))
def test_lines_are_cut_into_messages_in_order_each_once_within_the_limit(texts: list[str]) -> None:
    """Cutting repeatedly takes every line once, in order; a message of several lines stays within 4,000."""
    messages, rest = [], list(texts)
    while rest:
        count = lines_in_one_message(rest)
        assert count >= 1
        messages.append(rest[:count])
        rest = rest[count:]
    assert [line for message in messages for line in message] == texts
    for message in messages:
        assert len(message) == 1 or len("\n".join(message)) <= 4000


def test_lines_cut_exactly_at_the_limit() -> None:
    """Two lines of 1,999 and one newline make 3,999 characters: together; a third line of 1 makes 4,001: apart."""
    assert lines_in_one_message(["a" * 1999, "b" * 1999]) == 2
    assert lines_in_one_message(["a" * 2000, "b" * 1999]) == 2
    assert lines_in_one_message(["a" * 2000, "b" * 2000]) == 1
    assert lines_in_one_message(["a" * 1999, "b" * 1999, "c"]) == 2
    assert lines_in_one_message(["x" * 9000, "y"]) == 1


def test_a_closed_pacer_stops_a_waiting_call_and_refuses_the_next_but_lets_a_free_one_go() -> None:
    """Shutdown (``close(within=1)``): a post waiting 15 s for its channel's turn raises TooSoon within moments
    of the close instead of waiting the turn out (asserted by giving it 10 s of its 15); a post that would wait
    past the second left is refused at once; a post to a channel with no wait, and an unpaced call, still go."""
    pacer = SlackPacer(channel_interval=15.0)
    ran: list[str] = []

    async def post(channel: str, name: str, method: str = "chat.postMessage") -> None:
        async with pacer.turn(method, channel):
            ran.append(name)

    async def scenario() -> list[str]:
        await post("C1", "first")  # C1's next turn is 15 s away
        waiting = asyncio.create_task(post("C1", "second"))
        await asyncio.sleep(0.3)  # the second is waiting for its turn
        assert not waiting.done()
        pacer.close(within=1.0)
        with pytest.raises(TooSoon):
            await asyncio.wait_for(waiting, timeout=10)
        with pytest.raises(TooSoon):
            await post("C1", "third")
        await post("C2", "other channel")
        await post("", "views", method="views.open")
        return ran

    assert asyncio.run(scenario()) == ["first", "other channel", "views"]


def test_a_closed_pacer_still_lets_a_call_wait_for_a_turn_within_the_time_left() -> None:
    """``close(within=5)``: a post whose channel turn is 1 s away still waits for it and goes (the shutdown
    drain delivers what fits in its time); one whose turn is 6 s away (after the 5 s) is refused."""
    clock = Clock()
    pacer = _pacer(clock)
    pacer.close(within=5.0)
    first = asyncio.run(_calls(pacer, clock, "chat.postMessage", [0.0], "C1", 0.0))
    second = asyncio.run(_calls(pacer, clock, "chat.postMessage", [0.0], "C1", 0.0))
    assert [start for start, _ in first + second] == [0.0, 1.0]
    far_clock = Clock()
    far = _pacer(far_clock)
    far.channel_interval = 6.0
    asyncio.run(_calls(far, far_clock, "chat.postMessage", [0.0], "C2", 0.0))
    far.close(within=5.0)
    with pytest.raises(TooSoon):
        asyncio.run(_calls(far, far_clock, "chat.postMessage", [0.0], "C2", 0.0))
