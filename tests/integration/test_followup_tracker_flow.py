"""Follow-ups filed through the real outbox worker and store (SQLite and PostgreSQL) into the fake GitHub,
with the composition root's pieces (``TrackerPlan``, ``record_filed``, ``stalled_item_notice``,
``issue_reader``) and a controlled clock: a refusal is a dead item with the tracker's reason, an outage
of an hour tells the channel once and loses nothing, and sync-back records closes and reopens made in
the tracker once, also when two replicas sync together."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.app import filing_state, issue_reader, record_filed, stalled_item_notice
from bot.cli.demo import ReplayClock
from bot.domain.effects import OutboxItem
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind, FollowupState
from bot.integrations.trackers.delivery import TrackerDeliverer
from bot.integrations.trackers.github import GitHubTracker
from bot.integrations.trackers.jira import JiraTracker
from bot.integrations.trackers.plan import TrackerPlan
from bot.integrations.trackers.port import TrackerIssue, TrackerRef
from bot.jobs.tracker_sync import TrackerSync
from bot.outbox.worker import OutboxWorker, route_by_kind
from bot.slack.delivery import followup_tracker_effects
from bot.store import IncidentStore
from bot.usecases.followups import FilingState
from bot.usecases.shared import Actor
from bot.usecases.wiring import UseCases, wire_usecases
from tests.support.cli import incidentbot
from tests.support.fake_github import TOKEN as GITHUB_TOKEN
from tests.support.fake_github import FakeGitHub
from tests.support.fake_jira import EMAIL as JIRA_EMAIL
from tests.support.fake_jira import TOKEN as JIRA_TOKEN
from tests.support.fake_jira import FakeJira

ALICE = Actor("U0ALICE", "alice")
URL = "https://github.com/acme/web/issues/{}"


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def filing(store: IncidentStore, clock: ReplayClock) -> UseCases:
    """The use cases as ``bot.app`` wires them with TRACKER=github: new follow-ups owe a filing."""
    return wire_usecases(store, clock=clock, standing_plans=[TrackerPlan({"U0CAROL": "octocat"})], tracker="github")


class SlackLines:
    """The Slack deliverer's stand-in: keeps each ``slack.post_line`` text it is handed."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, item: OutboxItem) -> None:
        self.lines.append(str(item.payload.get("text")))


def worker_for(
    usecases: UseCases, github: FakeGitHub, clock: ReplayClock, slack: SlackLines, token: str = GITHUB_TOKEN
) -> OutboxWorker:
    tracker = GitHubTracker("acme/web", token, github.url, timeout_seconds=2)
    deliverer = TrackerDeliverer(tracker, record_filed(usecases), filing_state(usecases))
    deliver = route_by_kind({"tracker": deliverer, "slack": slack})
    notice = partial(stalled_item_notice, tracker="GitHub")
    return OutboxWorker(usecases.store, deliver, "w1", clock=clock, on_stalled=notice)


def declare_with_followups(usecases: UseCases, *texts: str) -> None:
    usecases.incidents.run(parse_command("declare sev1 CDN edge returning 502s"), ALICE)
    for text in texts:
        usecases.incidents.run(parse_command(f"INC-1 followup {text}"), ALICE)


async def test_refused_filing_is_a_dead_item_with_the_trackers_reason(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """A token GitHub refuses (401): the item is dead after one attempt, with GitHub's message and no token;
    nothing is recorded on the follow-up and no second request is made."""
    declare_with_followups(filing, "canary deployment for firewall changes")
    slack = SlackLines()
    worker = worker_for(filing, github, clock, slack, token="ghp_revoked0000000000000000000000000000")
    await worker.run_once()
    clock.now += timedelta(minutes=10)
    await worker.run_once()
    dead = filing.outbox.items("dead")
    assert [(item.kind, item.attempts) for item in dead] == [("tracker.file", 1)]
    assert dead[0].last_error == (
        "GET /repos/acme/web/issues: GitHub refused (HTTP 401, the token is not valid: check TRACKER_TOKEN): "
        "Bad credentials"
    )
    assert len(github.requests) == 1
    assert filing.incidents.get(1).followups[0].tracker_key is None
    assert slack.lines == []


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "Bad credentials"),
        (403, "Resource not accessible by personal access token"),
        (404, "Not Found"),
        (422, "Validation Failed"),
    ],
)
async def test_every_refusal_is_dead_at_once(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock, status: int, message: str
) -> None:
    """401, 403, 404 and 422 from GitHub: dead after the first attempt, GitHub's status and message in the
    reason, no retry."""
    declare_with_followups(filing, "synthetic WAF tests in staging every 5 minutes")
    github.fail("*", status, body={"message": message})
    worker = worker_for(filing, github, clock, SlackLines())
    await worker.run_once()
    clock.now += timedelta(hours=1)
    await worker.run_once()
    [dead] = filing.outbox.items("dead")
    assert dead.attempts == 1
    assert dead.last_error.startswith(f"GET /repos/acme/web/issues: GitHub refused (HTTP {status}, ")
    assert dead.last_error.endswith(f": {message}")
    assert filing.outbox.items("pending") == []
    assert len(github.requests) == 1


