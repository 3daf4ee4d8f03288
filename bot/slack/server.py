"""Serving the bot: HTTP on aiohttp (POST /slack/events, GET /healthz), or Slack's Socket Mode.

Both modes run the same aiohttp application (``build_server``): /healthz, the webhooks, the outbox
worker and the nudge check; Socket Mode adds the WebSocket to Slack instead of POST /slack/events.
aiohttp is a production asyncio server: requests are handled concurrently, and on SIGTERM it
stops accepting, lets in-flight requests finish (``shutdown_timeout``), drains the outbox and exits.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot import webhooks
from bot.bootstrap import build_service
from bot.config import Settings
from bot.log import configure_logging
from bot.nudger import Nudger
from bot.outbox import Deliver, OutboxWorker, route_by_kind
from bot.paging import PagerDutyDeliverer
from bot.service import IncidentService
from bot.slack.app import SlackDeps, build_app, build_client, build_deps
from bot.slack.delivery import SlackDeliverer, dead_page_notice
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


def build_web_app(bolt_app: AsyncApp | None, service: IncidentService) -> web.Application:
    """The aiohttp application: Slack's single endpoint (HTTP mode; None in Socket Mode) and a health check."""

    async def slack_events(request: web.Request) -> web.Response:
        assert bolt_app is not None
        bolt_request = reparse_form_body(await to_bolt_request(request))
        bolt_response = await bolt_app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        healthy = await asyncio.to_thread(service.store.ping)
        return web.json_response(
            {"ok": healthy, "database": "up" if healthy else "down"}, status=200 if healthy else 503
        )

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.add_routes([web.get(HEALTH_PATH, healthz)])
    if bolt_app is not None:
        web_app.add_routes([web.post(EVENTS_PATH, slack_events)])
    return web_app


def build_server(
    settings: Settings, worker_id: str | None = None, *, socket_mode: bool = False
) -> tuple[web.Application, IncidentService]:
    """The one place both modes are wired: store (migrated), Slack app, webhooks, health, outbox, nudges.

    HTTP mode: Slack's requests arrive on ``POST /slack/events`` of the returned application.
    Socket Mode (``socket_mode=True``, needs SLACK_APP_TOKEN): they arrive over Slack's WebSocket,
    opened when the application starts and closed first when it stops; the application still
    serves ``/healthz`` and the webhooks. Either way the outbox worker and the nudge check start
    with the application and, on shutdown, the outbox is drained for up to OUTBOX_DRAIN_SECONDS.
    """
    service = build_service(settings)
    client = build_client(settings)
    base = build_deps(settings, service, client)
    worker = OutboxWorker(
        service.store,
        build_deliverer(settings, service, base),
        worker_id or default_worker_id(),
        on_buried=dead_page_notice,
    )
    deps = replace(base, wake_outbox=worker.wake)
    identity = BotIdentity(client)
    bolt_app = build_app(deps, settings, identity)
    web_app = build_web_app(None if socket_mode else bolt_app, service)
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
        log.info("background_work_started", worker=worker.worker_id, socket_mode=socket_mode)

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
    if socket_mode:
        connection = SocketModeConnection(bolt_app, settings.slack_app_token.get())
        web_app[SOCKET_MODE] = connection
        web_app.on_startup.append(connection.open)
        web_app.on_shutdown.append(connection.close)
    web_app.on_cleanup.append(stop_worker)
    return web_app, service


class _TrackedSocketModeHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, remembering the envelopes it is still answering."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        super().__init__(app, app_token)
        self.in_flight: set[asyncio.Task[Any]] = set()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
        try:
            await super().handle(client, req)
        finally:
            if task is not None:
                self.in_flight.discard(task)


class SocketModeConnection:
    """Slack's Socket Mode WebSocket (``apps.connections.open`` with the app-level token).

    It connects in the background: while Slack is unreachable, slack_sdk keeps retrying and the bot
    still serves ``/healthz``, webhooks and the outbox. ``close`` stops reading new envelopes, lets
    those being handled send their acknowledgement (up to SHUTDOWN_TIMEOUT seconds), then closes.
    """

    def __init__(self, bolt_app: AsyncApp, app_token: str) -> None:
        self.bolt_app = bolt_app
        self.app_token = app_token
        self.handler: _TrackedSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def open(self, _app: web.Application | None = None) -> None:
        """Start connecting (the client needs a running event loop, so it is built here)."""
        self.handler = _TrackedSocketModeHandler(self.bolt_app, self.app_token)
        self._connecting = asyncio.create_task(self._connect(self.handler))

    @staticmethod
    async def _connect(handler: _TrackedSocketModeHandler) -> None:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("socket_mode_connected")

    async def close(self, _app: web.Application | None = None) -> None:
        if self.handler is None:
            return
        client = self.handler.client
        client.auto_reconnect_enabled = False
        # Stop reading (and reconnecting) but keep the socket open, so envelopes being handled can still ack.
        for reader in (client.message_receiver, client.current_session_monitor):
            if reader is not None:
                reader.cancel()
        if self.handler.in_flight:
            await asyncio.wait(set(self.handler.in_flight), timeout=SHUTDOWN_TIMEOUT)
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        await self.handler.close_async()  # type: ignore[no-untyped-call]
        log.info("socket_mode_closed")


SOCKET_MODE = web.AppKey("socket_mode", SocketModeConnection)


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
    """Serve Slack over HTTP (plus /healthz and webhooks) until SIGINT/SIGTERM."""
    _run(settings, host, port, socket_mode=False)


def serve_socket_mode(settings: Settings, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Take Slack's requests over Socket Mode (no public URL); /healthz and webhooks on ``host:port``."""
    _run(settings, host, port, socket_mode=True)


def _run(settings: Settings, host: str, port: int, *, socket_mode: bool) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight work and drain the outbox (see build_server)."""
    configure_logging(settings.log_format, settings.log_level)
    mode = "socket" if socket_mode else "http"
    web_app, _ = build_server(settings, worker_id=f"{socket.gethostname()}:{port}", socket_mode=socket_mode)
    log.info("server_starting", mode=mode, host=host, port=port, slack_api_url=settings.slack_api_url)
    web.run_app(
        web_app,
        host=host,
        port=port,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    log.info("server_stopped", mode=mode)
