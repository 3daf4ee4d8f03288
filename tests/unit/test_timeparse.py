"""Parsing ``--at WHEN`` into aware UTC datetimes, and formatting times and durations for people."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import TimeParseError
from bot.domain.timeparse import (
    CLOCK_SKEW,
    MAX_WHEN_LENGTH,
    ensure_utc,
    format_duration,
    format_iso,
    format_utc,
    parse_when,
)

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def refusal(text: str) -> str:
    with pytest.raises(TimeParseError) as raised:
        parse_when(text, NOW)
    return raised.value.user_message


class TestParseWhen:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("13:42", utc(22, 13, 42)),
            ("13:42:30", utc(22, 13, 42, 30)),
            ("2026-11-22 13:42 UTC", utc(22, 13, 42)),
            ("2026-11-22T13:42Z", utc(22, 13, 42)),
            ("2026-11-22T13:42:00+00:00", utc(22, 13, 42)),
            ("2026-11-21 23:59 GMT", utc(21, 23, 59)),
            ("  2026-11-22   13:42  ", utc(22, 13, 42)),
            ("14:00", NOW),
        ],
    )
    def test_absolute_examples(self, text: str, expected: datetime) -> None:
        """The documented absolute forms give the intended UTC moment."""
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
        ],
    )
    def test_relative_examples(self, text: str, expected: datetime) -> None:
        """``N<unit> ago`` counts back from now in seconds, minutes, hours or days."""
        assert parse_when(text, NOW) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("15:00", utc(21, 15, 0)),
            ("23:59 UTC", utc(21, 23, 59)),
            ("14:05z", utc(21, 14, 5)),
            ("14:01", utc(22, 14, 1)),
        ],
    )
    def test_time_of_day_means_its_latest_past_occurrence(self, text: str, expected: datetime) -> None:
        """A time of day later than now (beyond the clock skew) is yesterday's."""
        assert parse_when(text, NOW) == expected

    def test_time_of_day_after_midnight(self) -> None:
        """Just after midnight, an evening time is the previous day's, across a month boundary."""
        assert parse_when("23:30", datetime(2026, 12, 1, 0, 10, tzinfo=UTC)) == utc(30, 23, 30)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-22 13:42", utc(22, 13, 42)),
            ("2026-11-22T13:42:00", utc(22, 13, 42)),
            ("Nov 22 2026 1:42pm", utc(22, 13, 42)),
        ],
    )
    def test_naive_times_are_utc(self, text: str, expected: datetime) -> None:
        """A time without a zone is taken as UTC and returned aware."""
        result = parse_when(text, NOW)
        assert result == expected and result.utcoffset() == timedelta(0)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-22 13:42+01:00", utc(22, 12, 42)),
            ("2026-11-22T08:12:00+05:30", utc(22, 2, 42)),
            ("2026-11-22 08:00 -05:00", utc(22, 13, 0)),
            ("2026-11-22T12:42:00-0100", utc(22, 13, 42)),
        ],
    )
    def test_offsets_are_converted_to_utc(self, text: str, expected: datetime) -> None:
        """Numeric offsets are honoured and the result is in UTC."""
        result = parse_when(text, NOW)
        assert result == expected and result.tzinfo is UTC

    @pytest.mark.parametrize(
        "text",
        ["2026-11-22 14:05", "2026-11-23", "2027-01-01T00:00Z", "2026-11-22 15:00+00:00", "2026-11-22 14:00 -01:00"],
    )
    def test_future_is_refused(self, text: str) -> None:
        """A moment after now (beyond the skew) is refused as being in the future."""
        message = refusal(text)
        assert "is in the future" in message and f"`{text}`" in message

    def test_within_clock_skew_is_accepted(self) -> None:
        """A moment up to the clock skew after now is accepted as now-ish."""
        assert parse_when("2026-11-22 14:00:59", NOW) == NOW + timedelta(seconds=59)
        assert "future" in refusal("2026-11-22 14:01:01")

    @pytest.mark.parametrize(
        "text",
        [
            "soon",
            "yesterday",
            "now",
            "13:99",
            "25:00",
            "2026-13-01",
            "ago",
            "15 parsecs ago",
            "-5m ago",
            "2026-02-30",
            "x" * 20,
            "<@U0123>",
        ],
    )
    def test_garbage_is_refused(self, text: str) -> None:
        """Text that is not a time is refused with the accepted examples."""
        message = refusal(text)
        assert "is not a time I understand" in message and "`15m ago`" in message

    @pytest.mark.parametrize("text", ["", "   ", "\n\t"])
    def test_empty_is_refused(self, text: str) -> None:
        """No time at all asks for one."""
        assert refusal(text).startswith("`--at` needs a time")

    def test_overlong_text_is_refused_and_cut(self) -> None:
        """A very long WHEN is refused, quoting only its start."""
        message = refusal("1" * 500)
        assert "1" * MAX_WHEN_LENGTH + "..." in message and "1" * (MAX_WHEN_LENGTH + 1) not in message

    def test_more_than_a_year_ago_is_refused(self) -> None:
        """A relative time beyond a year asks for an absolute date."""
        assert "more than a year ago" in refusal("400 days ago")

    @pytest.mark.parametrize(
        "text", ["13:42 EST", "13:42 CET", "2026-11-22 13:42 PST", "2026-11-22 13:42 BST", "13:42 IST"]
    )
    def test_unknown_zone_names_are_refused(self, text: str) -> None:
        """Zone abbreviations other than UTC/GMT/Z are ambiguous and refused."""
        assert "names a time zone I cannot be sure of" in refusal(text)

    def test_host_zone_names_are_refused_too(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The host's own zone name (which dateutil maps to local time) is refused, not taken as local."""
        monkeypatch.setattr(time, "tzname", ("CET", "CEST"))
        assert "names a time zone I cannot be sure of" in refusal("2026-11-22 13:42 CET")

    @pytest.mark.parametrize(
        "text", ["0001-01-01 00:00 +01:00", "9999-12-31 23:59 -01:00", "13:42 +99:99", "13:42 -2400"]
    )
    def test_unrepresentable_moments_are_refused(self, text: str) -> None:
        """Offsets of a day or more and dates off the calendar's ends are refused, not crashed on."""
        with pytest.raises(TimeParseError):
            parse_when(text, NOW)


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
        "yesterday",
        "\u0663",
        ".",
        ",",
        "/",
    ]
)


