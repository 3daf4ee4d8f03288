"""The grammar of ``correct <entry#> [text] [--at WHEN]`` and ``strike <entry#> <reason>`` (issue 16)."""

from __future__ import annotations

import pytest

from bot.domain.commands import CorrectEntry, ParsedCommand, StrikeEntry
from bot.domain.errors import UsageError
from bot.domain.grammar import help_text, parse_command

CORRECT_USAGE = "correct <entry#> [new text] [--at WHEN] (the entry numbers are in `timeline`)"
STRIKE_USAGE = "strike <entry#> <reason> (drops a wrong note, pinned message or impact from the views)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("correct 5 edge CPU at 90%", ParsedCommand(CorrectEntry(5, "edge CPU at 90%"))),
        ("correct #5 --at 13:48", ParsedCommand(CorrectEntry(5, ""), at="13:48")),
        (
            "INC-7 correct 12 rolled back at the edge --at 14:30",
            ParsedCommand(CorrectEntry(12, "rolled back at the edge"), 7, "14:30"),
        ),
        ("CORRECT 3 x", ParsedCommand(CorrectEntry(3, "x"))),
        ("strike 9 posted in the wrong incident", ParsedCommand(StrikeEntry(9, "posted in the wrong incident"))),
        ("INC-2 strike #4 duplicate", ParsedCommand(StrikeEntry(4, "duplicate"), 2)),
    ],
)
def test_parses(text: str, expected: ParsedCommand) -> None:
    """The entry number (with or without ``#``), the text, ``--at`` (kept raw for the use case) and the incident."""
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "usage"),
    [
        (
            "correct 5",
            "`correct 5` needs the new text, a new time (`--at WHEN`), or both, e.g. `correct 5 --at 13:48`.",
            CORRECT_USAGE,
        ),
        ("correct", "`correct` needs the entry's number from `timeline`, e.g. `correct 5`.", CORRECT_USAGE),
        (
            "correct five x",
            "`five` is not an entry number; `correct` needs the entry's number from `timeline`, e.g. `correct 5`.",
            CORRECT_USAGE,
        ),
        ("strike 5", "`strike` needs a reason, e.g. `strike 5 posted in the wrong incident`.", STRIKE_USAGE),
        (
            "strike -1 oops",
            "`-1` is not an entry number; `strike` needs the entry's number from `timeline`, e.g. `strike 5`.",
            STRIKE_USAGE,
        ),
        (
            "strike 5 wrong --at 13:00",
            "`strike` takes no `--at`: it is recorded when you strike. To move an entry, `correct <entry#> --at WHEN`.",
            STRIKE_USAGE,
        ),
    ],
)
def test_refusals(text: str, message: str, usage: str) -> None:
    """Each malformed form is refused with what to type instead and the verb's usage."""
    with pytest.raises(UsageError) as raised:
        parse_command(text)
    assert (raised.value.user_message, raised.value.usage) == (message, usage)


def test_help_lists_both_verbs() -> None:
    """``help`` shows the two new lines; ``help correct`` the one."""
    assert f"`/incident {CORRECT_USAGE}`" in help_text() and f"`/incident {STRIKE_USAGE}`" in help_text()
    assert help_text("correct") == f"Usage: `/incident {CORRECT_USAGE}`"
