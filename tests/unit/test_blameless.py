"""Blameless lint: blameful phrasing is flagged with a suggestion; the user's text is never changed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.blameless import Linter, lint
from tests.support.properties import examples


class TestLint:
    @pytest.mark.parametrize(
        ("text", "phrase"),
        [
            ("Root cause: human error during the deploy", "human error"),
            ("It was Bob's fault", "Bob's fault"),
            ("We should have canaried the rule", "should have"),
            ("A careless change to the WAF", "careless"),
            ("The on-call failed to notice the alert", "failed to"),
            ("<@U0BOB|bob> broke the edge config", "<@U0BOB|bob> broke"),
            ("@carol forgot the canary step", "@carol forgot"),
            ("dave pushed the rule without review", "dave pushed"),
        ],
    )
    def test_blameful_phrases_are_found(self, text: str, phrase: str) -> None:
        """Each classic blameful pattern, including a person as the subject of a failure."""
        findings = lint([("note at 14:03", text)], names=["dave"])
        assert phrase in [f.phrase for f in findings]
        assert all(f.where == "note at 14:03" and f.suggestion for f in findings)

    @pytest.mark.parametrize(
        "text",
        [
            "The WAF rule caused a CPU spin loop on packet inspection",
            "Half of the edge servers are pinned at 100% CPU",
            "The deploy pipeline had no canary stage",
            "Dave's dashboard shows the spike",
        ],
    )
    def test_systems_language_passes(self, text: str) -> None:
        """Describing systems, even naming people as owners of things, is not flagged."""
        assert lint([("note", text)], names=["dave"]) == []


class TestPeopleAsSubjects:
    def test_names_match_in_any_case(self) -> None:
        """A known name and the verb are found whatever their case."""
        assert [f.phrase for f in lint([("note", "DAVE Pushed the rule")], names=["dave"])] == ["DAVE Pushed"]

    def test_every_known_name_is_looked_for(self) -> None:
        """With several known names, each of them as the subject of a failure is found."""
        text = "dave pushed the rule and erin deleted the check"
        found = [f.phrase for f in lint([("note", text)], names=["dave", "erin", ""])]
        assert found == ["dave pushed", "erin deleted"]


_FRAGMENTS = st.sampled_from(
    [
        "human error",
        "dave's fault",
        "should have",
        "shouldn't have",
        "carelessly",
        "failed to",
        "DAVE pushed",
        "@erin broke",
        "<@U0BOB|bob> deleted",
        "erin  forgot",
        "dave",
        " ",
        "\n",
        "the",
        "pushed",
        "'s",
        "fault",
        "x",
        "\u017fhould have",  # long s: re.I reads it as "s" (the ASCII screen must not skip it)
        "fa\u0131led to",  # dotless i
        "dave pu\u017fhed",
        "\u00e9",
    ]
)


@settings(max_examples=examples(100))
@given(st.lists(_FRAGMENTS, max_size=8).map("".join))
def test_a_text_is_suspect_exactly_when_it_has_findings(text: str) -> None:
    """The one-search screen (``Linter.suspect``) that lets a 10,000-entry timeline skip its innocent texts never
    skips a text with a finding, and never flags one without."""
    linter = Linter(["dave", "erin"])
    assert linter.suspect(text) == bool(linter.findings("note", text))
    assert lint([("note", text)], names=["dave", "erin"]) == linter.findings("note", text)
