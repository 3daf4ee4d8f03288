"""The web view and its JSON API through the real bot (``incidentbot serve``'s aiohttp app) on 127.0.0.1: every
route, who may read what, the security headers, escaping, and every API answer against the OpenAPI description.

Signed-in sessions come from the real sign-in against the fake Sign in with Slack provider (``tests.support.web``);
the seed is ``incidentbot demo``'s WAF outage (INC-1). Database-dependent tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.domain.grammar import clean_text, parse_command
from bot.usecases.shared import Actor
from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.cli import incidentbot
from tests.support.fake_oidc import FakeSlackOpenID
from tests.support.fake_slack import FakeSlack
from tests.support.properties import examples
from tests.support.web import (
    TOKEN,
    Tags,
    get,
    openapi,
    response_schema,
    seed,
    session_of,
    web_settings,
)
from tests.unit.test_postmortem_storage import HOSTILE as MARKUP_CORPUS
from tests.unit.test_slack_limits import HOSTILE as SLACK_CORPUS

CAROL = Actor("U0CAROL", "carol")
PRIVATE_TITLE_TYPED = "Payroll export leaks SSNs"
EXPECTED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture()
def web_bot(
    migrated_database: None, database_url: str, fake_slack: FakeSlack, provider: FakeSlackOpenID
) -> Iterator[RunningBot]:
    """The bot serving the web view on each database, seeded with the demo's INC-1."""
    seed(database_url)
    with running_bot(database_url, fake_slack.base_url, **web_settings(provider)) as running:
        yield running


@pytest.fixture()
def sqlite_web_bot(tmp_path: Path, fake_slack: FakeSlack, provider: FakeSlackOpenID) -> Iterator[RunningBot]:
    """The same on SQLite only, for what the database does not change (headers, sign-in, escaping)."""
    url = sqlite_url(tmp_path)
    seed(url)
    with running_bot(url, fake_slack.base_url, **web_settings(provider)) as running:
        yield running


def declare(bot: RunningBot, text: str, actor: Actor = CAROL) -> int:
    return bot.usecases.incidents.run(parse_command(text), actor).incident.number


def run(bot: RunningBot, number: int, text: str, actor: Actor = CAROL) -> None:
    bot.usecases.incidents.run(parse_command(f"INC-{number} {text}"), actor)


# -- off unless configured ---------------------------------------------------------------------


def test_the_web_view_is_off_unless_configured(tmp_path: Path, fake_slack: FakeSlack) -> None:
    url = sqlite_url(tmp_path)
    seed(url)
    with running_bot(url, fake_slack.base_url, INCIDENT_WEB_API_TOKEN="") as bot:
        for path in ("/", "/incidents/INC-1", "/api/v1/incidents", "/api/v1/openapi.yaml", "/auth/login"):
            assert get(bot.port, path, headers=TOKEN).status == 404, path
        assert get(bot.port, "/healthz").status == 200


# -- who may read ------------------------------------------------------------------------------


def test_without_credentials_pages_go_to_sign_in_and_the_api_answers_401(sqlite_web_bot: RunningBot) -> None:
    port = sqlite_web_bot.port
    page = get(port, "/incidents/INC-1?x=1")
    assert page.status == 302
    location = urlsplit(page.header("Location") or "")
    assert (location.path, parse_qs(location.query)) == ("/auth/login", {"next": ["/incidents/INC-1?x=1"]})
    api = get(port, "/api/v1/incidents")
    assert api.status == 401
    assert api.header("WWW-Authenticate") == 'Bearer realm="incidentbot"'
    assert api.json()["ok"] is False


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        "Bearer " + TOKEN["Authorization"].removeprefix("Bearer ")[:-1],  # one character short
        "Bearer " + TOKEN["Authorization"].removeprefix("Bearer ") + "x",  # one too many
        "Bearer ",
    ],
)
def test_a_wrong_bearer_token_is_refused_on_pages_and_api(sqlite_web_bot: RunningBot, authorization: str) -> None:
    port = sqlite_web_bot.port
    assert get(port, "/api/v1/incidents", headers={"Authorization": authorization}).status == 401
    page = get(port, "/", headers={"Authorization": authorization})
    assert page.status == 401
    assert "The bearer token is wrong." in page.body


