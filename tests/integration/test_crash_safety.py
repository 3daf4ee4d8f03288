"""Crash safety with a real `incidentbot serve` process: kill -9 mid-burst loses no acknowledged
entry and the outbox resumes on restart; SIGTERM drains in-flight requests and the outbox.
Each runs on SQLite (a file in the test's folder) and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import Server, free_port


@pytest.fixture()
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


def _declare(server: Server, fake: FakeSlack) -> str:
    status, text = server.command("declare sev1 CDN edge returning 502s")
    assert status == 200 and "INC-1" in text, text
    created = fake.wait_for("conversations.create", timeout=10)[0]
    fake.wait_for("pins.add", timeout=10)
    return str(created.response["channel"]["id"])  # type: ignore[index]


def _url(server: Server) -> str:
    return server.database_url or f"sqlite:///{server.database}"


def _query(server: Server, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(_url(server))
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                assert connection.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def _notes_in(server: Server) -> set[str]:
    return {str(row[0]) for row in _query(server, "SELECT text FROM timeline_entries WHERE kind = 'note'")}


def _pending_outbox(server: Server) -> int:
    return int(str(_query(server, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]))


def _server(tmp_path: Path, name: str, database_url: str, fake: FakeSlack, port: int | None = None) -> Server:
    """A serve process on ``database_url``; SQLite files live in ``tmp_path`` with the logs."""
    database = tmp_path / f"{name}.db"
    url = None if database_url.startswith("sqlite") else database_url
    return Server(database, port or free_port(), fake, database_url=url)


def _burst_until_refused(server: Server, channel: str, workers: int = 8) -> list[tuple[int, int, str]]:
    """Eight clients send notes back to back until the server stops answering (it is killed)."""
    counter = iter(range(100_000))
    lock = threading.Lock()
    results: list[tuple[int, int, str]] = []
    assert server.process is not None
    killer = threading.Timer(1.0, server.process.kill)

    def client() -> None:
        while True:
            with lock:
                n = next(counter)
            status, text = server.command(f"note burst {n}", channel)
            with lock:
                results.append((n, status, text))
            if status == 0:
                return

    killer.start()
    threads = [threading.Thread(target=client) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    killer.join()
    return results


class TestKillNine:
    def test_kill_9_mid_burst_loses_no_acknowledged_entry_and_outbox_resumes(
        self, tmp_path: Path, fake: FakeSlack, database_url: str
    ) -> None:
        """Every note acknowledged before SIGKILL is on the timeline after restart, and its Slack line arrives."""
        server = _server(tmp_path, "crash", database_url, fake).start()
        channel = _declare(server, fake)
        fake.delay("chat.postMessage", 0.3)  # keep deliveries in flight when the process dies
        assert server.process is not None
        results = _burst_until_refused(server, channel)
        assert server.process.wait(timeout=10) == -signal.SIGKILL
        # Whole-text matches and numbers, never substrings: "burst 1" is inside "burst 12".
        acknowledged = {n for n, status, text in results if status == 200 and text == f"INC-1 · Note: burst {n}"}
        assert acknowledged and any(status == 0 for _, status, _ in results), "the kill should land mid-burst"
        notes = _notes_in(server)
        assert all(re.fullmatch(r"burst \d+", note) for note in notes), notes
        stored = {int(note.removeprefix("burst ")) for note in notes}
        assert acknowledged <= stored
        assert _pending_outbox(server) > 0, "some deliveries should still be owed at the kill"

        fake.delay("chat.postMessage", 0)
        restarted = _server(tmp_path, "crash", database_url, fake, port=server.port).start()
        try:
            deadline = time.monotonic() + 60
            while _pending_outbox(server) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _pending_outbox(server) == 0
            posted = {
                int(number)
                for c in fake.calls_to("chat.postMessage")
                if c.ok and c.params.get("channel") == channel
                for number in re.findall(r"\bburst (\d+)\b", str(c.params.get("text")))
            }
            assert stored <= posted
        finally:
            assert restarted.stop() == 0


class TestSigterm:
    def test_sigterm_finishes_in_flight_requests_and_drains_the_outbox(
        self, tmp_path: Path, fake: FakeSlack, database_url: str
    ) -> None:
        """Commands acknowledged before SIGTERM are all delivered to Slack before the process exits 0."""
        server = _server(tmp_path, "drain", database_url, fake).start()
        channel = _declare(server, fake)
        fake.delay("chat.update", 0.2)
        with ThreadPoolExecutor(max_workers=5) as pool:
            results = list(pool.map(lambda n: server.command(f"note before shutdown {n}", channel), range(10)))
        assert all(status == 200 for status, _ in results)
        assert server.stop(signal.SIGTERM) == 0
        assert _pending_outbox(server) == 0
        posted = {
            int(number)
            for c in fake.calls_to("chat.postMessage")
            if c.ok
            for number in re.findall(r"\bbefore shutdown (\d+)\b", str(c.params.get("text")))
        }
        assert posted == set(range(10))
