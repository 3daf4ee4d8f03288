"""The weekly digest lists every open follow-up whatever their texts (found by a fresh tester: four
10,000-character texts filled the one 40,000-character post and the rest of the digest was cut off)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from bot.domain.model import Followup, FollowupListing, Severity
from bot.slack.delivery import followup_digest_effects

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 30)
SLACK_TEXT_LIMIT = 40_000  # chat.postMessage: "text" is truncated beyond 40,000 characters (Slack docs)


def test_long_texts_are_shortened_and_every_followup_is_posted() -> None:
    owners = ["U0CAROL", "U0BOB", None]
    items = [
        FollowupListing(
            1,
            "CDN 502s",
            Severity.SEV1,
            "cdn-edge",
            Followup(n, (str(n % 10) * 10_000) if n <= 4 else f"item {n}", owners[n % 3], T0),
        )
        for n in range(1, 26)
    ]
    effects = followup_digest_effects("C0GENERAL", "2026-W49", items, {}, TODAY)
    texts = [str(e.payload["text"]) for e in effects]
    assert all(len(text) <= SLACK_TEXT_LIMIT for text in texts)
    listed = sorted(int(n) for text in texts for n in re.findall(r"INC-1 #(\d+) ", text))
    assert listed == list(range(1, 26))
    assert "1" * 199 + "…" in texts[0] and "1" * 200 not in "".join(texts)
    assert texts[0].startswith(":clipboard: Open follow-ups, week 2026-W49: 25 open, 0 overdue.\n")


def test_more_open_followups_than_one_post_holds_are_split_into_several_posts() -> None:
    items = [
        FollowupListing(n, "CDN 502s", Severity.SEV2, "cdn-edge", Followup(1, "x" * 300, f"U0{n:07d}", T0))
        for n in range(1, 401)
    ]
    effects = followup_digest_effects("C0GENERAL", "2026-W49", items, {}, TODAY)
    texts = [str(e.payload["text"]) for e in effects]
    assert len(texts) > 1 and all(len(text) <= SLACK_TEXT_LIMIT for text in texts)
    assert sorted(int(n) for text in texts for n in re.findall(r"INC-(\d+) #1 ", text)) == list(range(1, 401))
    assert {e.payload["channel"] for e in effects} == {"C0GENERAL"}


def test_people_and_links_in_a_followup_read_as_typed_and_ping_nobody() -> None:
    """A follow-up naming <@U0BOB|bob> lists him as @bob (the weekly digest must not ping him every week);
    the owner is still mentioned at the head of the line; a pasted link reads as its URL."""
    text = "ask <@U0BOB|bob> to fix <https://wiki.example/rb|the runbook> & <!here>"
    item = FollowupListing(1, "CDN 502s", Severity.SEV1, "cdn-edge", Followup(1, text, "U0CAROL", T0))
    [effect] = followup_digest_effects("C0GENERAL", "2026-W49", [item], {"U0CAROL": "carol"}, TODAY)
    assert str(effect.payload["text"]).splitlines()[1] == (
        "<@U0CAROL>: INC-1 #1 ask @bob to fix the runbook (https://wiki.example/rb) &amp; @here (no due date)"
    )
