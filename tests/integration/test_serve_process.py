"""`incidentbot serve` as a real process: starts, answers signed requests, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import Server, free_port


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Server]:
    with FakeSlack() as fake:
        server = Server(tmp_path / "served.db", free_port(), fake).start(timeout=20)
        try:
            yield server
        finally:
            server.stop(signal.SIGKILL, timeout=10)


class TestServeProcess:
    def test_serves_signed_commands_and_exits_cleanly_on_sigterm(self, served: Server) -> None:
        """The real server declares an incident from a signed request, then drains and exits 0 on SIGTERM."""
        status, text = served.command("declare sev2 Checkout latency above SLO")
        assert status == 200 and "INC-1" in text
        served.fake.wait_for("pins.add", timeout=10)
        assert served.stop(signal.SIGTERM) == 0
        logs = served.logs()
        assert '"event": "incident_declared"' in logs and '"incident": "INC-1"' in logs


class TestStartupErrors:
    def test_missing_token_stops_startup_with_one_line(self, tmp_path: Path) -> None:
        """Without SLACK_SIGNING_SECRET, serve exits non-zero naming the variable, without a traceback."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env["SLACK_BOT_TOKEN"] = "xoxb-1"
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "--env-file", "", "serve"],
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