async def test_an_hour_of_outage_tells_the_channel_once_and_files_afterwards(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """GitHub answers 503 for two hours: retried each round, the channel is told once after an hour; when
    GitHub is back the issue is filed once and the channel hears the link."""
    declare_with_followups(filing, "canary deployment for firewall changes <@U0CAROL|carol>")
    github.fail("*", 503, body={"message": "Service Unavailable"}, times=1000)
    slack = SlackLines()
    worker = worker_for(filing, github, clock, slack)
    start = clock.now
    for minutes in (0, 10, 30, 59, 61, 75, 120):
        clock.now = start + timedelta(minutes=minutes)
        await worker.run_once()
        await worker.run_once()  # the notice queued by the first round is due at once
    github.faults.clear()
    clock.now = start + timedelta(minutes=130)
    await worker.run_once()
    await worker.run_once()
    assert slack.lines == [
        ":warning: INC-1 follow-up #1 is still not filed in GitHub after an hour: GET /repos/acme/web/issues: "
        "GitHub answered HTTP 503: Service Unavailable. incidentbot keeps retrying; `incidentbot outbox` "
        "shows item 1.",
        ":ticket: INC-1 follow-up #1 filed as https://github.com/acme/web/issues/1",
    ]
    assert len(github.calls("create")) == 1
    assert github.issues[1]["assignees"][0]["login"] == "octocat"
    assert [label["name"] for label in github.issues[1]["labels"]] == ["incidentbot", "incident", "INC-1", "sev1"]
    followup = filing.incidents.get(1).followups[0]
    assert (followup.tracker_key, followup.tracker_url) == ("acme/web#1", URL.format(1))
    assert filing.outbox.items() == []


async def test_a_second_on_filed_records_nothing(filing: UseCases, github: FakeGitHub, clock: ReplayClock) -> None:
    """``on_filed`` twice for the same follow-up (a retry after a crash, another replica): one
    ``followup_exported`` entry, by the bot, with the key and URL."""
    declare_with_followups(filing, "canary deployment for firewall changes")
    slack = SlackLines()
    worker = worker_for(filing, github, clock, slack)
    await worker.run_once()
    item = OutboxItem(99, "tracker.file", {"followup": 1}, 1, "pending", 0, clock.now, "", clock.now)
    on_filed = record_filed(filing)
    await on_filed(item, TrackerRef("acme/web#1", URL.format(1)))
    await on_filed(item, TrackerRef("acme/web#7", URL.format(7)))
    _, entries = filing.incidents.timeline(1)
    exported = [
        (e.actor, e.data["number"], e.data["key"], e.data["url"])
        for e in entries
        if e.kind.value == "followup_exported"
    ]
    assert exported == [("incidentbot", 1, "acme/web#1", URL.format(1))]
    assert filing.incidents.get(1).followups[0].tracker_key == "acme/web#1"


async def filed_three(usecases: UseCases, github: FakeGitHub, clock: ReplayClock) -> SlackLines:
    declare_with_followups(
        usecases,
        "canary deployment for firewall changes <@U0CAROL|carol>",
        "synthetic WAF tests in staging every 5 minutes <@U0BOB|bob>",
        'a "verify CPU load" runbook step <@U0DAVE|dave>',
    )
    slack = SlackLines()
    worker = worker_for(usecases, github, clock, slack)
    for _ in range(3):  # one item of an incident's lane at a time
        await worker.run_once()
    assert sorted(github.issues) == [1, 2, 3]
    return slack


def sync_job(usecases: UseCases, github: FakeGitHub) -> TrackerSync:
    tracker = GitHubTracker("acme/web", GITHUB_TOKEN, github.url, timeout_seconds=2)
    return TrackerSync(usecases.followups, issue_reader(tracker), "github", followup_tracker_effects)


def followup_entries(usecases: UseCases) -> list[tuple[str, str, int, str]]:
    _, entries = usecases.incidents.timeline(1)
    kinds = (EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_REOPENED)
    return [(e.kind.value, e.actor, e.data["number"], e.text) for e in entries if e.kind in kinds]


async def test_sync_back_records_a_close_and_a_reopen_once(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Closed in GitHub: done here (by github, "closed in acme/web#2"), once; reopened there: open again,
    once; done here by a person while the issue stays open: left done."""
    await filed_three(filing, github, clock)
    job = sync_job(filing, github)
    clock.now += timedelta(hours=1)
    github.close(2, at=clock.now - timedelta(minutes=5))
    assert await job.check_once() == ["INC-1#2"]
    assert await job.check_once() == []
    clock.now += timedelta(hours=1)
    github.reopen(2)
    assert await job.check_once() == ["INC-1#2"]
    assert await job.check_once() == []
    filing.incidents.run(parse_command("INC-1 followup done 3 runbook updated"), ALICE)
    assert await job.check_once() == []
    assert followup_entries(filing) == [
        ("followup_done", "github", 2, "closed in acme/web#2"),
        ("followup_reopened", "github", 2, "reopened in acme/web#2"),
        ("followup_done", "U0ALICE", 3, "runbook updated"),
    ]
    states = [f.state for f in filing.incidents.get(1).followups]
    assert states == [FollowupState.OPEN, FollowupState.OPEN, FollowupState.DONE]


async def test_two_replicas_syncing_together_record_once(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Two sync jobs (replicas) reading the same close at once: one ``followup_done`` entry."""
    await filed_three(filing, github, clock)
    github.close(1)
    clock.now += timedelta(hours=1)
    first, second = sync_job(filing, github), sync_job(filing, github)
    results = await asyncio.gather(first.check_once(), second.check_once(), first.check_once())
    assert sorted(r for result in results for r in result) == ["INC-1#1"]
    assert followup_entries(filing) == [("followup_done", "github", 1, "closed in acme/web#1")]


async def test_sync_back_survives_a_tracker_outage_and_skips_dropped(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """GitHub failing during a sync changes nothing (the next round catches up); a dropped follow-up is not read."""
    await filed_three(filing, github, clock)
    filing.incidents.run(parse_command("INC-1 followup drop 3 covered by the canary"), ALICE)
    github.close(1)
    github.close(3)
    github.fail("get", 502, times=1)
    job = sync_job(filing, github)
    before = len(github.calls("get"))
    assert await job.check_once() == []
    assert await job.check_once() == ["INC-1#1"]
    read = [r.path for r in github.calls("get")[before:]]
    assert read == [
        "/repos/acme/web/issues/1",
        "/repos/acme/web/issues/2",
        "/repos/acme/web/issues/1",
        "/repos/acme/web/issues/2",
    ]
    assert followup_entries(filing) == [("followup_done", "github", 1, "closed in acme/web#1")]


async def dead_filing(usecases: UseCases, github: FakeGitHub, clock: ReplayClock, slack: SlackLines) -> OutboxItem:
    """INC-1's follow-up #1 whose filing GitHub refused once (422): a dead item after one request."""
    declare_with_followups(usecases, "retry budget for the payment API")
    github.fail("*", 422, body={"message": "Validation Failed"})
    await worker_for(usecases, github, clock, slack).run_once()
    [dead] = usecases.outbox.items("dead")
    assert (dead.kind, len(github.requests)) == ("tracker.file", 1)
    return dead


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda u: u.incidents.run(parse_command("INC-1 followup drop 1 dup of INC-3"), ALICE), "dropped"),
        (lambda u: u.followups.record_export(1, 1, "acme/web#9", URL.format(9)), "already filed as acme/web#9"),
    ],
    ids=["dropped", "already-filed"],
)
async def test_a_revived_filing_of_a_dropped_or_filed_follow_up_is_not_sent(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock, change: object, reason: str
) -> None:
    """``incidentbot outbox --retry`` of a dead filing after its follow-up was dropped (or filed by other
    means): the item completes without a request to GitHub, logged with the incident, follow-up and why."""
    slack = SlackLines()
    dead = await dead_filing(filing, github, clock, slack)
    change(filing)  # type: ignore[operator]
    assert filing.outbox.revive(dead.id)
    clock.now += timedelta(minutes=1)
    with capture_logs() as logs:
        await worker_for(filing, github, clock, slack).run_once()
    assert len(github.requests) == 1  # only the refused attempt: no lookup, no create
    assert github.issues == {}
    assert (filing.outbox.items("pending"), filing.outbox.items("dead")) == ([], [])
    skipped = [(e["incident"], e["followup"], e["reason"]) for e in logs if e["event"] == "tracker_filing_skipped"]
    assert skipped == [("INC-1", 1, reason)]


