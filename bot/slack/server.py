"""Serving the bot: HTTP on aiohttp (POST /slack/events, GET /healthz), or Slack's Socket Mode.

Both modes run the same aiohttp application (``build_server``): /healthz, the webhooks, the outbox
worker and the nudge check; Socket Mode adds the WebSocket to Slack instead of POST /slack/events.
aiohttp is a production asyncio server: requests are handled concurrently, and on SIGTERM it
stops accepting, lets in-flight requests finish (``shutdown_timeout``), drains the outbox and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot import webhooks
from bot.bootstrap import build_service
from bot.config import Settings
from bot.errors import BotError, ConfigError
from bot.log import configure_logging
from bot.nudger import Nudger
from bot.outbox import Deliver, OutboxWorker, retry_after_seconds, route_by_kind
from bot.paging import PagerDutyDeliverer
from bot.service import IncidentService
from bot.slack.app import SlackDeps, build_app, build_client, build_deps
from bot.slack.delivery import SlackDeliverer, dead_page_notice
from bot.slack.identity import REFUSED_TOKEN_ERRORS, RETRY_DELAYS, START_CHECK_SECONDS, BotIdentity, SlackUnavailable
from bot.store.threads import DatabaseThreads

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
ENVELOPE_KEY_PREFIX = "envelope:"
"""Socket Mode envelope ids share the Events API event ids' table (event ids never start with it)."""


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


def build_web_app(
    bolt_app: AsyncApp | None,
    service: IncidentService,
    slack_state: Callable[[], Awaitable[str]] | None = None,
    threads: DatabaseThreads | None = None,
) -> web.Application:
    """The aiohttp application: Slack's single endpoint (HTTP mode; None in Socket Mode) and a health check.

    ``GET /healthz`` answers ``{"ok": true, "database": "up"}`` (200) or ``"down"`` (503): the status follows
    the database only, so load balancers keep routing webhooks while Slack is away. With ``slack_state``
    (Socket Mode) the body also says ``"slack": "connecting" | "connected" | "refused" | "closed"``. The
    database ping runs in ``threads``' readers' pool when given (it must not wait behind writers).
    """

    async def slack_events(request: web.Request) -> web.Response:
        assert bolt_app is not None
        bolt_request = reparse_form_body(await to_bolt_request(request))
        bolt_response = await bolt_app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        ping = service.store.ping
        healthy = await (threads.read(ping) if threads is not None else asyncio.to_thread(ping))
        body: dict[str, object] = {"ok": healthy, "database": "up" if healthy else "down"}
        if slack_state is not None:
            body["slack"] = await slack_state()
        return web.json_response(body, status=200 if healthy else 503)

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
    threads = deps.threads
    identity = BotIdentity(client)
    bolt_app = build_app(deps, settings, identity)
    connection = (
        SocketModeConnection(bolt_app, settings.slack_app_token.get(), remember=service.remember_event)
        if socket_mode
        else None
    )
    web_app = build_web_app(
        None if socket_mode else bolt_app, service, connection.state if connection is not None else None, threads
    )
    webhooks.register(web_app, service, settings, worker.wake)
    nudger = Nudger(service, settings.nudge_after, worker.wake)
    web_app[OUTBOX_WORKER] = worker
    web_app[NUDGER] = nudger
    web_app[IDENTITY] = identity

    async def start_worker(app: web.Application) -> None:
        # asyncio.to_thread (writes, outbox, nudges, webhooks) runs in the writers' pool; reads have their own.
        threads.install(asyncio.get_running_loop())
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

    if connection is not None:
        # First: a refused app token stops start-up before any background work starts.
        web_app[SOCKET_MODE] = connection
        web_app.on_startup.append(connection.open)
    web_app.on_startup.append(start_worker)
    if connection is not None:
        web_app.on_shutdown.append(connection.close)
    web_app.on_cleanup.append(stop_worker)
    return web_app, service


