"""The incident state machine: every status x action pair, and the rules inside each transition."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain import lifecycle
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
    GroupRef,
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
from bot.domain.errors import TimeParseError, TransitionError
from bot.domain.lifecycle import TRANSITIONS, Decision, Stamp, apply, declare
from bot.domain.model import (
    EntryKind,
    Followup,
    FollowupState,
    Hypothesis,
    HypothesisStatus,
    Incident,
    Member,
    Severity,
    Status,
    TimelineEntry,
)
from bot.domain.people import Person
from bot.domain.timeparse import DueDate
from bot.slack.text import person_mention

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
DECLARER = "U0DECLARER"
RESOLVER = "U0BOB"
ACTOR = "U0ALICE"

DEC, INV, MIT, MON, RES = (
    Status.DECLARED,
    Status.INVESTIGATING,
    Status.MITIGATED,
    Status.MONITORING,
    Status.RESOLVED,
)

# The life cycle as the issue specifies it, written out independently of lifecycle.TRANSITIONS:
# the next status in (declared, investigating, mitigated, monitoring, resolved); None means illegal.
# Monitoring (issue 12): mitigated -> monitoring -> resolved; `reopen` while monitoring says the fix
# did not hold (-> investigating); a rollback from monitoring -> mitigated.
SPEC: dict[type, tuple[Status | None, ...]] = {
    SetLead: (DEC, INV, MIT, MON, None),
    Assemble: (INV, INV, MIT, MON, None),
    AddHypothesis: (INV, INV, MIT, MON, None),
    RejectHypothesis: (INV, INV, MIT, MON, None),
    ConfirmHypothesis: (INV, INV, MIT, MON, None),
    Mitigate: (INV, INV, MIT, MON, None),
    Rollback: (MIT, MIT, MIT, MIT, None),
    Monitor: (None, MON, MON, None, None),
    Resolve: (RES, RES, RES, RES, None),
    Reopen: (None, None, None, INV, INV),
    ChangeSeverity: (DEC, INV, MIT, MON, RES),
    AddNote: (DEC, INV, MIT, MON, RES),
    PostUpdate: (DEC, INV, MIT, MON, RES),  # a final update after the resolve; no `--next` then
    AddFollowup: (DEC, INV, MIT, MON, RES),
    # Follow-ups (issue 14) are carried to done or dropped in every status, resolved included: most
    # are agreed in the postmortem, after the resolve. They never change the incident's status.
    CompleteFollowup: (DEC, INV, MIT, MON, RES),
    ReopenFollowup: (DEC, INV, MIT, MON, RES),
    AssignFollowup: (DEC, INV, MIT, MON, RES),
    RescheduleFollowup: (DEC, INV, MIT, MON, RES),
    DropFollowup: (DEC, INV, MIT, MON, RES),
    RemindFollowups: (DEC, INV, MIT, MON, RES),
    ExportFollowup: (DEC, INV, MIT, MON, RES),
    RecordFollowupExport: (DEC, INV, MIT, MON, RES),
    RecordTrackerIssueGone: (DEC, INV, MIT, MON, RES),
    RecordPublication: (DEC, INV, MIT, MON, RES),
    PinMessage: (DEC, INV, MIT, MON, RES),
    SetService: (DEC, INV, MIT, MON, RES),
    SetImpact: (DEC, INV, MIT, MON, RES),
    RecordAlert: (DEC, INV, MIT, MON, RES),
    Nudge: (DEC, INV, MIT, MON, None),
    # Corrections (issue 16) add an entry pointing at another and change no state, in every status.
    CorrectEntry: (DEC, INV, MIT, MON, RES),
    StrikeEntry: (DEC, INV, MIT, MON, RES),
    # The postmortem's review (issue 16) is recorded in every status and changes none; the bot's draft
    # reminder only concerns a resolved incident.
    SetPostmortemStatus: (DEC, INV, MIT, MON, RES),
    SetPostmortemOwner: (DEC, INV, MIT, MON, RES),
    ScheduleReview: (DEC, INV, MIT, MON, RES),
    RemindPostmortem: (None, None, None, None, RES),
    # The public status page (issue 15): opened while the incident is open, updated and resolved in every
    # status (the page may still be open after the incident resolved); none changes the incident's status.
    StatuspageOpen: (DEC, INV, MIT, MON, None),
    StatuspageUpdate: (DEC, INV, MIT, MON, RES),
    StatuspageResolve: (DEC, INV, MIT, MON, RES),
}
STATUS_ORDER = (DEC, INV, MIT, MON, RES)
SPEC_TABLE = {
    (status, action): next_status
    for action, row in SPEC.items()
    for status, next_status in zip(STATUS_ORDER, row, strict=True)
    if next_status is not None
}

# One instance of every transition, legal on each incident built by ``incident_in`` where the table allows it.
SAMPLES: dict[type, Transition] = {
    SetLead: SetLead(UserRef("U0LEAD", "lena")),
    Assemble: Assemble((Assignee(UserRef("U0NEW", "nico"), "networking"),)),
    AddHypothesis: AddHypothesis("cache stampede after purge"),
    RejectHypothesis: RejectHypothesis(1, "traffic is normal"),
    ConfirmHypothesis: ConfirmHypothesis(1, "matches the WAF graphs"),
    Mitigate: Mitigate("raised the edge rate limit"),
    Rollback: Rollback("reverted WAF rule deploy 42"),
    Monitor: Monitor("5xx rate on the edge dashboard for 30 min"),
    Resolve: Resolve("edge healthy for 30 min"),
    Reopen: Reopen("502s are back"),
    ChangeSeverity: ChangeSeverity(Severity.SEV1),
    AddNote: AddNote("status page updated"),
    PostUpdate: PostUpdate("502s on half the edge; rolling back WAF rule 42"),
    AddFollowup: AddFollowup("canary rollout for WAF rules", UserRef("U0CAROL", "carol")),
    CompleteFollowup: CompleteFollowup(1, "canary stage is live"),
    ReopenFollowup: ReopenFollowup(2, "the runbook step was lost"),
    AssignFollowup: AssignFollowup(1, UserRef("U0DAVE", "dave")),
    RescheduleFollowup: RescheduleFollowup(1, DueDate("2026-12-15", day=date(2026, 12, 15))),
    DropFollowup: DropFollowup(1, "covered by the WAF test suite"),
    RemindFollowups: RemindFollowups(date(2026, 12, 2)),  # follow-up #1 is due 2026-12-01
    ExportFollowup: ExportFollowup(1),
    RecordFollowupExport: RecordFollowupExport(1, "acme/web#7", "https://github.com/acme/web/issues/7"),
    RecordTrackerIssueGone: RecordTrackerIssueGone(2, "acme/web#3", "HTTP 410: This issue was deleted"),
    RecordPublication: RecordPublication("git", "postmortems/INC-7-cdn.md", "https://x/blob/main/p.md", "3f2a9c1"),
    PinMessage: PinMessage("graph shows the spike at 12:58", author="U0DAVE", permalink="https://x.slack.com/p1"),
    SetService: SetService("cdn-edge"),
    SetImpact: SetImpact(50.0),
    RecordAlert: RecordAlert(False, "EdgeErrorRate", {"fingerprint": "fp1", "generator_url": "http://prom/graph"}),
    Nudge: Nudge(15),
}
KINDS: dict[type, EntryKind] = {
    SetLead: EntryKind.LEAD,
    Assemble: EntryKind.ASSEMBLED,
    AddHypothesis: EntryKind.HYPOTHESIS,
    RejectHypothesis: EntryKind.HYPOTHESIS_REJECTED,
    ConfirmHypothesis: EntryKind.HYPOTHESIS_CONFIRMED,
    Mitigate: EntryKind.MITIGATION,
    Rollback: EntryKind.ROLLBACK,
    Monitor: EntryKind.MONITORING,
    Resolve: EntryKind.RESOLVED,
    Reopen: EntryKind.REOPENED,
    ChangeSeverity: EntryKind.SEVERITY,
    AddNote: EntryKind.NOTE,
    PostUpdate: EntryKind.UPDATE,
    AddFollowup: EntryKind.FOLLOWUP,
    CompleteFollowup: EntryKind.FOLLOWUP_DONE,
    ReopenFollowup: EntryKind.FOLLOWUP_REOPENED,
    AssignFollowup: EntryKind.FOLLOWUP_OWNER,
    RescheduleFollowup: EntryKind.FOLLOWUP_DUE,
    DropFollowup: EntryKind.FOLLOWUP_DROPPED,
    RemindFollowups: EntryKind.FOLLOWUP_REMINDER,
    ExportFollowup: EntryKind.FOLLOWUP_EXPORT,
    RecordFollowupExport: EntryKind.FOLLOWUP_EXPORTED,
    RecordTrackerIssueGone: EntryKind.FOLLOWUP_TRACKER_GONE,
    RecordPublication: EntryKind.POSTMORTEM_PUBLISHED,
    PinMessage: EntryKind.PINNED,
    SetService: EntryKind.SERVICE,
    SetImpact: EntryKind.IMPACT,
    RecordAlert: EntryKind.ALERT_FIRED,
    Nudge: EntryKind.NUDGE,
}
ALL_PAIRS = [(status, action) for status in STATUS_ORDER for action in SAMPLES]
CORRECTIONS = {
    CorrectEntry,
    StrikeEntry,
    SetPostmortemStatus,
    SetPostmortemOwner,
    ScheduleReview,
    RemindPostmortem,
    StatuspageOpen,
    StatuspageUpdate,
    StatuspageResolve,
}
"""They read the timeline besides the incident: every status is exercised in tests/unit/test_corrections.py,
for the postmortem's review in tests/unit/test_postmortem_review_domain.py, for the status page in
tests/unit/test_statuspage_domain.py."""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(minutes: float, actor: str = ACTOR, recorded_minutes: float | None = None) -> Stamp:
    recorded = at(minutes if recorded_minutes is None else recorded_minutes)
    return Stamp(actor=actor, occurred_at=at(minutes), recorded_at=recorded)


def declared(number: int = 7, severity: Severity = Severity.SEV2) -> Incident:
    return declare(Declare("CDN edge returning 502s", severity), number, Stamp(DECLARER, T0, T0)).incident


def incident_in(status: Status) -> Incident:
    """An incident in ``status`` built through the real transitions, with hypothesis #1 open."""
    incident = declared()
    if status is Status.DECLARED:
        # Adding a hypothesis moves the incident on, so only construction gives a declared one a hypothesis.
        return incident.with_changes(hypotheses=(Hypothesis(1, "DDoS", ACTOR, at(1)),), followups=FOLLOWUPS)
    incident = apply(incident, AddHypothesis("DDoS"), stamp(1)).incident
    if status in (Status.MITIGATED, Status.MONITORING):
        incident = apply(incident, Rollback("reverted deploy 41"), stamp(2)).incident
    if status is Status.MONITORING:
        incident = apply(incident, Monitor("edge 5xx rate"), stamp(2.5)).incident
    if status is Status.RESOLVED:
        incident = apply(incident, Resolve("all good"), stamp(3, actor=RESOLVER)).incident
    assert incident.status is status
    return incident.with_changes(followups=FOLLOWUPS)


