"""An in-process fake of the Slack Web API for tests (stdlib only).

`FakeSlack` runs a `ThreadingHTTPServer` on 127.0.0.1 (random port) that answers the Web API methods
incidentbot uses the way Slack documents them: HTTP 200 with `{"ok": true, ...}` or
`{"ok": false, "error": "<code>"}`, with state (users, channels, messages, pins, reactions, views,
files) so answers stay realistic. Point `WebClient(base_url=fake.base_url)` at it.

Besides `/api/<method>` it serves two non-API endpoints, recorded as calls too:

* `/upload/v1/<file_id>`: the `upload_url` of `files.getUploadURLExternal`; recorded as method
  `"upload_url"` with params `{"file_id", "length"}`.
* `/response/<name>`: a `response_url` (see `FakeSlack.response_url`); recorded as method
  `"response_url"` with the posted JSON as params. Like Slack, a response_url takes 5 posts; the
  6th gets HTTP 404 `used_url`.

Deliberate simplifications are noted on the handlers (e.g. `conversations.invite`).

The fake answers from Slack's method reference (`tests/support/slack_methods.json`: arguments and
documented error codes of the methods incidentbot calls, from slack-ruby/slack-api-ref, MIT):

* `fail_next` refuses an error code the method does not document, so a test cannot invent one;
  every documented code can be injected. `fail_next_raw` sends a non-JSON body (a proxy's HTML 502).
* every call to a documented method is checked against its argument list: `argument_problems()`
  lists undocumented argument names and missing required ones; `nonconforming_answers()` lists
  answers whose error code the method does not document (a bug in the fake).
* `chat.postMessage` truncates `text` beyond 40,000 characters, as Slack does (no `msg_too_long`).
* a `trigger_id` from `tests.support.signing.new_trigger_id` carries its issue time and expires
  after 3 s (`expired_trigger_id`); one not in Slack's `<digits>.<digits>.<hex>` shape is
  `invalid_trigger_id`.
* `limit_channel_rate(per_second)` answers `chat.postMessage` beyond about 1 message per second per
  channel with HTTP 429 and `Retry-After`, like Slack's special per-channel limit.
* `refuse_invite(user, error)` makes `conversations.invite` refuse one person with a documented code.
"""

from __future__ import annotations

import copy
import email
import email.policy
import itertools
import json
import math
import random
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEST"
TEAM_NAME = "Test Team"
TEAM_DOMAIN = "testteam"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "incidentbot"
APP_ID = "A0INCIDENT"
GENERAL_CHANNEL_ID = "C0GENERAL"
DEFAULT_USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol", "U0DAVE": "dave", "U0ERIN": "erin"}

UPLOAD_METHOD = "upload_url"
RESPONSE_URL_METHOD = "response_url"
RESPONSE_URL_MAX_USES = 5

# Parameters that hold free text: never JSON-decoded even when they look like JSON.
_FREE_TEXT_KEYS = frozenset(
    {
        "text",
        "topic",
        "purpose",
        "initial_comment",
        "title",
        "name",
        "filename",
        "alt_txt",
        "query",
        "fallback",
        "markdown_text",
        "reason",
        "trigger_id",
        "hash",
        "private_metadata",
    }
)
_STATUS_ERRORS = {429: "ratelimited", 500: "fatal_error", 503: "service_unavailable"}

GRANTED_SCOPES = (
    "commands",
    "channels:manage",
    "channels:join",
    "channels:history",
    "chat:write",
    "pins:write",
    "reactions:read",
    "usergroups:read",
    "files:write",
)
"""The bot token's scopes in the fake workspace by default: what manifest.yml asks for (copied here, so a
test can compare the two). Slack reports a token's granted scopes in the ``x-oauth-scopes`` header of
every Web API answer to a call made with it, comma-separated (Slack, "Web API basics": response headers
``x-oauth-scopes`` and ``x-accepted-oauth-scopes``; bolt reads it from auth.test as ``bot_scopes``)."""

_TRANSPORT_ERRORS = frozenset({"not_authed", "invalid_auth", "unknown_method", "invalid_json", "json_not_object"})
"""Answered before a method's own checks: wrong token, unknown method, unreadable body."""
METHODS_FILE = Path(__file__).with_name("slack_methods.json")
DOCUMENTED: dict[str, dict[str, Any]] = json.loads(METHODS_FILE.read_text(encoding="utf-8"))["methods"]
"""Slack's method reference for the methods incidentbot calls: {method: {"args": {...}, "errors": {code: text}}}."""
_NOT_ARGUMENTS = frozenset({"token"})
"""Sent by every client (the token may travel in the body instead of the Authorization header)."""
_SDK_ADDED = {"auth.test": frozenset({"team_id"})}
"""Arguments slack_sdk adds itself: bolt's per-request client carries the request's team_id into
every call it makes (its own auth.test); incidentbot's calls go through a client without one."""
MESSAGE_TEXT_LIMIT = 40_000
"""chat.postMessage truncates `text` beyond 40,000 characters (Slack's method reference, "Truncating content")."""
TRIGGER_LIFETIME_SECONDS = 3.0
"""A trigger_id can open a modal within 3 s of the interaction (Slack: "Handling user interaction")."""
_TRIGGER_SHAPE = re.compile(r"^(\d+)\.(\d+)\.([0-9a-f]+)$")


