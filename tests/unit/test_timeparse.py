"""Parsing ``--at WHEN`` into aware UTC datetimes, and formatting times and durations for people."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import TimeParseError
from bot.domain.timeparse import (
    ensure_utc,
    format_duration,
    format_iso,
    format_utc,
    parse_when,
)
from tests.support.properties import examples

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


def at_utc(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def utc(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def refusal(text: str) -> str:
    with pytest.raises(TimeParseError) as raised:
        parse_when(text, NOW)
    return raised.value.user_message


ISSUE_NOW = at_utc(11, 29, 12, 0)
"""The issue's examples: "now" earlier than 13:03, the day after 2026-11-28."""

FORMS_FRAGMENTS = ("`now`", "`15m ago`", "`1h30m ago`", "`1:42 pm`", "`yesterday 13:42`", "`Europe/Berlin`")
"""Pieces of the accepted-forms list every refusal must carry (written here, not read from the module)."""


def at(moment: datetime, text: str) -> datetime:
    return parse_when(text, moment)


def assert_lists_forms(message: str) -> None:
    for fragment in FORMS_FRAGMENTS:
        assert fragment in message, message


def offset_cases() -> list[tuple[str, datetime]]:
    """Every offset spelling after ``2026-11-28 13:42``, with and without a space, ISO ``T`` too."""
    spellings = [
        ("UTC+1", at_utc(11, 28, 12, 42)),
        ("UTC+01", at_utc(11, 28, 12, 42)),
        ("UTC+0100", at_utc(11, 28, 12, 42)),
        ("UTC+01:00", at_utc(11, 28, 12, 42)),
        ("UTC +1", at_utc(11, 28, 12, 42)),
        ("utc+1", at_utc(11, 28, 12, 42)),
        ("GMT+1", at_utc(11, 28, 12, 42)),
        ("GMT+01:00", at_utc(11, 28, 12, 42)),
        ("UTC+05:30", at_utc(11, 28, 8, 12)),
        ("UTC+0530", at_utc(11, 28, 8, 12)),
        ("UTC+5:30", at_utc(11, 28, 8, 12)),
        ("GMT-5", at_utc(11, 28, 18, 42)),
        ("GMT-05", at_utc(11, 28, 18, 42)),
        ("UTC-03:30", at_utc(11, 28, 17, 12)),
        ("UTC-3:30", at_utc(11, 28, 17, 12)),
        ("UTC-0330", at_utc(11, 28, 17, 12)),
        ("UTC+14", at_utc(11, 27, 23, 42)),
        ("UTC-12", at_utc(11, 29, 1, 42)),
        ("UTC+0", at_utc(11, 28, 13, 42)),
        ("UTC-0", at_utc(11, 28, 13, 42)),
        ("+01:00", at_utc(11, 28, 12, 42)),
        ("+0100", at_utc(11, 28, 12, 42)),
        ("+01", at_utc(11, 28, 12, 42)),
        ("+05:30", at_utc(11, 28, 8, 12)),
        ("-05:00", at_utc(11, 28, 18, 42)),
        ("-0500", at_utc(11, 28, 18, 42)),
        ("-03:30", at_utc(11, 28, 17, 12)),
        ("+00:00", at_utc(11, 28, 13, 42)),
        ("Z", at_utc(11, 28, 13, 42)),
        ("z", at_utc(11, 28, 13, 42)),
        ("UTC", at_utc(11, 28, 13, 42)),
        ("GMT", at_utc(11, 28, 13, 42)),
        ("CET", at_utc(11, 28, 12, 42)),
        ("Europe/Berlin", at_utc(11, 28, 12, 42)),
        ("Asia/Kolkata", at_utc(11, 28, 8, 12)),
    ]
    cases = []
    for zone, expected in spellings:
        cases.append((f"2026-11-28 13:42 {zone}", expected))
        if zone[0] in "+-Zz" or zone.upper().startswith(("UTC", "GMT")):
            cases.append((f"2026-11-28 13:42{zone}", expected))
            cases.append((f"2026-11-28T13:42:00{zone}", expected))
    return cases


