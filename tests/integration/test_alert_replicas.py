"""Two real `incidentbot serve` processes on one PostgreSQL database receive the same alert group at the
same moment (an HA Alertmanager pair, each member sending to a different replica)."""

from __future__ import annotations

import json
import signal
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import wire_usecases
from bot.domain.model import EntryKind
from bot.store import open_store
from tests.support.alerts import T0, alert, notification
from tests.support.fake_pagerduty import FakePagerDuty
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import Server, free_port

TOKEN = "replica-webhook-token"


def at(minutes: float) -> Any:
    return T0 + timedelta(minutes=minutes)


def post(port: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/alerts/alertmanager",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read().decode())


@pytest.fixture()
def two_replicas(tmp_path: Path, postgres_url: str, pagerduty: FakePagerDuty) -> Iterator[list[Server]]:
    env = {
        "INCIDENT_WEBHOOK_TOKEN": TOKEN,
        "PAGERDUTY_ROUTING_KEY": "R0UTINGKEYR0UTINGKEYR0UTINGKEY32",
        "PAGERDUTY_EVENTS_URL": pagerduty.url,
    }
    with FakeSlack() as fake:
        servers = [
            Server(tmp_path / f"replica{i}.db", free_port(), fake, database_url=postgres_url, env=env) for i in range(2)
        ]
        servers[0].start(timeout=60)  # the first migrates; the second finds the schema current
        servers[1].start(timeout=60)
        try:
            yield servers
        finally:
            for server in servers:
                server.stop(signal.SIGKILL, timeout=10)


@pytest.mark.postgres
class TestTwoServeProcesses:
    def test_one_group_at_both_replicas_at_once_is_one_incident_one_page(
        self, two_replicas: list[Server], postgres_url: str, pagerduty: FakePagerDuty
    ) -> None:
        """20 alerts sent 4 times to each replica at once, then their clears twice to each: 1 incident,
        20 fired + 20 cleared entries, 1 channel, 1 PagerDuty trigger."""
        firing = notification([alert(f"fp{i:02d}", at(i), severity="critical") for i in range(20)])
        cleared = notification(
            [alert(f"fp{i:02d}", at(i), at(60 + i), resolved=True, severity="critical") for i in range(20)]
        )
        answers: list[tuple[int, dict[str, Any]]] = []
        lock = threading.Lock()

        def burst(body: dict[str, Any], copies: int) -> None:
            barrier = threading.Barrier(2 * copies)

            def send(port: int) -> None:
                barrier.wait(timeout=30)
                answer = post(port, body)
                with lock:
                    answers.append(answer)

            threads = [threading.Thread(target=send, args=(s.port,)) for s in two_replicas for _ in range(copies)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)

        burst(firing, 4)
        burst(cleared, 2)
        assert [status for status, _ in answers] == [200] * 12
        actions = sorted(answer["action"] for _, answer in answers)
        assert actions == ["declared", "recorded"] + ["repeat"] * 10
        assert sum(answer["recorded"] for _, answer in answers) == 40

        store = open_store(postgres_url)
        try:
            usecases = wire_usecases(store)
            assert [s.number for s in usecases.incidents.summaries()] == [1]
            entries = usecases.incidents.timeline(1)[1]
            fired = sorted(
                (str(e.data["fingerprint"]), e.occurred_at) for e in entries if e.kind is EntryKind.ALERT_FIRED
            )
            clears = sorted(
                (str(e.data["fingerprint"]), e.occurred_at) for e in entries if e.kind is EntryKind.ALERT_CLEARED
            )
            assert fired == [(f"fp{i:02d}", at(i)) for i in range(20)]
            assert clears == [(f"fp{i:02d}", at(60 + i)) for i in range(20)]
        finally:
            store.dispose()
        two_replicas[0].fake.wait_for("conversations.create", timeout=20)
        assert [e["event_action"] for e in pagerduty.wait_for(1, timeout=20)] == ["trigger"]
        for server in two_replicas:
            assert server.stop(signal.SIGTERM) == 0
        assert len(two_replicas[0].fake.calls_to("conversations.create")) == 1
        assert len(pagerduty.events) == 1
