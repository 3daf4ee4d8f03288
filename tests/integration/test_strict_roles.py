"""Strict roles through the grammar and the service, on SQLite and PostgreSQL (issue 11, item 10)."""

from __future__ import annotations

import pytest

from bot.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.policy import NotAllowed
from bot.service import Actor, IncidentService
from bot.store import IncidentStore

ALICE = Actor("U0ALICE", "alice")
MALLORY = Actor("U0MALLORY", "mallory")


@pytest.fixture()
def strict(store: IncidentStore, clock: ReplayClock) -> IncidentService:
    return IncidentService(store, clock=clock, strict_roles=True)


def _run(service: IncidentService, text: str, actor: Actor) -> None:
    service.run(parse_command(text), actor)


class TestStrictRolesCannotBeBypassed:
    @pytest.mark.parametrize("grant", ["lead <@U0MALLORY|mallory>", "assemble <@U0MALLORY|mallory>"])
    def test_an_outsider_cannot_grant_themselves_resolve(self, strict: IncidentService, grant: str) -> None:
        """The issue's example: `lead <@self>` or `assemble <@self>` then `resolve` is refused at the first step."""
        _run(strict, "declare sev1 CDN edge returning 502s", ALICE)
        _run(strict, "INC-1 lead <@U0ALICE|alice>", ALICE)
        with pytest.raises(NotAllowed) as refused:
            _run(strict, f"INC-1 {grant}", MALLORY)
        assert refused.value.user_message.startswith("Only the lead <@U0ALICE> and the IRT of INC-1 may ")
        with pytest.raises(NotAllowed):
            _run(strict, "INC-1 resolve", MALLORY)
        incident, entries = strict.timeline(1)
        assert incident.lead == "U0ALICE"
        assert [m.user_id for m in incident.members if m.user_id == "U0MALLORY"] == []
        assert incident.status.value == "declared"
        assert [e.actor for e in entries if e.actor == "U0MALLORY"] == []

    def test_the_lead_can_still_hand_over_and_staff(self, strict: IncidentService) -> None:
        """The lead assembles and hands the lead to an IRT member, who may then resolve."""
        _run(strict, "declare sev1 CDN edge returning 502s", ALICE)
        _run(strict, "INC-1 lead <@U0ALICE|alice>", ALICE)
        _run(strict, "INC-1 assemble <@U0BOB|bob>:networking", ALICE)
        _run(strict, "INC-1 lead <@U0BOB|bob>", Actor("U0BOB", "bob"))
        _run(strict, "INC-1 resolve", Actor("U0BOB", "bob"))
        incident, _ = strict.timeline(1)
        assert (incident.lead, incident.status.value) == ("U0BOB", "resolved")
