"""Archiving a resolved incident's channel (INCIDENT_ARCHIVE_AFTER) through the real bot: slash commands
over signed HTTP, the fake Slack, and outbox replicas on a controlled clock (the archive is an outbox item
due a delay after the resolve), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.effects import OutboxItem
from bot.domain.model import EntryKind
from bot.outbox.worker import OutboxWorker
from bot.slack.archiving import reopened_effects
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.signing import app_home_opened_event
from tests.support.slack_driver import SlackDriver, channel_texts

WEEK = timedelta(days=7)


@pytest.fixture()
def archiving(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    """The bot with INCIDENT_ARCHIVE_AFTER=7d on a fresh database of each kind."""
    with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="7d") as bot:
        driver = SlackDriver(bot, fake_slack)
        yield driver
        bot.drain()
        driver.assert_slack_saw_no_internals()


def replicas_deliver(bot: RunningBot, now: datetime, names: tuple[str, ...] = ("replica-a", "replica-b")) -> None:
    """Outbox workers of other replicas whose clock reads ``now`` deliver what is due then, racing each other,
    until nothing is left to claim."""
    workers = [OutboxWorker(bot.usecases.store, bot.worker.deliver, name, clock=lambda: now) for name in names]

    async def race() -> None:
        for _ in range(10):
            done = await asyncio.gather(*(worker.run_once() for worker in workers))
            if sum(done) == 0:
                return

    bot.call(race())


def resolved_at(bot: RunningBot, number: int = 1) -> datetime:
    incident = bot.usecases.incidents.get(number)
    assert incident.resolved_at is not None
    return incident.resolved_at


def archive_items(bot: RunningBot, status: str | None = None) -> list[OutboxItem]:
    return [i for i in bot.usecases.outbox.items(status) if i.kind == "slack_archive.channel"]


def kinds(bot: RunningBot, number: int = 1) -> list[EntryKind]:
    return [e.kind for e in bot.usecases.incidents.timeline(number)[1]]


class TestArchiveAfterTheDelay:
    def test_archived_once_after_seven_days_with_two_replicas_and_a_restart(
        self, database_url: str, fake_slack: FakeSlack
    ) -> None:
        """Not a minute before the 7 days; after them, across a restart and two racing replicas, one last
        message linking the uploaded postmortem, one conversations.archive, one channel_archived entry."""
        with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="7d") as bot:
            slack = SlackDriver(bot, fake_slack)
            channel = slack.declare()
            slack.ephemeral("resolve fixed the pool size", channel_id=channel)
            resolved = resolved_at(bot)
            [item] = bot.usecases.outbox.items("pending")
            assert item.kind == "slack_archive.channel"
            assert item.next_attempt_at == resolved + WEEK
            replicas_deliver(bot, resolved + WEEK - timedelta(minutes=1))
            assert fake_slack.calls_to("conversations.archive") == []
        # a restart: the item waits in the database
        with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="7d") as bot:
            replicas_deliver(bot, resolved + WEEK + timedelta(seconds=1))
            replicas_deliver(bot, resolved + WEEK + timedelta(hours=1), ("replica-c",))
            assert len(fake_slack.calls_to("conversations.archive")) == 1
            assert fake_slack.channel(channel).is_archived
            [upload] = fake_slack.uploaded_files
            permalink = f"https://testteam.slack.com/files/UBOT/{upload.file_id}/INC-1-postmortem.md"
            last = [t for t in channel_texts(SlackDriver(bot, fake_slack), channel).splitlines() if "archived now" in t]
            assert last == [
                ":file_cabinet: INC-1 was resolved 7d 0h ago: this channel is archived now. "
                f"The postmortem: {permalink}. Reopening the incident (`/incident INC-1 reopen <why>`) unarchives it."
            ]
            assert kinds(bot).count(EntryKind.CHANNEL_ARCHIVED) == 1
            assert bot.usecases.incidents.get(1).channel_archived_at is not None
            assert archive_items(bot, "pending") == [] and archive_items(bot, "dead") == []

    def test_a_rate_limited_archive_is_retried_without_a_second_last_message(self, archiving: SlackDriver) -> None:
        """conversations.archive answers 429 once: retried after its Retry-After, the last message stays one."""
        channel = archiving.declare()
        archiving.ephemeral("resolve", channel_id=channel)
        due = resolved_at(archiving.bot) + WEEK
        archiving.fake.fail_next("conversations.archive", "ratelimited", status=429, retry_after=30)
        replicas_deliver(archiving.bot, due)
        assert not archiving.fake.channel(channel).is_archived
        [item] = archive_items(archiving.bot, "pending")
        assert item.next_attempt_at >= due + timedelta(seconds=30)
        replicas_deliver(archiving.bot, due + timedelta(minutes=16))
        assert archiving.fake.channel(channel).is_archived
        assert [c.error for c in archiving.fake.calls_to("conversations.archive")] == ["ratelimited", None]
        assert sum("archived now" in t for t in channel_texts(archiving, channel).splitlines()) == 1
        assert kinds(archiving.bot).count(EntryKind.CHANNEL_ARCHIVED) == 1

    @pytest.mark.parametrize(
        ("breaks", "code"),
        [(FakeSlack.remove_bot, "not_in_channel"), (FakeSlack.make_private_without_bot, "channel_not_found")],
    )
    def test_an_archive_slack_refuses_is_dead_with_a_note(
        self, archiving: SlackDriver, breaks: Callable[[FakeSlack, str], None], code: str
    ) -> None:
        """The bot removed (or the channel made private without it) before the week is out: one refused call,
        the item dead naming the code, the incident keeps a note; nothing recorded as archived."""
        channel = archiving.declare()
        archiving.ephemeral("resolve", channel_id=channel)
        breaks(archiving.fake, channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK + timedelta(hours=1))
        refused = [c.error for c in archiving.fake.calls if c.error == code]
        [dead] = archive_items(archiving.bot, "dead")
        assert len(refused) == 1 and f": {code} (HTTP 200, channel)" in dead.last_error
        assert archiving.fake.calls_to("conversations.archive") == []  # the last message was refused first
        assert archiving.bot.usecases.incidents.get(1).channel_problem is not None
        assert EntryKind.CHANNEL_ARCHIVED not in kinds(archiving.bot)

    def test_no_postmortem_yet_is_said(self, archiving: SlackDriver) -> None:
        """Without a recorded postmortem link (its upload refused), the last message says none was published."""
        channel = archiving.declare()
        archiving.fake.fail_next("files.getUploadURLExternal", "invalid_arg_name", status=200)
        archiving.ephemeral("resolve", channel_id=channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK)
        texts = channel_texts(archiving, channel)
        assert (
            "No postmortem was published yet: `/incident INC-1 postmortem publish` publishes it (Confluence or Git, "
            "when set up) and `incidentbot postmortem INC-1` writes its draft; an upload here would be refused. "
            "Reopening the incident (`/incident INC-1 reopen <why>`) unarchives it."
        ) in texts
        assert archiving.fake.channel(channel).is_archived

    def test_a_reopen_before_the_delay_cancels_it(self, archiving: SlackDriver) -> None:
        """Reopened on day 3: on day 7 the item does nothing (no message, no archive) and is done."""
        channel = archiving.declare()
        archiving.ephemeral("resolve", channel_id=channel)
        resolved = resolved_at(archiving.bot)
        archiving.ephemeral("reopen the errors are back", channel_id=channel)
        replicas_deliver(archiving.bot, resolved + WEEK + timedelta(minutes=1))
        assert archiving.fake.calls_to("conversations.archive") == []
        assert "archived now" not in channel_texts(archiving, channel)
        assert archive_items(archiving.bot) == []
        assert EntryKind.CHANNEL_ARCHIVED not in kinds(archiving.bot)

    def test_resolved_again_counts_from_the_new_resolve(self, archiving: SlackDriver) -> None:
        """Resolve, reopen, resolve again: the first resolve's week passing archives nothing; the second's does."""
        channel = archiving.declare()
        archiving.ephemeral("resolve", channel_id=channel)
        first = resolved_at(archiving.bot)
        archiving.ephemeral("reopen not yet", channel_id=channel)
        archiving.ephemeral("resolve for real", channel_id=channel)
        second = resolved_at(archiving.bot)
        due = sorted(i.next_attempt_at for i in archive_items(archiving.bot, "pending"))
        assert due == [first + WEEK, second + WEEK]
        assert second > first
        replicas_deliver(archiving.bot, first + WEEK)  # the second resolve's own item is not due yet
        assert archiving.fake.calls_to("conversations.archive") == []
        replicas_deliver(archiving.bot, second + WEEK)
        assert len(archiving.fake.calls_to("conversations.archive")) == 1
        assert kinds(archiving.bot).count(EntryKind.CHANNEL_ARCHIVED) == 1

    def test_a_reopen_after_unarchives_and_the_incident_works_again(self, archiving: SlackDriver) -> None:
        """Archived, then reopened from #general: unarchived before the reopen's line; a note in the channel
        works; resolving again queues a new archive a week after the new resolve."""
        channel = archiving.declare()
        archiving.ephemeral("resolve", channel_id=channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK)
        assert archiving.fake.channel(channel).is_archived
        reply = archiving.ephemeral("INC-1 reopen the errors are back")
        assert "INC-1" in reply
        assert not archiving.fake.channel(channel).is_archived
        order = [c.method for c in archiving.fake.calls if c.method in ("conversations.unarchive", "chat.postMessage")]
        assert order[-2:] == ["conversations.unarchive", "chat.postMessage"]
        assert "reopened" in channel_texts(archiving, channel).splitlines()[-1].lower()
        assert kinds(archiving.bot)[-2:] == [EntryKind.REOPENED, EntryKind.CHANNEL_UNARCHIVED]
        assert archiving.bot.usecases.incidents.get(1).channel_archived_at is None
        archiving.ephemeral("note rolled back the pool change", channel_id=channel)
        assert "rolled back the pool change" in channel_texts(archiving, channel).splitlines()[-1]
        archiving.ephemeral("resolve again", channel_id=channel)
        [item] = archive_items(archiving.bot, "pending")
        assert item.next_attempt_at == resolved_at(archiving.bot) + WEEK
        archiving.assert_calls_ok("conversations.unarchive", "conversations.archive", "chat.postMessage")

    def test_an_archive_that_raced_a_reopen_is_undone(self, archiving: SlackDriver) -> None:
        """The archive went out as a reopen committed (the archive's record comes second): recording it queues
        the unarchive in the same transaction, so the reopened incident gets its channel back."""
        channel = archiving.declare()
        archiving.ephemeral("resolve", channel_id=channel)
        archiving.ephemeral("reopen the errors are back", channel_id=channel)
        archiving.fake.archive_by_hand(channel)  # what the racing archive did in Slack
        archiving.bot.usecases.channels.record_archived(1, "7d 0h", reopened_effects)
        archiving.bot.worker.wake()
        archiving.bot.drain()
        assert not archiving.fake.channel(channel).is_archived
        assert len(archiving.fake.calls_to("conversations.unarchive")) == 1
        assert kinds(archiving.bot)[-2:] == [EntryKind.CHANNEL_ARCHIVED, EntryKind.CHANNEL_UNARCHIVED]
        assert archiving.bot.usecases.incidents.get(1).channel_archived_at is None

    @pytest.mark.parametrize("code", ["method_not_supported_for_channel_type", "missing_scope", "channel_not_found"])
    def test_an_unarchive_slack_refuses_leaves_a_note(self, archiving: SlackDriver, code: str) -> None:
        """A bot token refused conversations.unarchive: the reopen is recorded and answered, the incident
        carries on, its note says to unarchive by hand (App Home, status), one unarchive call, no retry."""
        channel = archiving.declare()
        archiving.ephemeral("resolve", channel_id=channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK)
        archiving.fake.refuse_unarchive(code)
        archiving.ephemeral("INC-1 reopen the errors are back")
        archiving.bot.drain()
        assert EntryKind.REOPENED in kinds(archiving.bot)
        assert len(archiving.fake.calls_to("conversations.unarchive")) == 1
        problem = archiving.bot.usecases.incidents.get(1).channel_problem
        assert problem is not None
        assert problem.startswith(f"the channel is still archived: Slack refused to unarchive it ({code}: ")
        assert problem.endswith(
            "unarchive it in Slack (the channel's settings), then `/invite @incidentbot` if the bot is not in it"
        )
        status = archiving.ephemeral("INC-1 status")
        assert "Channel problem: the channel is still archived" in status
        archiving.bot.event(app_home_opened_event("U0ALICE"))
        archiving.bot.drain()
        home = archiving.fake.home_views["U0ALICE"]
        assert any(":warning: Channel: the channel is still archived" in str(b) for b in home["blocks"])


class TestArchiveOff:
    @pytest.mark.parametrize("setting", [None, "off", "OFF"])
    def test_never_archived(self, database_url: str, fake_slack: FakeSlack, setting: str | None) -> None:
        """Unset (the default) or off: a resolve queues no archive; a year later nothing is archived."""
        extra = {"INCIDENT_ARCHIVE_AFTER": setting} if setting is not None else {}
        with running_bot(database_url, fake_slack.base_url, **extra) as bot:
            slack = SlackDriver(bot, fake_slack)
            channel = slack.declare()
            slack.ephemeral("resolve", channel_id=channel)
            assert archive_items(bot) == []
            replicas_deliver(bot, datetime.now(UTC) + timedelta(days=366))
            assert fake_slack.calls_to("conversations.archive") == []
            assert not fake_slack.channel(channel).is_archived


def dms_to(fake: FakeSlack, user: str) -> list[str]:
    """What the bot posted to ``user``'s DM."""
    return [str(c.params.get("text")) for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == user]


def last_messages(driver: SlackDriver, channel: str) -> list[str]:
    return [t for t in channel_texts(driver, channel).splitlines() if t.startswith(":file_cabinet:")]


class TestTheCurrentSettingAndTheResolvesTime:
    """A tester's findings: the archive honours INCIDENT_ARCHIVE_AFTER as it is when the archive comes due, and
    counts from the incident's (corrected) resolved_at, not from when the resolve was typed."""

    @pytest.mark.parametrize(("later", "archived_at"), [("off", None), ("30d", timedelta(days=30))])
    def test_setting_changed_after_resolve(
        self, database_url: str, fake_slack: FakeSlack, later: str, archived_at: timedelta | None
    ) -> None:
        """Resolved under 7d, restarted with off (or 30d): not archived on day 7; 30d: waits until resolve + 30d
        (not a retry: one item, deferred to that minute), then archived; off: the item is done, nothing waits."""
        with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="7d") as first:
            slack = SlackDriver(first, fake_slack)
            channel = slack.declare()
            slack.ephemeral("resolve fixed", channel_id=channel)
            resolved = resolved_at(first)
        with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER=later) as second:
            replicas_deliver(second, resolved + WEEK + timedelta(hours=1))
            assert fake_slack.calls_to("conversations.archive") == []
            assert not fake_slack.channel(channel).is_archived
            if archived_at is None:
                assert archive_items(second) == []
                return
            [item] = archive_items(second, "pending")
            assert item.next_attempt_at == resolved + timedelta(days=30)
            replicas_deliver(second, resolved + timedelta(days=30) - timedelta(minutes=1))
            assert fake_slack.calls_to("conversations.archive") == []
            replicas_deliver(second, resolved + timedelta(days=30))
            assert fake_slack.channel(channel).is_archived
            assert last_messages(SlackDriver(second, fake_slack), channel)[0].startswith(
                ":file_cabinet: INC-1 was resolved 30d 0h ago: this channel is archived now."
            )

    def test_setting_shortened_after_resolve_archives_at_the_queued_time(
        self, database_url: str, fake_slack: FakeSlack
    ) -> None:
        """7d, then 2d: the queued item (due at resolve + 7d) archives when it comes due."""
        with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="7d") as first:
            slack = SlackDriver(first, fake_slack)
            channel = slack.declare()
            slack.ephemeral("resolve fixed", channel_id=channel)
            resolved = resolved_at(first)
        with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="2d") as second:
            replicas_deliver(second, resolved + WEEK)
            assert fake_slack.channel(channel).is_archived
            assert last_messages(SlackDriver(second, fake_slack), channel)[0].startswith(
                ":file_cabinet: INC-1 was resolved 7d 0h ago:"
            )

    def test_backdated_resolve_archives_seven_days_after_the_resolve(self, archiving: SlackDriver) -> None:
        """Declared `--at 4 days ago`, resolved `--at 3 days ago`: due 7 days after the resolve (4 days from now),
        not 7 days after the command; the last message says 7d 0h."""
        channel = archiving.declare("declare sev2 Old outage --at 4 days ago")
        archiving.ephemeral("resolve fixed --at 3 days ago", channel_id=channel)
        resolved = resolved_at(archiving.bot)
        assert timedelta(days=3) - timedelta(minutes=2) < datetime.now(UTC) - resolved < timedelta(days=3, minutes=2)
        [item] = archive_items(archiving.bot, "pending")
        assert item.next_attempt_at == resolved + WEEK
        replicas_deliver(archiving.bot, resolved + WEEK - timedelta(minutes=1))
        assert archiving.fake.calls_to("conversations.archive") == []
        replicas_deliver(archiving.bot, resolved + WEEK)
        assert archiving.fake.channel(channel).is_archived
        assert last_messages(archiving, channel)[0].startswith(":file_cabinet: INC-1 was resolved 7d 0h ago:")

    @pytest.mark.parametrize(("late", "said"), [(timedelta(days=3), "10d 0h"), (timedelta(days=3, hours=5), "10d 5h")])
    def test_backdated_resolve_last_message_says_how_long_ago(
        self, archiving: SlackDriver, late: timedelta, said: str
    ) -> None:
        """Delivered later than due (the worker was down): the message states the real time since the resolve."""
        channel = archiving.declare("declare sev2 Old outage --at 4 days ago")
        archiving.ephemeral("resolve fixed --at 3 days ago", channel_id=channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK + late)
        assert last_messages(archiving, channel)[0].startswith(f":file_cabinet: INC-1 was resolved {said} ago:")

    def test_a_resolve_backdated_beyond_the_delay_is_archived_at_once(self, archiving: SlackDriver) -> None:
        """Resolved `--at 8 days ago` under 7d: due at once, so the bot's own worker archives it straight away."""
        channel = archiving.declare("declare sev2 Old outage --at 9 days ago")
        archiving.ephemeral("resolve fixed --at 8 days ago", channel_id=channel)
        archiving.bot.drain()
        assert archiving.fake.channel(channel).is_archived
        assert archive_items(archiving.bot) == []
        assert last_messages(archiving, channel)[0].startswith(":file_cabinet: INC-1 was resolved 8d 0h ago:")

    def test_a_corrected_resolve_time_counts(self, archiving: SlackDriver) -> None:
        """Resolved `--at 3 days ago`, then `correct N --at 2 days ago`: archived 7 days after the corrected
        time (the item queued for the first time waits until then), not skipped, not a day early."""
        channel = archiving.declare("declare sev2 Checkout down --at 4 days ago")
        archiving.ephemeral("resolve fixed --at 3 days ago", channel_id=channel)
        typed = resolved_at(archiving.bot)
        entries = archiving.bot.usecases.incidents.timeline(1)[1]
        number = next(e.number for e in entries if e.kind is EntryKind.RESOLVED)
        archiving.ephemeral(f"correct {number} --at 2 days ago", channel_id=channel)
        corrected = resolved_at(archiving.bot)
        assert timedelta(days=1) - timedelta(minutes=2) < corrected - typed < timedelta(days=1, minutes=2)
        replicas_deliver(archiving.bot, typed + WEEK)
        assert archiving.fake.calls_to("conversations.archive") == []
        [item] = archive_items(archiving.bot, "pending")
        assert item.next_attempt_at == corrected + WEEK
        replicas_deliver(archiving.bot, corrected + WEEK)
        assert archiving.fake.channel(channel).is_archived
        assert last_messages(archiving, channel)[0].startswith(":file_cabinet: INC-1 was resolved 7d 0h ago:")


