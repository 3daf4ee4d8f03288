"""Numbers typed where a whole number is expected: a character that str.isdigit() accepts but int() does
not (superscript ², circled ①, subscript ₀, U+1F105 "digit five comma") is refused with the option's
message, never int()'s ValueError; the full-width five (U+FF15) that int() reads is read."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from bot.cli.main import _item_id, _limit, _port
from bot.errors import UsageError
from bot.views.reports import natural_key
from bot.views.reports import parse_since as _since

LOOKALIKES = ["\u00b2", "5\u00b2", "\u2460", "\u2075", "5\u2080", "\U0001f105"]
OPTIONS: list[Callable[[str], object]] = [_port, _limit, _item_id]


@pytest.mark.parametrize("parse", OPTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("text", LOOKALIKES)
def test_cli_numbers_refuse_digit_lookalikes_with_their_message(parse: Callable[[str], object], text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_since_refuses_digit_lookalikes_as_a_period(text: str) -> None:
    with pytest.raises(UsageError) as refused:
        _since(f"{text}d")
    assert refused.value.user_message == f"`--since {text}d` is not a period; use e.g. 90d, 12w or 6m."


def test_full_width_digits_are_the_numbers_they_show() -> None:
    assert (_port("\uff18\uff10"), _limit("\uff15"), _item_id("#\uff17"), _since("\uff19\uff10d").days) == (
        80,
        5,
        7,
        90,
    )


@pytest.mark.parametrize("text", LOOKALIKES)
def test_natural_sort_keeps_lookalikes_as_text(text: str) -> None:
    """Service names sort with digit runs read as numbers; a superscript is text (it crashed the report)."""
    ordered = sorted([f"edge-{text}", "edge-10", "edge-9"], key=natural_key)
    assert ordered.index("edge-9") < ordered.index("edge-10") and f"edge-{text}" in ordered
