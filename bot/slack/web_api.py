"""The Slack Web API calls that follow a committed transition: channel, topic, pins, posts, uploads.

The database is the truth; these calls make Slack reflect it. Calls owed by a transition raise
SlackApiError so the outbox can retry them; interactive conveniences (modals, ephemeral notes,
App Home, reading a message) are best effort and return None or False when Slack refuses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.alerts import AlertLine
from bot.domain.commands import Assignee, GroupRef, UserRef
from bot.domain.model import Incident
from bot.domain.privacy import PRIVATE_TITLE
from bot.domain.updates import StatusUpdate
from bot.slack import blocks
from bot.slack.api_errors import (
    BY_METHOD,
    ERRORS,
    WHEN_EVERYONE_REFUSED,
    ErrorClass,
    SlackFailure,
    classify,
    failure_of,
    undocumented,
)
from bot.slack.pacing import SlackPacer, TooSoon
from bot.slack.text import MESSAGE_TEXT_LIMIT, slack_mention, truncate

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
    """What happened to each person asked to join a channel: invited, refused (with Slack's code), or not tried."""

    invited: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unreached: list[str] = field(default_factory=list)
    """People never invited because a channel-wide, setup or temporary error stopped the invitation."""

    def problems(self) -> str:
        """One sentence for the caller naming each person not added and why; "" when everyone is in."""
        if not self.failed:
            return ""
        return "Could not add " + self._refusals() + "."

    def _refusals(self) -> str:
        return ", ".join(f"{slack_mention(user)} ({invite_refusal(error)})" for user, error in self.failed.items())

    def stopped(self, channel_id: str, reason: str) -> str:
        """One message when the invitation stopped for ``reason``: who was added, who was refused and why, the rest.

        ``Added @a to #c. Could not add @b (no such user). Stopped before @d: the channel is archived.``
        """
        if not self.invited and not self.failed:
            return f"Nobody could be added to <#{channel_id}>: {reason}."
        parts: list[str] = []
        if self.invited:
            parts.append(f"Added {', '.join(slack_mention(u) for u in self.invited)} to <#{channel_id}>.")
        if self.failed:
            parts.append(f"Could not add {self._refusals()}.")
        if self.unreached:
            parts.append(f"Stopped before {', '.join(slack_mention(u) for u in self.unreached)}: {reason}.")
        else:
            parts.append(f"Then the invitation stopped: {reason}.")
        return " ".join(parts)


class InviteStopped(Exception):
    """An invitation stopped part way: ``failure`` says why (channel-wide, setup or temporary).

    ``report`` says who was added and who was refused before it stopped, and who was never tried."""

    def __init__(self, report: InviteReport, failure: SlackFailure) -> None:
        super().__init__(failure.describe())
        self.report = report
        self.failure = failure


def invite_refusal(error: str) -> str:
    """Why Slack kept one person out (``user_not_found`` -> "no such user"), from the error table."""
    known = BY_METHOD.get(("conversations.invite", error)) or ERRORS.get(error)
    return known[1] if known else undocumented(error).split(";", 1)[0]


_ALREADY_MEMBER = frozenset({"already_in_channel", "cant_invite_self"})
"""Invitation answers that leave the person where we want them: in the channel (or the bot itself)."""
INVITE_BATCH = 100
"""conversations.invite takes at most 100 user ids per call (Slack's method reference)."""
U = ErrorClass.USER
_INVITE_PER_USER = frozenset(
    {code for code, (kind, _) in ERRORS.items() if kind is U}
    | {code for (method, code), (kind, _) in BY_METHOD.items() if method == "conversations.invite" and kind is U}
)
"""Codes that name one invitee (logged at info level: they are reported to the caller, not faults)."""
_GONE_MESSAGE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def _listed_invite_errors(body: dict[str, Any]) -> dict[str, str]:
    """The per-user ``errors`` array of a conversations.invite answer as {user: code}."""
    listed = body.get("errors")
    if not isinstance(listed, list):
        return {}
    return {
        str(entry["user"]): str(entry.get("error") or "unknown")
        for entry in listed
        if isinstance(entry, dict) and entry.get("user")
    }


def _names_one_person(failure: SlackFailure) -> bool:
    """A conversations.invite answer that may be about one invitee: a per-user code, or one the table lacks."""
    if failure.code is None or failure.error_class is ErrorClass.TEMPORARY:
        return False
    return failure.error_class is ErrorClass.USER or classify("conversations.invite", failure.code) is None


def _record(report: InviteReport, user: str, error: str) -> None:
    if error in _ALREADY_MEMBER:
        report.invited.append(user)
    else:
        report.failed[user] = error


def _refused_alike(failure: SlackFailure, users: list[str], refused: dict[str, str]) -> None:
    """Raise _EveryoneRefused when 2+ people, all refused, got the same code that then means the channel or token.

    The codes of ``WHEN_EVERYONE_REFUSED`` qualify, and codes the table does not know.
    """
    codes = set(refused.values())
    if len(users) < 2 or len(refused) != len(users) or len(codes) != 1:
        return
    [code] = codes
    meaning = WHEN_EVERYONE_REFUSED.get(("conversations.invite", code))
    if meaning is None and classify("conversations.invite", code) is None:
        meaning = (ErrorClass.SETUP, undocumented(code))
    if meaning is None:
        return
    raise _EveryoneRefused(replace(failure, code=code, override=meaning))


class _EveryoneRefused(Exception):
    def __init__(self, failure: SlackFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


class ChannelNameExhausted(Exception):
    """Every candidate name for an incident channel was taken."""


class SlackWebApi:
    """Wraps the Web API client with the few operations the bot performs."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel_prefix: str = "inc",
        announce_channel: str | None = None,
        *,
        private_announce: str = "notice",
        pacer: SlackPacer | None = None,
        paced: Callable[[], bool] = lambda: True,
    ):
        """``private_announce`` (INCIDENT_PRIVATE_ANNOUNCE): ``notice`` or ``off``, what ``announce`` says of a
        private incident. ``pacer``: spaces the calls by Slack's rate limits (``bot.slack.pacing``; None: no
        pacing); ``paced``: whether the current call is to be paced (``bot.app`` passes "inside an outbox
        delivery": a person waiting for an answer is never held back)."""
        self.client = client
        self.pacer = pacer
        self.paced = paced
        self.channel_prefix = channel_prefix
        self.announce_channel = announce_channel
        self.private_announce = private_announce

    async def _call(self, method: str, expected: frozenset[str] = frozenset(), **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method through the SDK's own method (``chat.postMessage`` -> ``chat_postMessage``).

        Slack errors raise SlackApiError after being logged (at info level for the ``expected`` ones).
        """
        sdk_method = getattr(self.client, method.replace(".", "_"))
        channel = kwargs.get("channel")
        async with self._turn(method, str(channel) if channel else None):
            try:
                response = await sdk_method(**kwargs)
            except SlackApiError as exc:
                failure = failure_of(exc)
                level = log.info if failure.code in expected else log.warning
                level(
                    "slack_call_failed", method=method, error=failure.code, status=failure.status, reason=failure.detail
                )
                if failure.status == 429 and self.pacer is not None:
                    self.pacer.hold(method, str(channel) if channel else None, failure.retry_after)
                raise
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _turn(self, method: str, channel: str | None) -> AbstractAsyncContextManager[None]:
        """The pacer's turn for ``method`` (to ``channel``) when this call is paced; else no wait.
        Raises TooSoon when the turn is further away than the pacer waits."""
        if self.pacer is None or not self.paced():
            return nullcontext()
        return self.pacer.turn(method, channel)

    async def try_call(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """Like ``_call`` but a Slack error is logged and becomes None."""
        try:
            return await self._call(method, **kwargs)
        except SlackApiError:
            return None
        except TooSoon:  # paced inside an outbox delivery: the item is retried at its turn
            raise
        except Exception:  # network errors: logged, the transition is already committed
            log.exception("slack_call_crashed", method=method)
            return None

    # -- channels ------------------------------------------------------------------------------
    # These raise SlackApiError on failure: the outbox worker decides whether to retry.

    async def create_channel(self, incident: Incident) -> str:
        """Create the incident channel, adding ``-2``, ``-3``... while the name is taken; returns its id.

        A private incident's channel is private (``is_private``, needs the ``groups:write`` scope) and named
        without its title (``inc-7-private-incident``): channel names show in places its title must not.
        """
        title = PRIVATE_TITLE if incident.private else incident.title
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            name = channel_name(self.channel_prefix, incident.number, title, attempt)
            try:
                response = await self._call(
                    "conversations.create", frozenset({"name_taken"}), name=name, is_private=incident.private
                )
            except SlackApiError as exc:
                if failure_of(exc).code == "name_taken":
                    continue
                raise
            channel_id = str((response.get("channel") or {}).get("id") or "")
            log.info("incident_channel_created", incident=incident.incident_id, channel=channel_id, name=name)
            return channel_id
        raise ChannelNameExhausted(f"{MAX_NAME_ATTEMPTS} channel names for {incident.incident_id} were taken")

    async def set_topic(self, incident: Incident) -> None:
        assert incident.channel_id
        await self._call("conversations.setTopic", channel=incident.channel_id, topic=blocks.build_topic(incident))

    async def archive_channel(self, channel_id: str) -> None:
        """``conversations.archive`` (scope channels:manage, groups:write for a private channel); an
        ``already_archived`` channel counts as done. Other refusals raise SlackApiError (docs.slack.dev,
        conversations.archive: not_in_channel, channel_not_found, restricted_action, cant_archive_general...)."""
        try:
            await self._call("conversations.archive", frozenset({"already_archived"}), channel=channel_id)
        except SlackApiError as exc:
            if failure_of(exc).code != "already_archived":
                raise

    async def unarchive_channel(self, channel_id: str) -> None:
        """``conversations.unarchive`` (same scopes as archive); a channel that is ``not_archived`` counts as
        done. Other refusals raise SlackApiError (docs.slack.dev, conversations.unarchive: channel_not_found,
        method_not_supported_for_channel_type, missing_scope)."""
        try:
            await self._call("conversations.unarchive", frozenset({"not_archived"}), channel=channel_id)
        except SlackApiError as exc:
            if failure_of(exc).code != "not_archived":
                raise

    async def invite(self, channel_id: str, user_ids: Sequence[str]) -> InviteReport:
        """Invite everyone in one call with ``force=true``; a person Slack refuses keeps only themselves out.

        Slack documents ``force``: "continue inviting the valid ones while disregarding invalid IDs",
        and answers per-user problems in an ``errors`` array of ``{user, ok, error}``. Whoever is not
        named there is invited again in a further call (``already_in_channel`` makes that harmless),
        so nobody is counted as invited on an assumption. Without such an array, a per-user code (or
        a code the table does not know) for several people is resolved by inviting them one at a
        time. When two or more people all get the same code of ``WHEN_EVERYONE_REFUSED``, it is the
        token or the channel, not them. Raises InviteStopped (with what was done so far) on a
        channel-wide, setup or temporary error, and when everyone was refused that way.
        """
        report = InviteReport()
        users = [u for u in dict.fromkeys(user_ids) if u]
        try:
            for start in range(0, len(users), INVITE_BATCH):
                await self._invite_batch(channel_id, users[start : start + INVITE_BATCH], report)
        except (SlackApiError, _EveryoneRefused) as exc:
            report.unreached = [u for u in users if u not in report.invited and u not in report.failed]
            failure = exc.failure if isinstance(exc, _EveryoneRefused) else failure_of(exc)
            raise InviteStopped(report, failure) from exc
        if report.failed:
            log.info("invite_refused_for_some", channel=channel_id, refused=report.failed)
        return report

    async def _invite_batch(self, channel_id: str, batch: list[str], report: InviteReport) -> None:
        remaining = batch
        while remaining:
            try:
                response = await self._invite_call(channel_id, remaining)
            except SlackApiError as exc:
                failure = failure_of(exc)
                listed = {u: e for u, e in _listed_invite_errors(failure.body).items() if u in remaining}
                if not listed:
                    if len(remaining) > 1 and _names_one_person(failure):
                        await self._invite_one_at_a_time(channel_id, remaining, report)
                        return
                    if len(remaining) == 1 and failure.error_class is ErrorClass.USER and failure.code:
                        _record(report, remaining[0], failure.code)
                        return
                    raise
                _refused_alike(failure, remaining, listed)
                for user, error in listed.items():
                    _record(report, user, error)
                remaining = [u for u in remaining if u not in listed]
                continue
            listed = {u: e for u, e in _listed_invite_errors(response).items() if u in remaining}
            for user, error in listed.items():
                _record(report, user, error)
            report.invited.extend(u for u in remaining if u not in listed)
            return

    async def _invite_one_at_a_time(self, channel_id: str, users: list[str], report: InviteReport) -> None:
        refused: dict[str, str] = {}
        last: SlackFailure | None = None
        for user in users:
            try:
                await self._invite_call(channel_id, [user])
            except SlackApiError as exc:
                last = failure_of(exc)
                code = _listed_invite_errors(last.body).get(user) or last.code
                if code is None or not _names_one_person(last):
                    raise
                refused[user] = code
                _record(report, user, code)  # kept even if a later call stops the invitation
                continue
            report.invited.append(user)
        if last is not None:
            try:
                _refused_alike(last, users, refused)
            except _EveryoneRefused:
                for user in users:  # not their refusals after all: the channel's or the token's
                    report.failed.pop(user, None)
                raise

    async def _invite_call(self, channel_id: str, users: list[str]) -> dict[str, Any]:
        return await self._call(
            "conversations.invite", _INVITE_PER_USER, channel=channel_id, users=",".join(users), force=True
        )

    async def expand_groups(self, assignees: Sequence[Assignee]) -> tuple[list[Assignee], list[str]]:
        """Replace user groups by their members (keeping the group's role); report groups not read, and why.

        The reason comes from the error table: "no such user group", the plan that lacks user groups,
        or, when Slack is busy, to name the group again in a minute.
        """
        expanded: list[Assignee] = []
        problems: list[str] = []
        for assignee in assignees:
            if isinstance(assignee.who, UserRef):
                expanded.append(assignee)
                continue
            group: GroupRef = assignee.who
            name = group.handle or group.group_id
            try:
                response = await self._call(
                    "usergroups.users.list", frozenset({"no_such_subteam"}), usergroup=group.group_id
                )
            except SlackApiError as exc:
                kind, reason = failure_of(exc).meaning
                again = "; Slack is busy, name the group again in a minute" if kind is ErrorClass.TEMPORARY else ""
                problems.append(f"could not read the members of {name}: {reason}{again}")
                continue
            except TooSoon:
                raise
            except Exception:  # network: logged; the people named directly are still assembled
                log.exception("slack_call_crashed", method="usergroups.users.list")
                problems.append(f"could not read the members of {name}: Slack could not be reached")
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
        self,
        incident: Incident,
        now: datetime,
        budget: str | None = None,
        alerts: Sequence[AlertLine] = (),
        update: StatusUpdate | None = None,
    ) -> str:
        """Post the status message of an incident channel; returns its ts (pin it with ``pin``)."""
        assert incident.channel_id
        return await self.post(
            incident.channel_id,
            blocks.build_status_text(incident),
            blocks.build_status_blocks(incident, now, budget, alerts, update),
        )

    async def pin(self, channel_id: str, ts: str) -> bool:
        """Pin a message (already pinned counts as done); False if Slack refused it for good.

        A temporary failure (a rate limit, a 5xx) raises SlackApiError, for the caller to retry the
        pin alone: retrying the post would duplicate the status message.
        """
        try:
            await self._call("pins.add", frozenset({"already_pinned"}), channel=channel_id, timestamp=ts)
        except SlackApiError as exc:
            failure = failure_of(exc)
            if failure.error_class is ErrorClass.TEMPORARY:
                raise
            return failure.code == "already_pinned"
        return True

    async def update_status_message(
        self,
        incident: Incident,
        ts: str,
        now: datetime,
        budget: str | None = None,
        alerts: Sequence[AlertLine] = (),
        update: StatusUpdate | None = None,
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
                blocks=blocks.build_status_blocks(incident, now, budget, alerts, update),
            )
        except SlackApiError as exc:
            if failure_of(exc).code in _GONE_MESSAGE_ERRORS:
                return False
            raise
        return True

    async def announce(self, incident: Incident, declared_by: str) -> tuple[str, str] | None:
        """Tell the announce channel; join it first if Slack says the bot is not a member. Returns where the
        announcement is: the channel's id as Slack answered it (``INCIDENT_ANNOUNCE_CHANNEL`` may be a name)
        and its ts; None when no announce channel is configured, or a private incident is not announced.

        A private incident is announced by ``build_private_notice`` (no title, service nor people), or not at all
        when ``private_announce`` is ``off``."""
        if not self.announce_channel or (incident.private and self.private_announce == "off"):
            return None
        text, announcement = self._announcement(incident, declared_by)
        kwargs: dict[str, Any] = {"text": text, "blocks": announcement}
        response = await self._in_announce_channel("chat.postMessage", self.announce_channel, **kwargs)
        channel, ts = str(response.get("channel") or self.announce_channel), str(response.get("ts") or "")
        return (channel, ts) if ts else None

    async def _in_announce_channel(
        self, method: str, channel: str, expected: frozenset[str] = frozenset(), **kwargs: Any
    ) -> dict[str, Any]:
        """``method`` in the announce channel; on ``not_in_channel`` (the bot was never in it, or was removed)
        join it and call again once. Raises SlackApiError for anything else (a private channel cannot be
        joined: ``method_not_supported_for_channel_type``)."""
        try:
            return await self._call(method, expected | {"not_in_channel"}, channel=channel, **kwargs)
        except SlackApiError as exc:
            if failure_of(exc).code != "not_in_channel":
                raise
        await self._call("conversations.join", channel=channel)
        return await self._call(method, expected, channel=channel, **kwargs)

    def _announcement(self, incident: Incident, declared_by: str) -> tuple[str, list[dict[str, Any]]]:
        """The announcement's notification text and blocks: how the incident stands now, or for a private
        incident only that one exists (``build_private_notice``)."""
        if incident.private:
            return blocks.build_private_notice(incident)
        return blocks.build_announcement_text(incident), blocks.build_announcement(
            incident, incident.channel_id, declared_by
        )

    async def update_announcement(self, incident: Incident, channel_id: str, ts: str, declared_by: str) -> bool:
        """Edit the announcement in place to say how the incident stands now. False if it is gone
        (``message_not_found``: deleted), so there is nothing left to keep true; True when edited, and when
        Slack no longer lets it be edited (``edit_window_closed``, ``cant_update_message``: a workspace's edit
        time limit), since it is still there for the updates threaded under it."""
        text, announcement = self._announcement(incident, declared_by)
        try:
            await self._in_announce_channel(
                "chat.update", channel_id, _GONE_MESSAGE_ERRORS, ts=ts, text=text, blocks=announcement
            )
        except SlackApiError as exc:
            code = failure_of(exc).code
            if code == "message_not_found":
                return False
            if code in _GONE_MESSAGE_ERRORS:
                log.warning("announcement_not_editable", incident=incident.incident_id, channel=channel_id, error=code)
                return True
            raise
        return True

    async def reply_in_thread(self, channel_id: str, thread_ts: str, text: str) -> str:
        """Post ``text`` in the thread of the announcement at ``thread_ts`` (joining the announce channel
        again if the bot was removed from it); returns the reply's ts."""
        response = await self._in_announce_channel(
            "chat.postMessage", channel_id, thread_ts=thread_ts, text=truncate(text, MESSAGE_TEXT_LIMIT)
        )
        return str(response.get("ts") or "")

    async def fetch_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """The message at ``ts`` (top-level or in a thread), or None if it is gone.

        Raises SlackApiError for anything else (a rate limit, a missing scope), for the outbox to
        classify: a pin must not be lost because Slack was busy when it was read.
        """
        history = await self._call("conversations.history", channel=channel_id, latest=ts, inclusive=True, limit=1)
        for message in history.get("messages", []):
            if message.get("ts") == ts:
                return dict(message)
        # A thread reply: conversations.replies accepts the ts of any message of the thread.
        try:
            replies = await self._call(
                "conversations.replies",
                frozenset({"thread_not_found"}),
                channel=channel_id,
                ts=ts,
                oldest=ts,
                inclusive=True,
                limit=2,
            )
        except SlackApiError as exc:
            if failure_of(exc).code == "thread_not_found":
                return None
            raise
        for message in replies.get("messages", []):
            if message.get("ts") == ts:
                return dict(message)
        return None

    async def permalink(self, channel_id: str, ts: str) -> str:
        response = await self.try_call("chat.getPermalink", channel=channel_id, message_ts=ts)
        return str((response or {}).get("permalink") or "")

    # -- files and views -----------------------------------------------------------------------

    async def upload_postmortem(self, incident: Incident, markdown: str) -> str | None:
        """Upload the draft into the incident channel as ``INC-n-postmortem.md``; its permalink (the
        ``permalink`` of the file object ``files.completeUploadExternal`` answers), or None when Slack's
        answer has none. Raises SlackApiError."""
        filename = f"{incident.incident_id}-postmortem.md"
        try:
            link = await self._share_file(
                incident,
                filename,
                f"{incident.incident_id} postmortem draft",
                markdown,
                f"Postmortem draft for *{incident.incident_id}*: edit it and run the review. "
                "`/incident postmortem` exports it again.",
            )
        except SlackApiError as exc:
            log.warning("postmortem_upload_failed", incident=incident.incident_id, error=failure_of(exc).code)
            raise
        log.info(
            "postmortem_uploaded", incident=incident.incident_id, channel=incident.channel_id, file=filename, link=link
        )
        return link

    async def upload_invite(self, incident: Incident, filename: str, content: bytes, comment: str) -> str | None:
        """Upload the postmortem review's calendar invite (``.ics``) into the incident channel, with ``comment``;
        its permalink, or None when Slack's answer has none. Raises SlackApiError (the outbox retries a temporary
        one: a file whose upload failed before ``files.completeUploadExternal`` answered was never shared)."""
        try:
            return await self._share_file(
                incident, filename, f"{incident.incident_id} postmortem review (calendar invite)", content, comment
            )
        except SlackApiError as exc:
            log.warning("review_invite_upload_failed", incident=incident.incident_id, error=failure_of(exc).code)
            raise

    async def _share_file(
        self, incident: Incident, filename: str, title: str, content: str | bytes, comment: str
    ) -> str | None:
        """``files_upload_v2`` into the incident's channel (getUploadURLExternal, the bytes, completeUploadExternal);
        the shared file's ``permalink``, or None when Slack's answer has none. Raises SlackApiError."""
        assert incident.channel_id
        async with self._turn("files.getUploadURLExternal", None), self._turn("files.completeUploadExternal", None):
            response = await self.client.files_upload_v2(
                channel=incident.channel_id, filename=filename, title=title, content=content, initial_comment=comment
            )
        files = response.get("files")
        first = files[0] if isinstance(files, list) and files and isinstance(files[0], dict) else {}
        permalink = first.get("permalink")
        return permalink if isinstance(permalink, str) and permalink.startswith("https://") else None

    async def user_contact(self, user_id: str) -> tuple[str, str | None]:
        """A Slack user's name (display name, else real name, else the user name) and e-mail address
        (``users.info`` ``user.profile.email``, which Slack gives only with the ``users:read.email`` scope); the
        id and None when Slack will not say (an unknown user, a missing scope: logged). A temporary failure
        raises SlackApiError, for the outbox to retry."""
        try:
            response = await self._call("users.info", frozenset({"user_not_found"}), user=user_id)
        except SlackApiError as exc:
            if failure_of(exc).error_class is ErrorClass.TEMPORARY:
                raise
            return user_id, None
        user = response.get("user")
        user = user if isinstance(user, dict) else {}
        profile = user.get("profile")
        profile = profile if isinstance(profile, dict) else {}
        name = next(
            (str(v) for v in (profile.get("display_name"), profile.get("real_name"), user.get("name")) if v), user_id
        )
        email = profile.get("email")
        return name, str(email) if isinstance(email, str) and "@" in email else None

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        return await self.try_call("views.open", trigger_id=trigger_id, view=view) is not None

    async def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        await self.try_call("views.publish", user_id=user_id, view=view)