# =========================================================================== public records


class Headers(dict[str, str]):
    """Request headers with case-insensitive lookup (keys are stored lower-cased)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received (recorded after it was answered, before the reply is sent)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    response: dict[str, Any] | None = None
    path: str = ""

    @property
    def ok(self) -> bool:
        """True when the fake answered `ok: true` (or a plain 200 for non-API endpoints)."""
        return self.status == 200 and (self.response is None or bool(self.response.get("ok")))

    @property
    def error(self) -> str | None:
        """The error code answered, if any."""
        return None if self.response is None else self.response.get("error")

    def describe(self) -> str:
        """A one-line summary for assertion messages."""
        outcome = "ok" if self.ok else f"{self.status} {self.error}"
        return f"{self.method} -> {outcome} {_short(self.params)}"


@dataclass(frozen=True)
class UploadedFile:
    """A file shared through the files v2 flow (`files.completeUploadExternal`)."""

    file_id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    initial_comment: str | None
    thread_ts: str | None = None


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


class SlackError(Exception):
    """An `ok: false` answer: `error` code plus extra top-level response fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    raw_body: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    extra: dict[str, Any] | None = None


@dataclass
class _PendingFile:
    file_id: str
    filename: str
    length: int
    content: bytes | None = None


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# =========================================================================== parameter parsing


def _maybe_json(key: str, value: Any) -> Any:
    """Decode a JSON-encoded list/dict sent inside a form value (blocks, files, view, ...)."""
    if key in _FREE_TEXT_KEYS or not isinstance(value, str) or value[:1] not in ("[", "{"):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, list | dict) else value


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    message = email.message_from_bytes(raw, policy=email.policy.HTTP)
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        params[str(name)] = content if part.get_filename() else content.decode("utf-8", "replace")
    return params


def parse_params(query: str, body: bytes, content_type: str | None) -> dict[str, Any]:
    """Merge query string and body (form, JSON or multipart) the way Slack reads arguments.

    Raises `SlackError("invalid_json")` for a JSON body that does not parse to an object.
    """
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    ctype = (content_type or "").split(";")[0].strip().lower()
    if body:
        if ctype == "application/json":
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise SlackError("invalid_json") from exc
            if not isinstance(data, dict):
                raise SlackError("json_not_object")
            params.update(data)
        elif ctype == "multipart/form-data":
            params.update(_parse_multipart(content_type or "", body))
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {k: _maybe_json(k, v) for k, v in params.items()}


def _bearer(headers: Headers) -> str | None:
    auth = headers.get("authorization") or ""
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _flag(params: dict[str, Any], key: str) -> bool:
    return params.get(key) in (True, 1, "1", "true", "True")


