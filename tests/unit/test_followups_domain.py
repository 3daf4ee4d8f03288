"""The follow-up life cycle (issue 14): the grammar of each change, due dates, and every refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import (
    AddFollowup,
    AssignFollowup,
    CompleteFollowup,
    Declare,
    DropFollowup,
    ListFollowups,
    RemindFollowups,
    ReopenFollowup,
    RescheduleFollowup,
    UserRef,
)
from bot.domain.errors import TimeParseError, TransitionError, UsageError
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Followup, FollowupState, Incident, Severity, Status, TimelineEntry
from bot.domain.nudges import DEFAULT_NUDGE_AFTER, DueNudge, due_nudges, needs_followup_reminder
from bot.domain.people import plain_mention
from bot.domain.postmortem import followup_state
from bot.domain.timeline import describe
from bot.domain.timeparse import DueDate, parse_due
from tests.support.properties import examples

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)
ACCEPTED_DUE = (
    "Accepted due dates: `2026-12-15` (a UTC calendar date), `today`, `tomorrow`, `+7d`, `+2w`, "
    "`in 3 days`, `in 2 weeks` (counted from the day the command is typed, UTC)."
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(minutes: float, recorded_minutes: float | None = None, actor: str = "U0ALICE") -> Stamp:
    return Stamp(actor, at(minutes), at(minutes if recorded_minutes is None else recorded_minutes))


def with_followups(*texts: str) -> Incident:
    incident = declare(Declare("CDN edge returning 502s", Severity.SEV1), 7, Stamp("U0DEC", T0, T0)).incident
    for text in texts:
        incident = apply(incident, AddFollowup(text), stamp(1)).incident
    return incident


class TestDueDates:
    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("2026-12-15", date(2026, 12, 15)),
            ("2028-02-29", date(2028, 2, 29)),
            ("today", date(2026, 11, 22)),
            ("Today", date(2026, 11, 22)),
            ("tomorrow", date(2026, 11, 23)),
            ("TOMORROW", date(2026, 11, 23)),
            ("+7d", date(2026, 11, 29)),
            ("+0d", date(2026, 11, 22)),
            ("+2w", date(2026, 12, 6)),
            ("+2W", date(2026, 12, 6)),
            ("+10d", date(2026, 12, 2)),
            ("in 3 days", date(2026, 11, 25)),
            ("in 1 day", date(2026, 11, 23)),
            ("in 1 week", date(2026, 11, 29)),
            ("in 2 weeks", date(2026, 12, 6)),
            ("In  2   Weeks", date(2026, 12, 6)),
            ("  +7d  ", date(2026, 11, 29)),
            ("+3660d", date(2036, 11, 29)),  # ten years (3,653 days with 3 leap days) and 7
        ],
    )
    def test_accepted_spellings(self, typed: str, expected: date) -> None:
        """Each documented form names the expected day when typed on 2026-11-22 (UTC)."""
        assert parse_due(typed).on(TODAY) == expected

    @pytest.mark.parametrize(
        ("typed", "reason"),
        [
            ("", "`--due` needs a date."),
            ("2026/12/15", "`2026/12/15` is not a due date I understand."),
            ("15.12.2026", "`15.12.2026` is not a due date I understand."),
            ("12/15", "`12/15` is not a due date I understand."),
            ("next friday", "`next friday` is not a due date I understand."),
            ("friday", "`friday` is not a due date I understand."),
            ("+7", "`+7` is not a due date I understand."),
            ("7d", "`7d` is not a due date I understand."),
            ("-7d", "`-7d` is not a due date I understand."),
            ("+1m", "`+1m` is not a due date I understand."),
            ("+1.5d", "`+1.5d` is not a due date I understand."),
            ("in 2 months", "`in 2 months` is not a due date I understand."),
            ("in two weeks", "`in two weeks` is not a due date I understand."),
            ("2026-12-15T10:00", "`2026-12-15T10:00` is not a due date I understand."),
            ("2026-12-15 10:00", "`2026-12-15 10:00` is not a due date I understand."),
            ("Dec 15", "`Dec 15` is not a due date I understand."),
            ("2026-1-5", "`2026-1-5` is not a due date I understand."),
            ("tomorrow 13:00", "`tomorrow 13:00` is not a due date I understand."),
            ("2026-02-30", "`2026-02-30` is not a day of the calendar."),
            ("2026-13-01", "`2026-13-01` is not a day of the calendar."),
            ("1999-12-31", "`1999-12-31` is too long ago to be a due date."),
            ("+3661d", "`+3661d` is more than 3660 days away."),
            ("+523w", "`+523w` is more than 3660 days away."),
            ("+99999d", "`+99999d` is not a due date I understand."),
            ("\uff0b7d", "`\uff0b7d` is not a due date I understand."),
            ("x" * 40, f"`{'x' * 32}...` is not a due date I understand."),
        ],
    )
    def test_refused_spellings_list_the_accepted_forms(self, typed: str, reason: str) -> None:
        """Anything outside the closed grammar is refused with the reason and every accepted form."""
        with pytest.raises(TimeParseError) as refused:
            parse_due(typed)
        assert refused.value.user_message == f"{reason} {ACCEPTED_DUE}"

    @settings(max_examples=examples(40))
    @given(
        day=st.dates(min_value=date(2000, 1, 1), max_value=date(9999, 12, 31)),
        today=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
        n=st.integers(min_value=0, max_value=522),
        weeks=st.booleans(),
    )
    def test_every_iso_date_and_offset_round_trips(self, day: date, today: date, n: int, weeks: bool) -> None:
        """Any calendar day written ISO is that day whatever the day it is typed; ``+N`` is N days or weeks on."""
        assert parse_due(day.isoformat()).on(today) == day
        unit_days = 7 if weeks else 1
        assert parse_due(f"+{n}{'w' if weeks else 'd'}").on(today) == today + timedelta(days=n * unit_days)
        assert parse_due(f"in {n} {'weeks' if weeks else 'days'}").on(today) == today + timedelta(days=n * unit_days)

    @settings(max_examples=examples(40))
    @given(st.text(max_size=20))
    def test_any_text_parses_or_is_refused_with_the_forms(self, typed: str) -> None:
        """Arbitrary text either names a day or is a TimeParseError listing the accepted forms; nothing else."""
        try:
            due = parse_due(typed)
        except TimeParseError as refused:
            assert refused.user_message.endswith(ACCEPTED_DUE)
        else:
            assert isinstance(due.on(TODAY), date)


FULL_USAGE = (
    "followup <text> [@owner] [--due DATE] | followup done <n> [note] | followup reopen <n> [reason] | "
    "followup owner <n> @user | followup due <n> DATE | followup drop <n> <reason> | followup export <n>"
)


class TestGrammar:
    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("followup canary rollout", AddFollowup("canary rollout")),
            (
                "followup canary rollout <@U0BOB|bob> --due 2026-12-15",
                AddFollowup("canary rollout", UserRef("U0BOB", "bob"), DueDate("2026-12-15", date(2026, 12, 15))),
            ),
            ("followup canary --due +7d", AddFollowup("canary", None, DueDate("+7d", days_ahead=7))),
            ("followup canary --DUE=in 2 weeks", AddFollowup("canary", None, DueDate("in 2 weeks", days_ahead=14))),
            ("followup canary \u2014due tomorrow", AddFollowup("canary", None, DueDate("tomorrow", days_ahead=1))),
            ("followup fix the --duet flag", AddFollowup("fix the --duet flag")),
            (
                "followup canary --due in 2 weeks <@U0BOB|bob>",
                AddFollowup("canary", UserRef("U0BOB", "bob"), DueDate("in 2 weeks", days_ahead=14)),
            ),
            ("followup done 2", CompleteFollowup(2)),
            ("followup done #2 canary is live", CompleteFollowup(2, "canary is live")),
            ("followup DONE 2", CompleteFollowup(2)),
            ("followup reopen 3", ReopenFollowup(3)),
            ("followup reopen 3 the step was lost", ReopenFollowup(3, "the step was lost")),
            ("followup owner 1 <@U0DAVE|dave>", AssignFollowup(1, UserRef("U0DAVE", "dave"))),
            ("followup due 1 in 3 days", RescheduleFollowup(1, DueDate("in 3 days", days_ahead=3))),
            ("followup due 1 2027-01-04", RescheduleFollowup(1, DueDate("2027-01-04", date(2027, 1, 4)))),
            ("followup drop 2 covered by #1", DropFollowup(2, "covered by #1")),
            # A change word without a number after it starts an action item's text.
            ("followup drop the legacy cache", AddFollowup("drop the legacy cache")),
            ("followup owner review for the WAF", AddFollowup("owner review for the WAF")),
            ("followups", ListFollowups()),
        ],
    )
    def test_accepted(self, typed: str, expected: object) -> None:
        """Each form of the follow-up verbs parses to its command."""
        assert parse_command(typed).action == expected

    def test_cli_names_an_owner(self) -> None:
        """In the CLI ``@dave`` names the new owner."""
        assert parse_command("followup owner 1 @Dave", names=True).action == AssignFollowup(1, UserRef("dave"))

    def test_backdated_done(self) -> None:
        """``--at`` backdates a follow-up change like any other."""
        command = parse_command("INC-7 followup done 1 --at 15m ago")
        assert (command.action, command.incident_number, command.at) == (CompleteFollowup(1), 7, "15m ago")

    @pytest.mark.parametrize(
        ("typed", "message"),
        [
            ("followup done", "`followup done` needs the follow-up number, e.g. `followup done 1`."),
            ("followup reopen", "`followup reopen` needs the follow-up number, e.g. `followup reopen 1`."),
            ("followup drop 2", "`followup` needs a reason to drop it, e.g. `followup drop 2 covered by #1`."),
            ("followup due 2", "`followup due` needs a date, e.g. `followup due 2 2026-12-15`."),
            (
                "followup owner 2",
                "`followup owner` needs one person, mentioned as @name, e.g. `followup owner 2 @bob`.",
            ),
            (
                "followup owner 2 bob",
                "`followup owner` needs one person, mentioned as @name, e.g. `followup owner 2 @bob`.",
            ),
            ("followup x --due", "`--due` needs a date, for example `--due 2026-12-15` or `--due +7d`."),
            ("followup x --due +1d --due +2d", "`--due` is given 2 times; give one date."),
            ("followup x --due next week", f"`next week` is not a due date I understand. {ACCEPTED_DUE}"),
            ("followup due 1 soon", f"`soon` is not a due date I understand. {ACCEPTED_DUE}"),
            (
                "followup --due +7d",
                "`followup` needs an action item, e.g. `followup canary rollout for WAF rules @bob`.",
            ),
            ("followups now", "`followups` takes no arguments."),
        ],
    )
    def test_refused(self, typed: str, message: str) -> None:
        """Bad follow-up commands are refused with the reason and the follow-up usage."""
        with pytest.raises(UsageError) as refused:
            parse_command(typed)
        assert refused.value.user_message == message
        assert refused.value.usage == ("followups" if typed.startswith("followups") else FULL_USAGE)

    @pytest.mark.parametrize(
        "typed",
        [
            "INC-7 followup canary <@U0BOB|bob> --due +7d --at 15m ago",
            "INC-7 followup canary <@U0BOB|bob> --at 15m ago --due +7d",
        ],
    )
    def test_at_and_due_in_either_order(self, typed: str) -> None:
        """``--at`` and ``--due`` are both options, whichever comes first."""
        command = parse_command(typed)
        assert command.at == "15m ago"
        assert command.action == AddFollowup("canary", UserRef("U0BOB", "bob"), DueDate("+7d", days_ahead=7))

    def test_followups_is_a_query(self) -> None:
        """``followups`` only reads, so it cannot be backdated."""
        with pytest.raises(UsageError) as refused:
            parse_command("followups --at 13:00")
        assert refused.value.user_message == "`--at` only applies to commands that change an incident, not `followups`."


class TestLifeCycle:
    def test_add_with_due_date_relative_to_the_recording_day(self) -> None:
        """``+7d`` counts from the day the command is recorded (UTC), even when backdated."""
        incident = with_followups()
        change = apply(incident, AddFollowup("canary", None, DueDate("+7d", days_ahead=7)), stamp(1, 60 * 24 * 2))
        assert change.incident.followups[0].due == date(2026, 12, 1)
        assert change.entries[0].data == {"number": 1, "owner": None, "due": "2026-12-01"}
        assert describe(change.entries[0]) == "Follow-up #1: canary (due 2026-12-01)"

    def test_done_reopen_drop_round(self) -> None:
        """done -> reopen -> drop -> reopen -> done: each is an entry with who and when; the state follows."""
        incident = with_followups("canary rollout")
        steps = [
            (CompleteFollowup(1, "live"), FollowupState.DONE, "Follow-up #1 (canary rollout) done: live"),
            (ReopenFollowup(1), FollowupState.OPEN, "Follow-up #1 (canary rollout) reopened"),
            (
                DropFollowup(1, "covered by WAF tests"),
                FollowupState.DROPPED,
                "Follow-up #1 (canary rollout) dropped: covered by WAF tests",
            ),
            (ReopenFollowup(1, "back on"), FollowupState.OPEN, "Follow-up #1 (canary rollout) reopened: back on"),
            (CompleteFollowup(1), FollowupState.DONE, "Follow-up #1 (canary rollout) done"),
        ]
        for minute, (action, state, sentence) in enumerate(steps, start=10):
            change = apply(incident, action, stamp(minute, minute + 1, actor=f"U0P{minute}"))
            incident = change.incident
            entry = change.entries[0]
            assert (incident.followups[0].state, describe(entry)) == (state, sentence)
            assert (entry.actor, entry.occurred_at, entry.recorded_at) == (f"U0P{minute}", at(minute), at(minute + 1))
            assert incident.status is Status.DECLARED
        assert incident.followups[0].done_at == at(14)

    def test_owner_and_due_changes(self) -> None:
        """A new owner and a new due day are recorded with what they replace."""
        incident = with_followups("canary rollout")
        owned = apply(incident, AssignFollowup(1, UserRef("U0DAVE", "dave")), stamp(2))
        assert owned.incident.followups[0].owner == "U0DAVE"
        assert owned.entries[0].data == {
            "number": 1,
            "followup": "canary rollout",
            "owner": "U0DAVE",
            "previous": None,
            "names": {"U0DAVE": "dave"},
        }
        assert describe(owned.entries[0]) == "Follow-up #1 (canary rollout) is now owned by @U0DAVE"
        due = apply(owned.incident, RescheduleFollowup(1, DueDate("2026-12-15", date(2026, 12, 15))), stamp(3))
        assert due.incident.followups[0].due == date(2026, 12, 15)
        assert describe(due.entries[0]) == "Follow-up #1 (canary rollout) is now due 2026-12-15"

    @pytest.mark.parametrize(
        ("setup", "action", "message"),
        [
            ((), CompleteFollowup(4), "INC-7 has no follow-up #4 (it has: #1, #2)."),
            ((), DropFollowup(9, "x"), "INC-7 has no follow-up #9 (it has: #1, #2)."),
            ((CompleteFollowup(1),), CompleteFollowup(1), "Follow-up #1 is already done (at 2026-11-22 13:05 UTC)."),
            ((), ReopenFollowup(1), "Follow-up #1 is still open; there is nothing to reopen."),
            ((DropFollowup(1, "x"),), DropFollowup(1, "y"), "Follow-up #1 is already dropped."),
            (
                (DropFollowup(1, "x"),),
                CompleteFollowup(1),
                "Follow-up #1 was dropped; `followup reopen 1` first if it is back on.",
            ),
            (
                (CompleteFollowup(1),),
                DropFollowup(1, "y"),
                "Follow-up #1 is done; `followup reopen 1` first to drop it instead.",
            ),
            (
                (AssignFollowup(1, UserRef("U0DAVE")),),
                AssignFollowup(1, UserRef("U0DAVE", "dave")),
                "@dave already owns follow-up #1.",
            ),
            (
                (RescheduleFollowup(1, DueDate("+7d", days_ahead=7)),),
                RescheduleFollowup(1, DueDate("2026-11-29", date(2026, 11, 29))),
                "Follow-up #1 is already due 2026-11-29.",
            ),
        ],
    )
    def test_refusals(self, setup: tuple[object, ...], action: object, message: str) -> None:
        """Each impossible change is refused with a sentence saying why (and the existing numbers)."""
        incident = with_followups("canary rollout", "runbook step")
        for step in setup:
            incident = apply(incident, step, stamp(5)).incident  # type: ignore[arg-type]
        with pytest.raises(TransitionError) as refused:
            apply(incident, action, stamp(6))  # type: ignore[arg-type]
        assert refused.value.user_message.startswith(message)

    def test_unknown_number_without_any(self) -> None:
        """With no follow-ups at all, the refusal says so."""
        with pytest.raises(TransitionError) as refused:
            apply(with_followups(), CompleteFollowup(1), stamp(5))
        assert refused.value.user_message == (
            "INC-7 has no follow-up #1 (it has: none yet). `followups` lists them; add one with "
            "`followup <text> [@owner]`."
        )

    def test_due_before_it_was_added_is_refused(self) -> None:
        """A due day before the follow-up's own day is a typo."""
        with pytest.raises(TimeParseError) as refused:
            apply(with_followups("x"), RescheduleFollowup(1, DueDate("2026-11-21", date(2026, 11, 21))), stamp(5))
        assert refused.value.user_message == (
            "Due 2026-11-21 is before follow-up #1 was added (2026-11-22); give a later date."
        )

    def test_done_before_it_was_added_is_refused(self) -> None:
        """A backdated done may not precede the follow-up."""
        incident = apply(with_followups(), AddFollowup("x"), stamp(30)).incident
        with pytest.raises(TimeParseError) as refused:
            apply(incident, CompleteFollowup(1), stamp(20, 40))
        assert refused.value.user_message == (
            "2026-11-22 13:20 UTC is before follow-up #1 was added (2026-11-22 13:30 UTC); "
            "it cannot be done before it existed."
        )


