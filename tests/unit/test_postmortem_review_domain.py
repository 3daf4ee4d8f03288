"""The postmortem's review life cycle on the pure core: the ``postmortem status|owner|review`` grammar, review
times, the state folded from the timeline, the draft reminder's rule, and the calendar invite parsed back."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import (
    CorrectEntry,
    Declare,
    ExportPostmortem,
    GroupRef,
    RemindPostmortem,
    Resolve,
    ScheduleReview,
    SetPostmortemOwner,
    SetPostmortemStatus,
    StrikeEntry,
    UserRef,
)
from bot.domain.errors import TimeParseError, TransitionError, UsageError
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Incident, PostmortemStatus, Severity, Status, TimelineEntry
from bot.domain.nudges import due_nudges
from bot.domain.review import (
    PostmortemReview,
    ScheduledReview,
    default_uid,
    needs_postmortem_reminder,
    review_state,
)
from bot.domain.timeparse import parse_review_length, parse_review_time
from bot.views.invite import Invitee, build_review_invite, invite_filename
from tests.support.properties import examples

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
REVIEW_FORMS_TEXT = (
    "A review time is a moment to come: `2026-11-24 15:00`, `2026-11-24 15:00 UTC+1`, `2026-11-24T15:00Z`, "
    "`tomorrow 15:00 Europe/Berlin`, `today 16:30`, or a clock time alone (`15:00`: its next occurrence); "
    "zones as for `--at` (`UTC+1`, `+05:30`, `CET`, `Europe/Berlin`; no zone means UTC)."
)
RESOLVED_AT = datetime(2026, 11, 22, 14, 45, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
LEAD = "U0ALICE"
SEED_TITLE = "CDN edge returning 502s above the 5% alerting threshold"


def resolved(severity: Severity = Severity.SEV1, title: str = SEED_TITLE) -> Incident:
    incident = declare(Declare(title, severity), 1, Stamp(LEAD, T0, T0)).incident.with_changes(lead=LEAD)
    return apply(incident, Resolve("edge healthy"), Stamp(LEAD, RESOLVED_AT, RESOLVED_AT)).incident


def record(
    incident: Incident, entries: list[TimelineEntry], action: object, minutes: int = 0, actor: str = LEAD
) -> list[TimelineEntry]:
    """``entries`` with the entry ``action`` appends (stamped NOW + ``minutes``), numbered next."""
    moment = NOW + timedelta(minutes=minutes)
    decision = apply(incident, action, Stamp(actor, moment, moment), entries)  # type: ignore[arg-type]
    assert decision.incident == incident  # the review changes no incident state
    (entry,) = decision.entries
    return [*entries, replace(entry, number=len(entries) + 1)]


def review_at(text: str, now: datetime = NOW, **kwargs: object) -> ScheduleReview:
    return ScheduleReview(text, at=parse_review_time(text, now), **kwargs)  # type: ignore[arg-type]


class TestGrammar:
    @pytest.mark.parametrize(
        ("typed", "status"),
        [
            ("draft", PostmortemStatus.DRAFT),
            ("DRAFT", PostmortemStatus.DRAFT),
            ("in-review", PostmortemStatus.IN_REVIEW),
            ("In-Review", PostmortemStatus.IN_REVIEW),
            ("in_review", PostmortemStatus.IN_REVIEW),
            ("inreview", PostmortemStatus.IN_REVIEW),
            ("in review", PostmortemStatus.IN_REVIEW),
            ("in\u2013review", PostmortemStatus.IN_REVIEW),  # a phone's en dash
            ("in\u2014review", PostmortemStatus.IN_REVIEW),  # em dash
            ("published", PostmortemStatus.PUBLISHED),
            ("Published", PostmortemStatus.PUBLISHED),
        ],
    )
    def test_status_spellings(self, typed: str, status: PostmortemStatus) -> None:
        """Every spelling of the three statuses reads as that status, with or without an incident id."""
        assert parse_command(f"postmortem status {typed}").action == SetPostmortemStatus(status)
        assert parse_command(f"INC-7 postmortem STATUS {typed}").incident_number == 7

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("postmortem status", "`postmortem status` needs one of `draft`, `in-review`, `published`."),
            (
                "postmortem status reviewed",
                "`reviewed` is not a postmortem status; `postmortem status` needs one of `draft`, `in-review`, "
                "`published`.",
            ),
            (
                "postmortem owner",
                "`postmortem owner` needs one person, mentioned as @name, e.g. `postmortem owner @bob`.",
            ),
            (
                "postmortem owner bob",
                "`postmortem owner` needs one person, mentioned as @name, e.g. `postmortem owner @bob`.",
            ),
            (
                "postmortem review",
                "`postmortem review` needs the time of the review, e.g. "
                "`postmortem review 2026-11-24 15:00 UTC+1 @alice`.",
            ),
            (
                "postmortem review <@U0ALICE|alice>",
                "`postmortem review` needs the time of the review, e.g. "
                "`postmortem review 2026-11-24 15:00 UTC+1 @alice`.",
            ),
            (
                "postmortem review 15:00 for 5m",
                "`for 5m` is not a review length: give 15 minutes to 8 hours, e.g. `for 60m`, `for 1h30m`.",
            ),
            (
                "postmortem review 15:00 for 9h",
                "`for 9h` is not a review length: give 15 minutes to 8 hours, e.g. `for 60m`, `for 1h30m`.",
            ),
            (
                "postmortem review 15:00 for soon",
                "`for soon` is not a review length: give 15 minutes to 8 hours, e.g. `for 60m`, `for 1h30m`.",
            ),
            (
                "postmortem review 15:00 <!here>",
                "`<!here>` is not a person or user group; mention attendees as @name.",
            ),
        ],
    )
    def test_refusals(self, text: str, message: str) -> None:
        """A sub-command without what it needs is refused with a sentence saying what, and the verb's usage."""
        with pytest.raises(UsageError) as info:
            parse_command(text)
        assert info.value.user_message == message
        assert info.value.usage == (
            "postmortem [template] | postmortem publish | postmortem status draft|in-review|published | "
            "postmortem owner @user | "
            "postmortem review <when> [for 60m] [@attendees ...]"
        )

    @pytest.mark.parametrize(
        ("text", "names", "owner"),
        [
            ("postmortem owner <@U0BOB|bob>", False, UserRef("U0BOB", "bob")),
            ("postmortem owner <@U0BOB>", False, UserRef("U0BOB")),
            ("postmortem owner @bob", True, UserRef("bob")),
            ("postmortem owner @U0BOB", True, UserRef("U0BOB")),
        ],
    )
    def test_owner(self, text: str, names: bool, owner: UserRef) -> None:
        """A Slack mention names the owner; in the CLI, ``@name`` too."""
        assert parse_command(text, names=names).action == SetPostmortemOwner(owner)

    @pytest.mark.parametrize(
        ("rest", "names", "when", "users", "groups", "minutes"),
        [
            ("2026-11-24 15:00 UTC+1", False, "2026-11-24 15:00 UTC+1", (), (), 60),
            (
                "2026-11-24 15:00 UTC+1 <@U0ALICE|alice> <@U0BOB>",
                False,
                "2026-11-24 15:00 UTC+1",
                (UserRef("U0ALICE", "alice"), UserRef("U0BOB")),
                (),
                60,
            ),
            (
                "tomorrow 15:00 Europe/Berlin for 90m <!subteam^S0NET|@netops> <@U0BOB>",
                False,
                "tomorrow 15:00 Europe/Berlin",
                (UserRef("U0BOB"),),
                (GroupRef("S0NET", "@netops"),),
                90,
            ),
            (
                "2026-11-24T14:00Z <@U0BOB> for 1h30m",
                False,
                "2026-11-24T14:00Z",
                (UserRef("U0BOB"),),
                (),
                90,
            ),
            ("15:00 for 2h", False, "15:00", (), (), 120),
            ("15:00 for 45", False, "15:00", (), (), 45),
            ("15:00 FOR 1H", False, "15:00", (), (), 60),
            ("3pm @alice @bob", True, "3pm", (UserRef("alice"), UserRef("bob")), (), 60),
        ],
    )
    def test_review(
        self,
        rest: str,
        names: bool,
        when: str,
        users: tuple[UserRef, ...],
        groups: tuple[GroupRef, ...],
        minutes: int,
    ) -> None:
        """The time is what comes before the attendees and the length, which may come in either order."""
        action = parse_command(f"postmortem review {rest}", names=names).action
        assert action == ScheduleReview(when, users, groups, minutes)

    @pytest.mark.parametrize(
        ("text", "names", "message"),
        [
            ("postmortem review for 60m", False, "`postmortem review` needs the time of the review"),
            ("postmortem review 15:00 <@bogus>", False, "`<@bogus>` is not a person or user group;"),
            ("postmortem review 15:00 @bob", False, "`@bob` is not a person or user group;"),  # Slack sends <@U...>
            ("postmortem review 15:00 @here", True, "`@here` notifies a whole channel; name one person"),
            ("postmortem owner @channel", True, "`@channel` notifies a whole channel; name one person"),
        ],
    )
    def test_more_refusals(self, text: str, names: bool, message: str) -> None:
        """A length with no time, a mention Slack would not send, a broadcast: refused with the verb's usage."""
        with pytest.raises(UsageError) as info:
            parse_command(text, names=names)
        assert str(info.value.user_message).startswith(message)
        assert str(info.value.usage).startswith("postmortem [template] | postmortem publish | postmortem status")

    def test_groups_keep_their_order(self) -> None:
        """Several user groups and people, read from the end, keep the order they were typed in."""
        action = parse_command("postmortem review 15:00 <!subteam^S1|@a> <@U0BOB> <!subteam^S2|@b> <@U0CAROL>").action
        assert action == ScheduleReview(
            "15:00", (UserRef("U0BOB"), UserRef("U0CAROL")), (GroupRef("S1", "@a"), GroupRef("S2", "@b"))
        )

    @pytest.mark.parametrize(
        ("text", "minutes"),
        [
            ("15", 15),
            ("15m", 15),
            ("480", 480),
            ("8h", 480),
            ("7h59m", 479),
            ("14m", None),
            ("481", None),
            ("0h", None),
        ],
    )
    def test_review_length_bounds(self, text: str, minutes: int | None) -> None:
        """15 minutes to 8 hours, both included."""
        assert parse_review_length(text) == minutes

    @pytest.mark.parametrize("name", ["", "incident-review", "short.v2"])
    def test_other_words_stay_template_names(self, name: str) -> None:
        """Only status, owner and review are sub-commands: any other word is still a template to export."""
        assert parse_command(f"postmortem {name}").action == ExportPostmortem(name or None)

    def test_the_review_commands_change_state(self) -> None:
        """They are transitions, recorded as they happen, not queries."""
        command = parse_command("postmortem owner <@U0BOB>")
        assert (command.changes_state, command.at) == (True, None)

    @pytest.mark.parametrize(
        ("text", "verb"),
        [
            ("postmortem status draft", "status"),
            ("postmortem status in-review", "status"),
            ("postmortem owner <@U0BOB>", "owner"),
            ("postmortem review 2026-12-24 15:00 UTC <@U0BOB>", "review"),
            ("postmortem review 2026-12-24 15:00 UTC for 90m", "review"),
        ],
    )
    @pytest.mark.parametrize("at", ["--at 10m ago", "--AT 13:42", "--at=1h ago", "\u2014at 5m ago", "---at 13:00"])
    def test_the_review_commands_refuse_at(self, text: str, verb: str, at: str) -> None:
        """A backdated review entry would never be the latest, so the change would be lost while the reply
        said it was made (the review tester's finding): refused, whatever the spelling of ``--at``."""
        with pytest.raises(UsageError) as refused:
            parse_command(f"INC-1 {text} {at}")
        assert refused.value.user_message == (
            f"`postmortem {verb}` takes no `--at`: the postmortem's review is recorded as it happens."
        )