FOLLOWUPS = (
    Followup(1, "canary rollout for WAF rules", "U0CAROL", at(1), due=date(2026, 12, 1)),
    Followup(
        2,
        "verify CPU load step",
        None,
        at(1),
        FollowupState.DONE,
        done_at=at(2),
        tracker_key="acme/web#3",
        tracker_url="https://github.com/acme/web/issues/3",
    ),
)
"""Every incident of ``incident_in`` has follow-up #1 open (owned by carol) and #2 done, filed as acme/web#3."""


def first_entry(change: Decision) -> TimelineEntry:
    assert len(change.entries) == 1
    return change.entries[0]


class TestTransitionTable:
    def test_table_matches_the_specified_life_cycle(self) -> None:
        """The transition table holds exactly the specified (status, action) -> status pairs."""
        assert TRANSITIONS == SPEC_TABLE

    def test_samples_cover_every_transition_type(self) -> None:
        """Every Transition type except Declare is exercised against every status."""
        assert set(SAMPLES) == set(typing.get_args(Transition)) - {Declare} - CORRECTIONS
        assert set(SAMPLES) | CORRECTIONS == set(SPEC) and set(SAMPLES) == set(KINDS)

    @pytest.mark.parametrize(
        ("status", "action_type"), ALL_PAIRS, ids=[f"{s.value}-{a.__name__}" for s, a in ALL_PAIRS]
    )
    def test_every_status_and_action(self, status: Status, action_type: type) -> None:
        """A legal pair reaches the specified status with one stamped entry; an illegal one is refused."""
        incident = incident_in(status)
        expected = SPEC_TABLE.get((status, action_type))
        when = stamp(10, recorded_minutes=25)
        if expected is None:
            with pytest.raises(TransitionError) as raised:
                apply(incident, SAMPLES[action_type], when)
            message = raised.value.user_message
            assert "INC-7" in message
            if status is not Status.RESOLVED and action_type is Reopen:
                assert message == f"INC-7 is still open ({status.value}); there is nothing to reopen."
            elif status is Status.MONITORING:
                assert message == (
                    "INC-7 is already being monitored. `resolve [summary]` when the fix holds, "
                    "`reopen <reason>` if it did not."
                )
            elif status is not Status.RESOLVED:
                assert message == (
                    f"`monitor` follows a fix, and INC-7 is {status.value}: record the fix first "
                    "(`mitigate <what you did>` or `rollback <change>`), then `monitor <what you watch>`."
                )
            elif action_type is Resolve:
                assert "already resolved" in message
            else:
                assert "`/incident INC-7 reopen <reason>`" in message
            return
        change = apply(incident, SAMPLES[action_type], when)
        entry = first_entry(change)
        assert change.incident.status is expected
        assert entry.kind is KINDS[action_type]
        assert (entry.occurred_at, entry.recorded_at) == (at(10), at(25))
        if action_type is PinMessage:
            assert (entry.actor, entry.data["pinned_by"]) == ("U0DAVE", ACTOR)
        else:
            assert entry.actor == ACTOR
        if expected is status:
            assert "status_to" not in entry.data and not change.status_changed
        else:
            assert (entry.data["status_from"], entry.data["status_to"]) == (status.value, expected.value)
            assert change.status_changed
        assert incident.status is status  # the input is left as it was

    @pytest.mark.parametrize("status", STATUS_ORDER)
    def test_declare_is_refused_on_an_existing_incident(self, status: Status) -> None:
        """Declaring through apply tells the user to declare outside the incident channel."""
        with pytest.raises(TransitionError, match="INC-7 is already declared"):
            apply(incident_in(status), Declare("again", Severity.SEV1), stamp(10))


