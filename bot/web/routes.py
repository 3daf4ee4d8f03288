"""The web view's routes on the bot's aiohttp application (``register``), its sign-in, and its answers.

Pages: ``/`` (the list, with filters), ``/incidents/INC-n`` (and ``/postmortem.md``, ``/timeline.json``),
``/reports``, ``/slo``; the API: ``/api/v1/incidents``, ``/api/v1/incidents/INC-n`` (``/timeline``,
``/postmortem``), ``/api/v1/report``, ``/api/v1/slo`` and its description ``/api/v1/openapi.yaml``; sign-in:
``/auth/login``, ``/auth/callback``, ``POST /auth/logout``; ``/static/`` (CSS, a small script).

Who may read (``bot.web.security``): a valid ``Authorization: Bearer`` token, or a session from Sign in with
Slack; a wrong token is 401; without either, a page redirects to the sign-in (API: 401 JSON). Failures:
an unknown incident 404, a private incident the reader is not in 403 ("INC-n is a private incident: ..."),
a bad filter or period 400, anything unexpected 500 with only a correlation id (logged with its traceback).
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar
from urllib.parse import urlencode

import jinja2
import structlog
from aiohttp import web

from bot.config import Settings
from bot.domain.errors import BotError, IncidentNotFound, UsageError
from bot.domain.model import Status, parse_incident_id
from bot.domain.privacy import PrivateIncident
from bot.errors import TemplateError
from bot.log import log_unexpected
from bot.views.postmortem import BUNDLED_TEMPLATES_DIR
from bot.web import pages
from bot.web.oidc import SignInRefused, SlackOpenID
from bot.web.pages import DEFAULT_REPORT_PERIOD, Filters, WebReads, minutes_text
from bot.web.security import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SESSION_HOURS,
    SIGN_IN_COOKIE,
    SIGN_IN_MINUTES,
    TOKEN_VIEWER,
    Sessions,
    Viewer,
    bearer_matches,
    safe_next,
    same,
)

log = structlog.get_logger("incidentbot.web")

P = ParamSpec("P")
T = TypeVar("T")
WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
OPENAPI_FILE = WEB_DIR / "openapi.yaml"
API_PREFIX = "/api/v1"
LOGIN_PATH = "/auth/login"
CALLBACK_PATH = "/auth/callback"
LOGOUT_PATH = "/auth/logout"
SIGNED_OUT_PATH = "/auth/signed-out"
API_LIST_LIMIT = 200
USED_STATES_KEPT = 10_000
"""How many used sign-in states a process remembers (each for SIGN_IN_MINUTES) to refuse a replayed callback."""


class Readers(Protocol):
    """Where read-only queries run, never behind writers (``bot.store.threads.DatabaseThreads``, from bot.app)."""

    async def read(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...


class Unauthorized(Exception):
    """No reader, or a wrong bearer token (``wrong_token``)."""

    def __init__(self, wrong_token: bool) -> None:
        super().__init__("wrong bearer token" if wrong_token else "not signed in")
        self.wrong_token = wrong_token


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(BUNDLED_TEMPLATES_DIR / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["minutes"] = minutes_text
    return environment


class WebView:
    """The handlers, over ``reads`` run in ``readers``."""

    def __init__(self, reads: WebReads, readers: Readers, settings: Settings) -> None:
        self.reads = reads
        self.readers = readers
        self.settings = settings
        self.sessions = Sessions(settings.web_session_secret.get())
        self.templates = _environment()
        self.oidc = (
            SlackOpenID(
                settings.slack_oidc_issuer,
                settings.slack_client_id,
                settings.slack_client_secret.get(),
                settings.slack_team_id,
                settings.web_url + CALLBACK_PATH,
            )
            if settings.web_sign_in
            else None
        )
        self._used_states: dict[str, float] = {}

    # -- who reads ---------------------------------------------------------------------------

    def viewer(self, request: web.Request) -> Viewer:
        """The reader of ``request``; raises Unauthorized."""
        token = bearer_matches(request.headers.get("Authorization"), self.settings.web_api_token.get())
        if token is True:
            return TOKEN_VIEWER
        if token is False:
            raise Unauthorized(wrong_token=True)
        found = self.sessions.viewer(request.cookies.get(SESSION_COOKIE), self.settings.slack_team_id)
        if found is None or self.oidc is None:
            raise Unauthorized(wrong_token=False)
        return found

    # -- answers -------------------------------------------------------------------------------

    def render(
        self, name: str, request: web.Request, viewer: Viewer | None, status: int = 200, **context: Any
    ) -> web.Response:
        html = self.templates.get_template(name).render(viewer=viewer, path=request.path, **context)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def page(
        self, build: Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """A page handler: the reader checked (else the sign-in, or 401), failures as pages."""

        @functools.wraps(build)
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                viewer = self.viewer(request)
            except Unauthorized as exc:
                if self.oidc is not None and not exc.wrong_token:
                    raise web.HTTPFound(f"{LOGIN_PATH}?{urlencode({'next': request.path_qs})}") from None
                message = (
                    "The bearer token is wrong." if exc.wrong_token else "Sign in is not configured: use the API token."
                )
                return self.render("error.html.j2", request, None, status=401, title="Not signed in", message=message)
            try:
                return await build(request, viewer)
            except web.HTTPException:
                raise
            except Exception as exc:
                status, message = self.failure(exc, request)
                return self.render(
                    "error.html.j2", request, viewer, status=status, title=_TITLES[status], message=message
                )

        return handler

    def api(
        self, build: Callable[[web.Request, Viewer], Awaitable[Any]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """An API handler: the reader checked (else 401 JSON), ``build``'s value as JSON, failures as
        ``{"ok": false, "error": "..."}``."""

        @functools.wraps(build)
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                viewer = self.viewer(request)
            except Unauthorized as exc:
                error = (
                    "wrong bearer token"
                    if exc.wrong_token
                    else "send Authorization: Bearer <INCIDENT_WEB_API_TOKEN> or sign in"
                )
                return web.json_response(
                    {"ok": False, "error": error},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="incidentbot"'},
                )
            try:
                return web.json_response(await build(request, viewer), dumps=_dumps)
            except web.HTTPException:
                raise
            except Exception as exc:
                status, message = self.failure(exc, request)
                return web.json_response({"ok": False, "error": message}, status=status)

        return handler

    def failure(self, exc: Exception, request: web.Request) -> tuple[int, str]:
        """The status and message of a failed read (module docstring); logs it."""
        if isinstance(exc, IncidentNotFound):
            return 404, exc.user_message
        if isinstance(exc, PrivateIncident):
            log.info("web_private_refused", path=request.path)
            return 403, exc.user_message
        if isinstance(exc, UsageError | TemplateError):
            return 400, exc.user_message
        if isinstance(exc, BotError):
            return 400, exc.user_message
        correlation_id = log_unexpected(log, "web_crashed", exc, path=request.path)
        return 500, f"Something went wrong (id {correlation_id})."

    async def read(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.readers.read(func, *args, **kwargs)

    # -- pages ---------------------------------------------------------------------------------

    async def index(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        filters = Filters.parse(dict(request.query))
        context = await self.read(pages.index_page, self.reads, viewer, filters)
        return await self.read(self.render, "index.html.j2", request, viewer, **context)

    async def incident(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        number = _number(request)
        whole = request.query.get("timeline") == "all"
        context = await self.read(pages.incident_page, self.reads, viewer, number, whole)
        return await self.read(self.render, "incident.html.j2", request, viewer, **context)

    async def postmortem_download(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        number = _number(request)
        document = await self.read(pages.postmortem_markdown, self.reads, viewer, number)
        return web.Response(
            text=document,
            content_type="text/markdown",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="INC-{number}-postmortem.md"'},
        )

    async def timeline_download(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        number = _number(request)
        return web.Response(
            text=await self.read(pages.timeline_file_text, self.reads, viewer, number),
            content_type="application/json",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="INC-{number}-timeline.json"'},
        )

    async def reports(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        period = pages.web_period(request.query.get("since", DEFAULT_REPORT_PERIOD).strip() or DEFAULT_REPORT_PERIOD)
        report = await self.read(pages.report_data, self.reads, period)
        return await self.read(
            self.render,
            "reports.html.j2",
            request,
            viewer,
            report=report,
            period=period,
            periods=pages.PERIODS,
            charts=pages.CHARTS,
        )

    async def report_chart(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        period = pages.web_period(request.query.get("since", DEFAULT_REPORT_PERIOD).strip() or DEFAULT_REPORT_PERIOD)
        chart = await self.read(pages.report_chart, self.reads, period)
        if chart is None:
            raise UsageError("Charts need matplotlib, which is not installed: pip install 'incidentbot[charts]'.")
        return web.Response(body=chart, content_type="image/svg+xml")

    async def slo(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        data = await self.read(pages.slo_data, self.reads)
        catalogued = bool(self.reads.budgets.slos.slos)
        return self.render("slo.html.j2", request, viewer, services=data["services"], catalogued=catalogued)

    # -- the API -------------------------------------------------------------------------------

    async def api_incidents(self, request: web.Request, viewer: Viewer) -> Any:
        statuses: list[Status] = []
        for value in request.query.getall("status", []):
            try:
                statuses.append(Status(value))
            except ValueError:
                raise UsageError(
                    f"status {value!r} is not a status: use one of {', '.join(s.value for s in Status)}."
                ) from None
        limit_text = request.query.get("limit", str(API_LIST_LIMIT))
        if not (limit_text.isascii() and limit_text.isdecimal()) or not 1 <= int(limit_text) <= pages.LIST_LIMIT:
            raise UsageError(f"limit {limit_text!r} is not a number from 1 to {pages.LIST_LIMIT}.")
        return await self.read(pages.list_document, self.reads, viewer, statuses or None, int(limit_text))

    async def api_incident(self, request: web.Request, viewer: Viewer) -> Any:
        return await self.read(pages.incident_document, self.reads, viewer, _number(request))

    async def api_timeline(self, request: web.Request, viewer: Viewer) -> Any:
        return await self.read(pages.timeline_document, self.reads, viewer, _number(request))

    async def api_postmortem(self, request: web.Request, viewer: Viewer) -> Any:
        number = _number(request)
        document = await self.read(pages.postmortem_markdown, self.reads, viewer, number)
        return {"incident": f"INC-{number}", "format": "markdown", "markdown": document}

    async def api_report(self, request: web.Request, viewer: Viewer) -> Any:
        period = pages.web_period(request.query.get("since", DEFAULT_REPORT_PERIOD).strip() or DEFAULT_REPORT_PERIOD)
        return await self.read(pages.report_data, self.reads, period)

    async def api_slo(self, request: web.Request, viewer: Viewer) -> Any:
        return await self.read(pages.slo_data, self.reads)

    async def openapi(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=OPENAPI_FILE.read_bytes(), content_type="application/yaml", charset="utf-8")

    # -- sign-in -------------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.StreamResponse:
        if self.oidc is None:
            return self.render(
                "error.html.j2",
                request,
                None,
                status=404,
                title="Sign-in is off",
                message="Sign in with Slack is not configured here; API clients use the bearer token.",
            )
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        try:
            target = await self.oidc.authorize_url(state, nonce)
        except SignInRefused as exc:
            log.warning("web_sign_in_refused", reason=exc.reason)
            return self.render(
                "error.html.j2", request, None, status=503, title="Sign-in failed", message=exc.user_message
            )
        response = web.HTTPFound(target)
        self.sessions.set_cookie(
            response,
            SIGN_IN_COOKIE,
            self.sessions.new_sign_in(
                state, nonce, safe_next(request.query.get("next")), request.cookies.get(SIGN_IN_COOKIE)
            ),
            SIGN_IN_MINUTES * 60,
        )
        raise response

    async def callback(self, request: web.Request) -> web.StreamResponse:
        if self.oidc is None:
            raise web.HTTPNotFound()
        try:
            state = request.query.get("state", "")
            pending = self.sessions.sign_in(request.cookies.get(SIGN_IN_COOKIE), state)
            if pending is None:
                raise SignInRefused(
                    "bad_state", "This sign-in link is not this browser's, or it is too old; sign in again."
                )
            if not self._first_use(pending["s"]):
                raise SignInRefused("replayed", "This sign-in was already used; sign in again.")
            if request.query.get("error"):
                raise SignInRefused("denied", "Slack did not sign you in (the request was cancelled or refused).")
            identity = await self.oidc.identity(request.query.get("code", ""), pending["n"])
        except SignInRefused as exc:
            log.warning("web_sign_in_refused", reason=exc.reason, remote=request.remote)
            response = self.render(
                "error.html.j2", request, None, status=400, title="Sign-in refused", message=exc.user_message
            )
            self._spend_sign_in(request, response, request.query.get("state", ""))
            return response
        log.info("web_signed_in", user=identity.user_id, team=identity.team_id)
        redirect = web.HTTPFound(safe_next(pending["p"]))
        self.sessions.set_cookie(
            redirect,
            SESSION_COOKIE,
            self.sessions.new_session(identity.user_id, identity.name, identity.team_id),
            SESSION_HOURS * 3600,
        )
        self._spend_sign_in(request, redirect, pending["s"])
        raise redirect

    def _spend_sign_in(self, request: web.Request, response: web.StreamResponse, state: str) -> None:
        """Drop sign-in ``state`` from the browser's pending ones (the cookie goes when none is left)."""
        rest = self.sessions.without_sign_in(request.cookies.get(SIGN_IN_COOKIE), state)
        if rest is None:
            self.sessions.clear_cookie(response, SIGN_IN_COOKIE)
        else:
            self.sessions.set_cookie(response, SIGN_IN_COOKIE, rest, SIGN_IN_MINUTES * 60)

    def _first_use(self, state: str) -> bool:
        """True the first time this process sees ``state`` within SIGN_IN_MINUTES (a replayed callback is refused
        even if the provider were to accept its code twice)."""
        now = time.monotonic()
        if len(self._used_states) >= USED_STATES_KEPT:
            self._used_states = {s: t for s, t in self._used_states.items() if now - t < SIGN_IN_MINUTES * 60}
        if state in self._used_states:
            return False
        self._used_states[state] = now
        return True

    async def logout(self, request: web.Request) -> web.StreamResponse:
        viewer = self.sessions.viewer(request.cookies.get(SESSION_COOKIE), self.settings.slack_team_id)
        try:
            token = (await request.post()).get("csrf")
        except (ValueError, LookupError, UnicodeDecodeError, web.HTTPException):  # a form aiohttp cannot read
            token = None
        if viewer is None or not isinstance(token, str) or not same(token, viewer.csrf):
            log.warning("web_csrf_refused", path=request.path, remote=request.remote)
            return self.render(
                "error.html.j2",
                request,
                None,
                status=403,
                title="Refused",
                message="This form is out of date or not from this site; reload the page and try again.",
            )
        log.info("web_signed_out", user=viewer.user_id)
        response = web.HTTPFound(SIGNED_OUT_PATH)
        self.sessions.clear_cookie(response, SESSION_COOKIE)
        raise response

    async def signed_out(self, request: web.Request) -> web.StreamResponse:
        return self.render("signed_out.html.j2", request, None)


