"""The browser harness itself: Debian's Chromium loads the real bot server's pages on 127.0.0.1, takes
screenshots, and is held to 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Page

from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.browser import LoopbackOnly, PageProblems, save_screenshot
from tests.support.fake_slack import FakeSlack

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """``incidentbot serve`` in-process on SQLite, talking to a fake Slack."""
    with FakeSlack() as fake, running_bot(sqlite_url(tmp_path_factory.mktemp("harness")), fake.base_url) as running:
        yield running


class TestHarness:
    def test_chromium_loads_the_health_check_and_saves_a_screenshot(self, page: Page, bot: RunningBot) -> None:
        """Chromium GETs /healthz from the real server, shows its JSON, and the screenshot is a PNG of the
        page's size."""
        answer = page.goto(bot.url + "/healthz")
        assert answer is not None and answer.status == 200
        assert json.loads(page.inner_text("body")) == {"ok": True, "database": "up", "slack": "verified"}
        path = save_screenshot(page, "healthz", full_page=True)
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width == 1280 and height >= 900  # the viewport's width; the whole page at least the viewport

    def test_the_browser_is_chromium_from_debian(self, browser: Browser) -> None:
        """The browser driven is Chromium (Playwright's own download is never used)."""
        assert browser.browser_type.name == "chromium"
        assert int(browser.version.split(".")[0]) >= 100

    def test_a_page_cannot_reach_beyond_loopback(self, browser: Browser, bot: RunningBot, tmp_path: Path) -> None:
        """A page that loads an image from another host: the request is aborted and recorded, the
        loopback request passes."""
        context = browser.new_context()
        guard = LoopbackOnly()
        context.route("**/*", guard)
        try:
            page = context.new_page()
            page.goto(bot.url + "/healthz")
            page.set_content('<img src="http://example.com/pixel.png"><img src="http://10.0.0.1/x.png">')
            page.wait_for_load_state("load")
            with pytest.raises(Error):
                page.goto("http://example.com/")
        finally:
            context.close()
        assert guard.refused == ["http://example.com/pixel.png", "http://10.0.0.1/x.png", "http://example.com/"]

    def test_no_name_resolves_in_chromium_not_even_localhost(self, browser: Browser, bot: RunningBot) -> None:
        """Without the route guard, the host resolver rule alone stops every lookup: the bot's own page
        by the name localhost fails with a name-not-resolved error, by 127.0.0.1 it loads."""
        context = browser.new_context()
        try:
            page = context.new_page()
            with pytest.raises(Error, match="ERR_NAME_NOT_RESOLVED"):
                page.goto(f"http://localhost:{bot.port}/healthz", timeout=10_000)
            answer = context.new_page().goto(f"http://127.0.0.1:{bot.port}/healthz")
            assert answer is not None and answer.status == 200
        finally:
            context.close()

    def test_script_errors_and_csp_violations_are_caught(self, browser: Browser, bot: RunningBot) -> None:
        """A page under ``script-src 'self'`` with an inline script (blocked: a CSP line) and a script file
        that throws (a script error): PageProblems keeps one line for each, naming them."""
        context = browser.new_context()
        watcher = PageProblems()
        watcher.watch(context)
        csp = {"Content-Security-Policy": "script-src 'self'", "Content-Type": "text/html"}
        page_html = '<script>document.title = "inline"</script><script src="/boom.js"></script>'
        context.route(bot.url + "/page", lambda route: route.fulfill(status=200, headers=csp, body=page_html))
        context.route(
            bot.url + "/boom.js",
            lambda route: route.fulfill(status=200, content_type="text/javascript", body='throw new Error("boom")'),
        )
        try:
            page = context.new_page()
            page.goto(bot.url + "/page")
            page.wait_for_load_state("load")
            assert page.title() == ""  # the inline script did not run
        finally:
            context.close()
        assert len(watcher.problems) == 2, watcher.problems
        assert watcher.problems[0].startswith("CSP: ")
        assert watcher.problems[1] == "script error: boom"

    def test_chromium_keeps_and_sends_a_secure_cookie_over_http_to_127_0_0_1(self, page: Page) -> None:
        """Chromium treats http://127.0.0.1 as a secure context: a ``Secure`` cookie set there is kept and
        sent back (so a web view tested on loopback need not drop ``Secure``)."""
        sent: list[str | None] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sent.append(self.headers.get("Cookie"))
                self.send_response(200)
                if self.path == "/set":
                    self.send_header("Set-Cookie", "probe=1; Secure; HttpOnly; SameSite=Lax; Path=/")
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            base = f"http://127.0.0.1:{server.server_address[1]}"
            page.goto(base + "/set")
            page.goto(base + "/again")
        finally:
            server.shutdown()
            server.server_close()
        (cookie,) = page.context.cookies()
        assert (cookie["name"], cookie["secure"], cookie["httpOnly"]) == ("probe", True, True)
        assert sent[:2] == [None, "probe=1"]
