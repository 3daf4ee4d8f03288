"""The incident state machine: a transition table, and ``apply`` which decides and records.

``apply`` returns the incident's new state plus the timeline entries that record the change, or
raises a TransitionError whose message tells the user what to do instead. Adapters persist and announce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from bot.domain.commands import (
    AddFollowup,
    AddHypothesis,
    AddNote,
    Assemble,
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
    PostmortemChange,
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
    StatuspageChange,
    StatuspageOpen,
    StatuspageResolve,
    StatuspageUpdate,
    StrikeEntry,
    Transition,
    UserRef,
)
from bot.domain.corrections import correction, strike
from bot.domain.errors import TimeParseError, TransitionError
from bot.domain.model import (
    FOLLOWUP_CHANGE_NAMES,
    STATUS_CHANGE_KINDS,
    STATUS_CHANGE_NAMES,
    EntryKind,
    Followup,
    FollowupState,
    Hypothesis,
    HypothesisStatus,
    Incident,
    Member,
    Status,
    StatusChange,
    TimelineEntry,
)
from bot.domain.people import Person, Said
from bot.domain.review import record as record_review
from bot.domain.review import review_state
from bot.domain.statuspage import record_statuspage
from bot.domain.timeparse import DueDate, format_day, format_utc, format_utc_apart
from bot.domain.updates import next_update_data

DECLARED, INVESTIGATING, MITIGATED, MONITORING, RESOLVED = (
    Status.DECLARED,
    Status.INVESTIGATING,
    Status.MITIGATED,
    Status.MONITORING,
    Status.RESOLVED,
)

COLUMNS = (DECLARED, INVESTIGATING, MITIGATED, MONITORING, RESOLVED)
"""The statuses, in the order of the columns of ``LIFE_CYCLE``."""

# The life cycle: for each action, the status it leads to from each status (a column per status);
# None refuses the action in that status. Work on a declared incident means somebody is now
# investigating it; a rollback ends the impact (mitigated); monitoring watches a fix that is in, and
# `reopen` says it did not hold (back to investigating), as it does after a resolve. A resolved
# incident takes no more work, but its record stays correctable (the error budget depends on
# service and impact), and its follow-ups (action items, mostly agreed in the postmortem after the
# resolve) are added and carried to done or dropped in every status.
# fmt: off
LIFE_CYCLE: dict[type[Transition], tuple[Status | None, ...]] = {
    #                    declared       investigating  mitigated      monitoring     resolved
    SetLead:            (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    None),
    ChangeSeverity:     (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    AddNote:            (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    PostUpdate:         (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    AddFollowup:        (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    CompleteFollowup:   (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    ReopenFollowup:     (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    AssignFollowup:     (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    RescheduleFollowup: (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    DropFollowup:       (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    RemindFollowups:    (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    ExportFollowup:     (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    RecordFollowupExport: (DECLARED,    INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    RecordTrackerIssueGone: (DECLARED,  INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    RecordPublication:  (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    PinMessage:         (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    SetService:         (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    SetImpact:          (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    RecordAlert:        (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    Nudge:              (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    None),
    Assemble:           (INVESTIGATING, INVESTIGATING, MITIGATED,     MONITORING,    None),
    AddHypothesis:      (INVESTIGATING, INVESTIGATING, MITIGATED,     MONITORING,    None),
    RejectHypothesis:   (INVESTIGATING, INVESTIGATING, MITIGATED,     MONITORING,    None),
    ConfirmHypothesis:  (INVESTIGATING, INVESTIGATING, MITIGATED,     MONITORING,    None),
    Mitigate:           (INVESTIGATING, INVESTIGATING, MITIGATED,     MONITORING,    None),
    Rollback:           (MITIGATED,     MITIGATED,     MITIGATED,     MITIGATED,     None),
    Monitor:            (None,          MONITORING,    MONITORING,    None,          None),
    Resolve:            (RESOLVED,      RESOLVED,      RESOLVED,      RESOLVED,      None),
    Reopen:             (None,          None,          None,          INVESTIGATING, INVESTIGATING),
    CorrectEntry:       (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    StrikeEntry:        (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    SetPostmortemStatus: (DECLARED,     INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    SetPostmortemOwner: (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    ScheduleReview:     (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    RemindPostmortem:   (None,          None,          None,          None,          RESOLVED),
    StatuspageOpen:     (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    None),
    StatuspageUpdate:   (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
    StatuspageResolve:  (DECLARED,      INVESTIGATING, MITIGATED,     MONITORING,    RESOLVED),
}
# fmt: on


def _transitions() -> dict[tuple[Status, type[Transition]], Status]:
    return {
        (status, action): target
        for action, row in LIFE_CYCLE.items()
        for status, target in zip(COLUMNS, row, strict=True)
        if target is not None
    }


TRANSITIONS: dict[tuple[Status, type[Transition]], Status] = _transitions()
"""``(status, action type) -> next status``, read from ``LIFE_CYCLE``; a missing pair is an illegal transition."""


@dataclass(frozen=True)
class Decision:
    """The outcome of a legal command: the incident after it, and what to add to the timeline."""

    incident: Incident
    entries: tuple[TimelineEntry, ...]

    @property
    def status_changed(self) -> bool:
        return any("status_to" in entry.data for entry in self.entries)


@dataclass(frozen=True)
class Stamp:
    """Who did it and when: ``occurred_at`` may be backdated, ``recorded_at`` is the bot's clock."""

    actor: str
    occurred_at: datetime
    recorded_at: datetime
    actor_name: str | None = None

    def entry(self, kind: EntryKind, text: str = "", **data: Any) -> TimelineEntry:
        """A timeline entry stamped by this actor; names Slack told us are kept for postmortems."""
        names = {**({self.actor: self.actor_name} if self.actor_name else {}), **(data.pop("names", None) or {})}
        if names:
            data["names"] = names
        return TimelineEntry(kind, self.occurred_at, self.recorded_at, self.actor, text, dict(data))


