"""Breaking the web view (issue 17) as a new user and an attacker would, through the real bot over HTTP.

Each test names what the README ("Web view", "Configuration") or the issue promises. Tests whose docstring starts
with "HELD UP" passed when written: the attack did not work. The others failed when written: they are findings.
SQLite only: nothing here depends on the database.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from bot.config import load_settings
from bot.domain.grammar import parse_command
from bot.domain.model import Status
from bot.errors import ConfigError
from bot.usecases.shared import Actor
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, RunningBot, running_bot, sqlite_url
from tests.support.fake_oidc import FakeSlackOpenID
from tests.support.fake_slack import FakeSlack
from tests.support.web import (
    API_TOKEN,
    SESSION_COOKIE,
    SESSION_SECRET,
    TOKEN,
    WEB_URL,
    Tags,
    flip,
    get,
    request,
    seed,
    session_of,
    sign_in,
    web_settings,
)
from tests.support.webhooks import WEBHOOK_AUTH, WEBHOOK_TOKEN

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
ALICE = Actor("U0ALICE1", "alice")
BOB = Actor("U0BOB12", "bob")
PRIVATE_TITLE = "Payroll export leaks SSNs"


@pytest.fixture()
def web(tmp_path: Path, fake_slack: FakeSlack, provider: FakeSlackOpenID) -> Iterator[RunningBot]:
    """The bot with the web view (token and Sign in with Slack) and the change-event webhook, seeded with the demo
    (INC-1, cdn-edge), then INC-2: a private incident of alice's on service payroll."""
    url = sqlite_url(tmp_path)
    seed(url)
    with running_bot(
        url, fake_slack.base_url, **web_settings(provider, INCIDENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN)
    ) as running:
        running.usecases.incidents.run(parse_command(f"declare --private sev1 {PRIVATE_TITLE}"), ALICE)
        running.usecases.incidents.run(parse_command("INC-2 service payroll"), ALICE)
        yield running


