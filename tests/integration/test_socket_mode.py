"""`incidentbot socket` as a real process against a fake Socket Mode endpoint (issue 11, item 12).

Slack's requests arrive as Socket Mode envelopes over a WebSocket served by the test; the bot's
Web API calls go to the fake Slack; /healthz and the webhooks are served on the process's HTTP port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import wire_usecases
from bot.cli.demo import SEED_STEPS
from bot.domain.commands import Declare
from bot.domain.model import Severity
from bot.slack.ids import ActionId
from bot.slack.server import SocketModeConnection
from bot.store import open_store
from bot.usecases.shared import Actor, utc_now
from tests.support import signing
from tests.support.fake_slack import BOT_USER_ID
from tests.support.fake_socket_mode import (
    APP_TOKEN,
    SocketModeEndpoint,
    SocketModeSlack,
    form_payload,
    interactive_payload,
)
from tests.support.postgres import PostgresServer
from tests.support.serve_process import Server, free_port, start_failures

WEBHOOK_TOKEN = "socket-webhook-token"
USERS = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL", "dave": "U0DAVE"}
ALERT = Path(__file__).parents[1] / "payloads" / "alertmanager_firing.json"


@dataclass
class SocketBot:
    server: Server
    fake: SocketModeSlack
    endpoint: SocketModeEndpoint
    after_stop: list[Callable[[], None]] = field(default_factory=list)
    """Checks a test of a shared process leaves for once it has stopped (and drained): see ``redelivery_bot``."""
    declared: int = 0
    """How many incidents the tests sharing this process have declared (each declares the next INC-n)."""

    def command(self, text: str, *, user: str = "alice", channel_id: str = "C0GENERAL", **extra: Any) -> dict[str, Any]:
        """Send a /incident slash_commands envelope; return the bot's acknowledgement."""
        body = signing.slash_command_body(text, user_id=USERS[user], user_name=user, channel_id=channel_id, **extra)
        return self.endpoint.wait_ack(self.endpoint.send("slash_commands", form_payload(body)))

    def http(self, path: str, body: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.server.port}{path}", data=body, headers=headers, method="POST" if body else "GET"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read().decode())


def _start(
    tmp_path: Path, fake: SocketModeSlack, endpoint: SocketModeEndpoint, database_url: str | None = None
) -> SocketBot:
    """The process on ``database_url`` (default: a SQLite file in ``tmp_path``), not started yet."""
    fake.socket_url = endpoint.url
    env = {
        "SLACK_APP_TOKEN": APP_TOKEN,
        "INCIDENT_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'socket.db'}",
    }
    server = Server(tmp_path / "socket.db", free_port(), fake, mode="socket", env=env)
    return SocketBot(server, fake, endpoint)


@pytest.fixture()
def socket_parts(tmp_path: Path) -> Iterator[tuple[SocketModeSlack, SocketModeEndpoint]]:
    with SocketModeSlack() as fake, SocketModeEndpoint() as endpoint:
        yield fake, endpoint


def _ack_text(ack: dict[str, Any]) -> str:
    payload = ack.get("payload") or {}
    assert payload.get("response_type") == "ephemeral", ack
    return str(payload["text"])


SEED_DATE = (datetime.now(UTC) - timedelta(days=2)).date()
"""Two days ago: explicit, so the test works at any time of day, and within ``--at``'s one-year limit."""


def _seed_text(text: str) -> str:
    """As in the HTTP end-to-end test: explicit dates, so the test works any day."""
    return text.replace("--at ", f"--at {SEED_DATE.isoformat()} ", 1) if "--at " in text else text