class TestProperties:
    @settings(max_examples=1000, deadline=None)
    @given(st.one_of(st.text(max_size=40), st.lists(_WHEN_PIECES, max_size=8).map("".join)))
    def test_any_text_is_a_past_utc_moment_or_refused(self, text: str) -> None:
        """Any text gives an aware UTC datetime no later than now plus skew, or a TimeParseError."""
        try:
            result = parse_when(text, NOW)
        except TimeParseError as error:
            assert error.user_message
            return
        assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
        assert result <= NOW + CLOCK_SKEW

    @settings(max_examples=300, deadline=None)
    @given(st.integers(0, 366 * 24 * 60), st.sampled_from(["m", "min", "mins", "minutes", "minute"]))
    def test_minutes_ago_counts_back_exactly(self, minutes: int, unit: str) -> None:
        """``N minutes ago`` is exactly N minutes before now."""
        assert parse_when(f"{minutes}{unit} ago", NOW) == NOW - timedelta(minutes=minutes)

    @settings(max_examples=300, deadline=None)
    @given(
        st.integers(0, 23),
        st.integers(0, 59),
        # st.datetimes takes naive bounds and attaches the zone itself.
        st.datetimes(datetime(2020, 1, 2), datetime(2030, 12, 30), timezones=st.just(UTC)),  # noqa: DTZ001
    )
    def test_time_of_day_is_within_the_last_day(self, hour: int, minute: int, now: datetime) -> None:
        """HH:MM alone is that clock time, within the 24 hours up to now (plus skew)."""
        result = parse_when(f"{hour:02d}:{minute:02d}", now)
        assert (result.hour, result.minute, result.second) == (hour, minute, 0)
        assert now - timedelta(days=1) + CLOCK_SKEW < result <= now + CLOCK_SKEW
