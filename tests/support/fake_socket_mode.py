"""A fake of Slack's Socket Mode: ``apps.connections.open`` and the WebSocket it hands out, on 127.0.0.1.

The protocol, as Slack documents it ("Using Socket Mode", https://api.slack.com/apis/connections/socket-implement,
docs.slack.dev) and as slack_sdk's ``socket_mode.aiohttp.SocketModeClient`` implements it:

* the app calls ``apps.connections.open`` with its app-level token (``xapp-...``; a bot token is
  refused with ``not_allowed_token_type``) and gets ``{"ok": true, "url": "wss://..."}``;
* it opens a WebSocket to that URL; Slack's first message is
  ``{"type": "hello", "num_connections": 1, "debug_info": {...}, "connection_info": {"app_id": ...}}``;
* Slack then sends envelopes ``{"envelope_id", "type", "payload", "accepts_response_payload"}``
  (``events_api`` envelopes also carry ``retry_attempt`` and ``retry_reason``), where ``type`` is
  ``slash_commands``, ``events_api`` or ``interactive`` and ``payload`` is what HTTP mode would get
  as the request body (a slash command's form fields as a JSON object, the ``event_callback``, or
  the interactivity ``payload``);
* the app acknowledges each envelope with ``{"envelope_id": ...}`` on the same socket, adding
  ``"payload"`` (e.g. a slash command's ephemeral reply) when ``accepts_response_payload`` is true.

Here ``apps.connections.open`` answers with ``ws://127.0.0.1:<port>/link/...``, served by
``SocketModeEndpoint`` (aiohttp's WebSocket server on its own event loop thread).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.support.fake_slack import APP_ID, FakeSlack, Headers

APP_TOKEN = "xapp-1-A0INCIDENT-1-test"
ACK_WAIT_SECONDS = 10.0
"""How long the tests wait for an envelope's ack. Slack waits 3 s; the bot's process acks before its
work (a slash command within the 2 s ack budget), but on CI's loaded 2-core machine the test process
itself has stalled for seconds: the tests check that the ack comes and what it says."""
ACCEPTS_RESPONSE_PAYLOAD = {"slash_commands": True, "interactive": True, "events_api": False}


class SocketModeSlack(FakeSlack):
    """The fake Web API plus ``apps.connections.open`` for the app-level token."""

    def __init__(self, *, app_token: str = APP_TOKEN, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_token = app_token
        self.socket_url = ""
        """What ``apps.connections.open`` hands out; set it to a running SocketModeEndpoint's url."""
        self.connections_error: str | None = None
        """An error ``apps.connections.open`` answers the right token with (``token_revoked``...), when set."""

    def _dispatch(self, method: str, params: dict[str, Any], headers: Headers) -> dict[str, Any]:
        authorization = headers.get("authorization") or ""
        token = authorization.removeprefix("Bearer ").strip() or params.get("token")
        if method == "apps.connections.open":
            if not token:
                return {"ok": False, "error": "not_authed"}
            if token != self.app_token:
                return {"ok": False, "error": "not_allowed_token_type" if token == self.token else "invalid_auth"}
            if self.connections_error is not None:
                return {"ok": False, "error": self.connections_error}
            if not self.socket_url:
                return {"ok": False, "error": "internal_error"}
            return {"ok": True, "url": self.socket_url}
        if token == self.app_token:
            return {"ok": False, "error": "not_allowed_token_type"}
        return super()._dispatch(method, params, headers)


class SocketModeEndpoint:
    """The WebSocket Slack would serve: says hello, sends envelopes, records the app's acknowledgements."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-socket-mode", daemon=True)
        self._changed = threading.Condition()
        self._socket: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self.connections = 0
        self.acks: dict[str, dict[str, Any]] = {}
        self.all_acks: list[dict[str, Any]] = []
        """Every acknowledgement in the order received (``acks`` keeps the last one per envelope id)."""
        self.sent: list[dict[str, Any]] = []
        self.url = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SocketModeEndpoint:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._serve_socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket={uuid.uuid4()}&app_id={APP_ID}"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> SocketModeEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the socket

    async def _serve_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)  # answers the client's pings, as Slack does
        await socket.prepare(request)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        with self._changed:
            self._socket = socket
            self.connections += 1
            self._changed.notify_all()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            ack = json.loads(message.data)
            with self._changed:
                self.acks[str(ack.get("envelope_id"))] = ack
                self.all_acks.append(ack)
                self._changed.notify_all()
        with self._changed:
            if self._socket is socket:
                self._socket = None
            self._changed.notify_all()
        return socket

    def _wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
                self._changed.wait(left)

    def wait_connected(self, timeout: float = 20.0) -> None:
        """Block until the app holds an open socket."""
        self._wait(lambda: self._socket is not None, timeout, "the app to connect")

    def drop(self) -> None:
        """Close the app's socket from Slack's side (as Slack does on a refresh or an outage)."""
        with self._changed:
            socket = self._socket
        if socket is not None:
            asyncio.run_coroutine_threadsafe(socket.close(), self._loop).result(timeout=5)

    def wait_disconnected(self, timeout: float = 20.0) -> None:
        self._wait(lambda: self._socket is None, timeout, "the app to disconnect")

    # ------------------------------------------------------------------ envelopes

    def send(
        self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0, envelope_id: str | None = None
    ) -> str:
        """Send one envelope of ``envelope_type`` (slash_commands, events_api, interactive); return its id.

        ``envelope_id`` resends an envelope (as Slack redelivers one it saw no acknowledgement for)."""
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": ACCEPTS_RESPONSE_PAYLOAD[envelope_type],
        }
        if envelope_type == "events_api" or retry_attempt:
            envelope.update(retry_attempt=retry_attempt, retry_reason="timeout" if retry_attempt else "")
        with self._changed:
            socket = self._socket
        if socket is None:
            raise AssertionError("no Socket Mode connection to send on")
        asyncio.run_coroutine_threadsafe(socket.send_json(envelope), self._loop).result(timeout=5)
        self.sent.append(envelope)
        return str(envelope["envelope_id"])

    def wait_acks(self, envelope_id: str, count: int, timeout: float = ACK_WAIT_SECONDS) -> list[dict[str, Any]]:
        """Every acknowledgement of ``envelope_id`` once there are ``count`` of them (a resent envelope's too)."""

        def acks() -> list[dict[str, Any]]:
            return [ack for ack in self.all_acks if ack.get("envelope_id") == envelope_id]

        self._wait(lambda: len(acks()) >= count, timeout, f"{count} acks of envelope {envelope_id}")
        with self._changed:
            return acks()

    def wait_ack(self, envelope_id: str, timeout: float = ACK_WAIT_SECONDS) -> dict[str, Any]:
        """The app's acknowledgement of ``envelope_id``; fails after ``timeout`` s (see ACK_WAIT_SECONDS)."""
        self._wait(lambda: envelope_id in self.acks, timeout, f"the ack of envelope {envelope_id}")
        with self._changed:
            return self.acks[envelope_id]


def form_payload(form_body: str) -> dict[str, Any]:
    """A slash command's form body as the JSON object Socket Mode carries instead."""
    return dict(parse_qsl(form_body, keep_blank_values=True))


def interactive_payload(form_body: str) -> dict[str, Any]:
    """An interactivity form body (``payload=<json>``) as the object Socket Mode carries."""
    loaded: dict[str, Any] = json.loads(dict(parse_qsl(form_body))["payload"])
    return loaded
