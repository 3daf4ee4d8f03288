"""`assemble` through the real HTTP endpoint: a person Slack will not invite keeps only themselves out.

The fake answers conversations.invite as Slack's reference documents it (per-user codes, the
``errors`` array, ``force``); the caller is told once who was not added and why."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.slack_driver import SlackDriver

FIVE = "<@U0BOB|bob> <@U0CAROL|carol> <@U0MID|mallory> <@U0DAVE|dave> <@U0ERIN|erin>"
OTHERS = {"U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"}

PER_USER_REASONS = {
    "cant_invite": "Slack does not allow inviting them to this channel",
    "invitee_cant_see_channel": "cannot see this channel from their workspace",
    "no_external_invite_permission": "an external user the bot may not invite",
    "no_permission": "the bot may not invite this person",
    "org_user_not_in_team": "in the Enterprise organisation but not in this workspace",
    "ura_max_channels": "a single-channel guest already in their channel",
    "user_is_restricted": "a guest who may not join this channel",
    "user_not_found": "no such user",
}
"""Every per-user code conversations.invite documents (besides already_in_channel and
cant_invite_self, which leave the person where we want them), with what the caller reads."""


def _told(slack: SlackDriver, fragment: str) -> list[str]:
    return [str(p.get("text")) for p in slack.responses() if fragment in str(p.get("text"))]


class TestOnePersonRefused:
    @pytest.mark.parametrize(("code", "reason"), sorted(PER_USER_REASONS.items()))
    def test_the_middle_one_of_five_is_left_out_and_the_caller_told_once(
        self, slack: SlackDriver, code: str, reason: str
    ) -> None:
        """Slack refuses the third of five with ``code``: the other four join, the job completes, and
        the caller reads one line naming the third and why."""
        channel_id = slack.declare()
        slack.fake.add_user("U0MID", "mallory")
        slack.fake.refuse_invite("U0MID", code)
        slack.command(f"assemble {FIVE}", channel_id=channel_id)
        members = set(slack.fake.channel(channel_id).members)
        assert members >= OTHERS and "U0MID" not in members
        assert _told(slack, "Could not add") == [f"Could not add <@U0MID> ({reason})."]
        assert slack.bot.usecases.outbox.items() == []

    def test_two_refused_are_both_named_in_one_line(self, slack: SlackDriver) -> None:
        """Two people refused for different reasons: one message names both."""
        channel_id = slack.declare()
        slack.fake.add_user("U0MID", "mallory")
        slack.fake.refuse_invite("U0MID", "ura_max_channels")
        slack.fake.refuse_invite("U0ERIN", "org_user_not_in_team")
        slack.command(f"assemble {FIVE}", channel_id=channel_id)
        assert {"U0BOB", "U0CAROL", "U0DAVE"} <= set(slack.fake.channel(channel_id).members)
        assert _told(slack, "Could not add") == [
            "Could not add <@U0MID> (a single-channel guest already in their channel), "
            "<@U0ERIN> (in the Enterprise organisation but not in this workspace)."
        ]

    def test_a_per_user_code_without_an_errors_array_is_resolved_person_by_person(self, slack: SlackDriver) -> None:
        """If Slack names no user for a per-user code, each is invited alone: nobody is wrongly left out."""
        channel_id = slack.declare()
        slack.fake.add_user("U0MID", "mallory")
        slack.fake.fail_next("conversations.invite", "cant_invite", status=200)
        slack.command(f"assemble {FIVE}", channel_id=channel_id)
        assert OTHERS | {"U0MID"} <= set(slack.fake.channel(channel_id).members)
        assert _told(slack, "Could not add") == []
        single = [c.params["users"] for c in slack.fake.calls_to("conversations.invite")[-5:]]
        assert single == ["U0BOB", "U0CAROL", "U0MID", "U0DAVE", "U0ERIN"]

    def test_the_invitation_uses_force_and_documented_arguments(self, slack: SlackDriver) -> None:
        """One conversations.invite with every id and force=true (Slack: "continue inviting the valid ones")."""
        channel_id = slack.declare()
        slack.fake.add_user("U0MID", "mallory")
        before = len(slack.fake.calls_to("conversations.invite"))
        slack.command(f"assemble {FIVE}", channel_id=channel_id)
        [call] = slack.fake.calls_to("conversations.invite")[before:]
        assert call.params["users"] == "U0BOB,U0CAROL,U0MID,U0DAVE,U0ERIN"
        assert str(call.params["force"]).lower() in ("1", "true")
        assert set(call.params) == {"channel", "users", "force"}


class TestWholeInvitation:
    @pytest.mark.parametrize(
        ("code", "reason"),
        [
            ("is_archived", "the channel is archived"),
            ("not_in_channel", "the bot is not a member of the channel"),
            ("channel_not_found", "the channel does not exist or the app cannot see it"),
        ],
    )
    def test_a_channel_wide_error_stops_the_job_and_tells_the_caller(
        self, slack: SlackDriver, code: str, reason: str
    ) -> None:
        """The channel's problem: nobody is invited, the item is dead with the reason, the caller told once."""
        channel_id = slack.declare()
        slack.fake.fail_next("conversations.invite", code, status=200)
        slack.command(f"assemble {FIVE}", channel_id=channel_id)
        assert _told(slack, "Nobody could be added") == [f"Nobody could be added to <#{channel_id}>: {reason}."]
        [dead] = slack.bot.usecases.outbox.items("dead")
        assert dead.kind == "slack.invite" and f"conversations.invite: {code} (HTTP 200, channel)" in dead.last_error

    def test_a_missing_scope_stops_the_job_with_the_fix(self, slack: SlackDriver) -> None:
        """A setup fault: dead item naming the fix; the caller hears it once."""
        channel_id = slack.declare()
        slack.fake.fail_next("conversations.invite", "missing_scope", status=200)
        slack.command(f"assemble {FIVE}", channel_id=channel_id)
        [dead] = slack.bot.usecases.outbox.items("dead")
        assert "oauth_config.scopes.bot (manifest.yml) and reinstall" in dead.last_error
        assert len(_told(slack, "Nobody could be added")) == 1

    def test_a_rate_limited_invitation_is_retried_and_everyone_joins(self, slack: SlackDriver) -> None:
        """429 on the invitation: retried after backoff; all five join; nobody is reported."""
        channel_id = slack.declare()
        slack.fake.add_user("U0MID", "mallory")
        slack.fake.fail_next("conversations.invite", "ratelimited", status=429, retry_after=1)
        slack.command(f"assemble {FIVE}", channel_id=channel_id)
        deadline = time.monotonic() + 10
        while not (OTHERS | {"U0MID"}) <= set(slack.fake.channel(channel_id).members):
            assert time.monotonic() < deadline, [c.describe() for c in slack.fake.calls_to("conversations.invite")]
            time.sleep(0.1)
        slack.bot.drain()
        assert _told(slack, "Could not add") == [] and _told(slack, "Nobody could be added") == []