class TestDeclare:
    def test_declare_opens_a_declared_incident(self) -> None:
        """Declaring sets number, title, severity, declarer, time and channel."""
        change = declare(
            Declare("DB failover", Severity.SEV1, "primary down"), 12, Stamp(DECLARER, at(0), at(2)), channel_id="C0INC"
        )
        incident = change.incident
        assert (incident.number, incident.incident_id, incident.title) == (12, "INC-12", "DB failover")
        assert (incident.severity, incident.status, incident.channel_id) == (Severity.SEV1, DEC, "C0INC")
        assert (incident.declared_at, incident.declared_by) == (at(0), DECLARER)
        assert incident.description == "primary down"

    def test_declare_records_one_declared_entry(self) -> None:
        """The declaration entry carries the title, severity, description and status_to."""
        entry = first_entry(
            declare(Declare("DB failover", Severity.SEV4, "primary down"), 1, Stamp(DECLARER, at(0), at(2)))
        )
        assert (entry.kind, entry.text, entry.actor) == (EntryKind.DECLARED, "DB failover", DECLARER)
        assert (entry.occurred_at, entry.recorded_at) == (at(0), at(2))
        assert entry.data == {"severity": "sev4", "status_to": "declared", "description": "primary down"}

    def test_declare_without_description_leaves_it_out(self) -> None:
        """No description means no description key in the entry's data."""
        entry = first_entry(declare(Declare("x", Severity.SEV3), 1, Stamp(DECLARER, at(0), at(0))))
        assert "description" not in entry.data

    def test_actor_name_is_kept_for_postmortems(self) -> None:
        """A display name Slack sent for the actor is stored in the entry's names."""
        entry = first_entry(declare(Declare("x", Severity.SEV3), 1, Stamp(DECLARER, at(0), at(0), "dee")))
        assert entry.data["names"] == {DECLARER: "dee"}


