"""The Slack Web API calls that follow a committed transition: channel, topic, pins, posts, uploads.

The database is the truth; these calls make Slack reflect it. Calls owed by a transition raise
SlackApiError so the outbox can retry them; interactive conveniences (modals, ephemeral notes,
App Home, reading a message) are best effort and return None or False when Slack refuses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.alerts import AlertLine
from bot.domain.commands import Assignee, GroupRef, UserRef
from bot.domain.model import Incident, slack_mention
from bot.slack import blocks
from bot.slack.text import MESSAGE_TEXT_LIMIT, escape, truncate

log = structlog.get_logger("incidentbot.slack")

CHANNEL_NAME_LIMIT = 80
MAX_NAME_ATTEMPTS = 20


def slugify(title: str) -> str:
    """``CDN edge: 502s!`` -> ``cdn-edge-502s``: lowercase ASCII letters, digits, - and _ only."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]+", "-", ascii_title.lower())).strip("-_")


def channel_name(prefix: str, number: int, title: str, attempt: int = 1) -> str:
    """``inc-7-cdn-edge-502s`` (``-2``, ``-3``... when taken), at most 80 characters."""
    suffix = f"-{attempt}" if attempt > 1 else ""
    base = f"{prefix}-{number}"
    slug = slugify(title)
    room = CHANNEL_NAME_LIMIT - len(base) - len(suffix) - 1
    name = f"{base}-{slug[:room].rstrip('-_')}" if slug and room > 0 else base
    return name + suffix


def incident_number_in_channel_name(name: str, prefix: str) -> int | None:
    """``inc-7-cdn-edge`` -> 7 (the inverse of ``channel_name``); anything else -> None."""
    match = re.match(rf"^{re.escape(prefix)}-(\d{{1,9}})(?:-|$)", name)
    return int(match.group(1)) if match else None


@dataclass
class InviteReport:
    """What happened to each person asked to join a channel."""

    invited: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def problems(self) -> str:
        if not self.failed:
            return ""
        return (
            "Could not add "
            + ", ".join(
                f"{slack_mention(user)} ({_INVITE_ERRORS.get(error, error)})" for user, error in self.failed.items()
            )
            + "."
        )


_INVITE_ERRORS = {
    "user_not_found": "no such user",
    "user_is_deactivated": "deactivated",
    "user_is_restricted": "guest accounts cannot be invited",
    "ura_max_channels": "guest is in too many channels",
    "no_such_subteam": "no such user group",
}


_EXPECTED_INVITE_ERRORS = frozenset({"already_in_channel", "cant_invite_self"})
_PER_USER_INVITE_ERRORS = frozenset(
    {"user_not_found", "user_is_deactivated", "user_is_restricted", "ura_max_channels", "user_is_bot", "missing_user"}
)
_GONE_MESSAGE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class ChannelNameExhausted(Exception):
    """Every candidate name for an incident channel was taken."""


