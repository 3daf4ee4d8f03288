"""The page next_page returns: the incident's number, and a key kept from the page it follows even when
that key is not the one the installation would make now (another installation id, an older format)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.commands import Declare
from bot.domain.lifecycle import Stamp, declare
from bot.domain.model import Severity
from bot.domain.paging import Page, PageAction, next_page

STAMP = Stamp("U0ALICE", datetime(2026, 11, 22, 13, 0, tzinfo=UTC), datetime(2026, 11, 22, 13, 0, tzinfo=UTC))


@pytest.mark.parametrize("number", [1, 7, 123456])
def test_a_new_page_carries_the_incidents_number_and_key(number: int) -> None:
    incident = declare(Declare("Checkout down", Severity.SEV1), number, STAMP).incident
    decided = next_page(incident, None, "inst-a")
    assert decided == (Page(number, f"incidentbot-inst-a-INC-{number}", True, 1), PageAction.TRIGGER)


@pytest.mark.parametrize("old_key", ["incidentbot-inst-old-INC-7", "incidentbot-INC-7", "legacy-7"])
def test_a_page_that_triggers_again_keeps_its_own_key(old_key: str) -> None:
    """A resolved page (made under another installation id or key format) triggers again under its key."""
    incident = declare(Declare("Checkout down", Severity.SEV2), 7, STAMP).incident
    previous = Page(7, old_key, False, 1)
    assert next_page(incident, previous, "inst-new") == (Page(7, old_key, True, 2), PageAction.TRIGGER)
