"""Reading a Web API call's arguments as Slack does: query string plus form, JSON or multipart body, and
the typed readers the method handlers use (flags, integers, required values, timestamps, cursors)."""

from __future__ import annotations

import email
import email.policy
import json
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from tests.support.fake_slack.records import Headers, SlackError

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


def bearer(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    auth = headers.get("authorization") or ""
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def flag(params: dict[str, Any], key: str) -> bool:
    """True when ``params[key]`` is a true boolean in any of the forms clients send."""
    return params.get(key) in (True, 1, "1", "true", "True")


def int_param(params: dict[str, Any], key: str, default: int) -> int:
    """``params[key]`` as an integer (``default`` when absent); ``invalid_arguments`` when not a number."""
    try:
        return int(params.get(key, default))
    except (TypeError, ValueError) as exc:
        raise SlackError("invalid_arguments") from exc


def required(params: dict[str, Any], key: str, error: str = "invalid_arguments") -> Any:
    """``params[key]``; raises ``error`` (with Slack's missing-field message) when absent or empty."""
    value = params.get(key)
    if value in (None, ""):
        raise SlackError(error, response_metadata={"messages": [f"[ERROR] missing required field: {key}"]})
    return value


def ts_value(ts: Any) -> Decimal:
    """A message ts as an exact decimal; ``invalid_ts_latest`` when it is not a number."""
    try:
        return Decimal(str(ts))
    except InvalidOperation as exc:
        raise SlackError("invalid_ts_latest") from exc


def user_list(value: Any) -> list[str]:
    """User ids from a list or a comma-separated string, blanks dropped."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [str(u).strip() for u in items if str(u).strip()]


def paginate(items: list[Any], params: dict[str, Any], default_limit: int) -> tuple[list[Any], str]:
    """Cursor pagination: cursor is the offset as a string, "" when done."""
    limit = int_param(params, "limit", default_limit) or default_limit
    start = int_param(params, "cursor", 0) if params.get("cursor") else 0
    page = items[start : start + limit]
    return page, str(start + limit) if start + limit < len(items) else ""
