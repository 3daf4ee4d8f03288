"""``incidentbot doctor``'s tracker line, against the fake GitHub and fake Jira on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import load_settings
from bot.doctor import FAIL, OK, Check, tracker_check
from tests.support.fake_github import TOKEN as GITHUB_TOKEN
from tests.support.fake_github import FakeGitHub
from tests.support.fake_jira import EMAIL, FakeJira
from tests.support.fake_jira import TOKEN as JIRA_TOKEN


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


def _github(fake: FakeGitHub, project: str = "acme/web", token: str = GITHUB_TOKEN) -> dict[str, str]:
    return {"TRACKER": "github", "TRACKER_URL": fake.url, "TRACKER_PROJECT": project, "TRACKER_TOKEN": token}


async def test_no_tracker_no_line() -> None:
    assert await tracker_check(load_settings({}, env_file=None)) is None


async def test_github_reachable(github: FakeGitHub) -> None:
    check = await tracker_check(load_settings(_github(github), env_file=None))
    assert check == Check("tracker (github)", OK, "acme/web reachable, issues enabled")
    assert [r.route for r in github.requests] == ["repo"]


@pytest.mark.parametrize(
    ("project", "token", "detail"),
    [
        (
            "acme/web",
            "ghp_wrong",
            "GET /repos/acme/web: GitHub refused (HTTP 401, the token is not valid: check TRACKER_TOKEN): "
            "Bad credentials",
        ),
        (
            "acme/gone",
            GITHUB_TOKEN,
            "GET /repos/acme/gone: GitHub refused (HTTP 404, no such project or issue, or the token cannot see it: "
            "check TRACKER_PROJECT): Not Found",
        ),
    ],
)
async def test_github_refusals_fail_with_the_reason(github: FakeGitHub, project: str, token: str, detail: str) -> None:
    check = await tracker_check(load_settings(_github(github, project, token), env_file=None))
    assert check is not None
    assert (check.status, check.detail) == (FAIL, detail)
    assert token not in check.detail + check.fix


async def test_github_with_issues_off_fails(github: FakeGitHub) -> None:
    github.has_issues = False
    check = await tracker_check(load_settings(_github(github), env_file=None))
    assert check is not None
    assert (check.status, check.detail) == (
        FAIL,
        "acme/web has issues turned off: enable them in the repository's settings",
    )


async def test_github_without_push_access_fails(github: FakeGitHub) -> None:
    """GitHub drops labels of issues filed without push access: the lookup would find nothing."""
    github.push_access = False
    check = await tracker_check(load_settings(_github(github), env_file=None))
    assert check is not None
    assert (check.status, check.detail) == (
        FAIL,
        "the token's account has no push access to acme/web: GitHub would silently drop the labels the bot "
        "finds its issues by; give it write access",
    )


async def test_jira_reachable_and_refused(jira: FakeJira) -> None:
    values = {
        "TRACKER": "jira",
        "TRACKER_URL": jira.url,
        "TRACKER_PROJECT": "OPS",
        "TRACKER_TOKEN": JIRA_TOKEN,
        "TRACKER_USER": EMAIL,
    }
    assert await tracker_check(load_settings(values, env_file=None)) == Check(
        "tracker (jira)", OK, "token valid (incidentbot); project OPS (Operations) reachable"
    )
    refused = await tracker_check(load_settings({**values, "TRACKER_PROJECT": "NOPE"}, env_file=None))
    assert refused is not None and refused.status == FAIL
    assert refused.detail.startswith("GET /rest/api/3/project/NOPE: Jira refused (HTTP 404")


@pytest.mark.parametrize(("user", "token"), [("someone@acme.example", JIRA_TOKEN), (EMAIL, "ATATT3xWRONG")])
async def test_jira_401_names_the_user_and_the_token(jira: FakeJira, user: str, token: str) -> None:
    """Jira Cloud answers 401 alike for a wrong account email and a wrong token: the line names both settings."""
    values = {
        "TRACKER": "jira",
        "TRACKER_URL": jira.url,
        "TRACKER_PROJECT": "OPS",
        "TRACKER_TOKEN": token,
        "TRACKER_USER": user,
    }
    check = await tracker_check(load_settings(values, env_file=None))
    assert check is not None
    assert (check.status, check.detail) == (
        FAIL,
        "GET /rest/api/3/myself: Jira refused (HTTP 401, the account email or the token is not valid: "
        "check TRACKER_USER and TRACKER_TOKEN): Client must be authenticated to access this resource.",
    )
    assert check.fix == "correct TRACKER_USER / TRACKER_TOKEN / TRACKER_PROJECT (README, Trackers: token scopes)"
    assert token not in check.detail + check.fix


async def test_an_unreachable_tracker_fails_with_the_network_fix(github: FakeGitHub) -> None:
    url = github.url
    await github.stop()
    check = await tracker_check(load_settings({**_github(github), "TRACKER_URL": url}, env_file=None))
    assert check is not None and check.status == FAIL
    assert check.fix.startswith(f"check the network path to {url}")
