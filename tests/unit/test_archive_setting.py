"""INCIDENT_ARCHIVE_AFTER: every spelling of a duration, ``off``, and bad values refused naming the setting;
and the pure parts of archiving (the plan, the notes, the last message)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_settings, parse_archive_after
from bot.domain.commands import CorrectEntry, StrikeEntry
from bot.domain.errors import TransitionError
from bot.domain.lifecycle import Stamp, apply
from bot.domain.model import EntryKind, Incident, Severity, Status, TimelineEntry
from bot.errors import ConfigError
from bot.slack.archiving import ArchivePlan, channel_note, last_message, unarchive_effects
from bot.usecases.shared import Outcome

DAY = timedelta(days=1)
FORMS = "INCIDENT_ARCHIVE_AFTER must be a duration such as 7d, 2w, 36h or 1d12h (from 1h to 365d), or off; got "


class TestParse:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("7d", timedelta(days=7)),
            ("7D", timedelta(days=7)),
            ("7 d", timedelta(days=7)),
            ("7days", timedelta(days=7)),
            ("7 days", timedelta(days=7)),
            ("1 day", timedelta(days=1)),
            ("2w", timedelta(days=14)),
            ("1 week", timedelta(days=7)),
            ("36h", timedelta(hours=36)),
            ("1 hour", timedelta(hours=1)),
            ("90m", timedelta(minutes=90)),
            ("90 min", timedelta(minutes=90)),
            ("90 minutes", timedelta(minutes=90)),
            ("1d12h", timedelta(days=1, hours=12)),
            ("1d 12h", timedelta(days=1, hours=12)),
            ("1w2d3h4m", timedelta(days=9, hours=3, minutes=4)),
            ("  7d  ", timedelta(days=7)),
            ("365d", timedelta(days=365)),
            ("60m", timedelta(hours=1)),
        ],
    )
    def test_durations(self, text: str, expected: timedelta) -> None:
        """Each spelling reads as the duration written."""
        assert parse_archive_after(text) == expected

    @pytest.mark.parametrize("text", ["off", "OFF", "Off", " off ", ""])
    def test_off_and_unset(self, text: str) -> None:
        """``off`` in any case, or nothing: channels are never archived."""
        assert parse_archive_after(text) is None

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("7", FORMS + "'7'."),
            ("never", FORMS + "'never'."),
            ("7dd", FORMS + "'7dd'."),
            ("1.5d", FORMS + "'1.5d'."),
            ("-7d", FORMS + "'-7d'."),
            ("7 months", FORMS + "'7 months'."),
            ("12h1d", "INCIDENT_ARCHIVE_AFTER gives each unit once, largest first (1d12h); got '12h1d'."),
            ("1d1d", "INCIDENT_ARCHIVE_AFTER gives each unit once, largest first (1d12h); got '1d1d'."),
            ("0d", "INCIDENT_ARCHIVE_AFTER must be from 1h to 365d, or off; got '0d'."),
            ("59m", "INCIDENT_ARCHIVE_AFTER must be from 1h to 365d, or off; got '59m'."),
            ("366d", "INCIDENT_ARCHIVE_AFTER must be from 1h to 365d, or off; got '366d'."),
        ],
    )  # fmt: skip
    def test_bad_values_are_refused_naming_the_setting(self, text: str, message: str) -> None:
        """Refused with the setting's name, the forms it takes and the value given."""
        with pytest.raises(ConfigError) as info:
            parse_archive_after(text)
        assert info.value.user_message == message

    @given(st.integers(0, 52), st.integers(0, 400), st.integers(0, 9999), st.integers(0, 99999), st.booleans())
    def test_any_combination_reads_its_sum(self, weeks: int, days: int, hours: int, minutes: int, spaced: bool) -> None:
        """``<w>w<d>d<h>h<m>m`` with any units left out: the sum, when from 1 hour to 365 days; refused otherwise."""
        parts = [(weeks, "w"), (days, "d"), (hours, "h"), (minutes, "m")]
        chosen = [(n, u) for n, u in parts if n]
        text = (" " if spaced else "").join(f"{n}{u}" for n, u in chosen) or "0m"
        total = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
        if timedelta(hours=1) <= total <= timedelta(days=365):
            assert parse_archive_after(text) == total
        else:
            with pytest.raises(ConfigError, match="INCIDENT_ARCHIVE_AFTER must be from 1h to 365d"):
                parse_archive_after(text)

    def test_settings_default_is_off(self) -> None:
        """Unset, the settings say never; set, the duration; a bad value stops start-up naming it."""
        base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
        assert load_settings(base, env_file=None).archive_after is None
        assert load_settings({**base, "INCIDENT_ARCHIVE_AFTER": "7d"}, env_file=None).archive_after == timedelta(days=7)
        with pytest.raises(ConfigError, match="INCIDENT_ARCHIVE_AFTER must be"):
            load_settings({**base, "INCIDENT_ARCHIVE_AFTER": "weekly"}, env_file=None)