def raw(port: int, data: bytes) -> bytes:
    """Send ``data`` as it is on a fresh connection; the whole answer."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def post_raw(
    port: int, path: str, body: bytes, content_type: str, cookie: str | None = None
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": content_type}
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        connection.close()


# == findings ==================================================================================


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"csrf=x"),  # no boundary
        ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nx\r\n'),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"csrf=x"),
    ],
)
def test_sign_out_with_a_malformed_form_is_refused_not_a_bare_500(
    web: RunningBot, provider: FakeSlackOpenID, content_type: str, body: bytes
) -> None:
    """README: *Sign out* is a form carrying the session's CSRF token (anything else refused), and "Every answer
    carries Content-Security-Policy ... X-Frame-Options: DENY". routes.py: "anything unexpected 500 with only a
    correlation id". Found: a POST /auth/logout whose body aiohttp cannot parse (no multipart boundary, a
    truncated multipart body, an unknown charset) is aiohttp's bare ``500 Internal Server Error`` text, without
    any security header, and an unhandled traceback in the log. Anybody can send it (no session needed)."""
    status, headers, text = post_raw(web.port, "/auth/logout", body, content_type)
    assert status == 403, (status, text)
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name


@pytest.mark.parametrize("path", ["/api/v1/incidents/incident-1", "/api/v1/incidents/INC-1.json", "/api/v1/incident"])
def test_every_api_error_is_json(web: RunningBot, path: str) -> None:
    """The issue: "a JSON API"; routes.py: API "failures as {"ok": false, "error": "..."}"; openapi.yaml: the
    errors of /incidents/{incident} are application/json ``Error``. ``parse_incident_id`` (and so the CLI and
    Slack) take ``inc-1`` in any case. Found: any id the route's regex ``INC-[0-9]+`` does not match (``inc-1``,
    ``INC-1.json``) and any unknown path under /api/v1 answers aiohttp's ``text/plain`` "404: Not Found", which a
    JSON client cannot parse."""
    answer = get(web.port, path, headers=TOKEN)
    assert (answer.header("Content-Type") or "").startswith("application/json"), (answer.status, answer.body)
    assert answer.json()["ok"] is False


def test_a_lower_case_incident_id_opens_the_incident_page(web: RunningBot) -> None:
    """Everywhere else an id is any case (``parse_incident_id``: "INC-7 (any case)"; `incidentbot timeline
    inc-1` works). Found: /incidents/inc-1 is aiohttp's bare text "404: Not Found" (not even the site's 404
    page with its "use INC-<number>" hint that /incidents/INC-0 gets)."""
    answer = get(web.port, "/incidents/inc-1", headers=TOKEN)
    assert answer.status in (200, 301, 302, 308), answer.status
    if answer.status != 200:
        assert (answer.header("Location") or "").endswith("/incidents/INC-1")


def test_a_change_event_recorded_after_a_view_shows_on_the_page_as_in_the_download(web: RunningBot) -> None:
    """README: the incident page shows "the postmortem draft as HTML" and the download is "what `incidentbot
    postmortem` prints"; README (Change events): changes to the service in the 2 hours before the declaration are
    "listed in the postmortem under 'Recent changes'". Found: the page's postmortem is cached per process until the
    timeline grows or the UTC hour turns (TimelineCache). A change event is not a timeline entry, so a deploy reported
    late (CI/CD retries, a backfill) shows in postmortem.md and the API but not on the page, for up to an hour."""
    port = web.port
    declared = get(port, "/api/v1/incidents/INC-1", headers=TOKEN).json()["declared_at"]
    first = get(port, "/incidents/INC-1", headers=TOKEN)
    assert first.status == 200
    description = "Late-reported CDN config push 77"
    assert description not in first.body
    change_time = declared[:11] + "13:10:00Z"  # 32 minutes before the demo's detection at 13:42
    answer = web.post(
        json.dumps({"service": "cdn-edge", "description": description, "author": "ci", "time": change_time}),
        "application/json",
        WEBHOOK_AUTH,
        path="/changes",
    )
    assert answer.status == 201, answer.body
    download = get(port, "/incidents/INC-1/postmortem.md", headers=TOKEN)
    assert description in download.body  # the CLI's draft has it at once
    again = get(port, "/incidents/INC-1", headers=TOKEN)
    assert description in again.body, "the page's postmortem is stale: it lacks a change the download lists"


def test_an_overlong_request_is_refused_as_plain_text_before_the_application(web: RunningBot) -> None:
    """Found: a request line or header over 8190 bytes is answered by aiohttp's HTTP parser, before any of the
    application's middleware: ``400`` without the security headers, echoing the start of the request (``Got more
    than 8190 bytes when reading: bytearray(b'/?q=%3Cscript...')``). Left alone (aiohttp offers no hook there; the
    README says so); what holds is that the echo is ``text/plain``, which no browser runs as a page, and nothing
    of the application answered."""
    answer = raw(web.port, b"GET /?q=" + b"%3Cscript%3E" * 800 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, _body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0].split(b" ")[1] == b"400", lines[0]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    assert headers[b"content-type"].startswith(b"text/plain"), headers
    assert b"server-timing" not in headers  # the application's middleware never ran


@pytest.mark.parametrize("period", ["\u0663d", "\uff19d"])  # Arabic-Indic 3, fullwidth 9
def test_a_period_outside_the_described_pattern_is_refused(web: RunningBot, period: str) -> None:
    """openapi.yaml: ``since`` has ``pattern: "^[0-9]+[dwmDWM]$"``. Found: ``str.isdecimal`` lets any Unicode
    digit through, so ``?since=%D9%A3d`` (U+0663 Arabic-Indic three) and ``?since=%EF%BC%99d`` (U+FF19 fullwidth
    nine) answer 200 with a 3-day and a 9-day report, on /api/v1/report and /reports,
    while the page's period menu shows neither."""
    answer = get(web.port, "/api/v1/report?since=" + quote(period), headers=TOKEN)
    assert answer.status == 400, answer.body[:200]
    assert answer.json()["ok"] is False


@pytest.mark.parametrize(
    "url",
    [
        "https://incidents.example.com/incidents",
        "https://incidents.example.com?x=1",
        "https://incidents.example.com#top",
    ],
)
def test_a_web_url_the_view_cannot_be_served_at_is_refused_at_start(tmp_path: Path, url: str) -> None:
    """README: "The view is served at the root of INCIDENT_WEB_URL (no path prefix)"; Configuration: an invalid
    setting stops start-up naming it. Found: a URL with a path, a query or a fragment is accepted silently; the
    bot then serves at the root anyway and sends Slack ``redirect_uri=<URL>/auth/callback``
    (``https://incidents.example.com?x=1/auth/callback``), which no route answers, so sign-in breaks at the first
    person, far from the setting that caused it."""
    environ = {
        "DATABASE_URL": sqlite_url(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "INCIDENT_WEB_URL": url,
        "INCIDENT_WEB_SESSION_SECRET": SESSION_SECRET,
        "INCIDENT_WEB_API_TOKEN": API_TOKEN,
    }
    with pytest.raises(ConfigError, match="INCIDENT_WEB_URL"):
        load_settings(environ, env_file=None)


# == what held up ==============================================================================


def test_held_up_the_token_is_only_a_header_bearer_token(web: RunningBot) -> None:
    """HELD UP. README: "sent as Authorization: Bearer <token> (compared in constant time; never read from the URL)",
    "A wrong token is 401". Tried: no header, empty header, ``Bearer`` alone, other schemes, the bare token, a
    prefix, a longer token, two tokens, the token in ?token= / ?access_token= / a cookie / X-Api-Token."""
    port = web.port
    refused = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Token {API_TOKEN}"},
        {"Authorization": f"Basic {API_TOKEN}"},
        {"Authorization": API_TOKEN},
        {"Authorization": f"Bearer {API_TOKEN[:-1]}"},
        {"Authorization": f"Bearer {API_TOKEN}x"},
        {"Authorization": f"Bearer {API_TOKEN} {API_TOKEN}"},
        {"Authorization": f"Bearer: {API_TOKEN}"},
        {"X-Api-Token": API_TOKEN},
    ]
    for headers in refused:
        assert get(port, "/api/v1/incidents", headers=headers).status == 401, headers
    for path in (f"/api/v1/incidents?token={API_TOKEN}", f"/api/v1/incidents?access_token={API_TOKEN}"):
        assert get(port, path).status == 401
    assert get(port, "/api/v1/incidents", cookies={SESSION_COOKIE: API_TOKEN}).status == 401
    for scheme in ("Bearer", "bearer", "BEARER"):
        assert get(port, "/api/v1/incidents", headers={"Authorization": f"{scheme} {API_TOKEN}"}).status == 200


def test_held_up_the_token_and_non_members_never_read_a_private_incident(
    web: RunningBot, provider: FakeSlackOpenID
) -> None:
    """HELD UP. README: private incidents "are listed as 'private incident' and answer 403 ... to everybody but
    their members, the token included; the reports show their service as (private)". Tried every route with the
    token and with bob's session, and the title search and service filter as an oracle (does ?q=Payroll or
    ?service=payroll list INC-2?)."""
    port = web.port
    bob = session_of(port, provider, BOB.user_id, "bob")
    alice = session_of(port, provider, ALICE.user_id, "alice")
    readers = {"token": {"headers": TOKEN}, "bob": {"cookies": {SESSION_COOKIE: bob}}}
    for who, auth in readers.items():
        for path in (
            "/",
            "/?status=open",
            "/?q=a",
            "/reports",
            "/reports?since=7d",
            "/slo",
            "/api/v1/incidents",
            "/api/v1/report",
            "/api/v1/report?since=7d",
            "/api/v1/slo",
        ):
            answer = get(port, path, **auth)  # type: ignore[arg-type]
            assert answer.status == 200, (who, path)
            assert "Payroll" not in answer.body and "payroll" not in answer.body, (who, path)
        for path in (
            "/incidents/INC-2",
            "/incidents/INC-2/postmortem.md",
            "/incidents/INC-2/timeline.json",
            "/incidents/INC-2?timeline=all",
            "/api/v1/incidents/INC-2",
            "/api/v1/incidents/INC-2/timeline",
            "/api/v1/incidents/INC-2/postmortem",
        ):
            answer = get(port, path, **auth)  # type: ignore[arg-type]
            assert answer.status == 403, (who, path)
            assert "Payroll" not in answer.body, (who, path)
        for oracle in ("/?q=Payroll", "/?q=payroll%20export", "/?service=payroll"):
            assert "INC-2" not in get(port, oracle, **auth).body, (who, oracle)  # type: ignore[arg-type]
    mine = get(port, "/?q=Payroll", cookies={SESSION_COOKIE: alice})
    assert "INC-2" in mine.body and PRIVATE_TITLE in mine.body


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "\t/evil.example",
        "///evil.example",
        "http:evil.example",
        "/\r\nSet-Cookie: x=1",
    ],
)
def test_held_up_sign_in_never_sends_the_browser_to_another_site(
    web: RunningBot, provider: FakeSlackOpenID, next_path: str
) -> None:
    """HELD UP. README: after sign-in the browser goes back to the page it asked for, on this site. Tried the usual
    open-redirect spellings of ``next`` and a header injection: each lands on ``/``."""
    provider.sign_in_as("U0BOB12", "bob", "bob@example.com")
    done = sign_in(web.port, provider, next_path)
    assert done.callback.status == 302
    assert done.callback.header("Location") == "/"
    assert "x" not in done.callback.cookies


def test_held_up_a_forged_or_replayed_session_is_refused(web: RunningBot, provider: FakeSlackOpenID) -> None:
    """HELD UP. README: "The session is a signed cookie (itsdangerous ...)". Tried: the payload rewritten to another
    user with the same signature, a flipped signature, the payload alone; sign-out without, with a wrong and with
    an empty CSRF token. (Noted, not promised: the cookie is not revoked by sign-out; a copy stays valid 12 h.)"""
    port = web.port
    cookie = session_of(port, provider, "U0BOB12", "bob")
    payload, stamp, signature = cookie.split(".")
    forged = (
        base64.urlsafe_b64encode(
            json.dumps({"u": ALICE.user_id, "n": "alice", "t": provider.team_id, "c": "x"}).encode()
        )
        .decode()
        .rstrip("=")
    )
    # Not the signature's last character: it carries 2 padding bits that base64 decoding drops (itsdangerous'
    # 20-byte HMAC is 27 characters), so replacing a final "B", "C" or "D" with "A" kept the signature valid.
    for value in (f"{forged}.{stamp}.{signature}", flip(cookie, len(cookie) - 5), payload):
        assert get(port, "/api/v1/incidents/INC-2", cookies={SESSION_COOKIE: value}).status == 401
    for form in ({}, {"csrf": "x"}, {"csrf": ""}):
        assert request(port, "POST", "/auth/logout", form=form, cookies={SESSION_COOKIE: cookie}).status == 403


def test_held_up_what_people_type_never_becomes_markup(web: RunningBot) -> None:
    """HELD UP. README: "every value escaped: a <script> or <!channel> typed in Slack reads as those characters";
    the postmortem is CommonMark with raw HTML disabled. Tried a title, note, hypothesis and follow-up with
    <script>, an onerror image, an svg onload, javascript:/JaVaScRiPt:/entity-encoded javascript links, a data: link,
    Slack's <https://x|y> and <!channel>: no script but /static/web.js, no on* attribute, no javascript: href."""
    hostile = '<script>alert(1)</script> "><img src=x onerror=alert(2)> <!channel> <https://evil.example|click>'
    links = "[a](javascript:alert(3)) [b](JaVaScRiPt:alert(4)) [c](&#106;avascript:alert(5)) [d](data:text/html,x)"
    number = web.usecases.incidents.run(parse_command(f"declare sev2 {hostile} {links}"), BOB).incident.number
    for text in (f"note {hostile} {links}", f"hypothesis <svg onload=alert(6)> {links}", f"followup {hostile} {links}"):
        web.usecases.incidents.run(parse_command(f"INC-{number} {text}"), BOB)
    for path in ("/", f"/incidents/INC-{number}", "/?q=" + quote("<script>"), "/?service=" + quote('"><svg onload=x>')):
        answer = get(web.port, path, headers=TOKEN)
        tags = Tags(answer.body)
        assert [a for t, a in tags.tags if t == "script"] == [{"src": "/static/web.js", "defer": None}], path
        assert not [a for _, attrs in tags.tags for a in attrs if a.startswith("on")], path
        hrefs = [(attrs.get("href") or "").strip().lower() for t, attrs in tags.tags if t == "a"]
        assert not [h for h in hrefs if h.startswith(("javascript", "data:", "vbscript"))], path
        assert not [t for t, _ in tags.tags if t in ("img", "svg", "iframe")], path
    page = get(web.port, f"/incidents/INC-{number}", headers=TOKEN)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.body and "&lt;!channel&gt;" in page.body


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/incidents/INC-0", 404),
        ("/incidents/INC-99999999999999999999", 404),
        ("/api/v1/incidents/INC-0", 404),
        ("/api/v1/incidents/INC-99999999999999999999", 404),
        ("/?severity=SEV-1", 400),
        ("/?period=banana", 400),
        ("/?period=-5d", 400),
        ("/?period=99999999999999999999999d", 400),
        ("/reports?since=-5d", 400),
        ("/reports?since=3651d", 400),
        ("/reports/chart.svg?since=x", 400),
        ("/api/v1/report?since=banana", 400),
        ("/api/v1/incidents?limit=99999999999999999999", 400),
        ("/api/v1/incidents?status=open", 400),
    ],
)
def test_held_up_bad_ids_and_filters_are_clear_4xx_with_headers(web: RunningBot, path: str, status: int) -> None:
    """HELD UP. Bad ids and filter values answer a 4xx page (or JSON under /api/v1) saying what is wrong, with the
    security headers, no traceback. (Wording nit: the web's period errors say "`--since banana` is not a period",
    a CLI option the web user never typed.)"""
    answer = get(web.port, path, headers=TOKEN)
    assert answer.status == status, answer.body[:300]
    assert "Traceback" not in answer.body
    for name, value in SECURITY_HEADERS.items():
        assert answer.header(name) == value
    if path.startswith("/api/"):
        assert answer.json()["ok"] is False


def test_held_up_the_web_view_is_off_without_its_url(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """HELD UP. README: "It is off unless INCIDENT_WEB_URL is set: without it none of its routes exist (they answer
    404)", and a half-configured view stops start-up with one line naming the settings."""
    url = sqlite_url(tmp_path)
    seed(url)
    with running_bot(url, fake_slack.base_url) as bot:
        for path in ("/", "/slo", "/reports", "/incidents/INC-1", "/api/v1/slo", "/auth/callback", "/static/web.js"):
            assert get(bot.port, path, headers=TOKEN).status == 404, path
        assert request(bot.port, "POST", "/auth/logout", form={}).status == 404
    base = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    half = [
        ({"INCIDENT_WEB_URL": WEB_URL, "INCIDENT_WEB_API_TOKEN": API_TOKEN}, "INCIDENT_WEB_SESSION_SECRET"),
        ({"INCIDENT_WEB_URL": WEB_URL, "INCIDENT_WEB_SESSION_SECRET": SESSION_SECRET}, "nobody could read"),
        ({"INCIDENT_WEB_API_TOKEN": API_TOKEN}, "INCIDENT_WEB_URL is not"),
        (
            {"INCIDENT_WEB_URL": WEB_URL, "INCIDENT_WEB_SESSION_SECRET": SESSION_SECRET, "SLACK_CLIENT_ID": "x"},
            "SLACK_CLIENT_SECRET and SLACK_TEAM_ID",
        ),
    ]
    for extra, words in half:
        with pytest.raises(ConfigError, match=re.escape(words)):
            load_settings(base | extra, env_file=None)


def test_held_up_the_api_answers_match_the_description_on_error_paths(web: RunningBot) -> None:
    """HELD UP. Errors inside the API's handlers (400 bad limit/period/status, 401, 403, 404 for a well-formed id)
    are ``{"ok": false, "error": ...}`` JSON with ``WWW-Authenticate`` on 401."""
    port = web.port
    for path, headers, status in (
        ("/api/v1/incidents?limit=0", TOKEN, 400),
        ("/api/v1/report?since=0d", TOKEN, 400),
        ("/api/v1/incidents", {"Authorization": "Bearer nope"}, 401),
        ("/api/v1/slo", {}, 401),
        ("/api/v1/incidents/INC-2", TOKEN, 403),
        ("/api/v1/incidents/INC-77/timeline", TOKEN, 404),
    ):
        answer = get(port, path, headers=headers)
        assert answer.status == status, path
        body = answer.json()
        assert set(body) == {"ok", "error"} and body["ok"] is False and isinstance(body["error"], str), path
    assert get(port, "/api/v1/slo").header("WWW-Authenticate") == 'Bearer realm="incidentbot"'


_ = urlencode  # kept for quick manual pokes


def test_an_old_open_incident_is_found_by_the_api_status_filter(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """The list page says, once there are more than 500 incidents: "Only the newest 500 incidents are searched; the
    API and the CLI list older ones", and README: the API answers "in the CLI's --format json shapes". `incidentbot
    list --status investigating` asks the database for that status. Found: /api/v1/incidents?status=investigating
    filters the newest 500 in Python (``list_document``), so an incident still investigating under 500 newer ones
    is missing from the API (and from the page's "open incidents", the wall screen) while the CLI lists it."""
    from bot.compose import open_usecases

    url = sqlite_url(tmp_path)
    usecases = open_usecases(url)
    try:
        old = usecases.incidents.run(parse_command("declare sev4 Slow cron on reports host"), ALICE).incident.number
        usecases.incidents.run(parse_command(f"INC-{old} assemble <@U0BOB12>"), ALICE)
        for n in range(500):
            number = usecases.incidents.run(parse_command(f"declare sev4 Noise {n}"), ALICE).incident.number
            usecases.incidents.run(parse_command(f"INC-{number} resolve done"), ALICE)
        cli = [s.number for s in usecases.incidents.summaries([Status.INVESTIGATING], 500)]
    finally:
        usecases.store.dispose()
    assert cli == [old]  # the CLI's query finds it
    with running_bot(url, fake_slack.base_url, **web_settings()) as bot:
        api = get(bot.port, "/api/v1/incidents?status=investigating", headers=TOKEN).json()
        page = get(bot.port, "/?status=open", headers=TOKEN)
        found = {"api": [i["incident"] for i in api["incidents"]], "page": f"INC-{old}<" in page.body}
        assert found == {"api": [f"INC-{old}"], "page": True}


def test_pages_and_api_answers_are_not_stored_by_caches_but_static_files_may_be(web: RunningBot) -> None:
    """A page or API answer may hold a private incident: ``Cache-Control: no-store`` on each (errors too), so no
    shared or browser cache keeps it after sign-out; the stylesheet may be kept."""
    for path in ("/", "/incidents/INC-1", "/api/v1/incidents", "/api/v1/incidents/INC-999", "/slo"):
        assert get(web.port, path, headers=TOKEN).header("Cache-Control") == "no-store", path
    assert get(web.port, "/static/web.css").header("Cache-Control") != "no-store"
