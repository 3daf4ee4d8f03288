"""The status page through the real entry points (SQLite and PostgreSQL): signed ``/incident statuspage ...``
slash commands to the real bot (fake Slack, fake Statuspage on 127.0.0.1), and ``incidentbot run`` in a child
process whose queued effects a running bot then delivers. The incident's title and notes never reach the page.

CLI runs that only put the database in a state, and the outbox listing before the bot starts, run the entry function
in this process (``incidentbot_here``); from child processes: the queued ``statuspage open`` (its stderr is checked),
the refusal of an unknown component, and the listing and retries made while a bot runs in this process (an
in-process CLI would share its environment, working folder and logging set-up with the bot's threads)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.bot_server import running_bot
from tests.support.cli import assert_one_line_error, incidentbot, incidentbot_here, run_incidentbot
from tests.support.fake_slack import FakeSlack
from tests.support.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage
from tests.support.fake_tracker_http import serving
from tests.support.slack_driver import SlackDriver

pytestmark = pytest.mark.migrated_database
"""database_url comes at the schema's head, a copy of a template (the first CLI run or the running bot would migrate it;
the migrations are tested in test_migrations.py and the first-run tests)."""

TITLE = "Checkout db primary OOM-killed by runaway migration"
NOTE = "customer 4711 card numbers visible in debug logs"
SUMMARY = "migration 0042 ran without a batch size"
CATALOGUE = """services:
  checkout-api:
    slo: 99.9
    statuspage_components: [cmpcheckout1]
  search:
    slo: 99.5
    statuspage_components: [cmpsearch002]