class TestBackdating:
    def test_before_declaration_is_refused(self) -> None:
        """An occurred_at before the declaration raises TimeParseError naming both times."""
        with pytest.raises(TimeParseError) as raised:
            apply(declared(), AddNote("early"), Stamp(ACTOR, at(-5), at(10)))
        message = raised.value.user_message
        assert message == (
            "2026-11-22 12:55 UTC is before INC-7 was declared (2026-11-22 13:00 UTC). Pick a time after the "
            "declaration; an earlier start can only be given when declaring, with `--at` on `declare`."
        )

    def test_an_alert_that_fired_before_the_declaration_keeps_its_time(self) -> None:
        """Alerts report when they started, which may precede the incident: that time is kept, not refused."""
        entry = first_entry(apply(declared(), RecordAlert(False, "EdgeErrorRate"), Stamp(ACTOR, at(-5), at(10))))
        assert entry.occurred_at == at(-5) and entry.kind is EntryKind.ALERT_FIRED

    def test_at_the_declaration_is_accepted(self) -> None:
        """An occurred_at equal to the declaration time is fine."""
        entry = first_entry(apply(declared(), AddNote("same minute"), Stamp(ACTOR, T0, at(10))))
        assert entry.occurred_at == T0

    def test_recorded_later_than_occurred_keeps_both(self) -> None:
        """A backdated entry keeps its occurred_at and the bot's recorded_at apart."""
        entry = first_entry(apply(declared(), AddNote("n"), stamp(3, recorded_minutes=40)))
        assert (entry.occurred_at, entry.recorded_at) == (at(3), at(40))


class TestHypotheses:
    def test_hypotheses_are_numbered_from_one(self) -> None:
        """Each new hypothesis gets the next number and is recorded with it."""
        incident = declared()
        numbers = []
        for n, text in enumerate(["DDoS", "bad deploy", "cert expiry"], start=1):
            change = apply(incident, AddHypothesis(text), stamp(n))
            incident = change.incident
            numbers.append(first_entry(change).data["number"])
        assert numbers == [1, 2, 3]
        assert [(h.number, h.text, h.status) for h in incident.hypotheses] == [
            (1, "DDoS", HypothesisStatus.OPEN),
            (2, "bad deploy", HypothesisStatus.OPEN),
            (3, "cert expiry", HypothesisStatus.OPEN),
        ]
        assert incident.hypotheses[1].proposed_by == ACTOR and incident.hypotheses[1].proposed_at == at(2)

    def test_numbering_is_per_incident(self) -> None:
        """Another incident starts its own numbering at 1."""
        apply(declared(7), AddHypothesis("a"), stamp(1))
        change = apply(declared(8), AddHypothesis("b"), stamp(1))
        assert first_entry(change).data["number"] == 1

    def test_reject_records_reason_and_decision(self) -> None:
        """Rejecting marks the hypothesis rejected with its reason and time."""
        change = apply(incident_in(INV), RejectHypothesis(1, "traffic normal"), stamp(5))
        hypothesis = change.incident.hypothesis(1)
        assert hypothesis is not None
        assert (hypothesis.status, hypothesis.outcome, hypothesis.decided_at) == (
            HypothesisStatus.REJECTED,
            "traffic normal",
            at(5),
        )
        entry = first_entry(change)
        assert (entry.text, entry.data["number"], entry.data["hypothesis"]) == ("traffic normal", 1, "DDoS")

    def test_reject_unknown_number_lists_known_ones(self) -> None:
        """Rejecting a number that does not exist names the known ones and how to add one."""
        incident = apply(incident_in(INV), AddHypothesis("bad deploy"), stamp(2)).incident
        with pytest.raises(TransitionError) as raised:
            apply(incident, RejectHypothesis(5), stamp(3))
        message = raised.value.user_message
        assert "no hypothesis #5" in message and "#1, #2" in message and "hypothesis <text>" in message

    def test_confirm_without_hypotheses_says_none_yet(self) -> None:
        """Confirming on an incident with no hypotheses says there are none yet."""
        with pytest.raises(TransitionError, match="none yet"):
            apply(declared(), ConfirmHypothesis(1), stamp(1))

    def test_reject_twice_is_refused(self) -> None:
        """A rejected hypothesis cannot be rejected again."""
        incident = apply(incident_in(INV), RejectHypothesis(1), stamp(2)).incident
        with pytest.raises(TransitionError, match="#1 is already rejected"):
            apply(incident, RejectHypothesis(1, "still no"), stamp(3))

    def test_confirm_sets_the_root_cause(self) -> None:
        """Confirming a hypothesis makes it the incident's root cause, with its note."""
        change = apply(incident_in(INV), ConfirmHypothesis(1, "graphs match"), stamp(4))
        root = change.incident.root_cause
        assert root is not None
        assert (root.number, root.status, root.outcome, root.decided_at) == (
            1,
            HypothesisStatus.CONFIRMED,
            "graphs match",
            at(4),
        )
        assert first_entry(change).data == {"number": 1, "hypothesis": "DDoS"}

    def test_confirm_twice_is_refused(self) -> None:
        """The confirmed root cause cannot be confirmed again."""
        incident = apply(incident_in(INV), ConfirmHypothesis(1), stamp(2)).incident
        with pytest.raises(TransitionError, match="#1 is already the confirmed root cause"):
            apply(incident, ConfirmHypothesis(1), stamp(3))

    def test_second_root_cause_is_refused_until_the_first_is_rejected(self) -> None:
        """A second confirmation tells the user to reject the current root cause first."""
        incident = apply(incident_in(INV), AddHypothesis("bad deploy"), stamp(2)).incident
        incident = apply(incident, ConfirmHypothesis(1), stamp(3)).incident
        with pytest.raises(TransitionError) as raised:
            apply(incident, ConfirmHypothesis(2), stamp(4))
        assert "`hypothesis reject 1 <reason>`" in raised.value.user_message
        incident = apply(incident, RejectHypothesis(1, "wrong"), stamp(5)).incident
        incident = apply(incident, ConfirmHypothesis(2), stamp(6)).incident
        assert incident.root_cause is not None and incident.root_cause.number == 2

    def test_deciding_leaves_other_hypotheses_alone(self) -> None:
        """Rejecting one hypothesis does not touch the others."""
        incident = apply(incident_in(INV), AddHypothesis("bad deploy"), stamp(2)).incident
        incident = apply(incident, RejectHypothesis(2), stamp(3)).incident
        assert [h.status for h in incident.hypotheses] == [HypothesisStatus.OPEN, HypothesisStatus.REJECTED]