class TestUserGroups:
    @pytest.mark.parametrize(
        ("fail", "expected"),
        [
            (None, "could not read the members of @ghosts: no such user group"),
            (
                ("plan_upgrade_required", 200),
                "could not read the members of @ghosts: user groups need a Standard plan or above: "
                "name people instead of groups",
            ),
            (
                ("ratelimited", 429),
                "could not read the members of @ghosts: rate limited by Slack; Slack is busy, "
                "name the group again in a minute",
            ),
        ],
    )
    def test_a_group_not_read_is_explained_and_the_people_named_still_join(
        self, slack: SlackDriver, fail: tuple[str, int] | None, expected: str
    ) -> None:
        """Why a user group could not be read reaches the caller; bob, named directly, joins anyway."""
        channel_id = slack.declare()
        slack.fake.add_usergroup("S0GHOSTS", "ghosts", ["U0CAROL"])
        if fail is not None:
            slack.fake.fail_next("usergroups.users.list", fail[0], status=fail[1])
        group = "S0GONE" if fail is None else "S0GHOSTS"
        slack.command(f"assemble <!subteam^{group}|@ghosts> <@U0BOB|bob>", channel_id=channel_id)
        assert "U0BOB" in slack.fake.channel(channel_id).members
        assert any(expected in str(p.get("text")) for p in slack.responses()), slack.response_texts()
