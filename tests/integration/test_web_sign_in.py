"""Sign in with Slack (OpenID Connect) for the web view, against the fake provider on 127.0.0.1: the request the
bot makes, the session cookie it sets, and every sign-in it must refuse (another workspace, a bad or replayed
state, a nonce that is not this browser's, a token that does not verify), a tampered or expired session, and the
sign-out form's CSRF token. The database plays no part here: SQLite only."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.fake_oidc import FakeSlackOpenID
from tests.support.fake_slack import FakeSlack
from tests.support.web import (
    SESSION_COOKIE,
    SESSION_SECRET,
    SIGN_IN_COOKIE,
    flip,
    get,
    local_path,
    request,
    seed,
    session_of,
    sign_in,
    web_settings,
)

TOKEN_PATH = "/api/openid.connect.token"


@pytest.fixture()
def provider(provider: FakeSlackOpenID) -> FakeSlackOpenID:
    """The integration fixtures' fake provider, signing carol in unless a test says otherwise."""
    provider.sign_in_as("U0CAROL", "carol", "carol@example.com")
    return provider


@pytest.fixture()
def web_bot(tmp_path: Path, fake_slack: FakeSlack, provider: FakeSlackOpenID) -> Iterator[RunningBot]:
    url = sqlite_url(tmp_path)
    seed(url)
    with running_bot(url, fake_slack.base_url, **web_settings(provider)) as running:
        yield running


def refused(answer: Any, words: str) -> None:
    """A refused sign-in: a 400 page saying ``words``, and no session cookie set."""
    assert answer.status == 400, answer.body
    assert words in answer.body
    assert SESSION_COOKIE not in answer.cookies or answer.cookies[SESSION_COOKIE].value == ""


def test_sign_in_asks_slack_as_documented_and_sets_a_safe_session(
    web_bot: RunningBot, provider: FakeSlackOpenID
) -> None:
    done = sign_in(web_bot.port, provider, next_path="/incidents/INC-1")
    authorize = parse_qs(urlsplit(done.login.header("Location") or "").query)
    assert {k: v[0] for k, v in authorize.items() if k not in ("state", "nonce")} == {
        "response_type": "code",
        "scope": "openid profile email",
        "client_id": provider.client_id,
        "redirect_uri": "https://incidents.test/auth/callback",
        "team": "T0TEST",
    }
    assert len(authorize["state"][0]) >= 32 and len(authorize["nonce"][0]) >= 32
    assert authorize["state"] != authorize["nonce"]
    sign_in_cookie = done.login.cookies[SIGN_IN_COOKIE]
    assert (sign_in_cookie["secure"], sign_in_cookie["httponly"], sign_in_cookie["samesite"]) == (True, True, "Lax")
    assert sign_in_cookie["max-age"] == "600"
    # The code went to the token endpoint with the app's credentials and the same redirect_uri.
    (token_request,) = provider.requests_to(TOKEN_PATH)
    assert token_request.method == "POST"
    assert token_request.form == {
        "grant_type": "authorization_code",
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "code": parse_qs(urlsplit(done.callback_path).query)["code"][0],
        "redirect_uri": "https://incidents.test/auth/callback",
    }
    assert done.callback.status == 302
    assert done.callback.header("Location") == "/incidents/INC-1"
    session = done.callback.cookies[SESSION_COOKIE]
    assert (session["secure"], session["httponly"], session["samesite"], session["path"]) == (True, True, "Lax", "/")
    assert session["max-age"] == str(12 * 3600)
    assert done.callback.cookies[SIGN_IN_COOKIE]["max-age"] == "0"  # the sign-in state is spent
    page = get(web_bot.port, "/incidents/INC-1", cookies={SESSION_COOKIE: session.value})
    assert page.status == 200
    assert "<span>carol</span>" in page.body and 'name="csrf"' in page.body


