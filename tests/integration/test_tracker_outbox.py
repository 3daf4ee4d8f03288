"""Filing through the real outbox worker and store (SQLite and PostgreSQL) into the fake GitHub and
fake Jira: exactly once across 5xx retries, a dropped answer, a crash before the ref is recorded,
and two workers; a refusal is a dead item with the tracker's reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.app import UseCases
from bot.cli.demo import ReplayClock
from bot.domain.effects import OutboxItem
from bot.integrations.trackers.delivery import TrackerDeliverer, file_effect, issue_of
from bot.integrations.trackers.github import GitHubTracker
from bot.integrations.trackers.jira import JiraTracker
from bot.integrations.trackers.port import Tracker, TrackerIssue, TrackerRef
from bot.outbox.worker import OutboxWorker, RetryPolicy, route_by_kind
from tests.support.fake_github import TOKEN as GITHUB_TOKEN
from tests.support.fake_github import FakeGitHub
from tests.support.fake_jira import EMAIL, FakeJira
from tests.support.fake_jira import TOKEN as JIRA_TOKEN

ITEMS = [
    TrackerIssue(
        "incidentbot:INC-7:followup-1", "Canary deployment for firewall changes", "b", ("incident", "INC-7", "sev1")
    ),
    TrackerIssue(
        "incidentbot:INC-7:followup-2",
        "Synthetic WAF tests in staging every 5 minutes",
        "b",
        ("incident", "INC-7", "sev1"),
    ),
    TrackerIssue(
        "incidentbot:INC-7:followup-3", 'A "verify CPU load" runbook step', "b", ("incident", "INC-7", "sev1")
    ),
]


class Recorded:
    """``on_filed``: what a use case would record (marker -> key); can be told to crash first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.crash_next = 0

    async def __call__(self, item: OutboxItem, ref: TrackerRef, linked: tuple[str, ...] = ()) -> None:
        if self.crash_next:
            self.crash_next -= 1
            raise ConnectionError("database went away before the commit")
        self.calls.append((item.payload["marker"], ref.key))


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    fake = FakeJira()
    await fake.start()
    yield fake
    await fake.stop()


def _worker(
    usecases: UseCases, clock: ReplayClock, tracker: Tracker, on_filed: Recorded, name: str = "w1"
) -> OutboxWorker:
    deliver = route_by_kind({"tracker": TrackerDeliverer(tracker, on_filed)})
    return OutboxWorker(usecases.store, deliver, name, clock=clock, policy=RetryPolicy(base_seconds=1, max_seconds=8))


async def _deliver_all(usecases: UseCases, clock: ReplayClock, *workers: OutboxWorker, rounds: int = 12) -> None:
    for _ in range(rounds):
        await asyncio.gather(*(worker.drain(timeout=5) for worker in workers))
        pending = usecases.outbox.items("pending")
        if not pending:
            return
        clock.now = max(clock.now, min(item.next_attempt_at for item in pending)) + timedelta(seconds=1)


