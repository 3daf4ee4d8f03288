"""The mutation score script counts each mutant once, in the right column (README, "Mutation testing")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import mutation_scores


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(mutation_scores, "RESULTS", tmp_path)
    return tmp_path


def _meta(folder: Path, module: str, codes: dict[str, int | None]) -> None:
    (folder / f"{module}.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))


class TestScoreModule:
    def test_each_exit_code_lands_in_its_column(self, results: Path) -> None:
        _meta(
            results,
            "slo",
            {
                "bot.domain.slo.f__mutmut_1": 1,  # a failing test
                "bot.domain.slo.f__mutmut_2": 36,  # a timeout counts as killed
                "bot.domain.slo.f__mutmut_3": 0,  # survived
                "bot.domain.slo.f__mutmut_4": 33,  # no test
                "bot.domain.slo.f__mutmut_5": 0,  # survived, but listed as equivalent
                "bot.domain.slo.f__mutmut_6": None,  # not run yet
            },
        )
        stale: list[str] = []
        score = mutation_scores.score_module("slo", {"bot.domain.slo.f__mutmut_5": "same output"}, stale)
        assert (score.killed, score.survived, score.no_test, score.equivalent, score.unchecked) == (
            2,
            ["bot.domain.slo.f__mutmut_3"],
            ["bot.domain.slo.f__mutmut_4"],
            1,
            1,
        )
        assert score.total == 6
        assert score.score == pytest.approx(2 / 5)
        assert stale == []

    def test_a_listed_equivalent_that_a_test_kills_counts_as_killed_and_is_flagged(self, results: Path) -> None:
        _meta(results, "grammar", {"bot.domain.grammar.g__mutmut_1": 1, "bot.domain.grammar.g__mutmut_2": 0})
        stale: list[str] = []
        score = mutation_scores.score_module("grammar", {"bot.domain.grammar.g__mutmut_1": "thought equivalent"}, stale)
        assert (score.killed, score.equivalent, score.survived) == (1, 0, ["bot.domain.grammar.g__mutmut_2"])
        assert score.score == pytest.approx(1 / 2)
        assert stale == ["bot.domain.grammar.g__mutmut_1 is listed as equivalent but a test kills it"]
