"""What people typed runs nowhere in a real browser: an incident whose title, notes, hypothesis, follow-up
and resolve note hold markup, scripts, event handlers, mentions and template syntax (the corpora of the
Slack and Confluence tests) is shown in Chromium as the text typed; no script of it runs (no dialog, the
document's title untouched, no element it names exists), on the list, the incident page and its
postmortem. The ``page`` fixture also fails the test on any script error or CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Dialog, Page, expect

from bot.compose import open_usecases
from bot.domain.grammar import parse_command
from bot.usecases.shared import Actor
from tests.support.browser import save_screenshot
from tests.support.browser_site import Site, served_site, sign_in
from tests.unit.test_postmortem_storage import HOSTILE as MARKUP_CORPUS
from tests.unit.test_slack_limits import HOSTILE as SLACK_CORPUS

TITLE = (
    "<script>document.title='pwned'</script> <img src=x onerror=\"document.title='pwned'\"> <!channel> & <@U0BOB|bob>"
)
HYPOTHESIS = "<svg onload=\"document.title='pwned'\"></svg> the cache {{ 7*7 }}"
FOLLOWUP = "<a href=\"javascript:document.title='pwned'\">click me</a> <!here>"
RESOLVE_NOTE = "</article><script>document.title='pwned'</script> fixed *for now*"


def hostile_incident(database_url: str) -> None:
    """INC-1: declared, a note per corpus text, a hypothesis, a follow-up, resolved, all with hostile text."""
    usecases = open_usecases(database_url)
    alice = Actor("U0ALICE", "alice")
    try:
        number = usecases.incidents.run(parse_command(f"declare sev2 {TITLE}"), alice).incident.number
        typed = [f"note typed: {text}" for text in MARKUP_CORPUS + SLACK_CORPUS if text.strip() and "\n" not in text]
        for text in [*typed, f"hypothesis {HYPOTHESIS}", f"followup {FOLLOWUP}", f"resolve {RESOLVE_NOTE}"]:
            usecases.incidents.run(replace(parse_command(text), incident_number=number), alice)
    finally:
        usecases.store.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with served_site(tmp_path_factory.mktemp("web-escaping"), hostile_incident) as served:
        yield served


def assert_nothing_ran(page: Page, dialogs: list[str], title: str) -> None:
    """No dialog opened, the document's title is the page's own, and no element the typed text names exists."""
    assert dialogs == []
    assert page.title() == title
    assert page.locator("main script, main img, main svg, main iframe").count() == 0
    assert page.locator("main a[href^='javascript:' i]").count() == 0


class TestTypedTextStaysText:
    def test_the_list_shows_the_title_as_typed(self, page: Page, site: Site) -> None:
        """The list's title cell reads exactly as typed, tags, mention and ampersand included."""
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: _dismissed(dialog, dialogs))
        sign_in(page, site)
        row = page.locator("table.list tr", has=page.get_by_role("link", name="INC-1", exact=True))
        expect(row.locator('[data-label="Title"]')).to_have_text(TITLE)
        assert_nothing_ran(page, dialogs, "Incidents · incidentbot")

    def test_the_incident_page_and_postmortem_show_every_text_as_typed(self, page: Page, site: Site) -> None:
        """The heading, the hypothesis, the follow-up, the resolve note and every corpus note read as typed
        on the incident page; the postmortem shows the markup as text (its mentions as @names, as the Markdown
        document has them); nothing the text names runs."""
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: _dismissed(dialog, dialogs))
        sign_in(page, site, "/incidents/INC-1")
        expect(page.locator("main > h1")).to_contain_text(TITLE)
        expect(page.locator("#hypotheses")).to_contain_text(HYPOTHESIS)
        expect(page.locator("#followups")).to_contain_text(FOLLOWUP)
        timeline = " ".join(page.locator("#timeline").inner_text().split())
        for text in MARKUP_CORPUS + SLACK_CORPUS:
            if text.strip() and "\n" not in text and "\u202e" not in text:
                assert f"typed: {' '.join(text.split())}" in timeline, text
        postmortem = page.locator("#postmortem article.postmortem")
        # The postmortem is Markdown: mentions become @names; markup and the asterisks of *for now* stay text.
        expect(postmortem.locator("h1")).to_have_text(
            "INC-1 Postmortem: <script>document.title='pwned'</script> "
            "<img src=x onerror=\"document.title='pwned'\"> @channel & @bob"
        )
        expect(postmortem).to_contain_text(
            "Resolve note: </article><script>document.title='pwned'</script> fixed *for now*"
        )
        expect(postmortem.locator("em", has_text="for now")).to_have_count(0)
        assert_nothing_ran(page, dialogs, f"INC-1 · {TITLE} · incidentbot")
        save_screenshot(page, "typed-text-stays-text")


def _dismissed(dialog: Dialog, seen: list[str]) -> None:
    seen.append(dialog.message)
    dialog.dismiss()
