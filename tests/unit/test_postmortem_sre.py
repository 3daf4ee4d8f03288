"""Postmortem sections of the SRE practice: error budget, recent changes, blameless review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.changes import ChangeEvent
from bot.domain.commands import AddNote, Declare, Resolve, Rollback, SetImpact
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Severity
from bot.domain.postmortem import PostmortemData, build_postmortem
from bot.domain.slo import Slo
from bot.postmortem.render import PostmortemRenderer

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
