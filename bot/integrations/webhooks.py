"""Webhooks from the rest of the toolchain: alert notifications (Alertmanager, Grafana) and CI/CD changes.

All are authenticated with ``Authorization: Bearer $INCIDENT_WEBHOOK_TOKEN`` (compared in
constant time); without a configured token they are refused.

Answers are chosen for senders that retry 5xx and never retry 4xx (Alertmanager, Grafana): a 4xx
means the request can never be accepted as sent (401 wrong token, 400 not JSON, 413 larger than
``INCIDENT_ALERT_MAX_BYTES`` for alerts or 1 MiB for changes, 400 a body that cannot be decompressed as
its ``Content-Encoding`` says, 422 JSON of the wrong shape, naming the field) and records nothing;
anything transient (database unavailable, too much contention) is 503 and an unexpected failure 500,
so the sender tries again and, the records being idempotent, nothing is recorded twice.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import structlog
from aiohttp import web

from bot.config import Settings
from bot.domain.alerts import ALERTMANAGER_ACTOR, DEFAULT_SEVERITY_MAP, parse_notification, severity_hint
from bot.domain.changes import parse_change
from bot.domain.errors import BotError, PayloadError
from bot.domain.model import EntryKind, Severity
from bot.slack.delivery import SlackEffect, plan_effects
from bot.slack.text import escape
from bot.store.outbox import Effect
from bot.usecases.incidents import Actor, IncidentUseCases, Outcome

log = structlog.get_logger("incidentbot.webhooks")

ALERTMANAGER_PATH = "/alerts/alertmanager"
GRAFANA_PATH = "/alerts/grafana"
CHANGES_PATH = "/changes"
WEBHOOK_PATHS = frozenset({ALERTMANAGER_PATH, GRAFANA_PATH, CHANGES_PATH})
READ_CHUNK_BYTES = 256 * 1024
CHANGES_MAX_BYTES = 1024 * 1024
"""``POST /changes``: largest body accepted (after decompression), in bytes; a change event is a few hundred."""
MAX_SUMMARY_NAMES = 10


def register(
    web_app: web.Application, usecases: IncidentUseCases, settings: Settings, wake_outbox: Callable[[], None]
) -> None:
    """Add the webhook routes to the bot's aiohttp application."""

    async def alerts(request: web.Request) -> web.Response:
        _authenticate(request, settings)
        body = _parse_json(await _read_limited(request, settings.alert_max_bytes, "INCIDENT_ALERT_MAX_BYTES"))
        notification = parse_notification(body, usecases.clock())
        plan = partial(alert_plan, severity_map=settings.alert_severity_map)
        result = await asyncio.to_thread(usecases.receive_notification, notification, settings.alert_severity_map, plan)
        wake_outbox()
        answer: dict[str, Any] = {
            "ok": True,
            "action": result.action,
            "incident": result.incident_id,
            "recorded": result.recorded,
            "alerts": len(notification.alerts),
        }
        if result.previous_incident_id:
            answer["previous_incident"] = result.previous_incident_id
        return web.json_response(answer)

    async def changes(request: web.Request) -> web.Response:
        _authenticate(request, settings)
        change = parse_change(_parse_json(await _read_limited(request, CHANGES_MAX_BYTES)), usecases.clock())
        change_id = await asyncio.to_thread(usecases.record_change, change)
        return web.json_response({"ok": True, "id": change_id}, status=201)

    web_app.add_routes(
        [
            web.post(ALERTMANAGER_PATH, _answering(alerts)),
            web.post(GRAFANA_PATH, _answering(alerts)),
            web.post(CHANGES_PATH, _answering(changes)),
        ]
    )


def alert_plan(outcome: Outcome, severity_map: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP) -> list[Effect]:
    """Slack effects of an alert notification: a declaration's usual ones, else a status refresh and one
    line, plus a severity hint (``bot.domain.alerts.severity_hint``) when a joining alert is more severe
    than the open incident."""
    if outcome.declared:
        return plan_effects(outcome, Actor(ALERTMANAGER_ACTOR))
    number = outcome.incident.number
    effects = [
        Effect(SlackEffect.REFRESH, {}, number, coalesce=True),
        Effect(SlackEffect.POST_LINE, {"text": alert_update_text(outcome)}, number),
    ]
    hint = severity_hint(outcome.incident, outcome.entries, severity_map) if outcome.incident.status.is_open else None
    if hint:
        effects.append(Effect(SlackEffect.POST_LINE, {"text": escape(hint)}, number))
    return effects


