"""The paging decision (bot.domain.paging) over generated incident lives, against the model of open periods."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import AddNote, ChangeSeverity, Declare, Reopen, Resolve, Transition
from bot.domain.errors import BotError
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Incident, Severity
from bot.domain.paging import Page, dedup_key, next_page, page_action
from tests.support.paging_model import SEVERITIES, commands, expected_events

STAMP = Stamp("U0ALICE", datetime(2026, 11, 22, 13, 0, tzinfo=UTC), datetime(2026, 11, 22, 13, 0, tzinfo=UTC))
INSTALLATION = "0f8b6a3e-5c1d-4e2f-9a7b-1c2d3e4f5a6b"


def action_of(command: str) -> Transition:
    verb, _, rest = command.partition(" ")
    if verb == "severity":
        return ChangeSeverity(Severity(rest))
    return {"resolve": Resolve(rest), "reopen": Reopen(rest), "note": AddNote(rest)}[verb]


def live(initial: str, steps: list[str]) -> tuple[list[list[str]], Page | None]:
    """Run the life through the real domain; per step, the actions next_page decided; and the last page."""
    incident: Incident = declare(Declare("Checkout down", Severity(initial)), 7, STAMP).incident
    page: Page | None = None
    per_step: list[list[str]] = []
    for action in [None, *map(action_of, steps)]:
        if action is not None:
            try:
                incident = apply(incident, action, STAMP).incident
            except BotError:  # refused (already resolved, not resolved): no transition, no event
                per_step.append([])
                continue
        decided = next_page(incident, page, INSTALLATION)
        if decided is None:
            per_step.append([])
        else:
            page, event = decided
            per_step.append([event.value])
    return per_step, page


class TestPagingDecision:
    @given(initial=st.sampled_from(SEVERITIES), steps=commands)
    def test_events_follow_the_model(self, initial: str, steps: list[str]) -> None:
        """Generated lives get exactly the model's events, step by step."""
        per_step, _ = live(initial, steps)
        assert per_step == expected_events(initial, steps)

    @given(initial=st.sampled_from(SEVERITIES), steps=commands)
    def test_page_counts_its_triggers_and_keeps_its_key(self, initial: str, steps: list[str]) -> None:
        """The page's trigger count is the number of triggers sent; its key never changes."""
        per_step, page = live(initial, steps)
        triggers = sum(step.count("trigger") for step in per_step)
        if triggers == 0:
            assert page is None
        else:
            assert page is not None and page.triggers == triggers
            assert page.dedup_key == "incidentbot-0f8b6a3e-5c1d-4e2f-9a7b-1c2d3e4f5a6b-INC-7"
            last_event = [event for step in per_step for event in step][-1]
            assert page.open == (last_event == "trigger")

    def test_issue_examples(self) -> None:
        """The three lives of issue 10, item 5, with their exact events."""
        assert live("sev1", ["severity sev3", "resolve done"])[0] == [["trigger"], [], ["resolve"]]
        assert live("sev3", ["severity sev1", "severity sev4", "resolve done"])[0] == [[], ["trigger"], [], ["resolve"]]
        assert live("sev3", ["resolve done", "severity sev1"])[0] == [[], [], []]

    def test_dedup_key_spelling_and_length(self) -> None:
        """Key = incidentbot-<installation>-INC-<n>; within PagerDuty's 255 characters for the largest number."""
        assert dedup_key(INSTALLATION, 1) == "incidentbot-0f8b6a3e-5c1d-4e2f-9a7b-1c2d3e4f5a6b-INC-1"
        assert len(dedup_key(INSTALLATION, 999_999_999)) == 62

    def test_open_page_is_not_triggered_twice(self) -> None:
        """An open sev1 whose page is open owes nothing; with no page it owes a trigger."""
        incident = declare(Declare("Checkout down", Severity.SEV1), 1, STAMP).incident
        assert page_action(incident, page_open=True) is None
        assert page_action(incident, page_open=False) is not None
