"""``--at WHEN``: each refusal's reason word for word (naming what was typed), and the bounds of each limit.

Every refusal ends with the list of accepted forms (tests/unit/test_timeparse.py checks that list); here
only the reason before it is compared, written out from the module docstring's rules.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.errors import TimeParseError
from bot.domain.timeparse import parse_when

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


def reason(text: str, now: datetime = NOW) -> str:
    """The refusal of ``text`` without the accepted forms that follow it."""
    with pytest.raises(TimeParseError) as raised:
        parse_when(text, now)
    message = raised.value.user_message
    head, separator, _ = message.partition(" Accepted: `now`")
    assert separator, f"the refusal does not end with the accepted forms: {message!r}"
    return head


class TestClockRefusals:
    @pytest.mark.parametrize("text", ["1:60 pm", "1:75pm", "13 pm", "0 am", "0:30 am", "12:60 am"])
    def test_not_a_12_hour_time(self, text: str) -> None:
        """Hours 1 to 12, minutes 00 to 59."""
        assert reason(text) == f"`{text}` is not a 12-hour time (1:00 am to 12:59 pm)."

    @pytest.mark.parametrize("text", ["13:60", "24:00", "23:59:60", "13:75 UTC", "2026-11-22 13:60"])
    def test_not_a_time_of_day(self, text: str) -> None:
        """Hours 00 to 23, minutes and seconds 00 to 59."""
        assert reason(text) == f"`{text}` is not a time of day (00:00 to 23:59:59)."

    @pytest.mark.parametrize(("text", "expected"), [("1:59 pm", 13), ("12:59 am", 0)])
    def test_minute_59_is_a_12_hour_time(self, text: str, expected: int) -> None:
        assert parse_when(text, NOW) == datetime(2026, 11, 22, expected, 59, tzinfo=UTC)

    @pytest.mark.parametrize("text", ["2026-02-30 13:42", "2026-13-01 13:42", "2026-00-10T13:42Z"])
    def test_not_a_date(self, text: str) -> None:
        assert reason(text) == f"`{text[:10]}` is not a date."


class TestZoneRefusals:
    @pytest.mark.parametrize("text", ["13:42 UTC+01:75", "13:42 GMT-0260", "13:42+01:60", "13:42 -0075"])
    def test_offset_minutes_beyond_59(self, text: str) -> None:
        minutes = text[-2:]
        assert reason(text) == f"`{text}` has an offset with invalid minutes (`{minutes}`; 00 to 59)."

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("13:42 UTC+00:59", datetime(2026, 11, 22, 12, 43, tzinfo=UTC)),
            ("13:42+05:45", datetime(2026, 11, 22, 7, 57, tzinfo=UTC)),  # Nepal
            ("12:42 -00:59", datetime(2026, 11, 22, 13, 41, tzinfo=UTC)),
        ],
    )
    def test_offset_minutes_up_to_59(self, text: str, expected: datetime) -> None:
        assert parse_when(text, NOW) == expected

    @pytest.mark.parametrize("text", ["13:42 EST", "13:42 IST", "13:42 PST", "13:42 foo"])
    def test_ambiguous_or_unknown_abbreviation(self, text: str) -> None:
        assert reason(text) == (
            f"`{text}` names a time zone I cannot be sure of; write it in UTC, with an offset like `+01:00`, "
            "or as a place like `America/New_York`."
        )

    @pytest.mark.parametrize("zone", ["Europe/Atlantis", "Mars/Olympus_Mons"])
    def test_unknown_tz_database_name(self, zone: str) -> None:
        assert reason(f"13:42 {zone}") == f"`{zone}` is not a time zone of the tz database (like `Europe/Berlin`)."

    @pytest.mark.parametrize("text", ["13:42 UTC+1x", "13:42 utc+"])
    def test_unreadable_offset(self, text: str) -> None:
        assert reason(text) == (f"`{text}` has an offset I cannot read; write it like `UTC+1`, `UTC+01:00` or `+0100`.")

    @pytest.mark.parametrize(
        ("text", "now"),
        [
            # Berlin skips 02:00-03:00 on 2026-03-29 (CET -> CEST).
            ("2026-03-29 02:30 Europe/Berlin", datetime(2026, 4, 1, 12, 0, tzinfo=UTC)),
            ("today 02:30 Europe/Berlin", datetime(2026, 3, 29, 12, 0, tzinfo=UTC)),
            ("yesterday 02:30 Europe/Berlin", datetime(2026, 3, 30, 12, 0, tzinfo=UTC)),
            ("02:30 Europe/Berlin", datetime(2026, 3, 29, 12, 0, tzinfo=UTC)),  # today's
            # 02:10 CEST on the 30th: today's 02:30 is still ahead, so yesterday's, which was skipped.
            ("02:30 Europe/Berlin", datetime(2026, 3, 30, 0, 10, tzinfo=UTC)),
        ],
    )
    def test_a_skipped_local_time_names_what_was_typed(self, text: str, now: datetime) -> None:
        assert reason(text, now) == f"`{text}` does not exist: clocks in Europe/Berlin skip it on 2026-03-29."

    @pytest.mark.parametrize("text", ["9999-12-31 23:30-05:00", "0001-01-01 00:30+01:00"])
    def test_outside_the_calendar(self, text: str) -> None:
        """A wall-clock time whose UTC moment is before year 1 or after year 9999."""
        assert reason(text) == f"`{text}` is outside the calendar."


class TestHowFarBack:
    @pytest.mark.parametrize("text", ["367d ago", "366d 1s ago", "8785h ago", "2025-11-21 13:59", "2025-11-21 13:59Z"])
    def test_more_than_366_days_ago(self, text: str) -> None:
        assert reason(text) == f"`{text}` is more than a year ago (366 days); `--at` backdates within the last year."

    @pytest.mark.parametrize("text", ["366d ago", "8784h ago", "2025-11-21 14:00"])
    def test_exactly_366_days_ago_is_accepted(self, text: str) -> None:
        assert parse_when(text, NOW) == datetime(2025, 11, 21, 14, 0, tzinfo=UTC)

    @pytest.mark.parametrize("text", ["1.5s ago", "1h 0.5m ago", "1.25h ago", "0.5d 1h ago"])
    def test_decimals_only_on_a_lone_day_hour_or_minute(self, text: str) -> None:
        assert reason(text) == (
            f"`{text}` is not a time I understand: only a lone day, hour or minute amount may have a decimal, "
            "and only one (`1.5h ago`); otherwise combine whole units (`1h30m ago`)."
        )


class TestLength:
    def test_64_characters_are_read_65_are_not(self) -> None:
        """WHEN is read up to 64 characters (after runs of spaces become one); longer is refused, quoted to 64."""
        longest = "0" * 58 + "1m ago"  # leading zeros are digits of the amount
        assert len(longest) == 64
        assert parse_when(longest, NOW) == datetime(2026, 11, 22, 13, 59, tzinfo=UTC)
        assert reason("0" + longest) == f"`{'0' * 59 + '1m ag'}...` is not a time I understand."