class TestReviewTime:
    def test_worked_example(self) -> None:
        """The issue's example: 15:00 at UTC+1 on 2026-11-24 is 14:00 UTC."""
        assert parse_review_time("2026-11-24 15:00 UTC+1", NOW) == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-24 15:00", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
            ("2026-11-24T15:00Z", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
            ("2026-11-24 15:00 +05:30", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
            ("2026-11-24 9:00 GMT-5", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
            ("2026-11-24 15:00 CET", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
            ("2026-11-24 15:00 Europe/Berlin", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
            ("2027-07-01 15:00 Europe/Berlin", datetime(2027, 7, 1, 13, 0, tzinfo=UTC)),  # summer time
            ("tomorrow 15:00", datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),
            ("tomorrow 3pm UTC+1", datetime(2026, 11, 23, 14, 0, tzinfo=UTC)),
            ("today 16:30", datetime(2026, 11, 22, 16, 30, tzinfo=UTC)),
            ("15:30", datetime(2026, 11, 22, 15, 30, tzinfo=UTC)),  # later today
            ("14:00", datetime(2026, 11, 23, 14, 0, tzinfo=UTC)),  # gone today: tomorrow's
            ("1pm", datetime(2026, 11, 23, 13, 0, tzinfo=UTC)),
        ],
    )
    def test_forms(self, text: str, expected: datetime) -> None:
        """The clock forms ``--at`` takes, read forward from 2026-11-22 15:00 UTC; a clock alone is its next time."""
        assert parse_review_time(text, NOW) == expected

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("2026-11-20 10:00", "`2026-11-20 10:00` (2026-11-20 10:00 UTC) is in the past;"),
            ("today 14:00", "`today 14:00` (2026-11-22 14:00 UTC) is in the past;"),
            ("2026-11-22 15:00", "`2026-11-22 15:00` (2026-11-22 15:00 UTC) is in the past;"),
            ("now", "`now` is in the past;"),
            ("2h ago", "`2h ago` is in the past;"),
            ("yesterday 13:00", "`yesterday 13:00` is in the past;"),
            ("2028-01-01 10:00", "`2028-01-01 10:00` (2028-01-01 10:00 UTC) is more than a year ahead."),
            ("next tuesday", "`next tuesday` is not a time I understand."),
            ("2026-11-24 15:00 EST", "`2026-11-24 15:00 EST` names a time zone I cannot be sure of;"),
            ("tomorrow 25:00", "`tomorrow 25:00` is not a time of day (00:00 to 23:59:59)."),
            ("", "`postmortem review` needs the time of the review."),
        ],
    )
    def test_refusals(self, text: str, reason: str) -> None:
        """A review in the past (or unreadable) is refused with its reason and the review's forms."""
        with pytest.raises(TimeParseError) as info:
            parse_review_time(text, NOW)
        message = str(info.value.user_message)
        assert message.startswith(reason)
        assert message.endswith("zones as for `--at` (`UTC+1`, `+05:30`, `CET`, `Europe/Berlin`; no zone means UTC).")

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            # 05:00 on the 23rd in Kiritimati (UTC+14) when it is 15:00 UTC on the 22nd: "today" is its 23rd.
            ("today 09:00 Pacific/Kiritimati", datetime(2026, 11, 22, 19, 0, tzinfo=UTC)),
            ("14:00 UTC+1", datetime(2026, 11, 23, 13, 0, tzinfo=UTC)),  # 13:00Z has passed: tomorrow's, in UTC+1
            ("15:00", datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),  # this very minute is not to come
            ("2027-11-23 15:00", datetime(2027, 11, 23, 15, 0, tzinfo=UTC)),  # 366 days ahead, the last day
        ],
    )
    def test_edges(self, text: str, expected: datetime) -> None:
        """The day "today" means in the zone typed, a clock time equal to now, and the last day accepted."""
        assert parse_review_time(text, NOW) == expected

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("2026-02-30 10:00", "`2026-02-30` is not a date."),
            ("2027-11-23 15:01", "`2027-11-23 15:01` (2027-11-23 15:01 UTC) is more than a year ahead."),
            (
                "2026-11-24 15:00 UTC+5:60",
                "`2026-11-24 15:00 UTC+5:60` has an offset with invalid minutes (`60`; 00 to 59).",
            ),
            (
                "2027-03-14 02:30 America/New_York",
                "`2027-03-14 02:30 America/New_York` does not exist: clocks in America/New_York skip it on 2027-03-14.",
            ),
            ("x" * 65, f"`{'x' * 64}...` is not a time I understand."),
            ("2026-11-24 15:00 " + "U" * 47, f"`2026-11-24 15:00 {'U' * 47}` names a time zone I cannot be sure of;"),
        ],
    )
    def test_exact_refusals(self, text: str, message: str) -> None:
        """Each refusal says what is wrong, then the review's forms (never ``--at``'s list of past forms)."""
        with pytest.raises(TimeParseError) as info:
            parse_review_time(text, NOW)
        said = str(info.value.user_message)
        assert said.startswith(message) and said.endswith(REVIEW_FORMS_TEXT)
        assert "Accepted:" not in said

    @given(
        minutes=st.integers(min_value=1, max_value=365 * 24 * 60),
        offset=st.integers(min_value=-12 * 60, max_value=14 * 60).filter(lambda m: m % 15 == 0),
    )
    @settings(max_examples=examples(40), deadline=None)
    def test_any_future_moment_in_any_offset_reads_back(self, minutes: int, offset: int) -> None:
        """A moment to come, written as ``YYYY-MM-DD HH:MM UTC±hh:mm`` in any offset, reads back as that moment."""
        moment = NOW + timedelta(minutes=minutes)
        local = moment + timedelta(minutes=offset)
        sign = "+" if offset >= 0 else "-"
        text = f"{local:%Y-%m-%d %H:%M} UTC{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
        assert parse_review_time(text, NOW) == moment