class TestLead:
    def test_lead_records_user_previous_and_name(self) -> None:
        """A new lead is set and the entry names the previous one."""
        incident = apply(declared(), SetLead(UserRef("U0A", "ann")), stamp(1)).incident
        change = apply(incident, SetLead(UserRef("U0B")), stamp(2))
        assert change.incident.lead == "U0B"
        assert first_entry(change).data == {"user": "U0B", "previous": "U0A"}
        assert incident.lead == "U0A"

    def test_same_lead_is_refused(self) -> None:
        """Naming the current lead again is refused naming them: a person, which Slack mentions."""
        incident = apply(declared(), SetLead(UserRef("U0ANNA1", "ann")), stamp(1)).incident
        with pytest.raises(TransitionError, match=r"^@U0ANNA1 already leads INC-7\.$") as raised:
            apply(incident, SetLead(UserRef("U0ANNA1")), stamp(2))
        assert raised.value.parts == (Person("U0ANNA1"), " already leads INC-7.")
        assert raised.value.render(person_mention) == "<@U0ANNA1> already leads INC-7."

    def test_same_lead_with_the_name_slack_sent_is_at_name(self) -> None:
        """When the mention carried the display name, the neutral sentence says @ann (Slack still mentions)."""
        incident = apply(declared(), SetLead(UserRef("U0ANNA1", "ann")), stamp(1)).incident
        with pytest.raises(TransitionError) as raised:
            apply(incident, SetLead(UserRef("U0ANNA1", "ann")), stamp(2))
        assert (raised.value.user_message, raised.value.names) == ("@ann already leads INC-7.", {"U0ANNA1": "ann"})
        assert raised.value.render(person_mention) == "<@U0ANNA1> already leads INC-7."

    @pytest.mark.parametrize(
        ("lead", "neutral", "in_slack"),
        [("alice", "@alice", "@alice"), ("w3c", "@w3c", "@w3c"), ("U0ALICE", "@U0ALICE", "<@U0ALICE>")],
    )
    def test_same_lead_named_in_the_cli_is_shown_as_at_name(self, lead: str, neutral: str, in_slack: str) -> None:
        """A lead named in the CLI is "@alice already leads INC-7." everywhere; a Slack user is @id until
        Slack renders the mention."""
        incident = apply(declared(), SetLead(UserRef(lead)), stamp(1)).incident
        with pytest.raises(TransitionError) as raised:
            apply(incident, SetLead(UserRef(lead)), stamp(2))
        assert raised.value.user_message == f"{neutral} already leads INC-7."
        assert raised.value.render(person_mention) == f"{in_slack} already leads INC-7."


