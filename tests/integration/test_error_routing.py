"""One error router per surface, through the real aiohttp app on 127.0.0.1: the webhooks answer each
error class with its documented HTTP status, and every Slack listener's failure reaches its user as the
error's own sentence or a correlation id (never an exception's text), logged once with that id.

The webhooks' failures are raised from the use case each route calls (the router sees them as it would
in production); the statuses expected are written out here from the table in the webhooks module's
docstring and the README, not read from the code. Error routing does not depend on the database, so
these run on SQLite only.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import bot
from bot.domain.errors import (
    BotError,
    IncidentNotFound,
    PayloadError,
    TimeParseError,
    TransitionError,
    UnknownSlo,
    UsageError,
)
from bot.domain.grammar import parse_command
from bot.domain.model import Incident, Severity, Status
from bot.domain.policy import NotAllowed
from bot.domain.privacy import PrivateIncident, PrivatePublication
from bot.errors import ConcurrentUpdate, ConfigError, StoreUnavailable, TemplateError
from bot.integrations.webhooks import BodyTooLarge, BodyUnreadable, Unauthorized, WebhookRefused
from bot.slack.identity import SlackSetupFault, TokenRefused
from bot.slack.ids import ActionId, BlockId, CallbackId, InputId
from bot.slack.server import AppTokenRefused
from bot.store.copy import CopyMismatch, CopyRefused
from bot.usecases.shared import Actor
from bot.web.oidc import SignInRefused
from tests.integration.conftest import SlackDriver
from tests.support import signing
from tests.support.bot_server import HttpResult, RunningBot, _send, running_bot, sqlite_url
from tests.support.fake_slack import FakeSlack

TOKEN = "s3cret-webhook-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
SECRET = "secret connection string postgres://admin:hunter2@db"
"""The text of every unexpected error raised here: it must never reach a sender or a Slack user."""
REFERENCE = re.compile(r"reference `([0-9a-f]{8})`")
INTERNAL_ERROR = re.compile(r"internal error \(id ([0-9a-f]{8})\)")

CHANGE = {"service": "cdn-edge", "description": "WAF rule deployed", "author": "carol"}
NOTIFICATION = {
    "version": "4",
    "groupKey": '{}:{alertname="HighErrorRate"}',
    "status": "firing",
    "receiver": "incidentbot",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "severity": "critical"},
            "annotations": {"summary": "5xx above 5%"},
            "startsAt": "2026-11-24T13:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "a1b2c3",
        }
    ],
}
ROUTES = {
    "/alerts/alertmanager": (("alerts", "receive_notification"), NOTIFICATION),
    "/alerts/grafana": (("alerts", "receive_notification"), NOTIFICATION),
    "/changes": (("changes", "record"), CHANGE),
}
"""Each webhook route, the use case it calls (aggregate, method), and a body it accepts."""

PRIVATE = Incident(1, "t", Severity.SEV1, Status.DECLARED, datetime(2026, 11, 22, tzinfo=UTC), "U0ALICE", private=True)

EXPECTED_STATUS: list[tuple[BaseException, int]] = [
    (Unauthorized("unauthorized"), 401),
    (BodyUnreadable("the body is not JSON"), 400),
    (BodyTooLarge("the body is larger than 1048576 bytes"), 413),
    (PayloadError("`service` is required."), 422),
    (UsageError("`impact` needs a percentage.", "impact <N%>"), 422),
    (TimeParseError("`soon` is not a time I understand."), 422),
    (NotAllowed("Only the lead <@U0ALICE> may resolve INC-1.", "Only the lead @alice may resolve INC-1."), 403),
    (IncidentNotFound("There is no incident INC-999."), 404),
    # firstrun: a subclass of IncidentNotFound, so it is answered as one (not found)
    (UnknownSlo("There is no SLO for 'cdn-egde' in the catalogue (known: cdn-edge). Did you mean 'cdn-edge'?"), 404),
    (TransitionError("INC-1 is already resolved."), 409),
    (StoreUnavailable("The incident database is unavailable right now; please retry shortly."), 503),
    (ConcurrentUpdate("Too many people changed this incident at once; please try again."), 503),
    (BotError("a failure of no more specific class"), 500),
    (WebhookRefused("refused for no named reason"), 500),
    (ConfigError("SLACK_SIGNING_SECRET is missing."), 500),
    (TemplateError("The template postmortem.md.j2 is broken."), 500),
    # private incidents: refusals of Slack queries and of publication; a webhook never reads nor publishes one
    (PrivateIncident(PRIVATE), 500),
    (PrivatePublication(PRIVATE), 500),
    # db copy/backup/restore: CLI-only errors; a webhook never meets them, and would answer 500 if it did
    (CopyRefused("The target already holds data: copy into an empty database, or add --force."), 500),
    (CopyMismatch("INC-1's timeline differs: checksum 9ae3e496b4ab in the source, f9fa3388f001 in the target"), 500),
    # the web view's sign-in: refused on its own pages; a webhook never signs anyone in
    (SignInRefused("bad_state", "This sign-in link is not this browser's, or it is too old; sign in again."), 500),
    (SlackSetupFault("Slack answered invalid_auth."), 500),
    (TokenRefused("Slack refused SLACK_BOT_TOKEN."), 500),
    (AppTokenRefused("Slack refused SLACK_APP_TOKEN."), 500),
    (RuntimeError(SECRET), 500),
    (KeyError(SECRET), 500),
    (ValueError(SECRET), 500),
]
"""Every error class a webhook can meet, with the status the webhooks module's docstring gives it."""


