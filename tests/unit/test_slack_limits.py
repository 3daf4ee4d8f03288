"""Every Block Kit builder and every reply stays within Slack's documented limits, whatever people type:
a property test over huge and hostile texts, checked against limits written out in
tests/support/slack_limits.py (not taken from the bot)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.model import (
    EntryKind,
    Hypothesis,
    HypothesisStatus,
    Incident,
    Member,
    Severity,
    Status,
    TimelineEntry,
)
from bot.slack import blocks
from bot.slack.listeners.commands import Reply
from bot.slack.text import escape_keeping_mentions
from bot.store.incidents import IncidentSummary
from bot.views.replies import status_text
from tests.support.slack_limits import SPECIAL_MENTIONS, message_errors, view_errors

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
NOW = T0 + timedelta(hours=3)
NOTE = "… (truncated; the full text is on the timeline)"
HOSTILE = [
    "&",
    "<",
    ">",
    "<!channel>",
    "<!here>",
    "<@U0BOB|bob>",
    "<#C0GENERAL|general>",
    "\n",
    "*bold*",
    "`code`",
    "\u202e",
    "é",
    "🔥",
    "x",
    " ",
]
"""Pieces people type (or paste) that escaping expands, Slack interprets, or that look odd in a cut."""


def huge_text(max_repeats: int = 4000) -> st.SearchStrategy[str]:
    """Hostile pieces repeated into texts from empty to 20,000+ characters (escaping makes them longer)."""
    piece = st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=6).map("".join)
    return st.one_of(
        st.text(max_size=40),
        st.builds(lambda p, n: p * n, piece, st.integers(min_value=1, max_value=max_repeats)),
    )


@st.composite
def incidents(draw: st.DrawFn) -> Incident:
    members = tuple(
        Member(f"U0M{i:04d}", draw(st.one_of(st.none(), huge_text(200))), T0) for i in range(draw(st.integers(0, 40)))
    )
    hypotheses = tuple(
        Hypothesis(i + 1, draw(huge_text()), "U0BOB", T0, draw(st.sampled_from(HypothesisStatus)), "", None)
        for i in range(draw(st.integers(0, 70)))
    )
    status = draw(st.sampled_from(Status))
    return Incident(
        number=draw(st.integers(1, 999_999_999)),
        title=draw(huge_text(600)),
        severity=draw(st.sampled_from(Severity)),
        status=status,
        declared_at=T0,
        declared_by="U0ALICE",
        lead=draw(st.one_of(st.none(), st.just("U0BOB"))),
        channel_id="C0INC1",
        members=members,
        hypotheses=hypotheses,
        resolved_at=None if status.is_open else T0 + timedelta(hours=1),
        service=draw(st.one_of(st.none(), huge_text(50))),
        impact_percent=draw(st.one_of(st.none(), st.floats(0, 100))),
    )


def _no_pings(sent: Any) -> None:
    text = repr(sent)
    for ping in SPECIAL_MENTIONS:
        assert ping not in text, ping


class TestBuildersWithinLimits:
    @given(incident=incidents(), budget=st.one_of(st.none(), huge_text(300)))
    @settings(max_examples=30, deadline=None)
    def test_status_message_topic_and_announcement_fit(self, incident: Incident, budget: str | None) -> None:
        """The pinned status message (text + blocks), topic and announcement, for any incident."""
        status_blocks = blocks.build_status_blocks(incident, NOW, budget)
        assert message_errors(blocks.build_status_text(incident), status_blocks) == []
        assert len(blocks.build_topic(incident)) <= 250
        assert message_errors("announcement", blocks.build_announcement(incident, "C0INC1", "U0ALICE")) == []
        _no_pings([status_blocks, blocks.build_topic(incident), blocks.build_announcement(incident, None, "U0A")])

    @given(incident=incidents(), texts=st.lists(huge_text(), max_size=120))
    @settings(max_examples=25, deadline=None)
    def test_timeline_blocks_fit(self, incident: Incident, texts: list[str]) -> None:
        """Up to 120 entries of up to 20,000+ characters each: at most 50 valid blocks."""
        entries = [
            TimelineEntry(EntryKind.NOTE, T0 + timedelta(minutes=i), T0, "U0BOB", text) for i, text in enumerate(texts)
        ]
        timeline = blocks.build_timeline_blocks(incident, entries)
        assert message_errors(f"{incident.incident_id} timeline", timeline) == []
        _no_pings(timeline)

    @given(
        titles=st.lists(huge_text(600), max_size=130),
        exhausted=st.lists(huge_text(400), max_size=5),
    )
    @settings(max_examples=25, deadline=None)
    def test_home_view_fits(self, titles: list[str], exhausted: list[str]) -> None:
        """Up to 130 open incidents with hostile titles and exhausted budgets: a valid Home view."""
        summaries = [
            IncidentSummary(n + 1, title, Severity.SEV2, Status.INVESTIGATING, "U0BOB", "C0X", T0, None)
            for n, title in enumerate(titles)
        ]
        view = blocks.build_home_view(summaries, NOW, exhausted)
        assert view_errors(view) == []
        _no_pings(view)

    @given(incident=incidents(), verb=st.sampled_from(["hypothesis", "note", "mitigate", "resolve"]))
    @settings(max_examples=20, deadline=None)
    def test_modals_fit(self, incident: Incident, verb: str) -> None:
        """The declare modal and every command modal, whatever the incident's title."""
        assert view_errors(blocks.build_command_modal(verb, incident)) == []
        assert view_errors(blocks.build_command_modal_for_number(verb, incident.number)) == []
        for severity in (None, *Severity):
            assert view_errors(blocks.build_declare_modal(severity, "C0GENERAL")) == []


