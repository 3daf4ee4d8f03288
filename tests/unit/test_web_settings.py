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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://incidents.example.com/incidents", "https://incidents.example.com/incidents"),
        ("https://incidents.example.com/?x=1", "https://incidents.example.com/?x=1"),
        ("https://incidents.example.com#top", "https://incidents.example.com#top"),
    ],
)
def test_a_url_with_a_path_query_or_fragment_is_refused(url: str, shown: str) -> None:
    """The view is served at the root of its host: Slack's sign-in would come back to a URL nothing answers."""
    with pytest.raises(ConfigError) as raised:
        settings(INCIDENT_WEB_URL=url, INCIDENT_WEB_SESSION_SECRET=SECRET, **SIGN_IN)
    assert str(raised.value) == (
        "INCIDENT_WEB_URL must be the root of the host the web view is served at, such as "
        f"'https://incidents.example.com': got '{shown}' (no path, query or fragment; the view has no path prefix)."
    )


@pytest.mark.parametrize("host", ["incidents.internal", "10.0.0.7:8080", "example.com"])
def test_sign_in_over_plain_http_to_another_machine_is_refused(host: str) -> None:
    """Browsers keep a Secure cookie only over https or on this machine: the sign-in could never finish."""
    with pytest.raises(ConfigError) as raised:
        settings(INCIDENT_WEB_URL=f"http://{host}", INCIDENT_WEB_SESSION_SECRET=SECRET, **SIGN_IN)
    assert str(raised.value).startswith(f"INCIDENT_WEB_URL 'http://{host}' is plain http to another machine")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost"])
def test_plain_http_is_fine_on_this_machine_and_for_the_token_alone(url: str) -> None:
    assert settings(INCIDENT_WEB_URL=url, INCIDENT_WEB_SESSION_SECRET=SECRET, **SIGN_IN).web_sign_in
    token_only = settings(
        INCIDENT_WEB_URL="http://incidents.internal",
        INCIDENT_WEB_SESSION_SECRET=SECRET,
        INCIDENT_WEB_API_TOKEN="t" * 40,
    )
    assert token_only.web and not token_only.web_sign_in