def _bot_errors() -> set[type[BotError]]:
    """Every subclass of BotError defined anywhere in the ``bot`` package (all its modules imported)."""
    for module in pkgutil.walk_packages(bot.__path__, "bot."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
    found: set[type[BotError]] = set()
    pending: list[type[BotError]] = [BotError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("bot.") and cls not in found:
            found.add(cls)
            pending.extend(cls.__subclasses__())
    return found


def _post(bot: RunningBot, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> HttpResult:
    return _send(urllib.request.Request(bot.url + path, data=body, method=method, headers=headers))


@pytest.fixture(scope="module")
def webhook_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """One bot with a webhook token on SQLite for the module (each test restores what it patches)."""
    with (
        FakeSlack() as fake,
        running_bot(
            sqlite_url(tmp_path_factory.mktemp("webhooks")), fake.base_url, INCIDENT_WEBHOOK_TOKEN=TOKEN
        ) as running,
    ):
        yield running


def _failing_route(
    webhook_bot: RunningBot, path: str, failure: BaseException
) -> tuple[HttpResult, list[MutableMapping[str, Any]]]:
    """POST an acceptable body to ``path`` while its use case raises ``failure``; the answer and the log."""
    (part, use_case), body = ROUTES[path]

    def failing(*_args: object, **_kwargs: object) -> None:
        raise failure

    with pytest.MonkeyPatch.context() as patch, capture_logs() as logs:
        patch.setattr(getattr(webhook_bot.usecases, part), use_case, failing)
        result = _post(webhook_bot, path, json.dumps(body).encode(), AUTH)
    return result, logs


class TestWebhookErrorRouter:
    def test_every_error_class_of_the_bot_has_an_expected_status_here(self) -> None:
        """A new BotError subclass fails this test until its webhook status is decided in the table above."""
        tabled = {type(error) for error, _ in EXPECTED_STATUS}
        assert _bot_errors() - tabled == set()

    @pytest.mark.parametrize("path", list(ROUTES))
    @pytest.mark.parametrize(
        ("failure", "status"), EXPECTED_STATUS, ids=[type(error).__name__ for error, _ in EXPECTED_STATUS]
    )
    def test_each_error_class_gets_its_documented_status(
        self, webhook_bot: RunningBot, path: str, failure: BaseException, status: int
    ) -> None:
        """Expected errors: their status and their own message; anything else: 500 with only an id."""
        result, _logs = _failing_route(webhook_bot, path, failure)
        assert result.status == status, result.body
        if status == 500:
            assert INTERNAL_ERROR.fullmatch(result.json()["error"]), result.body
        else:
            assert isinstance(failure, BotError)
            assert result.json() == {"ok": False, "error": failure.user_message}

    @pytest.mark.parametrize("path", list(ROUTES))
    def test_an_unknown_incident_is_404_not_503(self, webhook_bot: RunningBot, path: str) -> None:
        """The issue's example: IncidentNotFound read as "database down" (503); it is 404 with its message."""
        result, _logs = _failing_route(webhook_bot, path, IncidentNotFound("There is no incident INC-999."))
        assert (result.status, result.json()) == (404, {"ok": False, "error": "There is no incident INC-999."})

    @pytest.mark.parametrize("path", list(ROUTES))
    def test_a_500_shows_only_a_correlation_id_which_the_log_holds_once(
        self, webhook_bot: RunningBot, path: str
    ) -> None:
        """The body is `internal error (id <8 hex>)` and nothing of the exception; one log line has that id and
        the traceback."""
        result, logs = _failing_route(webhook_bot, path, RuntimeError(SECRET))
        assert result.status == 500
        match = INTERNAL_ERROR.fullmatch(result.json()["error"])
        assert match and set(result.json()) == {"ok", "error"}
        for leak in ("hunter2", "RuntimeError", "Traceback", "secret"):
            assert leak not in result.body
        [logged] = [entry for entry in logs if entry.get("correlation_id") == match.group(1)]
        assert logged["event"] == "webhook_crashed" and logged["log_level"] == "error"
        assert logged["path"] == path and logged["error_type"] == "RuntimeError"
        assert isinstance(logged["exc_info"], RuntimeError)

    def test_two_failures_get_two_ids(self, webhook_bot: RunningBot) -> None:
        """Each failure has its own id, so the log line of one failure can be found."""
        bodies = [_failing_route(webhook_bot, "/changes", RuntimeError(SECRET))[0].json()["error"] for _ in range(2)]
        ids = [match.group(1) for match in map(INTERNAL_ERROR.fullmatch, bodies) if match]
        assert len(ids) == 2 and ids[0] != ids[1]

    @pytest.mark.parametrize(
        ("path", "body", "headers", "status", "error"),
        [
            ("/changes", json.dumps(CHANGE).encode(), {"Content-Type": "application/json"}, 401, "unauthorized"),
            (
                "/alerts/alertmanager",
                json.dumps(NOTIFICATION).encode(),
                {**AUTH, "Authorization": "Bearer wrong-token"},
                401,
                "unauthorized",
            ),
            ("/alerts/grafana", b"nope", AUTH, 400, "the body is not JSON"),
            ("/changes", b'{"service": NaN}', AUTH, 400, "the body is not JSON"),
            (
                "/changes",
                b"this is not a deflate stream",
                {**AUTH, "Content-Encoding": "deflate"},
                400,
                "the body cannot be decoded as its Content-Encoding (deflate) says",
            ),
            ("/changes", b"[" + b" " * (1024 * 1024) + b"]", AUTH, 413, "the body is larger than 1048576 bytes"),
            (
                "/changes",
                zlib.compress(b"[" + b" " * (1024 * 1024) + b"]"),
                {**AUTH, "Content-Encoding": "deflate"},
                413,
                "the body is larger than 1048576 bytes",
            ),
            ("/changes", json.dumps({"service": "cdn-edge"}).encode(), AUTH, 422, "`description` is required."),
        ],
        ids=[
            "no-token",
            "wrong-token",
            "not-json",
            "nan",
            "corrupt-deflate",
            "too-large",
            "too-large-inflated",
            "shape",
        ],
    )
    def test_requests_refused_at_the_door_get_their_status_and_reason(
        self, webhook_bot: RunningBot, path: str, body: bytes, headers: dict[str, str], status: int, error: str
    ) -> None:
        """Real bad requests (no patching): 401, 400, 413 and 422 with the documented reason, nothing recorded."""
        before = webhook_bot.usecases.incidents.summaries()
        result = _post(webhook_bot, path, body, headers)
        assert (result.status, result.json()) == (status, {"ok": False, "error": error})
        assert webhook_bot.usecases.incidents.summaries() == before
        if status == 401:
            assert result.headers["WWW-Authenticate"] == 'Bearer realm="incidentbot"'
        if status == 413:
            assert result.headers["Connection"] == "close"

    def test_aiohttp_s_own_answers_pass_through(self, webhook_bot: RunningBot) -> None:
        """A GET on a webhook route is aiohttp's 405, not a 500 of the router."""
        assert _post(webhook_bot, "/changes", b"", {}, method="GET").status == 405

    def test_an_accepted_change_is_still_201(self, webhook_bot: RunningBot) -> None:
        """The router leaves successful answers alone."""
        result = _post(webhook_bot, "/changes", json.dumps(CHANGE).encode(), AUTH)
        assert result.status == 201 and result.json()["ok"] is True


# --------------------------------------------------------------------------- Slack


@pytest.fixture()
def slack_on_sqlite(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    with running_bot(sqlite_url(tmp_path), fake_slack.base_url) as running:
        yield SlackDriver(running, fake_slack)


SLOW = 2.6
"""Seconds a patched use case waits before failing: past the listeners' 2-second ack budget."""


def _raising(failure: BaseException, after: float = 0.0) -> Callable[..., Any]:
    def failing(*_args: object, **_kwargs: object) -> None:
        time.sleep(after)
        raise failure

    return failing


def _declare_submission() -> str:
    return signing.view_submission_body(
        CallbackId.DECLARE,
        {
            BlockId.TITLE: {InputId.TITLE: signing.text_input("Search results empty")},
            BlockId.SEVERITY: {InputId.SEVERITY: signing.static_select("sev2")},
            BlockId.DESCRIPTION: {InputId.DESCRIPTION: signing.text_input(None)},
        },
        private_metadata=json.dumps({"channel_id": "C0GENERAL"}),
    )


def _command_submission() -> str:
    return signing.view_submission_body(
        CallbackId.COMMAND,
        {BlockId.TEXT: {InputId.TEXT: signing.text_input("checked the WAF")}},
        private_metadata=json.dumps({"verb": "note", "incident": 1}),
    )


def _told_ephemerally(slack: SlackDriver, _result: HttpResult) -> str:
    [told] = slack.fake.ephemerals
    assert told["to_user"] == "U0ALICE"
    return str(told["channel"]) + "|" + str(told["text"])


def _told_in_the_field(_slack: SlackDriver, result: HttpResult) -> str:
    answer = result.json()
    assert answer["response_action"] == "errors" and set(answer["errors"]) == {BlockId.TEXT}
    return str(answer["errors"][BlockId.TEXT])


SURFACES: dict[
    str, tuple[str, float, Callable[[SlackDriver], HttpResult], Callable[[SlackDriver, HttpResult], str]]
] = {
    "button": (
        "get",
        0.0,
        lambda s: s.bot.interaction(signing.block_actions_body(ActionId.ADD_NOTE, value="1", channel_id="C0INC")),
        _told_ephemerally,
    ),
    "timeline-button": (
        "recent_timeline",
        0.0,
        lambda s: s.bot.interaction(signing.block_actions_body(ActionId.SHOW_TIMELINE, value="1", channel_id="C0INC")),
        _told_ephemerally,
    ),
    "declare-modal": ("declare_once", 0.0, lambda s: s.bot.interaction(_declare_submission()), _told_ephemerally),
    "command-modal": ("run_once", 0.0, lambda s: s.bot.interaction(_command_submission()), _told_in_the_field),
    "command-modal-past-budget": (
        "run_once",
        SLOW,
        lambda s: s.bot.interaction(_command_submission()),
        _told_ephemerally,
    ),
}
"""Interactive surfaces: the use case to break, how long it takes to fail, the request, and where its user
reads the answer (``channel|text`` for an ephemeral note, the field error for a modal kept open)."""
WHERE_TOLD = {
    "button": "C0INC|",
    "timeline-button": "C0INC|",
    "declare-modal": "C0GENERAL|",
    "command-modal": "",
    "command-modal-past-budget": "C0INC|",
}
"""Where each surface's user is told: the clicked channel, the channel /incident was typed in, the incident's."""


class TestSlackErrorRouter:
    @pytest.fixture()
    def incident(self, slack_on_sqlite: SlackDriver) -> SlackDriver:
        """INC-1 bound to channel C0INC (its own channel as the outbox would have made it)."""
        slack = slack_on_sqlite
        slack.bot.usecases.incidents.run(parse_command("declare Outage"), Actor("U0ALICE", "alice"))
        slack.fake.add_channel("C0INC", "inc-1-outage", members=["U0ALICE"])
        slack.bot.usecases.incidents.bind_channel(1, "C0INC")
        return slack

    @pytest.mark.parametrize("surface", list(SURFACES))
    def test_an_unexpected_failure_shows_only_a_reference_logged_once(
        self, incident: SlackDriver, surface: str
    ) -> None:
        """The user reads a reference id in the right place; the log holds it once, with the traceback."""
        use_case, after, send, read = SURFACES[surface]
        setattr(incident.bot.usecases.incidents, use_case, _raising(RuntimeError(SECRET), after))
        with capture_logs() as logs:
            result = send(incident)
            incident.bot.drain()
        assert result.status == 200
        told = read(incident, result)
        assert told.startswith(WHERE_TOLD[surface]), told
        match = re.search(r"reference `?([0-9a-f]{8})`?", told)
        assert match, told
        assert "hunter2" not in told and "RuntimeError" not in told
        SlackDriver.assert_no_leak(told)
        [logged] = [entry for entry in logs if entry.get("correlation_id") == match.group(1)]
        assert (logged["event"], logged["user"], logged["error_type"]) == (
            "unexpected_error",
            "U0ALICE",
            "RuntimeError",
        )
        assert [entry["event"] for entry in logs].count("unexpected_error") == 1
        if surface != "declare-modal":  # a declaration is about no incident yet
            assert logged["incident"] == "INC-1"

    @pytest.mark.parametrize("surface", list(SURFACES))
    def test_an_expected_failure_shows_its_own_sentence(self, incident: SlackDriver, surface: str) -> None:
        """A BotError's message reaches the user as written, nothing is logged as unexpected."""
        use_case, after, send, read = SURFACES[surface]
        setattr(
            incident.bot.usecases.incidents, use_case, _raising(TransitionError("INC-1 is already resolved."), after)
        )
        with capture_logs() as logs:
            result = send(incident)
            incident.bot.drain()
        assert result.status == 200
        assert read(incident, result) == WHERE_TOLD[surface] + "INC-1 is already resolved."
        assert "unexpected_error" not in [entry["event"] for entry in logs]

    def test_a_listener_failing_right_after_its_ack_still_answers_200(self, incident: SlackDriver) -> None:
        """30 clicks of a garbled button (it acks, then fails at once): every click is 200 and told once.

        bolt clears the ack of a failed listener after the error handler; without the router putting it
        back, a failure within bolt's 10 ms poll turned the click into a 404 after 3 s (about half of them)."""
        statuses = []
        for _ in range(30):
            click = signing.block_actions_body(ActionId.ADD_NOTE, value="not-a-number", channel_id="C0INC")
            statuses.append(incident.bot.interaction(click).status)
        incident.bot.drain()
        assert statuses == [200] * 30
        assert len(incident.fake.ephemerals) == 30

    def test_a_command_failing_before_the_ack_is_answered_in_the_ack(self, slack_on_sqlite: SlackDriver) -> None:
        """`list` whose query crashes: the ack itself carries the reference, with the Slack ids logged."""
        slack = slack_on_sqlite
        slack.bot.usecases.incidents.summaries = _raising(RuntimeError(SECRET))  # type: ignore[method-assign]
        with capture_logs() as logs:
            reply = slack.command("list")
        assert reply.result.status == 200
        assert reply.payload["response_type"] == "ephemeral"
        match = REFERENCE.search(reply.text)
        assert match and "hunter2" not in reply.result.body
        assert slack.responses() == []
        [logged] = [entry for entry in logs if entry.get("correlation_id") == match.group(1)]
        assert (logged["user"], logged["channel"], logged["command"]) == ("U0ALICE", "C0GENERAL", "/incident")

    def test_a_command_failing_past_the_ack_budget_is_answered_through_response_url(
        self, incident: SlackDriver
    ) -> None:
        """`INC-1 note` whose transaction waits 2.6 s then fails: "Working on it…" first, then the reference."""
        incident.bot.usecases.incidents.run = _raising(RuntimeError(SECRET), SLOW)  # type: ignore[method-assign]
        with capture_logs() as logs:
            reply = incident.command("INC-1 note checked the WAF")
        assert reply.result.status == 200 and reply.result.json()["text"] == "Working on it…"
        [followup] = incident.responses()
        assert (followup["response_type"], followup["replace_original"]) == ("ephemeral", False)
        match = REFERENCE.search(str(followup["text"]))
        assert match and "hunter2" not in str(followup["text"])
        [logged] = [entry for entry in logs if entry.get("correlation_id") == match.group(1)]
        assert logged["incident"] == "INC-1"

    def test_a_failing_event_is_logged_with_its_ids_and_acknowledged(self, slack_on_sqlite: SlackDriver) -> None:
        """App Home whose query crashes: 200 to Slack (no retry storm), nothing published, one log line."""
        slack = slack_on_sqlite
        slack.bot.usecases.incidents.summaries = _raising(RuntimeError(SECRET))  # type: ignore[method-assign]
        with capture_logs() as logs:
            result = slack.bot.event(signing.app_home_opened_event("U0ALICE"))
            slack.bot.drain()
        assert result.status == 200
        assert slack.fake.calls_to("views.publish") == []
        [logged] = [entry for entry in logs if entry["event"] == "unexpected_error"]
        assert (logged["user"], logged["slack_event"]) == ("U0ALICE", "app_home_opened")
        assert re.fullmatch(r"[0-9a-f]{8}", logged["correlation_id"])

    def test_an_expected_failure_of_an_event_is_a_warning_with_its_reason(self, incident: SlackDriver) -> None:
        """:pushpin: while the database is away: 200 to Slack, one `slack_event_failed` warning with the reason."""
        incident.bot.usecases.incidents.find_by_channel = _raising(
            StoreUnavailable("The incident database is unavailable.")
        )  # type: ignore[method-assign]
        with capture_logs() as logs:
            result = incident.bot.event(
                signing.reaction_added_event("pushpin", channel="C0INC", ts="1732458000.000100")
            )
            incident.bot.drain()
        assert result.status == 200
        [failed] = [entry for entry in logs if entry["event"] == "slack_event_failed"]
        assert (failed["log_level"], failed["reason"], failed["channel"], failed["slack_event"]) == (
            "warning",
            "The incident database is unavailable.",
            "C0INC",
            "reaction_added",
        )
