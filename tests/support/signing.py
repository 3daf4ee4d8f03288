"""Signed request bodies shaped exactly like the ones Slack sends to the app.

`sign_request` produces the `X-Slack-Request-Timestamp` / `X-Slack-Signature` pair (docs: "Verifying
requests from Slack"); the `*_body` helpers build raw bodies for slash commands (form), Events API
envelopes (JSON) and interactivity payloads (form with one JSON `payload` field), following the
examples on docs.slack.dev. Stdlib only.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "testteam"
API_APP_ID = "A0INCIDENT"
BOT_USER_ID = "UBOT"
VERIFICATION_TOKEN = "verification-token"  # the deprecated verification token Slack still sends
# Slack's response_urls live on hooks.slack.com; tests must never post there. Bodies built without a
# fake's response_url get this loopback address where nothing listens (the discard port), so a post
# fails at once on this machine; the bot-server helpers pass their fake Slack's response_url instead.
DEFAULT_RESPONSE_URL = "http://127.0.0.1:9/commands/T0TEST/1234567890/fakeResponseUrlToken"

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

_ids = itertools.count(1)


# --------------------------------------------------------------------------- signing


def sign_request(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Return Slack's signature headers for `body` (v0 HMAC-SHA256 over `v0:{ts}:{body}`)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def signed_headers(
    signing_secret: str, body: str, *, content_type: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Signature headers plus the `Content-Type` Slack uses for this kind of body."""
    if content_type is None:
        content_type = JSON_CONTENT_TYPE if body.lstrip().startswith("{") else FORM_CONTENT_TYPE
    return {"Content-Type": content_type, **sign_request(signing_secret, body, timestamp)}


# --------------------------------------------------------------------------- ids


def new_trigger_id(issued_at: float | None = None) -> str:
    """A fresh trigger id in Slack's `<digits>.<digits>.<hex>` shape.

    Its first field is the issue time in milliseconds (default now), so the fake Slack can expire it
    after 3 s as Slack does.
    """
    issued = time.time() if issued_at is None else issued_at
    return f"{int(issued * 1000)}.{738474920 + next(_ids)}.{secrets.token_hex(16)}"


def new_event_id() -> str:
    """A fresh, unique Events API `event_id` (e.g. `Ev0000000001AB`)."""
    return f"Ev{next(_ids):010d}{secrets.token_hex(2).upper()}"


# --------------------------------------------------------------------------- slash commands


def slash_command_body(
    text: str,
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0GENERAL",
    channel_name: str = "general",
    command: str = "/incident",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    trigger_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    api_app_id: str = API_APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> str:
    """Form-encoded slash command body with every field Slack sends (non-Grid workspace)."""
    fields = {
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return urlencode(fields)


# --------------------------------------------------------------------------- Events API


def event_callback_body(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    event_time: int | None = None,
    authorized_user_id: str = BOT_USER_ID,
    token: str = VERIFICATION_TOKEN,
) -> str:
    """JSON `event_callback` envelope around `event`, as the Events API delivers it."""
    envelope = {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": authorized_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }
    return json.dumps(envelope)


def url_verification_body(challenge: str, *, token: str = VERIFICATION_TOKEN) -> str:
    """The `url_verification` handshake Slack sends to a new Events request URL."""
    return json.dumps({"token": token, "challenge": challenge, "type": "url_verification"})


def _event_ts() -> str:
    now = time.time()
    return f"{int(now)}.{int((now % 1) * 1_000_000):06d}"


def reaction_added_event(
    reaction: str,
    *,
    user: str = "U0ALICE",
    channel: str = "C0GENERAL",
    ts: str,
    item_user: str | None = None,
    event_ts: str | None = None,
) -> dict[str, Any]:
    """A `reaction_added` event on a message (`item_user` is omitted when None, as Slack does)."""
    event: dict[str, Any] = {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": event_ts or _event_ts(),
    }
    if item_user is not None:
        event["item_user"] = item_user
    return event


def app_home_opened_event(user: str = "U0ALICE", *, tab: str = "home") -> dict[str, Any]:
    """An `app_home_opened` event."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user[1:]}",
        "tab": tab,
        "event_ts": _event_ts(),
    }


def member_joined_channel_event(
    user: str, channel: str, *, inviter: str | None = None, channel_type: str = "C"
) -> dict[str, Any]:
    """A `member_joined_channel` event (`channel_type` is `C` public, `G` private)."""
    event: dict[str, Any] = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": channel_type,
        "team": TEAM_ID,
        "event_ts": _event_ts(),
    }
    if inviter is not None:
        event["inviter"] = inviter
    return event


# --------------------------------------------------------------------------- interactivity


def _payload_form(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _team(team_id: str) -> dict[str, str]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def text_input(value: str | None) -> dict[str, Any]:
    """`state.values` entry of a `plain_text_input`."""
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    """`state.values` entry of a `static_select` (None means nothing chosen)."""
    option = None
    if value is not None:
        option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def users_select(user_id: str | None) -> dict[str, Any]:
    """`state.values` entry of a `users_select`."""
    return {"type": "users_select", "selected_user": user_id}


def multi_users_select(user_ids: list[str]) -> dict[str, Any]:
    """`state.values` entry of a `multi_users_select`."""
    return {"type": "multi_users_select", "selected_users": list(user_ids)}


def modal_view(
    callback_id: str,
    *,
    values: dict[str, dict[str, dict[str, Any]]] | None = None,
    private_metadata: str = "",
    view_id: str = "V0MODAL",
    title: str = "Incident",
    blocks: list[dict[str, Any]] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
) -> dict[str, Any]:
    """A modal view object as it appears inside interactivity payloads."""
    return {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": values or {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "title": {"type": "plain_text", "text": title, "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": "BBOT",
    }


def block_actions_body(
    action_id: str,
    *,
    value: str | None = None,
    block_id: str = "actions",
    action_type: str = "button",
    text: str = "Button",
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    team_id: str = TEAM_ID,
    channel_id: str = "C0GENERAL",
    channel_name: str = "general",
    message_ts: str = "1732458000.000100",
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    state_values: dict[str, dict[str, dict[str, Any]]] | None = None,
    trigger_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    api_app_id: str = API_APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> str:
    """Form body (`payload=<json>`) of a `block_actions` click.

    Without `view` the action comes from a message in `channel_id` (container `message`, with
    `channel`, `message` and `response_url`); with `view` it comes from that modal/home view
    (container `view`, no channel or response_url, as Slack sends it).
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": _event_ts(),
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": text, "emoji": True}
        if value is not None:
            action["value"] = value
    elif value is not None:
        action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": state_values or {}},
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0MODAL")}
        payload["view"] = view
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name}
        payload["message"] = message or {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": "BBOT",
            "ts": message_ts,
            "text": "",
            "blocks": [],
        }
        payload["response_url"] = response_url
    return _payload_form(payload)


def view_submission_body(
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]] | None = None,
    *,
    private_metadata: str = "",
    view_id: str = "V0MODAL",
    title: str = "Incident",
    blocks: list[dict[str, Any]] | None = None,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    response_urls: list[dict[str, str]] | None = None,
    api_app_id: str = API_APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> str:
    """Form body (`payload=<json>`) of a modal `view_submission`.

    `values` is `state.values`: `{block_id: {action_id: text_input("...")}}`.
    """
    view = modal_view(
        callback_id,
        values=values,
        private_metadata=private_metadata,
        view_id=view_id,
        title=title,
        blocks=blocks,
        team_id=team_id,
        api_app_id=api_app_id,
    )
    payload = {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_form(payload)
