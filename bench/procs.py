"""Starting servers as separate processes (the bot via its real CLI, the bare bolt app), and reading their RSS."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(database_url: str, slack_api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_URL", "LOG_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api_url,
            "INCIDENT_ANNOUNCE_CHANNEL": "C0GENERAL",
            "PYTHONPATH": str(REPO),
            **extra,
        }
    )
    return env


@dataclass
class Server:
    """A server process on 127.0.0.1:port; ``stop()`` sends SIGTERM (graceful, like a deploy)."""

    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: str = field(default="")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) of the server process in MiB, from /proc/<pid>/status."""
        values: dict[str, float] = {}
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, amount = line.split(":", 1)
                    values[key] = int(amount.split()[0]) / 1024
        return round(values["VmRSS"], 1), round(values["VmHWM"], 1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(kind: str, database_url: str, slack_api_url: str, **extra: str) -> Server:
    """``kind`` "bot": ``incidentbot serve`` (the real CLI); "bare": the ack-only bolt app."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ib-bench-srv-")  # no stray .env is read
    if kind == "bot":
        argv = [sys.executable, "-m", "bot.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    else:
        argv = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
    log_path = Path(workdir) / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=server_env(database_url, slack_api_url, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(kind, port, process, log_path, workdir)
    _wait_healthy(server)
    return server


def _wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} server exited: {server.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.kind} server did not become healthy: {server.log_path.read_text()[-2000:]}")
