"""chat.*: postMessage, update, delete, postEphemeral, getPermalink."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.fake_slack.blocks import check_blocks
from tests.support.fake_slack.constants import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    MESSAGE_TEXT_LIMIT,
    TEAM_DOMAIN,
    TEAM_ID,
)
from tests.support.fake_slack.params import required
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import Workspace


def _check_content(params: dict[str, Any], require: bool = True, truncates: bool = False) -> None:
    """Slack's checks of a message; `truncates`: long text is cut (chat.postMessage), not refused."""
    text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
    if require and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if blocks not in (None, ""):
        check_blocks(blocks, 50)
    if text is not None and len(str(text)) > MESSAGE_TEXT_LIMIT:
        if not truncates:
            raise SlackError("msg_too_long")
        params["text"] = str(text)[:MESSAGE_TEXT_LIMIT]
    if isinstance(attachments, list) and len(attachments) > 100:
        raise SlackError("too_many_attachments")


def bot_message(ws: Workspace, params: dict[str, Any], ts: str) -> dict[str, Any]:
    """The message object Slack stores for a post by the bot (text, ts, and blocks/attachments/metadata if given)."""
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": str(params.get("text") or ""),
        "ts": ts,
        "team": TEAM_ID,
    }
    for key in ("blocks", "attachments", "metadata"):
        if params.get(key) not in (None, ""):
            message[key] = params[key]
    return message


@api_method("chat.postMessage")
def _chat_post_message(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.bot_channel(params)
    content = dict(params)
    _check_content(content, truncates=True)
    message = bot_message(ws, content, ws.next_ts())
    ws.attach_to_thread(channel, message, params.get("thread_ts") or None)
    channel.messages.append(message)
    return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}


@api_method("chat.update")
def _chat_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    # chat.update documents neither is_archived nor not_in_channel: "is_inactive: The message cannot be
    # edited within a frozen, archived or deleted channel"; a private channel the bot left is not found.
    channel = ws.resolve_channel(required(params, "channel", "channel_not_found"))
    if channel.is_private and BOT_USER_ID not in channel.members:
        raise SlackError("channel_not_found")
    if channel.is_archived:
        raise SlackError("is_inactive")
    message = ws.message_at(channel, required(params, "ts", "message_not_found"))
    if message.get("user") != BOT_USER_ID:
        raise SlackError("cant_update_message")
    _check_content(params, require=False)
    for key in ("text", "blocks", "attachments", "metadata"):
        if key in params:
            message[key] = params[key]
    message["edited"] = {"user": BOT_USER_ID, "ts": ws.next_ts()}
    return {
        "channel": channel.id,
        "ts": message["ts"],
        "text": message.get("text", ""),
        "message": copy.deepcopy(message),
    }


@api_method("chat.delete")
def _chat_delete(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.bot_channel(params)
    message = ws.message_at(channel, required(params, "ts", "message_not_found"))
    if message.get("user") != BOT_USER_ID:
        raise SlackError("cant_delete_message")
    channel.messages.remove(message)
    return {"channel": channel.id, "ts": message["ts"]}


@api_method("chat.postEphemeral")
def _chat_post_ephemeral(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.bot_channel(params)
    user = required(params, "user", "user_not_found")
    ws.known_user(user)
    if user not in channel.members:
        raise SlackError("user_not_in_channel")
    _check_content(params)
    ts = ws.next_ts()
    ws.ephemerals.append({**bot_message(ws, params, ts), "channel": channel.id, "to_user": user})
    return {"message_ts": ts}


@api_method("chat.getPermalink")
def _chat_get_permalink(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(required(params, "channel", "channel_not_found"))
    message = ws.message_at(channel, required(params, "message_ts", "message_not_found"))
    link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts", message["ts"]) != message["ts"]:
        link += f"?thread_ts={message['thread_ts']}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}
