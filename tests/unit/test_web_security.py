"""The web view's pure pieces: the bearer token check, where a sign-in may send the browser, and the per-process
keep of what an incident page took from every entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.changes import ChangeEvent
from bot.domain.model import EntryKind, Incident, Severity, Status, TimelineEntry
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


AT = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
INC7 = Incident(7, "CDN edge returning 502s", Severity.SEV1, Status.DECLARED, AT, "U0ALICE")


def entry(number: int, minute: int, recorded_minute: int | None = None) -> TimelineEntry:
    occurred = AT.replace(minute=minute)
    recorded = AT.replace(minute=recorded_minute if recorded_minute is not None else minute)
    return TimelineEntry(EntryKind.NOTE, occurred, recorded, "U0BOB", f"note {number}", {}, number)


def test_the_keep_answers_only_for_the_same_timeline_hour_changes_and_incident() -> None:
    cache = TimelineCache(size=2)
    cache.put(7, (16, "2026-11-30 08", (), INC7), whole("seven"))
    assert cache.get(7, (16, "2026-11-30 08", (), INC7)) == whole("seven")
    assert cache.get(7, (17, "2026-11-30 08", (), INC7)) is None  # a new entry
    assert cache.get(7, (16, "2026-11-30 09", (), INC7)) is None  # the hour turned
    assert cache.get(8, (16, "2026-11-30 08", (), INC7)) is None  # another incident
    deploy = ChangeEvent("cdn-edge", "WAF rule 4242", "U0BOB", datetime(2026, 11, 30, 7, 10, tzinfo=UTC))
    assert cache.get(7, (16, "2026-11-30 08", (deploy,), INC7)) is None  # a change reported late
    linked = INC7.with_changes(title="CDN edge returning 503s")
    assert cache.get(7, (16, "2026-11-30 08", (), linked)) is None  # the incident's state changed, with no entry


def test_the_keep_forgets_the_least_recently_viewed() -> None:
    cache = TimelineCache(size=2)
    cache.put(1, (1, "h", (), INC7), whole("one"))
    cache.put(2, (1, "h", (), INC7), whole("two"))
    assert cache.get(1, (1, "h", (), INC7)) == whole("one")  # 1 viewed again: 2 is now the oldest
    cache.put(3, (1, "h", (), INC7), whole("three"))
    assert cache.get(2, (1, "h", (), INC7)) is None
    assert cache.get(1, (1, "h", (), INC7)) == whole("one") and cache.get(3, (1, "h", (), INC7)) == whole("three")


def test_the_keep_holds_about_max_entries_but_always_the_latest_timeline() -> None:
    cache = TimelineCache(size=8, max_entries=5)
    cache.keep_entries(1, [entry(n, n) for n in range(1, 4)])
    cache.keep_entries(2, [entry(n, n) for n in range(1, 3)])
    assert len(cache.entries(1)) == 3 and len(cache.entries(2)) == 2  # 5 in all
    cache.keep_entries(3, [entry(n, n) for n in range(1, 8)])  # 7 alone: kept, the others dropped
    assert cache.entries(1) == [] and cache.entries(2) == [] and len(cache.entries(3)) == 7
