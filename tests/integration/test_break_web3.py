"""Breaking the web view's incident page, its postmortem as HTML, its downloads and the timeline API as a new user
would (issue 17 and README "Web view" are the spec): is it CURRENT right after any change, CORRECT against the
CLI's output, and SAFE for anything a person types?

Each test's docstring says HELD UP (it passes: the spec holds) or FINDING (it fails: the spec is broken), with
the expected value taken from the issue / README, never from the code.

Findings: the postmortem article renders Markdown typed by people (links with hidden targets, emphasis, code,
strikethrough; backslashes eaten; data:image links kept), its live impact/budget figures stay as at the first view
for up to an hour, and timeline.json is not byte-equal to the CLI's output. Held up: freshness after every kind of
change, on 10,000 entries, alternating and 40 incidents in turn, two replicas, private incidents, Unicode."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.main import main
from bot.domain.grammar import parse_command
from bot.usecases.shared import Actor
from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.cli import incidentbot
from tests.support.fake_oidc import FakeSlackOpenID
from tests.support.fake_slack import FakeSlack
from tests.support.web import TOKEN, Tags, get, seed, session_of, web_settings

ROOT = Path(__file__).resolve().parents[2]
CAROL = Actor("U0CAROL", "carol")
CLI_SETTINGS = {"INCIDENT_SLO_FILE": str(ROOT / "slos.yml")}


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture()
def db(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    seed(url)  # INC-1, the demo's WAF outage
    return url


@pytest.fixture()
def web(db: str, fake_slack: FakeSlack, provider: FakeSlackOpenID) -> Iterator[RunningBot]:
    with running_bot(db, fake_slack.base_url, **web_settings(provider)) as running:
        yield running


def declare(bot: RunningBot, text: str, actor: Actor = CAROL) -> int:
    return bot.usecases.incidents.run(parse_command(text), actor).incident.number


def run(bot: RunningBot, number: int, text: str, actor: Actor = CAROL) -> Any:
    return bot.usecases.incidents.run(parse_command(f"INC-{number} {text}"), actor)


def page(bot: RunningBot, number: int, query: str = "", **who: Any) -> str:
    answer = get(bot.port, f"/incidents/INC-{number}{query}", **(who or {"headers": TOKEN}))
    assert answer.status == 200, answer.body[:500]
    return answer.body


def article(body: str) -> str:
    return body.split('<article class="postmortem">', 1)[1].split("</article>", 1)[0]


def text_of(html: str) -> str:
    return " ".join(Tags(html).all_text().split())


def timeline_numbers(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="kind-[a-z_]+(?: [a-z]+)?"><span class="n">#(\d+)</span>', body)]


CLI_PROCESS = False
"""Whether the CLI's output the web is compared with comes from a child process (``tests.support.cli``) or from the
same entry point, ``bot.cli.main.main``, called in this process (``cli_here``). A few hundred CLI runs in this file,
at 0.5-1 s of start-up each, were most of its time; the CLI as a process is what other files test, and here the
life-cycle test still compares its last step with child processes (``assert_current(..., process=True)``) and the
replica test records a note through one."""


def cli_here(*args: str, database_url: str, settings: dict[str, str] | None = None) -> str:
    """``incidentbot ARGS`` through ``bot.cli.main.main`` in this process, as a child process would run it: only
    DATABASE_URL and ``settings`` set (no SLACK_/INCIDENT_/LOG_/TRACKER variables), no .env; its stdout (exit status
    0 asserted). The in-process bot has read its settings at start, so the environment is only the CLI's meanwhile."""
    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        for name in [n for n in os.environ if n.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER"))]:
            del os.environ[name]
        os.environ.update({"DATABASE_URL": database_url, **(settings or {})})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--env-file", "", *args])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert code == 0, err.getvalue()[-2000:]
    return out.getvalue()


def cli_output(*args: str, db: str, tmp_path: Path, settings: dict[str, str] | None = None, process: bool) -> str:
    if not process:
        return cli_here(*args, database_url=db, settings=settings)
    done = incidentbot(*args, database_url=db, cwd=tmp_path, settings=settings)
    assert done.returncode == 0, done.stderr
    return done.stdout


def cli_timeline(db: str, number: int, tmp_path: Path, *extra: str, process: bool = CLI_PROCESS) -> str:
    args = ("timeline", f"INC-{number}", "--format", "json", *extra)
    return cli_output(*args, db=db, tmp_path=tmp_path, process=process)


def cli_timeline_text(db: str, number: int, tmp_path: Path, *extra: str, process: bool = CLI_PROCESS) -> str:
    return cli_output("timeline", f"INC-{number}", *extra, db=db, tmp_path=tmp_path, process=process)


def cli_postmortem(db: str, number: int, tmp_path: Path, *extra: str, process: bool = CLI_PROCESS) -> str:
    args = ("postmortem", f"INC-{number}", *extra)
    return cli_output(*args, db=db, tmp_path=tmp_path, settings=CLI_SETTINGS, process=process)


def without_generated(document: str) -> list[str]:
    """The README's own test leaves out the "generated <now>" line (it differs by the minute it ran)."""
    return [line for line in document.splitlines() if "generated 20" not in line]


def downloads(bot: RunningBot, number: int, **who: Any) -> tuple[str, str, str, Any]:
    creds = who or {"headers": TOKEN}
    md = get(bot.port, f"/incidents/INC-{number}/postmortem.md", **creds)
    tl = get(bot.port, f"/incidents/INC-{number}/timeline.json", **creds)
    api = get(bot.port, f"/api/v1/incidents/INC-{number}/timeline", **creds)
    apm = get(bot.port, f"/api/v1/incidents/INC-{number}/postmortem", **creds)
    assert (md.status, tl.status, api.status, apm.status) == (200, 200, 200, 200)
    return md.body, tl.body, api.body, apm.json()


LIVE = re.compile(r"so far|bad-request minutes|of the budget|\): \d+\.\d min$|consumed")


def settled(document: str) -> list[str]:
    """Without the lines that move with the clock while impact is still charged (the seconds between the web's
    answer and the CLI's run); their staleness is tested on its own below."""
    return [re.sub(r"\d", "9", line) if LIVE.search(line) else line for line in without_generated(document)]


def assert_current(
    bot: RunningBot, db: str, number: int, tmp_path: Path, step: str, process: bool = CLI_PROCESS
) -> None:
    """The page, both downloads and both API answers say what the CLI says right now (``process``: the CLI run as
    a child process)."""
    md, tl, api, apm = downloads(bot, number)
    cli_tl = cli_timeline(db, number, tmp_path, process=process)
    cli_pm = cli_postmortem(db, number, tmp_path, process=process)
    assert json.loads(tl) == json.loads(cli_tl), step
    assert json.loads(api) == json.loads(cli_tl), step
    assert settled(md) == settled(cli_pm), step
    assert settled(apm["markdown"]) == settled(cli_pm), step


# -- 1. current after every kind of change, compared with the CLI -------------------------------


LIFECYCLE = [
    "note first note typed at the keyboard",
    "note a backdated note --at 100m ago",
    "hypothesis the cache is cold",
    "hypothesis reject 1 warming the cache did not help",
    "hypothesis deploy 41 broke the pool",
    "assemble <@U0BOB|bob>:networking <@U0DAVE|dave>:ops",
    "lead <@U0ERIN|erin>",
    "assemble <@U0BOB|bob>:security",
    "severity sev1",
    "service checkout-api",
    "impact 40% --at 90m ago",
    "followup canary rollout for the pool <@U0BOB|bob> --due +7d",
    "followup owner 1 <@U0DAVE|dave>",
    "followup due 1 2027-01-15",
    "followup done 1 shipped",
    "followup reopen 1 not really",
    "followup drop 1 no longer needed",
    "hypothesis confirm 2 the pool size was halved",
    "mitigate rate limiting the checkout clients",
    "rollback reverted deploy 41",
    "monitor p99 latency",
    "reopen the latency came back",
    "rollback reverted deploy 41 again",
    "resolve latency normal for 30 minutes",
    "postmortem owner <@U0BOB|bob>",
    "postmortem status in-review",
]


def test_every_change_shows_at_once_in_page_downloads_and_api_as_the_cli_prints_it(
    web: RunningBot, db: str, tmp_path: Path
) -> None:
    """HELD UP: after each change of a whole incident life (notes, a backdated note,
    hypotheses and their outcomes, roles, lead, severity, service, impact, follow-ups and their edits, status
    moves, reopen, postmortem owner/status, a correction and a strike), the page viewed twice, postmortem.md,
    timeline.json and the API answer what `incidentbot postmortem` / `timeline --format json` print (lines that move
    with the clock while impact is charged are masked here; see the open-incident test for them)
    (README: the downloads are "what incidentbot postmortem and timeline --format json print")."""
    number = declare(web, "declare sev2 Checkout latency above 2s --at 2h ago")
    page(web, number)
    for step in LIFECYCLE:
        run(web, number, step)
        page(web, number)
        body = page(web, number)
        assert_current(web, db, number, tmp_path, step)
        if step.startswith("note first"):
            assert "first note typed at the keyboard" in text_of(article(body))
        if step.startswith("lead"):
            assert "Lead: @erin" in text_of(body)
        if step.startswith("severity"):
            assert "Severity: sev1" in text_of(body)
        if step == "assemble <@U0BOB|bob>:security":
            assert '<td data-label="Who">@bob</td><td data-label="Role">security</td>' in body
    # a correction and a strike of entries recorded before
    entries = json.loads(cli_timeline(db, number, tmp_path))["entries"]
    first = next(e["number"] for e in entries if e["text"] == "first note typed at the keyboard")
    backdated = next(e["number"] for e in entries if e["text"] == "a backdated note")
    run(web, number, f"correct {first} the corrected first note")
    body = page(web, number)
    assert "the corrected first note" in text_of(article(body))
    assert "first note typed at the keyboard" not in text_of(article(body))
    assert_current(web, db, number, tmp_path, "correct")
    run(web, number, f"strike {backdated} typed in the wrong incident")
    body = page(web, number)
    assert "a backdated note" not in text_of(article(body))
    assert_current(web, db, number, tmp_path, "strike")
    run(web, number, f"correct {first} --at 110m ago")
    assert_current(web, db, number, tmp_path, "correct --at")
    assert_current(web, db, number, tmp_path, "correct --at", process=True)  # the CLI as a child process agrees


# -- 2. the postmortem renders what people typed as typed -----------------------------------------


def test_markdown_typed_in_a_note_is_rendered_as_links_and_emphasis_in_the_postmortem(web: RunningBot) -> None:
    """FINDING, fixed (bot/views/markdown.py escapes inline Markdown in every value; the text checks below fail
    if any asterisk, tilde, backtick or bracket typed became formatting). README: "what people typed is escaped
    before, so it reads as typed"; issue: "All user text is
    escaped". A note `[click here](https://evil.example/phish)` becomes a live link whose target is hidden, and
    `rm /var/log/*.gz and /tmp/*.tmp` loses its asterisks to <em>, in the postmortem article of the page; the same
    for the title (its <h1>), hypotheses and follow-ups (`**pool**` -> <strong>, `[runbook](...)` -> a link).
    The page's own timeline section (outside the article) does show them as typed."""
    number = declare(web, "declare sev2 Checkout *latency* see [status](https://evil.example/status)")
    run(web, number, "hypothesis **pool** too small, see [docs](https://evil.example/docs)")
    run(web, number, "followup read *the* [runbook](https://evil.example/rb) <@U0BOB|bob>")
    typed = [
        "rm /var/log/*.gz and /tmp/*.tmp",
        "[click here](https://evil.example/phish)",
        "scale ~~down~~ up and run `kubectl get pods`",
    ]
    for text in typed:
        run(web, number, f"note {text}")
    post = article(page(web, number))
    tags = Tags(post)
    assert [a.get("href") for t, a in tags.tags if t == "a"] == []  # nobody typed a link element
    assert "del" not in tags.names()  # the template strikes nothing through; its own hints are <em> (checked below)
    for text in typed:
        assert f"Note: {text}" in text_of(post), text
    assert f"INC-{number} Postmortem: Checkout *latency* see [status](https://evil.example/status)" in text_of(post)
    assert "read *the* [runbook](https://evil.example/rb)" in text_of(post)


def test_backslashes_typed_in_a_note_read_as_typed_in_the_postmortem(web: RunningBot) -> None:
    r"""FINDING, fixed (backslashes are escaped in every value). A Windows path or a regex typed in a note
    (`C:\Temp\* and \d+\.\d+`) reads without its
    backslashes in the postmortem article (README: "so it reads as typed")."""
    number = declare(web, "declare sev2 Checkout latency above 2s")
    typed = r"path C:\Temp\* and regex \d+\.\d+ and \_x\_"
    run(web, number, f"note {typed}")
    assert f"Note: {typed}" in text_of(article(page(web, number)))


def test_no_javascript_or_data_link_from_anything_typed(web: RunningBot) -> None:
    """HELD UP: javascript:, vbscript:, file: and data: targets typed in every spelling give no such href (README:
    they are emptied), and no <img>, <script> or raw HTML reaches the postmortem article."""
    number = declare(web, "declare sev2 Links <script>alert(0)</script> [t](javascript:alert(0))")
    hostile = [
        "[x](javascript:alert(1))",
        "[b](JaVaScRiPt:alert(6)) [c](  javascript:alert(7)) [v](vbscript:msgbox) [f](file:///etc/passwd)",
        "[d](java&#x09;script:alert(8)) [e](&#106;avascript:alert(9)) [a](<javascript:alert(5)>)",
        "![pix](https://evil.example/t.png) ![d](data:image/svg+xml,<svg onload=alert(1)>)",
        "<javascript:alert(3)|click> <https://x.example|label> <!channel> <@U0BOB|bob>",
        "<b>bold</b> <script>alert(1)</script> <img src=x onerror=alert(1)> <a href=javascript:alert(2)>y</a>",
        "[ref]\n\n[ref]: javascript:alert(10)",
        "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    ]
    # (data:image/png links are the subject of their own test below)
    for text in hostile:
        run(web, number, f"note {text}")
    run(web, number, "followup fix [it](javascript:alert(11)) <@U0BOB|bob>")
    run(web, number, "hypothesis [h](javascript:alert(12)) <script>x</script>")
    body = page(web, number)
    tags = Tags(body)
    for tag, attrs in tags.tags:
        for name in ("href", "src"):
            # as a browser reads a URL: C0 controls and spaces around it and tabs/newlines inside it dropped
            value = re.sub(r"[\t\n\r]", "", (attrs.get(name) or "").strip("\x00\x01\x02 \t\n\r\f")).lower()
            assert not value.startswith(("javascript:", "vbscript:", "file:")), (tag, attrs)
            assert not (tag == "a" and value.startswith("data:")), (tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
    post = Tags(article(body))
    assert not {"img", "script", "iframe", "svg"} & post.names()
    assert [a.get("src") for t, a in tags.tags if t == "script"] == ["/static/web.js"]


def test_a_data_image_link_typed_in_a_note_keeps_its_data_target(web: RunningBot) -> None:
    """FINDING (low harm), fixed (link brackets typed are escaped, so no link forms). README: "`javascript:`,
    `vbscript:`, `file:` and `data:` link targets are emptied".
    A note `[see](data:image/png;base64,iVBORw0KGgo=)` (or `![x](data:image/png...)`) gives
    `<a href="data:image/png;base64,...">` in the postmortem article: cmark-gfm's safe mode lets data:image/png,
    gif, jpeg and webp through."""
    number = declare(web, "declare sev2 Checkout latency above 2s")
    run(web, number, "note [see](data:image/png;base64,iVBORw0KGgo=) ![x](data:image/gif;base64,R0lGODlhAQABAAAAACw=)")
    tags = Tags(article(page(web, number)))
    hrefs = [a.get("href") or "" for t, a in tags.tags if t == "a"]
    assert [h for h in hrefs if h.lower().startswith("data:")] == []


def test_an_open_incident_postmortem_keeps_its_impact_and_budget_figures_from_its_first_view(
    web: RunningBot, db: str, tmp_path: Path
) -> None:
    """FINDING, fixed (the kept draft of an open incident is keyed on the minute). An incident still failing 50% of
    checkout requests: the page is viewed, a minute passes with no new
    entry, the page is viewed again. Its postmortem should say what the CLI (and postmortem.md, which held up) says
    now ("31 min so far", 15.6 bad-request minutes...), but the page's postmortem article keeps the impact duration
    and the budget burned of the first view (README: the draft is kept "until the timeline grows, the UTC hour
    turns...", so up to 59 minutes behind during a live sev1, the budget burn an SRE watches).

    The minute that passes is the bot's: until the first view its clock (the one the use cases stamp and read, as
    test_metrics sets it) runs 61 s behind this machine's, then it is this machine's again, as the CLI's is
    throughout; so the second view is in a later UTC minute than the first, as after a real minute's wait (the test
    slept up to 61 s for it before)."""
    behind = [timedelta(seconds=61)]

    def bot_clock() -> datetime:
        return datetime.now(UTC) - behind[0]

    web.usecases.transactions.clock = bot_clock
    web.usecases.incidents.clock = bot_clock
    number = declare(web, "declare sev1 Checkout failing --at 30m ago")
    run(web, number, "service checkout-api")
    run(web, number, "impact 50% --at 30m ago")
    first = without_generated(get(web.port, f"/incidents/INC-{number}/postmortem.md", headers=TOKEN).body)
    first_impact = [line for line in first if line.startswith("Recorded:")]
    page(web, number)
    behind[0] = timedelta(0)  # a minute and a second have passed for the bot: the next UTC minute has begun
    started = time.monotonic()
    cli_pm = without_generated(cli_postmortem(db, number, tmp_path))
    md = without_generated(get(web.port, f"/incidents/INC-{number}/postmortem.md", headers=TOKEN).body)
    apart = time.monotonic() - started  # the CLI and the download compute "now" at most this far apart
    impact = [line for line in cli_pm if line.startswith("Recorded: 50% of requests failing")]
    assert impact and impact[0] not in first  # the CLI has moved on a minute
    md_impact = [line for line in md if line.startswith("Recorded:")]
    assert len(md_impact) == 1
    assert_later_by_at_most(md_impact[0], impact[0], apart)
    shown = re.findall(
        r"Recorded: 50% of requests failing[^.]*\.\d[^.]*\.\d%[^.]*\.", text_of(article(page(web, number)))
    )
    # The page's draft is kept for the minute, so its budget may be some seconds older than the CLI's (0.1% of the
    # budget apart at most here); its duration is the CLI's, and it has moved on since the first view.
    so_far = re.compile(r"\((\d+) min so far")
    assert len(shown) == 1 and shown != first_impact, f"page {shown}, first view {first_impact}"
    assert so_far.findall(shown[0]) == so_far.findall(impact[0]), f"page {shown}, CLI {impact}"


IMPACT_FIGURES = re.compile(
    r"^Recorded: 50% of requests failing since (\d\d:\d\d) \((\d+) min so far, not mitigated when generated\), "
    r"(\d+\.\d) bad-request minutes, (\d+\.\d)% of the 30-day budget\.$"
)


def assert_later_by_at_most(later: str, earlier: str, seconds: float) -> None:
    """`later` and `earlier` are the impact line of one open incident computed twice, `seconds` apart at most: the
    same start and whole minutes, and bad-request minutes and budget burned grown by what 50% of requests failing for
    `seconds` adds (0.5 bad-request minute per minute), give or take the 0.1 of rounding each figure is printed with."""
    a, b = IMPACT_FIGURES.match(later), IMPACT_FIGURES.match(earlier)
    assert a and b, (later, earlier)
    assert a.group(1, 2) == b.group(1, 2), (later, earlier)
    bad_later, bad_earlier = float(a.group(3)), float(b.group(3))
    budget_later, budget_earlier = float(a.group(4)), float(b.group(4))
    grown_bad = 0.5 * seconds / 60
    assert bad_earlier - 0.1 <= bad_later <= bad_earlier + grown_bad + 0.1, (later, earlier, seconds)
    percent_per_bad_minute = budget_earlier / bad_earlier
    assert budget_earlier - 0.1 <= budget_later <= budget_earlier + grown_bad * percent_per_bad_minute + 0.1, (
        later,
        earlier,
        seconds,
    )


def cli_order(db: str, number: int, tmp_path: Path, *extra: str) -> list[int]:
    """The entry numbers in the order `incidentbot timeline` prints them (corrections and strikes on their own
    lines too)."""
    return [int(n) for n in re.findall(r"^#(\d+) ", cli_timeline_text(db, number, tmp_path, *extra), re.M)]


# -- 3. two incidents viewed alternately; many incidents in turn (a cache that evicts) ------------


def test_two_incidents_viewed_alternately_each_show_only_their_own_current_entries(
    web: RunningBot, db: str, tmp_path: Path
) -> None:
    """HELD UP: INC-2 and INC-3 viewed in turn, each changed between views (notes, backdated
    notes landing at the same minute as another entry, a correction): each page has its own entries, in the CLI's
    order, and never the other's."""
    a = declare(web, "declare sev2 Checkout latency above 2s --at 3h ago")
    b = declare(web, "declare sev3 Search index stale --at 3h ago")
    for round_number in range(6):
        for me, other in ((a, b), (b, a)):
            run(web, me, f"note round {round_number} of INC-{me}")
            run(web, me, f"note backdated round {round_number} of INC-{me} --at {170 - round_number * 10}m ago")
            body = page(web, me)
            post = text_of(article(body))
            assert f"round {round_number} of INC-{me}" in post
            assert f"of INC-{other}" not in text_of(body)
            assert timeline_numbers(page(web, me, "?timeline=all")) == cli_order(db, me, tmp_path)
    run(web, a, "correct 2 round zero, corrected")
    run(web, b, "strike 2 wrong incident")
    assert "round zero, corrected" in text_of(article(page(web, a)))
    assert f"Note: round 0 of INC-{a}" not in text_of(article(page(web, a)))
    assert f"Note: round 0 of INC-{b}" not in text_of(article(page(web, b)))
    for me in (a, b):
        assert_current(web, db, me, tmp_path, f"INC-{me}")
        assert timeline_numbers(page(web, me, "?timeline=all")) == cli_order(db, me, tmp_path)


def test_forty_incidents_viewed_in_turn_are_each_current(web: RunningBot) -> None:
    """HELD UP: more incidents than the page keeps (README: at most 32), each changed and viewed
    in turn, three rounds: every page and its timeline.json show the change just made."""
    numbers = [declare(web, f"declare sev3 Incident number {i} in the storm") for i in range(40)]
    for round_number in range(3):
        for i, number in enumerate(numbers if round_number != 1 else list(reversed(numbers))):
            run(web, number, f"note round {round_number} item {i} on INC-{number}")
            post = text_of(article(page(web, number)))
            assert f"round {round_number} item {i} on INC-{number}" in post, (round_number, number)
            entries = get(web.port, f"/api/v1/incidents/INC-{number}/timeline", headers=TOKEN).json()["entries"]
            assert entries[-1]["text"] == f"round {round_number} item {i} on INC-{number}"
            assert len(entries) == 2 + round_number


# -- 4. two replicas on one database ---------------------------------------------------------------


def test_one_replica_records_the_other_serves_the_page_current(
    db: str, fake_slack: FakeSlack, provider: FakeSlackOpenID, tmp_path: Path
) -> None:
    """HELD UP: replica A records (and the CLI, a third process, records too), replica B
    serves the page: each change shows on B at once, in the CLI's order, for notes, backdated notes, corrections,
    strikes, hypotheses, follow-up edits, lead and severity changes, reopen."""
    with (
        running_bot(db, fake_slack.base_url, **web_settings(provider)) as a,
        running_bot(db, fake_slack.base_url, **web_settings(provider)) as b,
    ):
        number = declare(a, "declare sev2 Checkout latency above 2s --at 2h ago")
        page(b, number)
        steps = [
            "note from replica A",
            "note backdated on A --at 110m ago",
            "hypothesis the pool is too small",
            "followup raise the pool <@U0BOB|bob>",
            "followup owner 1 <@U0DAVE|dave>",
            "lead <@U0ERIN|erin>",
            "severity sev1",
            "rollback reverted deploy 41",
            "resolve back to normal",
            "reopen came back",
            "correct 2 from replica A, corrected",
            "strike 3 not this one",
        ]
        for step in steps:
            run(a, number, step)
            page(b, number)
            assert_current(b, db, number, tmp_path, step)
            assert timeline_numbers(page(b, number, "?timeline=all")) == cli_order(db, number, tmp_path), step
        body = page(b, number)
        assert "Lead: @erin" in text_of(body) and "Severity: sev1" in text_of(body)
        assert "Status: investigating" in text_of(body)
        assert "from replica A, corrected" in text_of(article(body))
        cli = incidentbot("run", f"INC-{number} note typed in the CLI", database_url=db, cwd=tmp_path)
        assert cli.returncode == 0, cli.stderr
        assert "typed in the CLI" in text_of(article(page(b, number)))
        assert "typed in the CLI" in text_of(article(page(a, number)))


# -- 5. an incident with thousands of entries ------------------------------------------------------


@pytest.fixture()
def big_db(tmp_path: Path) -> str:
    """A database with INC-1, a 10,000-entry incident (the benchmark's: notes 10 s apart from 2026-11-22 13:42)."""
    from dataclasses import replace

    from bench.suites import _incident_with_entries
    from bot.domain.lifecycle import Decision
    from bot.store import open_store

    url = sqlite_url(tmp_path)
    store = open_store(url)
    incident, entries = _incident_with_entries(10_000)
    incident = replace(incident, number=1)
    with store.transaction() as uow:
        uow.incidents.add(Decision(incident, tuple(entries)), incident.declared_at)
    store.dispose()
    return url


def test_a_ten_thousand_entry_incident_stays_current_through_corrections_strikes_and_backdating(
    big_db: str, fake_slack: FakeSlack, provider: FakeSlackOpenID, tmp_path: Path
) -> None:
    """HELD UP: on a 10,000-entry incident viewed again and again, a new note, a backdated note
    (it lands where it happened, README), a correction and a strike of old entries show at once on the page, in the
    whole timeline (`?timeline=all`, in the CLI's order), in its postmortem and in timeline.json (= the CLI's)."""
    with running_bot(big_db, fake_slack.base_url, **web_settings(provider)) as web:
        page(web, 1)
        page(web, 1)
        run(web, 1, "note a new note on the big one")
        body = page(web, 1)
        assert "a new note on the big one" in text_of(body.split('<ol class="timeline">')[1].split("</ol>")[0])
        # entry #5: "Edge CPU at 53% on pop-3; 502 rate 3.3%" at 13:42:40; #6 at 13:42:50
        run(web, 1, "note backdated into the middle --at 2026-11-22 14:00:05")
        run(web, 1, "correct 5 Edge CPU at 99% on pop-3 (corrected)")
        run(web, 1, "strike 6 a duplicate reading")
        run(web, 1, "correct 7 --at 2026-11-22 15:00")
        whole = page(web, 1, "?timeline=all")
        assert timeline_numbers(whole) == cli_order(big_db, 1, tmp_path)
        post = text_of(article(whole))
        assert "Edge CPU at 99% on pop-3 (corrected)" in post
        assert "backdated into the middle" in post
        assert "Edge CPU at 54% on pop-4; 502 rate 4.4%" not in post  # #6, struck
        tl = get(web.port, "/incidents/INC-1/timeline.json", headers=TOKEN)
        assert json.loads(tl.body) == json.loads(cli_timeline(big_db, 1, tmp_path))
        md = get(web.port, "/incidents/INC-1/postmortem.md", headers=TOKEN).body
        assert without_generated(md) == without_generated(cli_postmortem(big_db, 1, tmp_path))
        again = page(web, 1, "?timeline=all")
        assert timeline_numbers(again) == timeline_numbers(whole)


# -- 6. private incidents --------------------------------------------------------------------------


def test_a_private_incident_page_opens_to_a_new_lead_at_once_and_never_leaks_from_the_cache(
    web: RunningBot, provider: FakeSlackOpenID
) -> None:
    """HELD UP: carol (declarer) views her private incident (so the page keeps it); bob is
    refused (403); carol makes bob the lead: bob reads it at once; dave, never a member, is still refused on the page,
    the downloads and the API, and nothing of it is in his answers."""
    port = web.port
    number = declare(web, "declare --private sev1 Payroll export leaks SSNs")
    run(web, number, "note the bucket was public since 09:00")
    carol = {"cookies": {"incidentbot_session": session_of(port, provider, "U0CAROL", "carol")}}
    bob = {"cookies": {"incidentbot_session": session_of(port, provider, "U0BOB", "bob")}}
    dave = {"cookies": {"incidentbot_session": session_of(port, provider, "U0DAVE", "dave")}}
    paths = [
        f"/incidents/INC-{number}",
        f"/incidents/INC-{number}/postmortem.md",
        f"/incidents/INC-{number}/timeline.json",
        f"/api/v1/incidents/INC-{number}/timeline",
        f"/api/v1/incidents/INC-{number}/postmortem",
        f"/api/v1/incidents/INC-{number}",
    ]
    for path in paths:
        assert get(port, path, **carol).status == 200, path
        assert get(port, path, **bob).status == 403, path
    run(web, number, "lead <@U0BOB|bob>")
    for path in paths:
        answer = get(port, path, **bob)
        assert answer.status == 200, path
    assert "the bucket was public since 09:00" in text_of(article(page(web, number, **bob)))
    for who in (dave, {"headers": TOKEN}):
        for path in [*paths, f"/incidents/inc-{number}", f"/incidents/INC-{number}?timeline=all"]:
            answer = get(port, path, **who)
            assert answer.status == 403, path
            assert "Payroll" not in answer.body and "bucket" not in answer.body, path


# -- 7. Unicode and long texts ---------------------------------------------------------------------


UNICODE = [
    "مرحبا بالعالم: الخادم لا يستجيب",  # Arabic, right to left
    "עברית וגם English mixed",
    "family 👨‍👩‍👧‍👦 and flag 🏳️‍🌈 and skin 👍🏽",
    "combining: e\u0301 a\u0308 Z\u0335\u0321\u0322a\u0334l\u0337g\u0338o",
    "CJK 障害が発生しました and Devanagari नमस्ते",
    "non-joiner in Persian \u0646\u0645\u06cc\u200c\u0634\u0648\u062f and joiner in 👩\u200d🚒",
]
"""(A joiner typed between two spaces joins nothing and is dropped when the command is read: test_grammar.)"""


def test_unicode_reads_back_exactly_in_page_postmortem_and_timeline_json(
    web: RunningBot, db: str, tmp_path: Path
) -> None:
    """HELD UP: RTL text, emoji ZWJ sequences, combining marks, CJK, ZWJ/ZWNJ in
    notes read back exactly (the same code points) in the page's timeline, its postmortem, timeline.json and the API;
    and timeline.json is byte for byte the CLI's output."""
    number = declare(web, "declare sev2 العربية title 👨‍👩‍👧‍👦 e\u0301")
    for text in UNICODE:
        run(web, number, f"note {text}")
    body = page(web, number)
    timeline_text = Tags(body.split('<ol class="timeline">')[1].split("</ol>")[0]).all_text()
    post = Tags(article(body)).all_text()
    for text in UNICODE:
        assert f"Note: {text}" in timeline_text, text
        assert f"Note: {text}" in post, text
    entries = get(web.port, f"/api/v1/incidents/INC-{number}/timeline", headers=TOKEN).json()["entries"]
    assert [e["text"] for e in entries if e["kind"] == "note"] == UNICODE
    assert "<h1>INC-2 Postmortem: العربية title 👨‍👩‍👧‍👦 e\u0301</h1>" in article(body)


def test_timeline_json_download_is_byte_for_byte_the_clis_output(web: RunningBot, db: str, tmp_path: Path) -> None:
    """FINDING (low harm, formatting only), fixed (the download is indented as the CLI prints it). The brief's
    reading of the README (the downloads are "what incidentbot
    postmortem and timeline --format json print"): the download's bytes should equal the CLI's stdout (allowing only a
    final newline). timeline.json is one compact line while the CLI prints it indented (2 spaces); the JSON values are
    equal (test_every_change_... holds), so a diff of the two files or a checksum differs."""
    number = declare(web, "declare sev2 Checkout 👨‍👩‍👧‍👦 é")
    run(web, number, 'note unicode 👍🏽 مرحبا and a "quote" and a \\ backslash')
    body = get(web.port, f"/incidents/INC-{number}/timeline.json", headers=TOKEN).body
    cli = cli_timeline(db, number, tmp_path)
    assert body.rstrip("\n") == cli.rstrip("\n")


def test_a_twenty_thousand_character_note_is_whole_on_the_page_and_in_the_postmortem(web: RunningBot) -> None:
    """HELD UP: README: "Free text is kept whole up to 20,000 characters"; the page's timeline
    and the postmortem keep it whole (nothing says the web view truncates)."""
    number = declare(web, "declare sev2 Checkout latency above 2s")
    long_text = ("word " * 3998 + "THE-END").strip()
    assert len(long_text) <= 20_000
    run(web, number, f"note {long_text}")
    body = page(web, number)
    assert long_text in Tags(body.split('<ol class="timeline">')[1].split("</ol>")[0]).all_text()
    assert long_text in Tags(article(body)).all_text()


# -- 8. what arrives from outside: change events, alerts -------------------------------------------


@pytest.fixture()
def hooked(db: str, fake_slack: FakeSlack, provider: FakeSlackOpenID) -> Iterator[RunningBot]:
    from tests.support.webhooks import WEBHOOK_TOKEN

    with running_bot(
        db, fake_slack.base_url, **web_settings(provider, INCIDENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN)
    ) as running:
        yield running


def test_a_change_event_and_alert_changes_show_at_once_on_a_page_viewed_before(
    hooked: RunningBot, db: str, tmp_path: Path
) -> None:
    """HELD UP: a change event to the incident's service (README: it is listed under "Recent
    changes" when in the 2 hours before detection), an alert firing then clearing: the page viewed before shows them at
    once (Recent changes, the alert history, the Alerts table) and postmortem.md is the CLI's."""
    from tests.support.alerts import firing_payload, resolved_payload
    from tests.support.webhooks import post_json, post_webhook

    fired = post_webhook(hooked, firing_payload())
    assert fired.status == 200, fired.body
    number = int(fired.json()["incident"].removeprefix("INC-"))
    run(hooked, number, "service search")
    body = page(hooked, number)
    declared_at = datetime.fromisoformat(
        json.loads(cli_timeline(db, number, tmp_path))["entries"][0]["occurred_at"].replace("Z", "+00:00")
    )
    change_time = (declared_at - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = post_json(
        hooked,
        "/changes",
        {"service": "search", "description": "index schema v42 rolled out", "author": "ci", "time": change_time},
    )
    assert answer.status == 201, answer.body
    body = page(hooked, number)
    assert "index schema v42 rolled out" in text_of(article(body))
    cleared = post_webhook(hooked, resolved_payload())
    assert cleared.status == 200, cleared.body
    body = page(hooked, number)
    alerts = text_of(body.split('<section id="alerts">')[1].split("</section>")[0])
    assert "14:40" in alerts, alerts
    md = get(hooked.port, f"/incidents/INC-{number}/postmortem.md", headers=TOKEN).body
    assert without_generated(md) == without_generated(cli_postmortem(db, number, tmp_path))
    assert "index schema v42 rolled out" in md


# -- 9. one incident under several spellings of its id ---------------------------------------------


def test_every_spelling_of_the_id_gives_the_same_current_page(web: RunningBot) -> None:
    """HELD UP: README: "Incident ids in paths are read in any case (`/incidents/inc-7`)".
    Viewed as INC-2 and inc-2 in turn with changes between, each spelling shows the latest note, and the API too."""
    number = declare(web, "declare sev2 Checkout latency above 2s")
    for i in range(4):
        run(web, number, f"note spelling round {i}")
        for spelled in (f"INC-{number}", f"inc-{number}", f"Inc-{number}"):
            answer = get(web.port, f"/incidents/{spelled}", headers=TOKEN)
            assert answer.status == 200, spelled
            assert f"spelling round {i}" in text_of(article(answer.body)), spelled
            api = get(web.port, f"/api/v1/incidents/{spelled}/timeline", headers=TOKEN).json()
            assert api["entries"][-1]["text"] == f"spelling round {i}", spelled


def test_the_page_tables_follow_hypotheses_followups_and_roles_as_they_change(web: RunningBot) -> None:
    """HELD UP: the page's own sections (IRT with roles, hypotheses with outcomes, follow-ups
    with owner, due date and state), viewed before each change, show each change at once."""
    number = declare(web, "declare sev2 Checkout latency above 2s")
    page(web, number)
    run(web, number, "assemble <@U0BOB|bob>:networking")
    assert '<td data-label="Who">@bob</td><td data-label="Role">networking</td>' in page(web, number)
    run(web, number, "assemble <@U0BOB|bob>:security")
    body = page(web, number)
    assert '<td data-label="Who">@bob</td><td data-label="Role">security</td>' in body
    run(web, number, "hypothesis the pool is too small")
    page(web, number)
    run(web, number, "hypothesis reject 1 pool size unchanged")
    hyps = page(web, number).split('<section id="hypotheses">')[1].split("</section>")[0]
    assert "<strong>rejected</strong>" in hyps and "pool size unchanged" in hyps
    run(web, number, "followup raise the pool <@U0BOB|bob> --due 2027-01-10")
    page(web, number)
    for step, expected in (
        ("followup owner 1 <@U0DAVE|dave>", '<td data-label="Owner">@dave</td>'),
        ("followup due 1 2027-02-01", '<td data-label="Due">2027-02-01</td>'),
        ("followup done 1 shipped", '<td data-label="State">done'),
        ("followup reopen 1 not yet", '<td data-label="State">open</td>'),
        ("followup drop 1 not needed", '<td data-label="State">dropped</td>'),
    ):
        run(web, number, step)
        section = page(web, number).split('<section id="followups">')[1].split("</section>")[0]
        assert expected in section, (step, section)
    run(web, number, "lead <@U0ERIN|erin>")
    irt = page(web, number).split('<section id="irt">')[1].split("</section>")[0]
    assert "@erin" in irt
