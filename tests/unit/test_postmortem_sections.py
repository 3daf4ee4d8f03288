"""Postmortem sections of the SRE practice: error budget, recent changes, blameless review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.blameless import Finding
from bot.domain.changes import ChangeEvent
from bot.domain.commands import (
    AddFollowup,
    AddHypothesis,
    AddNote,
    ConfirmHypothesis,
    Declare,
    Mitigate,
    PinMessage,
    RejectHypothesis,
    Reopen,
    Resolve,
    Rollback,
    SetImpact,
    Transition,
)
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Severity
from bot.domain.postmortem import ErrorBudget, HypothesisView, Metric, PostmortemData, build_postmortem
from bot.domain.slo import Slo
from bot.views.postmortem import PostmortemRenderer

START = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
SLO = Slo("checkout-api", 99.9, timedelta(days=30))
NOTE = "It was human error: dave forgot the canary, he should have checked."


def draft(
    service: str | None = "checkout-api", slo: Slo | None = SLO, changes: tuple[ChangeEvent, ...] = ()
) -> PostmortemData:
    """Checkout at 20% failing for 20 minutes, with a blameful note from a responder named dave."""
    stamp = Stamp("U0ALICE", START, START, "alice")
    change = declare(Declare("Checkout errors", Severity.SEV2, service=service), 1, stamp)
    incident, entries = change.incident, list(change.entries)
    for minute, action in (
        (0, SetImpact(20)),
        (5, AddNote(NOTE)),
        (20, Rollback("deploy 42")),
        (30, Resolve("")),
    ):
        moment = START + timedelta(minutes=minute)
        applied = apply(incident, action, Stamp("U0DAVE", moment, moment, "dave"))
        incident, entries = applied.incident, entries + list(applied.entries)
    return build_postmortem(incident, entries, START + timedelta(hours=1), slo, changes)


class TestErrorBudgetSection:
    def test_budget_consumed_is_shown_with_its_arithmetic(self) -> None:
        """20% x 20 min = 4 of 43.2 minutes: 9.3% of the budget, not exhausted, no freeze."""
        text = PostmortemRenderer().render(draft())
        assert "## Error budget" in text
        assert "SLO 99.9% availability over 30 days, a budget of 43.2 min" in text
        assert "- 20% of requests failing from 13:42 to 14:02 (20 min): 4.0 min" in text
        assert "consumed **4.0 min**, 9.3% of the budget." in text
        assert "release freeze" not in text

    def test_prompts_without_service_or_slo(self) -> None:
        """No service: ask for one; a service missing from the catalogue: say so."""
        assert "Name the affected service" in PostmortemRenderer().render(draft(service=None, slo=None))
        assert "search has no SLO in the catalogue" in PostmortemRenderer().render(draft(service="search", slo=None))


class TestRecentChangesSection:
    def test_changes_are_listed(self) -> None:
        """Each change: time, service, description, author and link."""
        change = ChangeEvent("checkout-api", "deploy 42", "erin", START - timedelta(minutes=20), "https://ci/42")
        text = PostmortemRenderer().render(draft(changes=(change,)))
        assert "- 13:22 checkout-api: deploy 42 by erin (https://ci/42)" in text

    def test_none_reported(self) -> None:
        """With a service but no changes, the section says none were reported."""
        assert "No changes to checkout-api were reported" in PostmortemRenderer().render(draft())


class TestReviewSection:
    def test_blameful_phrases_are_flagged_and_the_note_is_unchanged(self) -> None:
        """human error, should have and `dave forgot` are flagged at the note's time; the note is kept."""
        data = draft()
        phrases = {(f.where, f.phrase) for f in data.review}
        assert {
            ("note at 13:47", "human error"),
            ("note at 13:47", "should have"),
            ("note at 13:47", "dave forgot"),
        } <= phrases
        text = PostmortemRenderer().render(data)
        review = text.split("## Review: blameless language")[1]
        assert 'note at 13:47: "human error".' in review
        assert NOTE in text.split("## Review")[0]  # the timeline keeps what was written

    def test_clean_incident_says_so(self) -> None:
        """An incident described in systems language gets no findings."""
        stamp = Stamp("U0ALICE", START, START, "alice")
        change = declare(Declare("Checkout errors after deploy 42", Severity.SEV2), 1, stamp)
        data = build_postmortem(change.incident, list(change.entries), START)
        assert data.review == []
        assert "No blameful phrasing found." in PostmortemRenderer().render(data)


