"""LOG_FORMAT=json means one JSON object per line, whatever logs it (issue 13, item 8).

A real `serve` process is started, used and stopped, and fails to start; every line it wrote to stderr
must parse as a JSON object with an `event`. Library records, warnings and uncaught exceptions are
checked in-process through the same configuration.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pytest
import structlog

from bot.log import configure_logging
from tests.support import signing
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import SECRET, Server, free_port


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line as a JSON object with an event; fails naming the first line that is not."""
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"line {number} is not JSON: {line!r}")
        assert isinstance(event, dict) and isinstance(event.get("event"), str), line
        assert event.get("level") and event.get("timestamp"), line
        events.append(event)
    return events


class TestServeProcessLog:
    def test_start_requests_and_stop_log_only_json(self, tmp_path: Path) -> None:
        """Fresh database (migrations run), a declare, a bad signature, a webhook refused, /metrics, SIGTERM:
        every stderr line is a JSON event, and bolt's "token will be unused" warning is not among them."""
        with FakeSlack() as fake:
            server = Server(tmp_path / "json.db", free_port(), fake).start()
            try:
                status, _ = server.command("declare sev2 Checkout latency above SLO")
                assert status == 200
                fake.wait_for("pins.add", timeout=15)
                body = signing.slash_command_body("status", response_url=fake.response_url("bad"))
                bad = urllib.request.Request(
                    f"http://127.0.0.1:{server.port}/slack/events",
                    data=body.encode(),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        **signing.sign_request(SECRET + "-wrong", body),
                    },
                )
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(bad, timeout=10)
                assert refused.value.code == 401
                with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as response:
                    assert response.status == 200
            finally:
                assert server.stop(signal.SIGTERM) == 0
        logs = server.logs()
        events = _json_lines(logs)
        names = [e["event"] for e in events]
        for expected in ("server_starting", "slack_identity_verified", "incident_declared", "server_stopped"):
            assert expected in names, names
        [rejected] = [e for e in events if e["event"] == "signature_rejected"]
        assert (rejected["level"], rejected["reason"]) == ("warning", "signature_mismatch")
        assert "will be unused" not in logs and "Traceback" not in logs

    def test_a_failing_start_is_json_too(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        """auth.test answers invalid_auth: exit 1, and the reason is a `start_failed` JSON event, not plain text."""
        fake_slack.fail_next("auth.test", "invalid_auth", status=200)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))}
        env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_SIGNING_SECRET="real-secret-0123",
            SLACK_API_URL=fake_slack.base_url,
            LOG_FORMAT="json",
        )
        command = [sys.executable, "-m", "bot.cli.main", "--env-file", "", "serve", "--host", "127.0.0.1"]
        result = subprocess.run(
            [*command, "--port", str(free_port())],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1 and result.stdout == ""
        events = _json_lines(result.stderr)
        assert [(e["event"], e["level"], e["error"]) for e in events if e["event"] == "start_failed"] == [
            (
                "start_failed",
                "error",
                "Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token (xoxb-...) from "
                "OAuth & Permissions of your Slack app.",
            )
        ]


class TestEverythingThroughStructlog:
    @pytest.fixture()
    def json_stderr(self, capsys: pytest.CaptureFixture[str]) -> Any:
        saved_hooks = sys.excepthook, threading.excepthook
        configure_logging("json", "INFO")
        yield lambda: _json_lines(capsys.readouterr().err)
        sys.excepthook, threading.excepthook = saved_hooks
        logging.captureWarnings(False)

    def test_library_records_and_their_exceptions_are_json_with_an_exception_field(self, json_stderr: Any) -> None:
        """A stdlib record from a library (aiohttp's "Error handling request" with exc_info) is one JSON line:
        its message is the event, the traceback is the `exception` field, the logger is named."""
        try:
            raise ValueError("boom in a handler")
        except ValueError:
            logging.getLogger("aiohttp.server").exception("Error handling request")
        [event] = json_stderr()
        assert (event["event"], event["level"], event["logger"]) == (
            "Error handling request",
            "error",
            "aiohttp.server",
        )
        assert event["exception"].startswith("Traceback (most recent call last):")
        assert event["exception"].rstrip().endswith("ValueError: boom in a handler")

    def test_our_events_keep_their_exception_as_a_field(self, json_stderr: Any) -> None:
        """structlog's log.exception: one line, the traceback in `exception`."""
        try:
            raise KeyError("lost")
        except KeyError:
            structlog.get_logger("incidentbot.test").exception("outbox_cycle_failed", worker="w1")
        [event] = json_stderr()
        assert (event["event"], event["worker"]) == ("outbox_cycle_failed", "w1")
        assert event["exception"].rstrip().endswith("KeyError: 'lost'")

    def test_python_warnings_are_json(self, json_stderr: Any) -> None:
        """warnings.warn (a library's deprecation) becomes a py.warnings record: one JSON line."""
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("this API goes away", DeprecationWarning, stacklevel=1)
        [event] = json_stderr()
        assert (event["logger"], event["level"]) == ("py.warnings", "warning")
        assert "DeprecationWarning: this API goes away" in event["event"]

    def test_uncaught_exceptions_are_one_json_line(self, json_stderr: Any) -> None:
        """An exception nothing caught, in the main thread or another: `uncaught_exception`, critical, traceback
        as a field."""
        try:
            raise RuntimeError("nobody caught me")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        worker = threading.Thread(target=lambda: 1 / 0, name="worker-7")
        try:
            worker.run()  # in this thread, so the exception reaches the hook installed by configure_logging
        except ZeroDivisionError as exc:
            threading.excepthook(threading.ExceptHookArgs((type(exc), exc, exc.__traceback__, worker)))
        main, other = json_stderr()
        assert (main["event"], main["level"]) == ("uncaught_exception", "critical")
        assert main["exception"].rstrip().endswith("RuntimeError: nobody caught me")
        assert (other["event"], other["thread"]) == ("uncaught_exception", "worker-7")
        assert other["exception"].rstrip().endswith("ZeroDivisionError: division by zero")


class TestServeCommandLine:
    @pytest.mark.parametrize("args", [("--port", "65536"), ("--port", "abc"), ("--bogus",)], ids=" ".join)
    @pytest.mark.parametrize("command", ["serve", "socket"])
    def test_a_usage_error_is_one_json_event(self, tmp_path: Path, command: str, args: tuple[str, ...]) -> None:
        """LOG_FORMAT=json in the environment: a command line `serve` cannot parse is a `start_failed` event
        (exit 2), not plain text."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))}
        env["LOG_FORMAT"] = "json"
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "--env-file", "", command, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2 and result.stdout == ""
        [event] = _json_lines(result.stderr)
        assert (event["event"], event["level"]) == ("start_failed", "error")
        # An unknown option is refused by the top-level parser (argparse reads it last), so it names that help.
        helper = f"incidentbot {command}" if args[0] == "--port" else "incidentbot"
        assert event["error"].endswith(f"; see `{helper} --help`.")

    def test_port_0_logs_the_port_it_got(self, tmp_path: Path) -> None:
        """`serve --port 0`: server_starting names the port the system chose, the one /healthz answers on,
        and the outbox worker is named after it."""
        with FakeSlack() as fake:
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))
            }
            env.update(
                DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
                SLACK_BOT_TOKEN="xoxb-test-token",
                SLACK_SIGNING_SECRET="real-secret-0123",
                SLACK_API_URL=fake.base_url,
                LOG_FORMAT="json",
            )
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli.main", "--env-file", "", "serve", "--host", "127.0.0.1", "--port", "0"],
                cwd=tmp_path,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                assert process.stderr is not None
                started = None
                for line in process.stderr:
                    event = json.loads(line)
                    if event["event"] == "server_starting":
                        started = event
                    if event["event"] == "background_work_started":
                        worker = event["worker"]
                        break
                assert started is not None and started["port"] != 0
                with urllib.request.urlopen(f"http://127.0.0.1:{started['port']}/healthz", timeout=10) as response:
                    assert response.status == 200
                assert worker.endswith(f":{started['port']}")
            finally:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=30)