def declare(action: Declare, number: int, stamp: Stamp, channel_id: str | None = None) -> Decision:
    """Open a new incident numbered ``number``."""
    incident = Incident(
        number=number,
        title=action.title,
        severity=action.severity,
        status=Status.DECLARED,
        declared_at=stamp.occurred_at,
        declared_by=stamp.actor,
        channel_id=channel_id,
        description=action.description,
        service=action.service,
        private=action.private,
    )
    data: dict[str, Any] = {"severity": action.severity.value, "status_to": Status.DECLARED.value}
    if action.private:
        data["private"] = True
    if action.description:
        data["description"] = action.description
    if action.service:
        data["service"] = action.service
    entry = stamp.entry(EntryKind.DECLARED, action.title, **data)
    return Decision(incident, (entry,))


def apply(incident: Incident, action: Transition, stamp: Stamp, timeline: Sequence[TimelineEntry] = ()) -> Decision:
    """Apply a state-changing command, or raise TransitionError/TimeParseError explaining why not.

    ``timeline`` (the incident's stored entries, numbered) is read by ``correct`` and ``strike``, which
    add an entry pointing at the one they name and change no state (``bot.domain.corrections``), and by the
    postmortem's review commands, decided against the review state it holds (``bot.domain.review``).
    """
    if isinstance(action, CorrectEntry | StrikeEntry):
        if isinstance(action, CorrectEntry):
            kind, (text, data) = (
                EntryKind.CORRECTION,
                correction(incident, timeline, action.number, action.text, action.at),
            )
        else:
            kind, (text, data) = EntryKind.STRIKE, strike(incident, timeline, action.number, action.reason)
        return Decision(incident, (stamp.entry(kind, text, **data),))
    if isinstance(action, Declare):
        raise TransitionError(
            f"{incident.incident_id} is already declared. Use `declare` outside an incident channel "
            "to open a new incident."
        )
    if not isinstance(action, RecordAlert):  # an alert may have fired before anyone declared: keep its time
        _check_not_before_declaration(incident, stamp)
    next_status = TRANSITIONS.get((incident.status, type(action)))
    if next_status is None:
        raise TransitionError(_refusal(incident, action))
    if isinstance(action, PostmortemChange):  # decided by bot.domain.review on the review entries; no state change
        return Decision(incident, (record_review(incident, action, review_state(timeline), stamp.entry),))
    if isinstance(action, StatuspageChange):  # decided by bot.domain.statuspage on its entries; no state change
        return Decision(incident, (record_statuspage(incident, action, timeline, stamp.entry),))
    changed, entry = _RECORDERS[type(action)](incident, action, stamp)
    if entry.kind in STATUS_CHANGE_KINDS:
        _check_not_before_latest_change(incident, entry)
        changed = changed.with_changes(latest_change=StatusChange(entry.kind, entry.occurred_at))
    if entry.kind in FOLLOWUP_CHANGE_NAMES:
        changed = _followup_in_order(incident, changed, entry)
    if next_status is not incident.status:
        entry = _with_status_change(entry, incident.status, next_status)
        changed = changed.with_changes(status=next_status)
    return Decision(changed, (entry,))


