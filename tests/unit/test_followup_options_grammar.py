"""Options and the follow-up verbs: which verb takes ``--due`` and ``--at``, and every near-miss spelling of
an option (``-due``, ``\u2013 due tomorrow``) refused with a hint instead of kept as text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import (
    AddFollowup,
    AddNote,
    AssignFollowup,
    CompleteFollowup,
    DropFollowup,
    ExportFollowup,
    ReopenFollowup,
    RescheduleFollowup,
    UserRef,
)
from bot.domain.errors import UsageError
from bot.domain.grammar import parse_command
from bot.domain.timeparse import DueDate
from tests.support.properties import examples, settings

FOLLOWUP_USAGE = (
    "followup <text> [@owner] [--due DATE] | followup done <n> [note] | followup reopen <n> [reason] | "
    "followup owner <n> @user | followup due <n> DATE | followup drop <n> <reason> | followup export <n>"
)
BOB = UserRef("U0BOB", "bob")
SEVEN_DAYS = DueDate("+7d", days_ahead=7)

# Every follow-up verb, as typed without options, and what it parses to.
VERBS = {
    "add": ("followup canary <@U0BOB|bob>", AddFollowup("canary", BOB)),
    "done": ("followup done 1", CompleteFollowup(1)),
    "reopen": ("followup reopen 1", ReopenFollowup(1)),
    "owner": ("followup owner 1 <@U0BOB|bob>", AssignFollowup(1, BOB)),
    "due": ("followup due 1 +7d", RescheduleFollowup(1, SEVEN_DAYS)),
    "drop": ("followup drop 1 covered by #2", DropFollowup(1, "covered by #2")),
    "export": ("followup export 1", ExportFollowup(1)),
}


def refusal(text: str, names: bool = False) -> UsageError:
    with pytest.raises(UsageError) as raised:
        parse_command(text, names=names)
    return raised.value


def takes_no_due(verb: str) -> str:
    return (
        f"`followup {verb}` takes no `--due`: only a new follow-up does (`followup <text> [@owner] --due DATE`); "
        "to move follow-up #1's date, `followup due 1 DATE`."
    )


class TestEveryOptionOnEveryFollowupVerb:
    @pytest.mark.parametrize("verb", list(VERBS))
    def test_at_backdates_every_followup_verb(self, verb: str) -> None:
        """Every follow-up verb changes an incident, so each takes ``--at``."""
        typed, action = VERBS[verb]
        command = parse_command(f"INC-7 {typed} --at 15m ago")
        assert (command.action, command.incident_number, command.at) == (action, 7, "15m ago")

    @pytest.mark.parametrize(
        ("verb", "message"),
        [
            ("done", takes_no_due("done")),
            ("reopen", takes_no_due("reopen")),
            ("owner", takes_no_due("owner")),
            ("drop", takes_no_due("drop")),
            ("export", takes_no_due("export")),
            ("due", "`followup due` takes the date without `--due`: `followup due 1 +7d 2026-12-01`."),
        ],
    )
    @pytest.mark.parametrize("flag", ["--due", "--DUE", "\u2014due", "\u2013due"])
    def test_due_is_refused_by_every_change_verb(self, verb: str, message: str, flag: str) -> None:
        """``--due`` (in each spelling the add form takes) on a change of follow-up ``<n>`` is refused, never
        kept as the note, the reason or the owner."""
        error = refusal(f"{VERBS[verb][0]} {flag} 2026-12-01")
        assert (error.user_message, error.usage) == (message, FOLLOWUP_USAGE)

    @pytest.mark.parametrize(
        "flag",
        [
            "--due",
            "--DUE",
            "\u2014due",
            "\u2013due",
            "--due=",
            "---due",  # the second tester's example
            "\u2212due",  # minus sign
            "\u2010\u2010due",  # two Unicode hyphens
            "\u2011\u2011due",  # non-breaking hyphens
            "\uff0d\uff0ddue",  # full-width hyphen-minus
            "\u2015due",  # horizontal bar
        ],
    )
    def test_due_sets_the_date_of_a_new_followup(self, flag: str) -> None:
        command = parse_command(f"followup canary <@U0BOB|bob> {flag}{'' if flag.endswith('=') else ' '}+7d")
        assert command.action == AddFollowup("canary", BOB, SEVEN_DAYS)

    @pytest.mark.parametrize("both", ["--due +7d --at 15m ago", "--at 15m ago --due +7d"])
    def test_a_new_followup_takes_both(self, both: str) -> None:
        command = parse_command(f"followup canary <@U0BOB|bob> {both}")
        assert (command.action, command.at) == (AddFollowup("canary", BOB, SEVEN_DAYS), "15m ago")

    def test_the_testers_done_with_a_due_date(self) -> None:
        """``followup done 1 --due 2026-12-01`` was accepted with the note "--due 2026-12-01"."""
        error = refusal("followup done 1 --due 2026-12-01")
        assert error.user_message == (
            "`followup done` takes no `--due`: only a new follow-up does (`followup <text> [@owner] --due DATE`); "
            "to move follow-up #1's date, `followup due 1 DATE`."
        )

    def test_due_with_due(self) -> None:
        assert refusal("followup due 2 --due 2026-12-01").user_message == (
            "`followup due` takes the date without `--due`: `followup due 2 2026-12-01`."
        )

    @pytest.mark.parametrize(
        "verb",
        [
            "declare",
            "lead",
            "assemble",
            "hypothesis",
            "mitigate",
            "rollback",
            "monitor",
            "resolve",
            "reopen",
            "severity",
            "note",
            "followups",
            "service",
            "impact",
            "correct",
            "strike",
            "status",
            "timeline",
            "postmortem",
            "list",
            "slo",
            "help",
        ],
    )
    def test_every_other_verb_refuses_due(self, verb: str) -> None:
        """No verb but ``followup`` takes ``--due``: it is refused naming the one that does."""
        error = refusal(f"{verb} x --due tomorrow")
        assert error.user_message == (
            f"`--due` only applies to a new follow-up (`followup <text> [@owner] --due DATE`), not `{verb}`."
        )


class TestNearMissSpellings:
    @pytest.mark.parametrize(
        "typed",
        [
            "INC-3 followup a4 -due tomorrow",
            "INC-3 followup a4 -DUE tomorrow",
            "INC-3 followup a4 -due=tomorrow",
            "INC-3 followup done 1 -due tomorrow",
            "INC-3 note a4 -due tomorrow",
        ],
    )
    def test_single_dash_due_asks_for_double(self, typed: str) -> None:
        """``-due``, like ``-at``, is refused with a hint wherever it is typed."""
        error = refusal(typed)
        assert (error.user_message, error.usage) == ("`-due` is not an option: did you mean `--due`?", FOLLOWUP_USAGE)

    @pytest.mark.parametrize(
        ("typed", "message"),
        [
            (
                "INC-3 followup a4 \u2013 due tomorrow",
                "`\u2013 due tomorrow` reads like the option `--due`: write `--due tomorrow` (two hyphens, no space), "
                "or leave out the dash to keep it as text.",
            ),
            (
                "followup a4 \u2014 due +7d",
                "`\u2014 due +7d` reads like the option `--due`: write `--due +7d` (two hyphens, no space), "
                "or leave out the dash to keep it as text.",
            ),
            (
                "followup a4 - due 2026-12-15 <@U0BOB|bob>",
                "`- due 2026-12-15 <@U0BOB|bob>` reads like the option `--due`: write `--due 2026-12-15 "
                "<@U0BOB|bob>` (two hyphens, no space), or leave out the dash to keep it as text.",
            ),
            (
                "followup a4 -- due in 2 weeks --at 15m ago",
                "`-- due in 2 weeks` reads like the option `--due`: write `--due in 2 weeks` (two hyphens, no "
                "space), or leave out the dash to keep it as text.",
            ),
            (
                "note deploy done \u2013 at 13:42",
                "`\u2013 at 13:42` reads like the option `--at`: write `--at 13:42` (two hyphens, no space), "
                "or leave out the dash to keep it as text.",
            ),
            (
                "followup done 1 - at 15m ago",
                "`- at 15m ago` reads like the option `--at`: write `--at 15m ago` (two hyphens, no space), "
                "or leave out the dash to keep it as text.",
            ),
        ],
    )
    def test_a_dash_and_a_space_before_a_value_is_refused(self, typed: str, message: str) -> None:
        """A dash, a space, then ``due``/``at`` and a value of that option: refused with the right spelling."""
        assert refusal(typed).user_message == message

    @pytest.mark.parametrize(
        ("typed", "action"),
        [
            (
                "followup investigate latency \u2013 due to cache misses",
                AddFollowup("investigate latency \u2013 due to cache misses"),
            ),
            ("note traffic fell \u2013 at 3 sites", AddNote("traffic fell \u2013 at 3 sites")),
            ("note pre-due checks ran", AddNote("pre-due checks ran")),
            ("followup fix the --duet flag", AddFollowup("fix the --duet flag")),
            ("note look - at the graphs", AddNote("look - at the graphs")),
        ],
    )
    def test_text_that_only_looks_near_an_option_stays_text(self, typed: str, action: object) -> None:
        """A dash before ``due``/``at`` followed by words that are no date or time is prose."""
        assert parse_command(typed).action == action

    @settings(max_examples=examples(60), deadline=None)
    @given(
        verb=st.sampled_from(list(VERBS)),
        dash=st.sampled_from(["-", "--", "---", "\u2013", "\u2014", "\u2212", "\u2010\u2010", "\uff0d"]),
        space=st.sampled_from(["", " ", "  "]),
        word=st.sampled_from(["due", "DUE", "Due"]),
        value=st.sampled_from(["tomorrow", "+7d", "2026-12-15", "in 2 weeks", "today", "+2w"]),
    )
    def test_a_due_date_is_never_silently_text(self, verb: str, dash: str, space: str, word: str, value: str) -> None:
        """Any dash and spacing before ``due DATE`` on any follow-up verb: the date is the follow-up's (a new
        one, ``--`` or a phone dash without a space) or the command is refused; never part of a text."""
        typed = f"{VERBS[verb][0]} {dash}{space}{word} {value}"
        try:
            command = parse_command(typed)
        except UsageError:
            return
        assert verb == "add" and space == "" and dash != "-"
        assert isinstance(command.action, AddFollowup)
        assert command.action.text == "canary" and command.action.due is not None
