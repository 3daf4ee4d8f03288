"""conversations.*: create, info, members, join, invite, setTopic, setPurpose, archive, unarchive, history,
replies."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from tests.support.fake_slack.constants import (
    BOT_USER_ID,
)
from tests.support.fake_slack.params import flag, paginate, required, ts_value, user_list
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import Channel, Workspace


def check_channel_name(name: str) -> None:
    """Raise Slack's ``invalid_name_*`` code for a channel name Slack refuses (empty, over 80 characters,
    a character outside lower-case ASCII letters, digits, ``-`` and ``_``, or punctuation only)."""
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > 80:
        raise SlackError("invalid_name_maxlength")
    if any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-_" for c in name):  # ASCII only: not ², not é
        raise SlackError("invalid_name_specials")
    if all(c in "-_" for c in name):
        raise SlackError("invalid_name_punctuation")


@api_method("conversations.create")
def _conversations_create(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params.get("name") or "")
    check_channel_name(name)
    if any(c.name == name for c in ws.channels.values()):
        raise SlackError("name_taken")
    channel = ws.add_channel(None, name, is_private=flag(params, "is_private"))
    return {"channel": ws.channel_object(channel)}


@api_method("conversations.info")
def _conversations_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(required(params, "channel", "channel_not_found"))
    if channel.is_private and BOT_USER_ID not in channel.members:
        raise SlackError("channel_not_found")
    return {"channel": ws.channel_object(channel)}


@api_method("conversations.members")
def _conversations_members(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(required(params, "channel", "channel_not_found"))
    if channel.is_private and BOT_USER_ID not in channel.members:
        raise SlackError("channel_not_found")
    page, cursor = paginate(list(channel.members), params, 100)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


@api_method("conversations.join")
def _conversations_join(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(required(params, "channel", "channel_not_found"))
    if channel.is_archived:
        raise SlackError("is_archived")
    if channel.is_private or channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")
    answer: dict[str, Any] = {"channel": None}
    if BOT_USER_ID in channel.members:
        answer.update(warning="already_in_channel", response_metadata={"warnings": ["already_in_channel"]})
    else:
        channel.members.append(BOT_USER_ID)
    answer["channel"] = ws.channel_object(channel)
    return answer


def _invite_error(ws: Workspace, channel: Channel, user_id: str) -> str | None:
    if user_id in ws.invite_refusals and user_id not in channel.members:
        return ws.invite_refusals[user_id]
    if user_id == BOT_USER_ID:
        return "cant_invite_self"
    if user_id not in ws.users:
        return "user_not_found"
    if user_id in channel.members:
        return "already_in_channel"
    return None


@api_method("conversations.invite")
def _conversations_invite(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Invite users; all-or-nothing like Slack unless `force`.

    Any invalid user (`user_not_found`, `cant_invite_self`, or a code set with `refuse_invite`) fails
    the whole call, with `error` = the first problem and, for several users, an `errors` array of
    `{user, ok, error}` (the documented example). With `force=true` the valid users are invited
    all the same ("continue inviting the valid ones while disregarding invalid IDs") and the
    answer is still `ok: false` with `errors`: Slack does not document the answer of a forced call
    with invalid users, so the fake takes the shape the bot must handle most carefully.
    Users already in the channel are skipped silently when others get invited; when *all* of
    them are already members the call fails with `already_in_channel`.
    """
    channel = ws.bot_channel(params)
    user_ids = user_list(params.get("users"))
    if not user_ids:
        raise SlackError("no_user")
    problems = {u: e for u in user_ids if (e := _invite_error(ws, channel, u))}
    fatal = [u for u in user_ids if problems.get(u, "already_in_channel") != "already_in_channel"]
    invitable = [u for u in user_ids if u not in problems]
    forced = flag(params, "force")
    if (fatal and not forced) or not invitable:
        first = problems[fatal[0]] if fatal else "already_in_channel"
        extra = {"errors": [{"user": u, "ok": False, "error": e} for u, e in problems.items()]}
        raise SlackError(first, **(extra if len(user_ids) > 1 else {}))
    channel.members.extend(u for u in dict.fromkeys(invitable))
    if fatal:
        extra = {"errors": [{"user": u, "ok": False, "error": e} for u, e in problems.items()]}
        raise SlackError(problems[fatal[0]], **extra)
    return {"channel": ws.channel_object(channel)}