class TestUnarchivedByHand:
    def unarchive_refused_then_by_hand(self, archiving: SlackDriver, channel: str) -> None:
        archiving.ephemeral("lead <@U0ALICE>", channel_id=channel)
        archiving.ephemeral("resolve fixed", channel_id=channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK)
        archiving.fake.refuse_unarchive("method_not_supported_for_channel_type")
        archiving.ephemeral("INC-1 reopen it came back")
        assert "still archived" in archiving.ephemeral("INC-1 status")
        archiving.fake.refuse_unarchive(None)
        with archiving.fake._lock:  # a person unarchives it in Slack
            archiving.fake.workspace.channels[channel].is_archived = False
        archiving.ephemeral("note channel is back", channel_id=channel)

    def test_unarchive_refused_then_unarchived_by_hand_then_resolved_archives_again(
        self, archiving: SlackDriver
    ) -> None:
        """The bot notices (the note's post went through): the note clears, channel_archived_at is cleared with
        a channel_unarchived entry, and a later resolve archives the channel again."""
        channel = archiving.declare()
        self.unarchive_refused_then_by_hand(archiving, channel)
        incident = archiving.bot.usecases.incidents.get(1)
        assert (incident.channel_archived_at, incident.channel_problem) == (None, None)
        assert "archived" not in archiving.ephemeral("INC-1 status").lower()
        [unarchived] = [
            e for e in archiving.bot.usecases.incidents.timeline(1)[1] if e.kind is EntryKind.CHANNEL_UNARCHIVED
        ]
        assert unarchived.data == {"channel": channel, "noticed": True}
        archiving.ephemeral("resolve fixed again", channel_id=channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK)
        assert archiving.fake.channel(channel).is_archived
        assert len(archiving.fake.calls_to("conversations.archive")) == 2

    def test_after_refused_unarchive_and_hand_unarchive_later_breakage_is_noted(self, archiving: SlackDriver) -> None:
        channel = archiving.declare()
        self.unarchive_refused_then_by_hand(archiving, channel)
        archiving.fake.remove_bot(channel)
        archiving.ephemeral("INC-1 note bot gone")
        problem = archiving.bot.usecases.incidents.get(1).channel_problem
        assert problem is not None and problem.startswith("the bot was removed from the channel")
        warnings = [t for t in dms_to(archiving.fake, "U0ALICE") if t.startswith(":warning:")]
        assert len(warnings) == 2  # the refused unarchive, then the removal