RESOLVED_AT = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def incident(status: Status = Status.RESOLVED, **changes: object) -> Incident:
    base = Incident(1, "Checkout down", Severity.SEV2, status, RESOLVED_AT - DAY, "U0ALICE", channel_id="C0INC")
    return base.with_changes(resolved_at=RESOLVED_AT if status is Status.RESOLVED else None, **changes)


def entry(kind: EntryKind) -> TimelineEntry:
    return TimelineEntry(kind, RESOLVED_AT, RESOLVED_AT, "U0ALICE")


class TestPlan:
    def test_a_resolve_queues_the_archive_due_after_the_delay(self) -> None:
        """The effect names the resolve and is due 7 days after it, in the slack_archive lane."""
        [effect] = ArchivePlan(timedelta(days=7))(None, Outcome(incident(), (entry(EntryKind.RESOLVED),), None))
        assert (effect.kind, effect.incident_number, effect.not_before) == ("slack_archive.channel", 1, timedelta(7))
        assert effect.payload == {"resolved_at": "2026-11-30T04:00:00+00:00", "after_seconds": 604800.0}

    @pytest.mark.parametrize(
        ("typed_after", "due_in"),
        [
            (timedelta(days=3), timedelta(days=4)),  # `resolve fixed --at 3 days ago`: due in 4 days
            (timedelta(days=6, hours=23), timedelta(hours=1)),
            (timedelta(days=7), timedelta(0)),
            (timedelta(days=10), timedelta(0)),  # resolved 10 days ago: due at once
        ],
    )
    def test_a_backdated_resolve_is_due_the_delay_after_its_own_time(
        self, typed_after: timedelta, due_in: timedelta
    ) -> None:
        """Counted from the resolve's time (resolved_at), not from when the command was typed (recorded_at)."""
        resolve = TimelineEntry(EntryKind.RESOLVED, RESOLVED_AT, RESOLVED_AT + typed_after, "U0ALICE")
        [effect] = ArchivePlan(timedelta(days=7))(None, Outcome(incident(), (resolve,), None))
        assert effect.not_before == due_in

    @given(st.integers(min_value=0, max_value=400 * 24 * 60), st.integers(min_value=60, max_value=365 * 24 * 60))
    def test_due_at_resolved_at_plus_the_delay_never_before_now(self, typed_minutes: int, after_minutes: int) -> None:
        typed, after = timedelta(minutes=typed_minutes), timedelta(minutes=after_minutes)
        resolve = TimelineEntry(EntryKind.RESOLVED, RESOLVED_AT, RESOLVED_AT + typed, "U0ALICE")
        [effect] = ArchivePlan(after)(None, Outcome(incident(), (resolve,), None))
        assert effect.not_before is not None
        assert RESOLVED_AT + typed + effect.not_before == max(RESOLVED_AT + after, RESOLVED_AT + typed)

    @pytest.mark.parametrize("kind", [EntryKind.NOTE, EntryKind.REOPENED, EntryKind.SEVERITY])
    def test_other_changes_queue_none(self, kind: EntryKind) -> None:
        assert ArchivePlan(timedelta(days=7))(None, Outcome(incident(), (entry(kind),), None)) == []

    def test_a_reopen_unarchives_first_only_an_archived_channel(self) -> None:
        """Reopened with the channel archived by the bot or a note kept: the unarchive; otherwise nothing."""
        reopened = (entry(EntryKind.REOPENED),)
        archived = incident(Status.INVESTIGATING, channel_archived_at=RESOLVED_AT + DAY)
        noted = incident(Status.INVESTIGATING, channel_problem="the channel is archived")
        assert [e.kind for e in unarchive_effects(Outcome(archived, reopened, None))] == ["slack.unarchive_channel"]
        assert [e.kind for e in unarchive_effects(Outcome(noted, reopened, None))] == ["slack.unarchive_channel"]
        assert unarchive_effects(Outcome(incident(Status.INVESTIGATING), reopened, None)) == []
        assert unarchive_effects(Outcome(archived, (entry(EntryKind.NOTE),), None)) == []


class TestTexts:
    @pytest.mark.parametrize(
        ("method", "code", "noted"),
        [
            ("chat.postMessage", "is_archived", True),
            ("chat.update", "is_inactive", True),
            ("conversations.invite", "not_in_channel", True),
            ("conversations.setTopic", "channel_not_found", True),
            ("pins.add", "not_in_channel", False),
            ("chat.postMessage", "ratelimited", False),
            ("chat.postMessage", "msg_too_long", False),
            ("chat.postMessage", None, False),
        ],
    )
    def test_which_refusals_are_the_channels(self, method: str, code: str | None, noted: bool) -> None:
        """Archived, not in it, not found: a note; pins.add's not_in_channel (the message) and others: none."""
        assert (channel_note(method, code) is not None) is noted

    def test_last_message_without_a_postmortem(self) -> None:
        assert last_message(incident(), None, RESOLVED_AT + timedelta(days=7)) == (
            ":file_cabinet: INC-1 was resolved 7d 0h ago: this channel is archived now. No postmortem was published "
            "yet: `/incident INC-1 postmortem publish` publishes it (Confluence or Git, when set up) and "
            "`incidentbot postmortem INC-1` writes its draft; an upload here would be refused. Reopening the "
            "incident (`/incident INC-1 reopen <why>`) unarchives it."
        )

    @given(st.integers(min_value=24 * 60, max_value=400 * 24 * 60))
    def test_last_message_says_the_real_time_since_the_resolve(self, minutes: int) -> None:
        """Whenever it is posted (a backdated resolve, a late worker), it says how long ago the resolve was."""
        days, hours = divmod(minutes // 60, 24)
        text = last_message(incident(), "https://x/pm", RESOLVED_AT + timedelta(minutes=minutes))
        assert text.startswith(f":file_cabinet: INC-1 was resolved {days}d {hours}h ago: "), text

    def test_last_message_of_a_resolve_ten_days_ago(self) -> None:
        """The tester's example: resolved `--at 3 days ago`, archived 7 days later: 10 days after the resolve."""
        text = last_message(incident(), "https://x/pm", RESOLVED_AT + timedelta(days=10, minutes=5))
        assert text.startswith(":file_cabinet: INC-1 was resolved 10d 0h ago: this channel is archived now."), text


class TestCorrections:
    @pytest.mark.parametrize("kind", [EntryKind.CHANNEL_ARCHIVED, EntryKind.CHANNEL_UNARCHIVED])
    @pytest.mark.parametrize(
        "action", [CorrectEntry(2, "typo", None), CorrectEntry(2, "", RESOLVED_AT), StrikeEntry(2, "x")]
    )
    def test_the_bots_channel_entries_cannot_be_corrected_or_struck(
        self, kind: EntryKind, action: CorrectEntry | StrikeEntry
    ) -> None:
        """Recorded by the bot as it happened: neither its text nor its time is corrected, nor is it struck."""
        entries = [
            TimelineEntry(EntryKind.RESOLVED, RESOLVED_AT - DAY, RESOLVED_AT - DAY, "U0ALICE", "", {}, 1),
            TimelineEntry(kind, RESOLVED_AT - DAY / 2, RESOLVED_AT - DAY / 2, "incidentbot", "", {}, 2),
        ]
        stamp = Stamp("U0ALICE", RESOLVED_AT, RESOLVED_AT, "alice")
        with pytest.raises(TransitionError, match="#2"):
            apply(incident(), action, stamp, entries)