def _set_text_attribute(ws: Workspace, params: dict[str, Any], attribute: str) -> dict[str, Any]:
    channel = ws.bot_channel(params)
    value = str(params.get(attribute) or "")
    if len(value) > 250:
        raise SlackError("too_long")
    setattr(channel, attribute, value)
    return {"channel": ws.channel_object(channel)}


@api_method("conversations.setTopic")
def _conversations_set_topic(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _set_text_attribute(ws, params, "topic")


@api_method("conversations.setPurpose")
def _conversations_set_purpose(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _set_text_attribute(ws, params, "purpose")


@api_method("conversations.archive")
def _conversations_archive(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(required(params, "channel", "channel_not_found"))
    if channel.is_private and BOT_USER_ID not in channel.members:
        raise SlackError("channel_not_found")
    if channel.is_archived:
        raise SlackError("already_archived")
    if BOT_USER_ID not in channel.members:
        raise SlackError("not_in_channel")
    channel.is_archived = True
    return {}


@api_method("conversations.unarchive")
def _conversations_unarchive(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Unarchive a channel (docs.slack.dev, conversations.unarchive: channel_not_found, not_archived,
    method_not_supported_for_channel_type, missing_scope). A private channel the bot is not in is not
    found; ``ws.unarchive_refusal`` (``FakeSlack.refuse_unarchive``) plays a workspace that refuses a bot
    token the call. Members stay members, as they do in Slack."""
    channel = ws.resolve_channel(required(params, "channel", "channel_not_found"))
    if channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.is_private and BOT_USER_ID not in channel.members:
        raise SlackError("channel_not_found")
    if ws.unarchive_refusal:
        raise SlackError(ws.unarchive_refusal)
    if not channel.is_archived:
        raise SlackError("not_archived")
    channel.is_archived = False
    return {}


def _in_window(ts: Decimal, params: dict[str, Any]) -> bool:
    inclusive = flag(params, "inclusive")
    if params.get("latest") not in (None, ""):
        latest = ts_value(params["latest"])
        if ts > latest or (ts == latest and not inclusive):
            return False
    if params.get("oldest") not in (None, ""):
        oldest = ts_value(params["oldest"])
        if ts < oldest or (ts == oldest and not inclusive):
            return False
    return True


@api_method("conversations.history")
def _conversations_history(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Top-level messages newest first (thread replies are left out, as Slack does)."""
    channel = ws.bot_channel(params, writing=False)
    top = [m for m in channel.messages if m.get("thread_ts", m["ts"]) == m["ts"]]
    chosen = sorted(
        (m for m in top if _in_window(ts_value(m["ts"]), params)),
        key=lambda m: ts_value(m["ts"]),
        reverse=True,
    )
    page, cursor = paginate(chosen, params, 100)
    return {
        "messages": copy.deepcopy(page),
        "has_more": bool(cursor),
        "pin_count": len(channel.pins),
        "response_metadata": {"next_cursor": cursor},
    }


@api_method("conversations.replies")
def _conversations_replies(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """The parent then its replies, oldest first."""
    channel = ws.bot_channel(params, writing=False)
    parent = ws.find_message(channel, required(params, "ts", "thread_not_found"))
    if parent is None:
        raise SlackError("thread_not_found")
    thread = [m for m in channel.messages if m is parent or m.get("thread_ts") == parent["ts"]]
    thread.sort(key=lambda m: ts_value(m["ts"]))
    page, cursor = paginate(thread, params, 1000)
    return {
        "messages": copy.deepcopy(page),
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }
