"""Bugs found by a hostile tester of issue 18 (alert storms, a database that stops answering), now fixed: a
database lock while the incident's channel is created no longer gives it a second channel (the retry binds the one
created), and a PostgreSQL that accepts connections and never answers fails a command within libpq's
connect_timeout instead of hanging."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bot.store import open_store
from tests.support.alerts import T0, alert, notification
from tests.support.cli import incidentbot
from tests.support.db_lock import LockMode, lock_held
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import Server, free_port
from tests.support.webhooks import post_alerts_to

TOKEN = "break18-webhook-token"


def _post(port: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return post_alerts_to(port, body, TOKEN)


def _channel_of(database_url: str, number: int) -> str | None:
    from bot.app import wire_usecases

    store = open_store(database_url)
    try:
        incident = wire_usecases(store).incidents.get(number)
        return incident.channel_id if incident else None
    finally:
        store.dispose()


def test_a_locked_database_during_channel_creation_still_makes_one_channel(tmp_path: Path) -> None:
    """An alert declares INC-1; Slack's conversations.create is held, another process takes an exclusive SQLite lock,
    the create is released (Slack makes the channel) and the lock is held 23 s: the binding fails after the store's
    10 s busy wait, and so does the record of its retry (another 10 s), which the worker keeps. Expected: INC-1 ends
    with exactly one channel in Slack, the one the database names, bound within 15 s of the lock's release (the
    retry's backoff; before the kept outcome it waited for the item's 60 s lease to expire)."""
    database = tmp_path / "bot.db"
    with FakeSlack() as fake:
        env = {"INCIDENT_WEBHOOK_TOKEN": TOKEN, "SLACK_PACING": "off"}
        server = Server(database, free_port(), fake, database_url=f"sqlite:///{database}", env=env).start(timeout=60)
        try:
            fake.hold("conversations.create")
            body = notification([alert("fp1", T0, severity="critical")], '{}:{break="dup"}', summary="dup channel")
            assert _post(server.port, body)[1]["action"] == "declared"
            fake.wait_until_held("conversations.create")
            with lock_held(f"sqlite:///{database}", 60, LockMode.EVERYONE):
                fake.release("conversations.create")
                time.sleep(23)
            bound = None
            for _ in range(30):
                bound = _channel_of(f"sqlite:///{database}", 1)
                if bound:
                    break
                time.sleep(0.5)
            channels = sorted(ch.id for ch in fake.workspace.channels.values() if ch.name.startswith("inc-1-"))
            assert bound is not None
            assert channels == [bound]
            events = [json.loads(line).get("event") for line in server.log_file.read_text().splitlines()]
            assert "outbox_outcome_kept" in events
        finally:
            server.stop(signal.SIGKILL, timeout=10)


def test_list_gives_up_on_a_postgresql_that_never_answers(tmp_path: Path) -> None:
    """A listener on 127.0.0.1 that accepts connections and never says a word (a stuck proxy or pooler). Expected:
    `incidentbot list` ends within 30 s with a non-zero status and one line naming the database."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://u:p@127.0.0.1:{silent.getsockname()[1]}/db"
        try:
            result = incidentbot("list", database_url=url, cwd=tmp_path, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("incidentbot list was still waiting after 30 s")
        assert result.returncode != 0
        assert "database" in result.stderr.lower()


@pytest.mark.postgres
def test_a_command_behind_a_postgresql_lock_gives_up_after_the_lock_timeout(tmp_path: Path, postgres_url: str) -> None:
    """PostgreSQL's counterpart of SQLite's 10 s busy wait (bot.store.engine.POSTGRES_LOCK_TIMEOUT_MS): someone left
    `BEGIN; LOCK TABLE incidents;` open in psql. Before, `incidentbot run "INC-1 note ..."` waited for as long as
    the lock was held (in `serve`, each such command held a database thread for good). Expected: it ends within
    30 s with a non-zero status and the one-line "unavailable" message, no traceback; once the lock is gone the
    same command is recorded."""
    from tests.support.cli import incidentbot_here

    declared = incidentbot_here("run", "declare sev2 Checkout 502s", database_url=postgres_url, cwd=tmp_path)
    assert declared.returncode == 0, declared.stderr
    with lock_held(postgres_url, 60, LockMode.EVERYONE):
        started = time.monotonic()
        try:
            refused = incidentbot(
                "run", "INC-1 note edge CPU at 95%", database_url=postgres_url, cwd=tmp_path, timeout=30
            )
        except subprocess.TimeoutExpired:
            pytest.fail("the note was still waiting for the lock after 30 s")
        waited = time.monotonic() - started
    assert refused.returncode != 0
    assert "The incident database is unavailable right now; please retry shortly." in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert waited >= 10  # it waited the lock timeout, not failed at once for another reason
    recorded = incidentbot("run", "INC-1 note edge CPU at 95%", database_url=postgres_url, cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr


@pytest.mark.postgres
def test_notes_sent_while_postgresql_holds_the_incident_row_are_recorded_in_the_order_sent(
    tmp_path: Path, postgres_url: str
) -> None:
    """The fresh tester's first finding: another session holds `SELECT * FROM incidents FOR UPDATE` for 6 s while
    one person sends 12 notes 0.3 s apart from the incident's channel (signed HTTP to `serve`). Each is
    acknowledged ("Working on it…" after 2 s); before, they were recorded in the order their threads got the row
    when it was free (`000…007 014 010 011 008 ...`). Expected: all 12 on the timeline, in the order sent."""
    import threading

    with FakeSlack() as fake:
        server = Server(tmp_path / "s.db", free_port(), fake, database_url=postgres_url).start(timeout=60)
        try:
            assert server.command("declare sev2 Checkout 502s")[0] == 200
            channel = fake.wait_for("conversations.create", timeout=20, predicate=lambda c: c.ok)
            channel_id = str(channel[-1].response["channel"]["id"])  # type: ignore[index]
            assert _wait_bound(postgres_url, channel_id)
            statuses: dict[int, int] = {}
            with lock_held(postgres_url, 60, LockMode.WRITERS):
                senders = []
                for n in range(12):
                    sender = threading.Thread(
                        target=lambda n=n: statuses.__setitem__(
                            n, server.command(f"note row-lock n{n:02d}", channel_id=channel_id)[0]
                        )
                    )
                    sender.start()
                    senders.append(sender)
                    time.sleep(0.3)
                time.sleep(6 - 12 * 0.3)
            for sender in senders:
                sender.join(timeout=30)
            assert statuses == dict.fromkeys(range(12), 200)
            noted: list[str] = []
            for _ in range(60):
                noted = _notes(postgres_url, 1)
                if len(noted) == 12:
                    break
                time.sleep(0.5)
            assert noted == [f"row-lock n{n:02d}" for n in range(12)]
        finally:
            server.stop(signal.SIGTERM, timeout=30)


def _wait_bound(database_url: str, channel_id: str) -> bool:
    for _ in range(60):
        if _channel_of(database_url, 1) == channel_id:
            return True
        time.sleep(0.25)
    return False


def _notes(database_url: str, number: int) -> list[str]:
    from bot.app import wire_usecases
    from bot.domain.model import EntryKind

    store = open_store(database_url)
    try:
        _, entries = wire_usecases(store).incidents.timeline(number)
        return [e.text for e in entries if e.kind is EntryKind.NOTE]
    finally:
        store.dispose()


@pytest.mark.postgres
def test_metrics_answer_within_the_scrape_timeout_while_a_table_lock_holds_the_database(
    tmp_path: Path, postgres_url: str
) -> None:
    """The fresh tester: under `LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE` held by another session, `/metrics`
    took 10.01 s (the read's lock timeout), past Prometheus's default 10 s scrape timeout, so the
    database-down alert never saw its 0. Expected: an answer within 8 s with `incidentbot_database_up 0.0`;
    `/healthz` still says the database answers (it does: only that table is locked); once the lock is gone,
    `/metrics` says 1.0 again."""
    import urllib.request

    def get(path: str) -> tuple[float, int, str]:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=30) as response:
                return time.monotonic() - started, response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return time.monotonic() - started, exc.code, exc.read().decode()

    with FakeSlack() as fake:
        server = Server(tmp_path / "s.db", free_port(), fake, database_url=postgres_url).start(timeout=60)
        try:
            assert "incidentbot_database_up 1.0" in get("/metrics")[2]
            with lock_held(postgres_url, 60, LockMode.EVERYONE):
                took, status, body = get("/metrics")
                health = get("/healthz")
            assert status == 200
            assert "incidentbot_database_up 0.0" in body.splitlines()
            assert took < 8, took
            assert health[1] == 200 and json.loads(health[2])["database"] == "up"
            for _ in range(20):  # the read that was held back goes on as soon as the lock is gone
                if "incidentbot_database_up 1.0" in get("/metrics")[2].splitlines():
                    break
                time.sleep(0.25)
            else:
                pytest.fail("/metrics still said the database was down 5 s after the lock was released")
        finally:
            server.stop(signal.SIGTERM, timeout=30)


def test_a_cli_command_on_a_locked_sqlite_file_says_it_is_locked(tmp_path: Path) -> None:
    """The fresh tester: with `BEGIN EXCLUSIVE` held on the file by another process, `incidentbot run` ended after
    10 s with "Cannot open the database ...: database is locked", which reads as if the file were unusable.
    Expected: one line saying the database is locked by another connection and to retry once it is released."""
    from tests.support.cli import incidentbot_here

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    assert incidentbot_here("run", "declare sev2 Checkout 502s", database_url=url, cwd=tmp_path).returncode == 0
    with lock_held(url, 60, LockMode.EVERYONE):
        refused = incidentbot_here("run", "INC-1 note edge CPU at 95%", database_url=url, cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"incidentbot: The database {tmp_path / 'bot.db'} is locked by another connection (waited 10 s: "
        "database is locked): retry once it is released"
    ), refused.stderr
    assert "Cannot open" not in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.postgres
def test_sigterm_while_the_incident_row_is_locked_lets_acknowledged_commands_end_and_be_told(
    tmp_path: Path, postgres_url: str
) -> None:
    """The second fresh tester: with the database stalled, SIGTERM made `serve` drain the outbox and exit while
    commands answered "Working on it…" were still running: acknowledged notes were never recorded and their
    people never told (PostgreSQL paused with SIGSTOP, 2 of 5 runs; `serve` now waits for such commands,
    TurnTaking.settle: with the tester's script 5 of 5 runs complete, 2 of 3 lost two notes without it). A
    paused server cannot be made here without pausing the suite's own, so this checks the promise on a row
    lock: another session holds the incident's row (`SELECT * FROM incidents FOR UPDATE`), four notes are sent
    0.3 s apart from the incident's channel, SIGTERM comes 2.5 s later and the row is released 3 s after it
    (within the 10 s lock timeout). Expected: `serve` exits 0 having recorded all four in the order sent,
    answered each through response_url and posted their lines to the channel. (aiohttp's graceful shutdown
    already waits for these, so this passes without settle too: it guards the promise, not that change.)"""
    import re
    import threading

    with FakeSlack() as fake:
        server = Server(tmp_path / "s.db", free_port(), fake, database_url=postgres_url).start(timeout=60)
        assert server.command("declare sev2 Checkout 502s")[0] == 200
        channel = fake.wait_for("conversations.create", timeout=20, predicate=lambda c: c.ok)
        channel_id = str(channel[-1].response["channel"]["id"])  # type: ignore[index]
        assert _wait_bound(postgres_url, channel_id)
        acks: dict[int, tuple[int, str]] = {}
        senders = []
        with lock_held(postgres_url, 60, LockMode.WRITERS):
            for n in range(4):
                sender = threading.Thread(
                    target=lambda n=n: acks.__setitem__(n, server.command(f"note sigterm t-{n}", channel_id=channel_id))
                )
                sender.start()
                senders.append(sender)
                time.sleep(0.3)
            time.sleep(2.5)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            time.sleep(3)
        assert server.process.wait(timeout=60) == 0
        for sender in senders:
            sender.join(timeout=30)
    assert {n: status for n, (status, _) in acks.items()} == dict.fromkeys(range(4), 200)
    assert _notes(postgres_url, 1) == [f"sigterm t-{n}" for n in range(4)]
    replies = [str(c.params.get("text") or "") for c in fake.calls_to("response_url")]
    assert [n for n in range(4) if any(r.startswith(f"INC-1 · Note: sigterm t-{n}") for r in replies)] == [0, 1, 2, 3]
    posted = [
        tag
        for c in fake.calls_to("chat.postMessage")
        if c.ok and c.params.get("channel") == channel_id
        for tag in re.findall(r"sigterm t-(\d)", str(c.params.get("text")))
    ]
    assert posted == ["0", "1", "2", "3"]


def test_healthz_says_up_while_another_process_holds_the_sqlite_write_lock(tmp_path: Path) -> None:
    """The second fresh tester: with `BEGIN EXCLUSIVE` (or IMMEDIATE) held on the file by another process, every
    `/healthz` answered 503 "down" after 5 s (its ping began a write transaction and waited for the lock), while
    `status` and `/metrics` read at once: a load balancer would take the replica out during an ordinary long
    write. Expected: 200 `"database": "up"` within a second, as the README says reads go on under the write lock."""
    import urllib.request

    database = tmp_path / "bot.db"
    with FakeSlack() as fake:
        server = Server(database, free_port(), fake, database_url=f"sqlite:///{database}").start(timeout=60)
        try:
            with lock_held(f"sqlite:///{database}", 60, LockMode.EVERYONE):
                started = time.monotonic()
                with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=30) as response:
                    status, body = response.status, json.loads(response.read())
                took = time.monotonic() - started
            assert (status, body["database"]) == (200, "up")
            assert took < 1, took
        finally:
            server.stop(signal.SIGTERM, timeout=30)