def test_the_token_is_read_from_the_header_only(sqlite_web_bot: RunningBot) -> None:
    token = TOKEN["Authorization"].removeprefix("Bearer ")
    assert get(sqlite_web_bot.port, f"/api/v1/incidents?token={token}").status == 401
    assert get(sqlite_web_bot.port, f"/api/v1/incidents?access_token={token}").status == 401
    assert get(sqlite_web_bot.port, "/api/v1/incidents", headers={"Authorization": f"bearer {token}"}).status == 200


@pytest.mark.parametrize(
    ("path", "credentials", "status"),
    [
        ("/", True, 200),
        ("/incidents/INC-1", True, 200),
        ("/incidents/INC-99", True, 404),
        ("/no/such/page", True, 404),
        ("/incidents/INC-1", False, 302),
        ("/api/v1/incidents", True, 200),
        ("/api/v1/incidents", False, 401),
        ("/api/v1/openapi.yaml", False, 200),
        ("/static/web.css", False, 200),
        ("/static/web.js", False, 200),
        ("/auth/signed-out", False, 200),
        ("/healthz", False, 200),
    ],
)
def test_every_answer_carries_the_security_headers(
    sqlite_web_bot: RunningBot, path: str, credentials: bool, status: int
) -> None:
    answer = get(sqlite_web_bot.port, path, headers=TOKEN if credentials else None)
    assert answer.status == status
    for name, value in EXPECTED_HEADERS.items():
        assert answer.header(name) == value, (path, name)


def test_pages_load_no_inline_script(sqlite_web_bot: RunningBot) -> None:
    """CSP allows scripts from 'self' only: every <script> is /static/web.js, with no body; no on* attribute."""
    for path in ("/", "/incidents/INC-1", "/reports", "/slo"):
        answer = get(sqlite_web_bot.port, path, headers=TOKEN)
        tags = Tags(answer.body)
        scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
        assert scripts == [{"src": "/static/web.js", "defer": None}], path
        assert "</script>" in answer.body and '<script src="/static/web.js" defer></script>' in answer.body
        assert not [a for _, attrs in tags.tags for a in attrs if a.startswith("on")], path
        assert not [attrs for _, attrs in tags.tags if "style" in attrs], path  # style-src 'self': no inline style


# -- the list ----------------------------------------------------------------------------------


def titles(body: str) -> list[str]:
    """The titles in the list's rows, in order (open first, then recent): each ``<td data-label="Title">``'s text."""
    cells = body.split('<td data-label="Title" class="title">')[1:]
    return [Tags(cell.split("</td>", 1)[0]).all_text() for cell in cells]


def test_the_list_shows_open_then_recent_incidents_with_filters(web_bot: RunningBot) -> None:
    port = web_bot.port
    checkout = declare(web_bot, "declare sev2 Checkout latency above 2s")
    run(web_bot, checkout, "service checkout-api")
    dns = declare(web_bot, "declare sev3 Internal DNS flapping")
    run(web_bot, dns, "lead <@U0DAVE|dave>")
    page = get(port, "/", headers=TOKEN)
    assert page.status == 200
    open_part, recent_part = page.body.split("<h2>Recent incidents</h2>")
    assert titles(open_part) == ["Internal DNS flapping", "Checkout latency above 2s"]  # newest first
    assert titles(recent_part) == ["CDN edge returning 502s above the 5% alerting threshold"]
    assert '<td data-label="Lead">@dave</td>' in open_part  # the name Slack sent with `lead <@U0DAVE|dave>`
    assert '<td data-label="Lead">@alice</td>' in recent_part
    assert '<td data-label="Service">checkout-api</td>' in open_part
    assert '<td data-label="Budget">exhausted</td>' in recent_part  # cdn-edge's budget, spent by INC-1
    assert f'<a href="/incidents/INC-{checkout}">INC-{checkout}</a>' in open_part

    def shown(query: str) -> list[str]:
        answer = get(port, "/?" + query, headers=TOKEN)
        assert answer.status == 200, answer.body
        return titles(answer.body)

    assert shown("severity=sev2") == ["Checkout latency above 2s"]
    assert shown("status=resolved") == ["CDN edge returning 502s above the 5% alerting threshold"]
    assert shown("status=open") == ["Internal DNS flapping", "Checkout latency above 2s"]
    assert shown("service=cdn-edge") == ["CDN edge returning 502s above the 5% alerting threshold"]
    assert shown("q=LATENCY") == ["Checkout latency above 2s"]
    assert shown("q=nothing+like+this") == []
    # The seed was declared on 2026-11-22; the others just now.
    assert shown("period=7d") == ["Internal DNS flapping", "Checkout latency above 2s"]
    assert shown("severity=sev1&status=resolved&period=365d&q=cdn") == [
        "CDN edge returning 502s above the 5% alerting threshold"
    ]
    for bad in ("status=closed", "severity=sev9", "period=forever"):
        answer = get(port, "/?" + bad, headers=TOKEN)
        assert answer.status == 400, bad
        assert "Traceback" not in answer.body


