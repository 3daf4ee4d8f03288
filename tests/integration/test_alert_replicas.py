"""Two real `incidentbot serve` processes on one PostgreSQL database receive the same alert group at the
same moment (an HA Alertmanager pair, each member sending to a different replica); and ten groups at once,
on PostgreSQL and on one SQLite file both processes open (issue 18, target 4)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.support.webhooks import post_alerts_to

TOKEN = "replica-webhook-token"


def at(minutes: float) -> Any:
    return T0 + timedelta(minutes=minutes)


def post(port: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return post_alerts_to(port, body, TOKEN)


@contextmanager
def _replicas(tmp_path: Path, database_url: str, pagerduty: FakePagerDuty) -> Iterator[list[Server]]:
    """Two `incidentbot serve` processes on ``database_url`` (a SQLite file both open, or PostgreSQL), sharing a
    fake Slack, with the alert webhook and paging configured; killed afterwards."""
    env = {
        "INCIDENT_WEBHOOK_TOKEN": TOKEN,
        "PAGERDUTY_ROUTING_KEY": "R0UTINGKEYR0UTINGKEYR0UTINGKEY32",
        "PAGERDUTY_EVENTS_URL": pagerduty.url,
        # Pacing (on by default) keeps conversations.create to Slack's Tier 2, 20 a minute: the 20 channels of the
        # ten-groups test then took most of its 50 s. Channels per group, not their pace, are the point here (the
        # pacer has its own tests, test_slack_pacing.py), as in every in-process bot of the suite (bot_settings).
        "SLACK_PACING": "off",
    }
    with FakeSlack() as fake:
        servers = [
            Server(tmp_path / f"replica{i}.db", free_port(), fake, database_url=database_url, env=env) for i in range(2)
        ]
        servers[0].start(timeout=60)  # the first migrates; the second finds the schema current
        servers[1].start(timeout=60)
        try:
            yield servers
        finally:
            for server in servers:
                server.stop(signal.SIGKILL, timeout=10)


@pytest.fixture()
def two_replicas(tmp_path: Path, postgres_url: str, pagerduty: FakePagerDuty) -> Iterator[list[Server]]:
    with _replicas(tmp_path, postgres_url, pagerduty) as servers:
        yield servers


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


@pytest.fixture()
def replicas_on(tmp_path: Path, database_url: str, pagerduty: FakePagerDuty) -> Iterator[tuple[list[Server], str]]:
    """Two `incidentbot serve` processes on one database of each kind, paging configured; and that database's URL."""
    with _replicas(tmp_path, database_url, pagerduty) as servers:
        yield servers, database_url


def test_ten_groups_at_once_on_two_replicas_are_ten_incidents(
    replicas_on: tuple[list[Server], str], pagerduty: FakePagerDuty
) -> None:
    """Issue 18, target 4, on PostgreSQL and on one SQLite file: 10 groups of 100 alerts sent at once, each to
    both replicas (an HA pair: 20 notifications), then 10 more groups at once split between them (group g to
    replica g % 2): 20 incidents, one per group, each alert of a group fired once on its group's incident, one
    channel and one page each."""
    two_replicas, database_url = replicas_on
    size = 100

    def group(name: str) -> dict[str, Any]:
        alerts = [alert(f"{name}-fp{i:03d}", at(i / 10), severity="critical") for i in range(size)]
        return notification(alerts, f'{{}}:{{storm="{name}"}}', summary=f"storm {name}")

    paired = [f"pair{g}" for g in range(10)]
    split = [f"split{g}" for g in range(10)]
    answers: dict[str, list[dict[str, Any]]] = {name: [] for name in paired + split}
    lock = threading.Lock()

    def at_once(sends: list[tuple[int, str]]) -> None:
        barrier = threading.Barrier(len(sends))

        def send(port: int, name: str) -> None:
            body = group(name)
            barrier.wait(timeout=30)
            status, answer = post(port, body)
            assert status == 200, answer
            with lock:
                answers[name].append(answer)

        threads = [threading.Thread(target=send, args=pair) for pair in sends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    at_once([(server.port, name) for name in paired for server in two_replicas])
    at_once([(two_replicas[g % 2].port, name) for g, name in enumerate(split)])

    for name in paired:  # one member of the pair declares, the other finds everything recorded
        assert sorted((a["action"], a["recorded"]) for a in answers[name]) == [("declared", size), ("repeat", 0)]
    for name in split:
        assert [(a["action"], a["recorded"]) for a in answers[name]] == [("declared", size)]
    incident_of = {name: answers[name][0]["incident"] for name in paired + split}
    assert sorted(incident_of.values(), key=lambda i: int(i[4:])) == [f"INC-{n}" for n in range(1, 21)]

    store = open_store(database_url)
    try:
        usecases = wire_usecases(store)
        assert len(usecases.incidents.summaries()) == 20
        for name, incident_id in incident_of.items():
            incident, entries = usecases.incidents.timeline(int(incident_id[4:]))
            assert incident.title == f"storm {name}"
            fired = [(str(e.data["fingerprint"]), e.occurred_at) for e in entries if e.kind is EntryKind.ALERT_FIRED]
            assert sorted(fired) == [(f"{name}-fp{i:03d}", at(i / 10)) for i in range(size)]
            assert [e.kind for e in entries].count(EntryKind.DECLARED) == 1
    finally:
        store.dispose()
    fake = two_replicas[0].fake
    fake.wait_for("conversations.create", count=20, timeout=60)
    pages = pagerduty.wait_for(20, timeout=60)
    for server in two_replicas:
        assert server.stop(signal.SIGTERM) == 0
    assert len(fake.calls_to("conversations.create")) == 20
    triggers = [e for e in pagerduty.events if e["event_action"] == "trigger"]
    assert len(pages) >= 20 and len(triggers) == 20
    assert len({e["dedup_key"] for e in triggers}) == 20
