"""The suite's network guard: tests and the processes they start reach 127.0.0.1 and nothing else."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from slack_sdk import WebClient

from tests.support.netguard_site.loopback_only import is_loopback_host


class TestLoopbackHosts:
    """Which hosts count as this machine."""

    @pytest.mark.parametrize(
        "host",
        [
            None,
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "::",
        ],
    )
    def test_loopback(self, host: str | None) -> None:
        """Loopback names and literals, and the unspecified bind addresses, are allowed."""
        assert is_loopback_host(host) is True

    @pytest.mark.parametrize(
        "host",
        [
            "hooks.slack.com",
            "slack.com",
            "events.pagerduty.com",
            "10.0.0.1",
            "192.168.1.1",
            "8.8.8.8",
            "::ffff:8.8.8.8",
            "2001:db8::1",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
        ],
    )
    def test_elsewhere(self, host: str) -> None:
        """Public and private addresses and any other name are elsewhere."""
        assert is_loopback_host(host) is False


class TestGuard:
    """Attempts beyond 127.0.0.1 fail at once and are recorded, in this process and in child processes."""

    @pytest.mark.netguard_expected
    def test_connection_to_a_public_address_is_refused(self) -> None:
        """A TCP connection to a documentation address fails with ConnectionRefusedError."""
        with (
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
            pytest.raises(ConnectionRefusedError, match="test network guard"),
        ):
            sock.connect(("203.0.113.7", 443))

    @pytest.mark.netguard_expected
    def test_name_lookup_is_refused(self) -> None:
        """The default response_url host of old tests cannot even be resolved."""
        with pytest.raises(urllib.error.URLError, match="test network guard"):
            urllib.request.urlopen("https://hooks.slack.com/commands/T0TEST/1/x", timeout=2)

    @pytest.mark.netguard_expected
    def test_child_process_is_guarded(self) -> None:
        """A Python child process started by a test inherits the guard through sitecustomize."""
        code = (
            "import urllib.request, sys\n"
            "try:\n    urllib.request.urlopen('https://slack.com/api/auth.test', timeout=2)\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)\n    sys.exit(3)\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 3
        assert "test network guard" in result.stdout

    def test_loopback_server_is_reachable(self) -> None:
        """A server on 127.0.0.1 answers as usual."""
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            accepted: list[bytes] = []

            def serve() -> None:
                connection, _ = server.accept()
                with connection:
                    accepted.append(connection.recv(5))

            thread = threading.Thread(target=serve)
            thread.start()
            with socket.create_connection(("localhost", port), timeout=5) as client:
                client.sendall(b"hello")
            thread.join(timeout=5)
        assert accepted == [b"hello"]

    def test_unix_sockets_are_untouched(self, tmp_path: Path) -> None:
        """PostgreSQL's Unix socket (and any other) is not an internet address."""
        path = str(tmp_path / "s")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(1)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(path)
                connection, _ = server.accept()
                connection.close()


class TestGuardedClients:
    """The HTTP clients the bot itself uses are held to loopback too (they resolve names their own way)."""

    @pytest.mark.netguard_expected
    async def test_aiohttp_post_to_a_response_url_is_refused(self) -> None:
        """aiohttp (bolt's respond(), the PagerDuty deliverer) cannot reach hooks.slack.com."""
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                await session.post("https://hooks.slack.com/commands/T0TEST/1/x", json={"text": "hi"})

    @pytest.mark.netguard_expected
    def test_slack_sdk_web_client_is_refused(self) -> None:
        """slack_sdk's WebClient (urllib) cannot reach slack.com."""
        with pytest.raises(urllib.error.URLError, match="test network guard"):
            WebClient(token="xoxb-test").auth_test()