class TestSocketModeSeedScenario:
    def test_seed_scenario_events_buttons_webhooks_and_sigterm(
        self, tmp_path: Path, database_url: str, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """The whole outage over Socket Mode, a :pushpin: event, a button, both webhooks, then a draining SIGTERM
        (on SQLite and on PostgreSQL)."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint, database_url)
        bot.server.start(timeout=30)
        try:
            endpoint.wait_connected()
            opened = fake.calls_to("apps.connections.open")
            assert [c.response for c in opened] == [{"ok": True, "url": endpoint.url}]
            assert opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"
            assert bot.http("/healthz") == (200, {"ok": True, "database": "up", "slack": "connected"})

            channel_id = "C0GENERAL"
            for step in SEED_STEPS:
                ack = bot.command(
                    _seed_text(step.slack_text),
                    user=str(step.actor.name),
                    channel_id=channel_id,
                    response_url=fake.response_url(step.time),
                )
                if step.text.startswith("declare"):
                    assert "INC-1" in _ack_text(ack)
                    created = fake.wait_for("conversations.create", timeout=10)[0]
                    assert created.params["name"].startswith("inc-1-cdn-edge-returning-502s")
                    channel_id = fake.channel(created.params["name"]).id
                    fake.wait_for("pins.add", timeout=10)
                elif step.text == "postmortem":
                    assert "Exporting" in _ack_text(ack) or "INC-1" in _ack_text(ack)
                else:
                    assert "INC-1" in _ack_text(ack), ack

            # The postmortem is uploaded on resolve and again for `postmortem`.
            fake.wait_for("files.completeUploadExternal", count=2, timeout=15)
            document = fake.uploaded_files[-1].content.decode()
            assert fake.uploaded_files[-1].filename == "INC-1-postmortem.md"
            for expected in (
                "| Time to assemble the IRT | 8 min |",
                "| Time to root cause | 23 min |",
                "| Time to mitigate | 53 min |",
                "| Time to resolve | 1h 3m |",
                "canary deployment for firewall changes",
            ):
                assert expected in document

            # events_api: a :pushpin: on a message in the incident channel; acknowledged with the envelope id alone.
            at_1420 = datetime.combine(SEED_DATE, datetime.min.time().replace(hour=14, minute=20), UTC).timestamp()
            ts = fake.add_message(channel_id, f"{at_1420:.0f}.000100", "U0DAVE", "edge CPU back to normal on all PoPs")
            event = signing.reaction_added_event("pushpin", user="U0DAVE", channel=channel_id, ts=ts)
            delivery = json.loads(signing.event_callback_body(event))
            envelope_id = endpoint.send("events_api", delivery)
            assert endpoint.wait_ack(envelope_id) == {"envelope_id": envelope_id}
            told = fake.wait_for(
                "chat.postEphemeral", timeout=10, predicate=lambda c: "Pinned to the INC-1 timeline" in c.params["text"]
            )
            assert told[0].params["user"] == "U0DAVE"
            assert told[0].params["text"] == "Pinned to the INC-1 timeline at 14:20 UTC."
            # Slack redelivers an event it thinks was lost (same event_id, retry_attempt 1): it takes effect once.
            retry_id = endpoint.send("events_api", delivery, retry_attempt=1)
            assert endpoint.wait_ack(retry_id) == {"envelope_id": retry_id}

            # interactive: the status message's "Timeline" button answers through its response_url.
            click = signing.block_actions_body(
                ActionId.SHOW_TIMELINE.value, value="1", channel_id=channel_id, response_url=fake.response_url("click")
            )
            envelope_id = endpoint.send("interactive", interactive_payload(click))
            assert endpoint.wait_ack(envelope_id) == {"envelope_id": envelope_id}
            answered = fake.wait_for("response_url", timeout=10, predicate=lambda c: c.path.endswith("/click"))
            assert answered[0].params["text"] == "INC-1 timeline"

            # Webhooks on the Socket Mode process's HTTP listener.
            change = {"service": "cdn-edge", "description": "WAF rule v2 deployed", "time": "2026-11-22T15:00:00Z"}
            status, body = bot.http("/changes", json.dumps(change).encode(), token=WEBHOOK_TOKEN)
            assert (status, body["ok"]) == (201, True)
            fake.delay("conversations.invite", 0.3)
            fake.delay("chat.postMessage", 0.3)
            status, body = bot.http("/alerts/alertmanager", ALERT.read_bytes(), token=WEBHOOK_TOKEN)
            assert status == 200
            assert (body["action"], body["incident"]) == ("declared", "INC-2")
        finally:
            code = bot.server.stop(signal.SIGTERM, timeout=40)

        # SIGTERM: the socket is closed, and what INC-2's declaration owes Slack was delivered before exit.
        assert code == 0, bot.server.logs()[-3000:]
        endpoint.wait_disconnected(timeout=5)
        assert fake.wait_for("conversations.create", count=2, timeout=1)[1].params["name"].startswith("inc-2-")
        logs = [json.loads(line) for line in bot.server.logs().splitlines() if line.startswith("{")]
        events = [line["event"] for line in logs]
        assert "socket_mode_closed" in events
        drained = [line for line in logs if line["event"] == "outbox_drained"]
        assert [line["pending"] for line in drained] == [0]
        assert "event_duplicate_ignored" in events
        store = open_store(database_url)
        try:
            usecases = wire_usecases(store)
            assert usecases.outbox.items("pending") == []
            _, entries = usecases.incidents.timeline(1)
            assert [e.text for e in entries if e.kind.value == "pinned"] == ["edge CPU back to normal on all PoPs"]
        finally:
            store.dispose()


def _start_up_failure(server: Server, timeout: float = 30) -> tuple[int, str]:
    """Start ``server`` expecting it to stop during start-up; its exit code and everything it logged."""
    with pytest.raises(AssertionError, match="exited during start-up"):
        server.start(timeout=timeout)
    assert server.process is not None
    return server.process.wait(timeout=10), server.logs()


class TestSocketModeMetrics:
    def test_slash_commands_over_the_socket_are_timed(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """Two commands over the WebSocket: /metrics (on --port) counts 2 acknowledgements and 1 open incident."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint)
        bot.server.start(timeout=30)
        try:
            endpoint.wait_connected()
            assert "INC-1" in _ack_text(bot.command("declare sev3 Search results stale"))
            assert "INC-1" in _ack_text(bot.command("INC-1 note reindex started"))
            with urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}/metrics", timeout=10) as response:
                text = response.read().decode()
        finally:
            bot.server.stop(signal.SIGTERM)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert samples[("incidentbot_slash_command_ack_seconds_count", ())] == 2
        assert samples[("incidentbot_open_incidents", (("severity", "sev3"), ("status", "declared")))] == 1
        assert samples[("incidentbot_transitions_total", (("kind", "note"),))] == 1