class TestState:
    def test_a_fresh_incident_has_a_draft_without_owner_or_review(self) -> None:
        """Before any review entry: draft, nobody, nothing scheduled."""
        assert review_state([]) == PostmortemReview(PostmortemStatus.DRAFT, None, None, None)

    def test_the_latest_entries_win_and_nothing_is_rewritten(self) -> None:
        """Status, owner and review fold to the latest of each; every earlier entry stays as it was."""
        incident = resolved()
        entries = record(incident, [], SetPostmortemOwner(UserRef("U0BOB", "bob")))
        entries = record(incident, entries, SetPostmortemStatus(PostmortemStatus.IN_REVIEW), 1)
        entries = record(incident, entries, SetPostmortemOwner(UserRef("U0CAROL", "carol")), 2)
        first = [replace(e) for e in entries]
        entries = record(incident, entries, SetPostmortemStatus(PostmortemStatus.PUBLISHED), 3)
        assert entries[:3] == first
        state = review_state(entries)
        assert (state.status, state.owner, state.review) == (PostmortemStatus.PUBLISHED, "U0CAROL", None)
        assert dict(state.names) == {"U0BOB": "bob", "U0CAROL": "carol"}
        assert [e.data for e in entries] == [
            {"owner": "U0BOB", "previous": None, "names": {"U0BOB": "bob"}},
            {"status": "in-review", "previous": "draft"},
            {"owner": "U0CAROL", "previous": "U0BOB", "names": {"U0CAROL": "carol"}},
            {"status": "published", "previous": "in-review"},
        ]

    def test_rescheduling_keeps_the_uid_and_counts_the_sequence(self) -> None:
        """The first review gets the UID the use case gave; each re-scheduling keeps it with SEQUENCE + 1."""
        incident = resolved()
        uid = "incidentbot-abc-INC-1-postmortem-review@incidentbot"
        first = review_at("2026-11-24 15:00 UTC+1", uid=uid, attendees=(UserRef("U0BOB", "bob"),))
        entries = record(incident, [], first)
        entries = record(incident, entries, review_at("2026-11-25 10:00", uid="ignored-once-scheduled"), 1)
        entries = record(incident, entries, replace(review_at("2026-11-25 10:00"), minutes=90), 2)
        reviews = [review_state(entries[:n]).review for n in (1, 2, 3)]
        assert [(r.uid, r.sequence, r.at, r.minutes) for r in reviews if r] == [
            (uid, 0, datetime(2026, 11, 24, 14, 0, tzinfo=UTC), 60),
            (uid, 1, datetime(2026, 11, 25, 10, 0, tzinfo=UTC), 60),
            (uid, 2, datetime(2026, 11, 25, 10, 0, tzinfo=UTC), 90),
        ]
        assert reviews[0] is not None and reviews[0].attendees == ("U0BOB",)
        assert reviews[2] is not None and reviews[2].attendees == ()

    @pytest.mark.parametrize(
        ("action", "message"),
        [
            (SetPostmortemStatus(PostmortemStatus.DRAFT), "The postmortem of INC-1 is already draft."),
            (SetPostmortemOwner(UserRef("U0BOB")), "The postmortem of INC-1 is already owned by that person."),
        ],
    )
    def test_a_change_that_changes_nothing_is_refused(self, action: object, message: str) -> None:
        """Setting what is already set adds nothing to the timeline."""
        incident = resolved()
        entries = record(incident, [], SetPostmortemOwner(UserRef("U0BOB")))
        with pytest.raises(TransitionError, match=f"^{message}$"):
            record(incident, entries, action, 1)

    def test_the_same_review_again_is_refused(self) -> None:
        """Scheduling the review exactly as it stands is refused (it would send the same invite again)."""
        incident = resolved()
        entries = record(incident, [], review_at("2026-11-24 15:00 UTC+1"))
        with pytest.raises(TransitionError, match=r"already scheduled so, for 2026-11-24 14:00 UTC\.$"):
            record(incident, entries, review_at("2026-11-24 14:00Z"), 1)

    @pytest.mark.parametrize("status", [Status.DECLARED, Status.INVESTIGATING, Status.MITIGATED, Status.MONITORING])
    def test_an_open_incidents_postmortem_stays_a_draft(self, status: Status) -> None:
        """In review or published needs the incident resolved; owner and review may be set before."""
        incident = resolved().with_changes(status=status, resolved_at=None)
        for target in (PostmortemStatus.IN_REVIEW, PostmortemStatus.PUBLISHED):
            with pytest.raises(TransitionError, match=f"^INC-1 is still {status.value}: its postmortem is reviewed"):
                record(incident, [], SetPostmortemStatus(target))
        entries = record(incident, [], SetPostmortemOwner(UserRef("U0BOB")))
        entries = record(incident, entries, review_at("2026-11-24 15:00"), 1)
        assert [e.kind for e in entries] == [EntryKind.POSTMORTEM_OWNER, EntryKind.POSTMORTEM_REVIEW]

    def test_the_reminder_only_for_a_draft_and_once_a_day(self) -> None:
        """A reminder records who was reminded (owner, else lead); a second one that day, or of a reviewed
        postmortem, is refused."""
        incident = resolved()
        entries = record(incident, [], RemindPostmortem(date(2026, 11, 27)))
        assert entries[-1].data == {"day": "2026-11-27", "reminded": LEAD}
        with pytest.raises(TransitionError, match="already reminded on 2026-11-27"):
            record(incident, entries, RemindPostmortem(date(2026, 11, 27)))
        entries = record(incident, entries, SetPostmortemOwner(UserRef("U0BOB")))
        entries = record(incident, entries, RemindPostmortem(date(2026, 11, 28)))
        assert entries[-1].data == {"day": "2026-11-28", "reminded": "U0BOB"}
        entries = record(incident, entries, SetPostmortemStatus(PostmortemStatus.IN_REVIEW))
        with pytest.raises(TransitionError, match="is in-review, not a draft"):
            record(incident, entries, RemindPostmortem(date(2026, 11, 29)))


