"""Browser fixtures: one headless Chromium per test module, a fresh browser context (cookies, storage) per
test, held to 127.0.0.1 (`tests.support.browser.LoopbackOnly`: a request to any other host fails the test).

Without /usr/bin/chromium the browser tests are skipped with the reason, except when ``CI`` is set:
there they fail, so that a CI machine without the browser cannot pass by skipping them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import LoopbackOnly, chromium, chromium_missing
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
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new context (no cookies), 1280x900, UTC; downloads accepted. Afterwards, no request
    went beyond 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC", accept_downloads=True)
    context.set_default_timeout(15_000)
    guard = LoopbackOnly()
    context.route("**/*", guard)
    try:
        yield context.new_page()
    finally:
        context.close()
    if guard.refused:
        pytest.fail(f"the browser tried to reach beyond 127.0.0.1: {guard.refused}", pytrace=False)
