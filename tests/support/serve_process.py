"""`incidentbot serve` (or `socket`) as a real child process, talking to a FakeSlack, and a signed-command client."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import signing
from tests.support.fake_slack import FakeSlack

SECRET = "process-signing-secret"


PORTS_PER_WORKER = 1000
FIRST_PORT = 20_000
"""Ports handed to real processes come from 20000-27999, below Linux's ephemeral range (32768-60999)
that port-0 binds use, and each pytest-xdist worker has its own thousand: a port probed free in one
worker cannot be taken by another worker's process before this one binds it."""


def free_port() -> int:
    """A port nobody listens on right now, from this test worker's own range (the server binds it
    itself, so it survives a restart)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = FIRST_PORT + (int(worker) % 8 if worker.isdigit() else 0) * PORTS_PER_WORKER
    for _ in range(200):
        port = random.randrange(low, low + PORTS_PER_WORKER)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{low + PORTS_PER_WORKER - 1}")


@dataclass
class Server:
    """One `incidentbot serve` process on a fixed port and SQLite file; its JSON logs go to a file
    next to the database (a pipe nobody reads would block the server once it fills)."""

    database: Path
    port: int
    fake: FakeSlack
    process: subprocess.Popen[str] | None = None
    mode: str = "serve"
    """The subcommand: `serve` (HTTP) or `socket` (Socket Mode; `port` then serves /healthz and webhooks)."""
    database_url: str | None = None
    """Another database than the SQLite file (PostgreSQL for replica tests); logs still go next to ``database``."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment: SLACK_APP_TOKEN for `socket`, INCIDENT_WEBHOOK_TOKEN..."""

    @property
    def log_file(self) -> Path:
        return self.database.with_suffix(".log")

    def start(self, timeout: float = 30) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_URL"))}
        env.update(
            {
                "DATABASE_URL": self.database_url or f"sqlite:///{self.database}",
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": self.fake.base_url,
                "LOG_FORMAT": "json",
                **self.env,
            }
        )
        command = [sys.executable, "-m", "bot.cli.main", "--env-file", "", self.mode, "--host", "127.0.0.1"]
        with self.log_file.open("a") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=env,
                cwd=self.database.parent,
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
            )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.mode} exited during start-up: {self.logs()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise AssertionError(f"{self.mode} did not become healthy in {timeout:.0f} s")

    def logs(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""

    def command(self, text: str, channel_id: str = "C0GENERAL") -> tuple[int, str]:
        """Send a signed /incident command; (0, '') when the connection failed (not acknowledged).

        Its response_url is on the fake Slack, so follow-ups stay on 127.0.0.1.
        """
        response_url = self.fake.response_url(f"serve-{time.monotonic_ns()}")
        body = signing.slash_command_body(text, channel_id=channel_id, response_url=response_url)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", **signing.sign_request(SECRET, body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, str(json.loads(response.read().decode()).get("text") or "")
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            return 0, ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_failures(logs: str) -> list[str]:
    """The start-up failures in a server's JSON log (``start_failed`` events), as the one line a console shows:
    ``incidentbot: <error>``. Every line must be JSON (LOG_FORMAT=json)."""
    events = [json.loads(line) for line in logs.splitlines() if line.strip()]
    return [f"incidentbot: {event['error']}" for event in events if event.get("event") == "start_failed"]
