"""Webhooks from the rest of the toolchain: alert notifications (Alertmanager, Grafana) and CI/CD changes.

All are authenticated with ``Authorization: Bearer $INCIDENT_WEBHOOK_TOKEN`` (compared in
constant time); without a configured token they are refused.

Failures are answered in one place, the ``answer_failures`` middleware, by the class of the error
raised (``ERROR_STATUS``; the most specific class listed wins), with a JSON body
``{"ok": false, "error": "<the error's message>"}``:

==========================================================  ====  ==========================================
error                                                       HTTP  when
==========================================================  ====  ==========================================
``Unauthorized``                                            401   missing or wrong bearer token
``BodyUnreadable``                                          400   not JSON (``NaN`` included), or not
                                                                  decodable as its ``Content-Encoding`` says
``BodyTooLarge``                                            413   over ``INCIDENT_ALERT_MAX_BYTES`` (alerts)
                                                                  or 1 MiB (changes), after decompression
``PayloadError``, ``UsageError``, ``TimeParseError``        422   JSON of the wrong shape, naming the field
``NotAllowed``                                              403   the sender may not take this action
``IncidentNotFound``                                        404   the incident named does not exist
``TransitionError``                                         409   illegal in the incident's current state
``StoreUnavailable``, ``ConcurrentUpdate``                  503   database unavailable, too much contention
anything else (any other ``BotError`` included)             500   body ``internal error (id <8 hex>)``, the
                                                                  id logged with the traceback
==========================================================  ====  ==========================================

The answers are chosen for senders that retry 5xx and never retry 4xx (Alertmanager, Grafana): a 4xx
means the request can never be accepted as sent and records nothing; a 5xx makes the sender try
again and, the records being idempotent, nothing is recorded twice. A 500 body holds no exception
text, only the correlation id (``bot.log.log_unexpected``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from aiohttp import web

from bot.config import Settings
from bot.domain.alerts import parse_notification
from bot.domain.changes import parse_change
from bot.domain.effects import Effect
from bot.domain.errors import (
    BotError,
    IncidentNotFound,
    PayloadError,
    TimeParseError,
    TransitionError,
    UsageError,
)
from bot.domain.model import Severity
from bot.domain.policy import NotAllowed
from bot.errors import ConcurrentUpdate, StoreUnavailable
from bot.integrations.trackers.webhook import IssueEvent, issue_event, signature_valid
from bot.log import log_unexpected
from bot.usecases.alerts import AlertUseCases
from bot.usecases.changes import ChangeUseCases
from bot.usecases.followups import FollowupUseCases
from bot.usecases.shared import Outcome

log = structlog.get_logger("incidentbot.webhooks")

ALERTMANAGER_PATH = "/alerts/alertmanager"
GRAFANA_PATH = "/alerts/grafana"
CHANGES_PATH = "/changes"
TRACKER_PATH = "/trackers/webhook"
WEBHOOK_PATHS = frozenset({ALERTMANAGER_PATH, GRAFANA_PATH, CHANGES_PATH, TRACKER_PATH})
TRACKER_MAX_BYTES = 1024 * 1024
"""``POST /trackers/webhook``: largest body accepted, in bytes (GitHub caps deliveries at 25 MB, but an
``issues`` event is a few kilobytes; Jira's issue events are similar)."""
READ_CHUNK_BYTES = 256 * 1024
CHANGES_MAX_BYTES = 1024 * 1024
"""``POST /changes``: largest body accepted (after decompression), in bytes; a change event is a few hundred."""
MAX_SUMMARY_NAMES = 10
CLOSE_CONNECTION = {"Connection": "close"}


class WebhookRefused(BotError):
    """A request refused before any use case runs; ``headers`` go with the answer."""

    def __init__(self, user_message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(user_message)
        self.headers = dict(headers or {})


class Unauthorized(WebhookRefused):
    """No ``Authorization: Bearer`` header, a wrong token, or no token configured."""


class BodyUnreadable(WebhookRefused):
    """The body is not JSON, or cannot be decompressed as its ``Content-Encoding`` says."""


class BodyTooLarge(WebhookRefused):
    """The body, after decompression, is larger than the route's limit."""


ERROR_STATUS: Mapping[type[BaseException], int] = {
    Unauthorized: 401,
    BodyUnreadable: 400,
    BodyTooLarge: 413,
    PayloadError: 422,
    UsageError: 422,
    TimeParseError: 422,
    NotAllowed: 403,
    IncidentNotFound: 404,
    TransitionError: 409,
    StoreUnavailable: 503,
    ConcurrentUpdate: 503,
}
"""The HTTP status of each expected failure (see the module docstring); any other error is 500."""


def register(
    web_app: web.Application,
    alert_usecases: AlertUseCases,
    change_usecases: ChangeUseCases,
    settings: Settings,
    wake_outbox: Callable[[], None],
    alert_plan: Callable[[Outcome, Mapping[str, Severity]], Sequence[Effect]],
) -> None:
    """Add the webhook routes to the bot's aiohttp application.

    ``alert_plan(outcome, severity_map)``: the chat effects an alert notification owes (given by the
    composition root: ``bot.slack.delivery.alert_plan``), queued in the notification's transaction.
    """

    def plan(outcome: Outcome) -> Sequence[Effect]:
        return alert_plan(outcome, settings.alert_severity_map)

    async def alerts(request: web.Request) -> web.Response:
        _authenticate(request, settings)
        body = _parse_json(await _read_limited(request, settings.alert_max_bytes, "INCIDENT_ALERT_MAX_BYTES"))
        notification = parse_notification(body, alert_usecases.clock())

        def plan(outcome: Outcome) -> Sequence[Effect]:
            return alert_plan(outcome, settings.alert_severity_map)

        result = await asyncio.to_thread(
            alert_usecases.receive_notification, notification, settings.alert_severity_map, plan
        )
        wake_outbox()
        answer: dict[str, Any] = {
            "ok": True,
            "action": result.action,
            "incident": result.incident_id,
            "recorded": result.recorded,
            "alerts": len(notification.alerts),
            "updated": list(result.updated),
        }
        if result.previous_incident_id:
            answer["previous_incident"] = result.previous_incident_id
        return web.json_response(answer)

    async def changes(request: web.Request) -> web.Response:
        _authenticate(request, settings)
        change = parse_change(_parse_json(await _read_limited(request, CHANGES_MAX_BYTES)), change_usecases.clock())
        change_id = await asyncio.to_thread(change_usecases.record, change)
        return web.json_response({"ok": True, "id": change_id}, status=201)

    web_app.middlewares.append(answer_failures)
    web_app.add_routes(
        [web.post(ALERTMANAGER_PATH, alerts), web.post(GRAFANA_PATH, alerts), web.post(CHANGES_PATH, changes)]
    )


def register_tracker(
    web_app: web.Application,
    followups: FollowupUseCases,
    settings: Settings,
    wake_outbox: Callable[[], None],
    plan: Callable[[Outcome], Sequence[Effect]],
    current: Callable[[IssueEvent, str], Awaitable[IssueEvent | None]] | None = None,
) -> None:
    """Add ``POST /trackers/webhook`` (with TRACKER and TRACKER_WEBHOOK_SECRET set): an issue closed or
    reopened in the tracker is recorded on its follow-up at once (``FollowupUseCases.sync``, the rules
    of sync-back); ``plan``: the channel line it owes (Slack's, given by the composition root).
    ``current`` reads the issue's state as the tracker has it now (given the event and the issue's URL;
    None when it cannot be read): the event only says that something changed, so a late or redelivered
    event (GitHub's "Redeliver") never records a state the issue no longer has; a failed read records
    nothing and is left to the next sync round.

    Answers 401 for a missing or wrong signature, 400 for a body that is not JSON, else 200 with
    ``{"ok": true, "recorded": bool, "followup": "INC-1#2" or null}``; events that are no close or
    reopen of this project's issues are answered ``{"ok": true, "ignored": true}``.
    """
    tracker = settings.tracker
    assert tracker is not None

    async def receive(request: web.Request) -> web.Response:
        raw = await _read_limited(request, TRACKER_MAX_BYTES)
        if not signature_valid(tracker, request.headers, raw, settings.tracker_webhook_secret.get()):
            raise Unauthorized("the signature is missing or wrong (TRACKER_WEBHOOK_SECRET)")
        body = _parse_json(raw)
        event = issue_event(tracker, request.headers, body, settings.tracker_project)
        if event is None:
            log.info("tracker_webhook_ignored", tracker=tracker, **_event_summary(body))
            return web.json_response({"ok": True, "ignored": True})
        found = await asyncio.to_thread(followups.find_exported, event.key)
        if found is None:
            return web.json_response({"ok": True, "recorded": False, "followup": None})
        if current is not None:
            told = event
            now = await current(event, found.followup.tracker_url or "")
            if now is None:
                log.info("tracker_webhook_unread", tracker=tracker, key=event.key)
                return web.json_response({"ok": True, "recorded": False, "followup": None})
            if now.closed != told.closed:
                log.info("tracker_webhook_stale", tracker=tracker, key=event.key, told_closed=told.closed)
            event = now
        outcome = await asyncio.to_thread(
            followups.sync,
            found.incident_number,
            found.followup.number,
            event.closed,
            event.closed_at,
            tracker,
            plan,
            event.dropped,
        )
        if outcome is not None:
            wake_outbox()
        name = f"{found.incident_id}#{found.followup.number}"
        log.info("tracker_webhook_received", tracker=tracker, key=event.key, followup=name, recorded=bool(outcome))
        return web.json_response({"ok": True, "recorded": outcome is not None, "followup": name})

    web_app.add_routes([web.post(TRACKER_PATH, receive)])


def _event_summary(body: Any) -> dict[str, Any]:
    """What an ignored tracker event was, for its log line: its event or action, issue key or number and
    project (Jira ``issue.fields.project.key``, GitHub ``repository.full_name``), each when given."""
    if not isinstance(body, dict):
        return {}
    issue = _object_at(body, "issue")
    project = _object_at(_object_at(issue, "fields"), "project")
    repository = _object_at(body, "repository")
    summary = {
        "webhook_event": body.get("webhookEvent") or body.get("action"),
        "key": issue.get("key") or issue.get("number"),
        "project": project.get("key") or repository.get("full_name"),
    }
    return {name: str(value)[:100] for name, value in summary.items() if value is not None}


def _object_at(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def status_of(exc: BaseException) -> int:
    """The HTTP status of ``exc`` on a webhook route: its most specific class in ERROR_STATUS, else 500."""
    return next((ERROR_STATUS[cls] for cls in type(exc).__mro__ if cls in ERROR_STATUS), 500)


@web.middleware
async def answer_failures(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The webhook routes' one error router: an error raised by a handler becomes the JSON answer of its
    class (module docstring), logged once; other routes (Slack's, /healthz) are left alone."""
    if request.path not in WEBHOOK_PATHS:
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException:  # aiohttp's own answers (405 for a GET, say) pass through
        raise
    except Exception as exc:
        status = status_of(exc)
        if status == 500 or not isinstance(exc, BotError):
            correlation_id = log_unexpected(log, "webhook_crashed", exc, path=request.path)
            return web.json_response({"ok": False, "error": f"internal error (id {correlation_id})"}, status=500)
        event = "webhook_failed" if status >= 500 else "webhook_refused"
        level = log.info if status in (400, 404, 409, 422) else log.warning
        level(
            event,
            path=request.path,
            status=status,
            reason=exc.user_message,
            size=request.content_length,
            remote=request.remote,
        )
        headers = exc.headers if isinstance(exc, WebhookRefused) else {}
        response = web.json_response({"ok": False, "error": exc.user_message}, status=status, headers=headers)
        if headers.get("Connection") == "close":
            response.force_close()
        return response


def _authenticate(request: web.Request, settings: Settings) -> None:
    expected = settings.webhook_token.get()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("unauthorized", {"WWW-Authenticate": 'Bearer realm="incidentbot"'})


def _parse_json(raw: bytes) -> Any:
    """Strict JSON: NaN/Infinity (which Python's parser would take) and absurd nesting are not JSON here."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise BodyUnreadable("the body is not JSON") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _read_limited(request: web.Request, limit: int, setting: str | None = None) -> bytes:
    """The body, decompressed per its ``Content-Encoding``, up to ``limit`` bytes: 413 JSON beyond it
    (unread when Content-Length says so up front), 400 JSON when it cannot be decompressed.

    The app's shared ``client_max_size`` (1 MiB) guards Slack's endpoint; it applies only to
    ``request.read()``, so reading the stream here gives each route its own limit (``setting`` names
    the variable that sets it, if any) and the same JSON answers as the rest of the route.
    A body that is not what its encoding says (a corrupt ``deflate`` or ``gzip`` or ``br`` stream) can
    never be accepted: 400. (aiohttp decodes gzip, deflate, and, with the Brotli and backports.zstd
    packages this project depends on, br and zstd.)
    """
    named = f" ({setting})" if setting else ""
    # The rest of the body is never read: the connection is not reused.
    too_large = BodyTooLarge(f"the body is larger than {limit} bytes{named}", CLOSE_CONNECTION)
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except web.RequestPayloadError as exc:
        encoding = request.headers.get("Content-Encoding", "") or "none"
        reason = f"the body cannot be decoded as its Content-Encoding ({encoding}) says"
        raise BodyUnreadable(reason, CLOSE_CONNECTION) from exc
    return b"".join(chunks)