class SlackEffects:
    """Wraps the Web API client with the few operations the bot performs."""

    def __init__(self, client: AsyncWebClient, channel_prefix: str = "inc", announce_channel: str | None = None):
        self.client = client
        self.channel_prefix = channel_prefix
        self.announce_channel = announce_channel

    async def _call(self, method: str, expected: frozenset[str] = frozenset(), **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method through the SDK's own method (``chat.postMessage`` -> ``chat_postMessage``).

        Slack errors raise SlackApiError after being logged (at info level for the ``expected`` ones).
        """
        sdk_method = getattr(self.client, method.replace(".", "_"))
        try:
            response = await sdk_method(**kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error")
            level = log.info if error in expected else log.warning
            level("slack_call_failed", method=method, error=error, status=exc.response.status_code)
            raise
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def try_call(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """Like ``_call`` but a Slack error is logged and becomes None."""
        try:
            return await self._call(method, **kwargs)
        except SlackApiError:
            return None
        except Exception:  # network errors: logged, the transition is already committed
            log.exception("slack_call_crashed", method=method)
            return None

    # -- channels ------------------------------------------------------------------------------
    # These raise SlackApiError on failure: the outbox worker decides whether to retry.

    async def create_channel(self, incident: Incident) -> str:
        """Create the incident channel, adding ``-2``, ``-3``... while the name is taken; returns its id."""
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            name = channel_name(self.channel_prefix, incident.number, incident.title, attempt)
            try:
                response = await self._call(
                    "conversations.create", frozenset({"name_taken"}), name=name, is_private=False
                )
            except SlackApiError as exc:
                if exc.response.get("error") == "name_taken":
                    continue
                raise
            channel_id = str((response.get("channel") or {}).get("id") or "")
            log.info("incident_channel_created", incident=incident.incident_id, channel=channel_id, name=name)
            return channel_id
        raise ChannelNameExhausted(f"{MAX_NAME_ATTEMPTS} channel names for {incident.incident_id} were taken")

    async def set_topic(self, incident: Incident) -> None:
        assert incident.channel_id
        await self._call("conversations.setTopic", channel=incident.channel_id, topic=blocks.build_topic(incident))

    async def invite(self, channel_id: str, user_ids: Sequence[str]) -> InviteReport:
        """Invite each user separately so one unknown user does not keep the others out.

        Rate limits and server errors raise (the whole invitation is retried; already_in_channel
        makes that harmless); per-user refusals are reported.
        """
        report = InviteReport()
        for user_id in dict.fromkeys(user_ids):
            try:
                await self._call("conversations.invite", _EXPECTED_INVITE_ERRORS, channel=channel_id, users=user_id)
                report.invited.append(user_id)
            except SlackApiError as exc:
                error = str(exc.response.get("error"))
                if error in _EXPECTED_INVITE_ERRORS:
                    continue
                if error in _PER_USER_INVITE_ERRORS:
                    report.failed[user_id] = error
                    continue
                raise
        return report

    async def expand_groups(self, assignees: Sequence[Assignee]) -> tuple[list[Assignee], list[str]]:
        """Replace user groups by their members (keeping the group's role); report unknown groups."""
        expanded: list[Assignee] = []
        problems: list[str] = []
        for assignee in assignees:
            if isinstance(assignee.who, UserRef):
                expanded.append(assignee)
                continue
            group: GroupRef = assignee.who
            response = await self.try_call("usergroups.users.list", usergroup=group.group_id)
            if response is None:
                problems.append(f"could not read the members of {group.handle or group.group_id}")
                continue
            members = [str(u) for u in response.get("users", [])]
            if not members:
                problems.append(f"{group.handle or group.group_id} has no members")
            expanded.extend(Assignee(UserRef(user_id), assignee.role) for user_id in members)
        return expanded, problems

    # -- messages ------------------------------------------------------------------------------

    async def post(self, channel_id: str, text: str, block_list: list[dict[str, Any]] | None = None) -> str:
        """Post a message; returns its ts."""
        kwargs: dict[str, Any] = {"channel": channel_id, "text": truncate(text, MESSAGE_TEXT_LIMIT)}
        if block_list is not None:
            kwargs["blocks"] = blocks.cap_blocks(block_list)
        response = await self._call("chat.postMessage", **kwargs)
        return str(response.get("ts") or "")

    async def post_ephemeral(self, channel_id: str, user_id: str, text: str) -> bool:
        """Best effort: a note only ``user_id`` sees; False if Slack refused it."""
        response = await self.try_call(
            "chat.postEphemeral", channel=channel_id, user=user_id, text=truncate(text, MESSAGE_TEXT_LIMIT)
        )
        return response is not None

    async def post_status_message(
        self, incident: Incident, now: datetime, budget: str | None = None, alerts: Sequence[AlertLine] = ()
    ) -> str:
        """Post the status message of an incident channel; returns its ts (pin it with ``pin``)."""
        assert incident.channel_id
        return await self.post(
            incident.channel_id,
            blocks.build_status_text(incident),
            blocks.build_status_blocks(incident, now, budget, alerts),
        )

    async def pin(self, channel_id: str, ts: str) -> bool:
        """Best effort: pin a message (already pinned counts as done); False if Slack refused.

        A pin is a convenience: the status message is posted and kept current either way, and a
        retried post would duplicate it, so a refused pin is logged rather than retried.
        """
        try:
            await self._call("pins.add", frozenset({"already_pinned"}), channel=channel_id, timestamp=ts)
        except SlackApiError as exc:
            return bool(exc.response.get("error") == "already_pinned")
        return True

    async def update_status_message(
        self,
        incident: Incident,
        ts: str,
        now: datetime,
        budget: str | None = None,
        alerts: Sequence[AlertLine] = (),
    ) -> bool:
        """Edit the status message in place; False if it is gone (deleted), so a new one is needed."""
        assert incident.channel_id
        try:
            await self._call(
                "chat.update",
                _GONE_MESSAGE_ERRORS,
                channel=incident.channel_id,
                ts=ts,
                text=blocks.build_status_text(incident),
                blocks=blocks.build_status_blocks(incident, now, budget, alerts),
            )
        except SlackApiError as exc:
            if exc.response.get("error") in _GONE_MESSAGE_ERRORS:
                return False
            raise
        return True

    async def announce(self, incident: Incident, declared_by: str) -> None:
        """Tell the announce channel; join it first if Slack says the bot is not a member."""
        if not self.announce_channel:
            return
        text = f"{incident.incident_id} ({incident.severity.value}) declared: {escape(incident.title)}"
        kwargs: dict[str, Any] = {
            "channel": self.announce_channel,
            "text": truncate(text, 3000),
            "blocks": blocks.build_announcement(incident, incident.channel_id, declared_by),
        }
        try:
            await self._call("chat.postMessage", frozenset({"not_in_channel"}), **kwargs)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
            await self._call("conversations.join", channel=self.announce_channel)
            await self._call("chat.postMessage", **kwargs)

    async def fetch_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """The message at ``ts`` (top-level or in a thread)."""
        history = await self.try_call("conversations.history", channel=channel_id, latest=ts, inclusive=True, limit=1)
        for message in (history or {}).get("messages", []):
            if message.get("ts") == ts:
                return dict(message)
        # A thread reply: conversations.replies accepts the ts of any message of the thread.
        replies = await self.try_call(
            "conversations.replies", channel=channel_id, ts=ts, oldest=ts, inclusive=True, limit=2
        )
        for message in (replies or {}).get("messages", []):
            if message.get("ts") == ts:
                return dict(message)
        return None

    async def permalink(self, channel_id: str, ts: str) -> str:
        response = await self.try_call("chat.getPermalink", channel=channel_id, message_ts=ts)
        return str((response or {}).get("permalink") or "")

    # -- files and views -----------------------------------------------------------------------

    async def upload_postmortem(self, incident: Incident, markdown: str) -> None:
        """Upload the draft into the incident channel as ``INC-n-postmortem.md``."""
        assert incident.channel_id
        filename = f"{incident.incident_id}-postmortem.md"
        try:
            await self.client.files_upload_v2(
                channel=incident.channel_id,
                filename=filename,
                title=f"{incident.incident_id} postmortem draft",
                content=markdown,
                initial_comment=f"Postmortem draft for *{incident.incident_id}*: edit it and run the review. "
                "`/incident postmortem` exports it again.",
            )
        except SlackApiError as exc:
            log.warning("postmortem_upload_failed", incident=incident.incident_id, error=exc.response.get("error"))
            raise
        log.info("postmortem_uploaded", incident=incident.incident_id, channel=incident.channel_id, file=filename)

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        return await self.try_call("views.open", trigger_id=trigger_id, view=view) is not None

    async def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        await self.try_call("views.publish", user_id=user_id, view=view)
