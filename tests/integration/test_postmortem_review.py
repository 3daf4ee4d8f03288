"""The postmortem's review life cycle through the real entry points, on SQLite and PostgreSQL: status, owner and
review recorded and read back, strict roles, the calendar invite uploaded once through the outbox (signed HTTP to
the real bot, the fake Slack failing the first upload), and the daily reminder of drafts (controlled clock)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from bot.app import POSTMORTEM_REMINDER, UseCases
from bot.cli.demo import ReplayClock
from bot.domain.errors import TimeParseError
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind, PostmortemStatus, Status
from bot.domain.policy import NotAllowed
from bot.domain.timeline import plain_mention
from bot.store import IncidentStore
from bot.usecases.shared import Actor
from bot.usecases.wiring import wire_usecases
from bot.views.replies import list_text, status_text
from tests.support.cli import assert_one_line_error, incidentbot
from tests.support.slack_driver import SlackDriver, channel_texts

ALICE = Actor("U0ALICE", "alice")
BOB = Actor("U0BOB", "bob")
MALLORY = Actor("U0MALLORY", "mallory")
FILE_TYPE_REASON = "the workspace forbids this upload; `incidentbot postmortem INC-n` renders the draft locally"
UID = re.compile(r"^incidentbot-[0-9a-f-]{36}-INC-1-postmortem-review@incidentbot$")


def run(usecases: UseCases, text: str, actor: Actor = ALICE) -> None:
    usecases.incidents.run(parse_command(text), actor)


def seed(usecases: UseCases, clock: ReplayClock, severity: str = "sev1", title: str = "CDN edge returning 502s") -> int:
    """An incident declared at 13:42 and resolved at 14:45 on 2026-11-22 (the clock then stands at 15:00)."""
    clock.now = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
    number = len(usecases.incidents.summaries()) + 1
    run(usecases, f"declare {severity} {title}")
    run(usecases, f"INC-{number} lead <@U0ALICE|alice>")
    clock.now = datetime(2026, 11, 22, 14, 45, tzinfo=UTC)
    run(usecases, f"INC-{number} resolve WAF rule rolled back")
    clock.now = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    return number


class TestRecorded:
    def test_status_owner_and_review_are_appended_and_read_back(self, usecases: UseCases, clock: ReplayClock) -> None:
        """The worked example: the review at 2026-11-24 15:00 UTC+1 is 14:00 UTC; re-scheduling keeps the UID
        and counts the sequence up; every change is a new entry, none rewritten; status and list show it."""
        seed(usecases, clock)
        run(usecases, "INC-1 postmortem owner <@U0BOB|bob>")
        run(usecases, "INC-1 postmortem review 2026-11-24 15:00 UTC+1 <@U0CAROL|carol> for 90m")
        _, first = usecases.incidents.review(1)
        assert first.review is not None
        assert (first.review.at, first.review.minutes, first.review.attendees, first.review.sequence) == (
            datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
            90,
            ("U0CAROL",),
            0,
        )
        assert UID.match(first.review.uid), first.review.uid
        _, recorded_before = usecases.incidents.timeline(1)
        run(usecases, "INC-1 postmortem review 2026-11-25 10:00 Europe/Berlin <@U0CAROL|carol> <@U0DAVE>")
        run(usecases, "INC-1 postmortem status in-review")
        incident, state = usecases.incidents.review(1)
        assert state.review is not None
        assert (state.status, state.owner, state.review.at, state.review.sequence, state.review.uid) == (
            PostmortemStatus.IN_REVIEW,
            "U0BOB",
            datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
            1,
            first.review.uid,
        )
        _, entries = usecases.incidents.timeline(1)
        assert entries[: len(recorded_before)] == recorded_before  # appended only
        kinds = [e.kind for e in entries if e.kind.value.startswith("postmortem")]
        assert kinds == [
            EntryKind.POSTMORTEM_OWNER,
            EntryKind.POSTMORTEM_REVIEW,
            EntryKind.POSTMORTEM_REVIEW,
            EntryKind.POSTMORTEM_STATUS,
        ]
        text = status_text(incident, clock.now, plain_mention({"U0BOB": "bob"}), review=state)
        assert text.splitlines()[-1] == ("Postmortem: in-review · owner @bob · review 2026-11-25 09:00 UTC (60 min)")
        assert list_text(usecases.incidents.summaries(), clock.now).endswith("(postmortem in-review)")

    def test_a_review_in_the_past_is_refused(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Nothing is recorded and the message says why."""
        seed(usecases, clock)
        with pytest.raises(TimeParseError) as info:
            run(usecases, "INC-1 postmortem review 2026-11-22 14:00 UTC")
        assert str(info.value.user_message).startswith(
            "`2026-11-22 14:00 UTC` (2026-11-22 14:00 UTC) is in the past; a review is scheduled for a time to come."
        )
        _, entries = usecases.incidents.timeline(1)
        assert not [e for e in entries if e.kind is EntryKind.POSTMORTEM_REVIEW]

    def test_list_marks_each_resolved_incidents_postmortem(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Resolved incidents show their postmortem's status (draft unless told); open ones none."""
        seed(usecases, clock)
        seed(usecases, clock, title="DNS resolution failing")
        run(usecases, "declare sev2 Checkout slow")
        run(usecases, "INC-2 postmortem status published")
        statuses = {s.number: (s.status, s.postmortem_status) for s in usecases.incidents.summaries()}
        assert statuses == {
            1: (Status.RESOLVED, PostmortemStatus.DRAFT),
            2: (Status.RESOLVED, PostmortemStatus.PUBLISHED),
            3: (Status.DECLARED, None),
        }


class TestCli:
    def test_the_commands_from_the_command_line(self, tmp_path: Path) -> None:
        """``incidentbot run`` takes ``@name`` owners and attendees; ``status``, ``list --format json`` and the
        draft read the review back; a review in the past exits 1 with one line. (On SQLite only: a CLI process
        costs seconds, and the other tests here run the same use cases on both databases.)"""
        database_url = f"sqlite:///{tmp_path / 'incidents.db'}"
        day = datetime.now(UTC).date() + timedelta(days=3)

        def cli(*args: str) -> str:
            result = incidentbot(*args, database_url=database_url, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            return result.stdout

        cli("run", "declare sev2 Checkout errors")
        cli("run", "INC-1 resolve retries contained")
        assert cli("run", "INC-1 postmortem owner @bob").strip() == "INC-1 · Postmortem owner: @bob"
        assert cli("run", f"INC-1 postmortem review {day:%Y-%m-%d} 09:30 Europe/Berlin @carol for 45m").strip() == (
            f"INC-1 · Postmortem review scheduled for {day:%Y-%m-%d} 08:30 UTC (45 min) with @carol"
        )
        refused = incidentbot(
            "run", "INC-1 postmortem review 2020-01-01 10:00", database_url=database_url, cwd=tmp_path
        )
        assert_one_line_error(
            refused,
            "`2020-01-01 10:00` (2020-01-01 10:00 UTC) is in the past; a review is scheduled for a time to come. "
            "A review time is a moment to come: `2026-11-24 15:00`, `2026-11-24 15:00 UTC+1`, `2026-11-24T15:00Z`, "
            "`tomorrow 15:00 Europe/Berlin`, `today 16:30`, or a clock time alone (`15:00`: its next occurrence); "
            "zones as for `--at` (`UTC+1`, `+05:30`, `CET`, `Europe/Berlin`; no zone means UTC).",
        )
        assert cli("run", "INC-1 status").splitlines()[-1] == (
            f"Postmortem: draft · owner @bob · review {day:%Y-%m-%d} 08:30 UTC (45 min)"
        )
        [listed] = json.loads(cli("list", "--format", "json"))["incidents"]
        assert listed["postmortem"] == "draft"
        header = cli("postmortem", "INC-1").splitlines()[3:6]
        assert header[0].startswith("**Status:** Draft (blameless")
        assert header[1:] == [
            "**Postmortem owner:** @bob",
            f"**Review:** {day:%Y-%m-%d} 08:30 UTC (45 min) with @carol",
        ]


class TestStrictRoles:
    def test_only_the_lead_and_irt_change_the_review(self, store: IncidentStore, clock: ReplayClock) -> None:
        """Under strict roles an outsider is refused status, owner and review; the lead may."""
        usecases = wire_usecases(store, clock=clock, strict_roles=True)
        seed(usecases, clock)
        for text, move in (
            ("INC-1 postmortem status in-review", "change the postmortem status of INC-1"),
            ("INC-1 postmortem owner <@U0MALLORY>", "name the postmortem owner of INC-1"),
            ("INC-1 postmortem review 2026-11-24 15:00 UTC", "schedule the postmortem review of INC-1"),
        ):
            with pytest.raises(NotAllowed) as info:
                run(usecases, text, MALLORY)
            assert info.value.plain_message == f"Only the incident lead and IRT may {move} (strict roles are on)."
        run(usecases, "INC-1 postmortem status in-review", ALICE)
        assert usecases.incidents.review(1)[1].status is PostmortemStatus.IN_REVIEW

    def test_the_postmortem_owner_may_move_its_review_without_being_in_the_irt(
        self, store: IncidentStore, clock: ReplayClock
    ) -> None:
        """The reminder asks the owner to schedule the review and mark it in review: under strict roles they
        may (and hand the postmortem over); another outsider still may not, nor may the owner do anything else."""
        usecases = wire_usecases(store, clock=clock, strict_roles=True)
        seed(usecases, clock)
        run(usecases, "INC-1 postmortem owner <@U0BOB>", ALICE)
        run(usecases, "INC-1 postmortem review 2026-11-24 15:00 UTC", BOB)
        run(usecases, "INC-1 postmortem status in-review", BOB)
        with pytest.raises(NotAllowed) as refused:
            run(usecases, "INC-1 postmortem status published", MALLORY)
        assert refused.value.plain_message == (
            "Only the incident lead, the postmortem owner and IRT may change the postmortem status of INC-1 "
            "(strict roles are on)."
        )
        assert refused.value.render(plain_mention({})) == (
            "Only the lead @U0ALICE, the postmortem owner @U0BOB and the IRT of INC-1 may change the postmortem "
            "status of it (strict roles are on). Ask one of them to add you: `/incident INC-1 assemble @U0MALLORY`."
        )
        with pytest.raises(NotAllowed):
            run(usecases, "INC-1 reopen the fix did not hold", BOB)
        run(usecases, "INC-1 postmortem owner <@U0MALLORY>", BOB)
        run(usecases, "INC-1 postmortem status published", MALLORY)
        with pytest.raises(NotAllowed):
            run(usecases, "INC-1 postmortem status draft", BOB)
        review = usecases.incidents.review(1)[1]
        assert (review.status, review.owner) == (PostmortemStatus.PUBLISHED, "U0MALLORY")


class TestReminders:
    def test_a_corrected_resolve_time_moves_the_reminder(self, usecases: UseCases, clock: ReplayClock) -> None:
        """The review tester's finding: the reminder fired on the stored resolve time while naming the corrected
        one. INC-1 resolved 2026-11-22, corrected to the 25th: chased from the 30th, not the 27th. INC-2
        declared and resolved 2026-11-22, both corrected to the 20th: chased from the 25th."""
        seed(usecases, clock, "sev1", "CDN edge returning 502s")
        seed(usecases, clock, "sev2", "Checkout errors")
        clock.now = datetime(2026, 11, 26, 8, tzinfo=UTC)  # when the corrections are made
        run(usecases, "INC-1 correct 3 --at 2026-11-25 14:45")
        run(usecases, "INC-2 correct 1 --at 2026-11-20 13:42")  # declared and resolved two days earlier
        run(usecases, "INC-2 correct 3 --at 2026-11-20 14:45")

        def remind(day: int) -> list[str]:
            now = datetime(2026, 11, day, 9, tzinfo=UTC)
            return [o.incident.incident_id for o in usecases.reviews.remind_drafts(5, now=now)]

        assert [remind(day) for day in (24, 25, 27, 29, 30)] == [
            [],
            ["INC-2"],
            ["INC-2"],
            ["INC-2"],
            ["INC-1", "INC-2"],
        ]

    def test_drafts_are_chased_once_a_day_only_for_sev1_and_sev2(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Resolved 2026-11-22: nothing on the 26th, INC-1 (sev1) and INC-2 (sev2) on the 27th, once; INC-3 (sev3)
        never; again on the 28th; nothing once in review."""
        seed(usecases, clock, "sev1", "CDN edge returning 502s")
        seed(usecases, clock, "sev2", "Checkout errors")
        seed(usecases, clock, "sev3", "Slow admin page")
        run(usecases, "INC-2 postmortem owner <@U0BOB|bob>")

        def remind(day: int, hour: int = 9) -> list[str]:
            now = datetime(2026, 11, day, hour, tzinfo=UTC)
            return [o.incident.incident_id for o in usecases.reviews.remind_drafts(5, now=now)]

        assert remind(26) == []
        assert remind(27) == ["INC-1", "INC-2"]
        assert remind(27, 23) == []
        assert remind(28) == ["INC-1", "INC-2"]
        run(usecases, "INC-1 postmortem status in-review")
        assert remind(29) == ["INC-2"]
        assert usecases.reviews.remind_drafts(None, now=datetime(2026, 11, 30, tzinfo=UTC)) == []
        reminders = {
            n: [
                (e.data["day"], e.data["reminded"])
                for e in usecases.incidents.timeline(n)[1]
                if e.kind.value == "postmortem_reminder"
            ]
            for n in (1, 2, 3)
        }
        assert reminders == {
            1: [("2026-11-27", "U0ALICE"), ("2026-11-28", "U0ALICE")],
            2: [("2026-11-27", "U0BOB"), ("2026-11-28", "U0BOB"), ("2026-11-29", "U0BOB")],
            3: [],
        }

    def test_the_owner_gets_a_dm_and_the_channel_a_line(self, slack: SlackDriver) -> None:
        """Through the running bot and the fake Slack: the owner's DM and the channel line, once that day."""
        channel = slack.declare("declare sev1 CDN edge returning 502s --at 7d ago")
        slack.ephemeral("resolve WAF rule rolled back --at 6d ago", channel_id=channel)
        slack.ephemeral("postmortem owner <@U0CAROL|carol>", channel_id=channel)
        resolved_day = f"{datetime.now(UTC) - timedelta(days=6):%Y-%m-%d}"
        reminder = slack.bot.web_app[POSTMORTEM_REMINDER]
        now = datetime.now(UTC)
        assert reminder.check_once(now) == ["INC-1"]
        assert reminder.check_once(now + timedelta(minutes=5)) == []
        slack.bot.drain()
        hint = (
            "Schedule its review with `/incident INC-1 postmortem review &lt;when&gt; @attendees`, then "
            "`/incident INC-1 postmortem status in-review`."
        )
        lines = [t for t in channel_texts(slack, channel).splitlines() if t.startswith(":memo:")]
        assert lines == [
            f":memo: <@U0CAROL>: the postmortem of INC-1 (sev1) is still a draft since {resolved_day}. {hint}"
        ]
        direct = [m["text"] for m in slack.fake.channel("D0CAROL").messages]
        assert direct == [
            f":memo: The postmortem of INC-1 (CDN edge returning 502s) is still a draft since {resolved_day}. {hint}"
        ]


def _invites(slack: SlackDriver) -> list[icalendar.Calendar]:
    return [icalendar.Calendar.from_ical(f.content) for f in slack.fake.uploaded_files if f.filename.endswith(".ics")]


def _wait_for_invites(slack: SlackDriver, count: int, timeout: float = 15.0) -> None:
    """The outbox retries a rate-limited upload after its Retry-After (1 s): wait for it, then for quiet."""
    deadline = time.monotonic() + timeout
    while len(_invites(slack)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        slack.bot.drain()
    time.sleep(1.5)  # longer than the fake's Retry-After: a second delivery of the same item would show now
    slack.bot.drain()


class TestInviteOverHttp:
    def test_the_invite_is_uploaded_once_though_the_first_upload_fails(self, slack: SlackDriver) -> None:
        """Signed ``/incident postmortem review ...``: Slack rate-limits the first completeUploadExternal; the
        outbox retries and the channel gets exactly one .ics, RFC 5545 valid, with the attendees' addresses from
        users.info (a user group's members too) and the one without an address named in its description. A
        re-schedule uploads the same event (same UID) at SEQUENCE 1."""
        slack.fake.add_user("U0DAVE", "dave", email_address="")
        slack.fake.add_usergroup("S0NET", "netops", ["U0ERIN"])
        channel = slack.declare("declare sev1 CDN edge returning 502s above the 5% alerting threshold")
        slack.ephemeral("resolve WAF rule rolled back", channel_id=channel)
        slack.ephemeral("postmortem owner <@U0CAROL|carol>", channel_id=channel)
        day = datetime.now(UTC).date() + timedelta(days=2)
        slack.fake.fail_next("files.completeUploadExternal", "ratelimited")
        reply = slack.ephemeral(
            f"postmortem review {day:%Y-%m-%d} 15:00 UTC+1 <@U0BOB|bob> <@U0DAVE|dave> <!subteam^S0NET|@netops> "
            "<!subteam^S0GONE|@gone> for 90m",
            channel_id=channel,
        )
        assert f"Postmortem review scheduled for {day:%Y-%m-%d} 14:00 UTC (90 min)" in reply
        _wait_for_invites(slack, 1)
        completes = slack.fake.calls_to("files.completeUploadExternal")
        ics = [c for c in completes if "calendar invite" in str(c.params)]
        assert [c.ok for c in ics] == [False, True]  # the rate-limited one, then the retry
        (calendar,) = _invites(slack)
        [uploaded] = [f for f in slack.fake.uploaded_files if f.filename.endswith(".ics")]
        assert (uploaded.filename, uploaded.channel_id) == ("INC-1-postmortem-review.ics", channel)
        assert uploaded.initial_comment == (
            f":calendar: Postmortem review of *INC-1* scheduled for {day:%Y-%m-%d} 14:00 UTC (90 min). Add the "
            "attached invite to your calendar. No e-mail address known for <@U0DAVE>: they are named in its "
            "description. Could not read the members of @gone: no such user group."
        )
        (event,) = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST"
        assert event["DTSTART"].to_ical() == f"{day:%Y%m%d}T140000Z".encode()
        assert event["DTEND"].to_ical() == f"{day:%Y%m%d}T153000Z".encode()
        assert str(event["SUMMARY"]) == (
            "Postmortem review: INC-1 CDN edge returning 502s above the 5% alerting threshold"
        )
        assert int(event["SEQUENCE"]) == 0
        uid = str(event["UID"])
        assert UID.match(uid), uid
        assert (str(event["ORGANIZER"]), event["ORGANIZER"].params["CN"]) == ("mailto:carol@example.com", "carol")
        assert sorted(str(a) for a in event["ATTENDEE"]) == ["mailto:bob@example.com", "mailto:erin@example.com"]
        description = str(event["DESCRIPTION"])
        assert "Also invited (no e-mail address known): dave" in description
        assert "User groups invited: @netops, @gone" in description

        slack.ephemeral(f"postmortem review {day:%Y-%m-%d} 16:00 UTC <@U0BOB|bob>", channel_id=channel)
        _wait_for_invites(slack, 2)
        _, second = _invites(slack)
        (moved,) = second.walk("VEVENT")
        assert (str(moved["UID"]), int(moved["SEQUENCE"]), moved["DTSTART"].to_ical()) == (
            uid,
            1,
            f"{day:%Y%m%d}T160000Z".encode(),
        )
        slack.assert_calls_ok("users.info")

    def test_a_refused_upload_tells_whoever_scheduled_it(self, slack: SlackDriver) -> None:
        """Slack refusing the file for good (a channel that disallows the type): the item is dead, nothing is
        shared, and the person who typed the command is told, the review itself staying recorded."""
        channel = slack.declare("declare sev2 Checkout errors")
        slack.ephemeral("resolve retries contained", channel_id=channel)
        slack.fake.fail_next("files.completeUploadExternal", "file_type_not_allowed", status=200)
        slack.ephemeral("postmortem review tomorrow 15:00 <@U0BOB|bob>", channel_id=channel)
        slack.bot.drain()
        assert not [f for f in slack.fake.uploaded_files if f.filename.endswith(".ics")]
        assert [i.status for i in slack.bot.usecases.outbox.items() if i.kind == "slack.upload_review_invite"] == [
            "dead"
        ]
        told = [t for t in slack.response_texts().splitlines() if "review invite" in t]
        assert told == [
            "Slack refused the review invite of INC-1 (file_type_not_allowed: "
            + FILE_TYPE_REASON
            + "); the review is recorded."
        ]
        assert slack.bot.usecases.incidents.review(1)[1].review is not None