def alert_update_text(outcome: Outcome) -> str:
    """``INC-3 · alerts 2 fired: A, B · 1 cleared: C`` (at most 10 names per state, then how many more),
    followed by the sender's notes (``· 57 more alerts of this group were not sent (...)``)."""
    parts: list[str] = []
    for kind, label in ((EntryKind.ALERT_FIRED, "fired"), (EntryKind.ALERT_CLEARED, "cleared")):
        names = [escape(e.text) for e in outcome.entries if e.kind is kind]
        if names:
            more = f" and {len(names) - MAX_SUMMARY_NAMES} more" if len(names) > MAX_SUMMARY_NAMES else ""
            parts.append(f"{len(names)} {label}: " + ", ".join(names[:MAX_SUMMARY_NAMES]) + more)
    notes = [escape(e.text) for e in outcome.entries if e.kind is EntryKind.NOTE]
    head = f"{outcome.incident.incident_id} · alerts " + " · ".join(parts) if parts else outcome.incident.incident_id
    return " · ".join([head, *notes])


def _answering(handler: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
    """Turn a bad body into 422 with the reason; other failures are logged with an id the caller sees."""

    async def handle(request: web.Request) -> web.Response:
        try:
            response: web.Response = await handler(request)
            return response
        except PayloadError as exc:
            log.info("webhook_refused", path=request.path, reason=exc.user_message)
            return web.json_response({"ok": False, "error": exc.user_message}, status=422)
        except web.HTTPException:
            raise
        except BotError as exc:  # the database is down, say: the sender retries later
            log.warning("webhook_failed", path=request.path, reason=exc.user_message)
            return web.json_response({"ok": False, "error": exc.user_message}, status=503)
        except Exception:
            correlation = uuid.uuid4().hex[:12]
            log.exception("webhook_crashed", path=request.path, correlation_id=correlation)
            return web.json_response({"ok": False, "error": f"internal error (id {correlation})"}, status=500)

    return handle


def _authenticate(request: web.Request, settings: Settings) -> None:
    expected = settings.webhook_token.get()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        log.warning("webhook_unauthorized", path=request.path, remote=request.remote)
        raise web.HTTPUnauthorized(
            text=json.dumps({"ok": False, "error": "unauthorized"}),
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="incidentbot"'},
        )


def _parse_json(raw: bytes) -> Any:
    """Strict JSON: NaN/Infinity (which Python's parser would take) and absurd nesting are not JSON here."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error": "the body is not JSON"}), content_type="application/json"
        ) from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _read_limited(request: web.Request, limit: int, setting: str | None = None) -> bytes:
    """The body, decompressed per its ``Content-Encoding``, up to ``limit`` bytes: 413 JSON beyond it
    (unread when Content-Length says so up front), 400 JSON when it cannot be decompressed.

    The app's shared ``client_max_size`` (1 MiB) guards Slack's endpoint; it applies only to
    ``request.read()``, so reading the stream here gives each route its own limit (``setting`` names
    the variable that sets it, if any) and the same JSON answers as the rest of the route.
    A body that is not what its encoding says (a corrupt ``deflate`` or ``gzip`` or ``br`` stream) can
    never be accepted: 400. (aiohttp decodes gzip, deflate, and, with the Brotli and backports.zstd
    packages this project depends on, br and zstd.)
    """
    named = f" ({setting})" if setting else ""
    too_large = web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=request.content_length or limit + 1,
        text=json.dumps({"ok": False, "error": f"the body is larger than {limit} bytes{named}"}),
        content_type="application/json",
        headers={"Connection": "close"},  # the rest of the body is never read: do not reuse the connection
    )
    if request.content_length is not None and request.content_length > limit:
        log.warning("webhook_body_too_large", path=request.path, size=request.content_length, limit=limit)
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                log.warning("webhook_body_too_large", path=request.path, size=f">{limit}", limit=limit)
                raise too_large
            chunks.append(chunk)
    except web.RequestPayloadError as exc:
        encoding = request.headers.get("Content-Encoding", "")
        log.info("webhook_body_undecodable", path=request.path, encoding=encoding)
        reason = f"the body cannot be decoded as its Content-Encoding ({encoding or 'none'}) says"
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error": reason}),
            content_type="application/json",
            headers={"Connection": "close"},
        ) from exc
    return b"".join(chunks)
