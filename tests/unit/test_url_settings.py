"""URL settings never hold credentials, and a refusal never shows a password: CONFLUENCE_URL with
``user:pass@`` in it used to pass, then crash doctor and every publication with aiohttp's "Cannot combine
AUTHORIZATION header with ... credentials encoded in URL" traceback, and ``ftp://bob:hunter2@...`` was
refused with the password in the message."""

from __future__ import annotations

import pytest

from bot.config import read_settings

BASE = {
    "CONFLUENCE_URL": "https://acme.atlassian.net",
    "CONFLUENCE_SPACE": "OPS",
    "CONFLUENCE_USER": "bot@acme.example",
    "CONFLUENCE_API_TOKEN": "ATATT3x-token",
    "TRACKER": "jira",
    "TRACKER_URL": "https://acme.atlassian.net",
    "TRACKER_PROJECT": "OPS",
    "TRACKER_USER": "bot@acme.example",
    "TRACKER_TOKEN": "jira-token",
}
SETTINGS = ["CONFLUENCE_URL", "TRACKER_URL", "SLACK_API_URL", "PAGERDUTY_EVENTS_URL"]
CREDENTIALS = [
    ("https://user:hunter2@acme.atlassian.net", "https://***@acme.atlassian.net"),
    ("http://bot%40acme.example:s3cret@127.0.0.1:43901", "http://***@127.0.0.1:43901"),
    ("https://hunter2@acme.atlassian.net/", "https://***@acme.atlassian.net"),
    ("https://:hunter2@acme.atlassian.net", "https://***@acme.atlassian.net"),
]


def _problems(name: str, value: str) -> list[tuple[str, str]]:
    _, problems = read_settings({**BASE, name: value}, env_file=None)
    return [(p.name, p.message) for p in problems]


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize(("url", "shown"), CREDENTIALS)
def test_a_url_with_credentials_is_refused_without_showing_them(name: str, url: str, shown: str) -> None:
    [(named, message)] = _problems(name, url)
    assert named == name
    assert message.startswith(f"{name} must not hold a user or password (give the token in its own setting), got '")
    assert shown in message and "hunter2" not in message and "s3cret" not in message


@pytest.mark.parametrize("name", SETTINGS)
def test_another_scheme_is_refused_with_its_password_hidden(name: str) -> None:
    [(named, message)] = _problems(name, "ftp://bob:hunter2@acme.atlassian.net")
    assert named == name and "ftp://***@acme.atlassian.net" in message and "hunter2" not in message


@pytest.mark.parametrize("name", SETTINGS)
def test_an_at_sign_after_the_host_is_not_a_password(name: str) -> None:
    """``@`` in a path or query is not userinfo: such a URL is accepted."""
    assert _problems(name, "https://acme.atlassian.net/x?mail=a@b") == []