def _check_not_before_declaration(incident: Incident, stamp: Stamp) -> None:
    if stamp.occurred_at < incident.declared_at:
        when, declared = format_utc_apart(stamp.occurred_at, incident.declared_at)
        raise TimeParseError(
            f"{when} is before {incident.incident_id} was declared "
            f"({declared}). Pick a time after the declaration; an earlier start can only "
            "be given when declaring, with `--at` on `declare`."
        )


_FOLLOWUP_VERBS = {
    EntryKind.FOLLOWUP_DONE: "done",
    EntryKind.FOLLOWUP_REOPENED: "reopened",
    EntryKind.FOLLOWUP_OWNER: "handed over",
    EntryKind.FOLLOWUP_DUE: "rescheduled",
    EntryKind.FOLLOWUP_DROPPED: "dropped",
    EntryKind.FOLLOWUP_EXPORT: "filed",
}


def _followup_in_order(before: Incident, after: Incident, entry: TimelineEntry) -> Incident:
    """A follow-up change may not come before the follow-up was added nor before its latest change (its
    state must follow the timeline order); ``after`` with that follow-up's latest change set to ``entry``.
    Raises TimeParseError naming both times (UTC)."""
    number = int(entry.data["number"])
    followup = _find_followup(before, number)
    if entry.occurred_at < followup.created_at:
        when, added = format_utc_apart(entry.occurred_at, followup.created_at)
        raise TimeParseError(
            f"{when} is before follow-up #{number} was added ({added}); "
            f"it cannot be {_FOLLOWUP_VERBS[entry.kind]} before it existed."
        )
    latest = followup.latest_change
    if latest is not None and entry.occurred_at < latest.occurred_at:
        when, changed_at = format_utc_apart(entry.occurred_at, latest.occurred_at)
        raise TimeParseError(
            f"{when} is before the latest change of follow-up #{number} "
            f"({FOLLOWUP_CHANGE_NAMES[latest.kind]} at {changed_at}). Record this "
            "change at or after that time."
        )
    changed = replace(_find_followup(after, number), latest_change=StatusChange(entry.kind, entry.occurred_at))
    return _with_followup(after, changed)


def _check_not_before_latest_change(incident: Incident, entry: TimelineEntry) -> None:
    """A backdated status or severity change may not come before the latest one: the order would lie."""
    latest = incident.latest_change
    if latest is not None and entry.occurred_at < latest.occurred_at:
        when, changed_at = format_utc_apart(entry.occurred_at, latest.occurred_at)
        raise TimeParseError(
            f"{when} is before the latest status change of {incident.incident_id} "
            f"({STATUS_CHANGE_NAMES[latest.kind]} at {changed_at}). Record this "
            "change at or after that time."
        )


def _with_status_change(entry: TimelineEntry, old: Status, new: Status) -> TimelineEntry:
    data = {**entry.data, "status_from": old.value, "status_to": new.value}
    return TimelineEntry(entry.kind, entry.occurred_at, entry.recorded_at, entry.actor, entry.text, data)


def _refusal(incident: Incident, action: Transition) -> str | Said:
    """Why an action is illegal in this status, and what to do instead."""
    ident = incident.incident_id
    if incident.status is Status.RESOLVED:
        if isinstance(action, Resolve):
            when = format_utc(incident.resolved_at) if incident.resolved_at else "earlier"
            by = (" by ", Person(incident.resolved_by)) if incident.resolved_by else ()
            return (f"{ident} was already resolved", *by, f" at {when}.")
        return (
            f"{ident} is resolved, so it takes no more {_verb(action)}. If the problem is back, "
            f"`/incident {ident} reopen <reason>` first; notes and follow-ups are still welcome."
        )
    if isinstance(action, Reopen):
        return f"{ident} is still open ({incident.status.value}); there is nothing to reopen."
    if isinstance(action, Monitor) and incident.status is Status.MONITORING:
        return (
            f"{ident} is already being monitored. `resolve [summary]` when the fix holds, "
            "`reopen <reason>` if it did not."
        )
    if isinstance(action, Monitor):
        return (
            f"`monitor` follows a fix, and {ident} is {incident.status.value}: record the fix first "
            "(`mitigate <what you did>` or `rollback <change>`), then `monitor <what you watch>`."
        )
    return f"`{_verb(action)}` is not possible while {ident} is {incident.status.value}."