class TestBrokenByHandBeforeDue:
    @pytest.mark.parametrize(
        ("breaks", "archived", "dead"),
        [
            (FakeSlack.archive_by_hand, True, 0),
            (FakeSlack.make_private_without_bot, False, 1),
            (FakeSlack.remove_bot, False, 1),
        ],
    )
    def test_channel_broken_by_hand_before_due(
        self, archiving: SlackDriver, breaks: Callable[[FakeSlack, str], None], archived: bool, dead: int
    ) -> None:
        """A resolved incident's channel broken by hand before the week is out: the lead gets no DM; archived by
        hand is the archive done (recorded, no dead item); unreachable: one dead item, no second attempt."""
        channel = archiving.declare()
        archiving.ephemeral("lead <@U0ALICE>", channel_id=channel)
        archiving.ephemeral("resolve fixed", channel_id=channel)
        breaks(archiving.fake, channel)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK)
        replicas_deliver(archiving.bot, resolved_at(archiving.bot) + WEEK + timedelta(days=1))
        assert [t for t in dms_to(archiving.fake, "U0ALICE") if t.startswith(":warning:")] == []
        assert len(archive_items(archiving.bot, "dead")) == dead
        assert len(archive_items(archiving.bot, "pending")) == 0
        assert "unarchive it" not in archiving.ephemeral("INC-1 status")
        entries = [e for e in archiving.bot.usecases.incidents.timeline(1)[1] if e.kind is EntryKind.CHANNEL_ARCHIVED]
        assert [e.data.get("by_hand") for e in entries] == ([True] if archived else [])
        assert (archiving.bot.usecases.incidents.get(1).channel_archived_at is not None) is archived


