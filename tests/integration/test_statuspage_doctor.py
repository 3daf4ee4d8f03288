"""``incidentbot doctor``'s status-page line: the page read with the API key (the fake Statuspage)."""

from __future__ import annotations

from bot.config import Settings, load_settings
from bot.doctor import Check, statuspage_check
from tests.support.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage


def _settings(**environ: str) -> Settings:
    return load_settings(environ, env_file=None)


async def test_nothing_is_checked_when_the_status_page_is_off() -> None:
    assert await statuspage_check(_settings()) is None


async def test_the_page_is_readable_refused_or_unreachable() -> None:
    fake = FakeStatuspage()
    await fake.start()
    try:
        good = _settings(STATUSPAGE_API_KEY=API_KEY, STATUSPAGE_PAGE_ID=PAGE_ID, STATUSPAGE_URL=fake.url)
        assert await statuspage_check(good) == Check(
            "status page (statuspage)", "ok", "page kctbh9vrtdwd (Acme Status) readable; resolves with the incident"
        )
        wrong = "wrong-key-0123456789"
        refused = await statuspage_check(
            _settings(STATUSPAGE_API_KEY=wrong, STATUSPAGE_PAGE_ID=PAGE_ID, STATUSPAGE_URL=fake.url)
        )
        assert refused == Check(
            "status page (statuspage)",
            "FAIL",
            "GET /v1/pages/kctbh9vrtdwd: Statuspage refused (HTTP 401, the API key is not valid: check "
            "STATUSPAGE_API_KEY): Could not authenticate",
            "correct STATUSPAGE_API_KEY / STATUSPAGE_PAGE_ID (README, Public status page (Statuspage))",
        )
        fake.fail("page", 503, body={"error": "down"})
        down = await statuspage_check(good)
        assert down is not None and down.status == "FAIL" and "answered HTTP 503: down" in down.detail
    finally:
        await fake.stop()
