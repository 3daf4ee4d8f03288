"""Status updates and the announcement that stays true, through the real app: signed slash commands to
the running bot, its outbox delivering to the fake Slack, the nudger checked at a chosen time.

Issue 15: ``/incident update <text> [--next 30m]`` is posted in the channel and in the thread under the
incident's announcement, shown in the pinned status message with the next update due, and nudged for
when it is overdue; the announcement is edited in place on every status, severity, lead change and on
resolve, a burst making one edit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import NUDGER
from bot.domain.effects import Effect
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind, Incident, Severity, Status
from bot.domain.timeparse import format_utc
from bot.domain.updates import StatusUpdate
from bot.slack.blocks import build_status_blocks
from bot.slack.delivery import plan_effects
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.usecases.shared import Actor, Outcome
from bot.usecases.wiring import UseCases
from tests.support import signing
from tests.support.bot_server import running_bot, sqlite_url
from tests.support.fake_slack import FakeSlack
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.registry import API
from tests.support.slack_driver import SlackDriver, channel_texts

ANNOUNCE = "C0GENERAL"
"""The announce channel of the test bot (``tests/support/bot_server.py``)."""
ALICE = Actor("U0ALICE", "alice")


def _plan(outcome: Outcome) -> list[Effect]:
    return plan_effects(outcome, ALICE)


UPDATE = "Half the edge returns 502s; rolling back WAF rule 42"


def _announcement(fake: FakeSlack) -> dict[str, Any]:
    """The one top-level announcement the bot posted in the announce channel, as it reads now."""
    messages = fake.channel(ANNOUNCE).messages
    posts = [m for m in messages if m.get("blocks") and m.get("thread_ts") in (None, m["ts"])]
    assert len(posts) == 1, posts
    return posts[0]


def _announcement_text(fake: FakeSlack) -> str:
    return str(_announcement(fake)["blocks"][0]["text"]["text"])


def _thread(fake: FakeSlack, ts: str) -> list[str]:
    return [str(m["text"]) for m in fake.channel(ANNOUNCE).messages if m.get("thread_ts") == ts and m.get("ts") != ts]


def _edits_of(fake: FakeSlack, channel: str, ts: str) -> int:
    return sum(
        1 for c in fake.calls_to("chat.update") if c.ok and c.params["channel"] == channel and c.params["ts"] == ts
    )


def _status_edits(fake: FakeSlack, channel: str, ts: str) -> list[dict[str, Any]]:
    return [
        c.params
        for c in fake.calls_to("chat.update")
        if c.ok and c.params["channel"] == channel and c.params["ts"] == ts
    ]


T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)


def slack_incident() -> Incident:
    return Incident(7, "CDN edge returns 502s", Severity.SEV1, Status.INVESTIGATING, T0, "U0ALICE", channel_id="C0INC7")


def _recorded_update(slack: SlackDriver) -> datetime:
    _, entries = slack.bot.usecases.incidents.timeline(1)
    [update] = [e for e in entries if e.kind is EntryKind.UPDATE]
    return update.recorded_at


class TestStatusUpdates:
    def test_an_update_reaches_the_channel_the_announcement_thread_and_the_status_message(
        self, slack: SlackDriver
    ) -> None:
        """The issue's example: one update, posted in the channel, threaded under the announcement, and shown
        in the pinned status message with the next update due 30 minutes after it was recorded."""
        channel = slack.declare("declare sev1 CDN edge returns 502s")
        reply = slack.ephemeral(f"update {UPDATE} --next 30m", channel_id=channel)
        recorded = _recorded_update(slack)
        due = format_utc(recorded + timedelta(minutes=30))
        assert reply == f"INC-1 · Status update: {UPDATE} (next update by {due})"

        assert f"<@U0ALICE>: INC-1 · Status update: {UPDATE} (next update by {due})" in channel_texts(slack, channel)
        announcement = _announcement(slack.fake)
        assert _thread(slack.fake, announcement["ts"]) == [
            f":loudspeaker: *INC-1 status update* (sev1, declared) from <@U0ALICE>:\n{UPDATE}\nNext update by {due}."
        ]
        status = slack.fake.channel(channel).messages
        [pinned] = [m for m in status if m["ts"] == slack.status_ts(channel)]
        [update_block] = [
            b for b in pinned["blocks"] if b.get("text", {}).get("text", "").startswith("*Latest update*")
        ]
        lines = update_block["text"]["text"].split("\n")
        assert lines[0] == f"*Latest update* ({format_utc(recorded)}, <@U0ALICE>): {UPDATE}"
        assert lines[1] == f"*Next update* due {due}"  # no "(in 25 min)": the message stays pinned
        status = slack.ephemeral("status", channel_id=channel).split("\n")
        assert f"Latest update ({format_utc(recorded)}, <@U0ALICE>): {UPDATE}" in status
        assert any(line.startswith(f"Next update due {due} (in ") for line in status), status

    def test_an_overdue_update_is_nudged_once_and_a_new_update_clears_it(self, slack: SlackDriver) -> None:
        """Past the promised time the lead is asked once (a second check adds nothing); a sev3, which has no
        silence nudge at all, is nudged too, because the promise was made."""
        channel = slack.declare("declare sev3 Search is slow")
        slack.command("lead <@U0BOB|bob>", channel_id=channel)
        slack.command(f"update {UPDATE} --next 30m", channel_id=channel)
        recorded = _recorded_update(slack)
        nudger = slack.bot.web_app[NUDGER]
        assert nudger.check_once(recorded + timedelta(minutes=29)) == []
        assert nudger.check_once(recorded + timedelta(minutes=30)) == ["INC-1"]
        assert nudger.check_once(recorded + timedelta(minutes=45)) == []
        slack.bot.drain()
        due = format_utc(recorded + timedelta(minutes=30))
        asked = [
            line for line in channel_texts(slack, channel).splitlines() if "promised its next status update" in line
        ]
        assert asked == [
            f":alarm_clock: <@U0BOB> INC-1 (sev3) promised its next status update for {due}, and none was posted. "
            "Please post one: `/incident update &lt;what we know, what we are doing&gt; --next 30m`."
        ]
        _, entries = slack.bot.usecases.incidents.timeline(1)
        [nudge] = [e for e in entries if e.kind is EntryKind.NUDGE]
        assert nudge.data["update_due"] == (recorded + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")

        slack.command("update WAF rule rolled back; 502s gone", channel_id=channel)
        assert nudger.check_once(datetime.now(UTC) + timedelta(hours=5)) == []  # no promise, and sev3 is not nudged

    def test_update_is_refused_with_its_usage_when_the_delay_is_not_one(self, slack: SlackDriver) -> None:
        channel = slack.declare("declare sev2 Checkout slow")
        text = slack.ephemeral("update rolling back --next soon", channel_id=channel)
        assert text.startswith("`--next soon` is not a delay. The next update is a delay from now: `30m`")
        _, entries = slack.bot.usecases.incidents.timeline(1)
        assert [e for e in entries if e.kind is EntryKind.UPDATE] == []


class TestTheAnnouncementStaysTrue:
    def test_every_change_and_the_resolve_edit_the_one_announcement(self, slack: SlackDriver) -> None:
        """Severity, lead, status and resolve each edit the announcement in place; a note does not."""
        channel = slack.declare("declare sev2 CDN edge returns 502s")
        ts = _announcement(slack.fake)["ts"]
        assert _announcement_text(slack.fake).startswith(":large_orange_circle: *INC-1* (sev2) · *declared* · ")

        slack.command("severity sev1", channel_id=channel)
        assert _announcement_text(slack.fake).startswith(":red_circle: *INC-1* (sev1) · *declared* · Lead: none yet")
        slack.command("lead <@U0BOB|bob>", channel_id=channel)
        assert "· Lead: <@U0BOB>\n" in _announcement_text(slack.fake)
        edits = _edits_of(slack.fake, ANNOUNCE, ts)
        slack.command("note looking at the WAF", channel_id=channel)
        assert _edits_of(slack.fake, ANNOUNCE, ts) == edits
        slack.command("rollback WAF rule 42", channel_id=channel)
        assert "(sev1) · *mitigated* ·" in _announcement_text(slack.fake)
        slack.command("resolve edge healthy", channel_id=channel)
        text = _announcement_text(slack.fake)
        assert "(sev1) · *resolved* " in text and " after " in text
        assert text.endswith(f"Channel: <#{channel}>.")
        assert _announcement(slack.fake)["ts"] == ts

    def test_a_burst_of_changes_queues_one_edit(self, usecases: UseCases) -> None:
        """Five changes committed before the outbox runs queue one announcement edit (it reads the
        incident as it is when delivered, so it says the last state); a note queues none."""
        usecases.incidents.run(parse_command("declare sev3 Search is slow"), ALICE, plan=_plan)
        for command in (
            "severity sev2",
            "severity sev1",
            "lead @bob",
            "mitigate cache warmed",
            "monitor p99",
            "note x",
        ):
            usecases.incidents.run(parse_command(f"INC-1 {command}", names=True), ALICE, plan=_plan)
        queued = [i.kind for i in usecases.outbox.items("pending")]
        assert queued.count("slack.announce_refresh") == 1
        assert queued.count("slack.announce") == 1

    def test_a_deleted_announcement_is_forgotten_not_retried(self, slack: SlackDriver) -> None:
        """Slack answers message_not_found for an announcement somebody deleted: no retry storm, the
        incident carries on, and updates are no longer threaded."""
        channel = slack.declare("declare sev2 Checkout slow")
        ts = _announcement(slack.fake)["ts"]
        slack.fake.delete_message(ANNOUNCE, ts)
        slack.command("severity sev1", channel_id=channel)
        slack.command("severity sev2", channel_id=channel)
        updates = [c for c in slack.fake.calls_to("chat.update") if c.params.get("channel") == ANNOUNCE]
        assert [c.error for c in updates] == ["message_not_found"]
        assert slack.bot.usecases.incidents.announcement(1) is None
        assert slack.bot.usecases.outbox.items("dead") == []


def _update_form(known: str | None, next_update: str | None = "30", status: str | None = None) -> str:
    return signing.view_submission_body(
        CallbackId.UPDATE,
        {
            BlockId.UPDATE_STATUS: {InputId.UPDATE_STATUS: signing.text_input(status)},
            BlockId.UPDATE_KNOWN: {InputId.UPDATE_KNOWN: signing.text_input(known)},
            BlockId.UPDATE_NEXT_STEPS: {InputId.UPDATE_NEXT_STEPS: signing.text_input("roll back WAF rule 42")},
            BlockId.UPDATE_NEXT: {InputId.UPDATE_NEXT: signing.static_select(next_update)},
        },
        private_metadata=json.dumps({"verb": "update", "incident": 1}),
    )


class TestTheUpdateForm:
    def test_the_form_posts_an_update_with_its_fields_and_the_next_one_chosen(self, slack: SlackDriver) -> None:
        """Status, what we know and next steps become the update's lines; "In 30 min" promises the next."""
        channel = slack.declare("declare sev1 CDN edge returns 502s")
        result = slack.bot.interaction(_update_form("half the edge at 100% CPU", "30", status="Identified"))
        slack.bot.drain()
        assert result.status == 200 and result.body == ""
        _, entries = slack.bot.usecases.incidents.timeline(1)
        [update] = [e for e in entries if e.kind is EntryKind.UPDATE]
        assert (
            update.text
            == "Status: Identified\nWhat we know: half the edge at 100% CPU\nNext steps: roll back WAF rule 42"
        )
        assert update.data["next_update"] == (update.recorded_at + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert "Status update: Status: Identified" in channel_texts(slack, channel)

    def test_no_promise_means_no_next_update(self, slack: SlackDriver) -> None:
        slack.declare("declare sev2 Checkout slow")
        slack.bot.interaction(_update_form("retries succeed", "none"))
        slack.bot.drain()
        _, entries = slack.bot.usecases.incidents.timeline(1)
        [update] = [e for e in entries if e.kind is EntryKind.UPDATE]
        assert "next_update" not in update.data

    @pytest.mark.parametrize("known", [None, "", "   ", "\u200b"])
    def test_an_empty_what_we_know_keeps_the_form_open_with_its_error(
        self, slack: SlackDriver, known: str | None
    ) -> None:
        slack.declare("declare sev2 Checkout slow")
        result = slack.bot.interaction(_update_form(known))
        slack.bot.drain()
        answer = result.json()
        assert answer["response_action"] == "errors"
        assert list(answer["errors"]) == [BlockId.UPDATE_KNOWN]
        assert answer["errors"][BlockId.UPDATE_KNOWN].startswith("Say what we know: it is what the update is for.")
        _, entries = slack.bot.usecases.incidents.timeline(1)
        assert [e for e in entries if e.kind is EntryKind.UPDATE] == []


def _fail_in_announce_channel(monkeypatch: pytest.MonkeyPatch, method: str, error: str) -> None:
    """The fake answers ``error`` (a code Slack documents for ``method``) to the next call of ``method`` aimed
    at the announce channel, leaving the incident channel's calls alone."""
    left = [1]
    original = API[method]

    def once(ws: Any, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel") == ANNOUNCE and left[0] > 0:
            left[0] -= 1
            raise SlackError(error)
        return original(ws, params)

    monkeypatch.setitem(API, method, once)


class TestWhatATesterFound:
    """Found by a tester given only the issue and the README (2026-11-30); each failed before its fix."""

    def test_the_overdue_reminder_refreshes_the_pinned_message(self, slack: SlackDriver) -> None:
        """The reminder edits the pinned message, which then reads "overdue" (rendered at the time the nudge
        found it overdue: the unit test below renders it past the promised time)."""
        channel = slack.declare("declare sev3 Search slow")
        slack.command("update looking at it --next 30m", channel_id=channel)
        status_ts = slack.status_ts(channel)
        edits = len(_status_edits(slack.fake, channel, status_ts))
        due = _recorded_update(slack) + timedelta(minutes=30)
        assert slack.bot.web_app[NUDGER].check_once(due + timedelta(minutes=1)) == ["INC-1"]
        slack.bot.drain()
        assert len(_status_edits(slack.fake, channel, status_ts)) == edits + 1

    def test_past_the_promise_the_pinned_message_reads_overdue(self) -> None:
        incident = slack_incident()
        update = StatusUpdate("looking at it", "U0ALICE", T0, T0 + timedelta(minutes=30))
        blocks = build_status_blocks(incident, T0 + timedelta(minutes=31), update=update)
        [update_block] = [b for b in blocks if b.get("text", {}).get("text", "").startswith("*Latest update*")]
        assert update_block["text"]["text"].split("\n") == [
            "*Latest update* (2026-11-22 13:42 UTC, <@U0ALICE>): looking at it",
            ":warning: *Next update* overdue since 2026-11-22 14:12 UTC: `/incident update &lt;text&gt; --next 30m`",
        ]

    def test_the_silence_rule_comes_back_after_an_overdue_promise_was_nudged(self, slack: SlackDriver) -> None:
        channel = slack.declare("declare sev1 Checkout down")
        slack.command("update looking at it --next 30m", channel_id=channel)
        due = _recorded_update(slack) + timedelta(minutes=30)
        nudger = slack.bot.web_app[NUDGER]
        assert nudger.check_once(due) == ["INC-1"]
        slack.command("note restarted the edge nodes", channel_id=channel)
        assert nudger.check_once(due + timedelta(minutes=16)) == ["INC-1"]  # sev1: 15 min of silence since the note

    def test_a_resolve_answers_the_promise(self, slack: SlackDriver) -> None:
        channel = slack.declare("declare sev3 Search slow")
        slack.command("update looking at it --next 30m", channel_id=channel)
        due = _recorded_update(slack) + timedelta(minutes=30)
        slack.command("resolve fixed it", channel_id=channel)
        slack.command("reopen it is back", channel_id=channel)
        assert slack.bot.web_app[NUDGER].check_once(due + timedelta(minutes=5)) == []

    @pytest.mark.parametrize("error", ["edit_window_closed", "cant_update_message"])
    def test_an_announcement_too_old_to_edit_keeps_its_thread(
        self, slack: SlackDriver, monkeypatch: pytest.MonkeyPatch, error: str
    ) -> None:
        channel = slack.declare("declare sev2 Checkout down")
        ts = _announcement(slack.fake)["ts"]
        _fail_in_announce_channel(monkeypatch, "chat.update", error)
        slack.command("severity sev1", channel_id=channel)
        assert slack.bot.usecases.incidents.announcement(1) == (ANNOUNCE, ts)
        slack.command("update still on it", channel_id=channel)
        assert [t.split("\n")[1] for t in _thread(slack.fake, ts)] == ["still on it"]

    def test_removed_from_the_announce_channel_the_bot_joins_again_for_the_thread(self, slack: SlackDriver) -> None:
        channel = slack.declare("declare sev2 Checkout down")
        ts = _announcement(slack.fake)["ts"]
        slack.fake.remove_bot(ANNOUNCE)
        slack.command("update we know more", channel_id=channel)
        assert [c.params["channel"] for c in slack.fake.calls_to("conversations.join")] == [ANNOUNCE]
        assert [t.split("\n")[1] for t in _thread(slack.fake, ts)] == ["we know more"]
        assert slack.bot.usecases.outbox.items("dead") == []

    def test_an_announce_channel_given_by_name_is_edited_by_its_id(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        with running_bot(sqlite_url(tmp_path), fake_slack.base_url, INCIDENT_ANNOUNCE_CHANNEL="#general") as bot:
            slack = SlackDriver(bot, fake_slack)
            channel = slack.declare("declare sev2 Checkout down")
            slack.command("severity sev1", channel_id=channel)
            assert bot.usecases.incidents.announcement(1) == (ANNOUNCE, _announcement(fake_slack)["ts"])
        edits = [c.params["channel"] for c in fake_slack.calls_to("chat.update") if c.params["channel"] != channel]
        assert edits == [ANNOUNCE]

    def test_a_corrected_declaration_time_reaches_the_announcement(self, slack: SlackDriver) -> None:
        channel = slack.declare("declare sev2 Checkout down")
        slack.command("correct 1 --at 2026-11-22 13:42", channel_id=channel)
        assert "Declared by <@U0ALICE> at 2026-11-22 13:42 UTC." in _announcement_text(slack.fake)

    def test_under_strict_roles_only_the_team_posts_the_update(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        with running_bot(sqlite_url(tmp_path), fake_slack.base_url, INCIDENT_STRICT_ROLES="true") as bot:
            slack = SlackDriver(bot, fake_slack)
            slack.declare("declare sev2 Checkout down")
            slack.command("INC-1 lead <@U0ALICE|alice>")
            text = slack.ephemeral("INC-1 update all fixed, nothing to see", user_id="U0DAVE", user_name="dave")
            assert text == (
                "Only the lead <@U0ALICE> and the IRT of INC-1 may post a status update for it (strict roles are on). "
                "Ask one of them to add you: `/incident INC-1 assemble <@U0DAVE>`."
            )
            _, entries = bot.usecases.incidents.timeline(1)
            assert [e for e in entries if e.kind is EntryKind.UPDATE] == []
