"""Block Kit builders are pure: golden JSON for the seed incident, Slack's limits, mrkdwn escaping,
and the channel name rules.

Regenerate the golden files with ``UPDATE_GOLDEN=1 pytest tests/unit/test_blocks.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli.demo import SEED_STEPS, TYPING_DELAY
from bot.domain.alerts import AlertLine
from bot.domain.commands import AddHypothesis, Assemble, Assignee, Declare, SetLead, UserRef
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Incident, IncidentSummary, Severity, Status, TimelineEntry
from bot.slack import blocks
from bot.slack.delivery import SlackEffect, nudge_effects, plan_effects
from bot.slack.ids import BUTTON_VERBS, ActionId, CallbackId
from bot.slack.text import (
    TRUNCATION_NOTE,
    escape,
    person_mention,
    plain,
    slack_mention,
    strip_invisible,
    truncate,
    unescape,
)
from bot.slack.web_api import channel_name, slugify
from bot.usecases.shared import Actor, Outcome
from tests.support.fake_slack import blocks_errors

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "blocks"
CHANNEL = "C0INC1"
CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
PINGS = ("<!channel>", "<!here>", "<!everyone>")


def seed_incident(steps: int = len(SEED_STEPS)) -> tuple[Incident, list[TimelineEntry]]:
    """The seed outage replayed through the grammar and the domain, its first ``steps`` steps."""
    incident: Incident | None = None
    entries: list[TimelineEntry] = []
    for step in SEED_STEPS[:steps]:
        command = parse_command(step.text)
        if not command.changes_state:
            continue
        stamp = Stamp(step.actor.user_id, step.occurred_at, step.occurred_at + TYPING_DELAY, step.actor.name)
        if incident is None:
            assert isinstance(command.action, Declare)
            change = declare(command.action, 1, stamp, channel_id=CHANNEL)
        else:
            change = apply(incident, command.action, stamp)  # type: ignore[arg-type]
        incident = change.incident
        entries.extend(change.entries)
    assert incident is not None
    return incident, entries


def plain_incident(title: str = "Checkout API returning 500s", **changes: Any) -> Incident:
    change = declare(Declare(title, Severity.SEV2), 1, Stamp("U0ALICE", T0, T0), channel_id=CHANNEL)
    incident = change.incident
    return incident.with_changes(**changes)


def with_hypotheses(incident: Incident, count: int, text: str = "theory") -> Incident:
    for number in range(1, count + 1):
        stamp = Stamp("U0BOB", T0 + timedelta(minutes=number), T0 + timedelta(minutes=number))
        incident = apply(incident, AddHypothesis(f"{text} {number} " + "x" * 60), stamp).incident
    return incident


def entries(count: int, text: str = "note") -> list[TimelineEntry]:
    moments = [T0 + timedelta(seconds=i) for i in range(count)]
    return [TimelineEntry(EntryKind.NOTE, at, at, "U0BOB", f"{text} {i}") for i, at in enumerate(moments)]


def summary(number: int, title: str = "Payments delayed", lead: str | None = "U0BOB") -> IncidentSummary:
    """An open incident as the store lists it (fields the Home view does not read are None)."""
    values = {
        "number": number,
        "title": title,
        "severity": Severity.SEV2,
        "status": Status.INVESTIGATING,
        "lead": lead,
        "channel_id": f"C0INC{number}",
        "declared_at": T0,
    }
    arguments: dict[str, Any] = {f.name: values.get(f.name) for f in dataclasses.fields(IncidentSummary)}
    return IncidentSummary(**arguments)


def assert_golden(name: str, value: Any) -> None:
    """``value`` as pretty JSON equals tests/golden/blocks/<name>.json (rewritten with UPDATE_GOLDEN=1)."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        # Rewriting never passes: the new file must be read (git diff) and the suite run again without it.
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.fail(f"{path} rewritten (UPDATE_GOLDEN=1); review it with git diff, then run without UPDATE_GOLDEN")
    assert path.is_file(), f"{path} is missing; run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path}; UPDATE_GOLDEN=1 rewrites"


def assert_valid(block_list: list[dict[str, Any]], max_blocks: int = 50) -> None:
    assert blocks_errors(block_list, max_blocks) == []


