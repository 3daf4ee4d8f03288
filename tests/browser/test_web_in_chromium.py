"""The web view in a real browser: headless Chromium signs in with Slack (the fake OpenID Connect provider on
127.0.0.1), reads the list, the seed incident (``incidentbot demo``'s WAF outage, INC-1), its postmortem,
downloads it, and is refused for another workspace. Each step saves a screenshot to docs/screenshots/.

One bot for the module, on a port chosen first: the web view's public URL (INCIDENT_WEB_URL) is the very
address Chromium uses, so the provider redirects the browser back to the bot. Expected values are the seed's
own words (bot/cli/demo.py SEED_STEPS), written out here.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.cli.demo import run_demo
from bot.compose import open_usecases
from tests.support.browser import PageOpener, save_screenshot
from tests.support.browser_site import SESSION_COOKIE, Site, served_site, sign_in

SEED_TITLE = "CDN edge returning 502s above the 5% alerting threshold"
PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone's screen


def seed(database_url: str) -> None:
    """The seed scenario of ``incidentbot demo`` (INC-1, the WAF outage on cdn-edge) in ``database_url``."""
    run_demo(io.StringIO(), open_usecases, database_url=database_url)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The real bot with the web view on, the seed replayed into its database first."""
    with served_site(tmp_path_factory.mktemp("web-browser"), seed) as served:
        yield served


class TestSignIn:
    def test_signing_in_with_slack_leads_back_to_the_page_asked_for(self, page: Page, site: Site) -> None:
        """Opening /slo unsigned goes to the provider and back to /slo; the page names Alice; the session
        cookie is Secure, HttpOnly and SameSite=Lax; the code was exchanged once, with the bot's callback URL."""
        exchanges_before = len(site.provider.requests_to("/api/openid.connect.token"))
        sign_in(page, site, "/slo")
        expect(page.locator("header .who span")).to_have_text("Alice Example")
        expect(page.locator("main")).to_contain_text("cdn-edge")
        save_screenshot(page, "signed-in-error-budgets")
        authorize = site.provider.requests_to("/openid/connect/authorize")[-1]
        assert authorize.query["redirect_uri"] == site.url + "/auth/callback"
        assert authorize.query["scope"] == "openid profile email"
        exchanges = site.provider.requests_to("/api/openid.connect.token")
        assert len(exchanges) == exchanges_before + 1
        assert exchanges[-1].form["redirect_uri"] == site.url + "/auth/callback"
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies[SESSION_COOKIE]
        # Secure even on http://127.0.0.1: Chromium keeps and sends it there (test_browser_harness)
        assert (session["secure"], session["httpOnly"], session["sameSite"]) == (True, True, "Lax")

    def test_another_workspace_is_refused(self, page: Page, site: Site) -> None:
        """A person of workspace T0OTHER signs in at the provider: the web view refuses with a page that
        says why, sets no session, and the list still sends the browser to sign in."""
        site.provider.sign_in_as("U0MALLORY", "Mallory", "mallory@other.example", team_id="T0OTHER")
        answer = None
        with page.expect_response(lambda r: r.url.startswith(site.url + "/auth/callback")) as callback:
            page.goto(site.url + "/")
        answer = callback.value
        assert answer.status == 400
        expect(page.locator("main")).to_contain_text("You signed in with another Slack workspace than this bot's.")
        save_screenshot(page, "sign-in-refused")
        assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
        site.provider.deny_next()  # the next visit must go to the provider again, not show the list
        page.goto(site.url + "/")
        expect(page.locator("main")).to_contain_text("Slack did not sign you in")

    def test_signing_out_ends_the_session(self, page: Page, site: Site) -> None:
        """Sign out (a POST form with its CSRF token) lands on the signed-out page, drops the session cookie,
        and the list then sends the browser to the provider again."""
        sign_in(page, site)
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(site.url + "/auth/signed-out")
        assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
        save_screenshot(page, "signed-out")
        authorizations = len(site.provider.requests_to("/openid/connect/authorize"))
        page.goto(site.url + "/")
        expect(page).to_have_url(site.url + "/")
        assert len(site.provider.requests_to("/openid/connect/authorize")) == authorizations + 1


