"""``POST /trackers/webhook`` on the running bot (SQLite and PostgreSQL): a GitHub ``issues`` event signed
with X-Hub-Signature-256, or a Jira ``jira:issue_updated`` event signed with X-Hub-Signature, records a
close or a reopen made in the tracker at once; a missing or wrong signature is refused with 401 and
changes nothing; other events are ignored; a repeated delivery records nothing more."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.domain.model import EntryKind
from tests.support.bot_server import HttpResult, RunningBot, running_bot
from tests.support.fake_github import TOKEN as GITHUB_TOKEN
from tests.support.fake_github import FakeGitHub
from tests.support.fake_jira import EMAIL, FakeJira
from tests.support.fake_jira import TOKEN as JIRA_TOKEN
from tests.support.fake_slack import FakeSlack
from tests.support.fake_tracker_http import serving
from tests.support.slack_driver import SlackDriver

SECRET = "whsec-0123456789abcdef"


@dataclass
class Kind:
    settings: dict[str, str]
    signature_header: str
    closed: Callable[[], dict[str, Any]]
    reopened: Callable[[], dict[str, Any]]
    other: dict[str, Any]
    headers: dict[str, str]
    key: str
    close_without_doing: Callable[[str], None] = lambda _said: None
    """Close the fake's issue as not done (GitHub state_reason, Jira resolution ``said``)."""


def github_kind(fake: FakeGitHub) -> Kind:
    """Each event is built as GitHub sends it, after the change it reports was made in the fake (the bot
    reads the issue's state back before recording, as for a real delivery)."""

    def event(action: str) -> dict[str, Any]:
        if 1 in fake.issues:
            if action == "closed":
                fake.close(1, at=datetime(2026, 11, 29, 20, 0, tzinfo=UTC))
            elif action == "reopened":
                fake.reopen(1)
        closed_at = "2026-11-29T20:00:00Z" if action == "closed" else None
        return {
            "action": action,
            "issue": {"number": 1, "state": "closed" if closed_at else "open", "closed_at": closed_at},
            "repository": {"full_name": "acme/web"},
        }

    return Kind(
        {"TRACKER": "github", "TRACKER_URL": fake.url, "TRACKER_PROJECT": "acme/web", "TRACKER_TOKEN": GITHUB_TOKEN},
        "X-Hub-Signature-256",
        lambda: event("closed"),
        lambda: event("reopened"),
        {"action": "labeled", "issue": {"number": 1}, "repository": {"full_name": "acme/web"}},
        {"X-GitHub-Event": "issues"},
        "acme/web#1",
        lambda said: fake.close(1, reason=said, at=datetime(2026, 11, 29, 20, 0, tzinfo=UTC)),
    )


def jira_kind(fake: FakeJira) -> Kind:
    """As ``github_kind``: the fake's issue changed first, then the event."""

    def event(category: str, resolved: str | None) -> dict[str, Any]:
        if "OPS-1" in fake.issues:
            if category == "done":
                fake.close("OPS-1", at=datetime(2026, 11, 29, 20, 0, tzinfo=UTC))
            else:
                fake.reopen("OPS-1")
        return {
            "webhookEvent": "jira:issue_updated",
            "issue": {
                "key": "OPS-1",
                "fields": {
                    "project": {"key": "OPS"},
                    "status": {"statusCategory": {"key": category}},
                    "resolutiondate": resolved,
                },
            },
        }

    return Kind(
        {
            "TRACKER": "jira",
            "TRACKER_URL": fake.url,
            "TRACKER_PROJECT": "OPS",
            "TRACKER_USER": EMAIL,
            "TRACKER_TOKEN": JIRA_TOKEN,
        },
        "X-Hub-Signature",
        lambda: event("done", "2026-11-29T20:00:00.000+0000"),
        lambda: event("new", None),
        {"webhookEvent": "comment_created", "issue": {"key": "OPS-1"}},
        {},
        "OPS-1",
        lambda said: fake.close("OPS-1", at=datetime(2026, 11, 29, 20, 0, tzinfo=UTC), resolution=said),
    )


@pytest.fixture(params=["github", "jira"])
def setup(
    request: pytest.FixtureRequest, database_url: str, fake_slack: FakeSlack
) -> Iterator[tuple[RunningBot, Kind]]:
    fake = FakeGitHub() if request.param == "github" else FakeJira()
    with serving(fake):
        kind = github_kind(fake) if isinstance(fake, FakeGitHub) else jira_kind(fake)
        with running_bot(database_url, fake_slack.base_url, **kind.settings, TRACKER_WEBHOOK_SECRET=SECRET) as bot:
            yield bot, kind


def deliver(bot: RunningBot, kind: Kind, body: dict[str, Any], secret: str | None = SECRET) -> HttpResult:
    raw = json.dumps(body)
    headers = dict(kind.headers)
    if secret is not None:
        headers[kind.signature_header] = "sha256=" + hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return bot.post(raw, "application/json", headers, path="/trackers/webhook")


