"""A real browser for the tests: Debian's headless Chromium (``/usr/bin/chromium``) driven by Playwright.

Playwright for Python brings its own driver (a Node program in the wheel) and talks to the browser over
a pipe; its browser download (``playwright install``) is never used: the browser is the distribution's,
installed by ``.ci/run`` with ``apt-get install chromium chromium-driver``. Playwright adds ``--headless``
and a fresh ``--user-data-dir`` (a new temporary profile per launch) itself; `CHROMIUM_FLAGS` adds the rest.

The browser may reach 127.0.0.1 only, like the Python processes under the suite's network guard
(``tests/support/netguard.py``, which cannot see into Chromium): its host resolver maps every name but
127.0.0.1 to "not found", the background services that call Google are switched off by flag, and every
request a page makes passes `LoopbackOnly`, which aborts one to any other host and records it so the
test fails (``tests/browser/conftest.py``).

Screenshots go to ``docs/screenshots/<name>.png`` (committed: the README shows them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route, WebError, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium package's launcher (a shell script that runs /usr/lib/chromium/chromium)."""
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a container's /dev/shm is often 64 MB: shared memory goes to /tmp
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no name but 127.0.0.1 resolves
)
PageOpener = Callable[..., Page]
"""The ``open_page`` fixture's type: ``open_page(**context_options)`` is a page in a new browser context
(Playwright's ``new_context`` options), checked after the test (``tests/browser/conftest.py``)."""
LAUNCH_TIMEOUT_MS = 60_000  # a cold start on CI's loaded 2-core machine takes seconds, not a minute


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (as .ci/run does)"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched by Playwright with `CHROMIUM_FLAGS`; closed on exit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS), timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


class LoopbackOnly:
    """A route handler for every request of a browser context: 127.0.0.1 passes, anything else is
    aborted and its URL kept in ``refused`` (data:, blob: and about: URLs never reach the network)."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, route: Route) -> None:
        url = route.request.url
        scheme = urlsplit(url).scheme
        if scheme in ("data", "blob", "about") or urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("blockedbyclient")


class PageProblems:
    """Watches a browser context: uncaught script errors and Content Security Policy violations (which
    Chromium reports on the console) are kept in ``problems``, one line each."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self._console)
        context.on("weberror", self._web_error)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    def _web_error(self, error: WebError) -> None:
        self.problems.append(f"script error: {error.error}")


def save_screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """The page as ``docs/screenshots/<name>.png``: what the window shows (1280x900 in these tests), or the
    whole page with ``full_page``. Returns the file's path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
