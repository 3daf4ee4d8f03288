"""Delivering the outbox: a worker that claims due items, hands each to a deliverer, and retries.

The database commit is the truth; the Slack calls it implies are queued in the same transaction
(``bot.store.outbox``) and delivered here with exponential backoff, honouring ``Retry-After``.
A crash between commit and delivery loses nothing: the queue is resumed on start. Items that
can never succeed (``channel_not_found``...) are buried, logged and listed by ``incidentbot outbox``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import structlog

from bot.domain.effects import Effect, OutboxItem
from bot.errors import StoreUnavailable
from bot.store.repo import IncidentStore
from bot.usecases.shared import Clock, utc_now

log = structlog.get_logger("incidentbot.outbox")


class RetryLater(Exception):
    """Delivery failed for now (rate limit, 5xx, network); try again after ``after`` seconds at least."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class Deferred(Exception):
    """Not due yet (the item's own rule moved its time, e.g. a longer INCIDENT_ARCHIVE_AFTER): try again at
    ``until`` (UTC), not counted as a failure and not capped like a Retry-After."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


class Undeliverable(Exception):
    """Delivery can never succeed as asked (the channel is gone, the app lacks a scope...)."""


_DELIVERING_CLOCK: ContextVar[Clock | None] = ContextVar("outbox_delivering_clock", default=None)


def in_delivery() -> bool:
    """True inside an outbox delivery (the worker's task for an item): Slack calls made there are paced
    (``bot.slack.pacing``), those a person waits for are not."""
    return _DELIVERING_CLOCK.get() is not None


def delivery_now() -> datetime:
    """Now (UTC) as read by the clock of the worker delivering the current item (a replica's, a test's moved
    clock); the real clock outside a delivery. A deliverer whose item's time matters reads it here."""
    clock = _DELIVERING_CLOCK.get()
    return clock() if clock is not None else utc_now()


Deliver = Callable[[OutboxItem], Awaitable[None]]
DeliverBatch = Callable[[Sequence[OutboxItem]], Awaitable[int]]
"""Delivers the first items of a batch (oldest first, all of one kind and incident) in ONE accepted call and
returns how many it carried (at least 1); raises like a ``Deliver`` when that call failed (none carried)."""


@dataclass(frozen=True)
class Grouping:
    """Which items one delivery may carry besides the item claimed (its *followers*: pending items of the same
    kind further down its incident's lane, due now, read past items of a ``passable`` kind only).

    ``coalesce``: kinds whose delivery reads the incident's state as it is when delivered (a status message's
    edit): the followers committed before the claim are covered by it and are marked done with it, in the
    same transaction. ``batch``: kinds ``deliver_batch`` delivers together (lines for one channel: one
    message carrying several), up to ``max_batch`` per call; each is marked done only once the call that
    carried it was accepted. Items of other kinds are delivered one at a time, as before."""

    coalesce: frozenset[str] = frozenset()
    batch: frozenset[str] = frozenset()
    passable: frozenset[str] = frozenset()
    max_batch: int = 100


OnBuried = Callable[[OutboxItem, str], Sequence[Effect]]
"""Effects owed when an item is buried (the item, the reason): queued in the transaction that buries it."""


def retry_after_seconds(headers: Any, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` header of a 429 or 503 as seconds from ``now``, from any mapping of headers;
    None if absent or unreadable. Both forms of RFC 9110 section 10.2.3 are read: delay-seconds
    (``120``) and an HTTP-date (``Fri, 31 Dec 2027 23:59:59 GMT``, seconds until then, 0 if past).
    RetryPolicy caps what it honours."""
    for key in ("Retry-After", "retry-after"):
        value = headers.get(key) if hasattr(headers, "get") else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None:
            continue
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                return None
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    return None


def route_by_kind(deliverers: Mapping[str, Deliver]) -> Deliver:
    """One deliverer per kind prefix (``slack.``, ``pagerduty.``): the worker stays ignorant of destinations."""

    async def deliver(item: OutboxItem) -> None:
        target = deliverers.get(item.kind.split(".", 1)[0])
        if target is None:
            raise Undeliverable(f"no deliverer for outbox kind {item.kind!r}")
        await target(item)

    return deliver


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: 1 s, 2 s, 4 s ... capped at ``max_seconds`` (5 minutes).

    A temporary failure (``RetryLater``: 429, 5xx, network, a reply that is not Slack JSON) is
    retried for as long as it lasts: an outage of hours must not lose what an incident owes Slack.
    A delivery that crashes (an exception that is neither ``RetryLater`` nor ``Undeliverable``, i.e.
    a bug) is not the policy's business: the worker buries it after ``crash_attempts``.
    """

    base_seconds: float = 1.0
    max_seconds: float = 300.0
    max_retry_after_seconds: float = 900.0
    """A ``Retry-After`` (or rate-limit reset) further away than this (15 minutes) is honoured as this:
    a bogus or far-off value must not park an incident's lane for days; the worker asks again then."""

    def delay(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempts + 1``; at least ``retry_after`` (seconds) when given,
        up to ``max_retry_after_seconds`` (a negative, infinite or NaN one counts as none)."""
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** min(max(attempts - 1, 0), 60))
        jittered = backoff * (0.5 + random.random() / 2)
        honoured = retry_after if retry_after is not None and math.isfinite(retry_after) and retry_after > 0 else 0.0
        return max(jittered, min(honoured, self.max_retry_after_seconds))


class OutboxWorker:
    """Claims and delivers due outbox items; one item per incident and lane at a time, the rest in parallel."""

    def __init__(
        self,
        store: IncidentStore,
        deliver: Deliver,
        worker_id: str,
        clock: Clock = utc_now,
        policy: RetryPolicy = RetryPolicy(),
        batch_size: int = 20,
        lease: timedelta = timedelta(seconds=60),
        idle_poll_seconds: float = 5.0,
        crash_attempts: int = 3,
        on_buried: OnBuried | None = None,
        on_stalled: OnBuried | None = None,
        stalled_after: timedelta = timedelta(hours=1),
        grouping: Grouping = Grouping(),
        deliver_batch: DeliverBatch | None = None,
    ) -> None:
        """``crash_attempts``: an item whose deliverer raises something unexpected (neither RetryLater nor
        Undeliverable: a bug, such as an OverflowError on odd data) this many times is buried with the
        exception's type and message, whatever ``policy`` says about retrying temporary failures: a bug
        does not heal by waiting. Only crashes count (``OutboxItem.crashes``): an item retried through a
        long outage is not buried at its first crash.

        ``on_buried``: what a buried item owes (telling the incident's channel a page was not sent),
        queued in the same transaction as the burial.

        ``on_stalled``: what an item still failing temporarily ``stalled_after`` its creation owes (telling
        the incident's channel a filing is late), queued once per item: the notice is remembered (as the
        processed event ``outbox-stalled:<id>``) in the transaction that reschedules the item.

        ``grouping`` and ``deliver_batch``: which items one delivery carries (``Grouping``); without
        ``deliver_batch`` nothing is batched."""
        self.store = store
        self.grouping = grouping
        self.deliver_batch = deliver_batch
        self.deliver = deliver
        self.worker_id = worker_id
        self.clock = clock
        self.policy = policy
        self.batch_size = batch_size
        self.lease = lease
        self.idle_poll_seconds = idle_poll_seconds
        self.crash_attempts = crash_attempts
        self.on_buried = on_buried
        self.on_stalled = on_stalled
        self.stalled_after = stalled_after
        self._wake = asyncio.Event()
        self._claimed_at: datetime | None = None  # the time of the last claim (UTC)
        self._stopping = False
        self._unrecorded: list[tuple[OutboxItem, Callable[[], object]]] = []
        """Outcomes of attempts made (a post Slack accepted, a failure to retry) that the database could not
        record at the time: recorded before anything new is claimed."""

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def resume(self) -> None:
        """On start: free the leases this worker id held before a crash, so nothing waits for them."""

        def release() -> int:
            with self.store.transaction() as uow:
                return uow.outbox.release_locks(self.worker_id)

        released = await asyncio.to_thread(release)
        if released:
            log.info("outbox_resumed", worker=self.worker_id, released=released)

    async def run_forever(self) -> None:
        """Deliver until ``stop()``; polls at least every ``idle_poll_seconds`` (other replicas enqueue too)."""
        await self.resume()
        while not self._stopping:
            try:
                delivered = await self.run_once()
            except Exception:  # the database may be restarting: keep the worker alive
                log.exception("outbox_cycle_failed", worker=self.worker_id)
                delivered = 0
            if delivered == 0 and not self._stopping:
                await self._sleep_until_woken()

    async def _sleep_until_woken(self) -> None:
        """Until something is enqueued (``wake``), the earliest scheduled item falls due (a 429's ``Retry-After``
        of 1 s is retried after 1 s, not at the next poll), or ``idle_poll_seconds`` pass."""
        timeout = self.idle_poll_seconds
        try:  # scheduled after the last claim's time: an item that fell due since is not missed
            due = await asyncio.to_thread(self._next_attempt_after, self._claimed_at or self.clock())
        except Exception:  # the database may be restarting: poll as usual
            log.exception("outbox_schedule_read_failed", worker=self.worker_id)
            due = None
        if due is not None:
            timeout = min(timeout, max(0.0, (due - self.clock()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)
        self._wake.clear()

    def _next_attempt_after(self, after: datetime) -> datetime | None:
        with self.store.transaction(readonly=True) as uow:
            return uow.outbox.next_attempt_after(after)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """Record the outcomes kept from earlier attempts, then claim one batch and deliver it; returns how many
        items were attempted. Raises StoreUnavailable while the database cannot record a kept outcome."""
        await self._record_kept()
        claimed = await asyncio.to_thread(self._claim)
        if claimed:
            await asyncio.gather(*(self._attempt(item, followers) for item, followers in claimed))
        return len(claimed)

    async def drain(self, timeout: float) -> int:
        """Deliver everything due now (used on shutdown and in tests); returns the items still pending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await self.run_once() == 0:
                break
        return await asyncio.to_thread(self.pending_count)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is due or in delivery (another task delivers); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await asyncio.to_thread(self._outstanding) == 0:
                return True
            self.wake()
            await asyncio.sleep(0.02)
        return False

    def _outstanding(self) -> int:
        with self.store.transaction(readonly=True) as uow:
            return uow.outbox.count_outstanding(self.clock())

    def pending_count(self) -> int:
        with self.store.transaction(readonly=True) as uow:
            return uow.outbox.count_pending()

    def _claim(self) -> list[tuple[OutboxItem, list[OutboxItem]]]:
        """Lease a batch of due items, each with the followers its delivery may carry (``Grouping``), read in
        the same transaction: only followers committed before the delivery reads the incident are carried."""
        now, grouping = self.clock(), self.grouping
        self._claimed_at = now
        with self.store.transaction() as uow:
            items = uow.outbox.claim(now, self.worker_id, self.lease, self.batch_size)
            claimed: list[tuple[OutboxItem, list[OutboxItem]]] = []
            for item in items:
                groups = item.kind in grouping.coalesce or (
                    item.kind in grouping.batch and self.deliver_batch is not None
                )
                limit = grouping.max_batch - 1 if item.kind in grouping.batch else self.lane_scan
                followers = uow.outbox.followers(item, item.kind, grouping.passable, now, limit) if groups else []
                claimed.append((item, followers))
            return claimed

    lane_scan = 200
    """The most superseded followers one coalescing delivery marks done (the rest, if any, go next time)."""

    async def _record(self, item: OutboxItem, record: Callable[[], object]) -> None:
        """Record an attempt's outcome; when the database is unavailable (locked past the busy timeout, a
        PostgreSQL restart) the outcome is kept and recorded at the next cycle, before any claim. Without that
        the item kept its lease until it expired (60 s) and was then delivered again: a line Slack had already
        posted was posted twice, and a failure's retry waited a minute instead of its backoff."""
        try:
            await asyncio.to_thread(record)
        except StoreUnavailable as exc:
            log.warning(
                "outbox_outcome_kept", item=item.id, kind=item.kind, incident=_incident(item), reason=str(exc)[:200]
            )
            self._unrecorded.append((item, record))

    @property
    def unrecorded(self) -> list[OutboxItem]:
        """The items whose last attempt's outcome the database has not recorded yet (kept by ``_record``)."""
        return [item for item, _ in self._unrecorded]

    async def _record_kept(self) -> None:
        while self._unrecorded:
            item, record = self._unrecorded[0]
            await asyncio.to_thread(record)
            self._unrecorded.pop(0)
            log.info("outbox_outcome_recorded", item=item.id, kind=item.kind, incident=_incident(item))

    async def _attempt(self, item: OutboxItem, followers: Sequence[OutboxItem] = ()) -> None:
        _DELIVERING_CLOCK.set(self.clock)  # this item's task has a context of its own
        carried: list[OutboxItem] = []
        try:
            if followers and item.kind in self.grouping.batch and self.deliver_batch is not None:
                count = await self.deliver_batch([item, *followers])
                carried = list(followers[: max(count, 1) - 1])
            else:
                await self.deliver(item)
                carried = list(followers) if item.kind in self.grouping.coalesce else []
        except RetryLater as exc:  # temporary: retried for as long as it lasts
            await self._record(item, functools.partial(self._retry, item, exc.reason, exc.after))
        except Deferred as exc:
            await self._record(item, functools.partial(self._defer, item, exc.reason, exc.until))
        except Undeliverable as exc:
            await self._record(item, functools.partial(self._bury, item, str(exc)))
        except Exception as exc:  # a bug in a deliverer must not stall the queue for ever
            reason = f"unexpected {type(exc).__name__} in the deliverer: {exc}"[:500]
            log.exception("outbox_delivery_crashed", item=item.id, kind=item.kind, incident=_incident(item))
            crashes = item.crashes + 1
            if crashes >= self.crash_attempts:
                await self._record(
                    item, functools.partial(self._bury, item, f"gave up after {crashes} crashes: {reason}")
                )
            else:
                await self._record(item, functools.partial(self._retry, item, reason, None, crashed=True))
        else:
            await self._record(item, functools.partial(self._complete, item, carried))

    def _complete(self, item: OutboxItem, carried: Sequence[OutboxItem] = ()) -> None:
        with self.store.transaction() as uow:
            uow.outbox.complete(item.id, [c.id for c in carried])
        if carried:
            log.info(
                "outbox_delivered_together",
                item=item.id,
                kind=item.kind,
                incident=_incident(item),
                carried=len(carried),
                batched=item.kind in self.grouping.batch,
            )
        else:
            log.debug("outbox_delivered", item=item.id, kind=item.kind, incident=_incident(item))

    def _retry(self, item: OutboxItem, reason: str, retry_after: float | None, *, crashed: bool = False) -> None:
        now = self.clock()
        delay = self.policy.delay(item.attempts, retry_after)
        stalled = self.on_stalled is not None and now - item.created_at >= self.stalled_after
        notice = list(self.on_stalled(item, reason)) if stalled and self.on_stalled is not None else []
        told = False
        with self.store.transaction() as uow:
            held = uow.outbox.reschedule(
                item.id, now + timedelta(seconds=delay), reason, now, crashed=crashed, holder=self.worker_id
            )
            if held and notice and uow.events.remember(f"outbox-stalled:{item.id}", now):
                uow.outbox.enqueue(notice, now)
                told = True
        if told:
            self.wake()
            log.warning("outbox_item_stalled", item=item.id, kind=item.kind, incident=_incident(item), reason=reason)
        log.info(
            "outbox_retry_scheduled",
            item=item.id,
            kind=item.kind,
            incident=_incident(item),
            attempts=item.attempts,
            delay_seconds=round(delay, 2),
            reason=reason,
        )

    def _defer(self, item: OutboxItem, reason: str, until: datetime) -> None:
        with self.store.transaction() as uow:
            uow.outbox.reschedule(item.id, until, reason, self.clock(), holder=self.worker_id)
        log.info(
            "outbox_item_deferred", item=item.id, kind=item.kind, incident=_incident(item), until=until.isoformat()
        )

    def _bury(self, item: OutboxItem, reason: str) -> None:
        now = self.clock()
        follow_ups = list(self.on_buried(item, reason)) if self.on_buried is not None else []
        with self.store.transaction() as uow:
            held = uow.outbox.bury(item.id, reason, now, holder=self.worker_id)
            if held and follow_ups:
                uow.outbox.enqueue(follow_ups, now)
        if held and follow_ups:
            self.wake()
        log.warning(
            "outbox_item_undeliverable",
            item=item.id,
            kind=item.kind,
            incident=_incident(item),
            attempts=item.attempts,
            reason=reason,
        )


def _incident(item: OutboxItem) -> str | None:
    return f"INC-{item.incident_number}" if item.incident_number is not None else None