def reviewed(*steps: Transition, title: str = "Checkout errors", description: str = "") -> list[Finding]:
    """The review of an incident declared at 13:42 with one step per minute from 13:43 on."""
    stamp = Stamp("U0ALICE", START, START, "alice")
    change = declare(Declare(title, Severity.SEV2, description=description), 1, stamp)
    incident, entries = change.incident, list(change.entries)
    for minute, action in enumerate(steps, start=1):
        moment = START + timedelta(minutes=minute)
        applied = apply(incident, action, Stamp("U0DAVE", moment, moment, "dave"))
        incident, entries = applied.incident, entries + list(applied.entries)
    return build_postmortem(incident, entries, START + timedelta(hours=1)).review


HINDSIGHT = "Hindsight: say what was known at the time, and what would make the better path the easy one."
HUMAN_ERROR = "Name the condition that made the mistake easy (missing check, confusing tool, time pressure)."
FAULT = "Describe what the system allowed to happen rather than whose fault it was."
CARELESS = "Describe the safeguard that was missing instead of judging care."
FAILED_TO = 'Say what happened and what would have caught it ("the rollout had no CPU check").'
SUBJECT = 'Make the system or the step the subject ("the deploy pipeline allowed ..."), not a person.'


class TestReviewCoversEveryField:
    """Every field people type into is reviewed, located by field and time (steps are one minute apart)."""

    @pytest.mark.parametrize(
        ("steps", "expected"),
        [
            pytest.param(
                [AddHypothesis("@carol broke the WAF rule")],
                Finding("hypothesis at 13:43", "@carol broke", SUBJECT),
                id="hypothesis",
            ),
            pytest.param(
                [AddHypothesis("cache stampede"), RejectHypothesis(1, "ops should have seen the graph")],
                Finding("rejection at 13:44", "should have", HINDSIGHT),
                id="rejection",
            ),
            pytest.param(
                [AddHypothesis("WAF rule"), ConfirmHypothesis(1, "a careless regex")],
                Finding("root cause note at 13:44", "careless", CARELESS),
                id="root-cause-note",
            ),
            pytest.param(
                [Mitigate("drained the pool, human error suspected")],
                Finding("mitigation at 13:43", "human error", HUMAN_ERROR),
                id="mitigation",
            ),
            pytest.param(
                [Rollback("reverted erin's fault config")],
                Finding("rollback at 13:43", "erin's fault", FAULT),
                id="rollback",
            ),
            pytest.param(
                [Rollback("deploy 42"), Resolve("the on-call failed to page the edge team")],
                Finding("resolution at 13:44", "failed to", FAILED_TO),
                id="resolution-summary",
            ),
            pytest.param(
                [Rollback("deploy 42"), Resolve(), Reopen("someone should have kept the canary")],
                Finding("reopen reason at 13:45", "should have", HINDSIGHT),
                id="reopen-reason",
            ),
            pytest.param(
                [AddFollowup("stop careless deploys on Fridays")],
                Finding("follow-up at 13:43", "careless", CARELESS),
                id="follow-up",
            ),
            pytest.param(
                [PinMessage("honestly just human error", "U0BOB")],
                Finding("pinned message at 13:43", "human error", HUMAN_ERROR),
                id="pinned-message",
            ),
        ],
    )
    def test_blameful_phrase_in_a_field_is_found_there(self, steps: list[Transition], expected: Finding) -> None:
        """One blameful phrase in one field gives exactly one finding, naming that field and minute."""
        assert reviewed(*steps) == [expected]

    def test_title_and_description_are_reviewed(self) -> None:
        """The title and the description are reviewed as well, each under its own name."""
        findings = reviewed(title="Edge down after human error", description="It was bob's fault")
        assert findings == [Finding("title", "human error", HUMAN_ERROR), Finding("description", "bob's fault", FAULT)]

    def test_kinds_without_typed_text_are_not_reviewed(self) -> None:
        """Severity, impact and status changes carry no typed text: a clean incident has no findings."""
        assert reviewed(SetImpact(20), Rollback("deploy 42"), Resolve()) == []


