"""The HTTP front of the fake: a threaded server on 127.0.0.1 routing `/api/<method>`, the upload URL and
response_urls, with injected failures applied before a method answers and every request recorded."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from tests.support.fake_slack import methods  # noqa: F401  (importing the families registers their handlers)
from tests.support.fake_slack.constants import RESPONSE_URL_MAX_USES, RESPONSE_URL_METHOD, UPLOAD_METHOD
from tests.support.fake_slack.faults import Failure, FaultInjection
from tests.support.fake_slack.params import bearer, parse_params
from tests.support.fake_slack.rate_limits import ChannelRateLimit
from tests.support.fake_slack.recording import CallRecorder
from tests.support.fake_slack.records import Headers, RecordedCall, SlackError
from tests.support.fake_slack.registry import API
from tests.support.fake_slack.scopes import check_scope


@dataclass
class Reply:
    """An HTTP answer of the fake."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
    """An HTTP answer with ``data`` as its JSON body."""
    return Reply(status, json.dumps(data).encode(), headers=headers or {})


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._answer(self.server.fake._handle(self))

    def do_GET(self) -> None:
        self._answer(self.server.fake._handle(self))

    def _answer(self, reply: Reply) -> None:
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
    fake: SlackHttpServer


class SlackHttpServer(CallRecorder, FaultInjection, ChannelRateLimit):
    """Serving and routing for `FakeSlack` (its state is set up by `FakeSlack`)."""

    token: str
    root_url: str
    _server: _Server | None
    _thread: threading.Thread | None
    _response_uses: dict[str, int]
    scopes: list[str]
    """The bot token's granted scopes, sent as ``x-oauth-scopes``; a test removes one to play a missing grant."""

    def _reset_routing(self) -> None:
        self._response_uses = defaultdict(int)

    def start(self, port: int = 0) -> Self:
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

    def __enter__(self) -> Self:
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

    # ------------------------------------------------------------------ request handling

    def _handle(self, request: BaseHTTPRequestHandler) -> Reply:
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
        return Reply(404, b"Not Found", "text/plain")

    @staticmethod
    def _failure_reply(failure: Failure) -> tuple[Reply, dict[str, Any]]:
        if failure.raw_body is not None:
            return Reply(failure.status, failure.raw_body, failure.content_type), {"ok": False, "error": None}
        data = {"ok": False, "error": failure.error, **(failure.extra or {})}
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        return json_reply(failure.status, data, headers), data

    def _handle_api(self, method: str, query: str, body: bytes, headers: Headers, path: str) -> Reply:
        arrived = time.time()  # Slack judges a trigger_id's age when the request arrives, not after a delay
        failure = self._pre_answer(method)
        with self._lock:
            self.workspace.request_time = arrived
            try:
                params = parse_params(query, body, headers.get("content-type"))
            except SlackError as exc:
                params, failure = (
                    {"_raw": body.decode("utf-8", "replace")},
                    failure or Failure(exc.error, 200, None),
                )
            if failure is None:
                failure = self._channel_rate_failure(method, params)
            if failure is not None:
                reply, data = self._failure_reply(failure)
            else:
                data = self._dispatch(method, params, headers)
                token_known = data.get("error") not in ("not_authed", "invalid_auth")
                reply = json_reply(200, data, {"x-oauth-scopes": ",".join(self.scopes)} if token_known else None)
            self._record(RecordedCall(method, params, headers, reply.status, data, path))
        return reply

    def _dispatch(self, method: str, params: dict[str, Any], headers: Headers) -> dict[str, Any]:
        token = bearer(headers) or params.get("token")
        handler = API.get(method)
        try:
            if not token:
                raise SlackError("not_authed")
            if token != self.token:
                raise SlackError("invalid_auth")
            if handler is None:
                raise SlackError("unknown_method")
            check_scope(self.workspace, method, params, self.scopes)
            return {"ok": True, **handler(self.workspace, params)}
        except SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

    def _handle_upload(self, file_id: str, body: bytes, headers: Headers, path: str) -> Reply:
        failure = self._pre_answer(UPLOAD_METHOD)
        with self._lock:
            pending = self.workspace.files.get(file_id)
            data: dict[str, Any] | None = None
            if failure is not None:
                reply, data = self._failure_reply(failure)
            elif pending is None:
                reply = Reply(404, b"Not Found", "text/plain")
                data = {"ok": False, "error": "file_not_found"}
            else:
                pending.content = body
                reply = Reply(200, f"OK - {len(body)}".encode(), "text/plain; charset=utf-8")
            params = {"file_id": file_id, "length": len(body)}
            self._record(RecordedCall(UPLOAD_METHOD, params, headers, reply.status, data, path))
        return reply

    def _handle_response_url(self, query: str, body: bytes, headers: Headers, path: str) -> Reply:
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
                reply = json_reply(404, data)
            else:
                data = {"ok": True}
                reply = json_reply(200, data)
            self._record(RecordedCall(RESPONSE_URL_METHOD, params, headers, reply.status, data, path))
        return reply