"""


@pytest.fixture
def statuspage() -> Iterator[FakeStatuspage]:
    with serving(FakeStatuspage()) as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, statuspage: FakeStatuspage) -> dict[str, str]:
    catalogue = tmp_path / "slos.yml"
    catalogue.write_text(CATALOGUE)
    return {
        "STATUSPAGE_API_KEY": API_KEY,
        "STATUSPAGE_PAGE_ID": PAGE_ID,
        "STATUSPAGE_URL": statuspage.url,
        "INCIDENT_SLO_FILE": str(catalogue),
    }


def _internal_text_absent(statuspage: FakeStatuspage) -> None:
    assert statuspage.leaked((TITLE, NOTE, SUMMARY), ("OOM", "4711", "0042")) == []


def test_slash_commands_open_update_and_the_resolve_resolves_the_page_once(
    database_url: str, fake_slack: FakeSlack, statuspage: FakeStatuspage, settings: dict[str, str]
) -> None:
    """/incident statuspage open -> update -> /incident resolve: one Statuspage incident, resolved once, with
    only the typed public text; the channel reads each step."""
    with running_bot(database_url, fake_slack.base_url, **settings) as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare(f"declare sev1 {TITLE}")
        slack.command("service checkout-api", channel_id=channel)
        slack.command(f"note {NOTE}", channel_id=channel)
        opened = slack.command(
            "statuspage open major service Checkout payments are failing\nWe are investigating.", channel_id=channel
        )
        assert opened.result.status == 200, opened.result.body
        slack.command("statuspage update identified We found the cause and are fixing it.", channel_id=channel)
        slack.command(
            # as Slack sends it: the mention and link escaped, "&" as "&amp;"
            "statuspage update Ask <@U0BOB|bob> &amp; see <https://acme.example/faq|the FAQ> for refunds.",
            channel_id=channel,
        )
        slack.command(f"resolve {SUMMARY}", channel_id=channel)
        bot.drain()
        lines = "\n".join(str(p.get("text")) for p in slack.posted(channel))
    assert len(statuspage.incidents) == 1
    incident = next(iter(statuspage.incidents.values()))
    assert (incident["name"], incident["status"], incident["impact_override"]) == (
        "Checkout payments are failing",
        "resolved",
        "major",
    )
    assert [(u["status"], u["body"]) for u in reversed(incident["incident_updates"])] == [
        ("investigating", "Checkout payments are failing\nWe are investigating."),
        ("identified", "We found the cause and are fixing it."),
        ("identified", "Ask @bob & see the FAQ (https://acme.example/faq) for refunds."),
        ("resolved", "This incident has been resolved."),
    ]
    assert len(statuspage.calls("create")) == 1
    assert statuspage.components["cmpcheckout1"] == "operational"
    assert "Status page incident opened (major impact, investigating): Checkout payments are failing" in lines
    _internal_text_absent(statuspage)


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for ``condition`` (the outbox retries on its own clock: 1 s, 2 s ... or Retry-After)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the outbox did not get there in time"
        time.sleep(0.1)


def test_a_dropped_create_answer_and_a_429_still_make_one_statuspage_incident(
    database_url: str, fake_slack: FakeSlack, statuspage: FakeStatuspage, settings: dict[str, str]
) -> None:
    """The running bot's outbox: the first look-up is rate limited (429, Retry-After: 1), then the create's
    answer is lost (the page has it); the next attempt finds the incident by its marker, and the update follows
    once."""
    with running_bot(database_url, fake_slack.base_url, **settings) as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare(f"declare sev1 {TITLE}")
        slack.command("service checkout-api", channel_id=channel)
        statuspage.fail("create", drop=True)
        statuspage.fail("unresolved", 429, body={"error": "Rate limited"}, headers={"Retry-After": "1"})
        slack.command("statuspage open major service Checkout payments are failing", channel_id=channel)
        slack.command("statuspage update We are rolling back.", channel_id=channel)
        _until(lambda: any(len(i["incident_updates"]) == 2 for i in statuspage.incidents.values()))
        bot.drain()
    assert len(statuspage.incidents) == 1
    assert len(statuspage.calls("create")) == 1
    assert len(statuspage.calls("unresolved")) == 3  # the 429, the look-up before the create, the one finding it
    incident = next(iter(statuspage.incidents.values()))
    assert [u["body"] for u in incident["incident_updates"]] == [
        "We are rolling back.",
        "Checkout payments are failing",
    ]


def test_with_confirmation_the_channel_is_asked_and_statuspage_resolve_resolves(
    database_url: str, fake_slack: FakeSlack, statuspage: FakeStatuspage, settings: dict[str, str]
) -> None:
    """STATUSPAGE_CONFIRM_RESOLVE=true: /incident resolve leaves the page open and says so in the channel;
    /incident statuspage resolve <text> then resolves it with that text."""
    with running_bot(database_url, fake_slack.base_url, **settings, STATUSPAGE_CONFIRM_RESOLVE="true") as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare(f"declare sev2 {TITLE}")
        slack.command("statuspage open minor search Search results are slow", channel_id=channel)
        slack.command(f"resolve {SUMMARY}", channel_id=channel)
        bot.drain()
        asked = [str(p.get("text")) for p in slack.posted(channel) if "still open" in str(p.get("text"))]
        assert next(iter(statuspage.incidents.values()))["status"] == "investigating"
        slack.command("statuspage resolve Search is fast again.", channel_id=channel)
        bot.drain()
    assert asked == [
        ":information_source: INC-1 is resolved, but its public status-page incident is still open. "
        "`/incident statuspage resolve [public text]` resolves it (without text, customers read the configured "
        "resolve sentence)."
    ]
    incident = next(iter(statuspage.incidents.values()))
    assert (incident["status"], incident["incident_updates"][0]["body"]) == ("resolved", "Search is fast again.")
    assert statuspage.components["cmpsearch002"] == "operational"
    _internal_text_absent(statuspage)


def test_without_statuspage_the_slash_command_says_how_to_enable_it(database_url: str, fake_slack: FakeSlack) -> None:
    with running_bot(database_url, fake_slack.base_url) as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare(f"declare sev2 {TITLE}")
        text = slack.ephemeral("statuspage open minor cmpsearch002 Search is slow", channel_id=channel)
    assert "No status page is configured" in text
    assert "STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID" in text


def test_cli_run_queues_and_a_running_bot_publishes(
    database_url: str,
    tmp_path: Path,
    fake_slack: FakeSlack,
    statuspage: FakeStatuspage,
    settings: dict[str, str],
) -> None:
    """incidentbot run "INC-1 statuspage open ..." queues the effect and says so; serve delivers it once (that open
    from a child process, the other runs and the outbox listing in this process)."""

    def run(text: str, process: bool = False) -> str:
        result = run_incidentbot(
            "run", text, process=process, database_url=database_url, cwd=tmp_path, settings=settings
        )
        assert result.returncode == 0, result.stderr
        return result.stderr

    run(f"declare sev1 {TITLE}")
    run("INC-1 service search")
    run(f"INC-1 note {NOTE}")
    said = run("INC-1 statuspage open minor service Search results are slow", process=True)
    assert "1 status page update(s)" in said
    run("INC-1 statuspage update monitoring Search is recovering.")
    listed = incidentbot_here("outbox", "--format", "json", database_url=database_url, cwd=tmp_path, settings=settings)
    kinds = [i["kind"] for i in json.loads(listed.stdout)["items"] if i["kind"].startswith("statuspage.")]
    assert kinds == ["statuspage.open", "statuspage.update"]
    assert statuspage.requests == []
    with running_bot(database_url, fake_slack.base_url, **settings) as bot:
        bot.drain()
    incident = next(iter(statuspage.incidents.values()))
    assert [u["body"] for u in incident["incident_updates"]] == [
        "Search is recovering.",
        "Search results are slow",
    ]
    assert statuspage.components["cmpsearch002"] == "degraded_performance"
    _internal_text_absent(statuspage)


def test_cli_run_refuses_an_unknown_component_word_in_one_line(
    database_url: str, tmp_path: Path, settings: dict[str, str]
) -> None:
    """The refusal from a child process (the declaration in this process)."""
    declared = incidentbot_here(
        "run", f"declare sev1 {TITLE}", database_url=database_url, cwd=tmp_path, settings=settings
    )
    assert declared.returncode == 0, declared.stderr
    result = incidentbot(
        "run",
        "INC-1 statuspage open minor checkout_api! Slow",
        database_url=database_url,
        cwd=tmp_path,
        settings=settings,
    )
    assert_one_line_error(result, "is neither a catalogued service nor a Statuspage component id")


def test_a_refused_open_tells_the_lead_once_however_many_updates_follow(
    database_url: str, fake_slack: FakeSlack, statuspage: FakeStatuspage, settings: dict[str, str], tmp_path: Path
) -> None:
    """Findings 8 and 9 (breaksp): a bad key refuses the open (401); two updates follow. The channel gets one
    line, mentioning the lead; the updates wait dead behind the open, and once the key works, retrying the open
    then the updates publishes them in order."""
    with running_bot(database_url, fake_slack.base_url, **settings) as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare(f"declare sev1 {TITLE}")
        slack.command("lead <@U0BOB|bob>", channel_id=channel)
        statuspage.fail("*", 401, body={"error": "Could not authenticate"}, times=1)
        slack.command("statuspage open major search Search is down", channel_id=channel)
        slack.command("statuspage update identified Cause found", channel_id=channel)
        slack.command("statuspage update monitoring Fix deployed", channel_id=channel)
        bot.drain()
        told = [line for line in slack.lines(channel) if "could not be updated" in line]
        assert len(told) == 1
        assert told[0].startswith("<@U0BOB> :warning: INC-1's public status page could not be updated (open): ")
        assert "Its later `statuspage update`s are not published before it: retry them after it." in told[0]
        listed = incidentbot("outbox", "--status", "dead", database_url=database_url, cwd=tmp_path, settings=settings)
        dead = [int(line.split()[0].lstrip("#")) for line in listed.stdout.splitlines() if "statuspage." in line]
        assert len(dead) == 3, listed.stdout
        for item_id in sorted(dead):
            retried = incidentbot(
                "outbox", "--retry", str(item_id), database_url=database_url, cwd=tmp_path, settings=settings
            )
            assert retried.returncode == 0, retried.stderr
        bot.worker.wake()
        _until(lambda: any(i["status"] == "monitoring" for i in statuspage.incidents.values()))
    (incident,) = statuspage.incidents.values()
    assert [(u["status"], u["body"]) for u in reversed(incident["incident_updates"])] == [
        ("investigating", "Search is down"),
        ("identified", "Cause found"),
        ("monitoring", "Fix deployed"),
    ]


def test_typed_text_reaches_the_page_word_for_word_and_the_reply_says_what_customers_read(
    database_url: str, fake_slack: FakeSlack, statuspage: FakeStatuspage, settings: dict[str, str]
) -> None:
    """Findings 6, 7, 15 and 17 (breaksp): a capitalised status word is public text (the reply names the status
    kept and the text); a components list with a space after its comma, a forgotten components list and a bare
    Slack id are refused at the command, with the fix, and nothing of them reaches Statuspage."""
    with running_bot(database_url, fake_slack.base_url, **settings) as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare(f"declare sev1 {TITLE}")
        refusals = [
            slack.command(text, channel_id=channel).text
            for text in (
                "statuspage open major search, checkout-api Search and checkout are slow",
                "statuspage open major Payments are failing for some customers",
            )
        ]
        slack.command("statuspage open major search Search is slow", channel_id=channel)
        identified = slack.command(
            "statuspage update Identified the cause: a faulty certificate.", channel_id=channel
        ).text
        monitoring = slack.command("statuspage update monitoring Error rates are back to normal.", channel_id=channel)
        bare = slack.command("statuspage update Thanks to <@U0BOB> for the report", channel_id=channel).text
        bot.drain()
    assert "`search,` ends with a comma: write the components without spaces (`search,checkout-api`)" in refusals[0]
    assert "`Payments` is neither a catalogued service nor a Statuspage component id" in refusals[1]
    assert "Status page update (investigating): Identified the cause: a faulty certificate." in identified
    assert "Status page update (monitoring): Error rates are back to normal." in monitoring.text
    # escaped as Slack mrkdwn, so the reply shows the typed `<@U0BOB>` instead of mentioning bob
    assert "`&lt;@U0BOB&gt;` would reach the status page as the bare Slack id @U0BOB: write the person's name" in bare
    (incident,) = statuspage.incidents.values()
    assert [(u["status"], u["body"]) for u in reversed(incident["incident_updates"])] == [
        ("investigating", "Search is slow"),
        ("investigating", "Identified the cause: a faulty certificate."),
        ("monitoring", "Error rates are back to normal."),
    ]
    assert "checkout-api" not in json.dumps([r.body for r in statuspage.requests])