class TestIssueExamples:
    """Issue 11, items 4 and 5, with the values the issue gives."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-28 13:42 UTC+1", at_utc(11, 28, 12, 42)),
            ("2026-11-28 13:42 GMT+1", at_utc(11, 28, 12, 42)),
            ("2026-11-28 13:42 UTC+05:30", at_utc(11, 28, 8, 12)),
        ],
    )
    def test_utc_offsets_mean_ahead_of_utc(self, text: str, expected: datetime) -> None:
        """``UTC+1`` is one hour ahead of UTC (12:42Z), ``UTC+05:30`` five and a half (08:12Z)."""
        assert at(ISSUE_NOW, text) == expected

    @pytest.mark.parametrize("text", ["13:03", "1:03 pm", "13:03 +00:00"])
    def test_time_of_day_is_most_recent_past_in_every_spelling(self, text: str) -> None:
        """With now at 12:00, all three spellings of 13:03 are yesterday 13:03Z."""
        assert at(ISSUE_NOW, text) == at_utc(11, 28, 13, 3)

    @pytest.mark.parametrize("text", ["1.30pm", "13.30", "01/02"])
    def test_undocumented_forms_are_refused_with_the_forms(self, text: str) -> None:
        """``1.30pm``, ``13.30`` and ``01/02`` are refused, never read as 13:00 or a date."""
        with pytest.raises(TimeParseError) as raised:
            at(ISSUE_NOW, text)
        assert f"`{text}` is not a time I understand" in raised.value.user_message
        assert_lists_forms(raised.value.user_message)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("now", at_utc(11, 29, 12, 0)),
            ("5m ago", at_utc(11, 29, 11, 55)),
            ("1h30m ago", at_utc(11, 29, 10, 30)),
            ("yesterday 13:42", at_utc(11, 28, 13, 42)),
            ("13:42 CET", at_utc(11, 28, 12, 42)),
            ("13:42 Europe/Berlin", at_utc(11, 28, 12, 42)),
            ("2026-11-28T13:42:00Z", at_utc(11, 28, 13, 42)),
        ],
    )
    def test_forms_people_type_during_incidents(self, text: str, expected: datetime) -> None:
        """The forms the issue asks for give these exact UTC moments."""
        assert at(ISSUE_NOW, text) == expected


class TestParseWhen:
    @pytest.mark.parametrize(("text", "expected"), offset_cases())
    def test_every_offset_spelling(self, text: str, expected: datetime) -> None:
        """East of UTC is positive in every spelling (ISO 8601), never the POSIX sign dateutil applies."""
        result = at(ISSUE_NOW, text)
        assert result == expected and result.tzinfo is UTC

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("13:42", utc(22, 13, 42)),
            ("13:42:30", utc(22, 13, 42, 30)),
            ("2026-11-22 13:42 UTC", utc(22, 13, 42)),
            ("2026-11-22T13:42Z", utc(22, 13, 42)),
            ("2026-11-22T13:42:00+00:00", utc(22, 13, 42)),
            ("2026-11-22T13:42:00.250Z", utc(22, 13, 42) + timedelta(milliseconds=250)),
            ("2026-11-21 23:59 GMT", utc(21, 23, 59)),
            ("  2026-11-22   13:42  ", utc(22, 13, 42)),
            ("2026-11-22 13:42", utc(22, 13, 42)),
            ("2026-11-22T13:42:00", utc(22, 13, 42)),
            ("2026-11-22 1:42 pm", utc(22, 13, 42)),
            ("14:00", NOW),
            ("NOW", NOW),
            ("today 13:42", utc(22, 13, 42)),
            ("yesterday 1pm", utc(21, 13, 0)),
            ("Yesterday 23:59:59", utc(21, 23, 59, 59)),
        ],
    )
    def test_absolute_examples(self, text: str, expected: datetime) -> None:
        """The documented absolute forms give the intended UTC moment; no zone means UTC."""
        result = parse_when(text, NOW)
        assert result == expected and result.tzinfo is UTC

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1pm", utc(22, 13, 0)),
            ("1 PM", utc(22, 13, 0)),
            ("1:42pm", utc(22, 13, 42)),
            ("12pm", utc(22, 12, 0)),
            ("12am", utc(22, 0, 0)),
            ("12:30 am", utc(22, 0, 30)),
            ("11:59 pm", utc(21, 23, 59)),
            ("9am", utc(22, 9, 0)),
        ],
    )
    def test_twelve_hour_clock(self, text: str, expected: datetime) -> None:
        """``am``/``pm`` times: 12am is midnight, 12pm noon, and a later time is yesterday's."""
        assert parse_when(text, NOW) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("15m ago", utc(22, 13, 45)),
            ("2h ago", utc(22, 12, 0)),
            ("90 seconds ago", utc(22, 13, 58, 30)),
            ("30s ago", utc(22, 13, 59, 30)),
            ("10 MIN AGO", utc(22, 13, 50)),
            ("5 mins ago", utc(22, 13, 55)),
            ("1.5h ago", utc(22, 12, 30)),
            ("3 hrs ago", utc(22, 11, 0)),
            ("2 days ago", utc(20, 14, 0)),
            ("1d ago", utc(21, 14, 0)),
            ("0m ago", NOW),
            ("1h30m ago", utc(22, 12, 30)),
            ("1h 30m ago", utc(22, 12, 30)),
            ("1 hour 30 minutes ago", utc(22, 12, 30)),
            ("1h30m15s ago", utc(22, 12, 29, 45)),
            ("1d 2h ago", utc(21, 12, 0)),
        ],
    )
    def test_relative_examples(self, text: str, expected: datetime) -> None:
        """``N<unit> ago`` (units combinable) counts back from now."""
        assert parse_when(text, NOW) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("15:00", utc(21, 15, 0)),
            ("23:59 UTC", utc(21, 23, 59)),
            ("14:05z", utc(21, 14, 5)),
            ("14:01", NOW),  # within the clock skew: recorded as now
            ("3pm", utc(21, 15, 0)),
            ("15:00 +01:00", utc(22, 14, 0)),
            ("15:30 +01:00", utc(21, 14, 30)),
            ("09:00 -05:00", utc(22, 14, 0)),
            ("10:00 -05:00", utc(21, 15, 0)),
        ],
    )
    def test_time_of_day_means_its_latest_past_occurrence(self, text: str, expected: datetime) -> None:
        """A time of day later than now (beyond the clock skew) is yesterday's, with or without a zone."""
        assert parse_when(text, NOW) == expected

    def test_time_of_day_after_midnight(self) -> None:
        """Just after midnight, an evening time is the previous day's, across a month boundary."""
        assert parse_when("23:30", at_utc(12, 1, 0, 10)) == utc(30, 23, 30)

    @pytest.mark.parametrize(
        ("now", "text", "expected"),
        [
            # Berlin is UTC+2 in summer and UTC+1 in winter; the tz database decides by the date.
            (
                at_utc(7, 15, 12, 0),
                "13:42 Europe/Berlin",
                at_utc(7, 15, 11, 42),
            ),
            (
                at_utc(1, 15, 12, 0),
                "13:42 Europe/Berlin",
                at_utc(1, 14, 12, 42),
            ),
            (NOW, "2026-07-15 13:42 Europe/Berlin", at_utc(7, 15, 11, 42)),
            (NOW, "2026-01-15 13:42 Europe/Berlin", at_utc(1, 15, 12, 42)),
            (NOW, "2026-07-15T13:42 europe/berlin", at_utc(7, 15, 11, 42)),
            # DST starts in Berlin on 2026-03-29 at 01:00Z: yesterday was still winter time.
            (
                at_utc(3, 29, 12, 0),
                "yesterday 13:42 Europe/Berlin",
                at_utc(3, 28, 12, 42),
            ),
            (
                at_utc(3, 29, 12, 0),
                "today 13:42 Europe/Berlin",
                at_utc(3, 29, 11, 42),
            ),
            # At 03:00Z it is still the 28th in Los Angeles: "yesterday" is the 27th there.
            (
                at_utc(11, 29, 3, 0),
                "yesterday 13:42 America/Los_Angeles",
                at_utc(11, 27, 21, 42),
            ),
            # CET and CEST are fixed offsets whatever the season.
            (at_utc(7, 15, 13, 0), "13:42 CET", at_utc(7, 15, 12, 42)),
            (at_utc(7, 15, 13, 0), "13:42 CEST", at_utc(7, 15, 11, 42)),
            (NOW, "2026-11-22 09:00 JST", utc(22, 0, 0)),
            (NOW, "2026-11-22 13:42 NZDT", utc(22, 0, 42)),
            (NOW, "2026-11-22 08:00 America/New_York", utc(22, 13, 0)),
            # The repeated hour is fine once an offset says which one.
            (NOW, "2026-10-25 02:30 +02:00", at_utc(10, 25, 0, 30)),
            (NOW, "2026-10-25 02:30 +01:00", at_utc(10, 25, 1, 30)),
        ],
    )
    def test_zone_names_follow_daylight_saving(self, now: datetime, text: str, expected: datetime) -> None:
        """IANA names use the offset in force on that date; abbreviations are one fixed offset."""
        assert parse_when(text, now) == expected

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("2026-03-29 02:30 Europe/Berlin", "clocks in Europe/Berlin skip it on 2026-03-29"),
            ("2026-10-25 02:30 Europe/Berlin", "happens twice in Europe/Berlin on 2026-10-25"),
        ],
    )
    def test_daylight_saving_gaps_and_repeats_are_refused(self, text: str, fragment: str) -> None:
        """A local time that does not exist, or exists twice, is refused rather than guessed."""
        message = refusal(text)
        assert fragment in message
        assert_lists_forms(message)

    @pytest.mark.parametrize(
        "text",
        ["2026-11-22 14:05", "2027-01-01T00:00Z", "2026-11-22 15:00+00:00", "2026-11-22 14:00 -01:00", "today 15:00"],
    )
    def test_future_is_refused(self, text: str) -> None:
        """A moment after now (beyond the skew) is refused as being in the future."""
        message = refusal(text)
        assert "is in the future" in message and f"`{text}`" in message

    def test_within_clock_skew_is_recorded_as_now(self) -> None:
        """A moment up to the clock skew after now is recorded as now, never in the future."""
        assert parse_when("2026-11-22 14:00:59", NOW) == NOW
        assert "future" in refusal("2026-11-22 14:01:01")

    @pytest.mark.parametrize(
        "text",
        [
            "soon",
            "yesterday",
            "today",
            "tomorrow 13:42",
            "13:99",
            "25:00",
            "24:00",
            "13:42:60",
            "13:03 pm",
            "0:30 am",
            "13",
            "1330",
            "1.30pm",
            "1.30 pm",
            "13.30",
            "13h30",
            "01/02",
            "1/2 13:42",
            "02/01/2026 13:42",
            "2026/11/22 13:42",
            "22.11.2026 13:42",
            "Nov 22 2026 1:42pm",
            "22 Nov 13:42",
            "2026-11-22",
            "2026-13-01 10:00",
            "2026-02-30 10:00",
            "ago",
            "5m",
            "in 5m",
            "now-5m",
            "an hour ago",
            "15 parsecs ago",
            "-5m ago",
            "x" * 20,
            "<@U0123>",
            "13:42 +1",
            "13:42 +123",
            "13:42 UTC+15",
            "13:42 +14:30",
            "13:42 UTC+1:60",
            "13:42 +99:99",
            "13:42 -2400",
            "13:42 EST",
            "13:42 CST",
            "13:42 IST",
            "2026-11-22 13:42 PST",
            "2026-11-22 13:42 BST",
            "13:42 CET+1",
            "13:42 Europe/Nowhere",
            "13:42 Etc/GMT+1",
            "0001-01-01 00:00 +01:00",
            "\u0661\u0663:\u0664\u0662",
        ],
    )
    def test_undocumented_forms_are_refused(self, text: str) -> None:
        """Anything outside the documented grammar is refused, and the refusal lists the forms."""
        assert_lists_forms(refusal(text))

    @pytest.mark.parametrize("text", ["", "   ", "\n\t"])
    def test_empty_is_refused(self, text: str) -> None:
        """No time at all asks for one."""
        message = refusal(text)
        assert message.startswith("`--at` needs a time")
        assert_lists_forms(message)

    def test_overlong_text_is_refused_and_cut(self) -> None:
        """A very long WHEN is refused, quoting only its start."""
        message = refusal("1" * 500)
        # At most 64 characters of what was typed are echoed back.
        assert "1" * 64 + "..." in message and "1" * 65 not in message

    def test_more_than_a_year_ago_is_refused(self) -> None:
        """A relative time beyond a year (366 days) is refused."""
        assert "more than a year ago" in refusal("400 days ago")

    @pytest.mark.parametrize("text", ["13:42 EST", "2026-11-22 13:42 IST", "13:42 pst"])
    def test_ambiguous_zone_abbreviations_name_the_way_out(self, text: str) -> None:
        """Abbreviations used for several zones are refused, suggesting an offset or a place."""
        message = refusal(text)
        assert "names a time zone I cannot be sure of" in message and "`America/New_York`" in message

    def test_etc_names_with_the_posix_sign_are_refused(self) -> None:
        """``Etc/GMT+1`` means UTC-1 in the tz database: refused, pointing at ``UTC+1``."""
        assert "Etc/GMT+1 is UTC-1" in refusal("2026-11-22 13:42 Etc/GMT+1")

    def test_host_zone_names_do_not_matter(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The host's own zone name is not taken as local time: CET is UTC+1 on any server."""
        monkeypatch.setattr(time, "tzname", ("CET", "CEST"))
        assert parse_when("2026-11-22 13:42 CET", NOW) == utc(22, 12, 42)
        assert "names a time zone I cannot be sure of" in refusal("2026-11-22 13:42 EST")


class TestFormatting:
    def test_ensure_utc_marks_naive_as_utc(self) -> None:
        """A naive datetime gets UTC attached without shifting."""
        assert ensure_utc(datetime(2026, 11, 22, 13, 42)) == utc(22, 13, 42)  # noqa: DTZ001

    def test_ensure_utc_converts_aware(self) -> None:
        """An aware datetime is converted to UTC."""
        result = ensure_utc(datetime(2026, 11, 22, 14, 42, tzinfo=timezone(timedelta(hours=1))))
        assert result == utc(22, 13, 42) and result.tzinfo is UTC

    def test_format_utc_and_iso(self) -> None:
        """People read ``2026-11-22 13:42 UTC``; machines read ``2026-11-22T13:42:05Z``."""
        moment = datetime(2026, 11, 22, 14, 42, 5, tzinfo=timezone(timedelta(hours=1)))
        assert (format_utc(moment), format_iso(moment)) == ("2026-11-22 13:42 UTC", "2026-11-22T13:42:05Z")

    def test_year_one_is_written_with_four_digits(self) -> None:
        """Go's zero time is ``0001-01-01T00:00:00Z`` (RFC 3339 section 5.6), not ``1-01-01T00:00:00Z``."""
        zero = datetime(1, 1, 1, tzinfo=UTC)
        assert (format_iso(zero), format_utc(zero)) == ("0001-01-01T00:00:00Z", "0001-01-01 00:00 UTC")
        assert format_iso(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)) == "0999-12-31T23:59:59Z"

    @settings(max_examples=60)
    @given(st.datetimes(timezones=st.just(UTC)))
    def test_format_iso_is_rfc3339_for_every_year(self, moment: datetime) -> None:
        """Every UTC time 1..9999 is written as 20 characters of RFC 3339 that read back as the same second."""
        text = format_iso(moment)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", text), text
        assert datetime.fromisoformat(text.replace("Z", "+00:00")) == moment.replace(microsecond=0)

    @pytest.mark.parametrize(
        ("delta", "text"),
        [
            (timedelta(minutes=8), "8 min"),
            (timedelta(minutes=23), "23 min"),
            (timedelta(minutes=53), "53 min"),
            (timedelta(minutes=63), "1h 3m"),
            (timedelta(minutes=8, seconds=59), "8 min"),
            (timedelta(0), "0 min"),
            (timedelta(minutes=60), "1h 0m"),
            (timedelta(hours=23, minutes=59), "23h 59m"),
            (timedelta(hours=24), "1d 0h"),  # from a whole day on: days and hours
            (timedelta(days=2, hours=4, minutes=30), "2d 4h"),
            (timedelta(minutes=-8), "-8 min"),
        ],
    )
    def test_format_duration(self, delta: timedelta, text: str) -> None:
        """Durations read as minutes, then hours and minutes, then days and hours."""
        assert format_duration(delta) == text