class TestSocketModeRefusedToken:
    @pytest.mark.parametrize(
        "error", ["invalid_auth", "not_allowed_token_type", "token_revoked", "account_inactive", "not_authed"]
    )
    def test_a_token_slack_refuses_stops_start_up_in_one_line(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint], error: str
    ) -> None:
        """apps.connections.open errors that cannot fix themselves stop `incidentbot socket` with one line
        naming SLACK_APP_TOKEN and exit code 1, instead of retrying forever while /healthz says 200."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint)
        fake.connections_error = error
        code, logs = _start_up_failure(bot.server)
        assert code == 1
        assert "Traceback" not in logs
        [failure] = start_failures(logs)
        assert failure.startswith(
            f"incidentbot: Slack refused SLACK_APP_TOKEN ({error}): use an app-level token (xapp-"
        )
        assert [c.response["error"] for c in fake.calls_to("apps.connections.open")] == [error]

    def test_a_wrong_app_token_is_refused_by_slack_and_stops_start_up(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """SLACK_APP_TOKEN=xapp-1-wrong: the fake answers invalid_auth as Slack does; the process exits 1."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint)
        bot.server.env["SLACK_APP_TOKEN"] = "xapp-1-wrong"
        code, logs = _start_up_failure(bot.server)
        assert code == 1
        assert "Traceback" not in logs
        [failure] = start_failures(logs)
        assert failure.startswith("incidentbot: Slack refused SLACK_APP_TOKEN (invalid_auth)")

    def test_a_bot_token_as_app_token_is_refused_before_any_call(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """An xoxb- token in SLACK_APP_TOKEN is refused by config: one line, exit 1, Slack never asked."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint)
        bot.server.env["SLACK_APP_TOKEN"] = "xoxb-test-token"
        code, logs = _start_up_failure(bot.server)
        assert code == 1
        assert len(logs.strip().splitlines()) == 1
        assert start_failures(logs) == [
            "incidentbot: SLACK_APP_TOKEN must be an app-level token (xapp-...), from Basic Information > "
            "App-Level Tokens of your Slack app; xoxb-... is the bot token (SLACK_BOT_TOKEN)."
        ]
        assert fake.calls == []

    def test_a_token_refused_once_slack_answers_again_is_reported_not_retried(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """Slack unreachable at start, then token_revoked: one error line, no more attempts, /healthz says refused."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint)
        fake.socket_url = ""  # internal_error: Slack is merely unavailable
        bot.server.start(timeout=30)
        try:
            fake.wait_for("apps.connections.open", timeout=10)
            fake.connections_error = "token_revoked"
            fake.wait_for(
                "apps.connections.open", timeout=15, predicate=lambda c: c.response.get("error") == "token_revoked"
            )
            deadline = time.monotonic() + 10
            while bot.http("/healthz")[1].get("slack") != "refused":
                assert time.monotonic() < deadline, bot.http("/healthz")
                time.sleep(0.1)
            assert bot.http("/healthz") == (200, {"ok": True, "database": "up", "slack": "refused"})
            calls = len(fake.calls_to("apps.connections.open"))
            time.sleep(2.5)  # longer than the next two backoff delays (1 s, 2 s): no further attempt
            assert len(fake.calls_to("apps.connections.open")) == calls
        finally:
            assert bot.server.stop(signal.SIGTERM, timeout=40) == 0
        logged = [json.loads(line) for line in bot.server.logs().splitlines()]
        refused = [line for line in logged if line["event"] == "socket_mode_token_refused"]
        assert [line["level"] for line in refused] == ["error"]
        assert refused[0]["reason"].startswith("Slack refused SLACK_APP_TOKEN (token_revoked)")


class TestPortInUse:
    @pytest.mark.parametrize("mode", ["socket", "serve"])
    def test_a_port_in_use_stops_start_up_in_one_line(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint], mode: str
    ) -> None:
        """`incidentbot socket|serve --port N` with N taken: one line naming the port, exit 1, no traceback."""
        fake, endpoint = socket_parts
        fake.socket_url = endpoint.url
        with socket.create_server(("127.0.0.1", 0)) as taken:
            port = taken.getsockname()[1]
            env = {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": "secret",
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_API_URL": fake.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'port.db'}",
                "LOG_FORMAT": "json",
            }
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bot.cli.main",
                    "--env-file",
                    "",
                    mode,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env={"PATH": "/usr/bin:/bin", **env},
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1
        assert start_failures(done.stderr) == [
            f"incidentbot: Port {port} is already in use on 127.0.0.1: stop what listens there or choose another "
            "with --port."
        ]
        assert fake.calls_to("apps.connections.open") == []


