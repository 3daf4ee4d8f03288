"""The follow-up number after ``followup done|reopen|owner|due|drop|export`` (issue 14, fresh tester): a word
that tries to be a number and is not a whole one is refused, never turned into a new follow-up titled
"done -1"; plain words still add a follow-up."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import AddFollowup, CompleteFollowup, DropFollowup, ExportFollowup, ReopenFollowup
from bot.domain.errors import UsageError
from bot.domain.grammar import parse_command
from tests.support.properties import examples

VERBS = ("done", "reopen", "owner", "due", "drop", "export")
NOT_NUMBERS = ("99999999999999999999", "1234567", "-1", "+2", "\u22121", "2.0", "2.", ".5", "1,5", "#-3", "-0")


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("word", NOT_NUMBERS)
def test_a_number_attempt_is_refused_after_every_verb(verb: str, word: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_command(f"INC-1 followup {verb} {word} x")
    assert refused.value.user_message.startswith(
        f"`{word}` is not a follow-up number: give it as a whole number, e.g. `followup {verb} 1` "
        "(`followups` lists them)."
    )


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("INC-1 followup done 99999999999999999999", "99999999999999999999"),
        ("INC-1 followup done -1", "-1"),
        ("INC-1 followup done 2.0", "2.0"),
    ],
)
def test_the_testers_examples_are_refused(text: str, word: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_command(text)
    assert refused.value.user_message.startswith(
        f"`{word}` is not a follow-up number: give it as a whole number, e.g. `followup done 1`"
    )


@given(
    verb=st.sampled_from(VERBS),
    sign=st.sampled_from(["", "-", "+"]),
    whole=st.integers(min_value=0, max_value=10**25),
    fraction=st.sampled_from(["", ".", ".0", ".25", ",5"]),
)
@settings(max_examples=examples(40))
def test_every_number_attempt_is_a_change_or_refused_never_a_new_follow_up(
    verb: str, sign: str, whole: int, fraction: str
) -> None:
    word = f"{sign}{whole}{fraction}"
    try:
        command = parse_command(f"INC-1 followup {verb} {word} @bob 2026-12-15").action
    except UsageError:
        return
    assert not isinstance(command, AddFollowup)
    assert (sign, fraction) == ("", "") and whole < 10**6


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("INC-1 followup done 2", CompleteFollowup(2)),
        ("INC-1 followup reopen #3 flapping", ReopenFollowup(3, "flapping")),
        ("INC-1 followup export 999999", ExportFollowup(999999)),
        ("INC-1 followup drop 4 dup", DropFollowup(4, "dup")),
        ("INC-1 followup drop the legacy cache", AddFollowup("drop the legacy cache")),
        ("INC-1 followup done deal with the queue", AddFollowup("done deal with the queue")),
        ("INC-1 followup due diligence on vendors", AddFollowup("due diligence on vendors")),
        ("INC-1 followup export v2 dashboards", AddFollowup("export v2 dashboards")),
        ("INC-1 followup drop 3pm cron job", AddFollowup("drop 3pm cron job")),
    ],
)
def test_whole_numbers_change_and_words_add(typed: str, expected: object) -> None:
    assert parse_command(typed).action == expected
