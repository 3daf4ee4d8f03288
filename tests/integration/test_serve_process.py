"""`incidentbot serve` as a real process: starts, answers signed requests, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import signing
from tests.support.fake_slack import FakeSlack

SECRET = "process-signing-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(tmp_path: Path, fake: FakeSlack) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_URL"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url,
        "LOG_FORMAT": "json",
    }


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, FakeSlack]]:
    with FakeSlack() as fake:
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--env-file", "", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=_environment(tmp_path, fake),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_healthy(port, process)
            yield process, port, fake
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def _wait_healthy(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("serve did not become healthy in 20 s")


def _post_command(port: int, text: str) -> tuple[int, str]:
    body = signing.slash_command_body(text)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", **signing.sign_request(SECRET, body)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


class TestServeProcess:
    def test_serves_signed_commands_and_exits_cleanly_on_sigterm(
        self, served: tuple[subprocess.Popen[str], int, FakeSlack]
    ) -> None:
        """The real server declares an incident from a signed request, then drains and exits 0 on SIGTERM."""
        process, port, fake = served
        status, body = _post_command(port, "declare sev2 Checkout latency above SLO")
        assert status == 200 and "INC-1" in body
        fake.wait_for("pins.add", timeout=10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        logs = process.stderr.read() if process.stderr else ""
        assert '"event": "incident_declared"' in logs and '"incident": "INC-1"' in logs


class TestStartupErrors:
    def test_missing_token_stops_startup_with_one_line(self, tmp_path: Path) -> None:
        """Without SLACK_SIGNING_SECRET, serve exits non-zero naming the variable, without a traceback."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env["SLACK_BOT_TOKEN"] = "xoxb-1"
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "--env-file", "", "serve"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "SLACK_SIGNING_SECRET" in lines[0]
        assert "Traceback" not in result.stderr