def test_signed_events_record_close_and_reopen_once(setup: tuple[RunningBot, Kind], fake_slack: FakeSlack) -> None:
    """Closed: done (by the tracker, "closed in KEY"), once across a repeated delivery; reopened: open again;
    unsigned or wrongly signed: 401, nothing recorded; another event: ignored."""
    bot, kind = setup
    slack = SlackDriver(bot, fake_slack)
    channel = slack.declare("declare sev1 CDN edge returning 502s")
    slack.ephemeral("followup canary deployment for firewall changes", channel_id=channel)
    for _ in range(100):
        if bot.usecases.incidents.get(1).followups[0].tracker_key:
            break
        bot.drain()
    assert bot.usecases.incidents.get(1).followups[0].tracker_key == kind.key
    unsigned = deliver(bot, kind, kind.closed(), secret=None)
    forged = deliver(bot, kind, kind.closed(), secret="whsec-guessed")
    assert (unsigned.status, forged.status) == (401, 401)
    assert unsigned.json() == {"ok": False, "error": "the signature is missing or wrong (TRACKER_WEBHOOK_SECRET)"}
    assert deliver(bot, kind, kind.other).json() == {"ok": True, "ignored": True}
    closed = deliver(bot, kind, kind.closed())
    assert (closed.status, closed.json()) == (200, {"ok": True, "recorded": True, "followup": "INC-1#1"})
    assert deliver(bot, kind, kind.closed()).json() == {"ok": True, "recorded": False, "followup": "INC-1#1"}
    assert deliver(bot, kind, kind.reopened()).json() == {"ok": True, "recorded": True, "followup": "INC-1#1"}
    entries = bot.usecases.incidents.timeline(1)[1]
    changes = [
        (e.kind, e.actor, e.text) for e in entries if e.kind in (EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_REOPENED)
    ]
    tracker = kind.settings["TRACKER"]
    assert changes == [
        (EntryKind.FOLLOWUP_DONE, tracker, f"closed in {kind.key}"),
        (EntryKind.FOLLOWUP_REOPENED, tracker, f"reopened in {kind.key}"),
    ]


