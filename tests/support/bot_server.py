"""The real bot HTTP server (aiohttp + bolt) running in a background thread on 127.0.0.1:0,
and a small client that sends it requests signed exactly as Slack signs them."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.app import BOLT_APP, OUTBOX_WORKER, build_server
from bot.config import Settings, load_settings
from tests.support import signing

T = TypeVar("T")
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
ACK_WAIT_SECONDS = 20
"""How long bolt waits for a listener's ack here (Slack, and bolt by default, wait 3 s).

The tests check what the answer says; when it comes is the ack budget's business (ACK_BUDGET, 2 s,
tested with a held database lock: past it the answer is "Working on it…"). On CI's 2-core machine,
running four workers, the worker hosting a bot has stalled for 4 s (2026-11-30: a modal's refusal
came back as bolt's 404 "unhandled request"), so here bolt waits longer before giving up. A listener
that never acks still fails: bolt answers 404 once this passes."""


DRAIN_WAIT_SECONDS = 30.0
"""How long ``drain`` waits for the bot to be idle before failing the test. Waiting ends as soon as it is idle, so
this only bounds a failure. CI's 2-core machine, running four workers and the browser tests' Chromium, stalled an
outbox delivery for 10 s once (2026-11-30, test_tracker_webhook: a status refresh delivered 0.3 s after the old
10 s limit gave up); a delivery that never ends still fails."""


@dataclass
class HttpResult:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class RunningBot:
    """``incidentbot serve`` in-process: the same aiohttp app, on its own event loop thread, on ``port``
    (0: one the system picks; a browser test names it first, as the web view's URL holds it)."""

    def __init__(self, settings: Settings, port: int = 0) -> None:
        self.settings = settings
        self.web_app, self.usecases = build_server(settings, worker_id=f"test-{uuid.uuid4().hex[:8]}")
        self.worker = self.web_app[OUTBOX_WORKER]
        for listener in self.web_app[BOLT_APP]._async_listeners:
            listener.ack_timeout = ACK_WAIT_SECONDS
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.port = port
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> RunningBot:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def drain(self, timeout: float = DRAIN_WAIT_SECONDS) -> None:
        """Wait until the listeners' post-ack work and the outbox deliveries it queued are done."""

        async def listeners_idle() -> None:
            deadline = self._loop.time() + timeout
            while self._loop.time() < deadline:
                listeners = [
                    t
                    for t in asyncio.all_tasks()
                    if not t.done() and "run_ack_function_asynchronously" in t.get_coro().__qualname__
                ]
                if not listeners:
                    return
                await asyncio.sleep(0.02)
            raise TimeoutError("listeners still running after drain timeout")

        async def pending() -> None:
            await listeners_idle()
            if not await self.worker.wait_idle(timeout):
                raise TimeoutError("outbox still delivering after drain timeout")
            await listeners_idle()

        asyncio.run_coroutine_threadsafe(pending(), self._loop).result(timeout=timeout * 3 + 5)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coroutine`` on the bot's event loop (a job's ``check_once``) and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- requests ------------------------------------------------------------------------------

    def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None, path: str = "/slack/events"
    ) -> HttpResult:
        request = urllib.request.Request(
            self.url + path,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": content_type, **(headers or {})},
        )
        return _send(request)

    def signed(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        extra: dict[str, str] | None = None,
    ) -> HttpResult:
        headers = signing.sign_request(secret, body, timestamp)
        return self.post(body, content_type, {**headers, **(extra or {})})

    def command(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        user_name: str = "alice",
        channel_id: str = "C0GENERAL",
        response_url: str | None = None,
        trigger_id: str | None = None,
        channel_name: str = "general",
        **kwargs: Any,
    ) -> HttpResult:
        body = signing.slash_command_body(
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            trigger_id=trigger_id,
            channel_name=channel_name,
            response_url=response_url or self.fake_response_url(),
        )
        return self.signed(body, "application/x-www-form-urlencoded", **kwargs)

    def fake_response_url(self, name: str | None = None) -> str:
        """A response_url on the fake Slack this bot talks to (never hooks.slack.com)."""
        root = self.settings.slack_api_url.removesuffix("/").removesuffix("/api")
        return f"{root}/response/{name or f'cmd-{uuid.uuid4().hex[:12]}'}"

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None) -> HttpResult:
        body = signing.event_callback_body(event, event_id=event_id)
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return self.signed(body, "application/json", extra=extra)

    def interaction(self, form_body: str) -> HttpResult:
        return self.signed(form_body, "application/x-www-form-urlencoded")

    def get(self, path: str) -> HttpResult:
        return _send(urllib.request.Request(self.url + path, method="GET"))


def _send(request: urllib.request.Request) -> HttpResult:
    try:
        with urllib.request.urlopen(request, timeout=ACK_WAIT_SECONDS + 10) as response:
            return HttpResult(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.read().decode(), dict(error.headers))


def bot_settings(database_url: str, slack_api_url: str, **overrides: str) -> Settings:
    environ = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "INCIDENT_ANNOUNCE_CHANNEL": "C0GENERAL",
        # Pacing waits 1 s between two posts to a channel: the suite's commands, each drained before the next,
        # would wait minutes in all. Its own tests (test_slack_pacing.py) turn it on; batching stays on.
        "SLACK_PACING": "off",
        **overrides,
    }
    return load_settings(environ, env_file=None)


@contextmanager
def running_bot(database_url: str, slack_api_url: str, port: int = 0, **overrides: str) -> Iterator[RunningBot]:
    bot = RunningBot(bot_settings(database_url, slack_api_url, **overrides), port).start()
    try:
        yield bot
    finally:
        bot.stop()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bot.db'}"