class TestSocketModeWhileSlackIsDown:
    def test_health_and_webhooks_answer_until_slack_lets_it_connect(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """While apps.connections.open fails the process still starts, serves /healthz and records changes;
        it connects once Slack answers again (slack_sdk retries every ping interval, 10 s)."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint)
        fake.socket_url = ""  # the fake then answers apps.connections.open with internal_error
        bot.server.start(timeout=30)
        try:
            assert bot.http("/healthz") == (200, {"ok": True, "database": "up", "slack": "connecting"})
            change = {"service": "cdn-edge", "description": "config push", "time": "2026-11-22T13:00:00Z"}
            assert bot.http("/changes", json.dumps(change).encode(), token=WEBHOOK_TOKEN) == (
                201,
                {"ok": True, "id": 1},
            )
            assert fake.wait_for("apps.connections.open", timeout=10)[0].response == {
                "ok": False,
                "error": "internal_error",
            }
            fake.wait_for("apps.connections.open", count=2, timeout=15)
            fake.socket_url = endpoint.url
            endpoint.wait_connected(timeout=30)
            declared = bot.command("declare sev2 Checkout latency", response_url=fake.response_url("declare"))
            assert "INC-1" in _ack_text(declared)
            assert bot.http("/healthz") == (200, {"ok": True, "database": "up", "slack": "connected"})
        finally:
            assert bot.server.stop(signal.SIGTERM, timeout=40) == 0
        # One structured line per failed attempt, no traceback, nothing but JSON (LOG_FORMAT=json).
        lines = bot.server.logs().splitlines()
        logged = [json.loads(line) for line in lines]
        assert [line for line in logged if "exception" in line or "Traceback" in str(line)] == []
        failed = [line for line in logged if line["event"] == "socket_mode_unavailable"]
        attempts = len(fake.calls_to("apps.connections.open")) - 1  # the last one succeeded
        assert [line["attempt"] for line in failed] == list(range(1, attempts + 1))
        assert {line["reason"] for line in failed} == {"internal_error (HTTP 200)"}
        assert [line["event"] for line in logged].count("socket_mode_connected") == 1


@pytest.fixture(scope="class", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def redelivery_bot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketBot]:
    """One `incidentbot socket` process per database kind for TestSocketModeRedelivery (a SQLite file, or a fresh
    PostgreSQL database), with its own fake Slack and Socket Mode endpoint. Each test declares an incident of its
    own and judges only that incident, its channel and the envelopes it sent, while the process runs and again
    once it has stopped: the process is stopped with SIGTERM after the class (it must exit 0, having let the
    envelopes in hand finish), then each test's ``after_stop`` checks run, as each test's own checks ran after
    its own process stopped before the process was shared."""
    folder = tmp_path_factory.mktemp("redelivery")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            database_url = f"sqlite:///{folder / 'socket.db'}"
        else:
            server: PostgresServer = request.getfixturevalue("postgres")
            database_url = stack.enter_context(server.fresh_database())
        fake = stack.enter_context(SocketModeSlack())
        endpoint = stack.enter_context(SocketModeEndpoint())
        bot = _start(folder, fake, endpoint, database_url)
        bot.server.start(timeout=30)
        try:
            endpoint.wait_connected()
            yield bot
        finally:
            code = bot.server.stop(signal.SIGTERM, timeout=40)
        assert code == 0, bot.server.logs()[-3000:]
        for check in bot.after_stop:
            check()


def _assert_equal(seen: object, expected: object) -> None:
    assert seen == expected


class TestSocketModeRedelivery:
    """One process per database kind serves the three kinds of envelope (the ``redelivery_bot`` fixture)."""

    @pytest.mark.parametrize(
        "kind",
        ["slash_commands", "events_api", "interactive"],
    )
    def test_a_resent_envelope_takes_effect_once_and_is_acknowledged(
        self, redelivery_bot: SocketBot, kind: str
    ) -> None:
        """Slack redelivers an envelope it saw no ack (same envelope_id, retry_attempt 1): acked, no second effect."""
        bot = redelivery_bot
        fake, endpoint = bot.fake, bot.endpoint
        # Declared 10 minutes ago, so a message from 2 minutes ago can be pinned (after it, not in the future).
        declared_at = (utc_now() - timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M")
        declared = bot.command(f"declare sev2 Checkout latency --at {declared_at}", response_url=fake.response_url("d"))
        bot.declared += 1
        number = bot.declared
        incident = f"INC-{number}"
        assert incident in _ack_text(declared), declared
        name = f"inc-{number}-checkout-latency"
        created = fake.wait_for("conversations.create", timeout=10, predicate=lambda c: c.params["name"] == name)
        channel_id = fake.channel(created[0].params["name"]).id
        fake.wait_for("pins.add", timeout=10, predicate=lambda c: c.params.get("channel") == channel_id)
        answered_at = f"c{number}"  # this test's response_url
        if kind == "slash_commands":
            body = signing.slash_command_body(
                f"{incident} note cache hit rate at 40%", user_id="U0ALICE", user_name="alice", channel_id=channel_id
            )
            payload = form_payload(body)
        elif kind == "events_api":
            two_minutes_ago = int((utc_now() - timedelta(minutes=2)).timestamp())
            ts = fake.add_message(channel_id, f"{two_minutes_ago}.000100", "U0BOB", "cache hit rate at 40%")
            # A new event_id each time would be a new event; here only the envelope is sent again.
            event = signing.reaction_added_event("pushpin", user="U0BOB", channel=channel_id, ts=ts)
            payload = json.loads(signing.event_callback_body(event))
        else:
            click = signing.block_actions_body(
                ActionId.SHOW_TIMELINE.value,
                value=str(number),
                channel_id=channel_id,
                response_url=fake.response_url(answered_at),
            )
            payload = interactive_payload(click)
        first = endpoint.send(kind, payload)
        first_ack = endpoint.wait_ack(first)
        if kind == "slash_commands":
            assert _ack_text(first_ack).startswith(incident), first_ack
        if kind == "interactive":
            fake.wait_for("response_url", timeout=10, predicate=lambda c: c.path.endswith(f"/{answered_at}"))
        elif kind == "events_api":
            pinned = f"Pinned to the {incident} timeline"
            fake.wait_for("chat.postEphemeral", timeout=20, predicate=lambda c: pinned in c.params["text"])
        assert endpoint.send(kind, payload, retry_attempt=1, envelope_id=first) == first
        # The repeat is acknowledged with the envelope id alone (no second reply).
        assert endpoint.wait_acks(first, count=2)[1] == {"envelope_id": first}

        def ignored() -> list[tuple[str, int]]:
            """This test's envelopes (the declaration's and ``first``) that the process logged as repeats."""
            logs = [json.loads(line) for line in bot.server.logs().splitlines() if line.startswith("{")]
            return [
                (line["envelope_id"], line["retry_attempt"])
                for line in logs
                if line["event"] == "socket_mode_envelope_duplicate_ignored"
                and line["envelope_id"] in (first, declared.get("envelope_id"))
            ]

        def answered_once() -> None:
            assert len([c for c in fake.calls_to("response_url") if c.path.endswith(f"/{answered_at}")]) == 1

        def recorded_once() -> None:
            store = open_store(bot.server.env["DATABASE_URL"])
            try:
                _, entries = wire_usecases(store).incidents.timeline(number)
            finally:
                store.dispose()
            texts = [e.text for e in entries]
            expected = "cache hit rate at 40%"
            assert len([t for t in texts if expected in t]) == 1, texts

        deadline = time.monotonic() + 10  # logged just after the repeat's ack is sent
        while not ignored() and time.monotonic() < deadline:
            time.sleep(0.05)
        check = answered_once if kind == "interactive" else recorded_once
        bot.after_stop.extend([lambda: _assert_equal(ignored(), [(first, 1)]), check])
        assert ignored() == [(first, 1)]
        check()


class TestSocketModeReconnect:
    def test_after_slack_drops_the_socket_health_says_connecting_until_it_is_back(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """Slack closes the socket and is unavailable for a while: /healthz says connecting (still 200), the logs
        stay JSON without tracebacks, and the bot reconnects once apps.connections.open answers again."""
        fake, endpoint = socket_parts
        bot = _start(tmp_path, fake, endpoint)
        bot.server.start(timeout=30)
        try:
            endpoint.wait_connected()
            fake.socket_url = ""  # internal_error from now on
            opened = len(fake.calls_to("apps.connections.open"))
            endpoint.drop()
            endpoint.wait_disconnected(timeout=5)
            fake.wait_for("apps.connections.open", count=opened + 1, timeout=20)
            assert bot.http("/healthz") == (200, {"ok": True, "database": "up", "slack": "connecting"})
            fake.socket_url = endpoint.url
            endpoint.wait_connected(timeout=40)
            assert bot.http("/healthz") == (200, {"ok": True, "database": "up", "slack": "connected"})
        finally:
            assert bot.server.stop(signal.SIGTERM, timeout=40) == 0
        logged = [json.loads(line) for line in bot.server.logs().splitlines()]
        assert [line for line in logged if "exception" in line or "Traceback" in str(line)] == []


class TestSocketModeBackgroundWork:
    def test_a_quiet_incident_is_nudged_on_start(
        self, tmp_path: Path, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """The nudge check runs in Socket Mode: a sev1 quiet for an hour gets its reminder when the bot starts."""
        fake, endpoint = socket_parts
        channel = fake.add_channel("C0INCQUIET", "inc-1-checkout-latency", members=["U0ALICE", BOT_USER_ID])
        bot = _start(tmp_path, fake, endpoint)
        store = open_store(bot.server.env["DATABASE_URL"])
        an_hour_ago = utc_now() - timedelta(hours=1)
        try:
            wire_usecases(store, clock=lambda: an_hour_ago).incidents.declare(
                Declare("Checkout latency", Severity.SEV1), Actor("U0ALICE", "alice"), channel_id=channel
            )
        finally:
            store.dispose()
        bot.server.start(timeout=30)
        try:
            posted = fake.wait_for("chat.postMessage", timeout=15, predicate=lambda c: c.params["channel"] == channel)
            assert posted[0].params["text"] == (
                ":alarm_clock: INC-1 (sev1) has had no timeline update for 60 min. "
                "Please post a status update: `/incident update &lt;where things stand&gt; --next 30m`."
            )
        finally:
            assert bot.server.stop(signal.SIGTERM, timeout=40) == 0


class TestSocketModeShutdown:
    async def test_closing_lets_an_envelope_being_answered_send_its_ack(
        self, socket_parts: tuple[SocketModeSlack, SocketModeEndpoint]
    ) -> None:
        """close() stops reading, waits for the envelope in hand to be acknowledged, then closes the socket."""
        fake, endpoint = socket_parts
        fake.socket_url = endpoint.url
        app = AsyncApp(client=AsyncWebClient(token=fake.token, base_url=fake.base_url), signing_secret="unused")

        @app.command("/incident")
        async def answer_slowly(ack: AsyncAck) -> None:
            await asyncio.sleep(0.5)
            await ack("done")

        connection = SocketModeConnection(app, APP_TOKEN)
        await connection.open()
        await asyncio.to_thread(endpoint.wait_connected)
        body = signing.slash_command_body("status")
        envelope_id = await asyncio.to_thread(endpoint.send, "slash_commands", form_payload(body))
        assert connection.handler is not None
        for _ in range(1000):  # up to 10 s on a loaded machine
            if connection.handler.in_flight:
                break
            await asyncio.sleep(0.01)
        assert connection.handler.in_flight, "the envelope never reached the handler"
        await connection.close()
        # The ack was sent before the socket closed; the fake reads it on its own thread.
        ack = await asyncio.to_thread(endpoint.wait_ack, envelope_id, 5.0)
        assert ack == {"envelope_id": envelope_id, "payload": {"text": "done"}}
        await asyncio.to_thread(endpoint.wait_disconnected, 5.0)
