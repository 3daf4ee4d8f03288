"""Set-up mistakes found when `serve` starts, not at the first incident (issue 13, item 6).

Placeholders copied from .env.example are refused before anything starts; a refused bot token stops
start-up with one line; an unreachable Slack starts degraded, shown by /healthz and the log; every bad
signature is counted and logged as `signature_rejected`, at most once a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from bot.slack.server import SIGNATURE_REJECTED
from tests.support import signing
from tests.support.bot_server import SIGNING_SECRET, RunningBot
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import Server, free_port

ROOT = Path(__file__).resolve().parents[2]


def _serve(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args, "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestPlaceholdersRefused:
    def test_serve_with_env_example_copied_as_is_stops_naming_the_token(self, tmp_path: Path) -> None:
        """`cp .env.example .env && incidentbot serve`: one line naming SLACK_BOT_TOKEN, exit 1, no database made."""
        shutil.copy(ROOT / ".env.example", tmp_path / ".env")
        result = _serve(tmp_path, {})
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "incidentbot: SLACK_BOT_TOKEN is still a placeholder (as in .env.example): paste the Bot User OAuth "
            "Token (xoxb-...) from OAuth & Permissions of your Slack app."
        ]
        assert not (tmp_path / "incidents.db").exists()

    def test_a_placeholder_signing_secret_stops_serve_before_slack_is_called(
        self, tmp_path: Path, fake_slack: FakeSlack
    ) -> None:
        """A real token but .env.example's signing secret: one line naming SLACK_SIGNING_SECRET; Slack never called."""
        result = _serve(
            tmp_path,
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": "your-signing-secret",
                "SLACK_API_URL": fake_slack.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            },
            "--env-file",
            "",
        )
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "incidentbot: SLACK_SIGNING_SECRET is still a placeholder (as in .env.example): paste the Signing "
            "Secret from Basic Information of your Slack app."
        ]
        assert fake_slack.calls == []

    def test_env_example_filled_in_for_http_serves_though_the_socket_token_is_left_as_shipped(
        self, tmp_path: Path, fake_slack: FakeSlack
    ) -> None:
        """README step 2 for HTTP: copy .env.example, fill in SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET only.
        SLACK_APP_TOKEN (Socket Mode only) keeps its placeholder: serve starts (auth.test is called), while
        `socket` with that same file stops with one line naming SLACK_APP_TOKEN."""
        lines = (ROOT / ".env.example").read_text().splitlines()
        filled = {
            "SLACK_BOT_TOKEN": "xoxb-1234-5678-abcdef",
            "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
            "SLACK_API_URL": fake_slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        }
        env_lines = [
            f"{line.split('=', 1)[0]}={filled[line.split('=', 1)[0]]}" if line.split("=", 1)[0] in filled else line
            for line in lines
        ]
        assert "SLACK_APP_TOKEN=xapp-your-app-token" in env_lines
        (tmp_path / ".env").write_text("\n".join(env_lines) + "\n")
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "serve", "--host", "127.0.0.1", "--port", str(free_port())],
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 40
            while not fake_slack.calls_to("auth.test"):
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)
        socket = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "socket", "--host", "127.0.0.1", "--port", str(free_port())],
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "DATABASE_"))},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert socket.returncode == 1
        assert socket.stderr.splitlines() == [
            "incidentbot: SLACK_APP_TOKEN is still a placeholder (as in .env.example): paste an app-level token "
            "(xapp-...) from Basic Information > App-Level Tokens."
        ]