class TestLastMessageAndRaces:
    def test_last_message_links_the_published_postmortem(
        self, database_url: str, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """Published to Git after the resolve: the last message gives the latest postmortem_published entry's url,
        not the draft uploaded at resolve."""
        bare, clone = tmp_path / "pm.git", tmp_path / "clone"
        git = ["git", "-c", "user.name=A", "-c", "user.email=a@example.com"]
        subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True)
        subprocess.run(["git", "clone", "--quiet", str(bare), str(clone)], check=True, capture_output=True)
        subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", "start"], cwd=clone, check=True)
        subprocess.run(["git", "push", "--quiet", "origin", "main"], cwd=clone, check=True, capture_output=True)
        with running_bot(
            database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="7d", POSTMORTEM_GIT_REPO=str(clone)
        ) as bot:
            slack = SlackDriver(bot, fake_slack)
            channel = slack.declare()
            slack.ephemeral("resolve fixed", channel_id=channel)
            draft = bot.usecases.incidents.postmortem_url(1)
            assert draft is not None and "/files/" in draft
            slack.ephemeral("postmortem publish", channel_id=channel)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and EntryKind.POSTMORTEM_PUBLISHED not in kinds(bot):
                time.sleep(0.1)
                bot.drain()
            published = [e for e in bot.usecases.incidents.timeline(1)[1] if e.kind is EntryKind.POSTMORTEM_PUBLISHED]
            url = str(published[-1].data["url"])
            assert url != draft
            replicas_deliver(bot, resolved_at(bot) + WEEK)
            [last] = last_messages(slack, channel)
            assert f"this channel is archived now. The postmortem: {url}. Reopening the incident" in last

    def test_reopen_racing_the_archive_leaves_a_true_status_message(self, archiving: SlackDriver) -> None:
        """The archive is in flight (Slack slow) when someone reopens: afterwards the channel is unarchived, its
        pinned status message says the incident is open, the reopen's line is in it, and no item is dead."""
        channel = archiving.declare()
        archiving.ephemeral("resolve fixed", channel_id=channel)
        archiving.fake.hold("conversations.archive")
        archiving.bot.worker.clock = lambda: datetime.now(UTC) + WEEK + timedelta(hours=1)
        archiving.bot.worker.wake()
        archiving.fake.wait_until_held("conversations.archive")  # the last message is posted, the archive in flight
        archiving.command("INC-1 reopen came back", drain=False)
        deadline = time.monotonic() + 30
        while EntryKind.REOPENED not in kinds(archiving.bot) and time.monotonic() < deadline:
            time.sleep(0.05)  # the reopen is recorded while Slack still holds the archive
        archiving.fake.release("conversations.archive")
        archiving.bot.drain()
        assert not archiving.fake.channel(channel).is_archived
        ts = archiving.status_ts(channel)
        [status] = [m for m in archiving.fake.messages(channel) if m["ts"] == ts]
        assert str(status["text"]).startswith("INC-1 (sev2, investigating): ")
        assert any("reopened" in t.lower() for t in channel_texts(archiving, channel).splitlines()[-3:])
        assert [(i.kind, i.last_error) for i in archiving.bot.usecases.outbox.items("dead")] == []
        assert kinds(archiving.bot)[-2:] == [EntryKind.CHANNEL_ARCHIVED, EntryKind.CHANNEL_UNARCHIVED]


