"""Browser fixtures: one headless Chromium per test module, fresh browser contexts (cookies, storage) per test,
each held to 127.0.0.1 (`tests.support.browser.LoopbackOnly`) and watched for script errors.

After a test, it fails if a page of it asked for anything beyond 127.0.0.1, threw an uncaught script
error, or logged a Content Security Policy violation (an inline script or style the site's CSP blocked).
Without /usr/bin/chromium the browser tests are skipped with the reason, except when ``CI`` is set:
there they fail, so that a CI machine without the browser cannot pass by skipping them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.browser import LoopbackOnly, PageOpener, PageProblems, chromium, chromium_missing
from tests.support.ci import running_in_ci


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the whole module (a launch costs about a second)."""
    missing = chromium_missing()
    if missing is not None:
        if running_in_ci():
            pytest.fail(f"CI is set, so the browser tests must run, but: {missing}", pytrace=False)
        pytest.skip(missing)
    with chromium() as launched:
        yield launched


@pytest.fixture()
def open_page(browser: Browser) -> Iterator[PageOpener]:
    """Opens pages in new contexts (default: 1280x900, UTC, downloads accepted); closes them after the test,
    then fails it if any reached beyond 127.0.0.1, threw a script error or broke the CSP."""
    contexts: list[BrowserContext] = []
    guard = LoopbackOnly()
    watcher = PageProblems()

    def opener(**options: Any) -> Page:
        settings: dict[str, Any] = {
            "viewport": {"width": 1280, "height": 900},
            "timezone_id": "UTC",
            "accept_downloads": True,
            **options,
        }
        context = browser.new_context(**settings)
        contexts.append(context)
        context.set_default_timeout(15_000)
        context.route("**/*", guard)
        watcher.watch(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()
    if guard.refused:
        pytest.fail(f"the browser tried to reach beyond 127.0.0.1: {guard.refused}", pytrace=False)
    if watcher.problems:
        pytest.fail("the pages had script or CSP errors:\n" + "\n".join(watcher.problems), pytrace=False)


@pytest.fixture()
def page(open_page: PageOpener) -> Page:
    """A page in a new context (no cookies), 1280x900, UTC, downloads accepted; checked as `open_page` says."""
    return open_page()
