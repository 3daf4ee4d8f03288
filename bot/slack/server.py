"""Serving the bot: HTTP on aiohttp (POST /slack/events, GET /healthz), or Slack's Socket Mode.

Both modes run the same aiohttp application (``build_server``): /healthz, the webhooks, the outbox
worker and the nudge check; Socket Mode adds the WebSocket to Slack instead of POST /slack/events.
aiohttp is a production asyncio server: requests are handled concurrently, and on SIGTERM it
stops accepting, lets in-flight requests finish (``shutdown_timeout``), drains the outbox and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
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

from bot import metrics
from bot.errors import BotError, ConfigError
from bot.log import RateLimitedWarning
from bot.outbox.worker import retry_after_seconds
from bot.slack.identity import REFUSED_TOKEN_ERRORS, RETRY_DELAYS, START_CHECK_SECONDS, SlackUnavailable

log = structlog.get_logger("incidentbot.server")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
SHUTDOWN_TIMEOUT = 20.0
MAX_BODY_BYTES = 1024 * 1024
ENVELOPE_KEY_PREFIX = "envelope:"
"""Socket Mode envelope ids share the Events API event ids' table (event ids never start with it)."""


SIGNATURE_REJECTED = web.AppKey("signature_rejected", RateLimitedWarning)
"""The app's ``signature_rejected`` warning: once a minute at most, so a scanner or a wrong
SLACK_SIGNING_SECRET cannot flood the log."""
SIGNATURE_MAX_AGE_SECONDS = 300
"""Slack: refuse a request whose X-Slack-Request-Timestamp is more than five minutes from now (replay)."""


def signature_problem(headers: Mapping[str, str], now: float) -> str:
    """Why a request's Slack signature was refused (``now`` in seconds since the epoch): ``missing_signature``
    (no X-Slack-Signature or X-Slack-Request-Timestamp), ``stale_timestamp`` (more than five minutes from
    ``now``, or not a number) or ``signature_mismatch`` (usually: SLACK_SIGNING_SECRET is not this app's).
    Source: Slack, "Verifying requests from Slack"."""
    signature, timestamp = headers.get("X-Slack-Signature"), headers.get("X-Slack-Request-Timestamp")
    if not signature or not timestamp:
        return "missing_signature"
    try:
        if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
            return "stale_timestamp"
    except ValueError:
        return "stale_timestamp"
    return "signature_mismatch"


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
    ping: Callable[[], bool],
    slack_state: Callable[[], Awaitable[str]] | None = None,
) -> web.Application:
    """The aiohttp application: Slack's single endpoint (HTTP mode; None in Socket Mode) and a health check.

    ``GET /healthz`` answers ``{"ok": true, "database": "up"}`` (200) or ``"down"`` (503): the status follows
    the database only, so load balancers keep routing webhooks while Slack is away. With ``slack_state``
    the body also says how Slack is: in HTTP mode ``"slack": "verified" | "unverified" | "refused"`` (the
    bot token's ``auth.test``; unverified is the degraded state while Slack does not answer), in Socket
    Mode ``"connecting" | "connected" | "refused" | "closed"``. The database ``ping`` (the store's, read-only)
    runs in a thread of its own, one at a time, awaited on the loop (``BoundedProbe.answer``): it takes no thread
    of the readers' or writers' pools, and a database that does not answer within ``PROBE_TIMEOUT_SECONDS``
    (5 s) is down.

    A request whose signature bolt refuses (401) is logged as ``signature_rejected`` (reason
    ``missing_signature``, ``stale_timestamp`` or ``signature_mismatch``), at most once a minute with
    the count of those held back (``suppressed``).
    """

    async def slack_events(request: web.Request) -> web.Response:
        assert bolt_app is not None
        started = time.monotonic()
        bolt_request = reparse_form_body(await to_bolt_request(request))
        bolt_response = await bolt_app.async_dispatch(bolt_request)
        if bolt_response.status == 401:  # bolt refused the signature (the only 401 it answers)
            reason = signature_problem(request.headers, time.time())
            metrics.SIGNATURE_REJECTED.labels(reason=reason).inc()
            request.app[SIGNATURE_REJECTED].warn(log, reason=reason, remote=request.remote, path=request.path)
        response = await to_aiohttp_response(bolt_response)
        if bolt_response.status != 401 and isinstance(bolt_request.body, dict) and bolt_request.body.get("command"):
            metrics.observe_slash_command(started)
        return response

    probe = metrics.BoundedProbe(ping, name="healthz-ping")

    async def healthz(_request: web.Request) -> web.Response:
        try:  # awaited on the loop: health checks in numbers hold no thread the queries need
            healthy = await probe.answer()
        except metrics.ProbeTimedOut:  # a paused or unreachable server: down, told within PROBE_TIMEOUT_SECONDS
            healthy = False
        body: dict[str, object] = {"ok": healthy, "database": "up" if healthy else "down"}
        if slack_state is not None:
            body["slack"] = await slack_state()
        return web.json_response(body, status=200 if healthy else 503)

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app[SIGNATURE_REJECTED] = RateLimitedWarning("signature_rejected", interval=60.0)
    web_app.add_routes([web.get(HEALTH_PATH, healthz)])
    if bolt_app is not None:
        web_app.add_routes([web.post(EVENTS_PATH, slack_events)])
    return web_app


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

    With ``remember`` (``EventUseCases.remember``), each ``envelope_id`` takes effect once:
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
            started = time.monotonic()
            await super().handle(client, req)  # returns once bolt has sent the acknowledgement
            if req.type == "slash_commands":
                metrics.observe_slash_command(started)
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
