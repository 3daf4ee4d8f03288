"""Serving the bot: HTTP on aiohttp (POST /slack/events, GET /healthz), or Slack's Socket Mode.

aiohttp is a production asyncio server: requests are handled concurrently, and on SIGTERM it
stops accepting, lets in-flight requests finish (``shutdown_timeout``) and then exits.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import replace
from urllib.parse import parse_qsl

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import webhooks
from bot.bootstrap import build_service
from bot.config import Settings
from bot.log import configure_logging
from bot.nudger import Nudger
from bot.outbox import Deliver, OutboxWorker, route_by_kind
from bot.paging import PagerDutyDeliverer
from bot.service import IncidentService
from bot.slack.app import SlackDeps, build_app, build_client, build_deps
from bot.slack.delivery import SlackDeliverer
from bot.slack.identity import BotIdentity

log = structlog.get_logger("incidentbot.server")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
SHUTDOWN_TIMEOUT = 20.0
MAX_BODY_BYTES = 1024 * 1024
OUTBOX_DRAIN_SECONDS = 10.0
OUTBOX_WORKER = web.AppKey("outbox_worker", OutboxWorker)
OUTBOX_TASK = web.AppKey("outbox_task", asyncio.Task[None])
NUDGER = web.AppKey("nudger", Nudger)
NUDGE_TASK = web.AppKey("nudge_task", asyncio.Task[None])
IDENTITY = web.AppKey("identity", BotIdentity)


def reparse_form_body(request: AsyncBoltRequest) -> AsyncBoltRequest:
    """Work around bolt's form parsing, which treats any body containing the word "payload" as an
    interactivity payload: `/incident note the payload is malformed` would be dropped as unhandled (404).
    """
    raw = request.raw_body
    if not raw or raw.startswith("{") or "payload" not in raw:
        return request
    params = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in params:
        return request
    request.body = params
    request.context = build_async_context(AsyncBoltContext({}), params)
    return request


def build_web_app(bolt_app: AsyncApp, service: IncidentService) -> web.Application:
    """The aiohttp application: Slack's single endpoint plus a health check."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_request = reparse_form_body(await to_bolt_request(request))
        bolt_response = await bolt_app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        healthy = await asyncio.to_thread(service.store.ping)
        return web.json_response(
            {"ok": healthy, "database": "up" if healthy else "down"}, status=200 if healthy else 503
        )

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.add_routes([web.post(EVENTS_PATH, slack_events), web.get(HEALTH_PATH, healthz)])
    return web_app


def build_server(settings: Settings, worker_id: str | None = None) -> tuple[web.Application, IncidentService]:
    """Open the store (migrating it), wire the Slack app and webhooks behind aiohttp, run the outbox and nudges."""
    service = build_service(settings)
    client = build_client(settings)
    base = build_deps(settings, service, client)
    worker = OutboxWorker(service.store, build_deliverer(settings, service, base), worker_id or default_worker_id())
    deps = replace(base, wake_outbox=worker.wake)
    identity = BotIdentity(client)
    web_app = build_web_app(build_app(deps, settings, identity), service)
    webhooks.register(web_app, service, settings, worker.wake)
    nudger = Nudger(service, settings.nudge_after, worker.wake)
    web_app[OUTBOX_WORKER] = worker
    web_app[NUDGER] = nudger
    web_app[IDENTITY] = identity

    async def start_worker(app: web.Application) -> None:
        # A refused token stops start-up with one line; an unavailable Slack is checked again in the background.
        await identity.start()
        app[OUTBOX_TASK] = asyncio.create_task(worker.run_forever())
        app[NUDGE_TASK] = asyncio.create_task(nudger.run_forever())

    async def stop_worker(app: web.Application) -> None:
        """After in-flight requests finished: deliver what is due, then stop (the rest waits in the DB)."""
        await identity.stop()
        if OUTBOX_TASK not in app:  # start-up stopped before the workers ran
            service.store.dispose()
            return
        nudger.stop()
        worker.stop()
        await app[NUDGE_TASK]
        await app[OUTBOX_TASK]
        try:
            left = await worker.drain(timeout=OUTBOX_DRAIN_SECONDS)
            log.info("outbox_drained", pending=left)
        except Exception:  # the database may be gone; what is queued waits there for the next start
            log.exception("outbox_drain_failed")
        service.store.dispose()

    web_app.on_startup.append(start_worker)
    web_app.on_cleanup.append(stop_worker)
    return web_app, service


def build_deliverer(settings: Settings, service: IncidentService, deps: SlackDeps) -> Deliver:
    """Slack kinds to Slack, PagerDuty kinds to PagerDuty."""
    return route_by_kind(
        {
            "slack": SlackDeliverer(service, deps.effects, deps.renderer),
            "pagerduty": PagerDutyDeliverer(service, settings.pagerduty_routing_key, settings.pagerduty_events_url),
        }
    )


def default_worker_id() -> str:
    """Stable across restarts of the same replica, so a restarted worker reclaims its own leases."""
    return os.environ.get("INCIDENT_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}"


def serve_http(settings: Settings, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Run the HTTP server until SIGINT/SIGTERM."""
    configure_logging(settings.log_format, settings.log_level)
    web_app, _ = build_server(settings, worker_id=f"{socket.gethostname()}:{port}")
    log.info("server_starting", host=host, port=port, slack_api_url=settings.slack_api_url)
    web.run_app(
        web_app,
        host=host,
        port=port,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    log.info("server_stopped")


def serve_socket_mode(settings: Settings) -> None:
    """Connect to Slack over Socket Mode (no public URL needed)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    configure_logging(settings.log_format, settings.log_level)
    service = build_service(settings)

    async def run() -> None:
        base = build_deps(settings, service, build_client(settings))
        worker = OutboxWorker(service.store, build_deliverer(settings, service, base), f"{socket.gethostname()}:socket")
        bolt_app = build_app(replace(base, wake_outbox=worker.wake), settings)
        # The handler's connection calls use the app's client, so SLACK_API_URL applies to them too.
        handler = AsyncSocketModeHandler(bolt_app, settings.slack_app_token.get())
        log.info("socket_mode_starting", slack_api_url=settings.slack_api_url)
        worker_task = asyncio.create_task(worker.run_forever())
        try:
            await handler.start_async()  # type: ignore[no-untyped-call]
        finally:
            worker.stop()
            await worker_task

    asyncio.run(run())
