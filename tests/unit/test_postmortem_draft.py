"""The draft's first sections written from the data: likely trigger, recorded impact, generated summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.changes import ChangeEvent
from bot.domain.commands import (
    AddHypothesis,
    ConfirmHypothesis,
    Declare,
    Mitigate,
    Monitor,
    Resolve,
    Rollback,
    SetImpact,
    Transition,
)
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Severity
from bot.domain.postmortem import PostmortemData, build_postmortem
from bot.domain.slo import Slo
from bot.views.postmortem import PostmortemRenderer

START = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
SLO = Slo("checkout-api", 99.9, timedelta(days=30))
"""A budget of 0.1% of 30 days = 43.2 minutes."""
DEPLOY = ChangeEvent("checkout-api", "deploy 41", "erin", START - timedelta(minutes=40), "https://ci/41")
CONFIG = ChangeEvent("checkout-api", "feature flag checkout-v2 on", "frank", START - timedelta(minutes=12))


def draft(
    steps: list[tuple[int, Transition]],
    changes: tuple[ChangeEvent, ...] = (),
    slo: Slo | None = SLO,
    generated_after: timedelta = timedelta(hours=2),
    service: str | None = "checkout-api",
) -> PostmortemData:
    """Checkout errors declared at 13:42, then ``steps`` at so many minutes after the declaration."""
    incident_change = declare(
        Declare("Checkout errors", Severity.SEV2, service=service), 1, Stamp("U0ALICE", START, START, "alice")
    )
    incident, entries = incident_change.incident, list(incident_change.entries)
    for minute, action in steps:
        moment = START + timedelta(minutes=minute)
        applied = apply(incident, action, Stamp("U0ALICE", moment, moment, "alice"))
        incident, entries = applied.incident, entries + list(applied.entries)
    return build_postmortem(incident, entries, START + generated_after, slo, changes)


class TestLikelyTrigger:
    @pytest.mark.parametrize(
        ("changes", "steps", "source", "trigger"),
        [
            (
                (DEPLOY,),
                [(20, Rollback("deploy 41 reverted"))],
                "change events",
                "13:02 checkout-api: deploy 41 by erin (https://ci/41); rolled back at 14:02 (deploy 41 reverted)",
            ),
            (
                (DEPLOY, CONFIG),
                [],
                "change events",
                "13:30 checkout-api: feature flag checkout-v2 on by frank "
                "(1 other change(s) in the 2 hours before: see Recent changes)",
            ),
            (
                (DEPLOY, CONFIG),
                [(20, Rollback("reverted deploy 41"))],
                "change events",
                "13:02 checkout-api: deploy 41 by erin (https://ci/41); rolled back at 14:02 (reverted deploy 41) "
                "(1 other change(s) in the 2 hours before: see Recent changes)",
            ),
            (
                (DEPLOY, CONFIG),
                [(20, Rollback("rolled back"))],
                "change events",
                "13:30 checkout-api: feature flag checkout-v2 on by frank; rolled back at 14:02 (rolled back) "
                "(1 other change(s) in the 2 hours before: see Recent changes)",
            ),
            (
                (),
                [(20, Rollback("deploy 41 reverted"))],
                "the rollback",
                "the change rolled back at 14:02 (deploy 41 reverted)",
            ),
            ((), [(20, Mitigate("more pods"))], "", ""),
        ],
        ids=[
            "change-and-rollback",
            "latest-of-two-changes",
            "the-change-the-rollback-names",
            "rollback-naming-nothing",
            "rollback-only",
            "nothing",
        ],
    )
    def test_trigger_names_the_change_the_rollback_names_or_the_latest(
        self, changes: tuple[ChangeEvent, ...], steps: list[tuple[int, Transition]], source: str, trigger: str
    ) -> None:
        """The change the rollback names (words in common: ``deploy 41``), else the one closest before detection,
        is the suggestion, with the rollback that undid it; without change events the rollback alone; without
        either, no suggestion."""
        pm = draft(steps, changes)
        assert (pm.trigger_source, pm.trigger) == (source, trigger)

    def test_the_draft_marks_the_trigger_as_a_suggestion(self) -> None:
        """The rendered line says where the suggestion comes from; the rollback's text is not 'the trigger'."""
        text = PostmortemRenderer().render(draft([(20, Rollback("deploy 41 reverted"))], (DEPLOY,)))
        assert (
            "**Likely trigger (suggested from change events):** 13:02 checkout-api: deploy 41 by erin "
            "(https://ci/41); rolled back at 14:02 (deploy 41 reverted)\n_A suggestion from the data: "
            "confirm or correct it._\n"
        ) in text

    def test_without_a_suggestion_the_draft_asks_for_one(self) -> None:
        """No change event and no rollback: a prompt, no invented trigger."""
        text = PostmortemRenderer().render(draft([(20, Mitigate("more pods"))]))
        assert "_No change event or rollback points at a trigger; record it once known._" in text
        assert "Likely trigger" not in text


