"""The web view's pure pieces: the bearer token check, where a sign-in may send the browser, and the per-process
keep of what an incident page took from every entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.changes import ChangeEvent
from bot.web.pages import TimelineCache, WholeTimeline
from bot.web.security import bearer_matches, safe_next

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("Basic dXNlcjpwYXNz", None),
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"Bearer  {TOKEN} ", True),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Bearer {TOKEN}0", False),
        ("Bearer ", False),
        (f"Bearer {TOKEN.upper()}", False),
    ],
)
def test_bearer_matches(header: str | None, expected: bool | None) -> None:
    assert bearer_matches(header, TOKEN) is expected


def test_no_configured_token_matches_nothing() -> None:
    assert bearer_matches("Bearer ", "") is False
    assert bearer_matches("Bearer anything", "") is False


@pytest.mark.parametrize(
    ("given_path", "expected"),
    [
        ("/incidents/INC-7", "/incidents/INC-7"),
        ("/?status=open&q=cdn", "/?status=open&q=cdn"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("incidents", "/"),
    ],
)
def test_safe_next(given_path: str | None, expected: str) -> None:
    assert safe_next(given_path) == expected


@given(st.text(max_size=40))
def test_safe_next_never_leaves_the_site(path: str) -> None:
    """Whatever comes in ``next``, the redirect is a path on this host: one leading slash, no second one or
    backslash right after it, no control character (a browser would read ``//host`` or ``/\\host`` as another)."""
    target = safe_next(path)
    assert target.startswith("/") and not target.startswith("//") and "\\" not in target
    assert all(ord(c) >= 0x20 for c in target)


def whole(label: str) -> WholeTimeline:
    return WholeTimeline({}, [], f"<p>{label}</p>", "")


def test_the_keep_answers_only_for_the_same_timeline_and_hour() -> None:
    cache = TimelineCache(size=2)
    cache.put(7, (16, "2026-11-30 08", ()), whole("seven"))
    assert cache.get(7, (16, "2026-11-30 08", ())) == whole("seven")
    assert cache.get(7, (17, "2026-11-30 08", ())) is None  # a new entry
    assert cache.get(7, (16, "2026-11-30 09", ())) is None  # the hour turned
    assert cache.get(8, (16, "2026-11-30 08", ())) is None  # another incident
    deploy = ChangeEvent("cdn-edge", "WAF rule 4242", "U0BOB", datetime(2026, 11, 30, 7, 10, tzinfo=UTC))
    assert cache.get(7, (16, "2026-11-30 08", (deploy,))) is None  # a change reported late


def test_the_keep_forgets_the_least_recently_viewed() -> None:
    cache = TimelineCache(size=2)
    cache.put(1, (1, "h", ()), whole("one"))
    cache.put(2, (1, "h", ()), whole("two"))
    assert cache.get(1, (1, "h", ())) == whole("one")  # 1 viewed again: 2 is now the oldest
    cache.put(3, (1, "h", ()), whole("three"))
    assert cache.get(2, (1, "h", ())) is None
    assert cache.get(1, (1, "h", ())) == whole("one") and cache.get(3, (1, "h", ())) == whole("three")