def _int(params: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(params.get(key, default))
    except (TypeError, ValueError) as exc:
        raise SlackError("invalid_arguments") from exc


def _required(params: dict[str, Any], key: str, error: str = "invalid_arguments") -> Any:
    value = params.get(key)
    if value in (None, ""):
        raise SlackError(error, response_metadata={"messages": [f"[ERROR] missing required field: {key}"]})
    return value


def _ts_value(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation as exc:
        raise SlackError("invalid_ts_latest") from exc


def _user_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [str(u).strip() for u in items if str(u).strip()]


def _page(items: list[Any], params: dict[str, Any], default_limit: int) -> tuple[list[Any], str]:
    """Cursor pagination: cursor is the offset as a string, "" when done."""
    limit = _int(params, "limit", default_limit) or default_limit
    start = _int(params, "cursor", 0) if params.get("cursor") else 0
    page = items[start : start + limit]
    return page, str(start + limit) if start + limit < len(items) else ""


# =========================================================================== Block Kit limits


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _element_errors(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or "type" not in element:
        return [f"missing required field: type [json-pointer:{where}]"]
    errors = []
    if len(str(element.get("action_id", ""))) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")
    if element["type"] == "button" and len(_text(element.get("text"))) > 75:
        errors.append(f"must be less than 76 characters [json-pointer:{where}/text/text]")
    return errors


def _section_errors(block: dict[str, Any], where: str) -> list[str]:
    errors = []
    if "text" not in block and "fields" not in block:
        errors.append(f"must provide text or fields [json-pointer:{where}]")
    if len(_text(block.get("text"))) > 3000:
        errors.append(f"must be less than 3001 characters [json-pointer:{where}/text/text]")
    fields = block.get("fields") or []
    if len(fields) > 10:
        errors.append(f"must provide no more than 10 items [json-pointer:{where}/fields]")
    for i, item in enumerate(fields):
        if len(_text(item)) > 2000:
            errors.append(f"must be less than 2001 characters [json-pointer:{where}/fields/{i}/text]")
    if "accessory" in block:
        errors.extend(_element_errors(block["accessory"], f"{where}/accessory"))
    return errors


def _block_errors(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or not block.get("type"):
        return [f"missing required field: type [json-pointer:{where}]"]
    errors = []
    if len(str(block.get("block_id", ""))) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
    kind = block["type"]
    if kind == "section":
        errors.extend(_section_errors(block, where))
    elif kind == "header":
        if len(_text(block.get("text"))) > 150:
            errors.append(f"must be less than 151 characters [json-pointer:{where}/text/text]")
        if not isinstance(block.get("text"), dict) or block["text"].get("type") != "plain_text":
            errors.append(f"must be a plain_text object [json-pointer:{where}/text]")
    elif kind == "actions":
        elements = block.get("elements") or []
        if len(elements) > 25:
            errors.append(f"must provide no more than 25 items [json-pointer:{where}/elements]")
        for i, element in enumerate(elements):
            errors.extend(_element_errors(element, f"{where}/elements/{i}"))
    elif kind == "context" and len(block.get("elements") or []) > 10:
        errors.append(f"must provide no more than 10 items [json-pointer:{where}/elements]")
    elif kind == "input" and "element" in block:
        errors.extend(_element_errors(block["element"], f"{where}/element"))
    return errors


def blocks_errors(blocks: Any, max_blocks: int) -> list[str]:
    """Block Kit violations of `blocks` in Slack's message format (empty list when valid)."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors = []
    if len(blocks) > max_blocks:
        errors.append(f"must provide no more than {max_blocks} items [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        errors.extend(_block_errors(block, f"/blocks/{i}"))
    return errors


def _check_blocks(blocks: Any, max_blocks: int) -> None:
    errors = blocks_errors(blocks, max_blocks)
    if errors:
        raise SlackError(
            "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )


def _invalid_arguments(message: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


# =========================================================================== workspace state

_Handler = Callable[["Workspace", dict[str, Any]], dict[str, Any]]
_API: dict[str, _Handler] = {}


def _api(name: str) -> Callable[[_Handler], _Handler]:
    def register(func: _Handler) -> _Handler:
        _API[name] = func
        return func

    return register


class Workspace:
    """The fake workspace and the Web API semantics; not thread-safe (FakeSlack locks around it)."""

    def __init__(self, ts_base: int = 1732458000, seed: bool = True) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.files: dict[str, _PendingFile] = {}
        self.uploaded: list[UploadedFile] = []
        self.used_triggers: set[str] = set()
        self.invite_refusals: dict[str, str] = {}
        self.request_time: float = 0.0
        self.channel_rate: float = 0.0
        self.channel_posts: dict[str, float] = {}
        self.upload_root = ""
        self._ts = ts_base * 1_000_000
        self._ids = itertools.count(1)
        self._hashes = itertools.count(1)
        if seed:
            self._seed()

    def _seed(self) -> None:
        self.add_user(BOT_USER_ID, BOT_NAME, is_bot=True)
        for user_id, name in DEFAULT_USERS.items():
            self.add_user(user_id, name)
        self.add_channel(GENERAL_CHANNEL_ID, "general", members=list(DEFAULT_USERS))

    # ------------------------------------------------------------------ ids and seeding

    def new_id(self, prefix: str) -> str:
        return f"{prefix}1{next(self._ids):08d}"

    def next_ts(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def _bump_ts(self, ts: str) -> None:
        micros = int(_ts_value(ts) * 1_000_000)
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
        if is_bot:
            user["profile"]["bot_id"] = BOT_ID
        self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, handle: str, users: list[str], name: str | None = None) -> None:
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
        self._attach_to_thread(channel, message, thread_ts)
        channel.messages.append(message)
        return message

    def _attach_to_thread(self, channel: Channel, message: dict[str, Any], thread_ts: str | None) -> None:
        if not thread_ts:
            return
        message["thread_ts"] = thread_ts
        parent = self._find_message(channel, thread_ts)
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

    def _bot_channel(self, params: dict[str, Any], key: str = "channel", writing: bool = True) -> Channel:
        channel = self.resolve_channel(_required(params, key, "channel_not_found"))
        if writing and channel.is_archived:
            raise SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    @staticmethod
    def _find_message(channel: Channel, ts: Any) -> dict[str, Any] | None:
        return next((m for m in channel.messages if m["ts"] == str(ts)), None)

    def _message(self, channel: Channel, ts: Any) -> dict[str, Any]:
        message = self._find_message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _user(self, user_id: Any) -> dict[str, Any]:
        if user_id not in self.users:
            raise SlackError("user_not_found")
        return self.users[user_id]

    def channel_object(self, channel: Channel) -> dict[str, Any]:
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


# ---------------------------------------------------------------------- auth and users


@_api("auth.test")
def _auth_test(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": BOT_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


@_api("users.info")
def _users_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return {"user": copy.deepcopy(ws._user(_required(params, "user", "user_not_found")))}


@_api("users.list")
def _users_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    page, cursor = _page(list(ws.users.values()), params, 200)
    return {"members": copy.deepcopy(page), "response_metadata": {"next_cursor": cursor}}


@_api("usergroups.list")
def _usergroups_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    groups = copy.deepcopy(list(ws.usergroups.values()))
    if not _flag(params, "include_users"):
        for group in groups:
            group.pop("users")
    return {"usergroups": groups}


@_api("usergroups.users.list")
def _usergroups_users_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    group = ws.usergroups.get(_required(params, "usergroup", "no_such_subteam"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group["users"])}


# ---------------------------------------------------------------------- conversations


def _check_channel_name(name: str) -> None:
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > 80:
        raise SlackError("invalid_name_maxlength")
    if any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-_" for c in name):  # ASCII only: not ², not é
        raise SlackError("invalid_name_specials")
    if all(c in "-_" for c in name):
        raise SlackError("invalid_name_punctuation")


@_api("conversations.create")
def _conversations_create(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params.get("name") or "")
    _check_channel_name(name)
    if any(c.name == name for c in ws.channels.values()):
        raise SlackError("name_taken")
    channel = ws.add_channel(None, name, is_private=_flag(params, "is_private"))
    return {"channel": ws.channel_object(channel)}


@_api("conversations.info")
def _conversations_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(_required(params, "channel", "channel_not_found"))
    if channel.is_private and BOT_USER_ID not in channel.members:
        raise SlackError("channel_not_found")
    return {"channel": ws.channel_object(channel)}


@_api("conversations.members")
def _conversations_members(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(_required(params, "channel", "channel_not_found"))
    page, cursor = _page(list(channel.members), params, 100)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


@_api("conversations.join")
def _conversations_join(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(_required(params, "channel", "channel_not_found"))
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


@_api("conversations.invite")
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
    channel = ws._bot_channel(params)
    user_ids = _user_list(params.get("users"))
    if not user_ids:
        raise SlackError("no_user")
    problems = {u: e for u in user_ids if (e := _invite_error(ws, channel, u))}
    fatal = [u for u in user_ids if problems.get(u, "already_in_channel") != "already_in_channel"]
    invitable = [u for u in user_ids if u not in problems]
    forced = _flag(params, "force")
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
    channel = ws._bot_channel(params)
    value = str(params.get(attribute) or "")
    if len(value) > 250:
        raise SlackError("too_long")
    setattr(channel, attribute, value)
    return {"channel": ws.channel_object(channel)}


@_api("conversations.setTopic")
def _conversations_set_topic(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _set_text_attribute(ws, params, "topic")


@_api("conversations.setPurpose")
def _conversations_set_purpose(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _set_text_attribute(ws, params, "purpose")


@_api("conversations.archive")
def _conversations_archive(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(_required(params, "channel", "channel_not_found"))
    if channel.is_archived:
        raise SlackError("already_archived")
    if BOT_USER_ID not in channel.members:
        raise SlackError("not_in_channel")
    channel.is_archived = True
    return {}


def _in_window(ts: Decimal, params: dict[str, Any]) -> bool:
    inclusive = _flag(params, "inclusive")
    if params.get("latest") not in (None, ""):
        latest = _ts_value(params["latest"])
        if ts > latest or (ts == latest and not inclusive):
            return False
    if params.get("oldest") not in (None, ""):
        oldest = _ts_value(params["oldest"])
        if ts < oldest or (ts == oldest and not inclusive):
            return False
    return True


@_api("conversations.history")
def _conversations_history(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Top-level messages newest first (thread replies are left out, as Slack does)."""
    channel = ws._bot_channel(params, writing=False)
    top = [m for m in channel.messages if m.get("thread_ts", m["ts"]) == m["ts"]]
    chosen = sorted(
        (m for m in top if _in_window(_ts_value(m["ts"]), params)),
        key=lambda m: _ts_value(m["ts"]),
        reverse=True,
    )
    page, cursor = _page(chosen, params, 100)
    return {
        "messages": copy.deepcopy(page),
        "has_more": bool(cursor),
        "pin_count": len(channel.pins),
        "response_metadata": {"next_cursor": cursor},
    }


@_api("conversations.replies")
def _conversations_replies(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """The parent then its replies, oldest first."""
    channel = ws._bot_channel(params, writing=False)
    parent = ws._find_message(channel, _required(params, "ts", "thread_not_found"))
    if parent is None:
        raise SlackError("thread_not_found")
    thread = [m for m in channel.messages if m is parent or m.get("thread_ts") == parent["ts"]]
    thread.sort(key=lambda m: _ts_value(m["ts"]))
    page, cursor = _page(thread, params, 1000)
    return {
        "messages": copy.deepcopy(page),
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


# ---------------------------------------------------------------------- chat


def _check_content(params: dict[str, Any], require: bool = True, truncates: bool = False) -> None:
    """Slack's checks of a message; `truncates`: long text is cut (chat.postMessage), not refused."""
    text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
    if require and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if blocks not in (None, ""):
        _check_blocks(blocks, 50)
    if text is not None and len(str(text)) > MESSAGE_TEXT_LIMIT:
        if not truncates:
            raise SlackError("msg_too_long")
        params["text"] = str(text)[:MESSAGE_TEXT_LIMIT]
    if isinstance(attachments, list) and len(attachments) > 100:
        raise SlackError("too_many_attachments")


def _bot_message(ws: Workspace, params: dict[str, Any], ts: str) -> dict[str, Any]:
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


@_api("chat.postMessage")
def _chat_post_message(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws._bot_channel(params)
    content = dict(params)
    _check_content(content, truncates=True)
    message = _bot_message(ws, content, ws.next_ts())
    ws._attach_to_thread(channel, message, params.get("thread_ts") or None)
    channel.messages.append(message)
    return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}


@_api("chat.update")
def _chat_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws._bot_channel(params)
    message = ws._message(channel, _required(params, "ts", "message_not_found"))
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


@_api("chat.delete")
def _chat_delete(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws._bot_channel(params)
    message = ws._message(channel, _required(params, "ts", "message_not_found"))
    if message.get("user") != BOT_USER_ID:
        raise SlackError("cant_delete_message")
    channel.messages.remove(message)
    return {"channel": channel.id, "ts": message["ts"]}


@_api("chat.postEphemeral")
def _chat_post_ephemeral(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws._bot_channel(params)
    user = _required(params, "user", "user_not_found")
    ws._user(user)
    if user not in channel.members:
        raise SlackError("user_not_in_channel")
    _check_content(params)
    ts = ws.next_ts()
    ws.ephemerals.append({**_bot_message(ws, params, ts), "channel": channel.id, "to_user": user})
    return {"message_ts": ts}


@_api("chat.getPermalink")
def _chat_get_permalink(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.resolve_channel(_required(params, "channel", "channel_not_found"))
    message = ws._message(channel, _required(params, "message_ts", "message_not_found"))
    link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts", message["ts"]) != message["ts"]:
        link += f"?thread_ts={message['thread_ts']}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


# ---------------------------------------------------------------------- pins and reactions


@_api("pins.add")
def _pins_add(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws._bot_channel(params)
    message = ws._message(channel, _required(params, "timestamp", "no_item_specified"))
    if message["ts"] in channel.pins:
        raise SlackError("already_pinned")
    channel.pins[message["ts"]] = int(time.time())
    message.setdefault("pinned_to", []).append(channel.id)
    return {}


@_api("pins.remove")
def _pins_remove(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws._bot_channel(params)
    message = ws._message(channel, _required(params, "timestamp", "no_item_specified"))
    if channel.pins.pop(message["ts"], None) is None:
        raise SlackError("no_pin")
    message.pop("pinned_to", None)
    return {}


@_api("pins.list")
def _pins_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws._bot_channel(params, writing=False)
    items = [
        {
            "type": "message",
            "channel": channel.id,
            "created": created,
            "created_by": BOT_USER_ID,
            "message": copy.deepcopy(ws._message(channel, ts)),
        }
        for ts, created in channel.pins.items()
    ]
    return {"items": items}


def _reacted_message(ws: Workspace, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    channel = ws._bot_channel(params)
    message = ws._message(channel, _required(params, "timestamp", "no_item_specified"))
    name = str(_required(params, "name", "invalid_name")).strip(":")
    return message, name


@_api("reactions.add")
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


@_api("reactions.remove")
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


# ---------------------------------------------------------------------- views


def _check_plain_text(view: dict[str, Any], key: str, required: bool) -> None:
    obj = view.get(key)
    if obj is None and not required:
        return
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        raise _invalid_arguments(f"must be a plain_text object [json-pointer:/view/{key}]")
    if len(_text(obj)) > 24:
        raise _invalid_arguments(f"must be less than 25 characters [json-pointer:/view/{key}/text]")


def _checked_view(raw: Any, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Validate a view payload: type, modal title/submit/close, metadata sizes and blocks."""
    if not isinstance(raw, dict):
        raise _invalid_arguments("failed to match all allowed schemas [json-pointer:/view]")
    if raw.get("type") not in kinds:
        raise _invalid_arguments(f"type must be one of {list(kinds)} [json-pointer:/view/type]")
    if raw["type"] == "modal":
        _check_plain_text(raw, "title", required=True)
        _check_plain_text(raw, "submit", required=False)
        _check_plain_text(raw, "close", required=False)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in raw.get("blocks") or [])
        if has_input and "submit" not in raw:
            raise _invalid_arguments("submit is required when an input block is present [json-pointer:/view]")
    if len(str(raw.get("private_metadata", ""))) > 3000:
        raise _invalid_arguments("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(raw.get("callback_id", ""))) > 255:
        raise _invalid_arguments("must be less than 256 characters [json-pointer:/view/callback_id]")
    if "blocks" not in raw:
        raise _invalid_arguments("missing required field: blocks [json-pointer:/view]")
    _check_blocks(raw["blocks"], 100)
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
        "hash": f"{int(time.time())}.{next(ws._hashes):08d}",
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
    raw = _checked_view(_required(params, "view"), ("modal",))
    ws.used_triggers.add(trigger)
    return {"view": copy.deepcopy(_store_view(ws, raw))}


@_api("views.open")
def _views_open(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _open_view(ws, params)


@_api("views.push")
def _views_push(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return _open_view(ws, params)


@_api("views.publish")
def _views_publish(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    user_id = _required(params, "user_id", "user_not_found")
    ws._user(user_id)
    raw = _checked_view(_required(params, "view"), ("home",))
    previous = ws.home_views.get(user_id)
    if previous and params.get("hash") and params["hash"] != previous["hash"]:
        raise SlackError("hash_conflict")
    view = _store_view(ws, raw, previous["id"] if previous else None)
    ws.home_views[user_id] = view
    return {"view": copy.deepcopy(view)}


@_api("views.update")
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
    raw = _checked_view(_required(params, "view"), ("modal", "home"))
    return {"view": copy.deepcopy(_store_view(ws, raw, previous["id"], previous))}


# ---------------------------------------------------------------------- files (v2 flow)


@_api("files.upload")
def _files_upload(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    raise SlackError("method_deprecated")  # retired by Slack: use the files v2 flow


@_api("files.getUploadURLExternal")
def _files_get_upload_url(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    filename = str(_required(params, "filename"))
    length = _int(params, "length", -1)
    if length < 0:
        raise _invalid_arguments("missing required field: length")
    file_id = ws.new_id("F")
    ws.files[file_id] = _PendingFile(file_id, filename, length)
    return {"upload_url": f"{ws.upload_root}{file_id}", "file_id": file_id}


def _file_object(ws: Workspace, pending: _PendingFile, title: str, channel_id: str | None) -> dict[str, Any]:
    return {
        "id": pending.file_id,
        "created": int(time.time()),
        "timestamp": int(time.time()),
        "name": pending.filename,
        "title": title,
        "mimetype": "text/plain",
        "filetype": "text",
        "user": BOT_USER_ID,
        "size": len(pending.content or b""),
        "is_external": False,
        "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{pending.file_id}/{pending.filename}",
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{pending.file_id}/{pending.filename}",
        "channels": [channel_id] if channel_id else [],
    }


@_api("files.completeUploadExternal")
def _files_complete_upload(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Share uploaded files; a file whose bytes were never POSTed answers `file_not_found`."""
    entries = _required(params, "files")
    if not isinstance(entries, list) or not entries:
        raise _invalid_arguments("files must be a JSON array of {id, title}")
    target = params.get("channel_id") or next(iter(_user_list(params.get("channels"))), None)
    channel = ws._bot_channel({"channel": target}) if target else None
    pendings = [ws.files.get(str(entry.get("id"))) for entry in entries]
    if any(p is None or p.content is None for p in pendings):
        raise SlackError("file_not_found")
    comment, thread_ts = params.get("initial_comment"), params.get("thread_ts") or None
    objects = []
    for entry, pending in zip(entries, pendings, strict=True):
        assert pending is not None and pending.content is not None
        title = str(entry.get("title") or pending.filename)
        objects.append(_file_object(ws, pending, title, channel.id if channel else None))
        ws.uploaded.append(
            UploadedFile(
                pending.file_id,
                pending.filename,
                title,
                pending.content,
                channel.id if channel else None,
                comment,
                thread_ts,
            )
        )
    if channel is not None:
        message = _bot_message(ws, {"text": comment or ""}, ws.next_ts())
        message.update(files=copy.deepcopy(objects), upload=True)
        ws._attach_to_thread(channel, message, thread_ts)
        channel.messages.append(message)
    return {"files": objects}


# =========================================================================== HTTP server


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._answer(self.server.fake._handle(self))

    def do_GET(self) -> None:
        self._answer(self.server.fake._handle(self))

    def _answer(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


def _json_reply(status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(data).encode(), headers=headers or {})


class FakeSlack:
    """A fake Slack Web API server; use as a context manager or with `start()` / `stop()`."""

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
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._rate = 0.0
        self._rate_statuses: tuple[int, ...] = (429, 500)
        self._rate_retry_after = 1
        self._rate_exclude: frozenset[str] = frozenset()
        self._rng = random.Random()
        self._response_uses: dict[str, int] = defaultdict(int)
        self.scopes: list[str] = list(GRANTED_SCOPES)
        """The bot token's granted scopes, sent as ``x-oauth-scopes``; a test removes one to play a missing grant."""

    # ------------------------------------------------------------------ lifecycle

    def start(self, port: int = 0) -> FakeSlack:
        """Start serving on 127.0.0.1 with an OS-chosen port, or on ``port``: after `stop()`, the same
        port brings Slack back where the bot expects it (an outage where nothing answers, then recovery)."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", port), _RequestHandler)
        server.fake = self
        self._server = server
        self.root_url = f"http://127.0.0.1:{server.server_address[1]}"
        self.workspace.upload_root = f"{self.root_url}/upload/v1/"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port this fake serves (or served, once stopped) on."""
        return int(self._started_root().rsplit(":", 1)[1])

    @property
    def base_url(self) -> str:
        """Web API base URL for `WebClient(base_url=...)`, ending with `/`."""
        return f"{self._started_root()}/api/"

    def response_url(self, name: str = "default") -> str:
        """A `response_url` served by this fake; posts to it are recorded as method `response_url`."""
        return f"{self._started_root()}/response/{name}"

    def _started_root(self) -> str:
        if not self.root_url:
            raise RuntimeError("FakeSlack is not started")
        return self.root_url

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[RecordedCall]:
        """A snapshot of every recorded call, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one method, oldest first."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Block until `count` calls of `method` (matching `predicate`) were recorded; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self._calls if c.method == method and (predicate is None or predicate(c))]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
            if len(found) >= count:
                return found
            seen = "\n".join(f"  {c.describe()}" for c in self._calls) or "  (none)"
        raise AssertionError(
            f"expected {count} call(s) to {method}{' matching predicate' if predicate else ''} within "
            f"{timeout}s, got {len(found)}. Calls seen:\n{seen}"
        )

    def clear_calls(self) -> None:
        """Forget recorded calls only."""
        with self._lock:
            self._calls.clear()

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
        return sorted(found, key=lambda m: _ts_value(m["ts"]))

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

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `error` (and `Retry-After` on 429), no effect.

        `extra` adds fields to the answer (`missing_scope` comes with `needed` and `provided`).

        Raises ValueError for a code Slack does not document for `method` (see `DOCUMENTED`).
        """
        documented = DOCUMENTED.get(method, {}).get("errors")
        if documented is not None and error not in documented:
            raise ValueError(f"Slack documents no error {error!r} for {method}")
        with self._lock:
            for _ in range(times):
                self._failures[method].append(
                    _Failure(error, status, retry_after if status == 429 else None, extra=extra)
                )

    def fail_next_raw(
        self, method: str, status: int, body: str, content_type: str = "text/html", times: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` with a body that is not Slack JSON (a proxy's error page)."""
        with self._lock:
            for _ in range(times):
                self._failures[method].append(_Failure("", status, None, body.encode(), content_type))

    def refuse_invite(self, user_id: str, error: str) -> None:
        """`conversations.invite` refuses `user_id` with `error` (a documented code) from now on."""
        if error not in DOCUMENTED["conversations.invite"]["errors"]:
            raise ValueError(f"Slack documents no error {error!r} for conversations.invite")
        with self._lock:
            self.workspace.invite_refusals[user_id] = error

    def limit_channel_rate(self, per_second: float = 1.0) -> None:
        """Answer chat.postMessage with 429 beyond `per_second` messages per channel (0 disables)."""
        with self._lock:
            self.workspace.channel_rate = per_second
            self.workspace.channel_posts.clear()

    def argument_problems(self) -> list[str]:
        """Calls to documented methods naming an undocumented argument or missing a required one."""
        with self._lock:
            calls = list(self._calls)
        problems = []
        for call in calls:
            spec = DOCUMENTED.get(call.method)
            if spec is None or "_raw" in call.params:
                continue
            args = spec["args"]
            unknown = sorted(set(call.params) - set(args) - _NOT_ARGUMENTS - _SDK_ADDED.get(call.method, frozenset()))
            missing = sorted(a for a, info in args.items() if info["required"] and call.params.get(a) in (None, ""))
            if unknown or missing:
                problems.append(f"{call.method}: undocumented {unknown}, missing required {missing}")
        return problems

    def nonconforming_answers(self) -> list[str]:
        """Answers of documented methods with an error code Slack does not document for them."""
        with self._lock:
            calls = list(self._calls)
        return [
            f"{c.method} answered {c.error!r}"
            for c in calls
            if c.method in DOCUMENTED
            and c.error
            and c.error not in DOCUMENTED[c.method]["errors"]
            and c.error not in _TRANSPORT_ERRORS
        ]

    def set_failure_rate(
        self,
        rate: float,
        statuses: tuple[int, ...] = (429, 500),
        seed: int | None = None,
        retry_after: int = 1,
        exclude: Iterable[str] = ("auth.test",),
    ) -> None:
        """Fail API calls at random with probability `rate` (status drawn from `statuses`); 0 disables."""
        with self._lock:
            self._rate, self._rate_statuses, self._rate_retry_after = rate, tuple(statuses), retry_after
            self._rate_exclude = frozenset(exclude)
            self._rng = random.Random(seed)

    def delay(self, method: str, seconds: float) -> None:
        """Sleep `seconds` before answering every later call of `method` (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def clear_failures(self) -> None:
        """Drop pending `fail_next` failures, the random failure rate and delays."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self._rate = 0.0

    def _injected_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if queue:
            return queue.popleft()
        if self._rate > 0 and method not in self._rate_exclude and self._rng.random() < self._rate:
            status = self._rng.choice(self._rate_statuses)
            return _Failure(
                _STATUS_ERRORS.get(status, "fatal_error"),
                status,
                self._rate_retry_after if status == 429 else None,
            )
        return None

    # ------------------------------------------------------------------ request handling

    def _handle(self, request: BaseHTTPRequestHandler) -> _Reply:
        split = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = Headers(request.headers.items())
        path = split.path
        if path.startswith("/api/"):
            return self._handle_api(path.removeprefix("/api/"), split.query, body, headers, path)
        if path.startswith("/upload/v1/"):
            return self._handle_upload(path.removeprefix("/upload/v1/"), body, headers, path)
        if path.startswith("/response/"):
            return self._handle_response_url(split.query, body, headers, path)
        return _Reply(404, b"Not Found", "text/plain")

    def _record(self, call: RecordedCall) -> None:
        self._calls.append(call)
        self._changed.notify_all()

    def _pre_answer(self, method: str) -> _Failure | None:
        """Apply the delay for `method` (outside the lock) and draw an injected failure."""
        with self._lock:
            pause = self._delays.get(method, 0.0)
        if pause:
            time.sleep(pause)
        with self._lock:
            return self._injected_failure(method)

    @staticmethod
    def _failure_reply(failure: _Failure) -> tuple[_Reply, dict[str, Any]]:
        if failure.raw_body is not None:
            return _Reply(failure.status, failure.raw_body, failure.content_type), {"ok": False, "error": None}
        data = {"ok": False, "error": failure.error, **(failure.extra or {})}
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        return _json_reply(failure.status, data, headers), data

    def _handle_api(self, method: str, query: str, body: bytes, headers: Headers, path: str) -> _Reply:
        arrived = time.time()  # Slack judges a trigger_id's age when the request arrives, not after a delay
        failure = self._pre_answer(method)
        with self._lock:
            self.workspace.request_time = arrived
            try:
                params = parse_params(query, body, headers.get("content-type"))
            except SlackError as exc:
                params, failure = (
                    {"_raw": body.decode("utf-8", "replace")},
                    failure or _Failure(exc.error, 200, None),
                )
            if failure is None:
                failure = self._channel_rate_failure(method, params)
            if failure is not None:
                reply, data = self._failure_reply(failure)
            else:
                data = self._dispatch(method, params, headers)
                token_known = data.get("error") not in ("not_authed", "invalid_auth")
                reply = _json_reply(200, data, {"x-oauth-scopes": ",".join(self.scopes)} if token_known else None)
            self._record(RecordedCall(method, params, headers, reply.status, data, path))
        return reply

    def _channel_rate_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        """Slack's special limit: about one chat.postMessage per second per channel (when enabled)."""
        ws = self.workspace
        if method != "chat.postMessage" or ws.channel_rate <= 0:
            return None
        channel, now, interval = str(params.get("channel") or ""), time.monotonic(), 1.0 / ws.channel_rate
        last = ws.channel_posts.get(channel)
        if last is not None and now - last < interval:
            return _Failure("ratelimited", 429, max(1, math.ceil(interval - (now - last))))
        ws.channel_posts[channel] = now
        return None

    def _dispatch(self, method: str, params: dict[str, Any], headers: Headers) -> dict[str, Any]:
        token = _bearer(headers) or params.get("token")
        handler = _API.get(method)
        try:
            if not token:
                raise SlackError("not_authed")
            if token != self.token:
                raise SlackError("invalid_auth")
            if handler is None:
                raise SlackError("unknown_method")
            return {"ok": True, **handler(self.workspace, params)}
        except SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

    def _handle_upload(self, file_id: str, body: bytes, headers: Headers, path: str) -> _Reply:
        failure = self._pre_answer(UPLOAD_METHOD)
        with self._lock:
            pending = self.workspace.files.get(file_id)
            data: dict[str, Any] | None = None
            if failure is not None:
                reply, data = self._failure_reply(failure)
            elif pending is None:
                reply = _Reply(404, b"Not Found", "text/plain")
                data = {"ok": False, "error": "file_not_found"}
            else:
                pending.content = body
                reply = _Reply(200, f"OK - {len(body)}".encode(), "text/plain; charset=utf-8")
            params = {"file_id": file_id, "length": len(body)}
            self._record(RecordedCall(UPLOAD_METHOD, params, headers, reply.status, data, path))
        return reply

    def _handle_response_url(self, query: str, body: bytes, headers: Headers, path: str) -> _Reply:
        failure = self._pre_answer(RESPONSE_URL_METHOD)
        with self._lock:
            try:
                params = parse_params(query, body, headers.get("content-type") or "application/json")
            except SlackError:
                params = {"_raw": body.decode("utf-8", "replace")}
            self._response_uses[path] += 1
            if failure is not None:
                reply, data = self._failure_reply(failure)
            elif self._response_uses[path] > RESPONSE_URL_MAX_USES:
                data = {"ok": False, "error": "used_url"}
                reply = _json_reply(404, data)
            else:
                data = {"ok": True}
                reply = _json_reply(200, data)
            self._record(RecordedCall(RESPONSE_URL_METHOD, params, headers, reply.status, data, path))
        return reply


def api_methods() -> Iterator[str]:
    """Names of the Web API methods the fake implements."""
    return iter(sorted(_API))
