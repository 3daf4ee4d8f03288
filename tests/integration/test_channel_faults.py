"""A channel archived by hand, made private by hand, or the bot removed from it, through the real bot and
the fake Slack, on SQLite and PostgreSQL: commands still answer and record; each outbox item calls Slack
once and goes dead with the reason (no retry storm); the incident keeps a note (App Home, status), its lead
is told once; the note clears when a call to the channel succeeds again."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from bot.domain.model import EntryKind
from tests.support.fake_slack import FakeSlack
from tests.support.signing import app_home_opened_event
from tests.support.slack_driver import SlackDriver, channel_texts

ARCHIVED = "the channel is archived, so the bot's messages to it are dropped: unarchive it in Slack"
REMOVED = (
    "the bot was removed from the channel, so its messages to it are dropped: invite it back "
    "(`/invite @incidentbot` in the channel)"
)
HIDDEN = (
    "the bot can no longer see the channel (made private without it, or deleted), so its messages to it "
    "are dropped: add the bot to it (`/invite @incidentbot` in the channel)"
)

FAULTS: dict[str, tuple[Callable[[FakeSlack, str], None], str, tuple[str, ...]]] = {
    "archived by hand": (FakeSlack.archive_by_hand, ARCHIVED, ("is_archived", "is_inactive")),
    "bot removed": (FakeSlack.remove_bot, REMOVED, ("not_in_channel",)),
    "made private": (FakeSlack.make_private_without_bot, HIDDEN, ("channel_not_found",)),
}
"""How a person breaks the channel -> the note the incident keeps, and the codes Slack answers then."""

COMMANDS = {
    "post line": ("INC-1 note the pool is saturated", EntryKind.NOTE),
    "status refresh": ("INC-1 severity sev1", EntryKind.SEVERITY),
    "invite": ("INC-1 assemble <@U0BOB|bob>", EntryKind.ASSEMBLED),
}
"""Commands whose effects go to the incident's channel: a line, the status message and topic, an invitation."""


def repair(fake: FakeSlack, channel: str) -> None:
    """What a person does to fix the channel: unarchive it, make it public again, invite the bot back."""
    state = fake.workspace.channels[channel]
    state.is_archived = False
    state.is_private = False
    if "UBOT" not in state.members:
        state.members.append("UBOT")


def dead_items(slack: SlackDriver) -> list[str]:
    return [i.last_error for i in slack.bot.usecases.outbox.items("dead") if i.incident_number == 1]


def lead_dms(slack: SlackDriver) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in slack.fake.calls_to("chat.postMessage")
        if c.ok and c.params.get("channel") == "U0ALICE" and "INC-1's channel" in str(c.params.get("text"))
    ]


class TestBrokenChannel:
    @pytest.mark.parametrize("command", sorted(COMMANDS))
    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_the_incident_carries_on(self, slack: SlackDriver, fault: str, command: str) -> None:
        """The command answers and records; each item one failed call then dead naming the code; no call
        after; the note is kept, shown in App Home and status; the lead DM'd once over two commands."""
        channel = slack.declare()
        slack.ephemeral("lead <@U0ALICE|alice>", channel_id=channel)
        breaks, note, codes = FAULTS[fault]
        breaks(slack.fake, channel)
        calls_before = len(slack.fake.calls)
        text, kind = COMMANDS[command]
        assert "INC-1" in slack.ephemeral(text)
        slack.ephemeral("INC-1 note still looking")
        entries = [e.kind for e in slack.bot.usecases.incidents.timeline(1)[1]]
        assert kind in entries and entries[-1] is EntryKind.NOTE
        assert slack.bot.usecases.outbox.items("pending") == []
        dead = dead_items(slack)
        assert dead and all(any(f": {code} (HTTP 200, channel)" in e for code in codes) for e in dead), dead
        refused = [c for c in slack.fake.calls[calls_before:] if c.error in codes]
        assert len(refused) == len(dead)  # one call per item, never retried
        settled = len(slack.fake.calls)
        time.sleep(1.5)
        slack.bot.drain()
        assert len(slack.fake.calls) == settled
        assert slack.bot.usecases.incidents.get(1).channel_problem == note
        assert len(lead_dms(slack)) == 1
        assert f"Channel problem: {note}" in slack.ephemeral("INC-1 status")
        slack.bot.event(app_home_opened_event("U0ALICE"))
        slack.bot.drain()
        sections = [str(b.get("text", {}).get("text")) for b in slack.fake.home_views["U0ALICE"]["blocks"]]
        assert next(s for s in sections if "*INC-1*" in s).endswith(f"\n:warning: Channel: {note}")

    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_the_note_clears_once_the_channel_works(self, slack: SlackDriver, fault: str) -> None:
        """Repaired by hand, the next line reaches the channel and the note is gone."""
        channel = slack.declare()
        FAULTS[fault][0](slack.fake, channel)
        slack.ephemeral("INC-1 note first")
        assert slack.bot.usecases.incidents.get(1).channel_problem == FAULTS[fault][1]
        repair(slack.fake, channel)
        slack.ephemeral("INC-1 note second")
        assert "second" in channel_texts(slack, channel).splitlines()[-1]
        assert slack.bot.usecases.incidents.get(1).channel_problem is None

    def test_commands_typed_in_the_channel_the_bot_left_still_work(self, slack: SlackDriver) -> None:
        """/incident in the channel after the bot was removed: the slash command is answered and recorded."""
        channel = slack.declare()
        slack.fake.remove_bot(channel)
        reply = slack.ephemeral("note typed where the bot is gone", channel_id=channel)
        assert "INC-1" in reply
        assert slack.bot.usecases.incidents.timeline(1)[1][-1].text == "typed where the bot is gone"
        assert slack.bot.usecases.incidents.get(1).channel_problem == REMOVED


CODES = [
    ("chat.postMessage", "is_archived", ARCHIVED),
    ("chat.postMessage", "not_in_channel", REMOVED),
    ("chat.postMessage", "channel_not_found", HIDDEN),
    ("chat.update", "is_inactive", ARCHIVED),
    ("chat.update", "channel_not_found", HIDDEN),
    ("conversations.setTopic", "is_archived", ARCHIVED),
    ("conversations.setTopic", "not_in_channel", REMOVED),
    ("conversations.setTopic", "channel_not_found", HIDDEN),
    ("conversations.invite", "is_archived", ARCHIVED),
    ("conversations.invite", "not_in_channel", REMOVED),
    ("conversations.invite", "channel_not_found", HIDDEN),
]
"""Each code Slack documents, for a method the bot calls on an incident's channel, that says the channel
is archived, the bot is not in it, or the bot cannot see it; with the note it leaves."""


class TestEachCodeOfTheClass:
    @pytest.mark.parametrize(("method", "code", "note"), CODES)
    def test_leaves_its_note_and_one_dead_item(self, slack: SlackDriver, method: str, code: str, note: str) -> None:
        """Slack answers ``code`` once to ``method``: that item is dead after one call and the note is kept;
        the command's next call to the channel succeeds and clears it."""
        slack.declare()
        slack.fake.fail_next(method, code, status=200)
        command = "INC-1 assemble <@U0BOB|bob>" if method == "conversations.invite" else "INC-1 note checking"
        with capture_logs() as logs:
            assert "INC-1" in slack.ephemeral(command)
        assert len([c for c in slack.fake.calls_to(method) if c.error == code]) == 1
        [dead] = dead_items(slack)
        assert f"{method}: {code} (HTTP 200, channel)" in dead
        noted = [e["problem"] for e in logs if e["event"] == "incident_channel_problem"]
        assert noted == [note]