_WHEN_PIECES = st.sampled_from(
    [
        "2026",
        "-11",
        "-22",
        "T",
        " ",
        "13:42",
        ":07",
        "Z",
        "UTC",
        "GMT",
        "EST",
        "+01:00",
        "-14:00",
        "+99:99",
        "15",
        "m",
        "h",
        "d",
        " ago",
        "1.5",
        "0001",
        "9999",
        "12",
        "31",
        "pm",
        "am",
        "Jan",
        "Dec",
        "of",
        "at",
        "yesterday ",
        "today ",
        "now",
        "1h30m",
        "1:03",
        " pm",
        "UTC+1",
        "GMT-05:30",
        "+0530",
        " CET",
        " Europe/Berlin",
        " Etc/GMT+1",
        " EST",
        "T",
        "01/02",
        "\u0663",
        ".",
        ",",
        "/",
    ]
)


_SPELLINGS = st.sampled_from(
    ["UTC{s}{h}", "UTC{s}{hh}", "UTC{s}{hh}{mm}", "UTC{s}{hh}:{mm}", "GMT{s}{h}:{mm}", "{s}{hh}:{mm}", "{s}{hh}{mm}"]
)


class TestProperties:
    @settings(max_examples=examples(300), deadline=None)
    @given(st.one_of(st.text(max_size=40), st.lists(_WHEN_PIECES, max_size=8).map("".join)))
    def test_any_text_is_a_past_utc_moment_or_refused_with_the_forms(self, text: str) -> None:
        """Any text gives an aware UTC datetime not after now, or a TimeParseError listing the forms."""
        try:
            result = parse_when(text, NOW)
        except TimeParseError as error:
            assert_lists_forms(error.user_message)
            return
        assert result.tzinfo is UTC
        assert result <= NOW

    @settings(max_examples=examples(100), deadline=None)
    @given(
        st.integers(-12 * 60, 14 * 60).filter(lambda m: m % 15 == 0),
        _SPELLINGS,
        st.booleans(),
        st.integers(0, 23),
        st.integers(0, 59),
    )
    def test_every_offset_spelling_is_east_positive(
        self, offset_minutes: int, spelling: str, spaced: bool, hour: int, minute: int
    ) -> None:
        """Local time minus the offset is UTC, in every offset spelling, spaced or not."""
        sign = "-" if offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(offset_minutes), 60)
        if minutes and "{mm}" not in spelling:
            spelling += ":{mm}"
        zone = spelling.format(s=sign, h=hours, hh=f"{hours:02d}", mm=f"{minutes:02d}")
        text = f"2026-06-15 {hour:02d}:{minute:02d}{' ' if spaced else ''}{zone}"
        local = datetime(2026, 6, 15, hour, minute, tzinfo=UTC)
        assert parse_when(text, NOW) == local - timedelta(minutes=offset_minutes)

    @settings(max_examples=examples(100), deadline=None)
    @given(st.integers(0, 366 * 24 * 60), st.sampled_from(["m", "min", "mins", "minutes", "minute"]))
    def test_minutes_ago_counts_back_exactly(self, minutes: int, unit: str) -> None:
        """``N minutes ago`` is exactly N minutes before now."""
        assert parse_when(f"{minutes}{unit} ago", NOW) == NOW - timedelta(minutes=minutes)

    @settings(max_examples=examples(100), deadline=None)
    @given(
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(["{H}:{M}", "{h}:{M} {ampm}", "{h}:{M}{ampm}", "{H}:{M} +00:00", "{H}:{M}Z", "{H}:{M} UTC"]),
        # st.datetimes takes naive bounds and attaches the zone itself.
        st.datetimes(datetime(2020, 1, 2), datetime(2030, 12, 30), timezones=st.just(UTC)),  # noqa: DTZ001
    )
    def test_time_of_day_is_within_the_last_day_in_every_spelling(
        self, hour: int, minute: int, spelling: str, now: datetime
    ) -> None:
        """A UTC clock time, however spelled, is today's if past (now if within the skew), else yesterday's."""
        text = spelling.format(H=f"{hour:02d}", M=f"{minute:02d}", h=hour % 12 or 12, ampm="pm" if hour >= 12 else "am")
        result = parse_when(text, now)
        today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if today <= now:
            assert result == today
        elif today <= now + timedelta(seconds=60):
            assert result == now  # a minute of clock skew: recorded as now
        else:
            assert result == today - timedelta(days=1)

    @settings(max_examples=examples(100), deadline=None)
    @given(
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]),
        st.datetimes(datetime(2020, 1, 2), datetime(2030, 12, 30), timezones=st.just(UTC)),  # noqa: DTZ001
    )
    def test_time_of_day_in_a_named_zone(self, hour: int, minute: int, name: str, now: datetime) -> None:
        """``HH:MM Area/City`` is that wall-clock time there within the last day, or a DST refusal."""
        try:
            result = parse_when(f"{hour:02d}:{minute:02d} {name}", now)
        except TimeParseError as error:
            assert "clocks in" in error.user_message or "happens twice" in error.user_message
            return
        zone = ZoneInfo(name)
        local = result.astimezone(zone)
        if (local.hour, local.minute) != (hour, minute):
            # Only a time up to the minute of clock skew ahead may be recorded as now instead.
            intended = now.astimezone(zone).replace(hour=hour, minute=minute, second=0, microsecond=0)
            assert result == now and now < intended.astimezone(UTC) <= now + timedelta(seconds=60)
        assert now - timedelta(days=1, hours=1) < result <= now


