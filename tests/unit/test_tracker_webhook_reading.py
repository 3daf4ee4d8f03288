"""Tracker webhooks read (``bot.integrations.trackers.webhook``): signatures over any body, and which
GitHub and Jira events are a close or a reopen of the configured project's issue."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.integrations.trackers.webhook import IssueEvent, issue_event, signature_valid


def signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@given(body=st.binary(max_size=200), secret=st.text(min_size=1, max_size=40), other=st.text(min_size=1, max_size=40))
def test_signatures(body: bytes, secret: str, other: str) -> None:
    """A body signed with the secret passes, in either tracker's header; another secret, another body or no
    header fails."""
    assert signature_valid("github", {"X-Hub-Signature-256": signed(secret, body)}, body, secret)
    assert signature_valid("jira", {"X-Hub-Signature": signed(secret, body)}, body, secret)
    assert not signature_valid("github", {"X-Hub-Signature": signed(secret, body)}, body, secret)
    assert not signature_valid("github", {}, body, secret)
    assert not signature_valid("github", {"X-Hub-Signature-256": signed(secret, body)}, body + b"x", secret)
    if other != secret:
        assert not signature_valid("github", {"X-Hub-Signature-256": signed(other, body)}, body, secret)


def test_no_secret_configured_refuses_everything() -> None:
    """An empty secret never validates, even a body signed with the empty key."""
    assert not signature_valid("github", {"X-Hub-Signature-256": signed("", b"{}")}, b"{}", "")


GITHUB = {"X-GitHub-Event": "issues"}
REPO = {"full_name": "acme/web"}


@pytest.mark.parametrize(
    ("tracker", "headers", "body", "expected"),
    [
        (
            "github",
            GITHUB,
            {"action": "closed", "issue": {"number": 7, "closed_at": "2026-11-29T20:00:00Z"}, "repository": REPO},
            IssueEvent("acme/web#7", True, datetime(2026, 11, 29, 20, 0, tzinfo=UTC)),
        ),
        (
            "github",
            GITHUB,
            {"action": "reopened", "issue": {"number": 7}, "repository": REPO},
            IssueEvent("acme/web#7", False),
        ),
        ("github", GITHUB, {"action": "labeled", "issue": {"number": 7}, "repository": REPO}, None),
        (
            "github",
            {"X-GitHub-Event": "issue_comment"},
            {"action": "closed", "issue": {"number": 7}, "repository": REPO},
            None,
        ),
        ("github", GITHUB, {"action": "closed", "issue": {"number": 7}, "repository": {"full_name": "acme/api"}}, None),
        ("github", GITHUB, {"action": "closed", "issue": {"number": "7"}, "repository": REPO}, None),
        (
            "jira",
            {},
            {
                "webhookEvent": "jira:issue_updated",
                "issue": {
                    "key": "OPS-7",
                    "fields": {
                        "project": {"key": "OPS"},
                        "status": {"statusCategory": {"key": "done"}},
                        "resolutiondate": "2026-11-30T09:15:00.000+0000",
                    },
                },
            },
            IssueEvent("OPS-7", True, datetime(2026, 11, 30, 9, 15, tzinfo=UTC)),
        ),
        (
            "jira",
            {},
            {
                "webhookEvent": "jira:issue_updated",
                "issue": {
                    "key": "OPS-7",
                    "fields": {"project": {"key": "OPS"}, "status": {"statusCategory": {"key": "indeterminate"}}},
                },
            },
            IssueEvent("OPS-7", False),
        ),
        (
            "jira",
            {},
            {
                "webhookEvent": "jira:issue_updated",
                "issue": {"key": "WEB-7", "fields": {"status": {"statusCategory": {"key": "done"}}}},
            },
            None,
        ),
        ("jira", {}, {"webhookEvent": "jira:issue_created", "issue": {"key": "OPS-7", "fields": {}}}, None),
        ("jira", {}, ["not", "an", "object"], None),
    ],
)
def test_issue_events(tracker: str, headers: dict[str, str], body: Any, expected: IssueEvent | None) -> None:
    """Closes and reopens of the project's issues are read with their key and time; anything else is None."""
    project = "acme/web" if tracker == "github" else "OPS"
    assert issue_event(tracker, headers, body, project) == expected


@pytest.mark.parametrize(
    "project",
    [
        {"key": "WEB"},
        {"key": "ops"},
        {"key": "OPSX"},
        {"id": "10000"},
        None,
        "OPS",
    ],
)
def test_a_jira_issue_of_another_project_is_not_taken_whatever_its_key(project: Any) -> None:
    """An event whose ``issue.fields.project.key`` is not the configured project (or is not said) is None,
    even with a key shaped like the project's (``OPS-7``)."""
    fields: dict[str, Any] = {"status": {"statusCategory": {"key": "done"}}}
    if project is not None:
        fields["project"] = project
    body = {"webhookEvent": "jira:issue_updated", "issue": {"key": "OPS-7", "fields": fields}}
    assert issue_event("jira", {}, body, "OPS") is None


@pytest.mark.parametrize(
    ("reason", "dropped"),
    [
        ("completed", None),
        ("not_planned", "closed as not planned in GitHub"),
        ("duplicate", "closed as duplicate in GitHub"),
        (None, None),
    ],
)
def test_a_github_close_says_whether_it_was_done(reason: str | None, dropped: str | None) -> None:
    """``issue.state_reason`` not_planned or duplicate: closed without being done."""
    issue = {"number": 7, "closed_at": "2026-11-30T09:15:00Z", "state_reason": reason}
    body = {"action": "closed", "issue": issue, "repository": REPO}
    expected = IssueEvent("acme/web#7", True, datetime(2026, 11, 30, 9, 15, tzinfo=UTC), dropped)
    assert issue_event("github", GITHUB, body, "acme/web") == expected


@pytest.mark.parametrize(
    ("resolution", "dropped"),
    [
        ({"name": "Done"}, None),
        ({"name": "Won't Do"}, "resolved as Won't Do in Jira"),
        ({"name": "Duplicate"}, "resolved as Duplicate in Jira"),
        ({"name": "Cannot Reproduce"}, "resolved as Cannot Reproduce in Jira"),
        ({"name": "Won't Fix"}, "resolved as Won't Fix in Jira"),
        (None, None),
    ],
)
def test_a_jira_resolution_says_whether_it_was_done(resolution: Any, dropped: str | None) -> None:
    """``issue.fields.resolution.name`` Won't Do, Won't Fix, Duplicate, Cannot Reproduce: closed without
    being done; any other or none: done."""
    fields = {"project": {"key": "OPS"}, "status": {"statusCategory": {"key": "done"}}, "resolution": resolution}
    body = {"webhookEvent": "jira:issue_updated", "issue": {"key": "OPS-7", "fields": fields}}
    assert issue_event("jira", {}, body, "OPS") == IssueEvent("OPS-7", True, None, dropped)