_TITLES = {400: "Not understood", 403: "Private incident", 404: "Not found", 500: "Something went wrong"}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _number(request: web.Request) -> int:
    number = parse_incident_id(request.match_info["incident"])
    if number is None:
        raise IncidentNotFound(
            f"{request.match_info['incident'][:40]} is not an incident id; use INC-<number>, e.g. INC-7."
        )
    return number


SERVER_TIMING = "Server-Timing"


@web.middleware
async def server_timing(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """``Server-Timing: app;dur=<ms>`` on every answer: how long the handler took to produce it (W3C Server
    Timing), which the benchmark reads and a browser's developer tools show."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[SERVER_TIMING] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
        raise
    response.headers[SERVER_TIMING] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
    return response


NO_STORE = {"Cache-Control": "no-store"}
"""On every answer but ``/static``: a page or API answer may hold a private incident, which no shared or browser
cache should keep after sign-out."""


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Adds SECURITY_HEADERS (and NO_STORE, but to ``/static``) to every answer (404s and redirects included).

    An error raised outside a web handler (no such route, a method not allowed: aiohttp's plain-text answers) is
    ``{"ok": false, "error": ...}`` JSON under ``/api/``, as the handlers' own errors are; a crash anywhere is a
    500 naming only a correlation id (logged with the path), never Python's text."""
    extra = {} if request.path.startswith("/static/") else NO_STORE
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith(API_PREFIX + "/"):
            response = web.json_response({"ok": False, "error": exc.reason.lower()}, status=exc.status)
            for name in ("Allow", "WWW-Authenticate"):
                if name in exc.headers:
                    response.headers[name] = exc.headers[name]
        else:
            exc.headers.update(SECURITY_HEADERS | extra)
            raise
    except Exception as exc:
        correlation_id = log_unexpected(log, "web_crashed", exc, path=request.path)
        message = f"Something went wrong (id {correlation_id})."
        if request.path.startswith(API_PREFIX + "/"):
            response = web.json_response({"ok": False, "error": message}, status=500)
        else:
            response = web.Response(status=500, text=message)
    for name, value in (SECURITY_HEADERS | extra).items():
        response.headers.setdefault(name, value)
    return response


def register(web_app: web.Application, reads: WebReads, readers: Readers, settings: Settings) -> WebView:
    """Add the web view's routes and security headers to the bot's application (``settings.web`` must be on)."""
    view = WebView(reads, readers, settings)
    incident = r"/incidents/{incident:[Ii][Nn][Cc]-[0-9]+}"  # any case, as parse_incident_id reads it
    web_app.middlewares.append(security_headers)
    web_app.middlewares.append(server_timing)
    web_app.add_routes(
        [
            web.get("/", view.page(view.index)),
            web.get(incident, view.page(view.incident)),
            web.get(incident + "/postmortem.md", view.page(view.postmortem_download)),
            web.get(incident + "/timeline.json", view.page(view.timeline_download)),
            web.get("/reports", view.page(view.reports)),
            web.get("/reports/chart.svg", view.page(view.report_chart)),
            web.get("/slo", view.page(view.slo)),
            web.get(API_PREFIX + "/incidents", view.api(view.api_incidents)),
            web.get(API_PREFIX + incident, view.api(view.api_incident)),
            web.get(API_PREFIX + incident + "/timeline", view.api(view.api_timeline)),
            web.get(API_PREFIX + incident + "/postmortem", view.api(view.api_postmortem)),
            web.get(API_PREFIX + "/report", view.api(view.api_report)),
            web.get(API_PREFIX + "/slo", view.api(view.api_slo)),
            web.get(API_PREFIX + "/openapi.yaml", view.openapi),
            web.get(LOGIN_PATH, view.login),
            web.get(CALLBACK_PATH, view.callback),
            web.post(LOGOUT_PATH, view.logout),
            web.get(SIGNED_OUT_PATH, view.signed_out),
            web.static("/static", STATIC_DIR, append_version=False),
        ]
    )

    async def close(_app: web.Application) -> None:
        if view.oidc is not None:
            await view.oidc.close()

    web_app.on_cleanup.append(close)
    return view


__all__ = ["Readers", "WebReads", "WebView", "register"]