def test_another_workspace_is_refused(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    provider.sign_in_as("U0MALLORY", "mallory", "mallory@other.example", team_id="T0OTHER")
    refused(sign_in(web_bot.port, provider).callback, "another Slack workspace")


@pytest.mark.parametrize("how", ["altered", "missing", "no cookie", "cookie of another sign-in", "forged cookie"])
def test_a_bad_state_is_refused(web_bot: RunningBot, provider: FakeSlackOpenID, how: str) -> None:
    port = web_bot.port
    login = get(port, "/auth/login")
    back = get(urlsplit(provider.issuer).port or 0, local_path(login.header("Location") or ""))
    path = local_path(back.header("Location") or "")
    query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
    cookie = {SIGN_IN_COOKIE: login.cookies[SIGN_IN_COOKIE].value}
    if how == "altered":
        query["state"] = query["state"][:-2] + ("AA" if not query["state"].endswith("AA") else "BB")
    elif how == "missing":
        del query["state"]
    elif how == "no cookie":
        cookie = {}
    elif how == "cookie of another sign-in":
        cookie = {SIGN_IN_COOKIE: get(port, "/auth/login").cookies[SIGN_IN_COOKIE].value}
    else:  # the right state, signed with another secret
        forger = URLSafeTimedSerializer("not-the-secret-" * 3, salt="incidentbot-web-sign-in")
        cookie = {SIGN_IN_COOKIE: forger.dumps({"s": query["state"], "n": "n", "p": "/"})}
    answer = get(port, "/auth/callback?" + urlencode(query), cookies=cookie)
    refused(answer, "sign in again")
    assert provider.requests_to(TOKEN_PATH) == []  # refused before the code was spent


def test_a_replayed_callback_is_refused(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    done = sign_in(web_bot.port, provider)
    assert done.callback.status == 302
    again = get(web_bot.port, done.callback_path, cookies={SIGN_IN_COOKIE: done.sign_in_cookie})
    refused(again, "already used")
    assert len(provider.requests_to(TOKEN_PATH)) == 1  # the replay never reached the provider


def test_an_id_token_with_another_nonce_is_refused(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    """A token minted for another sign-in (its nonce) cannot be replayed into this one."""
    provider.id_token_overrides = {"nonce": "a-nonce-from-another-browser"}
    refused(sign_in(web_bot.port, provider).callback, "does not belong to this browser")
    provider.id_token_overrides = {"nonce": None}  # no nonce at all
    refused(sign_in(web_bot.port, provider).callback, "could not be verified")


@pytest.mark.parametrize(
    ("overrides", "foreign_key"),
    [
        ({"exp": int(time.time()) - 3600}, False),  # expired an hour ago
        ({"aud": "another-app"}, False),
        ({"iss": "https://evil.example"}, False),
        ({}, True),  # signed with a key not in the provider's key set
    ],
)
def test_an_id_token_that_does_not_verify_is_refused(
    web_bot: RunningBot, provider: FakeSlackOpenID, overrides: dict[str, Any], foreign_key: bool
) -> None:
    provider.id_token_overrides = overrides
    provider.sign_with_foreign_key = foreign_key
    refused(sign_in(web_bot.port, provider).callback, "could not be verified")


def test_a_code_slack_refuses_is_a_refusal(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    login = get(web_bot.port, "/auth/login")
    state = parse_qs(urlsplit(login.header("Location") or "").query)["state"][0]
    answer = get(
        web_bot.port,
        "/auth/callback?" + urlencode({"code": "never-issued", "state": state}),
        cookies={SIGN_IN_COOKIE: login.cookies[SIGN_IN_COOKIE].value},
    )
    refused(answer, "Slack refused the sign-in")


def test_cancelling_at_slack_is_a_refusal(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    provider.deny_next()
    refused(sign_in_denied(web_bot, provider), "did not sign you in")


def sign_in_denied(bot: RunningBot, provider: FakeSlackOpenID) -> Any:
    login = get(bot.port, "/auth/login")
    back = get(urlsplit(provider.issuer).port or 0, local_path(login.header("Location") or ""))
    return get(
        bot.port,
        local_path(back.header("Location") or ""),
        cookies={SIGN_IN_COOKIE: login.cookies[SIGN_IN_COOKIE].value},
    )


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_after_sign_in_the_browser_stays_on_this_site(
    web_bot: RunningBot, provider: FakeSlackOpenID, target: str
) -> None:
    done = sign_in(web_bot.port, provider, next_path=target)
    assert done.callback.status == 302
    assert done.callback.header("Location") == "/"


def test_a_tampered_session_is_refused(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    good = session_of(web_bot.port, provider, "U0CAROL", "carol")
    assert get(web_bot.port, "/", cookies={SESSION_COOKIE: good}).status == 200
    tampered = [
        flip(good, len(good) - 5),  # the signature
        flip(good, 3),  # the payload
        URLSafeTimedSerializer("another-secret-" * 3, salt="incidentbot-web-session").dumps(
            {"u": "U0CAROL", "n": "carol", "t": "T0TEST", "c": "x"}
        ),
        "",
        "garbage",
    ]
    for cookie in tampered:
        answer = get(web_bot.port, "/", cookies={SESSION_COOKIE: cookie})
        assert answer.status == 302, cookie
        assert (answer.header("Location") or "").startswith("/auth/login")
        assert get(web_bot.port, "/api/v1/incidents", cookies={SESSION_COOKIE: cookie}).status == 401


class _Signer13HoursAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 13 * 3600


def test_an_expired_session_is_refused(web_bot: RunningBot) -> None:
    """Sessions last 12 hours: one signed (with the right secret) 13 hours ago goes back to the sign-in."""
    data = {"u": "U0CAROL", "n": "carol", "t": "T0TEST", "c": "csrf"}
    old = URLSafeTimedSerializer(SESSION_SECRET, salt="incidentbot-web-session", signer=_Signer13HoursAgo).dumps(data)
    fresh = URLSafeTimedSerializer(SESSION_SECRET, salt="incidentbot-web-session").dumps(data)
    assert get(web_bot.port, "/", cookies={SESSION_COOKIE: fresh}).status == 200  # the control: same data, now
    answer = get(web_bot.port, "/", cookies={SESSION_COOKIE: old})
    assert answer.status == 302 and (answer.header("Location") or "").startswith("/auth/login")


def test_sign_out_needs_the_forms_csrf_token(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    port = web_bot.port
    carol = {SESSION_COOKIE: session_of(port, provider, "U0CAROL", "carol")}
    page = get(port, "/", cookies=carol)
    (csrf,) = re.findall(r'<input type="hidden" name="csrf" value="([^"]+)">', page.body)
    bob = {SESSION_COOKIE: session_of(port, provider, "U0BOB", "bob")}
    (bobs,) = re.findall(r'<input type="hidden" name="csrf" value="([^"]+)">', get(port, "/", cookies=bob).body)
    for form in ({}, {"csrf": ""}, {"csrf": csrf[:-1]}, {"csrf": bobs}):
        answer = request(port, "POST", "/auth/logout", cookies=carol, form=form)
        assert answer.status == 403, form
        assert SESSION_COOKIE not in answer.cookies
    assert get(port, "/auth/logout", cookies=carol).status == 405  # a link cannot sign anybody out
    out = request(port, "POST", "/auth/logout", cookies=carol, form={"csrf": csrf})
    assert out.status == 302 and out.header("Location") == "/auth/signed-out"
    assert out.cookies[SESSION_COOKIE].value == "" and out.cookies[SESSION_COOKIE]["max-age"] == "0"


def test_without_sign_in_configured_only_the_token_reads(tmp_path: Path, fake_slack: FakeSlack) -> None:
    url = sqlite_url(tmp_path)
    with running_bot(url, fake_slack.base_url, **web_settings()) as bot:
        page = get(bot.port, "/")
        assert page.status == 401 and "use the API token" in page.body
        assert get(bot.port, "/auth/login").status == 404
        assert get(bot.port, "/auth/callback?code=x&state=y").status == 404
