"""The fakes answer what the published descriptions describe, and the clients read only what is there.

Samples in tests/payloads/trackers/ (each names its source in ``_source``): GitHub's
``components/examples/issue`` from github/rest-api-description, and Jira Cloud v3 shapes from
Atlassian's OpenAPI schemas. A fake that drifted from them, or a client reading a field the tracker
does not send, fails here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.integrations.trackers.github import GitHubTracker
from bot.integrations.trackers.jira import JiraTracker
from bot.integrations.trackers.port import IssueStatus, TrackerIssue, TrackerRef
from tests.support.fake_github import TOKEN as GITHUB_TOKEN
from tests.support.fake_github import FakeGitHub
from tests.support.fake_jira import EMAIL, FakeJira
from tests.support.fake_jira import TOKEN as JIRA_TOKEN

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "trackers"
GITHUB_ISSUE: dict[str, Any] = json.loads((PAYLOADS / "github_issue.json").read_text())
JIRA: dict[str, Any] = json.loads((PAYLOADS / "jira_shapes.json").read_text())

GITHUB_FIELDS_READ = {"number", "html_url", "state", "state_reason", "closed_at", "body", "labels", "assignees"}
"""Every field of an issue bot.integrations.trackers.github reads (and ``pull_request``, whose
presence marks a pull request in the issue list)."""


def _kind(value: Any) -> str:
    return type(value).__name__


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(repository="octocat/Hello-World", users=("octocat",))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    fake = FakeJira(project="ED")
    await fake.start()
    yield fake
    await fake.stop()


class TestGitHub:
    def test_the_client_reads_only_published_fields(self) -> None:
        assert GITHUB_FIELDS_READ | {"pull_request"} <= GITHUB_ISSUE.keys()

    async def test_the_fakes_issue_has_every_published_field_with_its_type(self, github: FakeGitHub) -> None:
        """Every top-level field of the published example, with the same JSON type (null where the
        fake has nothing to say: a field GitHub documents as nullable). ``pull_request`` only on pull
        requests, which the fake never files."""
        tracker = GitHubTracker("octocat/Hello-World", GITHUB_TOKEN, github.url)
        await tracker.file(TrackerIssue("incidentbot:INC-1:followup-1", "Found a bug", "b", ("INC-1",), "octocat"))
        ours = github.issues[1]
        published = {k: v for k, v in GITHUB_ISSUE.items() if not k.startswith("_") and k != "pull_request"}
        assert sorted(published.keys() - ours.keys()) == []
        differing = {
            key: (_kind(value), _kind(ours[key]))
            for key, value in published.items()
            if ours[key] is not None and value is not None and _kind(ours[key]) != _kind(value)
        }
        assert differing == {}
        assert {k for k in GITHUB_ISSUE["labels"][0]} == set(ours["labels"][0])

    async def test_the_client_reads_the_published_example(self, github: FakeGitHub) -> None:
        """The spec's own example issue, served as is (closed for the occasion), reads as expected."""
        example = {k: v for k, v in GITHUB_ISSUE.items() if not k.startswith("_")}
        example.update(state="closed", closed_at="2011-04-23T10:00:00Z")
        github.issues[1347] = example
        tracker = GitHubTracker("octocat/Hello-World", GITHUB_TOKEN, github.url)
        state = await tracker.state(TrackerRef("octocat/Hello-World#1347", ""))
        assert state.ref == TrackerRef("octocat/Hello-World#1347", "https://github.com/octocat/Hello-World/issues/1347")
        assert (state.status, state.closed_at, state.reason, state.assignee) == (
            IssueStatus.CLOSED,
            datetime(2011, 4, 23, 10, 0, tzinfo=UTC),
            "completed",
            "octocat",
        )

    async def test_the_example_is_a_pull_request_and_the_lookup_skips_it(self, github: FakeGitHub) -> None:
        """The published example carries ``pull_request``: the issue list returns pull requests too,
        and one whose body holds the marker is not taken for the follow-up's issue."""
        example = {k: v for k, v in GITHUB_ISSUE.items() if not k.startswith("_")}
        example.update(body="<!-- incidentbot:INC-1:followup-1 -->", labels=[{"name": "incidentbot"}])
        github.issues[1347] = example
        tracker = GitHubTracker("octocat/Hello-World", GITHUB_TOKEN, github.url)
        assert await tracker.find("incidentbot:INC-1:followup-1") is None


class TestJira:
    async def test_created_issue_error_and_search_answers_have_the_published_keys(self, jira: FakeJira) -> None:
        """Raw answers of the fake: CreatedIssue (id, key, self), ErrorCollection (errorMessages,
        errors), SearchAndReconcileResults (issues, nextPageToken, isLast)."""
        auth = {"Authorization": "Basic " + base64.b64encode(f"{EMAIL}:{JIRA_TOKEN}".encode()).decode()}
        fields = {"project": {"key": "ED"}, "issuetype": {"name": "Task"}, "summary": "s"}
        async with aiohttp.ClientSession(headers=auth) as session:
            async with session.post(f"{jira.url}/rest/api/3/issue", json={"fields": fields}) as created:
                assert created.status == 201
                assert set(await created.json()) == set(JIRA["created"]) == {"id", "key", "self"}
            del fields["summary"]
            async with session.post(f"{jira.url}/rest/api/3/issue", json={"fields": fields}) as refused:
                assert refused.status == 400
                assert set(await refused.json()) == set(JIRA["error"])
            query = {"jql": 'project = "ED" AND labels = "x"', "fields": ["labels"], "maxResults": 1}
            async with session.post(f"{jira.url}/rest/api/3/search/jql", json=query) as searched:
                assert set(await searched.json()) <= {"issues", "nextPageToken", "isLast"}
                assert set(JIRA["search"]) <= {"issues", "nextPageToken", "isLast"}

    async def test_the_client_reads_the_published_issue_shape(self, jira: FakeJira) -> None:
        jira.issues["ED-1"] = dict(JIRA["issue"])
        tracker = JiraTracker(jira.url, "ED", EMAIL, JIRA_TOKEN)
        state = await tracker.state(TrackerRef("ED-1", ""))
        assert (state.status, state.closed_at, state.reason, state.assignee) == (
            IssueStatus.CLOSED,
            datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
            "Done",
            "5b10a2844c20165700ede21g",
        )

    async def test_the_fakes_answers_have_the_published_keys(self, jira: FakeJira) -> None:
        tracker = JiraTracker(jira.url, "ED", EMAIL, JIRA_TOKEN)
        ref = await tracker.file(TrackerIssue("incidentbot:INC-1:followup-1", "t", "b", ("INC-1",)))
        status = jira.issues[ref.key]["fields"]["status"]
        published = JIRA["issue"]["fields"]["status"]
        assert {"id", "name", "statusCategory"} <= status.keys() <= published.keys()
        assert {"id", "key", "name", "colorName"} <= status["statusCategory"].keys()
        searched = jira.calls("search")
        assert searched and set(JIRA["search"]) == {"issues", "isLast"}
