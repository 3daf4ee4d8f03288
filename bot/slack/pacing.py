"""Pacing the Web API calls the outbox makes, so that Slack's rate limits are met before Slack enforces them.

Slack limits each Web API method "per method per workspace per app" by a **tier** (docs.slack.dev,
"Rate limits"): Tier 1 1+ calls per minute, Tier 2 20+, Tier 3 50+, Tier 4 100+, and a *special* tier
for ``chat.postMessage``: about one message per second per channel ("short bursts >1 allowed ... no
guarantee"). Beyond a limit Slack answers HTTP 429 with ``Retry-After`` (seconds) and ``ratelimited``.

``SlackPacer`` keeps, in this process, one token bucket per method (``TIERS`` gives each method's tier,
from Slack's method reference) and one per channel for ``chat.postMessage``:

* a tier of N calls per minute gets a bucket of ``N // 5`` calls (at least 1) refilled at ``N - N // 5``
  per minute, so that no window of 60 s holds more than N calls (the burst plus a minute's refill);
* ``chat.postMessage`` to one channel waits until 1 s after the previous post **to that channel was
  answered** (no burst: Slack does not promise one), which keeps two posts' arrivals at Slack at least
  1 s apart whatever the network's delay;
* a 429 holds the method (and the channel, for a post) for its ``Retry-After``: the calls that follow wait
  for it instead of being refused too. The refused call itself is retried by the outbox after it.

Interactive calls (``views.open``: its trigger expires after 3 s; ``views.publish``, ``chat.postEphemeral``,
``auth.test``) are not paced. The buckets live in one process: replicas sharing an outbox each pace their own
calls (N replicas may together reach N times a tier; Slack's 429 then still holds them back).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
"""Calls per minute of each Web API tier (docs.slack.dev/apis/web-api/rate-limits: "Tier 1: 1+ per minute",
"Tier 2: 20+", "Tier 3: 50+", "Tier 4: 100+"): the floor of each tier, which is what the pacer keeps to."""

TIERS = {
    "conversations.create": 2,
    "conversations.setTopic": 2,
    "conversations.archive": 2,
    "conversations.unarchive": 2,
    "pins.add": 2,
    "usergroups.users.list": 2,
    "chat.update": 3,
    "conversations.invite": 3,
    "conversations.join": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "users.info": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "chat.getPermalink": 4,
}
"""The rate-limit tier of each method the outbox calls, as Slack's method reference gives it (the "Rate limits"
line of docs.slack.dev/reference/methods/<method>; cross-checked with the tiers slack-morphism encodes per method).
``chat.getPermalink`` is "Special" there (hundreds per minute): paced as Tier 4, which is below it."""

UNPACED = frozenset({"views.open", "views.publish", "chat.postEphemeral", "auth.test"})
"""Interactive calls: a person waits for them (a modal's trigger_id expires after 3 s), so they are never held."""

CHANNEL_POST_METHOD = "chat.postMessage"
CHANNEL_POST_INTERVAL_SECONDS = 1.0
"""Slack's special limit of chat.postMessage: one message per second per channel (docs.slack.dev, "Rate limits",
"Posting messages: 1 per second")."""

CLOSE_CHECK_SECONDS = 0.1
"""How often a waiting call looks whether the pacer was closed (the process is stopping)."""

DEFAULT_MAX_WAIT_SECONDS = 20.0
"""The longest a delivery waits for its turn before giving the item back to the outbox (``TooSoon``): a third of
the outbox lease (60 s), so a held item never outlives its lease."""


class TooSoon(Exception):
    """The call's turn is more than the pacer's ``max_wait`` away: ``after`` seconds (to retry then, not now)."""

    def __init__(self, method: str, after: float) -> None:
        super().__init__(f"{method}: paced, next call in {after:.1f} s")
        self.method = method
        self.after = after


@dataclass
class _Bucket:
    """A token bucket: ``capacity`` calls at once, refilled at ``rate`` calls per second; ``held_until``
    (monotonic seconds): no call before it (a Retry-After)."""

    capacity: float
    rate: float
    tokens: float
    stamp: float
    held_until: float = 0.0

    def wait(self, now: float) -> float:
        """Seconds until a call may start (0: now), without taking a token."""
        self._refill(now)
        short = 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate
        return max(short, self.held_until - now, 0.0)

    def take(self, now: float) -> None:
        """Take one token (the bucket may go below zero: calls waiting for their turn hold reservations)."""
        self._refill(now)
        self.tokens -= 1.0

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + max(now - self.stamp, 0.0) * self.rate)
        self.stamp = now