class TestGitHubThroughTheOutbox:
    async def test_three_follow_ups_filed_once_each_across_5xx(
        self, usecases: UseCases, clock: ReplayClock, github: FakeGitHub
    ) -> None:
        github.fail("create", 502, times=2)
        github.fail("list", 503, times=1, headers={"Retry-After": "3"})
        on_filed = Recorded()
        usecases.outbox.enqueue([file_effect(issue, 7) for issue in ITEMS])
        await _deliver_all(
            usecases, clock, _worker(usecases, clock, GitHubTracker("acme/web", GITHUB_TOKEN, github.url), on_filed)
        )
        assert sorted(on_filed.calls) == [
            ("incidentbot:INC-7:followup-1", "acme/web#1"),
            ("incidentbot:INC-7:followup-2", "acme/web#2"),
            ("incidentbot:INC-7:followup-3", "acme/web#3"),
        ]
        assert [i["title"] for _, i in sorted(github.issues.items())] == [i.title for i in ITEMS]
        assert usecases.outbox.items() == []

    async def test_a_crash_before_the_ref_is_recorded_files_nothing_twice(
        self, usecases: UseCases, clock: ReplayClock, github: FakeGitHub
    ) -> None:
        """GitHub created the issue, then recording its key failed (as a crash before the commit):
        the item is tried again, the lookup finds the issue, and the key is recorded."""
        on_filed = Recorded()
        on_filed.crash_next = 1
        usecases.outbox.enqueue([file_effect(ITEMS[0], 7)])
        await _deliver_all(
            usecases, clock, _worker(usecases, clock, GitHubTracker("acme/web", GITHUB_TOKEN, github.url), on_filed)
        )
        assert on_filed.calls == [("incidentbot:INC-7:followup-1", "acme/web#1")]
        assert (len(github.issues), len(github.calls("create"))) == (1, 1)

    async def test_a_dropped_answer_files_nothing_twice(
        self, usecases: UseCases, clock: ReplayClock, github: FakeGitHub
    ) -> None:
        github.fail("create", drop=True)
        on_filed = Recorded()
        usecases.outbox.enqueue([file_effect(ITEMS[0], 7)])
        await _deliver_all(
            usecases, clock, _worker(usecases, clock, GitHubTracker("acme/web", GITHUB_TOKEN, github.url), on_filed)
        )
        assert on_filed.calls == [("incidentbot:INC-7:followup-1", "acme/web#1")]
        assert len(github.issues) == 1

    async def test_two_workers_file_once(self, usecases: UseCases, clock: ReplayClock, github: FakeGitHub) -> None:
        on_filed = Recorded()
        usecases.outbox.enqueue([file_effect(issue, 7) for issue in ITEMS])
        workers = [
            _worker(usecases, clock, GitHubTracker("acme/web", GITHUB_TOKEN, github.url), on_filed, name)
            for name in ("replica-a", "replica-b")
        ]
        await _deliver_all(usecases, clock, *workers)
        assert len(github.issues) == 3 and len(on_filed.calls) == 3

    async def test_a_refusal_is_a_dead_item_with_githubs_reason(
        self, usecases: UseCases, clock: ReplayClock, github: FakeGitHub
    ) -> None:
        github.fail("create", 403, body={"message": "Resource not accessible by personal access token"})
        on_filed = Recorded()
        usecases.outbox.enqueue([file_effect(ITEMS[0], 7)])
        await _deliver_all(
            usecases, clock, _worker(usecases, clock, GitHubTracker("acme/web", GITHUB_TOKEN, github.url), on_filed)
        )
        (dead,) = usecases.outbox.items("dead")
        assert dead.last_error == (
            "POST /repos/acme/web/issues: GitHub refused (HTTP 403, the token may not do this: check its scopes "
            "and the project's permissions): Resource not accessible by personal access token"
        )
        assert GITHUB_TOKEN not in dead.last_error and on_filed.calls == []


class TestJiraThroughTheOutbox:
    async def test_filed_once_across_5xx_and_a_dropped_answer(
        self, usecases: UseCases, clock: ReplayClock, jira: FakeJira
    ) -> None:
        jira.fail("create", 500, times=1)
        jira.fail("create", drop=True)
        on_filed = Recorded()
        usecases.outbox.enqueue([file_effect(issue, 7) for issue in ITEMS[:2]])
        await _deliver_all(
            usecases, clock, _worker(usecases, clock, JiraTracker(jira.url, "OPS", EMAIL, JIRA_TOKEN), on_filed)
        )
        assert sorted(on_filed.calls) == [
            ("incidentbot:INC-7:followup-1", "OPS-1"),
            ("incidentbot:INC-7:followup-2", "OPS-2"),
        ]
        assert len(jira.issues) == 2


class TestPayload:
    def test_the_effect_round_trips(self) -> None:
        issue = TrackerIssue("incidentbot:INC-7:followup-1", "t", "b", ("incident", "INC-7"), "octocat")
        effect = file_effect(issue, 7)
        assert (effect.kind, effect.incident_number) == ("tracker.file", 7)
        assert issue_of(effect.payload) == issue

    def test_the_due_day_round_trips_and_old_items_have_none(self) -> None:
        """The due day travels as ``"due": "2026-12-15"``; an item queued before due days were sent has none."""
        issue = TrackerIssue("incidentbot:INC-7:followup-1", "t", "b", ("INC-7",), None, date(2026, 12, 15))
        effect = file_effect(issue, 7, 1)
        assert effect.payload["due"] == "2026-12-15"
        assert issue_of(effect.payload) == issue
        old = {k: v for k, v in effect.payload.items() if k != "due"}
        assert issue_of(old).due is None

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"marker": "m", "title": "t"},
            {"marker": "m", "title": "t", "body": "b", "labels": "x"},
            {"marker": "a b", "title": "t", "body": "b"},
            {"marker": "m", "title": "t", "body": "b", "due": "15/12/2026"},
            {"marker": "m", "title": "t", "body": "b", "due": "20261215"},
            {"marker": "m", "title": "t", "body": "b", "due": "2026-02-30"},
            {"marker": "m", "title": "t", "body": "b", "due": 20261215},
        ],
    )
    def test_a_malformed_payload_is_refused(self, payload: dict[str, object]) -> None:
        with pytest.raises(ValueError):
            issue_of(payload)