class TestTokenCheckedAtStart:
    def test_invalid_auth_stops_serve_with_one_line(self, tmp_path: Path, fake_slack: FakeSlack) -> None:
        """auth.test answering invalid_auth: exit 1, the one `incidentbot:` line with the fix, no traceback."""
        fake_slack.fail_next("auth.test", "invalid_auth", status=200)
        result = _serve(
            tmp_path,
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": "real-secret-0123",
                "SLACK_API_URL": fake_slack.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            },
            "--env-file",
            "",
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert [line for line in result.stderr.splitlines() if line.startswith("incidentbot:")] == [
            "incidentbot: Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token (xoxb-...) "
            "from OAuth & Permissions of your Slack app."
        ]
        assert len(fake_slack.calls_to("auth.test")) == 1

    def test_unreachable_slack_starts_degraded_and_healthz_says_so_until_slack_answers(self, tmp_path: Path) -> None:
        """Nothing listens at SLACK_API_URL: serve starts, /healthz is 200 with slack=unverified and the log says
        slack_identity_unverified; once Slack answers on that port, /healthz says verified."""
        fake = FakeSlack()
        port = free_port()  # nothing listens there yet
        fake.root_url = f"http://127.0.0.1:{port}"
        server = Server(tmp_path / "degraded.db", free_port(), fake)
        server.env = {"SLACK_API_URL": f"http://127.0.0.1:{port}/api/"}
        server.start(timeout=40)
        try:
            assert _health(server.port) == {"ok": True, "database": "up", "slack": "unverified"}
            events = [json.loads(line) for line in server.logs().splitlines()]
            assert [e["event"] for e in events if e["event"].startswith("slack_identity")] == [
                "slack_identity_unverified"
            ]
            fake.start(port)
            deadline = time.monotonic() + 30
            while _health(server.port).get("slack") != "verified":
                assert time.monotonic() < deadline, server.logs()[-2000:]
                time.sleep(0.2)
            assert _health(server.port) == {"ok": True, "database": "up", "slack": "verified"}
        finally:
            server.stop(signal.SIGKILL, timeout=10)
            fake.stop()


def _health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


class TestSignatureRejected:
    def test_each_kind_of_bad_signature_is_401_and_logged_once_a_minute_with_the_count(self, bot: RunningBot) -> None:
        """Wrong secret, stale timestamp, no signature: each is 401; the first is logged with its reason, the two
        within the minute are held back and counted on the next one logged after the minute."""
        now = [1000.0]
        bot.web_app[SIGNATURE_REJECTED].clock = lambda: now[0]
        body = signing.slash_command_body("status", response_url=bot.fake_response_url())
        form = "application/x-www-form-urlencoded"
        with capture_logs() as logs:
            wrong = bot.signed(body, form, secret="not-the-signing-secret")
            stale = bot.signed(body, form, timestamp=int(time.time()) - 301)
            unsigned = bot.post(body, form)
            now[0] += 60.0
            again = bot.signed(body, form, secret="another-wrong-secret")
        assert [r.status for r in (wrong, stale, unsigned, again)] == [401, 401, 401, 401]
        rejected = [e for e in logs if e["event"] == "signature_rejected"]
        assert [(e["log_level"], e["reason"], e["suppressed"], e["path"]) for e in rejected] == [
            ("warning", "signature_mismatch", 0, "/slack/events"),
            ("warning", "signature_mismatch", 2, "/slack/events"),
        ]

    @pytest.mark.parametrize(
        ("headers", "reason"),
        [
            ({}, "missing_signature"),
            ({"X-Slack-Signature": "v0=ab"}, "missing_signature"),
            ({"X-Slack-Request-Timestamp": "1000"}, "missing_signature"),
            ({"X-Slack-Signature": "v0=ab", "X-Slack-Request-Timestamp": "699"}, "stale_timestamp"),
            ({"X-Slack-Signature": "v0=ab", "X-Slack-Request-Timestamp": "1301"}, "stale_timestamp"),
            ({"X-Slack-Signature": "v0=ab", "X-Slack-Request-Timestamp": "soon"}, "stale_timestamp"),
            ({"X-Slack-Signature": "v0=ab", "X-Slack-Request-Timestamp": "700"}, "signature_mismatch"),
            ({"X-Slack-Signature": "v0=ab", "X-Slack-Request-Timestamp": "1300"}, "signature_mismatch"),
        ],
    )
    def test_reason_follows_slacks_five_minute_rule(self, headers: dict[str, str], reason: str) -> None:
        """At now=1000 s: timestamps 700..1300 are fresh (300 s either side), 699 and 1301 stale."""
        from bot.slack.server import signature_problem

        assert signature_problem(headers, 1000.0) == reason

    @given(st.integers(min_value=0, max_value=2**40), st.integers(min_value=-10_000, max_value=10_000))
    def test_stale_exactly_when_more_than_300_seconds_away(self, now: int, offset: int) -> None:
        """For any moment and any signed timestamp: stale iff more than 300 s from now, either way."""
        from bot.slack.server import signature_problem

        headers = {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": str(now + offset)}
        expected = "stale_timestamp" if abs(offset) > 300 else "signature_mismatch"
        assert signature_problem(headers, float(now)) == expected

    def test_a_good_signature_is_not_logged(self, bot: RunningBot) -> None:
        """A correctly signed command is answered 200 and logs no signature_rejected."""
        with capture_logs() as logs:
            result = bot.command("help", secret=SIGNING_SECRET)
        assert result.status == 200
        assert [e for e in logs if e["event"] == "signature_rejected"] == []