def test_reminders_skip_the_channel_the_bot_archived(database_url: str, fake_slack: FakeSlack) -> None:
    """Archived a day after a sev2 resolve: a week of daily follow-up and draft-postmortem reminders post nothing
    into the archived channel (no refused post, no dead item); the owners' direct messages still go."""
    from bot.app import POSTMORTEM_REMINDER, REMINDER

    with running_bot(database_url, fake_slack.base_url, INCIDENT_ARCHIVE_AFTER="1d") as bot:
        slack = SlackDriver(bot, fake_slack)
        channel = slack.declare("declare sev2 Checkout down")
        slack.ephemeral("lead <@U0ALICE>", channel_id=channel)
        slack.ephemeral("followup add canary <@U0BOB> --due tomorrow", channel_id=channel)
        slack.ephemeral("resolve fixed", channel_id=channel)
        replicas_deliver(bot, resolved_at(bot) + timedelta(days=1))
        assert fake_slack.channel(channel).is_archived
        posts_before = len(fake_slack.calls_to("chat.postMessage"))
        now = datetime.now(UTC)
        for day in range(2, 9):
            bot.web_app[REMINDER].check_once(now + timedelta(days=day))
            bot.web_app[POSTMORTEM_REMINDER].check_once(now + timedelta(days=day))
            replicas_deliver(bot, now + timedelta(days=day, minutes=1))
        posts = fake_slack.calls_to("chat.postMessage")[posts_before:]
        assert [c for c in posts if c.params.get("channel") == channel] == []
        assert bot.usecases.outbox.items("dead") == []
        assert any(c.params.get("channel") == "U0BOB" and c.ok for c in posts)
