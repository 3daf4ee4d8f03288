"""The outbox's grouping on SQLite and PostgreSQL: a status refresh covers the same refreshes queued before it
was claimed (marked done with it), lines waiting for one incident go out in one call, and a row is marked done
only once the call that carried it was accepted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.app import UseCases
from bot.cli.demo import ReplayClock
from bot.domain.effects import Effect, OutboxItem
from bot.outbox.worker import Grouping, OutboxWorker, RetryLater, RetryPolicy

GROUPING = Grouping(
    coalesce=frozenset({"slack.refresh"}),
    batch=frozenset({"slack.post_line"}),
    passable=frozenset({"slack.refresh", "slack.post_line"}),
)


class Slack:
    """Records each call: single items by kind and text, batches as the texts they carried."""

    def __init__(self, per_call: int = 1000) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.per_call = per_call
        self.refuse_batches = 0

    async def deliver(self, item: OutboxItem) -> None:
        self.calls.append((item.kind, [str(item.payload.get("text", ""))]))

    async def deliver_batch(self, items: Sequence[OutboxItem]) -> int:
        if self.refuse_batches:
            self.refuse_batches -= 1
            raise RetryLater("ratelimited", after=1)
        carried = list(items[: self.per_call])
        self.calls.append(("batch", [str(i.payload["text"]) for i in carried]))
        return len(carried)


def _worker(usecases: UseCases, slack: Slack, clock: ReplayClock, name: str = "w1") -> OutboxWorker:
    return OutboxWorker(
        usecases.store,
        slack.deliver,
        name,
        clock=clock,
        policy=RetryPolicy(base_seconds=1, max_seconds=1),
        grouping=GROUPING,
        deliver_batch=slack.deliver_batch,
    )


def _line(text: str, number: int = 1) -> Effect:
    return Effect("slack.post_line", {"text": text}, number)


def _refresh(number: int = 1) -> Effect:
    return Effect("slack.refresh", {}, number)  # not coalesced at enqueue: several wait together


class TestGrouping:
    def test_refreshes_collapse_and_lines_batch_in_order(self, usecases: UseCases, clock: ReplayClock) -> None:
        """R, L1, R, L2, R, L3 for one incident: one refresh, then the three lines in one call, in order."""
        usecases.outbox.enqueue([_refresh(), _line("one"), _refresh(), _line("two"), _refresh(), _line("three")])
        slack = Slack()
        assert asyncio.run(_worker(usecases, slack, clock).drain(timeout=10)) == 0
        assert slack.calls == [("slack.refresh", [""]), ("batch", ["one", "two", "three"])]
        assert usecases.outbox.items() == []

    def test_a_line_does_not_pass_an_item_it_must_follow(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Another kind between lines (an invitation, an unarchive...) ends the batch: order kept around it."""
        effects = [_line("one"), _line("two"), Effect("slack.invite", {"text": "invite"}, 1), _line("three")]
        usecases.outbox.enqueue(effects)
        slack = Slack()
        asyncio.run(_worker(usecases, slack, clock).drain(timeout=10))
        assert slack.calls == [("batch", ["one", "two"]), ("slack.invite", ["invite"]), ("slack.post_line", ["three"])]

    def test_lines_of_other_incidents_are_not_mixed(self, usecases: UseCases, clock: ReplayClock) -> None:
        usecases.outbox.enqueue([_line("a1", 1), _line("b1", 2), _line("a2", 1), _line("b2", 2)])
        slack = Slack()
        asyncio.run(_worker(usecases, slack, clock).drain(timeout=10))
        assert sorted(texts for _, texts in slack.calls) == [["a1", "a2"], ["b1", "b2"]]

    def test_only_lines_the_accepted_call_carried_are_done(self, usecases: UseCases, clock: ReplayClock) -> None:
        """A call carrying 2 of 5 lines marks those 2 done; the other 3 wait for the next calls, none lost."""
        usecases.outbox.enqueue([_line(f"l{i}") for i in range(5)])
        slack = Slack(per_call=2)
        worker = _worker(usecases, slack, clock)
        asyncio.run(worker.run_once())
        assert [i.payload["text"] for i in usecases.outbox.items()] == ["l2", "l3", "l4"]
        asyncio.run(worker.drain(timeout=10))
        assert slack.calls == [("batch", ["l0", "l1"]), ("batch", ["l2", "l3"]), ("slack.post_line", ["l4"])]

    def test_a_refused_batch_marks_nothing_done(self, usecases: UseCases, clock: ReplayClock) -> None:
        """429 on the call: every line stays queued (the head rescheduled after Retry-After), then all go once."""
        usecases.outbox.enqueue([_line("one"), _line("two"), _line("three")])
        slack = Slack()
        slack.refuse_batches = 1
        worker = _worker(usecases, slack, clock)
        asyncio.run(worker.run_once())
        items = usecases.outbox.items()
        assert [(i.payload["text"], i.attempts) for i in items] == [("one", 1), ("two", 0), ("three", 0)]
        assert items[0].last_error == "ratelimited"
        clock.now = clock.now + (items[0].next_attempt_at - clock.now) * 2  # past its Retry-After
        asyncio.run(worker.drain(timeout=10))
        assert slack.calls == [("batch", ["one", "two", "three"])]
        assert usecases.outbox.items() == []

    def test_a_refresh_covers_only_what_was_queued_before_its_claim(
        self, usecases: UseCases, clock: ReplayClock
    ) -> None:
        """A refresh queued while one is being delivered is delivered too (it may show a newer state)."""
        usecases.outbox.enqueue([_refresh()])
        slack = Slack()
        worker = _worker(usecases, slack, clock)
        original = slack.deliver

        async def enqueue_during(item: OutboxItem) -> None:
            await original(item)
            if len(slack.calls) == 1:
                await asyncio.to_thread(usecases.outbox.enqueue, [_refresh()])

        worker.deliver = enqueue_during
        asyncio.run(worker.drain(timeout=10))
        assert [kind for kind, _ in slack.calls] == ["slack.refresh", "slack.refresh"]

    def test_two_workers_share_the_queue_without_double_delivery(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Two replicas claim at once (PostgreSQL: FOR UPDATE SKIP LOCKED): each line is carried exactly once."""
        usecases.outbox.enqueue([_line(f"i{n}-{k}", n) for k in range(5) for n in range(1, 5)])
        slack = Slack(per_call=3)
        first, second = _worker(usecases, slack, clock, "w1"), _worker(usecases, slack, clock, "w2")

        async def both() -> None:
            while usecases.outbox.items():
                await asyncio.gather(first.run_once(), second.run_once())

        asyncio.run(both())
        carried = [text for _, texts in slack.calls for text in texts]
        assert sorted(carried) == sorted(f"i{n}-{k}" for k in range(5) for n in range(1, 5))
        for n in range(1, 5):
            assert [t for t in carried if t.startswith(f"i{n}-")] == [f"i{n}-{k}" for k in range(5)]