class TestRecordedImpact:
    @pytest.mark.parametrize(
        ("steps", "slo", "impact"),
        [
            (
                [(0, SetImpact(20)), (20, Rollback("r")), (30, Resolve())],
                SLO,
                # 20% x 20 min = 4.0 bad minutes; 4 / 43.2 = 9.26%
                "20% of requests failing 13:42\u201314:02 (20 min), 4.0 bad-request minutes, 9.3% of the 30-day budget",
            ),
            (
                [(0, SetImpact(50)), (10, SetImpact(10)), (40, Rollback("r"))],
                SLO,
                # 50% x 10 + 10% x 30 = 8.0 bad minutes; 8 / 43.2 = 18.52%
                "50% of requests failing 13:42\u201313:52 (10 min), 10% 13:52\u201314:22 (30 min), "
                "8.0 bad-request minutes, 18.5% of the 30-day budget",
            ),
            (
                [(0, SetImpact(20)), (20, Rollback("r"))],
                None,
                "20% of requests failing 13:42\u201314:02 (20 min), 4.0 bad-request minutes",
            ),
            (
                [(0, SetImpact(25))],
                SLO,
                # generated 2 h after detection, still failing: 25% x 120 min = 30 bad minutes = 69.4%
                "25% of requests failing since 13:42 (2h 0m so far, not mitigated when generated), "
                "30.0 bad-request minutes, 69.4% of the 30-day budget",
            ),
            ([(20, Rollback("r"))], SLO, ""),
        ],
        ids=["one-span", "two-spans", "no-slo", "ongoing", "no-impact-recorded"],
    )
    def test_impact_sentence_from_entries_durations_and_budget(
        self, steps: list[tuple[int, Transition]], slo: Slo | None, impact: str
    ) -> None:
        """Spans with their times and durations, the bad-request minutes, and the budget share with an SLO."""
        assert draft(steps, slo=slo).impact == impact

    def test_without_impact_entries_the_placeholder_says_how_to_record_it(self) -> None:
        """No ``impact N%``: the section keeps the prompt and names the command."""
        text = PostmortemRenderer().render(draft([(20, Rollback("r"))]))
        impact = text.split("## Impact\n\n", 1)[1].split("\n\n", 1)[0]
        assert impact.startswith("_Describe who was affected and how")
        assert "`/incident impact N% --at WHEN`" in impact
        assert "Recorded:" not in impact


class TestGeneratedSummary:
    @pytest.mark.parametrize(
        ("steps", "summary"),
        [
            (
                [
                    (0, SetImpact(20)),
                    (5, AddHypothesis("bad deploy")),
                    (6, ConfirmHypothesis(1, "")),
                    (20, Rollback("deploy 41 reverted")),
                    (30, Resolve("all good")),
                ],
                "A sev2 incident on checkout-api: Checkout errors. The impact lasted 20 min, from detection at 13:42 "
                "UTC to mitigation at 14:02, with 20% of requests failing. Root cause: bad deploy. It was mitigated by "
                'the rollback "deploy 41 reverted" and resolved at 14:12 UTC.',
            ),
            (
                [(0, SetImpact(50)), (10, SetImpact(10)), (15, Mitigate("more pods")), (16, Monitor("watching"))],
                "A sev2 incident on checkout-api: Checkout errors. The impact lasted 15 min, from detection at 13:42 "
                "UTC to mitigation at 13:57, with 50% of requests failing at its worst. No root cause has been "
                'confirmed yet. It was mitigated by "more pods"; it is not resolved yet (status: monitoring).',
            ),
            (
                [(45, Resolve())],
                "A sev2 incident on checkout-api: Checkout errors. The impact lasted 45 min, from detection at 13:42 "
                "UTC to resolution at 14:27. No root cause has been confirmed yet.",
            ),
            (
                [(0, SetImpact(5))],
                "A sev2 incident on checkout-api: Checkout errors. It is not mitigated yet: the impact began at "
                "detection, 13:42 UTC, with 5% of requests failing. No root cause has been confirmed yet.",
            ),
        ],
        ids=["rolled-back-and-resolved", "mitigated-then-monitoring", "resolved-without-mitigation", "open"],
    )
    def test_first_paragraph_says_what_broke_how_long_why_and_how_it_was_mitigated(
        self, steps: list[tuple[int, Transition]], summary: str
    ) -> None:
        """Each outcome of an incident reads as one plain paragraph built from its entries."""
        assert draft(steps).generated_summary == summary

    def test_summary_is_marked_generated_and_followed_by_the_resolve_note(self) -> None:
        """The paragraph is labelled for rewriting; the resolve note follows it as typed."""
        text = PostmortemRenderer().render(draft([(20, Rollback("r")), (30, Resolve("all good"))]))
        section = text.split("## Summary\n\n", 1)[1].split("\n\n## Impact", 1)[0]
        assert section.startswith("_Generated from the timeline; rewrite it in the team's words:_ A sev2 incident")
        assert section.endswith("\n\nResolve note: all good")
