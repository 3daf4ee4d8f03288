"""The fake workspace's state: users, user groups, channels with their messages and pins, views, files.

`Workspace` holds it and the lookups every method family shares; it is not thread-safe (`FakeSlack`
locks around it).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_slack.constants import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    DEFAULT_USERS,
    GENERAL_CHANNEL_ID,
    TEAM_ID,
)
from tests.support.fake_slack.params import required, ts_value
from tests.support.fake_slack.records import SlackError, UploadedFile


@dataclass
class Channel:
    """State of one conversation in the fake workspace."""

    id: str
    name: str
    is_private: bool = False
    members: list[str] = field(default_factory=list)
    topic: str = ""
    purpose: str = ""
    is_archived: bool = False
    is_im: bool = False
    created: int = 0
    creator: str = BOT_USER_ID
    messages: list[dict[str, Any]] = field(default_factory=list)
    pins: dict[str, int] = field(default_factory=dict)


@dataclass
class PendingFile:
    """A file announced by files.getUploadURLExternal; ``content`` is set once its bytes are posted."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None


class Workspace:
    """The fake workspace and the Web API semantics; not thread-safe (FakeSlack locks around it)."""

    def __init__(self, ts_base: int = 1732458000, seed: bool = True) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.files: dict[str, PendingFile] = {}
        self.uploaded: list[UploadedFile] = []
        self.used_triggers: set[str] = set()
        self.invite_refusals: dict[str, str] = {}
        self.request_time: float = 0.0
        self.channel_rate: float = 0.0
        self.channel_posts: dict[str, float] = {}
        self.upload_root = ""
        self._ts = ts_base * 1_000_000
        self._ids = itertools.count(1)
        self.view_hashes = itertools.count(1)
        if seed:
            self._seed()

    def _seed(self) -> None:
        self.add_user(BOT_USER_ID, BOT_NAME, is_bot=True)
        for user_id, name in DEFAULT_USERS.items():
            self.add_user(user_id, name)
        self.add_channel(GENERAL_CHANNEL_ID, "general", members=list(DEFAULT_USERS))

    # ------------------------------------------------------------------ ids and seeding

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-style id with ``prefix`` (C, F, V...)."""
        return f"{prefix}1{next(self._ids):08d}"

    def next_ts(self) -> str:
        """A fresh message ts, later than every ts seen so far."""
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def _bump_ts(self, ts: str) -> None:
        micros = int(ts_value(ts) * 1_000_000)
        self._ts = max(self._ts, micros)

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "Europe/London",
        tz_offset: int = 0,
        is_bot: bool = False,
        email_address: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a user shaped like users.info's ``user``; returns it. ``email_address=""``: a profile
        without ``email`` (Slack leaves it out without the ``users:read.email`` scope, or for a bot)."""
        real = real_name or name.title()
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real,
            "deleted": False,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": tz_offset,
            "is_bot": is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": real,
                "display_name": name,
                "email": email_address or f"{name}@example.com",
                "team": TEAM_ID,
            },
        }
        if email_address == "":
            del user["profile"]["email"]
        if is_bot:
            user["profile"]["bot_id"] = BOT_ID
        self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, handle: str, users: list[str], name: str | None = None) -> None:
        """Add a user group (``S...``) with its members."""
        self.usergroups[group_id] = {
            "id": group_id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "handle": handle,
            "name": name or handle,
            "date_delete": 0,
            "users": list(users),
            "user_count": len(users),
        }

    def add_channel(
        self,
        channel_id: str | None,
        name: str,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
        bot_member: bool = True,
        topic: str = "",
        is_archived: bool = False,
    ) -> Channel:
        """Add a channel (the bot a member unless ``bot_member=False``); returns it."""
        member_list = list(dict.fromkeys([*members, *([BOT_USER_ID] if bot_member else [])]))
        channel = Channel(
            id=channel_id or self.new_id("C"),
            name=name,
            is_private=is_private,
            members=member_list,
            topic=topic,
            is_archived=is_archived,
            created=int(time.time()),
        )
        self.channels[channel.id] = channel
        return channel

    def add_message(
        self,
        channel_id: str,
        ts: str | None,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Append a message to ``channel_id`` (ts generated when None, reply when ``thread_ts``); returns it."""
        channel = self.channels[channel_id]
        if ts is None:
            ts = self.next_ts()
        else:
            self._bump_ts(ts)
        message: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts, "team": TEAM_ID}
        if user == BOT_USER_ID:
            message.update(bot_id=BOT_ID, app_id=APP_ID)
        if blocks is not None:
            message["blocks"] = blocks
        self.attach_to_thread(channel, message, thread_ts)
        channel.messages.append(message)
        return message

    def attach_to_thread(self, channel: Channel, message: dict[str, Any], thread_ts: str | None) -> None:
        """Make ``message`` a reply in ``thread_ts`` and update the parent's reply count (no-op without one)."""
        if not thread_ts:
            return
        message["thread_ts"] = thread_ts
        parent = self.find_message(channel, thread_ts)
        if parent is not None:
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = message["ts"]

    # ------------------------------------------------------------------ lookups

    def resolve_channel(self, ref: Any) -> Channel:
        """Channel by id, by name (with or without `#`), or a DM by user id."""
        ref = str(ref or "")
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        if ref in self.users:
            return self._dm_with(ref)
        raise SlackError("channel_not_found")

    def _dm_with(self, user_id: str) -> Channel:
        dm_id = f"D{user_id[1:]}"
        if dm_id not in self.channels:
            self.channels[dm_id] = Channel(
                dm_id, "", is_im=True, members=[user_id, BOT_USER_ID], created=int(time.time())
            )
        return self.channels[dm_id]

    def bot_channel(self, params: dict[str, Any], key: str = "channel", writing: bool = True) -> Channel:
        """The channel named by ``params[key]`` that the bot may use: ``not_in_channel`` unless it is a
        member (``channel_not_found`` for a private channel: a non-member cannot see it), ``is_archived`` when
        writing to an archived one."""
        channel = self.resolve_channel(required(params, key, "channel_not_found"))
        if channel.is_private and BOT_USER_ID not in channel.members:
            raise SlackError("channel_not_found")
        if writing and channel.is_archived:
            raise SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    @staticmethod
    def find_message(channel: Channel, ts: Any) -> dict[str, Any] | None:
        """The message with ts ``ts`` in ``channel``, or None."""
        return next((m for m in channel.messages if m["ts"] == str(ts)), None)

    def message_at(self, channel: Channel, ts: Any) -> dict[str, Any]:
        """The message with ts ``ts`` in ``channel``; ``message_not_found`` when there is none."""
        message = self.find_message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def known_user(self, user_id: Any) -> dict[str, Any]:
        """The user ``user_id``; ``user_not_found`` when there is none."""
        if user_id not in self.users:
            raise SlackError("user_not_found")
        return self.users[user_id]

    def channel_object(self, channel: Channel) -> dict[str, Any]:
        """The channel as conversations.info answers it (the DM shape for an IM)."""
        if channel.is_im:
            user = next((m for m in channel.members if m != BOT_USER_ID), BOT_USER_ID)
            return {
                "id": channel.id,
                "is_im": True,
                "user": user,
                "created": channel.created,
                "is_org_shared": False,
                "is_user_deleted": False,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "is_archived": channel.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "created": channel.created,
            "creator": channel.creator,
            "context_team_id": TEAM_ID,
            "is_member": BOT_USER_ID in channel.members,
            "num_members": len(channel.members),
            "topic": {
                "value": channel.topic,
                "creator": channel.creator if channel.topic else "",
                "last_set": 0,
            },
            "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
            "previous_names": [],
        }
