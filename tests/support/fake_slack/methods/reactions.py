"""reactions.add, reactions.remove."""

from __future__ import annotations

from typing import Any

from tests.support.fake_slack.constants import (
    BOT_USER_ID,
)
from tests.support.fake_slack.params import required
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import Workspace


def _reacted_message(ws: Workspace, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    channel = ws.bot_channel(params)
    message = ws.message_at(channel, required(params, "timestamp", "no_item_specified"))
    name = str(required(params, "name", "invalid_name")).strip(":")
    return message, name


@api_method("reactions.add")
def _reactions_add(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    message, name = _reacted_message(ws, params)
    reactions = message.setdefault("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if entry is None:
        entry = {"name": name, "users": [], "count": 0}
        reactions.append(entry)
    if BOT_USER_ID in entry["users"]:
        raise SlackError("already_reacted")
    entry["users"].append(BOT_USER_ID)
    entry["count"] += 1
    return {}


@api_method("reactions.remove")
def _reactions_remove(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    message, name = _reacted_message(ws, params)
    entry = next((r for r in message.get("reactions", []) if r["name"] == name), None)
    if entry is None or BOT_USER_ID not in entry["users"]:
        raise SlackError("no_reaction")
    entry["users"].remove(BOT_USER_ID)
    entry["count"] -= 1
    if not entry["count"]:
        message["reactions"].remove(entry)
    return {}