@pytest.mark.postgres
def test_scrapes_waiting_for_a_locked_table_do_not_hold_the_threads_queries_need(
    tmp_path: Path, postgres_url: str
) -> None:
    """The second fresh tester: with 12 scrapes of `/metrics` waiting for a database that did not answer, each held
    one of the 8 readers' threads for its 5 s, and `/incident help`, which reads nothing, was answered "Working on
    it…" after 2 s instead of its text. Here another session holds `LOCK TABLE incidents` (what the gauges read);
    12 scrapes are sent at once, then `help`. Expected: `help` answers with its text at once; every scrape answers
    `incidentbot_database_up 0.0`."""
    import threading
    import urllib.request

    with FakeSlack() as fake:
        server = Server(tmp_path / "s.db", free_port(), fake, database_url=postgres_url).start(timeout=60)
        scrapes: list[str] = []

        def scrape() -> None:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=30) as response:
                scrapes.append(response.read().decode())

        try:
            with lock_held(postgres_url, 60, LockMode.EVERYONE):
                scrapers = [threading.Thread(target=scrape) for _ in range(12)]
                for scraper in scrapers:
                    scraper.start()
                time.sleep(1)  # the scrapes are all waiting
                status, text = server.command("help")
                for scraper in scrapers:
                    scraper.join(timeout=30)
        finally:
            server.stop(signal.SIGTERM, timeout=30)
    assert status == 200
    assert "Working on it" not in text and "/incident declare" in text, text[:200]
    assert len(scrapes) == 12
    assert all("incidentbot_database_up 0.0" in body.splitlines() for body in scrapes)