# -- one incident ------------------------------------------------------------------------------


def test_the_incident_page_of_the_seed(web_bot: RunningBot) -> None:
    answer = get(web_bot.port, "/incidents/INC-1", headers=TOKEN)
    assert answer.status == 200
    body = answer.body
    tags = Tags(body)
    text = tags.all_text()
    assert (
        '<h1><span class="sev sev1">sev1</span> INC-1 · CDN edge returning 502s above the 5% alerting threshold</h1>'
        in body
    )
    assert "Severity: sev1 · Status: resolved · Lead: @alice" in text
    for who, role in (("@bob", "networking"), ("@carol", "security"), ("@dave", "ops")):
        assert f'<td data-label="Who">{who}</td><td data-label="Role">{role}</td>' in body
    assert (
        '<td data-label="Hypothesis">external DDoS attack against the edge</td><td data-label="Outcome">'
        "<strong>rejected</strong>: rate limiting had no effect; request volume is normal</td>"
    ) in body
    assert "<strong>confirmed</strong>: CPU profiles show the WAF rule&#39;s regex spinning" in body
    assert '<td data-label="Follow-up">canary deployment for firewall changes</td>' in body
    assert (
        '<td data-label="Follow-up">add a &#34;verify CPU load&#34; step to the runbook before global rollout</td>'
        in body
    )
    # The timeline in UTC, each time machine-readable for the script's local time.
    assert '<time datetime="2026-11-22T13:42:00Z">2026-11-22 13:42 UTC</time>' in body
    assert '<time datetime="2026-11-22T14:45:00Z">2026-11-22 14:45 UTC</time>' in body
    assert "rollback: WAF rule rolled back globally" in text or "WAF rule rolled back globally" in text
    # The postmortem draft as HTML: headings, the key metrics table, lists; no Markdown syntax left.
    postmortem = body.split('<article class="postmortem">', 1)[1].split("</article>", 1)[0]
    post = Tags(postmortem)
    assert {"h1", "h2", "table", "ul", "li", "strong"} <= post.names()
    assert "<h1>INC-1 Postmortem: CDN edge returning 502s above the 5% alerting threshold</h1>" in postmortem
    for metric in ("8 min", "23 min", "53 min", "1h 3m"):
        assert metric in post.all_text()
    assert "**" not in post.all_text() and "## " not in post.all_text()
    assert "<strong>Date:</strong> 2026-11-22<br />\n<strong>Status:</strong>" in postmortem  # one line each
    assert '<a href="/incidents/INC-1/postmortem.md" download>' in body
    assert '<a href="/incidents/INC-1/timeline.json" download>' in body


