"""What the fake GitHub and fake Jira share: an aiohttp server on 127.0.0.1:0 started in the test's
event loop, a record of every request, and queued faults applied per route before (or after) a
handler acts.

Faults (``Fault``): answer ``status`` with ``body``/``headers`` instead of acting (``after=False``), or
act and then answer ``status`` (``after=True``: the tracker did the work, the client sees a failure);
``drop``: act, then cut the connection without an answer (a crash between the tracker's answer and
our commit looks the same to the caller); ``hang``: answer only after ``seconds`` (a timeout);
``html``: a proxy's HTML page with ``status``; ``echo_token``: a body quoting the Authorization
header, to prove the client redacts what a tracker echoes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

Handler = Callable[[web.Request, Any], Awaitable[web.Response]]


@dataclass
class Fault:
    route: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False
    drop: bool = False
    hang: float = 0.0
    html: bool = False
    echo_token: bool = False
    times: int = 1


@dataclass(frozen=True)
class Recorded:
    """One request the fake received: route name, method, path, query, JSON body (None if none)."""

    route: str
    method: str
    path: str
    query: dict[str, str]
    body: Any


class FakeTrackerServer:
    """Subclasses register routes with ``route(name, method, path, handler)`` in ``_routes``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self._app = web.Application()
        self._runner: web.AppRunner | None = None
        self._gates: dict[str, tuple[asyncio.Event, list[int]]] = {}
        self._latency: dict[str, float] = {}
        self.url = ""
        self._routes()

    def _routes(self) -> None:
        raise NotImplementedError

    def authorized(self, request: web.Request) -> bool:
        raise NotImplementedError

    def unauthorized(self) -> web.Response:
        raise NotImplementedError

    def route(self, name: str, method: str, path: str, handler: Handler) -> None:
        async def serve(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            body = json.loads(raw) if raw else None
            self.requests.append(Recorded(name, request.method, request.path, dict(request.query), body))
            fault = self._take(name)
            if not self.authorized(request):
                return self.unauthorized()
            await self._pass_gate(name)
            if name in self._latency:
                await asyncio.sleep(self._latency[name])
            if fault is not None and not fault.after and not fault.drop:
                return await self._fail(fault, request)
            response = await handler(request, body)
            if fault is not None and fault.drop:
                assert request.transport is not None
                request.transport.abort()
                return response
            if fault is not None:
                return await self._fail(fault, request)
            return response

        self._app.router.add_route(method, path, serve)

    def fail(self, route: str, status: int = 500, **options: Any) -> Fault:
        """Queue a fault on ``route`` (see the module docstring); returns it."""
        fault = Fault(route, status, **options)
        self.faults.append(fault)
        return fault

    def gate(self, route: str, count: int) -> None:
        """Hold the first ``count`` requests of ``route`` until all ``count`` arrived (replicas that
        look up at the same moment)."""
        self._gates[route] = (asyncio.Event(), [count])

    def slow(self, route: str, seconds: float) -> None:
        """Answer every later request of ``route`` ``seconds`` late (a round trip across the internet)."""
        self._latency[route] = seconds

    async def _pass_gate(self, route: str) -> None:
        gate = self._gates.get(route)
        if gate is None:
            return
        event, left = gate
        left[0] -= 1
        if left[0] <= 0:
            event.set()
            del self._gates[route]
        await asyncio.wait_for(event.wait(), 5)

    def calls(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    def _take(self, route: str) -> Fault | None:
        for fault in self.faults:
            if fault.route in (route, "*"):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _fail(self, fault: Fault, request: web.Request) -> web.Response:
        if fault.hang:
            await asyncio.sleep(fault.hang)
        if fault.html:
            page = f"<html><body><h1>{fault.status} Bad Gateway</h1></body></html>"
            return web.Response(status=fault.status, text=page, content_type="text/html", headers=fault.headers)
        body = fault.body
        if fault.echo_token:
            body = {"message": f"Bad credentials for {request.headers.get('Authorization', '')}"}
        return web.json_response(body if body is not None else {}, status=fault.status, headers=fault.headers)

    async def start(self) -> str:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


Fake = TypeVar("Fake", bound=FakeTrackerServer)


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    """Run ``fake`` on its own event loop in a background thread (for a bot on another loop, or the CLI
    in a child process); stopped on exit. Faults and helpers may be used from the test's thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
