"""The outbox on SQLite and PostgreSQL: atomic with transitions, ordered per incident, retried, buried."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import timedelta
from typing import Any

import pytest

from bot.app import UseCases
from bot.cli.demo import ReplayClock
from bot.domain.effects import Effect, OutboxItem
from bot.domain.grammar import parse_command
from bot.errors import StoreUnavailable, TransitionError
from bot.outbox.worker import OutboxWorker, RetryLater, RetryPolicy, Undeliverable
from bot.store.repo import IncidentStore
from bot.usecases.shared import Actor, Outcome

ALICE = Actor("U0ALICE", "alice")


def _plan(outcome: Outcome) -> list[Effect]:
    number = outcome.incident.number
    return [Effect("post", {"text": e.kind.value}, number) for e in outcome.entries]


def _run(usecases: UseCases, text: str, plan: object = _plan) -> Outcome:
    return usecases.incidents.run(parse_command(text), ALICE, plan=plan)  # type: ignore[arg-type]


class Recorder:
    """A deliverer that records what it was given and can be told to fail."""

    def __init__(self) -> None:
        self.delivered: list[tuple[int | None, str]] = []
        self.failures: dict[str, Exception] = {}

    async def __call__(self, item: OutboxItem) -> None:
        failure = self.failures.get(item.payload.get("text", ""))
        if failure is not None:
            raise failure
        self.delivered.append((item.incident_number, str(item.payload.get("text"))))


def _worker(usecases: UseCases, deliver: Recorder, clock: ReplayClock, worker_id: str = "w1") -> OutboxWorker:
    return OutboxWorker(
        usecases.store,
        deliver,
        worker_id,
        clock=clock,
        policy=RetryPolicy(base_seconds=1, max_seconds=8),
    )


class TestEnqueue:
    def test_effects_commit_with_the_transition(self, usecases: UseCases) -> None:
        """A committed transition leaves its effects queued, in order."""
        _run(usecases, "declare sev2 Checkout latency")
        _run(usecases, "INC-1 note looking at the database")
        items = usecases.outbox.items()
        assert [i.payload["text"] for i in items] == ["declared", "note"]
        assert all(i.incident_number == 1 and i.status == "pending" for i in items)

    def test_refused_transition_queues_nothing(self, usecases: UseCases) -> None:
        """When the domain refuses a command, no effect is queued: the outbox follows the commit."""
        _run(usecases, "declare sev2 Checkout latency")
        _run(usecases, "INC-1 resolve")
        before = len(usecases.outbox.items())
        with pytest.raises(TransitionError):
            _run(usecases, "INC-1 resolve")
        assert len(usecases.outbox.items()) == before

    def test_coalescing_effect_is_not_queued_twice(self, usecases: UseCases) -> None:
        """Two refreshes of the same incident waiting together collapse into one."""
        usecases.outbox.enqueue([Effect("refresh", {}, 1, coalesce=True), Effect("refresh", {}, 1, coalesce=True)])
        assert len(usecases.outbox.items()) == 1


class TestWorker:
    @pytest.mark.parametrize("scheduled_by", ["retry_after", "not_before"])
    def test_an_item_scheduled_a_second_ahead_is_delivered_when_due_not_at_the_next_poll(
        self, usecases: UseCases, clock: ReplayClock, scheduled_by: str
    ) -> None:
        """A 429 with ``Retry-After: 1`` (or an item queued with ``not_before`` 1 s): with nothing else enqueued,
        the worker sleeps until the item falls due, not until its next poll. The poll is set to 60 s here, so a
        worker waking on its poll delivers after 60 s; a worker waking at the item's time delivers a second or so
        after the test moves the clock to it (20 s allowed for a loaded machine)."""
        recorder = Recorder()
        if scheduled_by == "retry_after":
            usecases.outbox.enqueue([Effect("post", {"text": "refused once"}, 1)])
            recorder.failures["refused once"] = RetryLater("chat.postMessage: ratelimited (HTTP 429)", after=1.0)
        else:
            usecases.outbox.enqueue([Effect("post", {"text": "refused once"}, 1, not_before=timedelta(seconds=1))])
        worker = OutboxWorker(
            usecases.store, recorder, "w1", clock=clock, policy=RetryPolicy(base_seconds=1, max_seconds=8)
        )
        worker.idle_poll_seconds = 60.0

        async def scenario() -> float:
            loop = asyncio.get_running_loop()
            asleep = asyncio.Event()
            sleep = worker._sleep_until_woken

            async def going_to_sleep() -> None:  # observed, so the clock moves only once the worker sleeps
                asleep.set()
                await sleep()

            worker._sleep_until_woken = going_to_sleep  # type: ignore[method-assign]
            running = asyncio.create_task(worker.run_forever())
            try:
                if scheduled_by == "retry_after":
                    while not usecases.outbox.items()[0].last_error:  # refused once, rescheduled 1 s on
                        await asyncio.sleep(0.02)
                    del recorder.failures["refused once"]
                    asleep.clear()
                await asleep.wait()
                [item] = usecases.outbox.items()
                assert item.next_attempt_at == clock.now + timedelta(seconds=1)
                started = loop.time()
                clock.now += timedelta(seconds=1)
                while not recorder.delivered and loop.time() - started < 20:
                    await asyncio.sleep(0.02)
                return loop.time() - started
            finally:
                worker.stop()
                await running

        waited = asyncio.run(scenario())
        assert recorder.delivered == [(1, "refused once")], f"not delivered {waited:.1f} s after it fell due"

    def test_delivers_in_order_per_incident_and_deletes(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Items of one incident are delivered oldest first; delivered items leave the table."""
        _run(usecases, "declare sev2 First")
        _run(usecases, "declare sev3 Second")
        _run(usecases, "INC-1 note one")
        _run(usecases, "INC-2 note two")
        _run(usecases, "INC-1 note three")
        recorder = Recorder()
        remaining = asyncio.run(_worker(usecases, recorder, clock).drain(timeout=10))
        assert remaining == 0
        first = [text for number, text in recorder.delivered if number == 1]
        assert first == ["declared", "note", "note"]
        assert len(recorder.delivered) == 5
        assert usecases.outbox.items() == []

    def test_retry_later_backs_off_and_blocks_later_items(self, usecases: UseCases, clock: ReplayClock) -> None:
        """A 429-like failure reschedules after Retry-After, and the incident's later items wait for it."""
        _run(usecases, "declare sev2 First")
        _run(usecases, "INC-1 note after")
        recorder = Recorder()
        recorder.failures["declared"] = RetryLater("ratelimited", after=30)
        worker = _worker(usecases, recorder, clock)
        asyncio.run(worker.drain(timeout=5))
        assert recorder.delivered == []
        pending = usecases.outbox.items()
        assert pending[0].last_error == "ratelimited"
        assert pending[0].next_attempt_at >= clock.now + timedelta(seconds=30)
        del recorder.failures["declared"]
        clock.now += timedelta(seconds=31)
        asyncio.run(worker.drain(timeout=5))
        assert recorder.delivered == [(1, "declared"), (1, "note")]

    def test_undeliverable_is_buried_and_does_not_block(self, usecases: UseCases, clock: ReplayClock) -> None:
        """channel_not_found-like failures are kept as dead items; the incident's later items still go."""
        _run(usecases, "declare sev2 First")
        _run(usecases, "INC-1 note after")
        recorder = Recorder()
        recorder.failures["declared"] = Undeliverable("channel_not_found")
        asyncio.run(_worker(usecases, recorder, clock).drain(timeout=5))
        assert recorder.delivered == [(1, "note")]
        dead = usecases.outbox.items("dead")
        assert [d.last_error for d in dead] == ["channel_not_found"]
        assert usecases.outbox.revive(dead[0].id)
        del recorder.failures["declared"]
        asyncio.run(_worker(usecases, recorder, clock).drain(timeout=5))
        assert (1, "declared") in recorder.delivered

    def test_a_crashing_delivery_is_buried_after_max_attempts(self, usecases: UseCases, clock: ReplayClock) -> None:
        """A deliverer that crashes (a bug, not a Slack answer) is buried after the worker's 3 crash attempts."""
        usecases.outbox.enqueue([Effect("post", {"text": "buggy"}, None)])
        recorder = Recorder()
        recorder.failures["buggy"] = KeyError("channel")
        worker = _worker(usecases, recorder, clock)
        for _ in range(4):
            asyncio.run(worker.drain(timeout=5))
            clock.now += timedelta(seconds=60)
        dead = usecases.outbox.items("dead")
        assert [d.last_error for d in dead] == [
            "gave up after 3 crashes: unexpected KeyError in the deliverer: 'channel'"
        ]

    def test_a_temporary_failure_is_retried_for_as_long_as_slack_is_down(
        self, usecases: UseCases, clock: ReplayClock
    ) -> None:
        """40 temporary failures in a row (a Slack outage of over an hour at the production policy's 5-minute
        cap), then success: delivered, never buried, and no wait ever longer than 5 minutes."""
        usecases.outbox.enqueue([Effect("post", {"text": "create channel"}, 1), Effect("post", {"text": "invite"}, 1)])
        recorder = Recorder()
        recorder.failures["create channel"] = RetryLater("chat.postMessage: no Slack answer (HTTP 503, temporary)")
        worker = OutboxWorker(usecases.store, recorder, "w1", clock=clock)  # the production RetryPolicy
        started = clock.now
        waits: list[timedelta] = []
        for _ in range(40):
            asyncio.run(worker.drain(timeout=5))
            [first, _] = usecases.outbox.items()
            assert first.status == "pending"
            waits.append(first.next_attempt_at - clock.now)
            clock.now = first.next_attempt_at
        assert usecases.outbox.items("dead") == []
        assert max(waits) <= timedelta(minutes=5)
        assert clock.now - started > timedelta(hours=1)
        del recorder.failures["create channel"]
        asyncio.run(worker.drain(timeout=5))
        assert recorder.delivered == [(1, "create channel"), (1, "invite")]
        assert usecases.outbox.items() == []

    def test_backoff_is_capped_at_five_minutes_however_many_attempts(self) -> None:
        """The production policy's delay after 1, 10, 100 and 10,000 attempts: at most 300 s, never an overflow."""
        policy = RetryPolicy()
        assert policy.delay(1, None) <= 1.0
        for attempts in (10, 100, 10_000):
            assert 150.0 <= policy.delay(attempts, None) <= 300.0
        assert policy.delay(10_000, 900.0) == 900.0

    def test_a_crashing_deliverer_is_buried_with_its_reason_even_if_the_policy_retries_for_ever(
        self, usecases: UseCases, clock: ReplayClock
    ) -> None:
        """A deliverer raising OverflowError on every attempt (a bug, not an outage): with a policy that
        would retry for 1000 attempts, the item is tried 3 times, then dead with a readable reason."""
        usecases.outbox.enqueue([Effect("post", {"text": "year one"}, 1)])
        recorder = Recorder()
        recorder.failures["year one"] = OverflowError("date value out of range")
        policy = RetryPolicy(base_seconds=1, max_seconds=8)
        worker = OutboxWorker(usecases.store, recorder, "w1", clock=clock, policy=policy)
        for _ in range(6):
            asyncio.run(worker.drain(timeout=5))
            clock.now += timedelta(seconds=60)
        dead = usecases.outbox.items("dead")
        assert usecases.outbox.items("pending") == []
        assert [(d.attempts, d.last_error) for d in dead] == [
            (3, "gave up after 3 crashes: unexpected OverflowError in the deliverer: date value out of range")
        ]

    @pytest.mark.parametrize("outage_attempts", [2, 20])
    def test_an_item_retried_through_an_outage_is_buried_after_three_crashes_not_at_its_first(
        self, usecases: UseCases, clock: ReplayClock, outage_attempts: int
    ) -> None:
        """Temporary failures do not count as crashes: after 2 or 20 tries through an outage, a deliverer
        that then crashes is retried twice more and buried at its third crash, attempts 3 higher."""
        usecases.outbox.enqueue([Effect("post", {"text": "publish"}, 1)])
        recorder = Recorder()
        recorder.failures["publish"] = RetryLater("HTTP 503, temporary")
        worker = OutboxWorker(
            usecases.store, recorder, "w1", clock=clock, policy=RetryPolicy(base_seconds=1, max_seconds=8)
        )

        def attempt() -> OutboxItem:
            asyncio.run(worker.drain(timeout=5))
            clock.now += timedelta(seconds=60)
            [item] = usecases.outbox.items()
            return item

        for _ in range(outage_attempts):
            attempt()
        recorder.failures["publish"] = KeyError("space")
        assert [(i.status, i.crashes) for i in (attempt(), attempt())] == [("pending", 1), ("pending", 2)]
        dead = attempt()
        assert (dead.status, dead.attempts, dead.last_error) == (
            "dead",
            outage_attempts + 3,
            "gave up after 3 crashes: unexpected KeyError in the deliverer: 'space'",
        )
        assert usecases.outbox.revive(dead.id)
        assert [(i.status, i.attempts, i.crashes) for i in usecases.outbox.items()] == [("pending", 0, 0)]

    def test_restarted_worker_resumes_its_leased_items(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Items leased by a worker that died are released when a worker with the same id starts."""
        usecases.outbox.enqueue([Effect("post", {"text": "orphan"}, 1)])
        with usecases.store.transaction() as uow:
            claimed = uow.outbox.claim(clock.now, "w1", timedelta(minutes=5), 10)
        assert len(claimed) == 1
        recorder = Recorder()
        worker = _worker(usecases, recorder, clock)
        asyncio.run(worker.drain(timeout=2))
        assert recorder.delivered == []
        asyncio.run(worker.resume())
        asyncio.run(worker.drain(timeout=2))
        assert recorder.delivered == [(1, "orphan")]


class TestConcurrentClaims:
    def test_two_workers_never_deliver_an_item_twice(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Workers racing on the same queue (replicas) deliver each item exactly once."""
        usecases.outbox.enqueue([Effect("post", {"text": f"item-{n}"}, n % 7) for n in range(60)])
        recorders = [Recorder(), Recorder()]
        barrier = threading.Barrier(2)

        def drain(index: int) -> None:
            barrier.wait()
            asyncio.run(_worker(usecases, recorders[index], clock, worker_id=f"w{index}").drain(timeout=20))

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        delivered = [text for r in recorders for _, text in r.delivered]
        assert sorted(delivered) == sorted(f"item-{n}" for n in range(60))


class _Flaky:
    """The worker's store, made unavailable on demand: every transaction raises StoreUnavailable while
    ``away`` (as a SQLite lock held past the busy timeout, or a PostgreSQL restart, makes the real one do)."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store
        self.away = False

    def transaction(self, readonly: bool = False) -> Any:
        if self.away:
            raise StoreUnavailable("database is locked")
        return self.store.transaction(readonly)


async def _cycle(worker: OutboxWorker) -> None:
    """One turn of ``run_forever``'s loop: a cycle that fails on the database is logged and the loop goes on."""
    with contextlib.suppress(StoreUnavailable):
        await worker.run_once()


class TestDatabaseAwayRightAfterAnAttempt:
    """The database stops answering between Slack's answer and the worker's record of it (the fresh tester's
    25 s SQLite lock during a channel's creation). The outcome is recorded once the database is back, before
    anything is claimed: nothing waits for the 60 s lease to expire, and nothing Slack accepted is sent again."""

    LEASE_EXPIRED = timedelta(seconds=61)

    def _worker(self, usecases: UseCases, deliver: Recorder, clock: ReplayClock, flaky: _Flaky) -> OutboxWorker:
        return OutboxWorker(
            flaky,  # type: ignore[arg-type]
            deliver,
            "w1",
            clock=clock,
            policy=RetryPolicy(base_seconds=1, max_seconds=8),
        )

    def test_a_line_slack_posted_is_not_posted_again_when_its_completion_waited_for_the_database(
        self, usecases: UseCases, clock: ReplayClock
    ) -> None:
        usecases.outbox.enqueue([Effect("post", {"text": "line"}, 1)])
        flaky = _Flaky(usecases.store)

        class GoneAfterPosting(Recorder):
            async def __call__(self, item: OutboxItem) -> None:
                await super().__call__(item)
                flaky.away = True

        recorder = GoneAfterPosting()
        worker = self._worker(usecases, recorder, clock, flaky)
        [queued] = usecases.outbox.items()
        asyncio.run(_cycle(worker))
        asyncio.run(_cycle(worker))  # still away
        assert [item.id for item in worker.unrecorded] == [queued.id]  # what serve logs if it stops now
        flaky.away = False
        clock.now += self.LEASE_EXPIRED
        asyncio.run(_cycle(worker))
        asyncio.run(_cycle(worker))
        assert recorder.delivered == [(1, "line")]
        assert usecases.outbox.items() == []
        assert worker.unrecorded == []

    def test_a_failure_is_retried_after_its_backoff_once_the_database_is_back_not_after_the_lease(
        self, usecases: UseCases, clock: ReplayClock
    ) -> None:
        usecases.outbox.enqueue([Effect("post", {"text": "line"}, 1)])
        flaky = _Flaky(usecases.store)

        class FailsOnceThenGone(Recorder):
            async def __call__(self, item: OutboxItem) -> None:
                if not flaky.away and item.attempts == 1:
                    flaky.away = True
                    raise RetryLater("chat.postMessage: HTTP 503")
                await super().__call__(item)

        recorder = FailsOnceThenGone()
        worker = self._worker(usecases, recorder, clock, flaky)
        asyncio.run(_cycle(worker))
        flaky.away = False
        asyncio.run(_cycle(worker))  # records the retry: due in at most 1 s (base 1 s, jitter 0.5-1)
        clock.now += timedelta(seconds=2)
        asyncio.run(_cycle(worker))
        assert recorder.delivered == [(1, "line")]
        assert usecases.outbox.items() == []

    def test_a_retry_recorded_after_another_worker_claimed_the_item_leaves_that_workers_lease(
        self, usecases: UseCases, clock: ReplayClock
    ) -> None:
        usecases.outbox.enqueue([Effect("post", {"text": "line"}, 1)])
        flaky = _Flaky(usecases.store)

        class FailsThenGone(Recorder):
            async def __call__(self, item: OutboxItem) -> None:
                flaky.away = True
                raise RetryLater("chat.postMessage: HTTP 503")

        worker = self._worker(usecases, FailsThenGone(), clock, flaky)
        asyncio.run(_cycle(worker))
        clock.now += self.LEASE_EXPIRED
        with usecases.store.transaction() as uow:  # another replica, the database back for it first
            assert [i.payload["text"] for i in uow.outbox.claim(clock.now, "w2", timedelta(seconds=60), 10)] == ["line"]
        flaky.away = False
        asyncio.run(_cycle(worker))  # w1's late retry must not free w2's lease
        with usecases.store.transaction() as uow:
            assert uow.outbox.claim(clock.now + timedelta(seconds=2), "w3", timedelta(seconds=60), 10) == []