class TestAssemble:
    def test_members_join_with_roles_and_names(self) -> None:
        """Assembling adds members with roles at occurred_at and keeps display names."""
        action = Assemble((Assignee(UserRef("U0A", "ann"), "networking"), Assignee(UserRef("U0B"))))
        change = apply(declared(), action, stamp(4))
        assert change.incident.members == (Member("U0A", "networking", at(4)), Member("U0B", None, at(4)))
        assert first_entry(change).data == {
            "members": [{"user": "U0A", "role": "networking"}, {"user": "U0B", "role": None}],
            "names": {"U0A": "ann"},
            "status_from": "declared",
            "status_to": "investigating",
        }

    def test_duplicates_in_one_command_collapse(self) -> None:
        """The same person twice in one command joins once, with the last role given."""
        action = Assemble((Assignee(UserRef("U0A")), Assignee(UserRef("U0A"), "db")))
        change = apply(declared(), action, stamp(1))
        assert change.incident.members == (Member("U0A", "db", at(1)),)
        assert first_entry(change).data["members"] == [{"user": "U0A", "role": "db"}]

    def test_existing_members_are_skipped(self) -> None:
        """Only people not yet in the IRT (or with a new role) appear in the entry."""
        incident = apply(declared(), Assemble((Assignee(UserRef("U0A"), "db"),)), stamp(1)).incident
        change = apply(incident, Assemble((Assignee(UserRef("U0A")), Assignee(UserRef("U0B")))), stamp(2))
        assert first_entry(change).data["members"] == [{"user": "U0B", "role": None}]
        assert change.incident.member("U0A") == Member("U0A", "db", at(1))

    def test_everyone_already_in_is_refused(self) -> None:
        """Assembling only existing members with the same roles is refused."""
        incident = apply(declared(), Assemble((Assignee(UserRef("U0A"), "db"),)), stamp(1)).incident
        with pytest.raises(TransitionError, match="already in the IRT of INC-7"):
            apply(incident, Assemble((Assignee(UserRef("U0A"), "db"), Assignee(UserRef("U0A")))), stamp(2))

    def test_role_change_keeps_the_join_time(self) -> None:
        """Giving a member a new role records it but keeps when they joined."""
        incident = apply(declared(), Assemble((Assignee(UserRef("U0A"), "db"),)), stamp(1)).incident
        change = apply(incident, Assemble((Assignee(UserRef("U0A"), "networking"),)), stamp(5))
        assert change.incident.members == (Member("U0A", "networking", at(1)),)
        assert first_entry(change).data["members"] == [{"user": "U0A", "role": "networking"}]

    def test_unexpanded_group_is_refused(self) -> None:
        """A user group must be expanded by the adapter before it reaches the domain."""
        with pytest.raises(TransitionError, match="User groups must be expanded"):
            apply(declared(), Assemble((Assignee(GroupRef("S0NET", "@netops")),)), stamp(1))


class TestSeverity:
    def test_change_records_from_and_to(self) -> None:
        """A severity change updates the incident and records both values."""
        change = apply(declared(severity=Severity.SEV3), ChangeSeverity(Severity.SEV1), stamp(1))
        assert change.incident.severity is Severity.SEV1
        assert first_entry(change).data == {"severity_from": "sev3", "severity_to": "sev1"}

    def test_unchanged_severity_is_refused(self) -> None:
        """Setting the current severity is refused and says what it already is."""
        with pytest.raises(TransitionError, match="INC-7 is already sev2"):
            apply(declared(severity=Severity.SEV2), ChangeSeverity(Severity.SEV2), stamp(1))


class TestResolveAndReopen:
    def test_resolve_records_who_when_and_summary(self) -> None:
        """Resolving stores the resolver, time and summary."""
        change = apply(incident_in(INV), Resolve("edge healthy"), stamp(9, actor=RESOLVER))
        incident = change.incident
        assert (incident.resolved_at, incident.resolved_by) == (at(9), RESOLVER)
        assert incident.summary == "edge healthy"
        assert first_entry(change).text == "edge healthy"

    def test_resolve_twice_names_the_resolver_and_time(self) -> None:
        """Resolving a resolved incident says who resolved it and when."""
        with pytest.raises(TransitionError) as raised:
            apply(incident_in(RES), Resolve(), stamp(10))
        message = raised.value.render(person_mention)
        assert "INC-7 was already resolved" in message
        assert "<@U0BOB>" in message and "2026-11-22 13:03 UTC" in message
        assert "<@" not in raised.value.user_message

    def test_work_on_a_resolved_incident_says_to_reopen(self) -> None:
        """A hypothesis on a resolved incident is refused with the reopen command to use."""
        with pytest.raises(TransitionError) as raised:
            apply(incident_in(RES), AddHypothesis("x"), stamp(10))
        message = raised.value.user_message
        assert "INC-7 is resolved" in message and "`/incident INC-7 reopen <reason>`" in message

    def test_reopen_open_incident_is_refused(self) -> None:
        """Reopening an open incident says it is still open and in which status."""
        with pytest.raises(TransitionError, match=r"INC-7 is still open \(mitigated\)"):
            apply(incident_in(MIT), Reopen(), stamp(10))

    def test_reopen_clears_resolution_and_keeps_summary(self) -> None:
        """Reopening clears resolved_at/by, moves to investigating and keeps the earlier summary."""
        change = apply(incident_in(RES), Reopen("502s back"), stamp(10))
        incident = change.incident
        assert (incident.status, incident.resolved_at, incident.resolved_by) == (INV, None, None)
        assert incident.summary == "all good"
        entry = first_entry(change)
        assert (entry.text, entry.data["status_from"], entry.data["status_to"]) == (
            "502s back",
            "resolved",
            "investigating",
        )

    def test_resolve_again_without_summary_keeps_the_old_one(self) -> None:
        """A second resolution without a summary keeps the first summary and records the new time."""
        incident = apply(incident_in(RES), Reopen(), stamp(10)).incident
        incident = apply(incident, Resolve(), stamp(20)).incident
        assert (incident.summary, incident.resolved_at, incident.resolved_by) == ("all good", at(20), ACTOR)

    def test_mitigate_does_not_mark_mitigated(self) -> None:
        """A mitigation attempt on an investigating incident leaves it investigating."""
        change = apply(incident_in(INV), Mitigate("rate limit"), stamp(5))
        assert change.incident.status is INV and not change.status_changed

    def test_rollback_marks_mitigated(self) -> None:
        """A rollback moves an investigating incident to mitigated."""
        change = apply(incident_in(INV), Rollback("deploy 42"), stamp(5))
        assert change.incident.status is MIT and first_entry(change).text == "deploy 42"


