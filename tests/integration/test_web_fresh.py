"""The incident page and the timeline JSON right after each kind of change (issue 17: the page keeps each viewed
incident's timeline per process and reads only the entries recorded since, ``bot.web.pages.TimelineCache``).

Through the real bot on SQLite and PostgreSQL: an incident is viewed (so its timeline is kept), then changed in
each way there is, and viewed again at once. Each time the page's postmortem must be the HTML of what the
download (``postmortem.md``, built from a whole fresh read) says, and the timeline JSON what a fresh read of the
whole timeline gives, in the store's order, backdated entries included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.grammar import parse_command
from bot.usecases.shared import Actor
from bot.views.shapes import timeline_json
from bot.web.pages import markdown_html
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.web import TOKEN, get, seed, web_settings

CAROL = Actor("U0CAROL", "carol")
GENERATED = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
"""The draft's "generated" minute: the page's draft is kept for the hour, the download is built now."""


@pytest.fixture()
def web_bot(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    seed(database_url)
    with running_bot(database_url, fake_slack.base_url, **web_settings()) as running:
        yield running


def postmortem_of(page: str) -> str:
    return page.split('<article class="postmortem">', 1)[1].split("</article>", 1)[0]


def check_fresh(bot: RunningBot, number: int) -> str:
    """The page of INC-``number`` (returned) shows the postmortem of a whole fresh read, and its timeline JSON is
    a whole fresh read's."""
    page = get(bot.port, f"/incidents/INC-{number}", headers=TOKEN)
    assert page.status == 200, page.body[:300]
    download = get(bot.port, f"/incidents/INC-{number}/postmortem.md", headers=TOKEN)
    assert GENERATED.sub("generated -", postmortem_of(page.body)) == GENERATED.sub(
        "generated -", markdown_html(download.body)
    )
    answer = get(bot.port, f"/api/v1/incidents/INC-{number}/timeline", headers=TOKEN).json()
    expected: dict[str, Any] = json.loads(json.dumps(timeline_json(*bot.usecases.incidents.timeline(number))))
    assert answer == expected
    return page.body


def test_every_kind_of_change_shows_on_the_page_and_in_the_json_right_after_it(web_bot: RunningBot) -> None:
    incidents = web_bot.usecases.incidents
    number = incidents.run(parse_command("declare sev2 Checkout latency above 2 s --at 1h ago"), CAROL).incident.number

    def run(text: str) -> None:
        incidents.run(parse_command(f"INC-{number} {text}"), CAROL)

    run("assemble <@U0BOB|bob>:networking <@U0DAVE|dave>")
    for index in range(5):
        run(f"note p99 at {3 + index} s on pod-{index}")
    first = check_fresh(web_bot, number)  # viewed: the timeline is kept from here on
    assert "pod-4" in first and "networking" in first

    run("note the cache node restarted at 9:00 --at 5 minutes ago")  # backdated: lands before the latest notes
    body = check_fresh(web_bot, number)
    assert "the cache node restarted at 9:00" in postmortem_of(body)
    entries = get(web_bot.port, f"/api/v1/incidents/INC-{number}/timeline", headers=TOKEN).json()["entries"]
    texts = [entry["text"] for entry in entries]
    assert texts.index("the cache node restarted at 9:00") < texts.index("p99 at 7 s on pod-4")

    notes = {entry["text"]: entry["number"] for entry in entries}
    run(f"correct {notes['p99 at 3 s on pod-0']} p99 at 3.5 s on pod-0")
    body = check_fresh(web_bot, number)
    assert "p99 at 3.5 s on pod-0" in postmortem_of(body)

    run(f"strike {notes['p99 at 4 s on pod-1']} measured on the wrong cluster")
    body = check_fresh(web_bot, number)
    assert "p99 at 4 s on pod-1" not in postmortem_of(body)

    run("hypothesis connection pool exhausted on checkout-db")
    body = check_fresh(web_bot, number)
    assert "connection pool exhausted on checkout-db" in postmortem_of(body)

    run("followup raise the pool size alarm @bob")
    body = check_fresh(web_bot, number)
    assert "raise the pool size alarm" in postmortem_of(body)

    run("assemble <@U0BOB|bob>:database")  # a role change
    body = check_fresh(web_bot, number)
    assert "database" in postmortem_of(body)

    run("lead <@U0DAVE|dave>")
    body = check_fresh(web_bot, number)
    assert "@dave" in postmortem_of(body)


def test_a_second_incident_and_the_first_again_stay_apart(web_bot: RunningBot) -> None:
    """Two incidents kept side by side: each page is its own timeline, also after the other grew."""
    incidents = web_bot.usecases.incidents
    two = incidents.run(parse_command("declare sev3 Search results stale"), CAROL).incident.number
    check_fresh(web_bot, 1)
    check_fresh(web_bot, two)
    incidents.run(parse_command(f"INC-{two} note the indexer is 40 minutes behind"), CAROL)
    assert "the indexer is 40 minutes behind" not in check_fresh(web_bot, 1)
    assert "the indexer is 40 minutes behind" in check_fresh(web_bot, two)