TESTER_NOW = at_utc(11, 29, 12, 0)
"""The fresh tester's clock: 2026-11-29 12:00Z."""

UNIT_SPELLINGS = {"d": ["d", " days"], "h": ["h", "hr", " hours"], "m": ["m", "min", " minutes"], "s": ["s", " sec"]}
UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class TestTesterFindings:
    """Findings of the fresh tester on items 4-6 of issue 11, each with its exact value."""

    @pytest.mark.parametrize(
        ("text", "first", "second"),
        [
            ("2026-11-01 01:30 America/New_York", "-04:00", "-05:00"),
            ("2026-04-05 02:30 Australia/Sydney", "+11:00", "+10:00"),
            ("2026-10-25 02:30 Europe/Berlin", "+02:00", "+01:00"),
            ("2026-10-25 01:30 Europe/London", "+01:00", "+00:00"),
            ("2026-04-05 03:00 Pacific/Chatham", "+13:45", "+12:45"),
        ],
    )
    def test_repeated_hour_suggests_the_zones_own_offsets(self, text: str, first: str, second: str) -> None:
        """The hint for a repeated hour gives that zone's two offsets, earlier one first."""
        message = refusal(text)
        assert f"`{first}` for the first time, `{second}` for the second" in message

    @pytest.mark.parametrize(
        ("wall", "name"),
        [
            ("2026-11-01 01:30", "America/New_York"),
            ("2026-11-01 01:59", "America/Los_Angeles"),
            ("2026-04-05 02:30", "Australia/Sydney"),
            ("2026-04-05 01:45", "Australia/Lord_Howe"),
            ("2026-10-25 02:30", "Europe/Berlin"),
            ("2026-04-05 03:00", "Pacific/Chatham"),
        ],
    )
    def test_suggested_offsets_read_back_to_the_two_moments(self, wall: str, name: str) -> None:
        """Each suggested offset, typed instead of the zone, gives one of the two real moments (per zoneinfo)."""
        message = refusal(f"{wall} {name}")
        offsets = re.findall(r"`([+-]\d\d:\d\d)` for the", message)
        assert len(offsets) == 2, message
        moments = [parse_when(f"{wall} {offset}", NOW) for offset in offsets]
        local = datetime.fromisoformat(wall)
        expected = [local.replace(tzinfo=ZoneInfo(name), fold=fold).astimezone(UTC) for fold in (0, 1)]
        assert moments == expected and moments[0] != moments[1]

    def test_absolute_date_decades_ago_is_refused_like_relative(self) -> None:
        """``1970-01-01 00:00`` is refused with the message ``400d ago`` gets."""
        with pytest.raises(TimeParseError) as old:
            parse_when("1970-01-01 00:00", TESTER_NOW)
        with pytest.raises(TimeParseError) as relative:
            parse_when("400d ago", TESTER_NOW)
        phrase = "is more than a year ago (366 days)"
        assert phrase in old.value.user_message and phrase in relative.value.user_message
        assert_lists_forms(old.value.user_message)

    @pytest.mark.parametrize(
        ("text", "refused"),
        [
            ("2025-11-28 11:59", True),
            ("2025-11-28 12:00", False),
            ("2025-11-28 13:00 UTC+1", False),
            ("2025-11-28 12:00 UTC-1", False),
            ("2025-11-28 12:00 UTC+1", True),
            ("2025-11-28T11:59:59Z", True),
        ],
    )
    def test_absolute_limit_is_exactly_366_days(self, text: str, refused: bool) -> None:
        """366 days before 2026-11-29 12:00Z is 2025-11-28 12:00Z: accepted; a moment earlier is refused."""
        if refused:
            with pytest.raises(TimeParseError, match="more than a year ago"):
                parse_when(text, TESTER_NOW)
        else:
            assert parse_when(text, TESTER_NOW) >= datetime(2025, 11, 28, 12, 0, tzinfo=UTC)

    @settings(max_examples=examples(50), deadline=None)
    @given(st.integers(367 * 24 * 60, 60 * 366 * 24 * 60))
    def test_any_absolute_moment_beyond_a_year_is_refused(self, minutes: int) -> None:
        """Every ISO moment more than 366 days back is refused, whatever its zone spelling."""
        moment = TESTER_NOW - timedelta(minutes=minutes)
        with pytest.raises(TimeParseError, match="more than a year ago"):
            parse_when(f"{moment:%Y-%m-%dT%H:%M}Z", TESTER_NOW)

    @pytest.mark.parametrize("text", ["1d2d3d ago", "1h1h ago", "30m30m ago", "30m 1h ago", "5s 1m ago", "1h 2h ago"])
    def test_repeated_or_unordered_units_are_refused(self, text: str) -> None:
        """Each unit at most once, largest first: ``1d2d3d ago`` is not 6 days."""
        message = refusal(text)
        assert "give each unit once, largest first" in message
        assert_lists_forms(message)

    @pytest.mark.parametrize("text", ["0.0001s ago", "1.25h ago", "1.5s ago", "1.5h30m ago", "1h 0.5m ago"])
    def test_fractions_beyond_the_documented_one_are_refused(self, text: str) -> None:
        """Only a lone d/h/m amount with one decimal is read; ``0.0001s ago`` is refused."""
        assert "may have a decimal" in refusal(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1.5h ago", at_utc(11, 29, 10, 30)),
            ("0.5d ago", at_utc(11, 29, 0, 0)),
            ("2.5m ago", datetime(2026, 11, 29, 11, 57, 30, tzinfo=UTC)),
            ("2d 3h ago", at_utc(11, 27, 9, 0)),
            ("1d2h3m4s ago", datetime(2026, 11, 28, 9, 56, 56, tzinfo=UTC)),
        ],
    )
    def test_documented_relative_forms(self, text: str, expected: datetime) -> None:
        """Documented relative forms give these exact moments (now 2026-11-29 12:00Z)."""
        assert parse_when(text, TESTER_NOW) == expected

    @settings(max_examples=examples(60), deadline=None)
    @given(
        st.lists(st.sampled_from("dhms"), min_size=1, max_size=4, unique=True),
        st.lists(st.integers(0, 59), min_size=4, max_size=4),
        st.data(),
    )
    def test_units_once_largest_first_sum_exactly_otherwise_refused(
        self, units: list[str], amounts: list[int], data: st.DataObject
    ) -> None:
        """Any units, any order: in d>h>m>s order they add up exactly; in any other order they are refused."""
        spelled = [
            f"{amount}{data.draw(st.sampled_from(UNIT_SPELLINGS[unit]))}"
            for unit, amount in zip(units, amounts[: len(units)], strict=True)
        ]
        text = " ".join(spelled) + " ago"
        if units == sorted(units, key="dhms".index):
            seconds = sum(
                UNIT_SECONDS[unit] * amount for unit, amount in zip(units, amounts[: len(units)], strict=True)
            )
            assert parse_when(text, TESTER_NOW) == TESTER_NOW - timedelta(seconds=seconds)
        else:
            assert "give each unit once, largest first" in refusal(text)

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("13:00 UTC+5:60", "has an offset with invalid minutes (`60`; 00 to 59)"),
            ("13:00 UTC+05:99", "has an offset with invalid minutes (`99`; 00 to 59)"),
            ("13:00 +05:60", "has an offset with invalid minutes (`60`; 00 to 59)"),
            ("13:00 GMT-0375", "has an offset with invalid minutes (`75`; 00 to 59)"),
            ("13:00 UTC+15", "has an offset beyond UTC-12:00...UTC+14:00"),
            ("13:00 UTC+001", "has an offset I cannot read; write it like `UTC+1`"),
            ("13:00 GMT-12345", "has an offset I cannot read"),
            ("2026/11/28 11:00", "write the date with dashes, `2026-11-28 11:00`"),
            ("2026/1/5 11:00", "write the date with dashes, `2026-01-05 11:00`"),
            ("01/02 13:00", "day/month order is ambiguous; write year-month-day, e.g. `2026-11-22 13:00`"),
            ("01/02", "day/month order is ambiguous; write year-month-day, e.g. `2026-11-22 13:42`"),
        ],
    )
    def test_messages_say_what_is_wrong(self, text: str, fragment: str) -> None:
        """Each malformed time gets the message for its own fault, with the accepted forms."""
        message = refusal(text)
        assert fragment in message
        assert_lists_forms(message)

    def test_suggested_dates_are_themselves_accepted(self) -> None:
        """What the refusals suggest for slashed dates parses (now 2026-11-29)."""
        assert parse_when("2026-11-28 11:00", TESTER_NOW) == at_utc(11, 28, 11, 0)
        assert parse_when("2026-11-22 13:00", TESTER_NOW) == at_utc(11, 22, 13, 0)

    @pytest.mark.parametrize(
        "text",
        [
            "1:42pmUTC+1",
            "1:42 pm UTC+1",
            "1:42pm UTC+1",
            "1:42 pmUTC+1",
            "1:42PMutc+1",
            "13:42UTC+1",
            "1:42pmGMT+01:00",
        ],
    )
    def test_twelve_hour_clock_with_a_glued_zone(self, text: str) -> None:
        """``1:42pmUTC+1`` is 1:42 pm one hour ahead of UTC: 12:42Z the day before (now 12:00Z)."""
        assert parse_when(text, TESTER_NOW) == at_utc(11, 28, 12, 42)

    def test_am_is_not_read_out_of_a_zone_name(self) -> None:
        """``01:30 America/New_York`` is 01:30 in New York, not 1:30 am in zone "erica"."""
        assert parse_when("2026-11-28 01:30 America/New_York", TESTER_NOW) == at_utc(11, 28, 6, 30)
