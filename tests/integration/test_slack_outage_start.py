"""A restart while Slack is degraded loses no command: `incidentbot serve` started while the Web API
answers 500, 429 or nothing at all still acknowledges and records every signed command, and Slack
catches up through the outbox once it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import wire_usecases
from bot.domain.model import EntryKind
from bot.store import open_store
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import Server, free_port

OUTAGES = ["http_500", "http_429", "unreachable"]
SERVE = [sys.executable, "-m", "bot.cli.main", "--env-file", "", "serve", "--host", "127.0.0.1"]


def _begin_outage(fake: FakeSlack, outage: str) -> None:
    """Every Web API call (auth.test included) and response_url answers 500 / 429, or nothing listens."""
    if outage == "unreachable":
        fake.stop()
    else:
        status = 500 if outage == "http_500" else 429
        fake.set_failure_rate(1.0, statuses=(status,), retry_after=1, exclude=())


def _end_outage(fake: FakeSlack, outage: str, port: int) -> None:
    if outage == "unreachable":
        fake.start(port=port)
    else:
        fake.clear_failures()


@pytest.fixture()
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


class TestStartWhileSlackIsDown:
    @pytest.mark.parametrize("outage", OUTAGES)
    def test_commands_are_acknowledged_and_recorded_and_slack_catches_up(
        self, tmp_path: Path, fake_slack: FakeSlack, outage: str
    ) -> None:
        """Issue 11 item 1: serve starts during the outage; `declare` and a note get 200 with their result;
        both are on the timeline; after recovery the outbox creates the channel, pins the status message
        and posts the note, and the bot's identity is verified in the background."""
        port = fake_slack.port
        _begin_outage(fake_slack, outage)
        server = Server(tmp_path / "outage.db", free_port(), fake_slack).start(timeout=30)
        try:
            declared = server.command("declare sev1 CDN edge returning 502s")
            noted = server.command("INC-1 note edge CPU at 100% on half the fleet")
            assert declared[0] == 200 and declared[1].startswith("INC-1 · Incident declared"), declared
            assert noted == (200, "INC-1 · Note: edge CPU at 100% on half the fleet"), noted
            assert not [c for c in fake_slack.calls if c.ok and c.method != "auth.test"]

            usecases = wire_usecases(open_store(f"sqlite:///{tmp_path / 'outage.db'}", migrate=False))
            kinds = [e.kind for e in usecases.incidents.timeline(1)[1]]
            assert kinds == [EntryKind.DECLARED, EntryKind.NOTE]
            owed = {i.kind for i in usecases.outbox.items()}
            assert {"slack.create_channel", "slack.refresh", "slack.post_line"} <= owed

            time.sleep(1.5)  # the outage lasts past the bot's first background checks
            _end_outage(fake_slack, outage, port)
            fake_slack.wait_for("pins.add", timeout=45, predicate=lambda c: c.ok)
            fake_slack.wait_for(
                "chat.postMessage",
                timeout=45,
                predicate=lambda c: c.ok and "Note: edge CPU at 100%" in str(c.params.get("text")),
            )
            deadline = time.monotonic() + 45
            while '"event": "slack_identity_verified"' not in server.logs() and time.monotonic() < deadline:
                time.sleep(0.2)
            logs = server.logs()
            assert '"event": "slack_identity_unverified"' in logs
            assert '"event": "slack_identity_verified"' in logs
            assert "Traceback" not in logs
            channel = usecases.incidents.get(1).channel_id
            assert channel is not None and fake_slack.channel(channel).name == "inc-1-cdn-edge-returning-502s"
            usecases.store.dispose()
        finally:
            server.stop(signal.SIGTERM, timeout=30)


class TestRefusedToken:
    def test_a_token_slack_refuses_stops_startup_with_one_line(self, tmp_path: Path) -> None:
        """auth.test answering invalid_auth is a setup fault, not an outage: serve exits 1 with one line."""
        with FakeSlack(token="xoxb-the-real-token") as fake:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_URL"))}
            env.update(
                {
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'refused.db'}",
                    "SLACK_BOT_TOKEN": "xoxb-a-wrong-token",
                    "SLACK_SIGNING_SECRET": "secret",
                    "SLACK_API_URL": fake.base_url,
                }
            )
            result = subprocess.run(
                [*SERVE, "--port", str(free_port())],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert result.returncode == 1, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("incidentbot:")]
        assert errors == [
            "incidentbot: Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token (xoxb-...) "
            "from OAuth & Permissions of your Slack app."
        ], result.stderr
        assert "Traceback" not in result.stderr