def _verb(action: Transition) -> str:
    return action.verb


def _names(*users: UserRef | None) -> dict[str, str]:
    """Display names Slack sent along with mentions, kept so postmortems can say @alice."""
    return {user.user_id: user.name for user in users if user is not None and user.name}


def _record_lead(incident: Incident, action: SetLead, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    if incident.lead == action.user.user_id:
        raise TransitionError(
            (Person(action.user.user_id, action.user.name), f" already leads {incident.incident_id}.")
        )
    entry = stamp.entry(EntryKind.LEAD, user=action.user.user_id, previous=incident.lead, names=_names(action.user))
    return incident.with_changes(lead=action.user.user_id), entry


def _record_assemble(incident: Incident, action: Assemble, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    members = {member.user_id: member for member in incident.members}
    joined: list[dict[str, str | None]] = []
    names: dict[str, str] = {}
    for assignee in action.assignees:
        if not isinstance(assignee.who, UserRef):
            raise TransitionError("User groups must be expanded to their members before they join the IRT.")
        user_id = assignee.who.user_id
        current = members.get(user_id)
        if current is not None and (assignee.role is None or current.role == assignee.role):
            continue
        joined_at = current.joined_at if current is not None else stamp.occurred_at  # a new role is no new join
        members[user_id] = Member(user_id, assignee.role, joined_at)
        joined = [j for j in joined if j["user"] != user_id] + [{"user": user_id, "role": assignee.role}]
        names.update(_names(assignee.who))
    if not joined:
        raise TransitionError(f"Everyone named is already in the IRT of {incident.incident_id}, with those roles.")
    entry = stamp.entry(EntryKind.ASSEMBLED, members=joined, names=names)
    return incident.with_changes(members=tuple(members.values())), entry


def _record_hypothesis(incident: Incident, action: AddHypothesis, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    number = max((h.number for h in incident.hypotheses), default=0) + 1
    hypothesis = Hypothesis(number, action.text, stamp.actor, stamp.occurred_at)
    entry = stamp.entry(EntryKind.HYPOTHESIS, action.text, number=number)
    return incident.with_changes(hypotheses=(*incident.hypotheses, hypothesis)), entry


def _find_hypothesis(incident: Incident, number: int) -> Hypothesis:
    hypothesis = incident.hypothesis(number)
    if hypothesis is None:
        known = ", ".join(f"#{h.number}" for h in incident.hypotheses) or "none yet"
        raise TransitionError(
            f"{incident.incident_id} has no hypothesis #{number} (known: {known}). Add one with `hypothesis <text>`."
        )
    return hypothesis


def _decide(incident: Incident, decided: Hypothesis) -> Incident:
    hypotheses = tuple(decided if h.number == decided.number else h for h in incident.hypotheses)
    return incident.with_changes(hypotheses=hypotheses)


def _record_reject(incident: Incident, action: RejectHypothesis, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    hypothesis = _find_hypothesis(incident, action.number)
    if hypothesis.status is HypothesisStatus.REJECTED:
        raise TransitionError(f"Hypothesis #{action.number} is already rejected.")
    decided = Hypothesis(
        hypothesis.number,
        hypothesis.text,
        hypothesis.proposed_by,
        hypothesis.proposed_at,
        HypothesisStatus.REJECTED,
        action.reason,
        stamp.occurred_at,
    )
    entry = stamp.entry(EntryKind.HYPOTHESIS_REJECTED, action.reason, number=action.number, hypothesis=hypothesis.text)
    return _decide(incident, decided), entry


def _record_confirm(incident: Incident, action: ConfirmHypothesis, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    hypothesis = _find_hypothesis(incident, action.number)
    if hypothesis.status is HypothesisStatus.CONFIRMED:
        raise TransitionError(f"Hypothesis #{action.number} is already the confirmed root cause.")
    confirmed = incident.root_cause
    if confirmed is not None:
        raise TransitionError(
            f"Hypothesis #{confirmed.number} is already the confirmed root cause; reject it first "
            f"with `hypothesis reject {confirmed.number} <reason>`."
        )
    decided = Hypothesis(
        hypothesis.number,
        hypothesis.text,
        hypothesis.proposed_by,
        hypothesis.proposed_at,
        HypothesisStatus.CONFIRMED,
        action.note,
        stamp.occurred_at,
    )
    entry = stamp.entry(EntryKind.HYPOTHESIS_CONFIRMED, action.note, number=action.number, hypothesis=hypothesis.text)
    return _decide(incident, decided), entry


def _record_text(kind: EntryKind) -> Any:
    def record(
        incident: Incident, action: Mitigate | Rollback | Monitor | AddNote, stamp: Stamp
    ) -> tuple[Incident, TimelineEntry]:
        return incident, stamp.entry(kind, action.text)

    return record


def _record_resolve(incident: Incident, action: Resolve, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    changed = incident.with_changes(
        resolved_at=stamp.occurred_at, resolved_by=stamp.actor, summary=action.summary or incident.summary
    )
    return changed, stamp.entry(EntryKind.RESOLVED, action.summary)


def _record_reopen(incident: Incident, action: Reopen, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    changed = incident.with_changes(resolved_at=None, resolved_by=None)
    return changed, stamp.entry(EntryKind.REOPENED, action.reason)


def _record_severity(incident: Incident, action: ChangeSeverity, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    if action.severity is incident.severity:
        raise TransitionError(f"{incident.incident_id} is already {incident.severity.value}.")
    entry = stamp.entry(EntryKind.SEVERITY, severity_from=incident.severity.value, severity_to=action.severity.value)
    return incident.with_changes(severity=action.severity), entry


def _record_followup(incident: Incident, action: AddFollowup, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    number = max((f.number for f in incident.followups), default=0) + 1
    owner = action.owner.user_id if action.owner else None
    due = _due_day(action.due, stamp, stamp.occurred_at, f"follow-up #{number}") if action.due else None
    followup = Followup(number, action.text, owner, stamp.occurred_at, due=due)
    data: dict[str, Any] = {"number": number, "owner": owner, "names": _names(action.owner)}
    if due is not None:
        data["due"] = format_day(due)
    entry = stamp.entry(EntryKind.FOLLOWUP, action.text, **data)
    return incident.with_changes(followups=(*incident.followups, followup)), entry


def _due_day(due: DueDate, stamp: Stamp, created_at: datetime, what: str) -> date:
    """The day ``due`` names, typed on the recording day (UTC); never before ``what`` was added."""
    day = due.on(stamp.recorded_at.astimezone(UTC).date())
    created = created_at.astimezone(UTC).date()
    if day < created:
        raise TimeParseError(
            f"Due {format_day(day)} is before {what} was added ({format_day(created)}); give a later date."
        )
    return day


def _find_followup(incident: Incident, number: int) -> Followup:
    followup = incident.followup(number)
    if followup is None:
        known = ", ".join(f"#{f.number}" for f in incident.followups) or "none yet"
        raise TransitionError(
            f"{incident.incident_id} has no follow-up #{number} (it has: {known}). "
            "`followups` lists them; add one with `followup <text> [@owner]`."
        )
    return followup


def _with_followup(incident: Incident, changed: Followup) -> Incident:
    return incident.with_changes(
        followups=tuple(changed if f.number == changed.number else f for f in incident.followups)
    )


def _followup_entry(stamp: Stamp, kind: EntryKind, followup: Followup, text: str = "", **data: Any) -> TimelineEntry:
    return stamp.entry(kind, text, number=followup.number, followup=followup.text, **data)


def _record_followup_done(incident: Incident, action: CompleteFollowup, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    followup = _find_followup(incident, action.number)
    if followup.state is FollowupState.DONE:
        when = format_utc(followup.done_at) if followup.done_at else "earlier"
        raise TransitionError(f"Follow-up #{action.number} is already done (at {when}).")
    if followup.state is FollowupState.DROPPED:
        raise TransitionError(
            f"Follow-up #{action.number} was dropped; `followup reopen {action.number}` first if it is back on."
        )
    done = replace(followup, state=FollowupState.DONE, done_at=stamp.occurred_at)
    entry = _followup_entry(stamp, EntryKind.FOLLOWUP_DONE, followup, action.note)
    return _with_followup(incident, done), entry


def _record_followup_reopen(incident: Incident, action: ReopenFollowup, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    followup = _find_followup(incident, action.number)
    if followup.state is FollowupState.OPEN:
        raise TransitionError(f"Follow-up #{action.number} is still open; there is nothing to reopen.")
    reopened = replace(followup, state=FollowupState.OPEN, done_at=None)
    entry = _followup_entry(
        stamp, EntryKind.FOLLOWUP_REOPENED, followup, action.reason, state_from=followup.state.value
    )
    return _with_followup(incident, reopened), entry


def _record_followup_owner(incident: Incident, action: AssignFollowup, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    followup = _find_followup(incident, action.number)
    if followup.owner == action.owner.user_id:
        raise TransitionError(
            (Person(action.owner.user_id, action.owner.name), f" already owns follow-up #{action.number}.")
        )
    changed = replace(followup, owner=action.owner.user_id)
    entry = _followup_entry(
        stamp,
        EntryKind.FOLLOWUP_OWNER,
        followup,
        owner=action.owner.user_id,
        previous=followup.owner,
        names=_names(action.owner),
    )
    return _with_followup(incident, changed), entry


def _record_followup_due(
    incident: Incident, action: RescheduleFollowup, stamp: Stamp
) -> tuple[Incident, TimelineEntry]:
    followup = _find_followup(incident, action.number)
    day = _due_day(action.due, stamp, followup.created_at, f"follow-up #{action.number}")
    if followup.due == day:
        raise TransitionError(f"Follow-up #{action.number} is already due {format_day(day)}.")
    changed = replace(followup, due=day)
    previous = format_day(followup.due) if followup.due else None
    entry = _followup_entry(stamp, EntryKind.FOLLOWUP_DUE, followup, due=format_day(day), previous=previous)
    return _with_followup(incident, changed), entry


def _record_followup_drop(incident: Incident, action: DropFollowup, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    followup = _find_followup(incident, action.number)
    if followup.state is FollowupState.DROPPED:
        raise TransitionError(f"Follow-up #{action.number} is already dropped.")
    if followup.state is FollowupState.DONE:
        raise TransitionError(
            f"Follow-up #{action.number} is done; `followup reopen {action.number}` first to drop it instead."
        )
    dropped = replace(followup, state=FollowupState.DROPPED, done_at=None)
    entry = _followup_entry(stamp, EntryKind.FOLLOWUP_DROPPED, followup, action.reason)
    return _with_followup(incident, dropped), entry


def _record_followup_reminder(
    incident: Incident, action: RemindFollowups, stamp: Stamp
) -> tuple[Incident, TimelineEntry]:
    overdue = [f for f in incident.followups if f.is_overdue(action.day)]
    if not overdue:
        raise TransitionError(f"{incident.incident_id} has no overdue follow-up on {format_day(action.day)}.")
    owners = {str(f.number): f.owner for f in overdue}
    entry = stamp.entry(
        EntryKind.FOLLOWUP_REMINDER, day=format_day(action.day), numbers=[f.number for f in overdue], owners=owners
    )
    return incident, entry


def _record_followup_export(incident: Incident, action: ExportFollowup, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    followup = _find_followup(incident, action.number)
    if followup.tracker_key is not None:
        raise TransitionError(
            f"Follow-up #{action.number} is already filed as {followup.tracker_key}"
            + (f" ({followup.tracker_url})." if followup.tracker_url else ".")
        )
    if followup.state is FollowupState.DROPPED:
        raise TransitionError(
            f"Follow-up #{action.number} was dropped; `followup reopen {action.number}` first to file it."
        )
    return incident, _followup_entry(stamp, EntryKind.FOLLOWUP_EXPORT, followup)


def _record_followup_exported(
    incident: Incident, action: RecordFollowupExport, stamp: Stamp
) -> tuple[Incident, TimelineEntry]:
    followup = _find_followup(incident, action.number)
    if followup.tracker_key is not None:
        raise TransitionError(f"Follow-up #{action.number} is already filed as {followup.tracker_key}.")
    changed = replace(followup, tracker_key=action.key, tracker_url=action.url)
    linked: dict[str, Any] = {"linked": list(action.linked)} if action.linked else {}
    entry = _followup_entry(stamp, EntryKind.FOLLOWUP_EXPORTED, followup, key=action.key, url=action.url, **linked)
    return _with_followup(incident, changed), entry


def _record_followup_tracker_gone(
    incident: Incident, action: RecordTrackerIssueGone, stamp: Stamp
) -> tuple[Incident, TimelineEntry]:
    """The issue is gone: the follow-up forgets its key and URL (nothing to read nor link any more;
    ``followup export <n>`` may file it anew); the entry keeps both, with the tracker's reason."""
    followup = _find_followup(incident, action.number)
    if followup.tracker_key != action.key:
        filed = f"filed as {followup.tracker_key}" if followup.tracker_key else "not filed"
        raise TransitionError(f"Follow-up #{action.number} is {filed}, not as {action.key}.")
    changed = replace(followup, tracker_key=None, tracker_url=None)
    entry = _followup_entry(
        stamp, EntryKind.FOLLOWUP_TRACKER_GONE, followup, action.reason, key=action.key, url=followup.tracker_url
    )
    return _with_followup(incident, changed), entry


def _record_pin(incident: Incident, action: PinMessage, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    entry = TimelineEntry(
        EntryKind.PINNED,
        stamp.occurred_at,
        stamp.recorded_at,
        action.author,
        action.text,
        {"pinned_by": stamp.actor, "permalink": action.permalink},
    )
    return incident, entry


def _record_service(incident: Incident, action: SetService, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    if incident.service == action.name:
        raise TransitionError(f"{incident.incident_id} is already charged to {action.name}.")
    entry = stamp.entry(EntryKind.SERVICE, service=action.name, previous=incident.service)
    return incident.with_changes(service=action.name), entry


def _record_impact(incident: Incident, action: SetImpact, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    entry = stamp.entry(EntryKind.IMPACT, percent=action.percent, previous=incident.impact_percent)
    return incident.with_changes(impact_percent=action.percent), entry


def _record_alert(incident: Incident, action: RecordAlert, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    kind = EntryKind.ALERT_CLEARED if action.cleared else EntryKind.ALERT_FIRED
    return incident, stamp.entry(kind, action.summary, **dict(action.data))


def _record_publication(incident: Incident, action: RecordPublication, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    digest = {"digest": action.digest} if action.digest else {}
    entry = stamp.entry(
        EntryKind.POSTMORTEM_PUBLISHED,
        target=action.target,
        ref=action.ref,
        url=action.url,
        version=action.version,
        **digest,
    )
    return incident, entry


def _record_nudge(incident: Incident, action: Nudge, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    asked = {"update_due": action.update_due} if action.update_due else {}
    return incident, stamp.entry(EntryKind.NUDGE, silent_minutes=action.silent_minutes, **asked)


def _record_update(incident: Incident, action: PostUpdate, stamp: Stamp) -> tuple[Incident, TimelineEntry]:
    if action.next_minutes is not None and not incident.status.is_open:
        raise TransitionError(
            f"{incident.incident_id} is resolved: a final update promises no next one. Leave out `--next` "
            "(in the update form: Next update, No promise)."
        )
    return incident, stamp.entry(
        EntryKind.UPDATE, action.text, **next_update_data(stamp.recorded_at, action.next_minutes)
    )


_REVIEW_ACTIONS = (SetPostmortemStatus, SetPostmortemOwner, ScheduleReview, RemindPostmortem)
"""Decided by ``bot.domain.review`` against the review entries of ``timeline``; they change no incident state."""

_RECORDERS: dict[type[Transition], Any] = {
    SetLead: _record_lead,
    Assemble: _record_assemble,
    AddHypothesis: _record_hypothesis,
    RejectHypothesis: _record_reject,
    ConfirmHypothesis: _record_confirm,
    Mitigate: _record_text(EntryKind.MITIGATION),
    Monitor: _record_text(EntryKind.MONITORING),
    Rollback: _record_text(EntryKind.ROLLBACK),
    Resolve: _record_resolve,
    Reopen: _record_reopen,
    ChangeSeverity: _record_severity,
    AddNote: _record_text(EntryKind.NOTE),
    PostUpdate: _record_update,
    AddFollowup: _record_followup,
    CompleteFollowup: _record_followup_done,
    ReopenFollowup: _record_followup_reopen,
    AssignFollowup: _record_followup_owner,
    RescheduleFollowup: _record_followup_due,
    DropFollowup: _record_followup_drop,
    RemindFollowups: _record_followup_reminder,
    ExportFollowup: _record_followup_export,
    RecordFollowupExport: _record_followup_exported,
    RecordTrackerIssueGone: _record_followup_tracker_gone,
    RecordPublication: _record_publication,
    PinMessage: _record_pin,
    SetService: _record_service,
    SetImpact: _record_impact,
    RecordAlert: _record_alert,
    Nudge: _record_nudge,
}