def texts(value: Any) -> list[str]:
    """Every ``text`` string inside a Block Kit structure."""
    if isinstance(value, dict):
        found = [value["text"]] if isinstance(value.get("text"), str) else []
        return found + [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


class TestStatusMessage:
    def test_mid_incident_status_message_matches_golden(self) -> None:
        """The seed incident just after its root cause was confirmed (14:05), seen at 14:10."""
        incident, _ = seed_incident(steps=11)
        assert incident.root_cause is not None
        now = T0.replace(hour=14, minute=10)
        assert_golden("status_investigating", blocks.build_status_blocks(incident, now))

    def test_resolved_status_message_matches_golden(self) -> None:
        """The seed incident after its follow-ups, seen at 14:50: no buttons, a resolved note."""
        incident, _ = seed_incident()
        assert incident.status is Status.RESOLVED
        now = T0.replace(hour=14, minute=50)
        assert_golden("status_resolved", blocks.build_status_blocks(incident, now))

    def test_seed_timeline_matches_golden(self) -> None:
        """The whole seed timeline as message blocks."""
        incident, timeline = seed_incident()
        assert_golden("timeline_seed", blocks.build_timeline_blocks(incident, timeline))

    def test_open_status_message_has_the_six_buttons_carrying_the_incident_number(self) -> None:
        """Every button's value is the incident number, and its action_id is one the listeners handle."""
        block_list = blocks.build_status_blocks(plain_incident(number=7), T0)
        [actions] = [b for b in block_list if b["type"] == "actions"]
        assert [e["action_id"] for e in actions["elements"]] == [
            ActionId.ADD_HYPOTHESIS,
            ActionId.ADD_NOTE,
            ActionId.POST_UPDATE,
            ActionId.MITIGATE,
            ActionId.SHOW_TIMELINE,
            ActionId.RESOLVE,
        ]
        assert {e["value"] for e in actions["elements"]} == {"7"}

    def test_times_are_utc_whatever_the_machine_time_zone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The declared time reads 13:42 UTC and the age 30 min, on a machine set to UTC or to UTC+05:30."""
        incident, _ = seed_incident(steps=7)
        now = T0 + timedelta(minutes=30)
        expected = "*Declared:* 2026-11-22 13:42 UTC (<!date^1795354920^{ago}|30 min ago>)"
        rendered = []
        for zone in ("UTC", "Asia/Kolkata"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            rendered.append(blocks.build_status_blocks(incident, now))
        monkeypatch.delenv("TZ")
        time.tzset()
        for block_list in rendered:
            assert expected in block_list[1]["text"]["text"]
        assert rendered[0] == rendered[1]

    def test_a_400_character_title_is_cut_in_the_header_with_an_ellipsis(self) -> None:
        """Headers hold 150 characters; a long title ends with … instead of being rejected."""
        block_list = blocks.build_status_blocks(plain_incident("Database failover " * 23), T0)
        header = block_list[0]["text"]["text"]
        assert len(header) == 150 and header.endswith("…")
        assert_valid(block_list)

    def test_forty_alerts_show_fifteen_firing_first_and_count_the_rest(self) -> None:
        """40 alerts (30 firing, 10 cleared): a count line, 15 lines with firing ones first, then how many more."""
        alerts = [
            AlertLine(
                "EdgeDown",
                f"instance=edge-{i:02d}",
                T0 + timedelta(minutes=i),
                None if i >= 10 else T0 + timedelta(hours=1),
            )
            for i in range(40)
        ]
        block_list = blocks.build_status_blocks(plain_incident(), T0, alerts=alerts)
        assert_valid(block_list)
        [section] = [b for b in block_list if "*Alerts*" in b.get("text", {}).get("text", "")]
        lines = section["text"]["text"].split("\n")
        assert lines[0] == "*Alerts* (30 firing, 10 cleared)"
        assert lines[1] == "• EdgeDown `instance=edge-10`: fired 2026-11-22 13:52 UTC, firing"
        assert len(lines) == 17 and lines[-1] == "_25 more: `/incident timeline`_"
        assert all(line.endswith(", firing") for line in lines[1:16])

    def test_alert_names_and_labels_are_escaped(self) -> None:
        """Alert text is mrkdwn-escaped: `<!channel>` in a label cannot ping anybody."""
        alerts = [AlertLine("Edge<!channel>", "team=<@U0BOB>", T0, None)]
        text = blocks.alerts_text(alerts)
        assert "<!channel>" not in text and "<@U0BOB>" not in text and "&lt;!channel&gt;" in text

    def test_sixty_hypotheses_are_truncated_with_a_note(self) -> None:
        """The hypotheses section stays within 3000 characters and says it was cut."""
        block_list = blocks.build_status_blocks(with_hypotheses(plain_incident(), 60), T0)
        assert_valid(block_list)
        [section] = [b for b in block_list if "*Hypotheses*" in b.get("text", {}).get("text", "")]
        assert len(section["text"]["text"]) == 3000
        assert section["text"]["text"].endswith(TRUNCATION_NOTE)

    def test_topic_fits_in_250_characters(self) -> None:
        """The channel topic keeps severity, status and lead first and cuts the title."""
        topic = blocks.build_topic(plain_incident("x" * 400, lead="U0ALICE"))
        assert len(topic) == 250
        assert topic.startswith("sev2 · declared · Lead: <@U0ALICE> · xxx")

    def test_status_text_fallback_fits(self) -> None:
        """The notification text of the status message stays within a section's 3000 characters."""
        assert len(blocks.build_status_text(plain_incident("&" * 500))) <= 3000


class TestTimelineBlocks:
    def test_two_thousand_entries_fit_in_fifty_blocks(self) -> None:
        """A long timeline is packed into sections and capped at 50 blocks with a note."""
        incident = plain_incident()
        block_list = blocks.build_timeline_blocks(incident, entries(2000, "edge CPU " * 10))
        assert len(block_list) == 50
        assert_valid(block_list)
        assert "more not shown" in block_list[-1]["elements"][0]["text"]

    def test_a_10000_character_note_is_truncated(self) -> None:
        """One huge entry is cut to fit and marked as truncated."""
        block_list = blocks.build_timeline_blocks(plain_incident(), entries(1, "y" * 10_000))
        assert_valid(block_list)
        assert TRUNCATION_NOTE in json.dumps(block_list, ensure_ascii=False)

    def test_no_entries_gives_just_the_header(self) -> None:
        """An empty timeline is still a valid message."""
        block_list = blocks.build_timeline_blocks(plain_incident(), [])
        assert [b["type"] for b in block_list] == ["header"]


class TestHomeView:
    def test_lists_each_incident_with_severity_status_lead_and_age(self) -> None:
        """One section per open incident: id, title, channel, severity, status, lead, age."""
        view = blocks.build_home_view([summary(3)], T0 + timedelta(hours=1, minutes=3))
        assert view["type"] == "home"
        line = view["blocks"][1]["text"]["text"]
        for fragment in ("*INC-3*", "Payments delayed", "<#C0INC3>", "sev2", "investigating", "<@U0BOB>", "open 1h 3m"):
            assert fragment in line

    def test_one_hundred_and_fifty_incidents_fit_in_a_hundred_blocks(self) -> None:
        """The Home tab holds 100 blocks; the last says how many incidents were left out."""
        view = blocks.build_home_view([summary(n) for n in range(150)], T0)
        assert len(view["blocks"]) == 100
        assert_valid(view["blocks"], 100)
        assert "52 more not shown" in view["blocks"][-1]["elements"][0]["text"]

    def test_no_incidents_says_so(self) -> None:
        """An empty Home tab explains how to declare."""
        view = blocks.build_home_view([], T0)
        assert "No open incidents" in view["blocks"][1]["text"]["text"]


class TestModals:
    @pytest.mark.parametrize("severity", [None, *Severity])
    def test_declare_modal_is_valid_and_preselects_the_severity(self, severity: Severity | None) -> None:
        """The declare modal's title fits 24 characters and its select starts at the given severity."""
        view = blocks.build_declare_modal(severity, "C0GENERAL")
        assert view["callback_id"] == CallbackId.DECLARE
        assert len(view["title"]["text"]) <= 24
        assert_valid(view["blocks"], 100)
        assert view["blocks"][1]["element"]["initial_option"]["value"] == (severity or Severity.SEV3).value
        assert json.loads(view["private_metadata"]) == {"channel_id": "C0GENERAL"}

    @pytest.mark.parametrize("verb", sorted(BUTTON_VERBS.values()))
    def test_command_modals_are_valid_for_a_hostile_title(self, verb: str) -> None:
        """Each one-field modal fits Slack's limits and escapes the incident title it shows."""
        view = blocks.build_command_modal(verb, plain_incident("<!channel> " * 60))
        assert len(view["title"]["text"]) <= 24
        assert_valid(view["blocks"], 100)
        assert json.loads(view["private_metadata"]) == {"verb": verb, "incident": 1}
        assert not any(ping in text for text in texts(view) for ping in PINGS)


class TestEscaping:
    HOSTILE = "<!channel> & friends <!here|here> <https://evil.example|click>"

    def test_a_hostile_title_is_escaped_on_every_surface(self) -> None:
        """Status, topic, announcement, timeline, Home and fallback text all carry &lt;!channel&gt;."""
        incident = plain_incident(self.HOSTILE, lead="U0ALICE")
        note = TimelineEntry(EntryKind.NOTE, T0, T0, "U0BOB", "<!everyone> look")
        surfaces = {
            "status": blocks.build_status_blocks(incident, T0),
            "status_text": blocks.build_status_text(incident),
            "topic": blocks.build_topic(incident),
            "announcement": blocks.build_announcement(incident, CHANNEL, "U0ALICE"),
            "timeline": blocks.build_timeline_blocks(incident, [note]),
            "home": blocks.build_home_view([summary(1, self.HOSTILE)], T0),
        }
        for name, value in surfaces.items():
            rendered = json.dumps(value, ensure_ascii=False)
            assert not any(ping in rendered for ping in PINGS), name
            assert "<https://evil" not in rendered, name
        escaped = "&lt;!channel&gt; &amp; friends"
        assert escaped in blocks.build_topic(incident)
        assert escaped in blocks.build_status_blocks(incident, T0)[0]["text"]["text"]

    def test_mentions_the_bot_writes_stay_mentions(self) -> None:
        """The lead, IRT and channel links are real Slack references, not escaped text."""
        incident, _ = seed_incident(steps=5)
        rendered = json.dumps(blocks.build_status_blocks(incident, T0), ensure_ascii=False)
        assert "*Lead:* <@U0ALICE>" in rendered and "<@U0BOB> (networking)" in rendered
        assert f"<#{CHANNEL}>" in json.dumps(blocks.build_announcement(incident, CHANNEL, "U0ALICE"))


class TestText:
    def test_escape_replaces_exactly_the_three_control_characters(self) -> None:
        """&, < and > become entities; everything else is left alone."""
        text = "<!channel> & \"friends\" 'x' *bold*"
        assert escape(text) == "&lt;!channel&gt; &amp; \"friends\" 'x' *bold*"

    def test_escape_drops_bidi_overrides_and_control_characters(self) -> None:
        """Invisible characters that could disguise text are removed; newlines stay."""
        assert escape("evil\u202etxt.exe\x00\nnext") == "eviltxt.exe\nnext"

    @given(st.text())
    @settings(max_examples=200)
    def test_unescape_undoes_escape(self, text: str) -> None:
        """Decoding Slack's entities gives back the text as typed (minus invisible characters)."""
        assert unescape(escape(text)) == strip_invisible(text)
        assert "<" not in escape(text) and ">" not in escape(text)

    @given(
        st.text(alphabet=st.characters(codec="utf-8")) | st.text(alphabet="ab \t\n\x00\u00a0\u200b\u2028\u202e\ufeff")
    )
    @settings(max_examples=200)
    def test_strip_invisible_drops_exactly_control_and_format_characters(self, text: str) -> None:
        """Whatever the text (printable or not: the fast path skips only printable text), exactly the characters
        of Unicode's Cc and Cf categories go, but newlines and tabs."""
        import unicodedata

        expected = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"))
        assert strip_invisible(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("edge CPU back under 40%", "edge CPU back under 40%"),
            ("a\u00a0b\u2028c\u3000d", "a\u00a0b\u2028c\u3000d"),  # separators: not printable, yet kept
            ("zero\u200bwidth\ufeff\tok\n", "zerowidth\tok\n"),
            ("\x1b[31mred\x7f", "[31mred"),
        ],
    )
    def test_strip_invisible_examples(self, text: str, expected: str) -> None:
        assert strip_invisible(text) == expected

    def test_truncate_keeps_text_that_fits(self) -> None:
        """Text within the limit is returned unchanged."""
        assert truncate("short", 5) == "short"

    @pytest.mark.parametrize("limit", [60, 100, 3000])
    def test_truncate_cuts_to_the_limit_with_the_note(self, limit: int) -> None:
        """Long text is cut to exactly ``limit`` characters ending with the truncation note."""
        cut = truncate("z" * 10_000, limit)
        assert len(cut) == limit and cut.endswith(TRUNCATION_NOTE)

    @pytest.mark.parametrize("start", range(0, 12))
    def test_truncate_never_leaves_half_an_entity_or_mention(self, start: int) -> None:
        """Cutting through &amp; or <@U0ALICE> drops the partial token rather than sending it."""
        text = "a" * start + "&amp; <@U0ALICE> &lt;" * 20
        cut = truncate(text, 20, "…")
        body = cut.removesuffix("…")
        assert len(cut) <= 20
        assert not re.search(r"&[a-z]{0,4}$", body) and not re.search(r"<[^>]*$", body)

    def test_plain_escapes_flattens_and_cuts(self) -> None:
        """plain_text fields are escaped, on one line, and within their limit."""
        assert plain("a <b>\nc & d", 150) == "a &lt;b&gt; c &amp; d"
        cut = plain("&" * 100, 24)
        assert len(cut) <= 24 and cut.endswith("&amp;…")


