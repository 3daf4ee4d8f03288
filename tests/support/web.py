"""Driving the web view as a browser or an API client does: GET and POST on the real bot's aiohttp app, no
redirect followed (a test looks at each), cookies given and read explicitly; the sign-in through the fake
"Sign in with Slack" provider (``tests.support.fake_oidc``); the OpenAPI description's schema for an answer."""

from __future__ import annotations

import http.client
import io
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import yaml

from bot.cli.demo import run_demo
from bot.compose import open_usecases
from tests.support.fake_oidc import FakeSlackOpenID

ROOT = Path(__file__).resolve().parents[2]
WEB_URL = "https://incidents.test"
"""The web view's public URL in these tests (cookies are Secure: it is https)."""
API_TOKEN = "web-api-token-0123456789abcdef0123456789"
SESSION_SECRET = "web-session-secret-0123456789abcdef0123456789"
SESSION_COOKIE = "incidentbot_session"
SIGN_IN_COOKIE = "incidentbot_sign_in"
TOKEN = {"Authorization": f"Bearer {API_TOKEN}"}
OPENAPI = ROOT / "bot" / "web" / "openapi.yaml"


def web_settings(fake: FakeSlackOpenID | None = None, **overrides: str) -> dict[str, str]:
    """The settings of a bot serving the web view: the token, the SLO catalogue of the seed, Sign in with
    Slack pointed at ``fake`` (when given), no postmortem reminders (they would add entries mid-test)."""
    settings = {
        "INCIDENT_WEB_URL": WEB_URL,
        "INCIDENT_WEB_SESSION_SECRET": SESSION_SECRET,
        "INCIDENT_WEB_API_TOKEN": API_TOKEN,
        "INCIDENT_SLO_FILE": str(ROOT / "slos.yml"),
        "INCIDENT_POSTMORTEM_REMINDER_DAYS": "off",
    }
    if fake is not None:
        settings |= {
            "SLACK_CLIENT_ID": fake.client_id,
            "SLACK_CLIENT_SECRET": fake.client_secret,
            "SLACK_TEAM_ID": fake.team_id,
            "SLACK_OIDC_ISSUER": fake.issuer,
        }
    return settings | overrides


def seed(database_url: str) -> None:
    """The seed scenario of ``incidentbot demo`` (INC-1, the WAF outage on cdn-edge) in ``database_url``."""
    run_demo(io.StringIO(), open_usecases, database_url=database_url)


@dataclass
class Answer:
    status: int
    body: str
    headers: http.client.HTTPMessage
    cookies: dict[str, Morsel[str]] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Answer:
    """One HTTP request to 127.0.0.1:``port``; redirects are answers like any other."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = dict(headers or {})
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        jar: dict[str, Morsel[str]] = {}
        for line in response.msg.get_all("Set-Cookie") or []:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(line)
            jar.update(parsed)
        return Answer(response.status, text, response.msg, jar)
    finally:
        connection.close()


def get(port: int, path: str, **kwargs: Any) -> Answer:
    return request(port, "GET", path, **kwargs)


def local_path(location: str) -> str:
    """The path and query of a redirect's Location (absolute or not)."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class SignIn:
    """What one trip through Sign in with Slack produced: the bot's answer to the callback and what was sent."""

    login: Answer
    authorize: Answer
    callback: Answer
    callback_path: str
    sign_in_cookie: str


def sign_in(port: int, fake: FakeSlackOpenID, next_path: str = "/") -> SignIn:
    """GET /auth/login, follow it to the fake provider's authorize (which approves the person of
    ``fake.sign_in_as``), then bring its redirect back to the bot's /auth/callback with the sign-in cookie."""
    login = get(port, f"/auth/login?{urlencode({'next': next_path})}")
    assert login.status == 302, login.body
    location = login.header("Location") or ""
    assert location.startswith(fake.authorization_endpoint), location
    authorize = get(urlsplit(fake.issuer).port or 0, local_path(location))
    back = authorize.header("Location") or ""
    assert authorize.status == 302 and back.startswith(WEB_URL + "/auth/callback"), (authorize.status, back)
    cookie = login.cookies[SIGN_IN_COOKIE].value
    callback_path = local_path(back)
    callback = get(port, callback_path, cookies={SIGN_IN_COOKIE: cookie})
    return SignIn(login, authorize, callback, callback_path, cookie)


_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def flip(text: str, at: int) -> str:
    """``text`` with the base64url character at ``at`` changed in its highest bit (so the decoded bytes change:
    a character inside the text carries six significant bits, the last one may carry padding bits only)."""
    return text[:at] + _BASE64URL[(_BASE64URL.index(text[at]) + 32) % 64] + text[at + 1 :]


def session_of(port: int, fake: FakeSlackOpenID, user_id: str, name: str) -> str:
    """A session cookie value for ``user_id``, signed in through the fake provider."""
    fake.sign_in_as(user_id, name, f"{name}@example.com")
    done = sign_in(port, fake)
    assert done.callback.status == 302, done.callback.body
    return done.callback.cookies[SESSION_COOKIE].value


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and its text (entities decoded)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def names(self) -> set[str]:
        return {tag for tag, _ in self.tags}

    def all_text(self) -> str:
        return "".join(self.text)


def openapi() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return spec


def response_schema(spec: dict[str, Any], template: str, status: int) -> dict[str, Any]:
    """The JSON schema the description gives for answering ``status`` on path ``template`` (``/incidents/{incident}``),
    as a ``$ref`` into the description (``urn:openapi#/components/...``)."""
    response = spec["paths"][template]["get"]["responses"][str(status)]
    if "$ref" in response:
        response = _resolve(spec, response["$ref"])
    schema = response["content"]["application/json"]["schema"]
    return {"$ref": "urn:openapi" + schema["$ref"]} if "$ref" in schema else schema


def _resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    result: dict[str, Any] = node
    return result