async def test_a_revived_filing_of_a_follow_up_reopened_after_its_drop_is_filed(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Dropped and reopened before the retry: it is wanted again, so the revived item files it."""
    slack = SlackLines()
    dead = await dead_filing(filing, github, clock, slack)
    filing.incidents.run(parse_command("INC-1 followup drop 1 dup"), ALICE)
    filing.incidents.run(parse_command("INC-1 followup reopen 1 not a dup after all"), ALICE)
    assert filing.outbox.revive(dead.id)
    clock.now += timedelta(minutes=1)
    await worker_for(filing, github, clock, slack).run_once()
    assert sorted(github.issues) == [1]
    assert filing.incidents.get(1).followups[0].tracker_key == "acme/web#1"


async def test_a_close_in_the_tracker_before_the_follow_ups_latest_change_is_recorded_at_sync_time(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Closed in GitHub at +60 min, handed over here at +65: the close may not precede that change, so
    sync-back records it done at the sync's time (+70) instead of being refused on every round."""
    await filed_three(filing, github, clock)
    start = clock.now
    github.close(2, at=start + timedelta(minutes=60))
    clock.now = start + timedelta(minutes=65)
    filing.incidents.run(parse_command("INC-1 followup owner 2 <@U0ERIN|erin>"), ALICE)
    clock.now = start + timedelta(minutes=70)
    assert await sync_job(filing, github).check_once() == ["INC-1#2"]
    followup = filing.incidents.get(1).followups[1]
    assert (followup.state, followup.done_at) == (FollowupState.DONE, start + timedelta(minutes=70))


PERMALINK = "https://acme.slack.com/files/U0BOT/F0PM1/INC-1-postmortem.md"
"""The shape of a file's ``permalink`` in Slack's ``files.completeUploadExternal`` answer."""


def postmortem_published(usecases: UseCases, url: str) -> bool:
    """What the Slack deliverer does once the draft is uploaded (``bot.app`` injects the same plan)."""
    return usecases.incidents.record_postmortem_url(1, url, TrackerPlan({"U0CAROL": "octocat"}).postmortem_comments)


def bot_comments(github: FakeGitHub, number: int) -> list[str]:
    return [c["body"] for c in github.comments.get(number, [])]


async def test_issues_filed_before_the_postmortem_get_one_comment_linking_it(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Follow-ups filed during the incident, then the postmortem published: each issue gets one comment with
    the postmortem's link (also when the item is delivered twice, as after a crash before its commit, and
    when the same link is recorded again); a new link (the draft uploaded again) is a second comment."""
    slack = await filed_three(filing, github, clock)
    assert postmortem_published(filing, PERMALINK) is True
    assert postmortem_published(filing, PERMALINK) is False  # the same link: nothing queued
    items = [i for i in filing.outbox.items("pending") if i.kind.startswith("tracker")]
    assert [(i.kind, i.payload["followup"], i.payload["key"]) for i in items] == [
        ("tracker.comment", 1, "acme/web#1"),
        ("tracker.comment", 2, "acme/web#2"),
        ("tracker.comment", 3, "acme/web#3"),
    ]
    tracker = GitHubTracker("acme/web", GITHUB_TOKEN, github.url, timeout_seconds=2)
    deliverer = TrackerDeliverer(tracker, record_filed(filing), filing_state(filing))
    await deliverer(items[0])  # delivered, then its commit lost: delivered again below by the worker
    worker = worker_for(filing, github, clock, slack)
    for _ in range(6):
        await worker.run_once()
    assert filing.outbox.items() == []
    expected = f"Postmortem of INC-1: {PERMALINK}\n\n<!-- incidentbot:INC-1:followup-{{}}:postmortem-{{}} -->\n"
    digest = "70a74795a38c"  # sha256 of PERMALINK, first twelve hex digits (computed with sha256sum)
    assert [bot_comments(github, n) for n in (1, 2, 3)] == [[expected.format(n, digest)] for n in (1, 2, 3)]
    assert postmortem_published(filing, PERMALINK.replace("F0PM1", "F0PM2")) is True
    for _ in range(6):
        await worker.run_once()
    assert [len(bot_comments(github, n)) for n in (1, 2, 3)] == [2, 2, 2]
    assert bot_comments(github, 1)[1].startswith(f"Postmortem of INC-1: {PERMALINK.replace('F0PM1', 'F0PM2')}\n")


async def test_a_followup_filed_later_carries_the_links_known_at_delivery(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Queued before the incident had a channel (Slack down), delivered after the channel was created and the
    postmortem published: the issue's body links both; no comment is owed."""
    declare_with_followups(filing, "canary deployment for firewall changes <@U0CAROL|carol> --due 2026-12-15")
    filing.incidents.bind_channel(1, "C0INC1")
    assert postmortem_published(filing, PERMALINK) is True  # nothing filed yet: no comment owed
    assert [i.kind for i in filing.outbox.items("pending")] == ["tracker.file"]
    worker = worker_for(filing, github, clock, SlackLines())
    await worker.run_once()
    body, marker = github.issues[1]["body"].rsplit("\n\n", 1)
    assert body == (
        "Follow-up 1 of INC-1 (sev1): CDN edge returning 502s\n\n"
        "- Incident: https://slack.com/app_redirect?channel=C0INC1\n"
        f"- Postmortem: {PERMALINK}\n"
        "- Owner: carol\n"
        "- Due: 2026-12-15"
    )
    assert re.fullmatch(r"<!-- incidentbot:[0-9a-f-]{36}:INC-1:followup-1 -->\n", marker)
    assert github.comments == {}


async def test_slack_markup_in_a_followup_reads_as_typed_in_the_tracker(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Mentions and links as Slack sends them (``<@U0BOB|bob>``, ``<https://…|…>``, ``<#C0…|…>``) read as
    people typed them in the issue's title and body; the owner mention is still the owner."""
    declare_with_followups(
        filing,
        "ask <@U0BOB|bob> to add <https://grafana.example.com/d/waf|grafana.example.com/d/waf> to <#C0NET|netops> "
        "<@U0CAROL|carol>",
    )
    await worker_for(filing, github, clock, SlackLines()).run_once()
    issue = github.issues[1]
    assert issue["title"] == "ask @bob to add https://grafana.example.com/d/waf to #netops"
    assert issue["assignees"][0]["login"] == "octocat"


def change_entries(usecases: UseCases) -> list[tuple[str, str, int, str]]:
    _, entries = usecases.incidents.timeline(1)
    kinds = (EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_DROPPED, EntryKind.FOLLOWUP_REOPENED)
    return [(e.kind.value, e.actor, e.data["number"], e.text) for e in entries if e.kind in kinds]


@pytest.mark.parametrize(
    ("reason", "kind", "text", "state"),
    [
        ("not_planned", "followup_dropped", "closed as not planned in GitHub (acme/web#2)", FollowupState.DROPPED),
        ("duplicate", "followup_dropped", "closed as duplicate in GitHub (acme/web#2)", FollowupState.DROPPED),
        ("completed", "followup_done", "closed in acme/web#2", FollowupState.DONE),
    ],
)
async def test_sync_back_drops_what_github_closed_without_doing_it_and_reopens_it(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock, reason: str, kind: str, text: str, state: FollowupState
) -> None:
    """Closed in GitHub as not planned or duplicate: dropped here (by github, with GitHub's reason and the
    key), once; as completed: done. Reopened there: open again, once; the channel hears each."""
    slack = await filed_three(filing, github, clock)
    job = sync_job(filing, github)
    clock.now += timedelta(hours=1)
    github.close(2, reason=reason, at=clock.now - timedelta(minutes=5))
    assert await job.check_once() == ["INC-1#2"]
    assert await job.check_once() == []
    assert filing.incidents.get(1).followups[1].state is state
    clock.now += timedelta(hours=1)
    github.reopen(2)
    assert await job.check_once() == ["INC-1#2"]
    assert await job.check_once() == []
    assert change_entries(filing) == [
        (kind, "github", 2, text),
        ("followup_reopened", "github", 2, "reopened in acme/web#2"),
    ]
    assert filing.incidents.get(1).followups[1].state is FollowupState.OPEN
    worker = worker_for(filing, github, clock, slack)
    for _ in range(3):
        await worker.run_once()
    said = {"followup_dropped": f":no_entry_sign: INC-1 follow-up #2 is dropped: {text}"}.get(
        kind, f":white_check_mark: INC-1 follow-up #2 is done: {text}"
    )
    assert slack.lines[-2:] == [
        said,
        ":arrows_counterclockwise: INC-1 follow-up #2 is open again: reopened in acme/web#2",
    ]


async def test_a_follow_up_dropped_here_is_not_reopened_by_its_open_issue(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Dropped by a person while its issue stays open: sync-back neither reads nor reopens it; dropped by
    GitHub and then reopened here by a person while the issue stays closed: not dropped again."""
    await filed_three(filing, github, clock)
    filing.incidents.run(parse_command("INC-1 followup drop 1 covered by the WAF tests"), ALICE)
    github.close(2, reason="not_planned", at=clock.now)
    job = sync_job(filing, github)
    clock.now += timedelta(hours=1)
    assert await job.check_once() == ["INC-1#2"]
    clock.now += timedelta(minutes=5)
    filing.incidents.run(parse_command("INC-1 followup reopen 2 we will do it after all"), ALICE)
    before = len(github.calls("get"))
    assert await job.check_once() == []
    assert [r.path for r in github.calls("get")[before:]] == ["/repos/acme/web/issues/2", "/repos/acme/web/issues/3"]
    assert [f.state for f in filing.incidents.get(1).followups] == [
        FollowupState.DROPPED,
        FollowupState.OPEN,
        FollowupState.OPEN,
    ]


async def test_jira_sync_back_drops_a_wont_do_and_reopens_it(filing: UseCases, clock: ReplayClock) -> None:
    """Resolved as Won't Do in Jira: dropped here ("resolved as Won't Do in Jira (OPS-1)", by jira); reopened
    there: open again; resolved Done afterwards: done."""
    declare_with_followups(filing, "canary deployment for firewall changes")
    fake = FakeJira()
    await fake.start()
    try:
        tracker = JiraTracker(fake.url, "OPS", JIRA_EMAIL, JIRA_TOKEN, timeout_seconds=2)
        ref = await tracker.file(TrackerIssue("incidentbot:INC-1:followup-1", "canary", "b", ("INC-1",)))
        filing.followups.record_export(1, 1, ref.key, ref.url)
        job = TrackerSync(filing.followups, issue_reader(tracker), "jira", followup_tracker_effects)
        clock.now += timedelta(hours=1)
        fake.close("OPS-1", resolution="Won't Do", at=clock.now - timedelta(minutes=1))
        assert await job.check_once() == ["INC-1#1"]
        assert await job.check_once() == []
        fake.reopen("OPS-1")
        clock.now += timedelta(minutes=10)
        assert await job.check_once() == ["INC-1#1"]
        fake.close("OPS-1", at=clock.now - timedelta(minutes=1))
        clock.now += timedelta(minutes=10)
        assert await job.check_once() == ["INC-1#1"]
    finally:
        await fake.stop()
    assert change_entries(filing) == [
        ("followup_dropped", "jira", 1, "resolved as Won't Do in Jira (OPS-1)"),
        ("followup_reopened", "jira", 1, "reopened in OPS-1"),
        ("followup_done", "jira", 1, "closed in OPS-1"),
    ]


async def test_a_deleted_issue_is_recorded_once_and_not_read_again(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock, database_url: str, tmp_path: Path
) -> None:
    """Issue acme/web#2 deleted in GitHub (410 "This issue was deleted"): the first round records it once
    (``followup_tracker_gone`` by the bot, logged ``tracker_issue_gone``, the channel told) and the
    follow-up forgets its key; the next rounds send GitHub no request for it, and ``incidentbot followups``
    (a process) says the issue is gone."""
    slack = await filed_three(filing, github, clock)
    github.delete(2)
    job = sync_job(filing, github)
    clock.now += timedelta(minutes=10)
    with capture_logs() as logs:
        assert await job.check_once() == ["INC-1#2"]
    gone = [(e["incident"], e["followup"], e["key"]) for e in logs if e["event"] == "tracker_issue_gone"]
    assert gone == [("INC-1", 2, "acme/web#2")]
    reason = (
        "GET /repos/acme/web/issues/2: GitHub refused (HTTP 410, gone: the issue was deleted, or issues are "
        "disabled in this repository): This issue was deleted"
    )
    _, entries = filing.incidents.timeline(1)
    recorded = [
        (e.actor, e.data["number"], e.data["key"], e.text) for e in entries if e.kind.value == "followup_tracker_gone"
    ]
    assert recorded == [("incidentbot", 2, "acme/web#2", reason)]
    before = list(github.requests)
    with capture_logs() as logs:
        assert await job.check_once() == []
        assert await job.check_once() == []
    asked = [r.path for r in github.requests[len(before) :]]
    assert asked == ["/repos/acme/web/issues/1", "/repos/acme/web/issues/3"] * 2
    assert [e for e in logs if e["event"] in ("tracker_issue_gone", "tracker_sync_failed")] == []
    worker = worker_for(filing, github, clock, slack)
    for _ in range(5):  # one item of the incident's lane at a time
        await worker.run_once()
    assert filing.outbox.items() == []
    assert [line for line in slack.lines if line.startswith(":warning:")] == [
        ":warning: INC-1 follow-up #2: its tracker issue acme/web#2 is gone (deleted in the tracker?); sync-back "
        "stops reading it. `followup export 2` files it again."
    ]
    listed = incidentbot("followups", database_url=database_url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[2] == (
        "INC-1 #2 open · synthetic WAF tests in staging every 5 minutes · owner @bob · due - · "
        "link tracker issue acme/web#2 gone"
    )
    document = json.loads(incidentbot("followups", "--format", "json", database_url=database_url, cwd=tmp_path).stdout)
    assert [(f["tracker_key"], f["tracker_gone"]) for f in document["followups"]] == [
        ("acme/web#1", None),
        (None, "acme/web#2"),
        ("acme/web#3", None),
    ]


@pytest.mark.parametrize(
    ("break_github", "failed"),
    [
        (lambda fake: fake.fail("*", 404, body={"message": "Not Found"}, times=100), 3),
        (
            lambda fake: (
                setattr(fake, "has_issues", False),
                fake.fail("get", 410, body={"message": "Issues are disabled for this repo"}, times=100),
            ),
            3,
        ),
        (lambda fake: (fake.fail("get", 404, body={"message": "Not Found"}), fake.fail("repo", 503)), 1),
    ],
    ids=["repository-unreachable", "issues-disabled", "repository-check-fails"],
)
async def test_an_unreachable_repository_is_not_taken_for_deleted_issues(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock, break_github: object, failed: int
) -> None:
    """404/410 for an issue while the repository itself is unreachable (access revoked, renamed), has
    issues turned off, or cannot be checked: a failed round (logged), every key kept, nothing recorded."""
    await filed_three(filing, github, clock)
    break_github(github)  # type: ignore[operator]
    with capture_logs() as logs:
        assert await sync_job(filing, github).check_once() == []
    assert [e["event"] for e in logs if e["event"].startswith("tracker_")] == ["tracker_sync_failed"] * failed
    assert [f.tracker_key for f in filing.incidents.get(1).followups] == ["acme/web#1", "acme/web#2", "acme/web#3"]
    _, entries = filing.incidents.timeline(1)
    assert [e for e in entries if e.kind.value == "followup_tracker_gone"] == []


async def test_a_follow_up_whose_issue_is_gone_can_be_filed_again(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """After the gone record, ``followup export 2`` files a new issue for it, and sync-back reads that one."""
    slack = await filed_three(filing, github, clock)
    github.delete(2)
    job = sync_job(filing, github)
    assert await job.check_once() == ["INC-1#2"]
    filing.incidents.run(parse_command("INC-1 followup export 2"), ALICE)
    worker = worker_for(filing, github, clock, slack)
    for _ in range(3):
        await worker.run_once()
    assert filing.incidents.get(1).followups[1].tracker_key == "acme/web#4"
    github.close(4, at=clock.now)
    clock.now += timedelta(minutes=1)
    assert await job.check_once() == ["INC-1#2"]
    assert filing.incidents.get(1).followups[1].state is FollowupState.DONE


async def test_an_issue_filed_before_the_channel_existed_gets_one_comment_linking_it(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """Filed while the incident had no channel (Slack down, or the filing's lane first): the body has no
    incident link; when the channel is created, one comment links it, also if the binding is repeated."""
    declare_with_followups(filing, "canary deployment for firewall changes")
    worker = worker_for(filing, github, clock, SlackLines())
    for _ in range(2):
        await worker.run_once()
    assert "- Incident:" not in github.issues[1]["body"]
    channel_plan = TrackerPlan({}).channel_comments
    filing.incidents.bind_channel(1, "C0INC1", channel_plan)
    filing.incidents.bind_channel(1, "C0INC1", channel_plan)  # a retried channel creation binds again
    for _ in range(4):
        await worker.run_once()
    assert filing.outbox.items() == []
    assert [c["body"].split("\n\n")[0] for c in github.comments[1]] == [
        "Incident channel of INC-1: https://slack.com/app_redirect?channel=C0INC1"
    ]


@pytest.mark.parametrize("late", ["channel", "postmortem"])
async def test_a_link_that_appears_while_the_issue_is_filed_is_commented_once(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock, late: str
) -> None:
    """The channel is created (or the postmortem published) after the filing read its links and before it
    was recorded: neither the body nor that link's own plan (the follow-up has no key yet) links it, so
    the recorded filing owes the comment: exactly one."""
    declare_with_followups(filing, "canary deployment for firewall changes")
    plan = TrackerPlan({})
    read = filing_state(filing)

    async def racing(item: OutboxItem) -> FilingState:
        state = await read(item)
        if late == "channel":
            filing.incidents.bind_channel(1, "C0INC1", plan.channel_comments)
        else:
            filing.incidents.record_postmortem_url(1, PERMALINK, plan.postmortem_comments)
        return state

    tracker = GitHubTracker("acme/web", GITHUB_TOKEN, github.url, timeout_seconds=2)
    deliver = route_by_kind({"tracker": TrackerDeliverer(tracker, record_filed(filing), racing), "slack": SlackLines()})
    worker = OutboxWorker(filing.store, deliver, "w1", clock=clock)
    for _ in range(4):
        await worker.run_once()
    assert filing.outbox.items() == []
    assert "- Incident:" not in github.issues[1]["body"] and "- Postmortem:" not in github.issues[1]["body"]
    expected = {
        "channel": "Incident channel of INC-1: https://slack.com/app_redirect?channel=C0INC1",
        "postmortem": f"Postmortem of INC-1: {PERMALINK}",
    }[late]
    assert [c["body"].split("\n\n")[0] for c in github.comments[1]] == [expected]


async def test_a_followup_of_markup_alone_is_filed_under_a_plain_title(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """A follow-up whose text is only Slack markup without a label (a bare date) reads as nothing: it is
    still recorded, and filed as "Follow-up 1 of INC-1" (it was a crash inside the transaction)."""
    declare_with_followups(filing, "<!date^1392734382^{date_pretty}|>")
    await worker_for(filing, github, clock, SlackLines()).run_once()
    assert github.issues[1]["title"] == "Follow-up 1 of INC-1"


async def test_a_link_comment_for_a_deleted_issue_completes_without_a_dead_item(
    filing: UseCases, github: FakeGitHub, clock: ReplayClock
) -> None:
    """The issue was deleted in GitHub before the postmortem's comment was sent (410): nothing to link from,
    so the item completes (no dead item for doctor to count, nothing to retry for ever)."""
    declare_with_followups(filing, "canary deployment for firewall changes")
    worker = worker_for(filing, github, clock, SlackLines())
    for _ in range(2):
        await worker.run_once()
    github.delete(1)
    postmortem_published(filing, PERMALINK)
    for _ in range(2):
        await worker.run_once()
    assert filing.outbox.items() == []
    assert github.comments == {}
