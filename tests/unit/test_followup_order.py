"""Backdated follow-up changes (issue 14, fresh tester): every change of follow-up ``<n>`` (done, reopen,
owner, due, drop, export) is refused before the follow-up was added and before its latest change, so its
state follows the timeline order; a change at or after them is recorded and becomes the latest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.commands import (
    AddFollowup,
    AssignFollowup,
    CompleteFollowup,
    Declare,
    DropFollowup,
    ExportFollowup,
    ReopenFollowup,
    RescheduleFollowup,
    Transition,
    UserRef,
)
from bot.domain.errors import TimeParseError
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, FollowupState, Incident, Severity, StatusChange
from bot.domain.timeparse import DueDate

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
DUE = DueDate("2026-12-15", date(2026, 12, 15))
ERIN = UserRef("U0ERIN", "erin")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(minutes: float, recorded_minutes: float = 90) -> Stamp:
    return Stamp("U0ALICE", at(minutes), at(recorded_minutes))


def added_at_30(*changes: tuple[Transition, float]) -> Incident:
    """INC-7 declared at T0, follow-up #1 added at T0+30 min, then ``changes`` (command, minutes after T0)."""
    incident = declare(Declare("CDN edge returning 502s", Severity.SEV1), 7, Stamp("U0DEC", T0, T0)).incident
    incident = apply(incident, AddFollowup("canary rollout"), stamp(30)).incident
    for command, minutes in changes:
        incident = apply(incident, command, stamp(minutes)).incident
    return incident


# Each verb: (the command, the changes that must precede it for it to be legal, the entry it records,
# its word in the refusal).
VERBS = {
    "done": (CompleteFollowup(1, "shipped"), (), EntryKind.FOLLOWUP_DONE, "done"),
    "reopen": (ReopenFollowup(1, "flapping"), (CompleteFollowup(1),), EntryKind.FOLLOWUP_REOPENED, "reopened"),
    "owner": (AssignFollowup(1, ERIN), (), EntryKind.FOLLOWUP_OWNER, "handed over"),
    "due": (RescheduleFollowup(1, DUE), (), EntryKind.FOLLOWUP_DUE, "rescheduled"),
    "drop": (DropFollowup(1, "dup"), (), EntryKind.FOLLOWUP_DROPPED, "dropped"),
    "export": (ExportFollowup(1), (), EntryKind.FOLLOWUP_EXPORT, "filed"),
}

# A change at T0+60 that leaves the follow-up where the verb is legal, and how the refusal names it.
LATEST = {
    "done": ((AssignFollowup(1, ERIN), 60), "owner change"),
    "reopen": ((CompleteFollowup(1), 60), "done"),
    "owner": ((RescheduleFollowup(1, DUE), 60), "due date change"),
    "due": ((AssignFollowup(1, ERIN), 60), "owner change"),
    "drop": ((ExportFollowup(1), 60), "export"),
    "export": ((ReopenFollowup(1), 60), "reopened"),
}


def prerequisites(verb: str, minutes: float) -> list[tuple[Transition, float]]:
    return [(command, minutes) for command in VERBS[verb][1]]


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_a_change_before_the_follow_up_was_added_is_refused(verb: str) -> None:
    command, _, _, word = VERBS[verb]
    incident = added_at_30(*prerequisites(verb, 30))
    with pytest.raises(TimeParseError) as refused:
        apply(incident, command, stamp(20))
    assert refused.value.user_message == (
        "2026-11-22 13:20 UTC is before follow-up #1 was added (2026-11-22 13:30 UTC); "
        f"it cannot be {word} before it existed."
    )


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_a_change_before_the_follow_ups_latest_change_is_refused(verb: str) -> None:
    command = VERBS[verb][0]
    (latest, minutes), name = LATEST[verb]
    setup = [(CompleteFollowup(1), 45)] if verb == "export" else []  # `reopen` at 60 needs it done first
    incident = added_at_30(*setup, (latest, minutes))
    with pytest.raises(TimeParseError) as refused:
        apply(incident, command, stamp(50))
    assert refused.value.user_message == (
        "2026-11-22 13:50 UTC is before the latest change of follow-up #1 "
        f"({name} at 2026-11-22 14:00 UTC). Record this change at or after that time."
    )


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("minutes", [60, 75])
def test_a_change_at_or_after_the_latest_is_recorded_and_becomes_the_latest(verb: str, minutes: float) -> None:
    command, _, kind, _ = VERBS[verb]
    (latest, _), _ = LATEST[verb]
    setup = [(CompleteFollowup(1), 45)] if verb == "export" else []
    incident = added_at_30(*setup, (latest, 60))
    decision = apply(incident, command, stamp(minutes))
    assert [entry.kind for entry in decision.entries] == [kind]
    assert decision.entries[0].occurred_at == at(minutes)
    followup = decision.incident.followup(1)
    assert followup is not None
    assert followup.latest_change == StatusChange(kind, at(minutes))


def test_adding_a_follow_up_is_no_change_of_it() -> None:
    """A follow-up just added has no latest change: any time from its creation on is in order."""
    followup = added_at_30().followup(1)
    assert followup is not None
    assert followup.latest_change is None


def test_the_testers_repro_reopen_before_done_is_refused() -> None:
    """declare 11-20 10:00, follow-up 11:00 due 11-22, done 11-24 10:30, reopen --at 11-21 00:00."""
    declared = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    typed = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    incident = declare(Declare("Payments down", Severity.SEV1), 2, Stamp("U0DEC", declared, typed)).incident
    due = DueDate("2026-11-22", date(2026, 11, 22))
    incident = apply(
        incident, AddFollowup("retry budget", due=due), Stamp("U0A", declared + timedelta(hours=1), typed)
    ).incident
    incident = apply(
        incident, CompleteFollowup(1), Stamp("U0A", datetime(2026, 11, 24, 10, 30, tzinfo=UTC), typed)
    ).incident
    with pytest.raises(TimeParseError) as refused:
        apply(incident, ReopenFollowup(1), Stamp("U0A", datetime(2026, 11, 21, 0, 0, tzinfo=UTC), typed))
    assert refused.value.user_message == (
        "2026-11-21 00:00 UTC is before the latest change of follow-up #1 "
        "(done at 2026-11-24 10:30 UTC). Record this change at or after that time."
    )
    followup = incident.followup(1)
    assert followup is not None and followup.state is FollowupState.DONE