class TestPages:
    def test_the_list_shows_the_seed_incident(self, page: Page, site: Site) -> None:
        """The resolved WAF outage is among the recent incidents: sev1, its lead by name, service and title."""
        sign_in(page, site)
        row = page.locator("table.list tr", has=page.get_by_role("link", name="INC-1", exact=True))
        expect(row).to_have_count(1)
        expect(row.locator('[data-label="Severity"]')).to_have_text("sev1")
        expect(row.locator('[data-label="Status"]')).to_contain_text("resolved")
        expect(row.locator('[data-label="Lead"]')).to_have_text(
            re.compile(r"^@?alice$")
        )  # as in `lead <@U0ALICE|alice>`
        expect(row.locator('[data-label="Service"]')).to_have_text("cdn-edge")
        expect(row.locator('[data-label="Title"]')).to_have_text(SEED_TITLE)
        save_screenshot(page, "incident-list")

    def test_the_list_filters_by_form(self, page: Page, site: Site) -> None:
        """The filter form, submitted in the browser: severity sev1 and "502s" in the title keep INC-1;
        a title nobody typed leaves the list empty, saying the filters match nothing."""
        sign_in(page, site)
        page.get_by_label("Severity").select_option("sev1")
        page.get_by_label("Title").fill("502s")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"/\?.*severity=sev1.*q=502s"))
        expect(page.get_by_role("link", name="INC-1", exact=True)).to_be_visible()
        page.get_by_label("Title").fill("no such outage")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("link", name="INC-1", exact=True)).to_have_count(0)
        expect(page.locator("main")).to_contain_text("No closed incidents match these filters.")

    def test_the_incident_page_shows_the_outage(self, page: Page, site: Site) -> None:
        """From the list to INC-1: the team with roles, both hypotheses with outcomes, three follow-ups, the
        timeline from 13:42; the local time of a timeline entry on hover."""
        sign_in(page, site)
        page.get_by_role("link", name="INC-1", exact=True).click()
        expect(page).to_have_url(site.url + "/incidents/INC-1")
        expect(page.locator("main > h1")).to_contain_text(SEED_TITLE)
        irt = page.locator("#irt")
        for name, role in (("bob", "networking"), ("carol", "security"), ("dave", "ops")):
            expect(irt).to_contain_text(name)
            expect(irt).to_contain_text(role)
        hypotheses = page.locator("#hypotheses")
        expect(hypotheses).to_contain_text("external DDoS attack against the edge")
        expect(hypotheses).to_contain_text("new WAF rule causes a CPU spin loop on packet inspection")
        expect(page.locator("#followups tbody tr")).to_have_count(3)
        expect(page.locator("#timeline li").first).to_contain_text("13:42")
        save_screenshot(page, "incident")

    def test_a_time_shows_the_viewers_local_time_on_hover(self, open_page: PageOpener, site: Site) -> None:
        """In a browser set to New York, the first timeline entry (13:42 UTC on 22 November) has the
        title 08:42 EST."""
        page = open_page(timezone_id="America/New_York", locale="en-US")
        sign_in(page, site, "/incidents/INC-1")
        first = page.locator("#timeline li time").first
        expect(first).to_have_attribute("title", re.compile(r"^Your time: Nov 22, 2026, 08:42\s?AM EST$"))

    def test_the_postmortem_is_rendered_as_html(self, page: Page, site: Site) -> None:
        """The postmortem draft is HTML (headings, list items), with the root cause and the follow-ups."""
        sign_in(page, site, "/incidents/INC-1")
        postmortem = page.locator("#postmortem article.postmortem")
        expect(postmortem.locator("h1, h2").first).to_be_visible()
        expect(postmortem).to_contain_text("new WAF rule causes a CPU spin loop on packet inspection")
        expect(postmortem).to_contain_text("canary deployment for firewall changes")
        assert "**" not in postmortem.inner_text()  # Markdown rendered, not shown as source
        page.goto(site.url + "/incidents/INC-1#postmortem")
        save_screenshot(page, "postmortem")

    def test_the_postmortem_downloads_as_markdown(self, page: Page, site: Site) -> None:
        """The download link gives INC-1-postmortem.md: the seed's Markdown, the same text as the demo's."""
        sign_in(page, site, "/incidents/INC-1")
        with page.expect_download() as download:
            page.get_by_role("link", name="Postmortem (Markdown)").click()
        assert download.value.suggested_filename == "INC-1-postmortem.md"
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert SEED_TITLE in text
        assert "new WAF rule causes a CPU spin loop on packet inspection" in text
        assert 'add a "verify CPU load" step to the runbook before global rollout' in text
        assert text.startswith("# ")
        shown = page.context.new_page()  # the downloaded file as text, on a blank page (no site CSP)
        shown.set_content(f"<pre style='white-space: pre-wrap; margin: 16px'>{html.escape(text)}</pre>")
        save_screenshot(shown, "postmortem-download")

    def test_the_timeline_downloads_as_json(self, page: Page, site: Site) -> None:
        """The timeline download is JSON: INC-1's entries, the first the declaration at 13:42 UTC."""
        sign_in(page, site, "/incidents/INC-1")
        with page.expect_download() as download:
            page.get_by_role("link", name="Timeline (JSON)").click()
        assert download.value.suggested_filename == "INC-1-timeline.json"
        document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert (document["incident"], document["status"], document["title"]) == ("INC-1", "resolved", SEED_TITLE)
        entries = document["entries"]
        assert [e["occurred_at"] for e in entries[:2]] == ["2026-11-22T13:42:00Z", "2026-11-22T13:42:00Z"]
        assert [(e["occurred_at"][11:16], e["kind"]) for e in entries] == [
            ("13:42", "declared"),
            ("13:42", "service"),
            ("13:42", "impact"),
            ("13:43", "lead"),
            ("13:50", "assembled"),
            ("13:52", "hypothesis"),
            ("13:55", "mitigation"),
            ("14:01", "hypothesis_rejected"),
            ("14:03", "note"),
            ("14:05", "hypothesis"),
            ("14:05", "hypothesis_confirmed"),
            ("14:35", "rollback"),
            ("14:45", "resolved"),
            ("14:47", "followup"),
            ("14:48", "followup"),
            ("14:49", "followup"),
        ]
        assert entries[11]["text"] == "WAF rule rolled back globally"

    def test_the_reports_page_for_a_chosen_period(self, page: Page, site: Site) -> None:
        """Choosing "the last 30d" and Show: one incident, INC-1, assembled after 8 min (13:42 to 13:50),
        mitigated after 53 min (to 14:35), resolved after 63 min (to 14:45), 26.5 budget minutes burned
        (50% failing for 53 min); the report's chart loads."""
        sign_in(page, site, "/reports")
        page.get_by_label("Period").select_option("30d")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(site.url + "/reports?since=30d")
        expect(page.locator("main > h1")).to_have_text(re.compile(r": 1$"))
        row = page.locator("table.list tr", has=page.get_by_role("link", name="INC-1", exact=True))
        expect(row.locator('[data-label="to assemble"]')).to_have_text("8 min")
        expect(row.locator('[data-label="to mitigate"]')).to_have_text("53 min")
        expect(row.locator('[data-label="to resolve"]')).to_have_text("63 min")
        expect(row.locator('[data-label="budget"]')).to_have_text("26.5 min")
        page.wait_for_load_state("load")
        chart = page.locator("img.chart")  # `incidentbot report --chart`'s drawing (matplotlib: test extras)
        expect(chart).to_have_attribute("src", "/reports/chart.svg?since=30d")
        assert chart.evaluate("image => image.complete && image.naturalWidth") > 0  # loaded and drawn
        save_screenshot(page, "reports", full_page=True)


class TestPhone:
    @pytest.mark.parametrize("path", ["/", "/incidents/INC-1", "/reports", "/slo"])
    def test_a_page_fits_a_phone_screen(self, open_page: PageOpener, site: Site, path: str) -> None:
        """On a 390-pixel-wide phone screen the page is not wider than the screen (no sideways scrolling)."""
        page = open_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        sign_in(page, site, path)
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        if path == "/":
            save_screenshot(page, "phone-incident-list")