class TestFollowups:
    def test_followups_are_numbered_with_owner(self) -> None:
        """Follow-ups get consecutive numbers and record their owner and name."""
        incident = declared()
        first = apply(incident, AddFollowup("alerting on 5xx"), stamp(1))
        second = apply(first.incident, AddFollowup("canary WAF", UserRef("U0C", "carol")), stamp(2))
        assert [(f.number, f.text, f.owner) for f in second.incident.followups] == [
            (1, "alerting on 5xx", None),
            (2, "canary WAF", "U0C"),
        ]
        assert first_entry(first).data == {"number": 1, "owner": None}
        assert first_entry(second).data == {"number": 2, "owner": "U0C", "names": {"U0C": "carol"}}

    def test_followups_are_welcome_after_resolution(self) -> None:
        """A resolved incident still takes follow-ups and stays resolved."""
        change = apply(incident_in(RES), AddFollowup("postmortem review"), stamp(30))
        assert change.incident.status is RES and change.incident.followups[-1].text == "postmortem review"


STATUS_CHANGES: dict[type, Transition] = {
    Mitigate: SAMPLES[Mitigate],
    Rollback: SAMPLES[Rollback],
    Monitor: SAMPLES[Monitor],
    Resolve: SAMPLES[Resolve],
    Reopen: SAMPLES[Reopen],
    ChangeSeverity: SAMPLES[ChangeSeverity],
}
"""The actions whose entries change status or severity (written here, not read from the module)."""


class TestStatusChangeOrder:
    """A backdated status or severity change may not come before the incident's latest one."""

    def test_tester_resolve_reopen_resolve(self) -> None:
        """Resolved 12:45, reopened 13:20: resolving "at 13:10" is refused naming the reopening at 13:20."""
        incident = apply(declared(), AddHypothesis("DDoS"), stamp(1)).incident
        incident = apply(incident, Resolve("ok"), Stamp(ACTOR, at(45), at(46))).incident
        incident = apply(incident, Reopen("back"), Stamp(ACTOR, at(80), at(81))).incident
        with pytest.raises(TimeParseError) as raised:
            apply(incident, Resolve("ok again"), Stamp(ACTOR, at(70), at(90)))
        assert raised.value.user_message == (
            "2026-11-22 14:10 UTC is before the latest status change of INC-7 (reopened at 2026-11-22 14:20 UTC). "
            "Record this change at or after that time."
        )
        resolved = apply(incident, Resolve("ok again"), Stamp(ACTOR, at(90), at(91))).incident
        assert resolved.status is Status.RESOLVED and resolved.resolved_at == at(90)

    @pytest.mark.parametrize("first", list(STATUS_CHANGES))
    @pytest.mark.parametrize("second", list(STATUS_CHANGES))
    @pytest.mark.parametrize("offset", [-10, -1, 0, 1, 10])
    def test_every_pair_of_status_changes(self, first: type, second: type, offset: int) -> None:
        """After any status change at 13:30, any other one is refused before 13:30 and accepted from 13:30."""
        incident = incident_in(Status.RESOLVED if first is Reopen else Status.INVESTIGATING)
        if first is ChangeSeverity:
            incident = incident.with_changes(severity=Severity.SEV3)
        incident = apply(incident, STATUS_CHANGES[first], stamp(30)).incident
        if (incident.status, second) not in SPEC_TABLE:
            incident = incident.with_changes(status=Status.RESOLVED if second is Reopen else Status.INVESTIGATING)
        if second is ChangeSeverity:
            incident = incident.with_changes(severity=Severity.SEV3)
        if offset < 0:
            with pytest.raises(TimeParseError, match="is before the latest status change of INC-7"):
                apply(incident, STATUS_CHANGES[second], stamp(30 + offset, recorded_minutes=60))
        else:
            after = apply(incident, STATUS_CHANGES[second], stamp(30 + offset, recorded_minutes=60)).incident
            assert after.latest_change is not None and after.latest_change.occurred_at == at(30 + offset)

    @pytest.mark.parametrize("action", [a for a in SAMPLES if a not in STATUS_CHANGES])
    def test_other_entries_may_be_backdated_before_it(self, action: type) -> None:
        """Notes, hypotheses, leads... may still be backdated before the latest status change."""
        incident = apply(incident_in(Status.MITIGATED), Mitigate("more"), stamp(30)).incident
        assert (incident.status, action) in SPEC_TABLE
        change = apply(incident, SAMPLES[action], stamp(5, recorded_minutes=60))
        assert change.entries[0].occurred_at == at(5)
        assert change.incident.latest_change == incident.latest_change


class TestBuiltAtImportTime:
    """The table and the text recorders are built when the module is imported; built again, they agree.

    (Mutation testing activates a mutant only after import, so these checks call the builders again.)
    """

    def test_table_builder_gives_the_specified_life_cycle(self) -> None:
        """Building the table again gives exactly the specified pairs."""
        assert lifecycle._transitions() == SPEC_TABLE

    @pytest.mark.parametrize(
        ("kind", "action"),
        [
            (EntryKind.MITIGATION, Mitigate("raised the rate limit")),
            (EntryKind.ROLLBACK, Rollback("deploy 41")),
            (EntryKind.NOTE, AddNote("status page updated")),
        ],
    )
    def test_text_recorder_writes_its_kind_and_the_text(self, kind: EntryKind, action: Mitigate) -> None:
        """A text recorder leaves the incident as it is and writes one entry of its kind with the typed text."""
        incident = declared()
        changed, entry = lifecycle._record_text(kind)(incident, action, stamp(4))
        assert changed is incident
        assert entry == TimelineEntry(kind, at(4), at(4), ACTOR, action.text, {})


