"""views.open, views.push, views.publish, views.update: modals and App Home, with trigger_id checks."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from tests.support.fake_slack.blocks import check_blocks, invalid_arguments, text_of
from tests.support.fake_slack.constants import (
    APP_ID,
    BOT_ID,
    TEAM_ID,
    TRIGGER_LIFETIME_SECONDS,
)
from tests.support.fake_slack.params import required
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import Workspace

_TRIGGER_SHAPE = re.compile(r"^(\d+)\.(\d+)\.([0-9a-f]+)$")


def _check_plain_text(view: dict[str, Any], key: str, required: bool) -> None:
    obj = view.get(key)
    if obj is None and not required:
        return
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        raise invalid_arguments(f"must be a plain_text object [json-pointer:/view/{key}]")
    if len(text_of(obj)) > 24:
        raise invalid_arguments(f"must be less than 25 characters [json-pointer:/view/{key}/text]")


def _checked_view(raw: Any, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Validate a view payload: type, modal title/submit/close, metadata sizes and blocks."""
    if not isinstance(raw, dict):
        raise invalid_arguments("failed to match all allowed schemas [json-pointer:/view]")
    if raw.get("type") not in kinds:
        raise invalid_arguments(f"type must be one of {list(kinds)} [json-pointer:/view/type]")
    if raw["type"] == "modal":
        _check_plain_text(raw, "title", required=True)
        _check_plain_text(raw, "submit", required=False)
        _check_plain_text(raw, "close", required=False)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in raw.get("blocks") or [])
        if has_input and "submit" not in raw:
            raise invalid_arguments("submit is required when an input block is present [json-pointer:/view]")
    if len(str(raw.get("private_metadata", ""))) > 3000:
        raise invalid_arguments("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(raw.get("callback_id", ""))) > 255:
        raise invalid_arguments("must be less than 256 characters [json-pointer:/view/callback_id]")
    if "blocks" not in raw:
        raise invalid_arguments("missing required field: blocks [json-pointer:/view]")
    check_blocks(raw["blocks"], 100)
    return raw


def _store_view(
    ws: Workspace, raw: dict[str, Any], view_id: str | None = None, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    view_id = view_id or ws.new_id("V")
    view = {
        "callback_id": "",
        "private_metadata": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        **copy.deepcopy(raw),
        "id": view_id,
        "team_id": TEAM_ID,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
        "app_installed_team_id": TEAM_ID,
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{next(ws.view_hashes):08d}",
        "root_view_id": previous["root_view_id"] if previous else view_id,
        "previous_view_id": None,
    }
    ws.views[view_id] = view
    return view


def trigger_issued_at(trigger: str) -> float | None:
    """The UNIX time a `signing.new_trigger_id` was issued (its first field in ms), None if unknown."""
    match = _TRIGGER_SHAPE.match(trigger)
    if match is None:
        return None
    first = int(match.group(1))
    return first / 1000 if first >= 10**12 else None


def _open_view(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    trigger = str(params.get("trigger_id") or "")
    if not _TRIGGER_SHAPE.match(trigger):
        raise SlackError("invalid_trigger_id")
    if trigger in ws.used_triggers:
        raise SlackError("exchanged_trigger_id")
    issued = trigger_issued_at(trigger)
    if issued is not None and (ws.request_time or time.time()) - issued > TRIGGER_LIFETIME_SECONDS:
        raise SlackError("expired_trigger_id")
    raw = _checked_view(required(params, "view"), ("modal",))
    ws.used_triggers.add(trigger)
    return {"view": copy.deepcopy(_store_view(ws, raw))}


@api_method("views.open")
def _views_open(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _open_view(ws, params)


@api_method("views.push")
def _views_push(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _open_view(ws, params)


@api_method("views.publish")
def _views_publish(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    user_id = required(params, "user_id", "user_not_found")
    ws.known_user(user_id)
    raw = _checked_view(required(params, "view"), ("home",))
    previous = ws.home_views.get(user_id)
    if previous and params.get("hash") and params["hash"] != previous["hash"]:
        raise SlackError("hash_conflict")
    view = _store_view(ws, raw, previous["id"] if previous else None)
    ws.home_views[user_id] = view
    return {"view": copy.deepcopy(view)}


@api_method("views.update")
def _views_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    view_id, external_id = params.get("view_id"), params.get("external_id")
    if view_id:
        previous = ws.views.get(view_id)
    else:
        previous = next((v for v in ws.views.values() if external_id and v["external_id"] == external_id), None)
    if previous is None:
        raise SlackError("not_found")
    if params.get("hash") and params["hash"] != previous["hash"]:
        raise SlackError("hash_conflict")
    raw = _checked_view(required(params, "view"), ("modal", "home"))
    return {"view": copy.deepcopy(_store_view(ws, raw, previous["id"], previous))}
