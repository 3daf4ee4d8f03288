"""`FakeSlack`: the fake Slack Web API a test starts, seeds, fails on purpose and reads back."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

from tests.support.fake_slack.constants import BOT_USER_ID, DEFAULT_TOKEN, GRANTED_SCOPES
from tests.support.fake_slack.params import ts_value
from tests.support.fake_slack.records import RecordedCall, SlackError, UploadedFile
from tests.support.fake_slack.reference import DOCUMENTED
from tests.support.fake_slack.server import SlackHttpServer, _Server
from tests.support.fake_slack.state import Channel, Workspace


class FakeSlack(SlackHttpServer):
    """A fake Slack Web API server; use as a context manager or with `start()` / `stop()`.

    Serving and routing come from `SlackHttpServer`, recorded calls from `CallRecorder`, failure
    injection from `FaultInjection` and the per-channel limit from `ChannelRateLimit`.
    """

    def __init__(self, *, token: str = DEFAULT_TOKEN, ts_base: int = 1732458000, seed: bool = True) -> None:
        self.token = token
        self._ts_base, self._seed = ts_base, seed
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[RecordedCall] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.root_url = ""
        self._init_state()

    def _init_state(self) -> None:
        self.workspace = Workspace(self._ts_base, self._seed)
        self.workspace.upload_root = f"{self.root_url}/upload/v1/"
        self._reset_faults()
        self._reset_routing()
        self.scopes = list(GRANTED_SCOPES)

    def reset(self) -> None:
        """Back to a fresh workspace: no calls, failures, delays; default seed data."""
        with self._lock:
            self._calls.clear()
            self._init_state()

    # ------------------------------------------------------------------ seeding and inspection

    def add_user(self, user_id: str, name: str, **kwargs: Any) -> dict[str, Any]:
        """Add a user (kwargs: real_name, tz, tz_offset, is_bot, email_address)."""
        with self._lock:
            return copy.deepcopy(self.workspace.add_user(user_id, name, **kwargs))

    def add_usergroup(self, group_id: str, handle: str, users: list[str], name: str | None = None) -> None:
        """Add a user group (`S...`) answered by `usergroups.users.list`."""
        with self._lock:
            self.workspace.add_usergroup(group_id, handle, users, name)

    def add_channel(
        self,
        channel_id: str | None,
        name: str,
        members: Iterable[str] = (),
        *,
        is_private: bool = False,
        bot_member: bool = True,
        topic: str = "",
        is_archived: bool = False,
    ) -> str:
        """Add a channel (the bot is a member unless `bot_member=False`); returns its id."""
        with self._lock:
            return self.workspace.add_channel(
                channel_id,
                name,
                members=members,
                is_private=is_private,
                bot_member=bot_member,
                topic=topic,
                is_archived=is_archived,
            ).id

    def add_message(
        self,
        channel: str,
        ts: str | None,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """Seed a message (e.g. a human one) in `channel`; returns its ts (generated when None)."""
        with self._lock:
            return str(self.workspace.add_message(channel, ts, user, text, thread_ts=thread_ts, blocks=blocks)["ts"])

    def delete_message(self, channel: str, ts: str) -> None:
        """Delete a message as a person does in the client: later calls about it answer ``message_not_found``."""
        with self._lock:
            found = self.workspace.resolve_channel(channel)
            found.messages[:] = [m for m in found.messages if m.get("ts") != ts]

    # ------------------------------------------------------------------ what people do by hand

    def archive_by_hand(self, channel: str) -> None:
        """A person archives ``channel`` in Slack (the bot stays a member, as in Slack)."""
        with self._lock:
            self.workspace.resolve_channel(channel).is_archived = True

    def remove_bot(self, channel: str) -> None:
        """A person removes the bot from ``channel`` (``/remove @incidentbot``)."""
        with self._lock:
            found = self.workspace.resolve_channel(channel)
            found.members = [m for m in found.members if m != BOT_USER_ID]

    def make_private_without_bot(self, channel: str) -> None:
        """A person converts ``channel`` to a private one the bot is not in (Slack keeps the id)."""
        with self._lock:
            found = self.workspace.resolve_channel(channel)
            found.is_private = True
            found.members = [m for m in found.members if m != BOT_USER_ID]

    def refuse_unarchive(self, error: str | None) -> None:
        """Make every ``conversations.unarchive`` answer ``error`` (a code Slack documents for it); None: stop."""
        if error is not None and error not in DOCUMENTED["conversations.unarchive"]["errors"]:
            raise ValueError(f"conversations.unarchive documents no error {error!r}")
        with self._lock:
            self.workspace.unarchive_refusal = error

    def channel(self, ref: str) -> Channel:
        """A copy of a channel's state, by id or name."""
        with self._lock:
            try:
                return copy.deepcopy(self.workspace.resolve_channel(ref))
            except SlackError:
                raise KeyError(ref) from None

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """All messages of a channel (thread replies included), oldest first."""
        found = self.channel(channel).messages
        return sorted(found, key=lambda m: ts_value(m["ts"]))

    @property
    def uploaded_files(self) -> list[UploadedFile]:
        """Files shared through `files.completeUploadExternal`, oldest first."""
        with self._lock:
            return list(self.workspace.uploaded)

    @property
    def views(self) -> list[dict[str, Any]]:
        """The latest version of every view opened, pushed, published or updated, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self.workspace.views.values()))

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The current Home tab view per user id."""
        with self._lock:
            return copy.deepcopy(self.workspace.home_views)

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """Ephemeral messages sent (with `channel` and `to_user`)."""
        with self._lock:
            return copy.deepcopy(self.workspace.ephemerals)