@pytest.fixture
def jira_bot(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[tuple[RunningBot, Kind]]:
    with serving(FakeJira()) as fake:
        kind = jira_kind(fake)
        with running_bot(database_url, fake_slack.base_url, **kind.settings, TRACKER_WEBHOOK_SECRET=SECRET) as bot:
            yield bot, kind


@pytest.mark.parametrize("project", [{"key": "WEB"}, {"key": "ops"}, None])
def test_a_jira_event_of_another_project_is_ignored_and_logged(
    jira_bot: tuple[RunningBot, Kind], fake_slack: FakeSlack, project: dict[str, str] | None
) -> None:
    """A signed ``jira:issue_updated`` closing an issue keyed OPS-1 but of project WEB (or not saying its
    project): 200 ``{"ok": true, "ignored": true}``, logged as ``tracker_webhook_ignored``, and OPS-1's
    follow-up stays open; the same event of project OPS is then recorded."""
    bot, kind = jira_bot
    slack = SlackDriver(bot, fake_slack)
    channel = slack.declare("declare sev1 CDN edge returning 502s")
    slack.ephemeral("followup canary deployment for firewall changes", channel_id=channel)
    for _ in range(100):
        if bot.usecases.incidents.get(1).followups[0].tracker_key:
            break
        bot.drain()
    assert bot.usecases.incidents.get(1).followups[0].tracker_key == "OPS-1"
    foreign = kind.closed()
    if project is None:
        del foreign["issue"]["fields"]["project"]
    else:
        foreign["issue"]["fields"]["project"] = project
    with capture_logs() as logs:
        answer = deliver(bot, kind, foreign)
    assert (answer.status, answer.json()) == (200, {"ok": True, "ignored": True})
    ignored = [e for e in logs if e["event"] == "tracker_webhook_ignored"]
    assert [(e["tracker"], e["key"], e.get("project")) for e in ignored] == [
        ("jira", "OPS-1", project["key"] if project else None)
    ]
    assert bot.usecases.incidents.get(1).followups[0].state.value == "open"
    ours = deliver(bot, kind, kind.closed())
    assert ours.json() == {"ok": True, "recorded": True, "followup": "INC-1#1"}
    assert bot.usecases.incidents.get(1).followups[0].state.value == "done"


NOT_DONE = {
    "github": ("not_planned", "closed as not planned in GitHub (acme/web#1)"),
    "jira": ("Won't Do", "resolved as Won't Do in Jira (OPS-1)"),
}


def test_a_close_without_doing_it_drops_and_a_reopen_reopens(
    setup: tuple[RunningBot, Kind], fake_slack: FakeSlack
) -> None:
    """GitHub ``state_reason: not_planned`` / Jira resolution "Won't Do": dropped (by the tracker, with its
    reason and the key); reopened there: open again; each once."""
    bot, kind = setup
    tracker = kind.settings["TRACKER"]
    said, reason = NOT_DONE[tracker]
    slack = SlackDriver(bot, fake_slack)
    channel = slack.declare("declare sev1 CDN edge returning 502s")
    slack.ephemeral("followup canary deployment for firewall changes", channel_id=channel)
    for _ in range(100):
        if bot.usecases.incidents.get(1).followups[0].tracker_key:
            break
        bot.drain()
    closed = kind.closed()
    kind.close_without_doing(said)
    if tracker == "github":
        closed["issue"]["state_reason"] = said
    else:
        closed["issue"]["fields"]["resolution"] = {"id": "10001", "name": said}
    assert deliver(bot, kind, closed).json() == {"ok": True, "recorded": True, "followup": "INC-1#1"}
    assert deliver(bot, kind, closed).json() == {"ok": True, "recorded": False, "followup": "INC-1#1"}
    assert bot.usecases.incidents.get(1).followups[0].state.value == "dropped"
    assert deliver(bot, kind, kind.reopened()).json() == {"ok": True, "recorded": True, "followup": "INC-1#1"}
    entries = bot.usecases.incidents.timeline(1)[1]
    kinds = (EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_DROPPED, EntryKind.FOLLOWUP_REOPENED)
    assert [(e.kind, e.actor, e.text) for e in entries if e.kind in kinds] == [
        (EntryKind.FOLLOWUP_DROPPED, tracker, reason),
        (EntryKind.FOLLOWUP_REOPENED, tracker, f"reopened in {kind.key}"),
    ]
    assert bot.usecases.incidents.get(1).followups[0].state.value == "open"


@pytest.fixture
def github_bot_capitalised(
    migrated_database: None, database_url: str, fake_slack: FakeSlack
) -> Iterator[tuple[RunningBot, Kind]]:
    """The bot configured with ``TRACKER_PROJECT=ACME/Web`` against GitHub's ``acme/web``."""
    with serving(FakeGitHub(repository="acme/web")) as fake:
        kind = github_kind(fake)
        kind.settings["TRACKER_PROJECT"] = "ACME/Web"
        with running_bot(database_url, fake_slack.base_url, **kind.settings, TRACKER_WEBHOOK_SECRET=SECRET) as bot:
            yield bot, kind


@pytest.mark.parametrize("full_name", ["acme/web", "ACME/WEB", "Acme/Web", "ACME/Web"])
def test_a_github_repository_is_matched_in_any_case(
    github_bot_capitalised: tuple[RunningBot, Kind], fake_slack: FakeSlack, full_name: str
) -> None:
    """GitHub names ``owner/repo`` case-insensitively: with ``TRACKER_PROJECT=ACME/Web`` the follow-up is
    filed in ``acme/web`` (keyed ``ACME/Web#1``) and a signed close whose ``repository.full_name`` is
    ``full_name`` is recorded; ``acme/web2`` (another repository) is ignored."""
    bot, kind = github_bot_capitalised
    slack = SlackDriver(bot, fake_slack)
    channel = slack.declare("declare sev1 CDN edge returning 502s")
    slack.ephemeral("followup canary deployment for firewall changes", channel_id=channel)
    for _ in range(100):
        if bot.usecases.incidents.get(1).followups[0].tracker_key:
            break
        bot.drain()
    assert bot.usecases.incidents.get(1).followups[0].tracker_key == "ACME/Web#1"
    other = kind.closed()
    other["repository"]["full_name"] = "acme/web2"
    assert deliver(bot, kind, other).json() == {"ok": True, "ignored": True}
    closed = kind.closed()
    closed["repository"]["full_name"] = full_name
    assert deliver(bot, kind, closed).json() == {"ok": True, "recorded": True, "followup": "INC-1#1"}
    assert bot.usecases.incidents.get(1).followups[0].state.value == "done"


def test_a_late_or_redelivered_close_records_what_the_issue_is_now(
    setup: tuple[RunningBot, Kind], fake_slack: FakeSlack
) -> None:
    """Closed, then reopened, then the first "closed" delivered again (GitHub's Redeliver, a late delivery):
    the bot reads the issue back, finds it open, and records nothing."""
    bot, kind = setup
    slack = SlackDriver(bot, fake_slack)
    channel = slack.declare("declare sev1 CDN edge returning 502s")
    slack.ephemeral("followup canary deployment for firewall changes", channel_id=channel)
    for _ in range(100):
        if bot.usecases.incidents.get(1).followups[0].tracker_key:
            break
        bot.drain()
    first_close = kind.closed()
    assert deliver(bot, kind, first_close).json() == {"ok": True, "recorded": True, "followup": "INC-1#1"}
    assert deliver(bot, kind, kind.reopened()).json() == {"ok": True, "recorded": True, "followup": "INC-1#1"}
    with capture_logs() as logs:
        assert deliver(bot, kind, first_close).json() == {"ok": True, "recorded": False, "followup": "INC-1#1"}
    assert [e["key"] for e in logs if e["event"] == "tracker_webhook_stale"] == [kind.key]
    assert bot.usecases.incidents.get(1).followups[0].state.value == "open"
    entries = bot.usecases.incidents.timeline(1)[1]
    kinds = (EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_DROPPED, EntryKind.FOLLOWUP_REOPENED)
    assert [e.kind for e in entries if e.kind in kinds] == [EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_REOPENED]
