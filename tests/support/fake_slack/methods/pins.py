"""pins.add, pins.remove, pins.list."""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.support.fake_slack.constants import (
    BOT_USER_ID,
)
from tests.support.fake_slack.params import required
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import Workspace


@api_method("pins.add")
def _pins_add(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """In an archived channel: ``restricted_action`` ("does not have permission to add pins to the channel"),
    a code docs.slack.dev documents for pins.add (``is_archived`` is not among them)."""
    try:
        channel = ws.bot_channel(params)
    except SlackError as exc:
        if exc.error == "is_archived":
            raise SlackError("restricted_action") from exc
        raise
    message = ws.message_at(channel, required(params, "timestamp", "no_item_specified"))
    if message["ts"] in channel.pins:
        raise SlackError("already_pinned")
    channel.pins[message["ts"]] = int(time.time())
    message.setdefault("pinned_to", []).append(channel.id)
    return {}


@api_method("pins.remove")
def _pins_remove(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.bot_channel(params)
    message = ws.message_at(channel, required(params, "timestamp", "no_item_specified"))
    if channel.pins.pop(message["ts"], None) is None:
        raise SlackError("no_pin")
    message.pop("pinned_to", None)
    return {}


@api_method("pins.list")
def _pins_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.bot_channel(params, writing=False)
    items = [
        {
            "type": "message",
            "channel": channel.id,
            "created": created,
            "created_by": BOT_USER_ID,
            "message": copy.deepcopy(ws.message_at(channel, ts)),
        }
        for ts, created in channel.pins.items()
    ]
    return {"items": items}