class TestChannelName:
    @pytest.mark.parametrize(
        ("title", "slug"),
        [
            ("CDN edge: 502s!", "cdn-edge-502s"),
            ("  Ünïcödé café  ", "unicode-cafe"),
            ("a---b__c", "a-b__c"),
            ("--leading and trailing__", "leading-and-trailing"),
            ("日本語のタイトル", ""),
            ("🔥🔥🔥", ""),
            ("UPPER_case Mixed", "upper_case-mixed"),
        ],
    )
    def test_slugify(self, title: str, slug: str) -> None:
        """Lowercase ASCII letters, digits, - and _ only, no runs of -, nothing dangling at the ends."""
        assert slugify(title) == slug

    def test_channel_name_is_prefix_number_and_slug(self) -> None:
        """``inc-7-cdn-edge-502s``."""
        assert channel_name("inc", 7, "CDN edge: 502s!") == "inc-7-cdn-edge-502s"

    def test_later_attempts_add_a_suffix(self) -> None:
        """The second try after name_taken is ``-2``, the third ``-3``."""
        assert channel_name("inc", 7, "CDN edge", 2) == "inc-7-cdn-edge-2"
        assert channel_name("inc", 7, "CDN edge", 3) == "inc-7-cdn-edge-3"

    def test_a_title_without_usable_characters_gives_just_prefix_and_number(self) -> None:
        """A title of emoji or CJK alone still gives a valid name."""
        assert channel_name("inc", 7, "🔥 日本語") == "inc-7"
        assert channel_name("inc", 7, "🔥", 2) == "inc-7-2"

    def test_a_long_title_is_cut_to_80_characters_keeping_the_suffix(self) -> None:
        """At most 80 characters, never ending in - or _ before the suffix."""
        name = channel_name("incident_", 123456789, "word " * 100, 20)
        assert len(name) <= 80 and name.endswith("-20")
        assert not name.removesuffix("-20").endswith(("-", "_"))

    @given(
        prefix=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,19}", fullmatch=True),
        number=st.integers(1, 999_999_999),
        title=st.text(max_size=600),
        attempt=st.integers(1, 20),
    )
    @settings(max_examples=300, deadline=None)
    def test_every_name_is_one_slack_accepts(self, prefix: str, number: int, title: str, attempt: int) -> None:
        """Whatever the title, the name matches Slack's rules and starts with prefix-number."""
        name = channel_name(prefix, number, title, attempt)
        assert CHANNEL_NAME.match(name), name
        assert name.startswith(f"{prefix}-{number}")


