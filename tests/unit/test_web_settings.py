"""The web view's settings: off unless INCIDENT_WEB_URL is set, and refused with one clear line when half set."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.errors import ConfigError

SECRET = "s" * 32
SIGN_IN = {"SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": "abc123", "SLACK_TEAM_ID": "T0TEST"}


def settings(**environ: str):  # type: ignore[no-untyped-def]
    return load_settings(environ, env_file=None)


def test_off_by_default() -> None:
    loaded = settings()
    assert (loaded.web, loaded.web_sign_in, loaded.web_url) == (False, False, "")


def test_on_with_a_url_a_secret_and_a_reader() -> None:
    loaded = settings(INCIDENT_WEB_URL="https://incidents.example.com/", INCIDENT_WEB_SESSION_SECRET=SECRET, **SIGN_IN)
    assert (loaded.web, loaded.web_sign_in, loaded.web_url) == (True, True, "https://incidents.example.com")
    assert loaded.slack_oidc_issuer == "https://slack.com"
    assert "abc123" not in repr(loaded)
    token_only = settings(
        INCIDENT_WEB_URL="https://i.example", INCIDENT_WEB_SESSION_SECRET=SECRET, INCIDENT_WEB_API_TOKEN="t" * 40
    )
    assert (token_only.web, token_only.web_sign_in) == (True, False)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"INCIDENT_WEB_URL": "https://i.example", "INCIDENT_WEB_API_TOKEN": "t"},
            "INCIDENT_WEB_SESSION_SECRET must be at least 32 characters (it signs the web view's session cookie): "
            "generate one with `openssl rand -hex 32`.",
        ),
        (
            {
                "INCIDENT_WEB_URL": "https://i.example",
                "INCIDENT_WEB_SESSION_SECRET": "s" * 31,
                "INCIDENT_WEB_API_TOKEN": "t",
            },
            "INCIDENT_WEB_SESSION_SECRET must be at least 32 characters (it signs the web view's session cookie): "
            "generate one with `openssl rand -hex 32`.",
        ),
        (
            {"INCIDENT_WEB_URL": "https://i.example", "INCIDENT_WEB_SESSION_SECRET": SECRET},
            "INCIDENT_WEB_URL is set, but nobody could read the web view: configure Sign in with Slack "
            "(SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_TEAM_ID) or INCIDENT_WEB_API_TOKEN.",
        ),
        (
            {"INCIDENT_WEB_URL": "https://i.example", "INCIDENT_WEB_SESSION_SECRET": SECRET, "SLACK_CLIENT_ID": "1.2"},
            "Sign in with Slack needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_TEAM_ID; SLACK_CLIENT_SECRET "
            "and SLACK_TEAM_ID are not set.",
        ),
        (
            {
                "INCIDENT_WEB_URL": "incidents.example.com",
                "INCIDENT_WEB_SESSION_SECRET": SECRET,
                "INCIDENT_WEB_API_TOKEN": "t",
            },
            "INCIDENT_WEB_URL must be an http(s) URL such as https://incidents.example.com, "
            "got 'incidents.example.com'.",
        ),
        (
            {"INCIDENT_WEB_API_TOKEN": "t"},
            "INCIDENT_WEB_API_TOKEN is set but INCIDENT_WEB_URL is not: set it (the web view) or remove it.",
        ),
    ],
)
def test_half_configured_is_refused_with_one_line(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**environ)
    assert raised.value.user_message == message
