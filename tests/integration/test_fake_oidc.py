"""The fake "Sign in with Slack" provider (tests/support/fake_oidc.py) answers as Slack documents it.

Driven over real HTTP with aiohttp's client (redirects not followed, as a browser would show them);
the id_token is checked with PyJWT against the served JWKS, the way a relying party does. Expected
values are the literals of Slack's documentation and OpenID Connect Core, not the fake's constants.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fake_oidc import FakeSlackOpenID
from tests.support.properties import examples

CALLBACK = "http://127.0.0.1:9/auth/callback"
SECRET = "s3cr3t-of-the-app"


@pytest.fixture
def provider() -> Iterator[FakeSlackOpenID]:
    with FakeSlackOpenID(client_secret=SECRET) as fake:
        fake.sign_in_as("U0ALICE", "Alice Example", "alice@example.com")
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def authorize(
    http: aiohttp.ClientSession, fake: FakeSlackOpenID, **params: str
) -> tuple[int, dict[str, list[str]], str]:
    """GET authorize (redirect not followed): the status, the redirect's query, and the redirect's base."""
    query = {
        "response_type": "code",
        "scope": "openid profile email",
        "client_id": fake.client_id,
        "redirect_uri": CALLBACK,
        "state": "st-42",
        "nonce": "n-123",
        **params,
    }
    async with http.get(fake.issuer + "/openid/connect/authorize", params=query, allow_redirects=False) as answer:
        location = answer.headers.get("Location", "")
        url = urlsplit(location)
        return answer.status, parse_qs(url.query), f"{url.scheme}://{url.netloc}{url.path}" if location else ""


async def code_for(http: aiohttp.ClientSession, fake: FakeSlackOpenID, **params: str) -> str:
    status, query, _ = await authorize(http, fake, **params)
    assert status == 302, query
    return query["code"][0]


async def exchange(http: aiohttp.ClientSession, fake: FakeSlackOpenID, **form: str) -> dict[str, Any]:
    async with http.post(fake.issuer + "/api/openid.connect.token", data=form) as answer:
        assert answer.status == 200  # the Web API answers errors with 200 and ok: false
        body: dict[str, Any] = await answer.json()
        return body


def good_form(fake: FakeSlackOpenID, code: str) -> dict[str, str]:
    return {
        "client_id": fake.client_id,
        "client_secret": SECRET,
        "code": code,
        "redirect_uri": CALLBACK,
        "grant_type": "authorization_code",
    }


class TestDiscovery:
    async def test_the_configuration_names_slacks_endpoints_under_the_issuer(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """The discovery document gives the issuer and Slack's endpoint paths, RS256 and the code flow."""
        async with http.get(provider.issuer + "/.well-known/openid-configuration") as answer:
            document = await answer.json()
        base = f"http://127.0.0.1:{urlsplit(provider.issuer).port}"
        assert document["issuer"] == base
        assert document["authorization_endpoint"] == base + "/openid/connect/authorize"
        assert document["token_endpoint"] == base + "/api/openid.connect.token"
        assert document["userinfo_endpoint"] == base + "/api/openid.connect.userInfo"
        assert document["jwks_uri"] == base + "/openid/connect/keys"
        assert document["response_types_supported"] == ["code"]
        assert document["id_token_signing_alg_values_supported"] == ["RS256"]
        assert set(document["scopes_supported"]) == {"openid", "profile", "email"}
        assert {"sub", "https://slack.com/team_id", "https://slack.com/user_id"} <= set(document["claims_supported"])

    async def test_the_key_set_holds_one_rs256_signing_key(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """The JWKS is one RSA key for signatures, with its kid, exponent 65537 (AQAB) and a 2048-bit modulus."""
        async with http.get(provider.issuer + "/openid/connect/keys") as answer:
            keys = (await answer.json())["keys"]
        assert len(keys) == 1
        (key,) = keys
        assert (key["kty"], key["alg"], key["use"], key["e"]) == ("RSA", "RS256", "sig", "AQAB")
        assert len(base64.urlsafe_b64decode(key["n"] + "==")) == 256
        assert key["kid"]


class TestCodeFlow:
    async def test_a_full_sign_in_gives_an_id_token_that_verifies_against_the_jwks(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """authorize redirects with a code and the state; the token method answers Slack's shape; the
        id_token verifies with PyJWT against the served keys and carries Slack's claims."""
        status, query, target = await authorize(http, provider)
        assert (status, target, query["state"]) == (302, CALLBACK, ["st-42"])
        answer = await exchange(http, provider, **good_form(provider, query["code"][0]))
        assert set(answer) == {"ok", "access_token", "token_type", "id_token"}
        assert answer["ok"] is True and answer["token_type"] == "Bearer"
        assert answer["access_token"].startswith("xoxp-")

        signing_key = jwt.PyJWKClient(provider.issuer + "/openid/connect/keys").get_signing_key_from_jwt(
            answer["id_token"]
        )
        claims = jwt.decode(
            answer["id_token"],
            signing_key.key,
            algorithms=["RS256"],
            audience="2141029472.691202649728",
            issuer=provider.issuer,
        )
        assert claims["sub"] == "U0ALICE"
        assert claims["https://slack.com/user_id"] == "U0ALICE"
        assert claims["https://slack.com/team_id"] == "T0TEST"
        assert (claims["name"], claims["email"], claims["email_verified"]) == (
            "Alice Example",
            "alice@example.com",
            True,
        )
        assert claims["nonce"] == "n-123"
        assert claims["exp"] - claims["iat"] == 300
        assert claims["auth_time"] <= claims["iat"]
        left_half = hashlib.sha256(answer["access_token"].encode()).digest()[:16]
        assert claims["at_hash"] == base64.urlsafe_b64encode(left_half).decode().rstrip("=")

    async def test_userinfo_answers_for_the_access_token(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """openid.connect.userInfo with the Bearer token gives the signed-in person's Slack ids."""
        provider.sign_in_as("U0BOB", "Bob", "bob@example.com", team_id="T0OTHER")
        answer = await exchange(http, provider, **good_form(provider, await code_for(http, provider)))
        headers = {"Authorization": f"Bearer {answer['access_token']}"}
        async with http.post(provider.issuer + "/api/openid.connect.userInfo", headers=headers) as reply:
            info = await reply.json()
        assert info["ok"] is True
        assert (info["sub"], info["https://slack.com/user_id"], info["https://slack.com/team_id"]) == (
            "U0BOB",
            "U0BOB",
            "T0OTHER",
        )
        assert (info["name"], info["email"]) == ("Bob", "bob@example.com")

    @pytest.mark.parametrize(
        ("headers", "error"),
        [({}, "not_authed"), ({"Authorization": "Bearer xoxp-not-a-token"}, "invalid_auth")],
        ids=["no-token", "unknown-token"],
    )
    async def test_userinfo_refuses_a_missing_or_unknown_token(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession, headers: dict[str, str], error: str
    ) -> None:
        """Without a token: not_authed; with one the fake never issued: invalid_auth."""
        async with http.post(provider.issuer + "/api/openid.connect.userInfo", headers=headers) as reply:
            assert await reply.json() == {"ok": False, "error": error}

    async def test_the_client_may_authenticate_with_http_basic(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """client_secret_basic: the client id and secret in the Authorization header are accepted."""
        code = await code_for(http, provider)
        basic = base64.b64encode(f"{provider.client_id}:{SECRET}".encode()).decode()
        form = {"code": code, "redirect_uri": CALLBACK}
        headers = {"Authorization": f"Basic {basic}"}
        async with http.post(provider.issuer + "/api/openid.connect.token", data=form, headers=headers) as reply:
            assert (await reply.json())["ok"] is True

    async def test_every_request_is_recorded(self, provider: FakeSlackOpenID, http: aiohttp.ClientSession) -> None:
        """The record holds the authorize query and the token form as sent."""
        code = await code_for(http, provider)
        await exchange(http, provider, **good_form(provider, code))
        (authorized,) = provider.requests_to("/openid/connect/authorize")
        (token,) = provider.requests_to("/api/openid.connect.token")
        assert (authorized.method, authorized.query["scope"], authorized.query["nonce"]) == (
            "GET",
            "openid profile email",
            "n-123",
        )
        assert (token.method, token.form["code"], token.form["client_secret"]) == ("POST", code, SECRET)


class TestCodes:
    async def test_a_code_works_once(self, provider: FakeSlackOpenID, http: aiohttp.ClientSession) -> None:
        """The second exchange of the same code is refused with invalid_code."""
        code = await code_for(http, provider)
        assert (await exchange(http, provider, **good_form(provider, code)))["ok"] is True
        assert await exchange(http, provider, **good_form(provider, code)) == {"ok": False, "error": "invalid_code"}

    @pytest.mark.parametrize(("age", "ok"), [(0, True), (599, True), (601, False), (3600, False)])
    async def test_a_code_expires_after_ten_minutes(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession, age: int, ok: bool
    ) -> None:
        """Codes expire after ten minutes (RFC 6749 4.1.2): at 599 s the exchange works, from 601 s invalid_code."""
        code = await code_for(http, provider)
        provider.advance(age)
        answer = await exchange(http, provider, **good_form(provider, code))
        assert answer["ok"] is ok
        if not ok:
            assert answer == {"ok": False, "error": "invalid_code"}

    @pytest.mark.parametrize(
        ("change", "error"),
        [
            ({"client_secret": "wrong"}, "bad_client_secret"),
            ({"client_secret": ""}, "bad_client_secret"),
            ({"client_id": "999.999"}, "invalid_client_id"),
            ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "bad_redirect_uri"),
            ({"redirect_uri": ""}, "bad_redirect_uri"),
            ({"code": "1.2.not-issued"}, "invalid_code"),
            ({"code": ""}, "invalid_code"),
            ({"grant_type": "refresh_token"}, "invalid_grant_type"),
        ],
        ids=lambda v: str(v) if isinstance(v, str) else "-".join(f"{k}={x or 'empty'}" for k, x in v.items()),
    )
    async def test_a_wrong_exchange_is_refused_with_slacks_error(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession, change: dict[str, str], error: str
    ) -> None:
        """A wrong secret, client, redirect_uri, code or grant type gets ok: false and Slack's error code;
        the code is not spent by the refusal (the right exchange then works)."""
        code = await code_for(http, provider)
        wrong = {**good_form(provider, code), **change}
        assert await exchange(http, provider, **wrong) == {"ok": False, "error": error}
        assert (await exchange(http, provider, **good_form(provider, code)))["ok"] is True

    async def test_without_a_redirect_uri_at_authorize_none_is_needed_at_exchange(
        self, http: aiohttp.ClientSession
    ) -> None:
        """Slack: redirect_uri at the token method must match "if one was sent" to authorize."""
        with FakeSlackOpenID(client_secret=SECRET, redirect_uris=(CALLBACK,)) as fake:
            fake.sign_in_as("U0ALICE", "Alice", "alice@example.com")
            query = {"response_type": "code", "scope": "openid", "client_id": fake.client_id}
            async with http.get(fake.authorization_endpoint, params=query, allow_redirects=False) as answer:
                location = urlsplit(answer.headers["Location"])
            assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
            code = parse_qs(location.query)["code"][0]
            form = {"client_id": fake.client_id, "client_secret": SECRET, "code": code}
            assert (await exchange(http, fake, **form))["ok"] is True


class TestAuthorizeRefusals:
    @pytest.mark.parametrize(
        ("params", "error"),
        [({"response_type": "token"}, "unsupported_response_type"), ({"scope": "profile email"}, "invalid_scope")],
        ids=["implicit-flow", "no-openid-scope"],
    )
    async def test_a_bad_request_redirects_back_with_the_error_and_state(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession, params: dict[str, str], error: str
    ) -> None:
        """OIDC Core 3.1.2.6: the error goes back to the redirect_uri with the state, and no code."""
        status, query, target = await authorize(http, provider, **params)
        assert (status, target) == (302, CALLBACK)
        assert query == {"error": [error], "state": ["st-42"]}

    async def test_cancel_redirects_back_with_access_denied_once(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """deny_next: the next sign-in comes back with error=access_denied; the one after succeeds."""
        provider.deny_next()
        assert (await authorize(http, provider))[1] == {"error": ["access_denied"], "state": ["st-42"]}
        assert "code" in (await authorize(http, provider))[1]

    @pytest.mark.parametrize(
        "params",
        [{"client_id": "999.999"}, {"redirect_uri": "http://127.0.0.1:9/not-registered"}],
        ids=["unknown-client", "unregistered-redirect"],
    )
    async def test_an_unknown_client_or_redirect_gets_a_page_not_a_redirect(
        self, http: aiohttp.ClientSession, params: dict[str, str]
    ) -> None:
        """RFC 6749 4.1.2.1: with an unknown client or an unregistered redirect_uri the provider shows
        an error (400) and does not redirect."""
        with FakeSlackOpenID(client_secret=SECRET, redirect_uris=(CALLBACK,)) as fake:
            fake.sign_in_as("U0ALICE", "Alice", "alice@example.com")
            status, query, target = await authorize(http, fake, **params)
        assert (status, query, target) == (400, {}, "")


class TestBentTokens:
    async def test_a_token_signed_with_another_key_fails_verification(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """sign_with_foreign_key: the id_token's signature does not verify against the JWKS."""
        provider.sign_with_foreign_key = True
        answer = await exchange(http, provider, **good_form(provider, await code_for(http, provider)))
        key = jwt.PyJWKClient(provider.jwks_uri).get_signing_key_from_jwt(answer["id_token"])
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(answer["id_token"], key.key, algorithms=["RS256"], audience=provider.client_id)

    async def test_overrides_change_or_remove_claims(
        self, provider: FakeSlackOpenID, http: aiohttp.ClientSession
    ) -> None:
        """id_token_overrides sets a claim's value, or removes it with None."""
        provider.id_token_overrides = {"https://slack.com/team_id": "T0EVIL", "nonce": None}
        answer = await exchange(http, provider, **good_form(provider, await code_for(http, provider)))
        claims = jwt.decode(answer["id_token"], options={"verify_signature": False})
        assert claims["https://slack.com/team_id"] == "T0EVIL"
        assert "nonce" not in claims


class TestExchangeProperty:
    @settings(
        max_examples=examples(30),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(code=st.text(max_size=80), secret=st.one_of(st.just(SECRET), st.text(max_size=40)))
    def test_no_code_but_an_issued_one_gets_a_token(self, provider: FakeSlackOpenID, code: str, secret: str) -> None:
        """Any code the fake never issued, with any secret, is answered 200 with Slack's ok: false shape:
        bad_client_secret for a wrong secret, else invalid_code; never a token, never a server error."""
        form = {"client_id": provider.client_id, "client_secret": secret, "code": code, "redirect_uri": CALLBACK}
        request = urllib.request.Request(
            provider.token_endpoint, data=urllib.parse.urlencode(form).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
            body = json.loads(answer.read())
        assert body == {"ok": False, "error": "invalid_code" if secret == SECRET else "bad_client_secret"}