class TestMentionsInUserText:
    def test_user_and_channel_mentions_render_but_special_mentions_do_not(self) -> None:
        """A typed @bob or #general stays a mention; <!channel>, & and bare < > are escaped."""
        from bot.slack.text import escape_keeping_mentions

        text = "asked <@U0BOB|bob> in <#C0GEN|general> & <!channel> <b>"
        assert escape_keeping_mentions(text) == ("asked <@U0BOB|bob> in <#C0GEN|general> &amp; @channel &lt;b&gt;")

    @pytest.mark.parametrize(
        ("typed", "shown"),
        [
            ("ping <!here> now", "ping @here now"),
            ("<!everyone|everyone> and <!channel>", "@everyone and @channel"),
            ("page <!subteam^S0ONCALL|@oncall>", "page @oncall"),
            ("at <!date^1392734382^{date}|Feb 18, 2014>", "at Feb 18, 2014"),
            ("<!date^1392734382^{date}>", ""),
            ("<!here|<script>>", "&lt;!here|&lt;script&gt;&gt;"),
        ],
    )
    def test_broadcasts_and_groups_read_as_words(self, typed: str, shown: str) -> None:
        """What Slack sends for a typed @here, @oncall or a date is echoed as those words: read as typed,
        pinging nobody (a label holding markup stays escaped text)."""
        from bot.slack.text import escape_keeping_mentions

        assert escape_keeping_mentions(typed) == shown

    @pytest.mark.parametrize(
        ("typed", "shown"),
        [
            ("see <https://wiki.example/rb|the runbook>", "see <https://wiki.example/rb|the runbook>"),
            ("see <https://wiki.example/rb>", "see <https://wiki.example/rb>"),
            ("mail <mailto:sre@example.com|sre@example.com>", "mail <mailto:sre@example.com|sre@example.com>"),
            ("a <https://x.example/?a=1&b=2|q&a>", "a <https://x.example/?a=1&amp;b=2|q&amp;a>"),
            ("<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"),
            ("<https://x.example|<!channel>>", "<https://x.example|@channel>"),  # a label that pings nobody
        ],
    )
    def test_links_render_as_links(self, typed: str, shown: str) -> None:
        """A link Slack sent in typed text renders as the link it was (``&`` escaped inside); other schemes
        and a label hiding a broadcast stay escaped text."""
        from bot.slack.text import escape_keeping_mentions

        assert escape_keeping_mentions(typed) == shown

    def test_a_forged_mention_cannot_smuggle_a_special_mention(self) -> None:
        """Text that only looks like a user mention around a broadcast stays escaped."""
        from bot.slack.text import escape_keeping_mentions

        assert "<!" not in escape_keeping_mentions("<@U0BOB|<!channel>>")
        assert "<!" not in escape_keeping_mentions("<@<!here>>")