class _Recorder:
    """Stands in for bolt's ack and respond: keeps what the listener would send to Slack."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def _replies(text: str, answer_blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    ack, respond = _Recorder(), _Recorder()

    async def answer() -> None:
        reply = Reply(ack, respond, "http://127.0.0.1/response")
        extra = {"blocks": answer_blocks} if answer_blocks is not None else {}
        await reply.ack(text, **extra)  # in the ack
        await reply.send(text, **extra)  # through response_url

    asyncio.run(answer())
    return ack.sent + respond.sent


class TestRepliesWithinLimits:
    @given(text=huge_text(8000), count=st.integers(0, 80))
    @settings(max_examples=25, deadline=None)
    def test_every_reply_fits_in_the_ack_and_through_response_url(self, text: str, count: int) -> None:
        """Text past 40,000 characters is its start cut (never inside a mention or entity) with the note;
        more than 50 blocks are capped."""
        many = [blocks.section(f"block {i}") for i in range(count)]
        for sent in _replies(text, many or None):
            assert message_errors(sent["text"], sent.get("blocks")) == []
            if len(text) > 40_000:
                assert sent["text"].endswith(NOTE)
                kept = sent["text"][: -len(NOTE)]
                assert text.startswith(kept) and len(kept) >= 40_000 - len(NOTE) - 30
            else:
                assert sent["text"] == text

    def test_status_of_three_15000_character_hypotheses_is_cut_at_40000_with_the_note(self) -> None:
        """Issue 11 item 3: the status reply of an incident with three 15,000-character hypotheses
        (45,000 characters of hypotheses alone) is cut to exactly 40,000 characters ending with the note."""
        hypotheses = tuple(
            Hypothesis(n, letter * 15_000, "U0BOB", T0) for n, letter in enumerate(("a", "b", "c"), start=1)
        )
        incident = Incident(1, "CDN edge 502s", Severity.SEV1, Status.INVESTIGATING, T0, "U0ALICE")
        incident = incident.with_changes(hypotheses=hypotheses)
        text = status_text(incident, NOW, escape=escape_keeping_mentions)
        assert len(text) > 45_000
        for sent in _replies(text, None):
            assert len(sent["text"]) == 40_000
            assert sent["text"].endswith("… (truncated; the full text is on the timeline)")
            assert sent["text"].startswith("INC-1 · CDN edge 502s\nSeverity: sev1 · Status: investigating")