class TestStateShown:
    @pytest.mark.parametrize(
        ("followup", "shown"),
        [
            (Followup(1, "x", None, T0), "open"),
            (Followup(1, "x", None, T0, due=date(2026, 11, 22)), "open"),
            (Followup(1, "x", None, T0, due=date(2026, 11, 21)), "overdue"),
            (Followup(1, "x", None, T0, FollowupState.DONE, date(2026, 11, 20), at(10)), "done 2026-11-22 (late)"),
            (Followup(1, "x", None, T0, FollowupState.DONE, date(2026, 11, 22), at(10)), "done 2026-11-22"),
            (Followup(1, "x", None, T0, FollowupState.DONE, None, at(10)), "done 2026-11-22"),
            (Followup(1, "x", None, T0, FollowupState.DROPPED, date(2026, 11, 1)), "dropped"),
        ],
    )
    def test_state_as_the_postmortem_shows_it(self, followup: Followup, shown: str) -> None:
        """Open past the due day is overdue; done after the due day is late; dropped is never overdue."""
        assert followup_state(followup, TODAY) == shown


def test_describe_uses_the_mention() -> None:
    """A follow-up's new owner is written by the adapter's mention."""
    change = apply(with_followups("x"), AssignFollowup(1, UserRef("U0DAVE", "dave")), stamp(2))
    assert describe(change.entries[0], plain_mention({"U0DAVE": "dave"})) == "Follow-up #1 (x) is now owned by @dave"
    assert change.entries[0].kind is EntryKind.FOLLOWUP_OWNER