MENTION_TARGET = re.compile(r"<@([^>|]*)")


def mentioned(rendered: str) -> list[str]:
    """Every target of a ``<@...>`` mention in rendered Slack text or JSON."""
    return MENTION_TARGET.findall(rendered)


def cli_incident() -> tuple[Incident, list[TimelineEntry]]:
    """Declared by Alertmanager, led by ``alice`` named in the CLI, with carol (CLI) and U0BOB (Slack) in the IRT."""
    declared = declare(Declare("edge 502s", Severity.SEV1), 1, Stamp("alertmanager", T0, T0), channel_id=CHANNEL)
    led = apply(declared.incident, SetLead(UserRef("alice")), Stamp("cli", T0, T0))
    assembled = apply(
        led.incident,
        Assemble((Assignee(UserRef("carol"), "networking"), Assignee(UserRef("U0BOB", "bob"), None))),
        Stamp("U0ALICE", T0, T0, "alice"),
    )
    return assembled.incident, [*declared.entries, *led.entries, *assembled.entries]


class TestNonUserMentions:
    """Issue 11 item 7: only Slack user ids become ``<@...>``; actors and CLI names are plain names."""

    @pytest.mark.parametrize(
        ("who", "rendered"),
        [
            ("U0123ABC", "<@U0123ABC>"),
            ("W0123ABC", "<@W0123ABC>"),
            ("USLACKBOT", "<@USLACKBOT>"),
            ("alertmanager", "alertmanager"),
            ("cli", "cli"),
            ("incidentbot", "incidentbot"),
            ("alice", "alice"),
            ("u0123abc", "u0123abc"),
            ("U", "U"),
            ("U0123abc", "U0123abc"),
            ("a<b>&c", "a&lt;b&gt;&amp;c"),
            ("U0BOB", "<@U0BOB>"),
            ("W3C", "W3C"),
            ("U2", "U2"),
            ("UBER", "UBER"),
            ("WALTER", "WALTER"),
            ("U024BE7LH", "<@U024BE7LH>"),
        ],
    )
    def test_slack_mention(self, who: str, rendered: str) -> None:
        """A user id (U/W, 4+ upper-case letters or digits with a digit, or USLACKBOT) is a mention;
        anything else is its name, escaped for mrkdwn."""
        assert slack_mention(who) == rendered

    @pytest.mark.parametrize(
        ("who", "rendered"),
        [("U0ALICE", "<@U0ALICE>"), ("alice", "@alice"), ("w3c", "@w3c"), ("a<b", "@a&lt;b")],
    )
    def test_person_mention(self, who: str, rendered: str) -> None:
        """A person in a message: a Slack user is a mention, a CLI name is @name."""
        assert person_mention(who) == rendered

    def test_status_message_mentions_only_users(self) -> None:
        """Lead alice (CLI) and carol are names; U0BOB is a mention; nobody is <@alertmanager>."""
        incident, _ = cli_incident()
        rendered = json.dumps(blocks.build_status_blocks(incident, T0), ensure_ascii=False)
        assert "*Lead:* alice" in rendered
        assert "carol (networking)" in rendered and "<@U0BOB>" in rendered
        assert mentioned(rendered) == ["U0BOB"]

    def test_announcement_by_alertmanager_is_a_plain_name(self) -> None:
        """An incident an alert declared is "declared by alertmanager", not <@alertmanager>."""
        incident, _ = cli_incident()
        rendered = json.dumps(blocks.build_announcement(incident, CHANNEL, "alertmanager"))
        assert blocks.build_announcement(incident, CHANNEL, "alertmanager")[0]["text"]["text"] == (
            ":red_circle: *INC-1* (sev1) · *investigating* · Lead: alice\nedge 502s\n"
            "Declared by alertmanager at 2026-11-22 13:42 UTC. Join <#C0INC1> to help."
        )
        assert mentioned(rendered) == []

    def test_timeline_blocks_mention_only_users(self) -> None:
        """Timeline lines by alertmanager and cli, about alice and carol, mention only U0BOB (and U0ALICE, an actor)."""
        incident, entries = cli_incident()
        rendered = json.dumps(blocks.build_timeline_blocks(incident, entries), ensure_ascii=False)
        assert "alice is now the incident lead (cli)" in rendered and "(alertmanager)" in rendered
        assert set(mentioned(rendered)) <= {"U0BOB", "U0ALICE"}
        assert "<@alertmanager>" not in rendered and "<@cli>" not in rendered and "<@alice>" not in rendered

    def test_posted_confirmation_by_the_cli_is_a_plain_name(self) -> None:
        """The channel line for a CLI command starts with ``cli:``, and invites go only to Slack users."""
        incident, entries = cli_incident()
        outcome = Outcome(incident, tuple(entries[2:]), incident)
        effects = plan_effects(outcome, Actor("cli"))
        [line] = [e.payload["text"] for e in effects if e.kind == SlackEffect.POST_LINE]
        assert line.startswith("cli: INC-1 · ")
        assert mentioned(line) == ["U0BOB"]
        [invite] = [e.payload["users"] for e in effects if e.kind == SlackEffect.INVITE]
        assert invite == ["U0BOB"]

    def test_nudge_names_a_cli_lead_without_markup(self) -> None:
        """A quiet incident's reminder names the lead alice as ``alice``."""
        incident, _ = cli_incident()
        nudge = TimelineEntry(EntryKind.NUDGE, T0, T0, "incidentbot", "", {"silent_minutes": 15})
        [effect] = nudge_effects(Outcome(incident, (nudge,), incident))
        assert effect.payload["text"].startswith(":alarm_clock: alice INC-1 (sev1) has had no timeline update")
        assert mentioned(effect.payload["text"]) == []


class TestTimelineViewOfALongIncident:
    """A timeline view that shows only the latest entries says how many there are and where the rest is."""

    def test_a_partial_view_names_the_count_and_the_whole_timeline(self) -> None:
        """Two of ten entries shown: a context line with both numbers and the CLI command."""
        incident, entries = seed_incident(steps=7)
        block_list = blocks.build_timeline_blocks(incident, entries[-2:], total=10)
        assert block_list[1] == {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "The latest 2 of 10 entries. The whole timeline: `incidentbot timeline INC-1` "
                    "or the postmortem draft (`/incident postmortem`).",
                }
            ],
        }

    def test_a_whole_view_has_no_count(self) -> None:
        """All entries shown (or no total given): no context line."""
        incident, entries = seed_incident(steps=7)
        for total in (None, len(entries)):
            block_list = blocks.build_timeline_blocks(incident, entries, total=total)
            assert "context" not in [b["type"] for b in block_list]
