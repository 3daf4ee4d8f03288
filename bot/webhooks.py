"""Webhooks from the rest of the toolchain: Prometheus Alertmanager alerts and CI/CD change events.

Both are authenticated with ``Authorization: Bearer $INCIDENT_WEBHOOK_TOKEN`` (compared in
constant time); without a configured token they are refused. A malformed body is answered 400
(not JSON) or 422 (JSON of the wrong shape) and records nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web

from bot.config import Settings
from bot.domain.alerts import ALERTMANAGER_ACTOR, parse_alertmanager
from bot.domain.changes import parse_change
from bot.domain.errors import BotError, PayloadError
from bot.service import Actor, IncidentService, Outcome
from bot.slack.delivery import plan_effects
from bot.store.outbox import Effect

log = structlog.get_logger("incidentbot.webhooks")

ALERTMANAGER_PATH = "/alerts/alertmanager"
CHANGES_PATH = "/changes"


def register(
    web_app: web.Application, service: IncidentService, settings: Settings, wake_outbox: Callable[[], None]
) -> None:
    """Add the webhook routes to the bot's aiohttp application."""

    def plan(outcome: Outcome) -> list[Effect]:
        return plan_effects(outcome, Actor(ALERTMANAGER_ACTOR))

    async def alertmanager(request: web.Request) -> web.Response:
        _authenticate(request, settings)
        alerts = parse_alertmanager(await _json(request))
        results = []
        for alert in alerts:
            results.append(await asyncio.to_thread(service.receive_alert, alert, settings.alert_severity_map, plan))
        wake_outbox()
        return web.json_response(
            {
                "ok": True,
                "alerts": [
                    {"fingerprint": r.fingerprint, "action": r.action, "incident": r.incident_id} for r in results
                ],
            }
        )

    async def changes(request: web.Request) -> web.Response:
        _authenticate(request, settings)
        change = parse_change(await _json(request), service.clock())
        change_id = await asyncio.to_thread(service.record_change, change)
        return web.json_response({"ok": True, "id": change_id}, status=201)

    web_app.add_routes(
        [web.post(ALERTMANAGER_PATH, _answering(alertmanager)), web.post(CHANGES_PATH, _answering(changes))]
    )


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


async def _json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error": "the body is not JSON"}), content_type="application/json"
        ) from exc