class TestDataOfAnOpenIncident:
    """A draft asked for mid-incident: no lead, an open hypothesis, impact still burning."""

    def data(self) -> PostmortemData:
        """Declared 13:42 with 50% failing, hypothesis #1 at 13:50, still open when drafted at 14:12."""
        stamp = Stamp("U0ALICE", START, START, "alice")
        change = declare(
            Declare("Edge 502s", Severity.SEV1, description="Since the WAF change", service="checkout-api"), 7, stamp
        )
        incident, entries = change.incident, list(change.entries)
        for minute, action in ((0, SetImpact(50)), (8, AddHypothesis("cache stampede"))):
            moment = START + timedelta(minutes=minute)
            applied = apply(incident, action, Stamp("U0ALICE", moment, moment, "alice"))
            incident, entries = applied.incident, entries + list(applied.entries)
        return build_postmortem(incident, entries, START + timedelta(minutes=30), SLO)

    def test_open_hypothesis_is_shown_as_not_concluded(self) -> None:
        """The draft builds, and hypothesis #1 reads "not concluded", proposed at 13:50, with no detail."""
        data = self.data()
        assert data.hypotheses == [HypothesisView(1, "cache stampede", "not concluded", "", "13:50")]
        assert (data.root_cause, data.root_cause_note) == ("", "")

    def test_header_fields(self) -> None:
        """Status, lead, description and resolution as an unresolved incident without a lead has them."""
        data = self.data()
        assert (data.incident_id, data.incident_status, data.lead) == ("INC-7", "investigating", "(no lead named)")
        assert data.description == "Since the WAF change"
        assert data.resolution == "Not resolved yet (status: investigating)."
        assert data.metrics == [
            Metric("Time to assemble the IRT", "not reached", ""),
            Metric("Time to root cause", "not reached", ""),
            Metric("Time to mitigate", "not reached", ""),
            Metric("Time to resolve", "not reached", ""),
        ]

    def test_budget_burns_until_the_draft_is_made(self) -> None:
        """50% from 13:42 to the draft at 14:12 = 30 min x 0.5 = 15 min of 43.2: 34.7%, not exhausted."""
        assert self.data().error_budget == ErrorBudget(
            service="checkout-api",
            objective="99.9% availability over 30 days",
            budget="43.2 min",
            impact=["50% of requests failing from 13:42 to 14:12 (30 min): 15.0 min"],
            consumed="15.0 min",
            percent_of_budget="34.7%",
            exhausted=False,
            policy="",
        )


class TestErrorBudgetExhaustion:
    def budget(self, failing_for: timedelta) -> ErrorBudget:
        """checkout-api 100% failing from 13:42 until a rollback ``failing_for`` later."""
        stamp = Stamp("U0ALICE", START, START, "alice")
        change = declare(Declare("Checkout down", Severity.SEV1, service="checkout-api"), 1, stamp)
        incident, entries = change.incident, list(change.entries)
        for moment, action in ((START, SetImpact(100)), (START + failing_for, Rollback("deploy 42"))):
            applied = apply(incident, action, Stamp("U0ALICE", moment, moment, "alice"))
            incident, entries = applied.incident, entries + list(applied.entries)
        data = build_postmortem(incident, entries, START + timedelta(hours=2), SLO)
        assert data.error_budget is not None
        return data.error_budget

    def test_spending_exactly_the_budget_exhausts_it(self) -> None:
        """100% for 43 min 12 s is the whole 43.2 min budget (100.0%): exhausted, the freeze policy applies."""
        budget = self.budget(timedelta(minutes=43, seconds=12))
        assert (budget.consumed, budget.percent_of_budget, budget.exhausted) == ("43.2 min", "100.0%", True)
        assert budget.policy == (
            "This incident alone exhausted the budget. Error budget policy: release freeze for checkout-api "
            "until the budget recovers."
        )

    def test_a_second_less_leaves_it(self) -> None:
        """100% for 43 min 11 s: 99.96% of the budget (shown 100.0%), not exhausted, no policy."""
        budget = self.budget(timedelta(minutes=43, seconds=11))
        assert (budget.percent_of_budget, budget.exhausted, budget.policy) == ("100.0%", False, "")
