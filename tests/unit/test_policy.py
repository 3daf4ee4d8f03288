"""Strict roles: who may resolve, reopen, roll back or change severity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.commands import (
    AddHypothesis,
    AddNote,
    ChangeSeverity,
    Declare,
    Reopen,
    Resolve,
    Rollback,
    Transition,
)
from bot.domain.lifecycle import Stamp, declare
from bot.domain.model import Incident, Member, Severity
from bot.domain.policy import NotAllowed, check_allowed, may_act

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)


def _incident(lead: str | None = None, members: tuple[str, ...] = ()) -> Incident:
    incident = declare(Declare("CDN 502s", Severity.SEV1), 7, Stamp("U0DECLARER", T0, T0)).incident
    return incident.with_changes(lead=lead, members=tuple(Member(m, None, T0) for m in members))


RESTRICTED: list[Transition] = [Resolve(), Reopen(), Rollback("WAF rule"), ChangeSeverity(Severity.SEV2)]
OPEN_TO_ALL: list[Transition] = [AddNote("x"), AddHypothesis("y")]


class TestMayAct:
    @pytest.mark.parametrize("action", RESTRICTED, ids=lambda a: type(a).__name__)
    def test_lead_and_members_may_take_restricted_actions(self, action: Transition) -> None:
        """The lead and every IRT member may resolve, reopen, roll back and change severity."""
        incident = _incident(lead="U0ALICE", members=("U0BOB",))
        assert may_act(incident, action, "U0ALICE")
        assert may_act(incident, action, "U0BOB")

    @pytest.mark.parametrize("action", RESTRICTED, ids=lambda a: type(a).__name__)
    def test_outsiders_are_refused_with_who_may(self, action: Transition) -> None:
        """Someone outside the IRT is refused, and told who may and how to join."""
        incident = _incident(lead="U0ALICE", members=("U0BOB",))
        with pytest.raises(NotAllowed) as refused:
            check_allowed(incident, action, "U0MALLORY")
        assert "<@U0ALICE>" in refused.value.user_message
        assert "assemble <@U0MALLORY>" in refused.value.user_message

    def test_declarer_may_act_until_a_lead_is_named(self) -> None:
        """Without a lead the declarer can still resolve; once a lead is named, only the IRT can."""
        assert may_act(_incident(), Resolve(), "U0DECLARER")
        assert not may_act(_incident(lead="U0ALICE"), Resolve(), "U0DECLARER")

    @pytest.mark.parametrize("action", OPEN_TO_ALL, ids=lambda a: type(a).__name__)
    def test_notes_and_hypotheses_stay_open_to_everyone(self, action: Transition) -> None:
        """Strict roles never keep anyone off the timeline."""
        assert may_act(_incident(lead="U0ALICE"), action, "U0ANYONE")


class TestRefusalWording:
    @pytest.mark.parametrize(
        ("action", "verb"),
        [
            (Resolve(), "resolve"),
            (Reopen(), "reopen"),
            (Rollback("WAF rule"), "roll back"),
            (ChangeSeverity(Severity.SEV2), "change the severity of"),
        ],
        ids=lambda a: a if isinstance(a, str) else type(a).__name__,
    )
    def test_refusal_names_the_action_and_the_lead(self, action: Transition, verb: str) -> None:
        """The refusal says what was refused, who may, and the command to join, word for word."""
        with pytest.raises(NotAllowed) as refused:
            check_allowed(_incident(lead="U0ALICE"), action, "U0MALLORY")
        assert refused.value.user_message == (
            f"Only the lead <@U0ALICE> and the IRT of INC-7 may {verb} it (strict roles are on). "
            "Ask them, or ask to join: `/incident INC-7 assemble <@U0MALLORY>`."
        )

    def test_without_a_lead_the_declarer_is_named(self) -> None:
        """Before a lead is named, the refusal points at the declarer."""
        with pytest.raises(NotAllowed) as refused:
            check_allowed(_incident(), Resolve(), "U0MALLORY")
        assert refused.value.user_message.startswith("Only the declarer <@U0DECLARER> and the IRT of INC-7 may resolve")

    @pytest.mark.parametrize("actor", ["U0ALICE", "U0BOB"])
    def test_lead_and_members_pass_the_check(self, actor: str) -> None:
        """check_allowed lets the lead and IRT members through without an error."""
        check_allowed(_incident(lead="U0ALICE", members=("U0BOB",)), Resolve(), actor)
