"""CI/CD change events in the pure core (bot.domain.changes): validation, times in UTC, the recent changes
before a declaration, and how a change is described."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.changes import ChangeEvent, describe_change, parse_change, parse_timestamp, recent_changes
from bot.domain.errors import PayloadError
from tests.support.incidents import at


class TestChangeEvents:
    @settings(max_examples=60, deadline=None)
    @given(
        field=st.sampled_from([("author", 256), ("description", 2000), ("link", 2000)]),
        length=st.integers(1, 2100),
        left=st.text(alphabet=" \t\n\r", max_size=5),
        right=st.text(alphabet=" \t\n\r", max_size=5),
    )
    def test_lengths_are_checked_after_trimming(
        self, field: tuple[str, int], length: int, left: str, right: str
    ) -> None:
        """A value padded with whitespace is accepted iff its trimmed text is within the field's limit
        (author 256, description and link 2000, README), and stored trimmed."""
        name, limit = field
        core = ("https://ci.example.com/" + "x" * length)[:length] if name == "link" else "a" * length
        if name == "link" and length < len("https://"):
            return  # not a URL at all: another rule
        body = {"service": "cdn-edge", "description": "WAF rule 12", name: left + core + right}
        try:
            change = parse_change(body, at(0))
        except PayloadError as exc:
            assert length > limit and f"`{name}` must be a string of at most {limit} characters." == exc.user_message
        else:
            assert length <= limit and getattr(change, name) == core

    def test_body_is_validated_and_time_defaults_to_now(self) -> None:
        """service, description required; author optional; link must be http(s)."""
        change = parse_change({"service": "cdn-edge", "description": "WAF rule 12"}, at(0))
        assert change == ChangeEvent("cdn-edge", "WAF rule 12", "unknown", at(0), "")
        with pytest.raises(PayloadError, match="description"):
            parse_change({"service": "cdn-edge"}, at(0))
        with pytest.raises(PayloadError, match="link"):
            parse_change({"service": "cdn-edge", "description": "x", "link": "javascript:alert(1)"}, at(0))
        with pytest.raises(PayloadError, match="future"):
            parse_change({"service": "cdn-edge", "description": "x", "time": "2030-01-01T00:00:00Z"}, at(0))

    def test_offsets_become_utc(self) -> None:
        """RFC 3339 with an offset is stored as UTC; a naive time is refused."""
        assert parse_timestamp("2026-11-22T14:30:00+01:00", "time") == datetime(2026, 11, 22, 13, 30, tzinfo=UTC)
        assert parse_timestamp("2026-11-22T14:30:00.5+01:00", "time") == datetime(
            2026, 11, 22, 13, 30, 0, 500000, tzinfo=UTC
        )
        assert parse_timestamp("2026-11-22T13:30:00.123456789Z", "time").microsecond == 123456
        with pytest.raises(PayloadError, match="zone"):
            parse_timestamp("2026-11-22T14:30:00", "time")

    def test_recent_changes_are_the_two_hours_before_declaration(self) -> None:
        """Same service, within 2 h before the declaration: oldest first; others are left out."""
        changes = [
            ChangeEvent("cdn-edge", "WAF", "carol", at(-12)),
            ChangeEvent("cdn-edge", "old", "bob", at(-121)),
            ChangeEvent("search", "index", "dave", at(-5)),
            ChangeEvent("cdn-edge", "after", "x", at(5)),
            ChangeEvent("cdn-edge", "TLS", "erin", at(-90)),
        ]
        assert [c.description for c in recent_changes(changes, "cdn-edge", at(0))] == ["TLS", "WAF"]


class TestChangeEventsExactly:
    """Every refusal of a `POST /changes` body, word for word, and the edges of what is accepted."""

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (["not", "an", "object"], "The body must be a JSON object."),
            ({"description": "x"}, "`service` is required."),
            ({"service": "", "description": "x"}, "`service` is required."),
            (
                {"service": "CDN Edge!", "description": "x"},
                "`service` must be a service name (lowercase a-z, 0-9, '.', '_', '-').",
            ),
            ({"service": 5, "description": "x"}, "`service` must be a string of at most 2000 characters."),
            ({"service": "cdn-edge", "description": ""}, "`description` is required."),
            (
                {"service": "cdn-edge", "description": "x" * 2001},
                "`description` must be a string of at most 2000 characters.",
            ),
            (
                {"service": "cdn-edge", "description": "x", "time": "yesterday"},
                "`time` is not an RFC 3339 timestamp: 'yesterday'.",
            ),
            ({"service": "cdn-edge", "description": "x", "time": 1700000000}, "`time` must be an RFC 3339 timestamp."),
            ({"service": "cdn-edge", "description": "x", "link": "ftp://ci/42"}, "`link` must be an http(s) URL."),
            ({"service": "cdn-edge", "description": "x", "time": "2026-11-22T13:47:01Z"}, "`time` is in the future."),
        ],
    )
    def test_refusals_say_what_is_wrong(self, body: object, message: str) -> None:
        """Each bad body is refused with a message naming the field (now is 13:42; 5 min of clock skew allowed)."""
        with pytest.raises(PayloadError) as raised:
            parse_change(body, at(0))
        assert raised.value.user_message == message

    def test_fields_of_exactly_2000_characters_are_accepted(self) -> None:
        """The limit is inclusive: a 2,000-character description is kept whole."""
        assert parse_change({"service": "cdn-edge", "description": "x" * 2000}, at(0)).description == "x" * 2000

    def test_long_bad_time_is_quoted_to_40_characters(self) -> None:
        """A long unparsable time is quoted only in part: its first 40 characters."""
        value = "0123456789" * 5
        with pytest.raises(PayloadError) as raised:
            parse_change({"service": "cdn-edge", "description": "x", "time": value}, at(0))
        assert raised.value.user_message == f"`time` is not an RFC 3339 timestamp: '{'0123456789' * 4}'."

    @pytest.mark.parametrize("link", ["http://ci/42", "https://ci.example/42"])
    def test_full_body_is_kept(self, link: str) -> None:
        """All fields are kept, trimmed; a time 5 min ahead (clock skew) is accepted; both URL schemes are."""
        body = {"service": "cdn-edge", "description": " WAF rule 12 ", "author": "erin", "link": link}
        change = parse_change({**body, "time": "2026-11-22T13:47:00Z"}, at(0))
        assert change == ChangeEvent("cdn-edge", "WAF rule 12", "erin", at(5), link)

    def test_lowercase_z_is_utc(self) -> None:
        """RFC 3339 allows a lowercase z for UTC."""
        assert parse_timestamp("2026-11-22T13:30:00z", "time") == datetime(2026, 11, 22, 13, 30, tzinfo=UTC)

    def test_window_includes_both_ends(self) -> None:
        """A change exactly 2 h before the declaration and one at the declaration are both suspects."""
        changes = [ChangeEvent("cdn-edge", "edge", "a", at(-120)), ChangeEvent("cdn-edge", "now", "b", at(0))]
        assert [c.description for c in recent_changes(changes, "cdn-edge", at(0))] == ["edge", "now"]

    @pytest.mark.parametrize(
        ("link", "line"),
        [
            ("", "13:22 cdn-edge: WAF rule 12 by erin"),
            ("https://ci/42", "13:22 cdn-edge: WAF rule 12 by erin (https://ci/42)"),
        ],
    )
    def test_description_line(self, link: str, line: str) -> None:
        """Time (UTC), service, description, author, and the link in brackets when there is one."""
        assert describe_change(ChangeEvent("cdn-edge", "WAF rule 12", "erin", at(-20), link)) == line