class TestRefusalsWordForWord:
    @pytest.mark.parametrize(
        ("action", "verb"),
        [
            (SetLead(UserRef("U0LEAD")), "lead"),
            (Assemble((Assignee(UserRef("U0NEW")),)), "assemble"),
            (AddHypothesis("x"), "hypothesis"),
            (RejectHypothesis(1), "hypothesis"),
            (ConfirmHypothesis(1), "hypothesis"),
            (Mitigate("x"), "mitigate"),
            (Rollback("x"), "rollback"),
            (Nudge(15), "nudge"),
        ],
    )
    def test_work_on_a_resolved_incident_names_the_command(self, action: Transition, verb: str) -> None:
        """Each refused command on a resolved incident is named as users type it."""
        with pytest.raises(TransitionError) as raised:
            apply(incident_in(RES), action, stamp(10))
        assert raised.value.user_message == (
            f"INC-7 is resolved, so it takes no more {verb}. If the problem is back, "
            "`/incident INC-7 reopen <reason>` first; notes and follow-ups are still welcome."
        )

    def test_resolved_twice_exact_message(self) -> None:
        """Who resolved it (a Slack mention) and when, in UTC."""
        with pytest.raises(TransitionError) as raised:
            apply(incident_in(RES), Resolve(), stamp(10))
        assert raised.value.user_message == "INC-7 was already resolved by @U0BOB at 2026-11-22 13:03 UTC."
        assert raised.value.render(person_mention) == "INC-7 was already resolved by <@U0BOB> at 2026-11-22 13:03 UTC."

    def test_resolved_without_a_known_resolver_or_time(self) -> None:
        """A resolved incident whose resolver and time are unknown (e.g. imported) still gets a sentence."""
        incident = declared().with_changes(status=RES)
        with pytest.raises(TransitionError) as raised:
            apply(incident, Resolve(), stamp(10))
        assert raised.value.user_message == "INC-7 was already resolved at earlier."

    def test_declare_through_apply_exact_message(self) -> None:
        """Declaring again says where to declare a new incident."""
        with pytest.raises(TransitionError) as raised:
            apply(declared(), Declare("again", Severity.SEV1), stamp(1))
        assert raised.value.user_message == (
            "INC-7 is already declared. Use `declare` outside an incident channel to open a new incident."
        )

    def test_confirm_without_hypotheses_exact_message(self) -> None:
        """With no hypotheses the known list reads "none yet"."""
        with pytest.raises(TransitionError) as raised:
            apply(declared(), ConfirmHypothesis(1), stamp(1))
        assert raised.value.user_message == (
            "INC-7 has no hypothesis #1 (known: none yet). Add one with `hypothesis <text>`."
        )

    def test_group_in_assemble_exact_message(self) -> None:
        """An unexpanded user group is refused with what must happen first."""
        with pytest.raises(TransitionError) as raised:
            apply(declared(), Assemble((Assignee(GroupRef("S0NET", "netops")),)), stamp(1))
        assert raised.value.user_message == "User groups must be expanded to their members before they join the IRT."


class TestEntryDataExactly:
    """What each recorder writes on its entry, field by field."""

    def test_declaration_records_the_service(self) -> None:
        """A declared service is on the declaration entry."""
        change = declare(Declare("Edge 502s", Severity.SEV1, service="cdn-edge"), 7, Stamp(DECLARER, T0, T0))
        assert change.entries[0].data == {"severity": "sev1", "status_to": "declared", "service": "cdn-edge"}

    def test_lead_entry_has_no_text_and_keeps_the_name(self) -> None:
        """The lead entry: empty text, the user, the previous lead and the name Slack sent."""
        entry = first_entry(apply(declared(), SetLead(UserRef("U0LEAD", "lena")), stamp(1)))
        assert entry.text == ""
        assert entry.data == {"user": "U0LEAD", "previous": None, "names": {"U0LEAD": "lena"}}

    def test_impact_entry_keeps_the_previous_share(self) -> None:
        """50% then 20%: the second entry says it was 50% before."""
        first = apply(declared(), SetImpact(50), stamp(1))
        second = apply(first.incident, SetImpact(20), stamp(2))
        assert first_entry(second).data == {"percent": 20, "previous": 50}

    def test_nudge_entry_keeps_the_silence(self) -> None:
        """A nudge records how many minutes the timeline had been quiet."""
        assert first_entry(apply(declared(), Nudge(20), stamp(1))).data == {"silent_minutes": 20}

    def test_pin_entry_keeps_the_permalink(self) -> None:
        """A pinned message keeps who pinned it and the link back to the message."""
        action = PinMessage("graph", author="U0DAVE", permalink="https://x.slack.com/p1")
        entry = first_entry(apply(declared(), action, stamp(1)))
        assert entry.data == {"pinned_by": ACTOR, "permalink": "https://x.slack.com/p1"}

    @pytest.mark.parametrize("decision", [RejectHypothesis(1, "no"), ConfirmHypothesis(1, "yes")])
    def test_deciding_keeps_who_proposed(self, decision: Transition) -> None:
        """Rejecting or confirming a hypothesis keeps its proposer and proposal time."""
        proposed = apply(declared(), AddHypothesis("DDoS"), stamp(1, actor="U0CAROL"))
        decided = apply(proposed.incident, decision, stamp(2)).incident.hypotheses[0]
        assert (decided.proposed_by, decided.proposed_at, decided.decided_at) == ("U0CAROL", at(1), at(2))
