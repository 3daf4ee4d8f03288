"""The full help text line by line, help for an unknown verb, the severity preselected by a bare
``declare``, and a severity's number followed by a letter."""

from __future__ import annotations

import pytest

from bot.domain.commands import AddFollowup
from bot.domain.errors import UsageError
from bot.domain.grammar import bare_declare_severity, help_text, parse_command, split_severity
from bot.domain.model import Severity
from tests.unit.test_grammar import EXPECTED_USAGE

FOOTER = (
    "Start any command with an incident id (`INC-7 note ...`) to act outside its channel. "
    "End a change with `--at WHEN` to backdate it (`--at 13:42`, `--at 15m ago`, `--at 2026-11-22T13:42Z`)."
)


class TestFullHelp:
    @pytest.mark.parametrize("verb", [None, "", "frobnicate", "NOTE"])
    def test_full_help_is_a_heading_one_line_per_verb_and_the_footer(self, verb: str | None) -> None:
        """No verb, or one that is not a verb (verbs are lower case): every usage on its own line."""
        lines = help_text(verb).split("\n")
        assert lines[0] == "*Commands*"
        assert sorted(lines[1:-1]) == sorted(f"`/incident {usage}`" for usage in EXPECTED_USAGE.values())
        assert lines[-1] == FOOTER


class TestBareDeclare:
    @pytest.mark.parametrize(
        ("text", "severity"),
        [
            ("declare sev1", Severity.SEV1),
            ("DECLARE sev 2", Severity.SEV2),
            (" declare [SEV-3] ", Severity.SEV3),
            ("declare P4", Severity.SEV4),
            ("declare", None),
            ("", None),
            ("declare sev1 CDN down", None),  # not bare: parsed as a declaration
            ("note sev1", None),
            ("declare sev5", None),  # refused by the parser, nothing to preselect
        ],
    )
    def test_severity_to_preselect_in_the_modal(self, text: str, severity: Severity | None) -> None:
        assert bare_declare_severity(text) is severity


class TestSeverityNumberWord:
    @pytest.mark.parametrize("title", ["Sev 3X slower checkout", "Sev 3x slower checkout", "SEV 2X load"])
    def test_a_number_with_a_letter_after_it_is_no_severity(self, title: str) -> None:
        """``3X`` is not the number of ``sev 3``: the whole text is the title."""
        assert split_severity(title) == (None, title)

    @pytest.mark.parametrize(
        ("text", "severity", "title"),
        [
            ("sev 1: CDN down", Severity.SEV1, "CDN down"),
            ("sev 2, CDN down", Severity.SEV2, "CDN down"),
            ("SEV 3; checkout slow", Severity.SEV3, "checkout slow"),
            ("sev 1- edge 502s", Severity.SEV1, "edge 502s"),
            ("[sev 2] CDN down", Severity.SEV2, "CDN down"),
        ],
    )
    def test_a_number_with_a_separator_after_it_is_the_severity(
        self, text: str, severity: Severity, title: str
    ) -> None:
        """``sev 1:``, ``sev 2,``, ``sev 3;``, ``sev 1-`` and ``[sev 2]``: the separator is not left in the title."""
        assert split_severity(text) == (severity, title)


class TestFollowupOwnerOnTheCommandLine:
    """With names (the CLI) a follow-up's last word is its owner only when it is a name."""

    @pytest.mark.parametrize("text", ["canary", "add-alerting"])
    def test_a_one_word_followup_has_no_owner(self, text: str) -> None:
        assert parse_command(f"followup {text}", names=True).action == AddFollowup(text, None)

    def test_a_bad_owner_is_refused_quoted_to_40_characters_with_the_usage(self) -> None:
        owner = "@" + "a" * 70  # longer than a name may be (64)
        with pytest.raises(UsageError) as refused:
            parse_command(f"followup fix alerting {owner}", names=True)
        assert refused.value.user_message == (
            f"`@{'a' * 39}` is not a person; end with the owner as `@name`, or leave the owner out."
        )
        assert refused.value.usage == EXPECTED_USAGE["followup"]