class TestReminders:
    def reminded(self, day: str) -> TimelineEntry:
        return TimelineEntry(EntryKind.FOLLOWUP_REMINDER, T0, T0, "incidentbot", "", {"day": day, "numbers": [1]})

    @pytest.mark.parametrize(
        ("followups", "last_day", "expected"),
        [
            ((Followup(1, "x", None, T0, due=date(2026, 11, 21)),), None, True),
            ((Followup(1, "x", None, T0, due=date(2026, 11, 21)),), "2026-11-21", True),
            ((Followup(1, "x", None, T0, due=date(2026, 11, 21)),), "2026-11-22", False),
            ((Followup(1, "x", None, T0, due=date(2026, 11, 22)),), None, False),
            ((Followup(1, "x", None, T0),), None, False),
            ((Followup(1, "x", None, T0, FollowupState.DONE, date(2026, 11, 1), T0),), None, False),
            ((Followup(1, "x", None, T0, FollowupState.DROPPED, date(2026, 11, 1)),), None, False),
        ],
    )
    def test_needs_a_reminder_once_a_day(
        self, followups: tuple[Followup, ...], last_day: str | None, expected: bool
    ) -> None:
        """Only open follow-ups past their due day count, and a reminder on the same UTC day is enough."""
        incident = with_followups().with_changes(followups=followups)
        last = self.reminded(last_day) if last_day else None
        assert needs_followup_reminder(incident, last, TODAY) is expected

    def test_reminder_entry_lists_the_overdue_ones(self) -> None:
        """The reminder records its day and the overdue numbers with their owners; none overdue is refused."""
        incident = with_followups().with_changes(
            followups=(
                Followup(1, "x", "U0CAROL", T0, due=date(2026, 11, 20)),
                Followup(2, "y", None, T0, due=date(2026, 11, 30)),
                Followup(3, "z", None, T0, due=date(2026, 11, 21)),
            )
        )
        change = apply(incident, RemindFollowups(TODAY), stamp(5))
        assert change.entries[0].data == {"day": "2026-11-22", "numbers": [1, 3], "owners": {"1": "U0CAROL", "3": None}}
        with pytest.raises(TransitionError) as refused:
            apply(incident, RemindFollowups(date(2026, 11, 20)), stamp(5))
        assert refused.value.user_message == "INC-7 has no overdue follow-up on 2026-11-20."

    def test_a_reminder_is_not_an_update_for_nudges(self) -> None:
        """A quiet sev1 is still nudged although the bot posted a follow-up reminder in the silence."""
        incident = with_followups()
        declared = TimelineEntry(EntryKind.DECLARED, T0, T0, "U0A")
        reminder = TimelineEntry(EntryKind.FOLLOWUP_REMINDER, at(10), at(10), "incidentbot", "", {"day": "2026-11-22"})
        assert due_nudges([(incident, [declared, reminder])], DEFAULT_NUDGE_AFTER, at(16)) == [DueNudge(7, 16)]