def tier_bucket(per_minute: int, now: float) -> _Bucket:
    """A bucket that lets no 60 s window hold more than ``per_minute`` calls: a burst of ``per_minute // 5``
    (at least 1) and ``per_minute`` less that burst per minute after it (Tier 1: one call per minute)."""
    burst = max(1, per_minute // 5)
    refill = max(per_minute - burst, 1) / 60.0
    return _Bucket(float(burst), refill, float(burst), now)


@dataclass
class _Channel:
    """One channel's posts: one at a time, each ``interval`` after the previous one was answered."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    free_at: float = 0.0


class SlackPacer:
    """Spaces Web API calls by method tier and ``chat.postMessage`` by channel (see the module docstring)."""

    def __init__(
        self,
        *,
        max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
        channel_interval: float = CHANNEL_POST_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        """``max_wait`` (seconds): a call whose turn is further away raises ``TooSoon``; ``channel_interval``
        (seconds) between two posts to one channel; ``clock``/``sleep``: monotonic seconds (tests move them)."""
        self.max_wait = max_wait
        self.channel_interval = channel_interval
        self._clock = clock
        self._sleep = sleep
        self._methods: dict[str, _Bucket] = {}
        self._channels: dict[str, _Channel] = {}
        self.waited_seconds = 0.0
        """Seconds spent waiting for a turn so far (the bench reports it)."""
        self._closing_at: float | None = None

    def close(self, within: float) -> None:
        """The process is stopping and has ``within`` seconds left to deliver: from now on a call whose turn comes
        later than that raises ``TooSoon`` at once, and so does a call already waiting for such a turn (within
        ``CLOSE_CHECK_SECONDS``). Its outbox item is retried at that turn after the restart, so shutdown's drain
        (OUTBOX_DRAIN_SECONDS) is not held by Slack's pace; calls whose turn comes sooner still go."""
        self._closing_at = self._clock() + max(within, 0.0)

    def _too_late(self, turn: float) -> bool:
        """``turn`` (the clock's seconds) comes after a closed pacer's last moment."""
        return self._closing_at is not None and turn > self._closing_at

    def _bucket(self, method: str, now: float) -> _Bucket | None:
        tier = TIERS.get(method)
        if tier is None:
            return None
        if method not in self._methods:
            self._methods[method] = tier_bucket(TIER_PER_MINUTE[tier], now)
        return self._methods[method]

    @asynccontextmanager
    async def turn(self, method: str, channel: str | None = None) -> AsyncIterator[None]:
        """Wait for ``method``'s turn (and ``channel``'s, for a post), run the body, note when it was answered.

        Raises ``TooSoon`` (before any call) when the turn is more than ``max_wait`` away."""
        if method in UNPACED:
            yield
            return
        if method == CHANNEL_POST_METHOD and channel:
            lane = self._channels.setdefault(channel, _Channel())
            async with lane.lock:
                await self._wait(method, lambda now: lane.free_at - now)
                try:
                    yield
                finally:
                    lane.free_at = max(lane.free_at, self._clock() + self.channel_interval)
            return
        await self._wait(method, lambda now: 0.0)
        yield

    async def _wait(self, method: str, extra: Callable[[float], float]) -> None:
        now = self._clock()
        bucket = self._bucket(method, now)
        wait = max(bucket.wait(now) if bucket is not None else 0.0, extra(now), 0.0)
        if wait > self.max_wait or self._too_late(now + wait):
            raise TooSoon(method, wait)
        if bucket is not None:
            bucket.take(now)
        if wait > 0:
            self.waited_seconds += wait
            await self._sleep_for(wait)
            if self._too_late(now + wait):  # closed while it waited
                raise TooSoon(method, wait)

    async def _sleep_for(self, seconds: float) -> None:
        if self._sleep is not asyncio.sleep:  # a test's own sleep
            result = self._sleep(seconds)
            if asyncio.iscoroutine(result):
                await result
            return
        turn = self._clock() + seconds
        while not self._too_late(turn) and (left := turn - self._clock()) > 0:
            await asyncio.sleep(min(left, CLOSE_CHECK_SECONDS))

    def hold(self, method: str, channel: str | None, retry_after: float | None) -> None:
        """Slack answered 429 with ``retry_after`` seconds: no call of ``method`` (nor post to ``channel``)
        before then. A missing or unreadable Retry-After holds for 1 s."""
        seconds = retry_after if retry_after is not None and math.isfinite(retry_after) and retry_after > 0 else 1.0
        until = self._clock() + seconds
        bucket = self._bucket(method, self._clock())
        if bucket is not None:
            bucket.held_until = max(bucket.held_until, until)
        if method == CHANNEL_POST_METHOD and channel:
            lane = self._channels.setdefault(channel, _Channel())
            lane.free_at = max(lane.free_at, until)