def test_the_downloads_are_what_the_cli_prints(web_bot: RunningBot, database_url: str, tmp_path: Path) -> None:
    port = web_bot.port
    timeline = get(port, "/incidents/INC-1/timeline.json", headers=TOKEN)
    assert timeline.status == 200
    assert timeline.header("Content-Disposition") == 'attachment; filename="INC-1-timeline.json"'
    cli = incidentbot("timeline", "INC-1", "--format", "json", database_url=database_url, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert timeline.json() == json.loads(cli.stdout)
    assert get(port, "/api/v1/incidents/INC-1/timeline", headers=TOKEN).json() == json.loads(cli.stdout)
    markdown = get(port, "/incidents/INC-1/postmortem.md", headers=TOKEN)
    assert markdown.status == 200
    assert markdown.header("Content-Type") == "text/markdown; charset=utf-8"
    assert markdown.header("Content-Disposition") == 'attachment; filename="INC-1-postmortem.md"'
    printed = incidentbot(
        "postmortem",
        "INC-1",
        database_url=database_url,
        cwd=tmp_path,
        settings={"INCIDENT_SLO_FILE": str(Path(__file__).resolve().parents[2] / "slos.yml")},
    )
    assert printed.returncode == 0, printed.stderr

    def without_generated(document: str) -> list[str]:  # "generated <now>" differs by the minute it ran
        return [line for line in document.splitlines() if "generated 20" not in line]

    assert without_generated(markdown.body) == without_generated(printed.stdout)
    assert markdown.body.startswith("# INC-1 Postmortem: CDN edge returning 502s")


# -- private incidents -------------------------------------------------------------------------


def test_a_private_incident_is_for_its_members_only(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    port = web_bot.port
    number = declare(web_bot, f"declare --private sev1 {PRIVATE_TITLE_TYPED}", CAROL)
    run(web_bot, number, "service payroll")
    run(web_bot, number, "note the export bucket was public since 09:00")
    carol = {"incidentbot_session": session_of(port, provider, "U0CAROL", "carol")}
    bob = {"incidentbot_session": session_of(port, provider, "U0BOB", "bob")}
    private_paths = (
        f"/incidents/INC-{number}",
        f"/incidents/INC-{number}/postmortem.md",
        f"/incidents/INC-{number}/timeline.json",
        f"/api/v1/incidents/INC-{number}",
        f"/api/v1/incidents/INC-{number}/timeline",
        f"/api/v1/incidents/INC-{number}/postmortem",
    )
    for who in ({"headers": TOKEN}, {"cookies": bob}):
        listing = get(port, "/", **who)
        assert listing.status == 200
        assert PRIVATE_TITLE_TYPED not in listing.body and "payroll" not in listing.body
        assert '<td data-label="Title" class="title">private incident</td>' in listing.body
        api = get(port, "/api/v1/incidents", **who).json()["incidents"]
        assert [i["title"] for i in api if i["incident"] == f"INC-{number}"] == ["private incident"]
        for path in private_paths:
            answer = get(port, path, **who)
            assert answer.status == 403, path
            assert f"INC-{number} is a private incident" in answer.body
            assert PRIVATE_TITLE_TYPED not in answer.body and "export bucket" not in answer.body
        report = get(port, "/api/v1/report?since=7d", **who).json()
        assert [r["service"] for r in report["incidents"] if r["incident"] == f"INC-{number}"] == ["(private)"]
    member = get(port, f"/incidents/INC-{number}", cookies=carol)
    assert member.status == 200
    assert PRIVATE_TITLE_TYPED in member.body and "the export bucket was public since 09:00" in member.body
    assert PRIVATE_TITLE_TYPED in get(port, "/", cookies=carol).body
    assert get(port, f"/api/v1/incidents/INC-{number}/timeline", cookies=carol).json()["title"] == PRIVATE_TITLE_TYPED


# -- escaping ----------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "link", "script", "body", "header", "nav", "a", "form", "span", "input",
    "button", "main", "h1", "h2", "h3", "h4", "p", "section", "pre", "table", "thead", "tbody", "tr", "th", "td",
    "strong", "em", "ol", "ul", "li", "time", "del", "small", "article", "footer", "code", "hr", "blockquote",
    "select", "option", "label", "div", "meter", "br", "img",
}  # fmt: skip
"""What our templates and the postmortem's Markdown produce; a tag typed by a person would be another."""


def test_what_people_typed_shows_as_text(sqlite_web_bot: RunningBot) -> None:
    """The corpus of the Slack and Confluence tests: markup, mentions, entities, Jinja, in a title, notes,
    a hypothesis and a follow-up, reads back as the very text typed, on every page and in the postmortem."""
    bot = sqlite_web_bot
    corpus = [text for text in MARKUP_CORPUS + SLACK_CORPUS if text.strip()]
    title = " ".join(MARKUP_CORPUS[:3]) + " <!channel> <@U0BOB|bob>"
    number = declare(bot, f"declare sev2 {title}")
    for text in corpus:
        run(bot, number, f"note typed: {text}")
    run(bot, number, "hypothesis <script>alert('h')</script> & <img src=x onerror=alert(1)>")
    run(bot, number, "followup <b>bold</b> <!here> {{ 7*7 }}")
    for path in ("/", f"/incidents/INC-{number}", "/reports?since=7d"):
        answer = get(bot.port, path, headers=TOKEN)
        assert answer.status == 200, path
        tags = Tags(answer.body)
        assert tags.names() <= ALLOWED_TAGS, (path, tags.names() - ALLOWED_TAGS)
        assert [a for _, a in tags.tags if "onerror" in a] == []
        assert [a.get("src") for t, a in tags.tags if t == "script"] == ["/static/web.js"]
    page = Tags(get(bot.port, f"/incidents/INC-{number}", headers=TOKEN).body).all_text()
    for text in corpus:  # as recorded: the grammar drops control and bidi-override characters on input
        assert " ".join(clean_text(text).split()) in " ".join(page.split()), text
    assert "<script>alert('h')</script> & <img src=x onerror=alert(1)>" in page
    assert "<b>bold</b> <!here> {{ 7*7 }}" in page
    assert "<!channel> <@U0BOB|bob>" in page
    assert "49" not in page.split("<b>bold</b>", 1)[1][:40]


# -- the API and its description ---------------------------------------------------------------


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        "urn:openapi", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return Draft202012Validator(schema, registry=registry)


def test_every_api_answer_matches_the_openapi_description(web_bot: RunningBot, provider: FakeSlackOpenID) -> None:
    port = web_bot.port
    described = get(port, "/api/v1/openapi.yaml")
    assert described.status == 200 and described.header("Content-Type") == "application/yaml; charset=utf-8"
    spec = openapi()
    assert spec["openapi"] == "3.1.0"
    Draft202012Validator.check_schema({"$defs": spec["components"]["schemas"]})
    private = declare(web_bot, f"declare --private sev1 {PRIVATE_TITLE_TYPED}")
    open_one = declare(web_bot, "declare sev3 Queue consumers lagging")
    run(web_bot, open_one, "assemble <@U0BOB|bob>:messaging")
    run(web_bot, open_one, "hypothesis a stuck partition")
    carol = {"incidentbot_session": session_of(port, provider, "U0CAROL", "carol")}
    calls: list[tuple[str, str, dict[str, Any], int]] = [
        ("/api/v1/incidents", "/incidents", {"headers": TOKEN}, 200),
        ("/api/v1/incidents?status=resolved&limit=1", "/incidents", {"headers": TOKEN}, 200),
        ("/api/v1/incidents", "/incidents", {"cookies": carol}, 200),
        ("/api/v1/incidents?status=gone", "/incidents", {"headers": TOKEN}, 400),
        ("/api/v1/incidents?limit=0", "/incidents", {"headers": TOKEN}, 400),
        ("/api/v1/incidents", "/incidents", {}, 401),
        ("/api/v1/incidents/INC-1", "/incidents/{incident}", {"headers": TOKEN}, 200),
        (f"/api/v1/incidents/INC-{open_one}", "/incidents/{incident}", {"headers": TOKEN}, 200),
        (f"/api/v1/incidents/INC-{private}", "/incidents/{incident}", {"headers": TOKEN}, 403),
        (f"/api/v1/incidents/INC-{private}", "/incidents/{incident}", {"cookies": carol}, 200),
        ("/api/v1/incidents/INC-404", "/incidents/{incident}", {"headers": TOKEN}, 404),
        ("/api/v1/incidents/INC-1/timeline", "/incidents/{incident}/timeline", {"headers": TOKEN}, 200),
        (f"/api/v1/incidents/INC-{private}/timeline", "/incidents/{incident}/timeline", {"headers": TOKEN}, 403),
        ("/api/v1/incidents/INC-1/postmortem", "/incidents/{incident}/postmortem", {"headers": TOKEN}, 200),
        ("/api/v1/incidents/INC-404/postmortem", "/incidents/{incident}/postmortem", {"headers": TOKEN}, 404),
        ("/api/v1/report", "/report", {"headers": TOKEN}, 200),
        ("/api/v1/report?since=12w", "/report", {"headers": TOKEN}, 200),
        ("/api/v1/report?since=1d", "/report", {"headers": TOKEN}, 200),
        ("/api/v1/report?since=forever", "/report", {"headers": TOKEN}, 400),
        ("/api/v1/slo", "/slo", {"headers": TOKEN}, 200),
    ]
    for path, template, credentials, status in calls:
        answer = get(port, path, **credentials)
        assert answer.status == status, (path, answer.body)
        assert answer.header("Content-Type") == "application/json; charset=utf-8"
        errors = list(validator(spec, response_schema(spec, template, status)).iter_errors(answer.json()))
        assert errors == [], (path, [e.message for e in errors])
    # The values, not only the shapes: INC-1 as the seed left it.
    one = get(port, "/api/v1/incidents/INC-1", headers=TOKEN).json()
    assert (one["status"], one["severity"], one["service"], one["lead"], one["postmortem"]) == (
        "resolved",
        "sev1",
        "cdn-edge",
        "U0ALICE",
        "draft",
    )
    assert [(m["user"], m["role"]) for m in one["members"]] == [
        ("U0BOB", "networking"),
        ("U0CAROL", "security"),
        ("U0DAVE", "ops"),
    ]
    assert [(h["number"], h["status"]) for h in one["hypotheses"]] == [(1, "rejected"), (2, "confirmed")]
    budgets = get(port, "/api/v1/slo", headers=TOKEN).json()["services"]
    cdn = next(s for s in budgets if s["service"] == "cdn-edge")
    assert (cdn["budget_minutes"], cdn["exhausted"]) == (21.6, True)
    assert [(b["incident"], b["bad_minutes"]) for b in cdn["incidents"]] == [("INC-1", 26.5)]
    postmortem = get(port, "/api/v1/incidents/INC-1/postmortem", headers=TOKEN).json()
    assert postmortem["markdown"].startswith("# INC-1 Postmortem: CDN edge returning 502s")


def test_the_description_rejects_a_wrong_shape() -> None:
    """The schemas are strict enough to fail: a missing key, an extra key, a naive time."""
    spec = openapi()
    summary = {
        "incident": "INC-1", "title": "t", "severity": "sev1", "status": "resolved", "lead": None,
        "channel_id": None, "declared_at": "2026-11-22T13:42:00Z", "resolved_at": None, "postmortem": None,
        "private": False,
    }  # fmt: skip
    check = validator(spec, {"$ref": "urn:openapi#/components/schemas/IncidentList"})
    assert check.is_valid({"incidents": [summary]})
    assert not check.is_valid({"incidents": [{k: v for k, v in summary.items() if k != "lead"}]})
    assert not check.is_valid({"incidents": [summary | {"secret": 1}]})
    assert not check.is_valid({"incidents": [summary | {"declared_at": "2026-11-22 13:42"}]})
    assert not check.is_valid({"incidents": [summary | {"status": "closed"}]})


# -- reports and budgets -----------------------------------------------------------------------


def test_reports_and_budgets_pages(web_bot: RunningBot) -> None:
    port = web_bot.port
    report = get(port, "/reports?since=365d", headers=TOKEN)
    assert report.status == 200
    text = Tags(report.body).all_text()
    assert "to mitigate" in text
    assert '<a href="/incidents/INC-1">INC-1</a>' in report.body
    assert '<td data-label="to resolve">63 min</td>' in report.body  # 13:42 to 14:45
    assert '<td data-label="budget">26.5 min</td>' in report.body
    assert '<meter min="0" max="1" value="1">' in report.body
    assert get(port, "/reports?since=1d", headers=TOKEN).body.count("No incidents declared in this period.") == 1
    bad = get(port, "/reports?since=10y", headers=TOKEN)
    assert bad.status == 400 and "is not a period" in bad.body
    slo = get(port, "/slo", headers=TOKEN)
    assert slo.status == 200
    assert "<strong>exhausted</strong>" in slo.body
    assert '<td data-label="Bad-request minutes">26.5 min</td>' in slo.body
    assert "Budget 21.6 min" in slo.body


def test_pages_fit_a_phone() -> None:
    """A viewport for phones, and the stylesheet turns list tables into cards on narrow screens."""
    css = (Path(__file__).resolve().parents[2] / "bot" / "web" / "static" / "web.css").read_text()
    assert "@media (max-width: 700px)" in css and "content: attr(data-label)" in css
    base = (Path(__file__).resolve().parents[2] / "templates" / "web" / "base.html.j2").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in base


def test_a_long_timeline_shows_its_latest_entries_and_offers_the_rest(
    sqlite_web_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page lists the latest TIMELINE_SHOWN entries (5 here; 1,000 as shipped) of the seed's 16, says how many
    are left out and where they are; ``?timeline=all`` lists all 16."""
    from bot.web import pages

    monkeypatch.setattr(pages, "TIMELINE_SHOWN", 5)
    short = get(sqlite_web_bot.port, "/incidents/INC-1", headers=TOKEN).body
    numbers = re.findall(r'<li class="kind-[a-z_]+"><span class="n">#(\d+)</span>', short)
    assert numbers == ["12", "13", "14", "15", "16"]
    assert "The latest 5 entries; 11 earlier ones are in the postmortem" in short
    whole = get(sqlite_web_bot.port, "/incidents/INC-1?timeline=all", headers=TOKEN).body
    assert re.findall(r'<li class="kind-[a-z_]+"><span class="n">#(\d+)</span>', whole) == [
        str(n) for n in range(1, 17)
    ]
    assert "earlier ones" not in whole


def test_the_reports_chart_is_the_clis_drawing_as_svg(sqlite_web_bot: RunningBot) -> None:
    """/reports shows the chart of `incidentbot report --chart FILE.svg` (matplotlib, the charts extra the test
    extra installs), drawn for the chosen period, served as an image (an <img>: nothing in it can run)."""
    port = sqlite_web_bot.port
    page = get(port, "/reports?since=365d", headers=TOKEN)
    assert '<img class="chart" src="/reports/chart.svg?since=365d"' in page.body
    chart = get(port, "/reports/chart.svg?since=365d", headers=TOKEN)
    assert chart.status == 200
    assert chart.header("Content-Type") == "image/svg+xml"
    assert chart.header("X-Content-Type-Options") == "nosniff"
    root = ElementTree.fromstring(chart.body)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = "".join(root.itertext())
    assert "Incidents " in texts and "cdn-edge" in texts  # the title and the budget panel's service
    empty = ElementTree.fromstring(get(port, "/reports/chart.svg?since=1d", headers=TOKEN).body)
    assert "No incidents in this period" in "".join(empty.itertext())
    assert get(port, "/reports/chart.svg?since=soon", headers=TOKEN).status == 400
    assert get(port, "/reports/chart.svg").status == 302  # a reader is needed, as for every page


PIECES = [
    *MARKUP_CORPUS,
    *SLACK_CORPUS,
    '" onmouseover="x',
    "' autofocus onfocus='x",
    "javascript:alert(1)",
    "</td></tr>",
]


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=20), min_size=1, max_size=5).map(" ".join))
def test_any_text_typed_reads_back_as_text(sqlite_web_bot: RunningBot, typed: str) -> None:
    """Property: whatever a note says (markup, attribute breakers, mentions, any Unicode), the incident page adds no
    element or attribute for it and shows its text as recorded."""
    recorded = clean_text(typed)
    if not recorded.strip():
        return  # the grammar refuses an empty note
    run(sqlite_web_bot, 1, f"note typed: {typed}")
    body = get(sqlite_web_bot.port, "/incidents/INC-1", headers=TOKEN).body
    tags = Tags(body)
    assert tags.names() <= ALLOWED_TAGS
    assert not [name for _, attrs in tags.tags for name in attrs if name.startswith("on") or name == "style"]
    assert " ".join(f"Note: typed: {recorded}".split()) in " ".join(tags.all_text().split())


def test_a_new_entry_shows_in_the_postmortem_of_a_page_viewed_before(sqlite_web_bot: RunningBot) -> None:
    """The page keeps what it takes from every entry between views; any new entry (a correction too) renews it."""
    port = sqlite_web_bot.port

    def postmortem() -> str:
        body = get(port, "/incidents/INC-1", headers=TOKEN).body
        return Tags(body.split('<article class="postmortem">', 1)[1].split("</article>", 1)[0]).all_text()

    assert "BGP session flap at pop-7" not in postmortem()
    run(sqlite_web_bot, 1, "note BGP session flap at pop-7")
    assert "BGP session flap at pop-7" in postmortem()
    run(sqlite_web_bot, 1, "correct 17 BGP session flap at pop-9")
    assert "BGP session flap at pop-9" in postmortem()
    run(sqlite_web_bot, 1, "note paged <@U0ERIN|erin> about the edge")
    page = get(port, "/incidents/INC-1", headers=TOKEN).body
    assert "Note: paged @erin about the edge" in Tags(page).all_text()