class AppTokenRefused(ConfigError):
    """Slack refused SLACK_APP_TOKEN (``apps.connections.open``): wrong, revoked, or not an app-level token."""


def _quiet_sdk_logger() -> logging.Logger:
    """slack_sdk's Socket Mode logger, without tracebacks: our own events say what failed, one line each."""
    logger = logging.getLogger("incidentbot.socket_mode_client")

    def drop_traceback(record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True

    if not logger.filters:
        logger.addFilter(drop_traceback)
    return logger


class _SocketModeClient(SocketModeClient):
    """slack_sdk's client whose ``apps.connections.open`` tells a refused token from an unreachable Slack."""

    async def issue_new_wss_url(self) -> str:
        """The WebSocket URL; raises AppTokenRefused (cannot fix itself) or SlackUnavailable (try again)."""
        try:
            response = await self.web_client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            status = int(getattr(exc.response, "status_code", 200))
            if error in REFUSED_TOKEN_ERRORS and status < 500:
                raise AppTokenRefused(
                    f"Slack refused SLACK_APP_TOKEN ({error}): use an app-level token (xapp-...) with "
                    "connections:write, from Basic Information > App-Level Tokens of your Slack app."
                ) from exc
            after = retry_after_seconds(exc.response.headers) if status == 429 else None
            raise SlackUnavailable(f"{error or 'error'} (HTTP {status})", after) from exc
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            raise SlackUnavailable(f"network: {type(exc).__name__}") from exc
        return str(response["url"])


class _TrackedSocketModeHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, remembering the envelopes it is still answering.

    With ``remember`` (``IncidentService.remember_event``), each ``envelope_id`` takes effect once:
    Slack redelivers an envelope it saw no acknowledgement for (same id, ``retry_attempt`` 1, 2...);
    a repeat is acknowledged and skipped, logged as ``socket_mode_envelope_duplicate_ignored``.
    """

    def __init__(self, app: AsyncApp, app_token: str, remember: Callable[[str], bool] | None = None) -> None:
        # bolt's __init__ would build its own client; this one is built with ours (same arguments).
        self.app = app
        self.app_token = app_token
        self.client = _SocketModeClient(
            app_token=app_token, logger=_quiet_sdk_logger(), web_client=app.client, ping_interval=10
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.remember = remember

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
        try:
            if not await self._first_delivery(req):
                await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
                log.info(
                    "socket_mode_envelope_duplicate_ignored",
                    envelope_id=req.envelope_id,
                    envelope_type=req.type,
                    retry_attempt=req.retry_attempt,
                )
                return
            await super().handle(client, req)
        finally:
            if task is not None:
                self.in_flight.discard(task)

    async def _first_delivery(self, req: SocketModeRequest) -> bool:
        """True unless ``req``'s envelope id was seen before (in the database, so across replicas and restarts)."""
        if self.remember is None or not req.envelope_id:
            return True
        try:
            return await asyncio.to_thread(self.remember, ENVELOPE_KEY_PREFIX + req.envelope_id)
        except BotError as exc:  # the database is away: handle it anyway (its own transaction will say why)
            log.warning("socket_mode_envelope_not_remembered", envelope_id=req.envelope_id, reason=exc.user_message)
            return True


class SocketModeConnection:
    """Slack's Socket Mode WebSocket (``apps.connections.open`` with the app-level token).

    ``open`` asks Slack for a WebSocket URL once (up to START_CHECK_SECONDS): a token Slack refuses
    (``invalid_auth``, ``not_allowed_token_type``, ``token_revoked``...) raises AppTokenRefused, so
    start-up stops with one line. While Slack is unreachable it keeps trying in the background with
    backoff (RETRY_DELAYS seconds, a 429's Retry-After when longer), one ``socket_mode_unavailable``
    event per attempt, and the bot still serves ``/healthz``, webhooks and the outbox. ``state`` is
    what ``/healthz`` reports. ``close`` stops reading new envelopes, lets those being handled send
    their acknowledgement (up to SHUTDOWN_TIMEOUT seconds), then closes.
    """

    def __init__(
        self,
        bolt_app: AsyncApp,
        app_token: str,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        remember: Callable[[str], bool] | None = None,
    ) -> None:
        self.bolt_app = bolt_app
        self.app_token = app_token
        self.remember = remember
        self.retry_delays = retry_delays
        self.handler: _TrackedSocketModeHandler | None = None
        self.refused = False
        self.closed = False
        self._connecting: asyncio.Task[None] | None = None

    async def state(self) -> str:
        """``connected``, ``connecting`` (not yet, or reconnecting), ``refused`` (the token) or ``closed``."""
        if self.closed:
            return "closed"
        if self.refused:
            return "refused"
        if self.handler is not None and await self.handler.client.is_connected():
            return "connected"
        return "connecting"

    async def open(self, _app: web.Application | None = None) -> None:
        """Check the token and start connecting (the client needs a running event loop, so it is built here).

        Raises AppTokenRefused when Slack refuses SLACK_APP_TOKEN.
        """
        self.handler = _TrackedSocketModeHandler(self.bolt_app, self.app_token, self.remember)
        client = self.handler.client
        try:
            client.wss_uri = await asyncio.wait_for(client.issue_new_wss_url(), START_CHECK_SECONDS)
            wait = 0.0
        except AppTokenRefused:
            self.refused = True
            await self.handler.close_async()  # type: ignore[no-untyped-call]
            raise
        except (SlackUnavailable, TimeoutError) as exc:
            wait = self._delay(0, exc)
            log.warning("socket_mode_unavailable", attempt=1, reason=_reason(exc), retry_in=wait)
        self._connecting = asyncio.create_task(self._connect(self.handler, wait))

    def _delay(self, attempt: int, exc: BaseException) -> float:
        after = exc.after if isinstance(exc, SlackUnavailable) else None
        return max(self.retry_delays[min(attempt, len(self.retry_delays) - 1)], after or 0.0)

    async def _connect(self, handler: _TrackedSocketModeHandler, wait: float) -> None:
        client = handler.client
        attempt = 1
        while client.wss_uri is None:
            await asyncio.sleep(wait)
            attempt += 1
            try:
                client.wss_uri = await asyncio.wait_for(client.issue_new_wss_url(), START_CHECK_SECONDS)
            except (SlackUnavailable, TimeoutError) as exc:
                wait = self._delay(attempt - 1, exc)
                log.warning("socket_mode_unavailable", attempt=attempt, reason=_reason(exc), retry_in=wait)
            except AppTokenRefused as exc:
                # Slack came back and refuses the token: a setup fault, said once with its fix.
                self.refused = True
                log.error("socket_mode_token_refused", reason=exc.user_message)
                return
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("socket_mode_connected", attempts=attempt)

    async def close(self, _app: web.Application | None = None) -> None:
        self.closed = True
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
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        await self.handler.close_async()  # type: ignore[no-untyped-call]
        log.info("socket_mode_closed")


def _reason(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, SlackUnavailable) else f"no answer in {START_CHECK_SECONDS:.0f} s"


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
    listener = _listen(host, port)  # before anything starts: a port in use stops here with one line
    web_app, _ = build_server(settings, worker_id=f"{socket.gethostname()}:{port}", socket_mode=socket_mode)
    log.info("server_starting", mode=mode, host=host, port=port, slack_api_url=settings.slack_api_url)
    web.run_app(
        web_app,
        sock=listener,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    log.info("server_stopped", mode=mode)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; raises ConfigError naming the port when it cannot be had."""
    try:
        return socket.create_server((host, port), backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"Port {port} is already in use on {host}: stop what listens there or choose another with --port."
            ) from exc
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