class TestRecords:
    def test_what_a_review_entry_holds(self) -> None:
        """The entry keeps the time (UTC, ISO 8601), length, people, groups as typed, the sequence, the UID, the
        time it replaced, and the names Slack sent; the state reads all of it back."""
        incident = resolved()
        first = review_at(
            "2026-11-24 15:00 UTC+1",
            attendees=(UserRef("U0BOB", "bob"), UserRef("U0DAVE"), UserRef("U0BOB", "bob")),
            groups=(GroupRef("S0NET", "@netops"), GroupRef("S0DB")),
            uid="uid-1",
        )
        entries = record(incident, [], first)
        assert entries[0].data == {
            "at": "2026-11-24T14:00:00+00:00",
            "minutes": 60,
            "attendees": ["U0BOB", "U0DAVE"],
            "groups": ["S0NET", "S0DB"],
            "group_handles": {"S0NET": "netops"},
            "sequence": 0,
            "uid": "uid-1",
            "previous_at": None,
            "names": {"U0BOB": "bob"},
        }
        entries = record(incident, entries, replace(review_at("2026-11-25 09:00"), minutes=30), 1)
        assert (entries[1].data["previous_at"], entries[1].data["sequence"], entries[1].data["uid"]) == (
            "2026-11-24T14:00:00+00:00",
            1,
            "uid-1",
        )
        state = review_state(entries[:1])
        assert state.review == ScheduledReview(
            datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
            60,
            ("U0BOB", "U0DAVE"),
            ("S0NET", "S0DB"),
            0,
            "uid-1",
            {"S0NET": "netops"},
        )
        assert dict(state.names) == {"U0BOB": "bob"}

    def test_names_come_from_every_review_entry(self) -> None:
        """The display names of whoever set the status or scheduled the review are kept with the attendees'."""
        incident = resolved()
        stamp = Stamp("U0CAROL", NOW, NOW, "carol")
        status = apply(incident, SetPostmortemStatus(PostmortemStatus.IN_REVIEW), stamp, []).entries[0]
        assert dict(review_state([status]).names) == {"U0CAROL": "carol"}
        scheduled = apply(incident, review_at("2026-11-24 15:00"), Stamp("U0ERIN", NOW, NOW, "erin"), []).entries[0]
        assert dict(review_state([status, scheduled]).names) == {"U0CAROL": "carol", "U0ERIN": "erin"}

    def test_an_owner_without_a_name_records_none(self) -> None:
        """``<@U0BOB>`` without the name: the entry holds the id alone."""
        (entry,) = record(resolved(), [], SetPostmortemOwner(UserRef("U0BOB")))
        assert entry.data == {"owner": "U0BOB", "previous": None}

    def test_a_review_needs_its_time_read_first(self) -> None:
        """The use case reads WHEN against the clock; a command without it is refused, never recorded."""
        with pytest.raises(TransitionError, match=r"^The review of INC-1 needs its time\.$"):
            record(resolved(), [], ScheduleReview("15:00"))

    @pytest.mark.parametrize(
        ("installation", "uid"),
        [
            (None, "incidentbot-INC-1-postmortem-review@incidentbot"),
            ("", "incidentbot-INC-1-postmortem-review@incidentbot"),
            ("9f1c", "incidentbot-9f1c-INC-1-postmortem-review@incidentbot"),
        ],
    )
    def test_default_uid(self, installation: str | None, uid: str) -> None:
        """The UID names the installation when known, so two bots' INC-1 are two events."""
        assert default_uid(resolved(), installation) == uid

    def test_utc_whatever_the_hosts_zone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """On a host in New York the review is still stored and read in UTC, and reminder days are UTC days."""
        monkeypatch.setenv("TZ", "America/New_York")
        time.tzset()
        try:
            (entry,) = record(resolved(), [], review_at("2026-11-24 15:00 UTC+1"))
            assert entry.data["at"] == "2026-11-24T14:00:00+00:00"
            moved = replace(entry, data={**entry.data, "at": "2026-11-24T09:00:00-05:00"})
            review = review_state([moved]).review
            assert review is not None and review.at.utcoffset() == timedelta(0)
            # 02:00 UTC on the 23rd is 21:00 on the 22nd in New York: four UTC days by the 27th, not five.
            late = resolved().with_changes(resolved_at=datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
            assert needs_postmortem_reminder(late, PostmortemReview(), date(2026, 11, 27), 5) is False
            assert needs_postmortem_reminder(late, PostmortemReview(), date(2026, 11, 28), 5) is True
        finally:
            monkeypatch.delenv("TZ")
            time.tzset()


class TestCorrections:
    @pytest.mark.parametrize(
        "action", [CorrectEntry(1, "other text"), CorrectEntry(1, "", NOW), StrikeEntry(1, "wrong")]
    )
    def test_review_entries_are_changed_by_their_own_commands(self, action: object) -> None:
        """``correct`` and ``strike`` point at the postmortem commands instead."""
        incident = resolved()
        entries = record(incident, [], SetPostmortemOwner(UserRef("U0BOB")))
        with pytest.raises(TransitionError) as info:
            record(incident, entries, action, 1)
        assert info.value.user_message == (
            "Entry #1 (postmortem owner) belongs to the postmortem's review, which its own commands change: "
            "`postmortem status|owner|review ...` (run it again with the right value)."
        )


class TestReminderRule:
    DAY5 = date(2026, 11, 27)  # resolved 2026-11-22: five whole UTC days later

    @pytest.mark.parametrize(
        ("severity", "today", "days", "state", "expected"),
        [
            (Severity.SEV1, DAY5, 5, PostmortemReview(), True),
            (Severity.SEV2, DAY5, 5, PostmortemReview(), True),
            (Severity.SEV3, DAY5, 5, PostmortemReview(), False),
            (Severity.SEV4, DAY5, 5, PostmortemReview(), False),
            (Severity.SEV1, date(2026, 11, 26), 5, PostmortemReview(), False),
            (Severity.SEV1, date(2026, 11, 23), 1, PostmortemReview(), True),
            (Severity.SEV1, DAY5, None, PostmortemReview(), False),
            (Severity.SEV1, DAY5, 5, PostmortemReview(reminded_on="2026-11-27"), False),
            (Severity.SEV1, DAY5, 5, PostmortemReview(reminded_on="2026-11-26"), True),
            (Severity.SEV1, DAY5, 5, PostmortemReview(PostmortemStatus.IN_REVIEW), False),
            (Severity.SEV1, DAY5, 5, PostmortemReview(PostmortemStatus.PUBLISHED), False),
        ],
    )
    def test_rule(
        self, severity: Severity, today: date, days: int | None, state: PostmortemReview, expected: bool
    ) -> None:
        """Only a resolved sev1/sev2 draft, ``days`` whole UTC days after its resolve, not yet reminded today."""
        assert needs_postmortem_reminder(resolved(severity), state, today, days) is expected

    def test_an_open_incident_is_never_chased(self) -> None:
        """Reopened (or never resolved): no postmortem is owed yet."""
        incident = resolved().with_changes(status=Status.INVESTIGATING)
        assert needs_postmortem_reminder(incident, PostmortemReview(), self.DAY5, 5) is False


CAROL = Invitee("U0CAROL", "carol", "carol@example.com")
BOB = Invitee("U0BOB", "bob", "bob@example.com")
DAVE = Invitee("U0DAVE", "dave", None)


class TestInvite:
    UID = "incidentbot-1b2c-INC-1-postmortem-review@incidentbot"

    def invite(
        self,
        sequence: int = 0,
        organizer: Invitee | None = CAROL,
        attendees: tuple[Invitee, ...] = (BOB, DAVE),
    ) -> icalendar.Calendar:
        at = parse_review_time("2026-11-24 15:00 UTC+1", NOW)
        review = ScheduledReview(at, 60, ("U0BOB", "U0DAVE"), ("S0NET",), sequence, self.UID)
        raw = build_review_invite(
            resolved(),
            review,
            attendees,
            organizer,
            NOW,
            groups=["@netops"],
            channel="https://slack.com/app_redirect?channel=C0INC1",
        )
        assert raw.endswith(b"\r\n") and b"\r\n " in raw  # CRLF lines, long ones folded (RFC 5545 3.1)
        return icalendar.Calendar.from_ical(raw)

    def test_the_seed_review_parsed_back(self) -> None:
        """The seed CDN incident's review at 2026-11-24 15:00 UTC+1, with the exact values an RFC 5545 reader sees."""
        calendar = self.invite()
        assert (str(calendar["VERSION"]), str(calendar["PRODID"]), str(calendar["METHOD"])) == (
            "2.0",
            "-//incidentbot//postmortem review//EN",
            "REQUEST",
        )
        (event,) = calendar.walk("VEVENT")
        assert event["DTSTART"].to_ical() == b"20261124T140000Z"
        assert event["DTEND"].to_ical() == b"20261124T150000Z"
        assert event["DTSTAMP"].to_ical() == b"20261122T150000Z"
        assert event.decoded("DTSTART") == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
        assert str(event["UID"]) == self.UID
        assert int(event["SEQUENCE"]) == 0
        assert str(event["SUMMARY"]) == (
            "Postmortem review: INC-1 CDN edge returning 502s above the 5% alerting threshold"
        )
        assert str(event["STATUS"]) == "CONFIRMED"
        organizer = event["ORGANIZER"]
        assert (str(organizer), organizer.params["CN"]) == ("mailto:carol@example.com", "carol")
        attendees = event["ATTENDEE"]
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert [(str(a), dict(a.params)) for a in attendees] == [
            (
                "mailto:bob@example.com",
                {"CN": "bob", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"},
            )
        ]
        assert str(event["DESCRIPTION"]) == (
            "Blameless postmortem review of INC-1 (sev1): CDN edge returning 502s above the 5% alerting threshold.\n"
            "Incident channel: https://slack.com/app_redirect?channel=C0INC1\n"
            "Postmortem owner: carol\n"
            "Also invited (no e-mail address known): dave\n"
            "User groups invited: @netops"
        )

    def test_a_rescheduled_review_is_the_same_event_one_sequence_on(self) -> None:
        """Same UID, SEQUENCE 1: calendars replace the event instead of adding one."""
        (first,) = self.invite(0).walk("VEVENT")
        (second,) = self.invite(1).walk("VEVENT")
        assert (str(second["UID"]), int(second["SEQUENCE"])) == (str(first["UID"]), 1)

    @pytest.mark.parametrize(
        ("organizer", "attendees"),
        [
            (None, (Invitee("bob", "bob"), Invitee("U0DAVE", "dave"))),  # no address at all
            (None, (BOB, DAVE)),  # bob's address, but no owner's: PUBLISH would need an ORGANIZER
            (CAROL, (Invitee("bob", "bob"), Invitee("U0DAVE", "dave"))),  # an owner, nobody to send it to
            (CAROL, ()),
        ],
    )
    def test_without_an_organizer_and_an_attendee_address_it_is_an_event_to_import(
        self, organizer: Invitee | None, attendees: tuple[Invitee, ...]
    ) -> None:
        """RFC 5546 3.2.2: a REQUEST has an ORGANIZER and at least one ATTENDEE; 3.2.1: a PUBLISH has an
        ORGANIZER and no ATTENDEE. Short of a REQUEST the file is a plain RFC 5545 event (no METHOD, no
        ORGANIZER: 5545 3.8.4.3 keeps it for group-scheduled events), everyone named in DESCRIPTION."""
        calendar = self.invite(organizer=organizer, attendees=attendees)
        (event,) = calendar.walk("VEVENT")
        assert ("METHOD" in calendar, "ORGANIZER" in event, "ATTENDEE" in event) == (False, False, False)
        names = ", ".join(a.name for a in attendees)
        invited = [f"Invited: {names}"] if attendees else []
        owner = ["Postmortem owner: carol"] if organizer else []
        assert str(event["DESCRIPTION"]).split("\n") == [
            "Blameless postmortem review of INC-1 (sev1): CDN edge returning 502s above the 5% alerting threshold.",
            "Incident channel: https://slack.com/app_redirect?channel=C0INC1",
            *owner,
            *invited,
            "User groups invited: @netops",
        ]

    def test_hostile_titles_stay_text(self) -> None:
        """Commas, semicolons, newlines and a fake property in a title stay in SUMMARY (escaped, RFC 5545 3.3.11)."""
        title = "a; b, c\nEND:VEVENT\nBEGIN:VALARM"  # titles are stored with LF only (``clean_text``)
        review = ScheduledReview(NOW + timedelta(days=1), 30, (), (), 0, self.UID)
        raw = build_review_invite(resolved(title=title), review, [], None, NOW)
        (event,) = icalendar.Calendar.from_ical(raw).walk("VEVENT")
        assert str(event["SUMMARY"]) == f"Postmortem review: INC-1 {title}"
        assert raw.count(b"\r\nBEGIN:") == 1 and b"\r\nBEGIN:VALARM" not in raw  # VEVENT, no injected VALARM

    def test_filename(self) -> None:
        """``INC-1-postmortem-review.ics``."""
        assert invite_filename(resolved()) == "INC-1-postmortem-review.ics"


class TestNotAnUpdate:
    def test_a_draft_reminder_does_not_silence_the_nudges_of_a_reopened_incident(self) -> None:
        """The bot's own reminder is not a status update: a reopened incident quiet since its reopen is nudged."""
        incident = resolved()
        reminder = TimelineEntry(
            EntryKind.POSTMORTEM_REMINDER, NOW, NOW, "incidentbot", "", {"day": "2026-11-22", "reminded": LEAD}
        )
        reopened = incident.with_changes(status=Status.INVESTIGATING)
        reopen = TimelineEntry(EntryKind.REOPENED, NOW - timedelta(minutes=40), NOW - timedelta(minutes=40), LEAD)
        due = due_nudges([(reopened, [reopen, reminder])], {Severity.SEV1: timedelta(minutes=15)}, NOW)
        assert [(d.number, d.silent_minutes) for d in due] == [(1, 40)]