# The follow-up state machine as the issue specifies it, written out here: (state, change) -> next state;
# a missing pair is refused. Numbers that do not exist are refused whatever the change.
FOLLOWUP_SPEC = {
    ("open", "done"): "done",
    ("open", "drop"): "dropped",
    ("done", "reopen"): "open",
    ("dropped", "reopen"): "open",
}
CHANGES = {
    "done": lambda n: CompleteFollowup(n, "shipped"),
    "reopen": lambda n: ReopenFollowup(n),
    "drop": lambda n: DropFollowup(n, "not worth it"),
}


@settings(max_examples=examples(60))
@given(st.lists(st.tuples(st.sampled_from(sorted(CHANGES)), st.integers(min_value=1, max_value=4)), max_size=25))
def test_any_sequence_of_changes_follows_the_state_machine(steps: list[tuple[str, int]]) -> None:
    """Whatever the order, each change is applied or refused exactly as the table says; refusals change nothing,
    done follow-ups carry when they were done, and the incident's status never moves."""
    incident = with_followups("a", "b", "c")
    model = {1: "open", 2: "open", 3: "open"}
    for minute, (change, number) in enumerate(steps, start=2):
        expected = FOLLOWUP_SPEC.get((model[number], change)) if number in model else None
        if expected is None:
            with pytest.raises(TransitionError):
                apply(incident, CHANGES[change](number), stamp(minute))
            continue
        decision = apply(incident, CHANGES[change](number), stamp(minute))
        incident, model[number] = decision.incident, expected
        assert decision.entries[0].data["number"] == number
        assert incident.status is Status.DECLARED
    assert {f.number: f.state.value for f in incident.followups} == model
    assert all((f.done_at is not None) == (f.state is FollowupState.DONE) for f in incident.followups)
