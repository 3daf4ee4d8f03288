"""A change event's text fields: what cannot be stored is refused naming the field and the reason, word
for word (NUL: PostgreSQL's text refuses it; an unpaired surrogate has no UTF-8 form)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.changes import parse_change, parse_timestamp, unstorable
from bot.domain.errors import PayloadError

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


def change_body(**fields: Any) -> dict[str, Any]:
    return {"service": "cdn-edge", "description": "Deploy v1.2.3", "author": "ci-bot"} | fields


def refusal(body: dict[str, Any]) -> str:
    with pytest.raises(PayloadError) as raised:
        parse_change(body, NOW)
    return raised.value.user_message


class TestUnstorable:
    @pytest.mark.parametrize("text", ["\x00", "a\x00b", "deploy\x00"])
    def test_nul(self, text: str) -> None:
        assert unstorable(text) == "must not contain the NUL character (U+0000)"

    @pytest.mark.parametrize("surrogate", ["\ud800", "\udbff", "\udc00", "\udfff"])
    def test_unpaired_surrogates_from_first_to_last(self, surrogate: str) -> None:
        """U+D800 to U+DFFF, both ends included."""
        assert unstorable(f"v1{surrogate}") == "contains an unpaired surrogate (invalid Unicode)"

    @pytest.mark.parametrize("text", ["", "Deploy v1.2.3", "\ud7ff\ue000", "\U0001f680 shipped", "XX", "tab\tok"])
    def test_storable(self, text: str) -> None:
        """Around the surrogate range, an emoji (a real pair in Python is one code point), plain text."""
        assert unstorable(text) is None


class TestFieldRefusals:
    @pytest.mark.parametrize("field", ["description", "author", "link"])
    def test_nul_in_a_field(self, field: str) -> None:
        value = "https://ci.example.com/\x00" if field == "link" else "v1\x00"
        assert refusal(change_body(**{field: value})) == f"`{field}` must not contain the NUL character (U+0000)."

    @pytest.mark.parametrize("field", ["description", "author"])
    def test_surrogate_in_a_field(self, field: str) -> None:
        assert refusal(change_body(**{field: "v1\udc80"})) == (
            f"`{field}` contains an unpaired surrogate (invalid Unicode)."
        )

    @pytest.mark.parametrize("value", [None, "", "   "])
    def test_description_is_required(self, value: str | None) -> None:
        body = change_body()
        if value is None:
            del body["description"]
        else:
            body["description"] = value
        assert refusal(body) == "`description` is required."

    @pytest.mark.parametrize("value", [None, "", "  "])
    def test_author_defaults_to_unknown(self, value: str | None) -> None:
        body = change_body()
        if value is None:
            del body["author"]
        else:
            body["author"] = value
        assert parse_change(body, NOW).author == "unknown"

    def test_out_of_range_time_is_quoted_to_40_characters(self) -> None:
        """A time that an offset moves past year 9999 is quoted as typed, at most its first 40 characters."""
        value = "9999-12-31T23:59:59-01:00"
        long_value = "9999-12-31T23:59:59.000000000000000000-01:00"
        assert len(long_value) > 40
        with pytest.raises(PayloadError) as raised:
            parse_timestamp(long_value, "time")
        assert raised.value.user_message == "`time` is out of range: '9999-12-31T23:59:59.000000000000000000-0'."
        with pytest.raises(PayloadError) as raised:
            parse_timestamp(value, "time")
        assert raised.value.user_message == "`time` is out of range: '9999-12-31T23:59:59-01:00'."
