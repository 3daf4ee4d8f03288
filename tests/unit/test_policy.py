"""Strict roles: who may resolve, reopen, roll back, change severity, change the lead and assemble."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime

import pytest

from bot.domain.commands import (
    AddFollowup,
    AddHypothesis,
    AddNote,
    Assemble,
    Assignee,
    AssignFollowup,
    ChangeSeverity,
    CompleteFollowup,
    ConfirmHypothesis,
    CorrectEntry,
    Declare,
    DropFollowup,
    ExportFollowup,
    Mitigate,
    Monitor,
    Nudge,
    PinMessage,
    PostUpdate,
    RecordAlert,
    RecordFollowupExport,
    RecordPublication,
    RecordTrackerIssueGone,
    RejectHypothesis,
    RemindFollowups,
    RemindPostmortem,
    Reopen,
    ReopenFollowup,
    RescheduleFollowup,
    Resolve,
    Rollback,
    ScheduleReview,
    SetImpact,
    SetLead,
    SetPostmortemOwner,
    SetPostmortemStatus,
    SetService,
    StatuspageOpen,
    StatuspageResolve,
    StatuspageUpdate,
    StrikeEntry,
    Transition,
    UserRef,
)
from bot.domain.lifecycle import Stamp, declare
from bot.domain.model import Incident, Member, PostmortemStatus, Severity
from bot.domain.policy import NotAllowed, check_allowed, may_act
from bot.domain.timeparse import DueDate
from bot.slack.text import person_mention

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
DECLARER, LEAD, MEMBER, OUTSIDER = "U0DECLARER", "U0ALICE", "U0BOB", "U0MALLORY"


def _incident(lead: str | None = None, members: tuple[str, ...] = ()) -> Incident:
    incident = declare(Declare("CDN 502s", Severity.SEV1), 7, Stamp(DECLARER, T0, T0)).incident
    return incident.with_changes(lead=lead, members=tuple(Member(m, None, T0) for m in members))


# One example of every action that changes an existing incident (Declare opens a new one).
ACTIONS: dict[str, Transition] = {
    "SetLead": SetLead(UserRef(OUTSIDER)),
    "Assemble": Assemble((Assignee(UserRef(OUTSIDER)),)),
    "AddHypothesis": AddHypothesis("DDoS"),
    "RejectHypothesis": RejectHypothesis(1, "volume normal"),
    "ConfirmHypothesis": ConfirmHypothesis(1, "profiles"),
    "Mitigate": Mitigate("rate limiting"),
    "Rollback": Rollback("WAF rule"),
    "Monitor": Monitor("edge 5xx"),
    "Resolve": Resolve(),
    "Reopen": Reopen(),
    "ChangeSeverity": ChangeSeverity(Severity.SEV2),
    "AddNote": AddNote("x"),
    "AddFollowup": AddFollowup("canary"),
    # Follow-ups are worked on by their owners, who are often not in the IRT: anyone may move them.
    "CompleteFollowup": CompleteFollowup(1, "shipped"),
    "ReopenFollowup": ReopenFollowup(1),
    "AssignFollowup": AssignFollowup(1, UserRef(OUTSIDER)),
    "RescheduleFollowup": RescheduleFollowup(1, DueDate("+7d", days_ahead=7)),
    "DropFollowup": DropFollowup(1, "covered by the WAF canary"),
    "RemindFollowups": RemindFollowups(date(2026, 12, 2)),
    "ExportFollowup": ExportFollowup(1),
    "RecordFollowupExport": RecordFollowupExport(1, "OPS-7", "https://acme.atlassian.net/browse/OPS-7"),
    "RecordTrackerIssueGone": RecordTrackerIssueGone(1, "OPS-7", "HTTP 404: Issue does not exist"),
    "RecordPublication": RecordPublication("confluence", "65601", "https://acme.atlassian.net/wiki/x/65601", "2"),
    "PinMessage": PinMessage("a pinned message", OUTSIDER),
    "SetService": SetService("cdn-edge"),
    "SetImpact": SetImpact(50.0),
    "RecordAlert": RecordAlert(False, "502s", "fp1"),
    "Nudge": Nudge(15),
    # Correcting or striking the record (issue 16) belongs to the people running the incident.
    "CorrectEntry": CorrectEntry(3, "the real text"),
    "StrikeEntry": StrikeEntry(3, "posted in the wrong incident"),
    # The postmortem's review (issue 16): its status, owner and review meeting are the incident team's.
    "SetPostmortemStatus": SetPostmortemStatus(PostmortemStatus.IN_REVIEW),
    "SetPostmortemOwner": SetPostmortemOwner(UserRef(OUTSIDER)),
    "ScheduleReview": ScheduleReview("tomorrow 15:00", (UserRef(OUTSIDER),)),
    # The bot's own draft reminder is nobody's move.
    "RemindPostmortem": RemindPostmortem(date(2026, 12, 2)),
    # What the public reads on the status page (issue 15) is the incident team's to publish.
    "StatuspageOpen": StatuspageOpen("major", "service", "Checkout is failing"),
    "StatuspageUpdate": StatuspageUpdate("We found the cause."),
    "StatuspageResolve": StatuspageResolve("Resolved."),
    # The official status update (issue 15) too: it is what stakeholders read as the incident's word.
    "PostUpdate": PostUpdate("x", 30),
}

# The rule, written out independently of bot.domain.policy: which actions each kind of person may
# NOT take, by lead state and by who declared the incident. The declarer and IRT members run an
# incident without a lead; once there is a lead, the lead and IRT members do. Naming a lead or adding
# responders is theirs too (otherwise `lead <@self>` then `resolve` bypasses the rule); only an
# incident no person declared (an alert) may be picked up by anyone before it has a lead.
DECISIVE = {
    "Resolve",
    "Reopen",
    "Rollback",
    "Monitor",
    "ChangeSeverity",
    "ConfirmHypothesis",
    "RejectHypothesis",
    "SetImpact",
    "CorrectEntry",
    "StrikeEntry",
    "SetPostmortemStatus",
    "SetPostmortemOwner",
    "ScheduleReview",
    "StatuspageOpen",
    "StatuspageUpdate",
    "StatuspageResolve",
    "PostUpdate",
}
STAFFING = {"SetLead", "Assemble"}
REFUSED: dict[tuple[str, str], set[str]] = {
    # (state, actor kind) -> refused actions
    ("no lead, declared by a person", "IRT member"): set(),
    ("no lead, declared by a person", "declarer"): set(),
    ("no lead, declared by a person", "outsider"): DECISIVE | STAFFING,
    ("no lead, declared by an alert", "IRT member"): set(),
    ("no lead, declared by an alert", "outsider"): DECISIVE,
    ("lead, declared by a person", "lead"): set(),
    ("lead, declared by a person", "IRT member"): set(),
    ("lead, declared by a person", "declarer"): DECISIVE | STAFFING,
    ("lead, declared by a person", "outsider"): DECISIVE | STAFFING,
    ("lead, declared by an alert", "lead"): set(),
    ("lead, declared by an alert", "IRT member"): set(),
    ("lead, declared by an alert", "outsider"): DECISIVE | STAFFING,
}
ACTOR_IDS = {"lead": LEAD, "IRT member": MEMBER, "declarer": DECLARER, "outsider": OUTSIDER}
CASES = [
    pytest.param(state, kind, name, name not in refused, id=f"{state}-{kind}-{name}")
    for (state, kind), refused in REFUSED.items()
    for name in ACTIONS
]


def _state(state: str) -> Incident:
    incident = _incident(lead=LEAD if state.startswith("lead") else None, members=(MEMBER,))
    if state.endswith("an alert"):
        incident = incident.with_changes(declared_by="alertmanager")
    return incident


class TestMayAct:
    def test_the_table_covers_every_action_that_changes_an_incident(self) -> None:
        """Every Transition type but Declare is classified above, so a new action cannot slip past the rule."""
        kinds = {t.__name__ for t in typing.get_args(Transition)} - {"Declare"}
        assert kinds == set(ACTIONS)
        assert {type(a).__name__ for a in ACTIONS.values()} == set(ACTIONS)

    @pytest.mark.parametrize(("state", "kind", "action", "allowed"), CASES)
    def test_every_action_by_every_kind_of_person(self, state: str, kind: str, action: str, allowed: bool) -> None:
        """may_act and check_allowed agree with the table for every action x actor kind x lead state."""
        incident = _state(state)
        assert may_act(incident, ACTIONS[action], ACTOR_IDS[kind]) is allowed
        if allowed:
            check_allowed(incident, ACTIONS[action], ACTOR_IDS[kind])
        else:
            with pytest.raises(NotAllowed):
                check_allowed(incident, ACTIONS[action], ACTOR_IDS[kind])

    @pytest.mark.parametrize("action", sorted(DECISIVE | STAFFING))
    def test_outsiders_are_refused_with_who_may(self, action: str) -> None:
        """Someone outside the IRT is refused, and told who may and what to ask them to run."""
        incident = _incident(lead=LEAD, members=(MEMBER,))
        with pytest.raises(NotAllowed) as refused:
            check_allowed(incident, ACTIONS[action], OUTSIDER)
        message = refused.value.render(person_mention)
        assert message.startswith("Only the lead <@U0ALICE> and the IRT of INC-7 may ")
        assert message.endswith("Ask one of them to add you: `/incident INC-7 assemble <@U0MALLORY>`.")
        neutral = refused.value.user_message
        assert neutral.startswith("Only the lead @U0ALICE and the IRT of INC-7 may ")
        assert neutral.endswith("Ask one of them to add you: `/incident INC-7 assemble @U0MALLORY`.")

    def test_refusals_name_the_move(self) -> None:
        """The refusal says which move was refused, in words."""
        incident = _incident(lead=LEAD)
        with pytest.raises(NotAllowed) as lead_refused:
            check_allowed(incident, ACTIONS["SetLead"], OUTSIDER)
        with pytest.raises(NotAllowed) as assemble_refused:
            check_allowed(incident, ACTIONS["Assemble"], OUTSIDER)
        assert "may change the lead of it (strict roles are on)" in lead_refused.value.user_message
        assert "may add responders to it (strict roles are on)" in assemble_refused.value.user_message

    def test_without_a_lead_the_declarer_is_named(self) -> None:
        """Before a lead exists the refusal names the declarer as the one who may."""
        with pytest.raises(NotAllowed) as refused:
            check_allowed(_incident(), Resolve(), OUTSIDER)
        assert refused.value.render(person_mention).startswith(
            "Only the declarer <@U0DECLARER> and the IRT of INC-7 may resolve"
        )
        assert refused.value.user_message.startswith("Only the declarer @U0DECLARER and the IRT of INC-7 may resolve")

    def test_cli_refusals_name_people_with_an_at_sign(self) -> None:
        """In the CLI people are names: the refusal says `@alice`, never a bare `alice`."""
        incident = declare(Declare("CDN 502s", Severity.SEV1), 7, Stamp("erin", T0, T0)).incident
        incident = incident.with_changes(lead="alice")
        with pytest.raises(NotAllowed) as refused:
            check_allowed(incident, Rollback("WAF rule"), "mallory")
        assert refused.value.user_message == (
            "Only the lead @alice and the IRT of INC-7 may roll it back (strict roles are on). "
            "Ask one of them to add you: `/incident INC-7 assemble @mallory`."
        )

    @pytest.mark.parametrize(
        ("action", "move"),
        [
            ("Resolve", "resolve INC-7"),
            ("Reopen", "reopen INC-7"),
            ("Rollback", "roll INC-7 back"),
            ("Monitor", "move INC-7 to monitoring"),
            ("ChangeSeverity", "change the severity of INC-7"),
            ("ConfirmHypothesis", "confirm a hypothesis of INC-7"),
            ("RejectHypothesis", "reject a hypothesis of INC-7"),
            ("SetImpact", "set the impact of INC-7"),
            ("SetLead", "change the lead of INC-7"),
            ("Assemble", "add responders to INC-7"),
        ],
    )
    def test_the_plain_refusal_has_no_markup(self, action: str, move: str) -> None:
        """The plain-text refusal (for a modal's field error) names roles, not mentions."""
        with pytest.raises(NotAllowed) as refused:
            check_allowed(_incident(lead=LEAD), ACTIONS[action], OUTSIDER)
        assert refused.value.plain_message == f"Only the incident lead and IRT may {move} (strict roles are on)."

    def test_the_plain_refusal_without_a_lead_names_the_declarer_role(self) -> None:
        """Before a lead exists the plain-text refusal names the declarer's role, not a mention."""
        with pytest.raises(NotAllowed) as refused:
            check_allowed(_incident(), ACTIONS["Resolve"], OUTSIDER)
        assert (
            refused.value.plain_message
            == "Only the incident's declarer and IRT may resolve INC-7 (strict roles are on)."
        )

    @pytest.mark.parametrize(
        ("action", "words"),
        [
            ("Rollback", "may roll it back (strict"),
            ("Resolve", "may resolve it (strict"),
            ("SetImpact", "may set the impact of it (strict"),
        ],
    )
    def test_the_mrkdwn_refusal_reads_as_english(self, action: str, words: str) -> None:
        """`may roll it back`, not `may roll back it`."""
        with pytest.raises(NotAllowed) as refused:
            check_allowed(_incident(lead=LEAD), ACTIONS[action], OUTSIDER)
        assert words in refused.value.user_message
