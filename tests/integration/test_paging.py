"""Paging follows what was paged, through the real path: signed Slack commands to the running bot, the
outbox worker delivering to a fake PagerDuty Events API v2 on 127.0.0.1, on SQLite and PostgreSQL.

Expected events are written out here: ``(event_action, dedup_key)`` with the key spelled
``incidentbot-<installation id>-INC-<n>``, the installation id read from the database with plain SQL.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from bot.app import UseCases, dead_item_notice, wire_usecases
from bot.domain.effects import OutboxItem
from bot.domain.errors import BotError
from bot.domain.grammar import parse_command
from bot.integrations.pagerduty import paging_plan
from bot.store import open_store
from bot.store.engine import create_store_engine
from bot.store.migrate import upgrade
from bot.usecases.shared import Actor
from tests.support.alerts import T0
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_pagerduty import ROUTING_KEY, FakePagerDuty, installation_id, sent
from tests.support.fake_slack import FakeSlack
from tests.support.paging_model import SEVERITIES, commands, expected_events
from tests.support.postgres import PostgresServer
from tests.support.properties import examples
from tests.support.slack_driver import SlackDriver

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def page_rows(database_url: str) -> list[tuple[int, str, bool, int]]:
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT incident_number, dedup_key, open, triggers FROM pages ORDER BY incident_number")
            return [(int(n), str(k), bool(o), int(t)) for n, k, o, t in connection.execute(query)]
    finally:
        engine.dispose()


@pytest.fixture()
def paging_bot(
    migrated_database: None, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
) -> Iterator[RunningBot]:
    """The bot on each database, paging the fake PagerDuty."""
    with running_bot(
        database_url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty.url
    ) as running:
        yield running


@pytest.fixture()
def pd(paging_bot: RunningBot, fake_slack: FakeSlack) -> SlackDriver:
    return SlackDriver(paging_bot, fake_slack)


@pytest.fixture()
def key1(database_url: str, paging_bot: RunningBot) -> str:
    """INC-1's dedup_key in this database."""
    return f"incidentbot-{installation_id(database_url)}-INC-1"


class TestPagingExamples:
    def test_sev1_lowered_to_sev3_then_resolved_resolves_the_page(
        self, pd: SlackDriver, pagerduty: FakePagerDuty, key1: str
    ) -> None:
        """declare sev1 (trigger), severity sev3, resolve -> exactly [trigger, resolve]."""
        channel = pd.declare("declare sev1 Checkout down")
        pd.ephemeral("severity sev3", channel_id=channel)
        pd.ephemeral("resolve fixed", channel_id=channel)
        pd.bot.drain()
        assert sent(pagerduty) == [("trigger", key1), ("resolve", key1)]
        assert pagerduty.refused == []
        trigger, resolve = pagerduty.events
        assert trigger["routing_key"] == ROUTING_KEY and trigger["payload"]["severity"] == "critical"
        assert trigger["payload"]["summary"] == "INC-1 (sev1): Checkout down"
        assert resolve == {"routing_key": ROUTING_KEY, "dedup_key": key1, "event_action": "resolve"}

    def test_raised_to_sev1_lowered_to_sev4_then_resolved_resolves_the_page(
        self, pd: SlackDriver, pagerduty: FakePagerDuty, key1: str
    ) -> None:
        """declare sev3, severity sev1 (trigger), severity sev4, resolve -> exactly [trigger, resolve]."""
        channel = pd.declare("declare sev3 Search slow")
        assert sent(pagerduty) == []
        pd.ephemeral("severity sev1", channel_id=channel)
        assert sent(pagerduty) == [("trigger", key1)]
        pd.ephemeral("severity sev4", channel_id=channel)
        pd.ephemeral("resolve fixed", channel_id=channel)
        pd.bot.drain()
        assert sent(pagerduty) == [("trigger", key1), ("resolve", key1)]
        assert pagerduty.events[0]["payload"]["severity"] == "critical"

    def test_resolved_incident_reclassified_as_sev1_pages_nobody(
        self, pd: SlackDriver, pagerduty: FakePagerDuty, database_url: str
    ) -> None:
        """resolve a sev3, then severity sev1 during the review -> no event at all."""
        channel = pd.declare("declare sev3 Search slow")
        pd.ephemeral("resolve fixed", channel_id=channel)
        pd.ephemeral("severity sev1", channel_id=channel)
        pd.bot.drain()
        assert pd.bot.usecases.incidents.get(1).severity.value == "sev1"  # the reclassification did happen
        assert pagerduty.events == [] and pagerduty.refused == []
        assert page_rows(database_url) == []

    def test_reopen_pages_again_and_the_next_resolve_resolves(
        self, pd: SlackDriver, pagerduty: FakePagerDuty, key1: str
    ) -> None:
        """sev2: trigger, resolve; reopen: trigger again (same key); resolve: resolve."""
        channel = pd.declare("declare sev2 Payments failing")
        pd.ephemeral("resolve fixed", channel_id=channel)
        pd.ephemeral("reopen errors are back", channel_id=channel)
        pd.ephemeral("resolve really fixed", channel_id=channel)
        pd.bot.drain()
        assert sent(pagerduty) == [("trigger", key1), ("resolve", key1), ("trigger", key1), ("resolve", key1)]

    def test_reopening_a_minor_incident_pages_nobody(self, pd: SlackDriver, pagerduty: FakePagerDuty) -> None:
        """A sev3 resolved, reclassified sev4, reopened: nothing pages."""
        channel = pd.declare("declare sev3 Search slow")
        pd.ephemeral("resolve fixed", channel_id=channel)
        pd.ephemeral("severity sev4", channel_id=channel)
        pd.ephemeral("reopen still slow", channel_id=channel)
        pd.bot.drain()
        assert pagerduty.events == [] and pagerduty.refused == []

    def test_page_is_recorded_with_the_incident(
        self, pd: SlackDriver, database_url: str, key1: str, pagerduty: FakePagerDuty
    ) -> None:
        """The pages table says INC-1 was paged (open, 1 trigger), then resolved (closed, still 1 trigger)."""
        channel = pd.declare("declare sev1 Checkout down")
        assert page_rows(database_url) == [(1, key1, True, 1)]
        pd.ephemeral("severity sev2", channel_id=channel)
        assert page_rows(database_url) == [(1, key1, True, 1)]
        pd.ephemeral("resolve fixed", channel_id=channel)
        assert page_rows(database_url) == [(1, key1, False, 1)]
        assert sent(pagerduty) == [("trigger", key1), ("resolve", key1)]


class TestPagingFromTheCommandLine:
    def test_cli_resolve_resolves_the_page_and_the_running_bot_delivers_it(
        self, pd: SlackDriver, pagerduty: FakePagerDuty, database_url: str, key1: str, tmp_path: Path
    ) -> None:
        """sev1 declared and lowered to sev3 in Slack, resolved by ``incidentbot run`` (a real process): the
        CLI queues the resolve, the running bot delivers it."""
        channel = pd.declare("declare sev1 Checkout down")
        pd.ephemeral("severity sev3", channel_id=channel)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "PAGERDUTY_"))}
        env.update(DATABASE_URL=database_url, PAGERDUTY_ROUTING_KEY=ROUTING_KEY)
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "run", "INC-1 resolve fixed"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        pd.bot.drain()
        assert sent(pagerduty) == [("trigger", key1), ("resolve", key1)]


class TestPagerDutyAnswers:
    def test_rate_limited_event_is_retried(self, pd: SlackDriver, pagerduty: FakePagerDuty, key1: str) -> None:
        """429 (PagerDuty's rate limit) reschedules the event; it arrives on a later attempt, once."""
        pagerduty.statuses = [429]
        pd.declare("declare sev2 Payments failing")
        assert [(e["event_action"], e["dedup_key"]) for e in pagerduty.wait_for(1, timeout=15)] == [("trigger", key1)]
        assert len(pagerduty.refused) == 1

    def test_outage_is_retried(self, pd: SlackDriver, pagerduty: FakePagerDuty, key1: str) -> None:
        """A 500 from PagerDuty reschedules the event; it arrives on the next attempt."""
        pagerduty.statuses = [500]
        pd.declare("declare sev2 Payments failing")
        assert [(e["event_action"], e["dedup_key"]) for e in pagerduty.wait_for(1, timeout=15)] == [("trigger", key1)]
        assert len(pagerduty.refused) == 1

    def test_invalid_event_is_not_retried(
        self, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
    ) -> None:
        """A 400 "invalid event" (here: a routing key that is not 32 characters) buries the item; no retry."""
        with running_bot(
            database_url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY="short", PAGERDUTY_EVENTS_URL=pagerduty.url
        ) as bot:
            SlackDriver(bot, fake_slack).declare("declare sev1 Checkout down")
            bot.drain()
            dead = bot.usecases.outbox.items("dead")
        assert pagerduty.events == [] and len(pagerduty.refused) == 1
        assert [item.kind for item in dead] == ["pagerduty.trigger"]
        assert "HTTP 400" in dead[0].last_error and "routing_key" in dead[0].last_error

    def test_without_routing_key_nothing_is_paged(self, slack: SlackDriver) -> None:
        """PAGERDUTY_ROUTING_KEY unset: a sev1 queues no paging item at all."""
        slack.declare("declare sev1 Checkout down")
        assert not [i for i in slack.bot.usecases.outbox.items() if i.kind.startswith("pagerduty")]


class TestInstallations:
    @pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
    def test_two_databases_page_inc1_under_different_keys(
        self, kind: str, tmp_path: Path, fake_slack: FakeSlack, pagerduty: FakePagerDuty, request: pytest.FixtureRequest
    ) -> None:
        """Production and staging (two databases) each declare a sev1 INC-1: two keys, each its database's."""
        with ExitStack() as stack:
            if kind == "sqlite":
                urls = [f"sqlite:///{tmp_path / 'production.db'}", f"sqlite:///{tmp_path / 'staging.db'}"]
            else:
                server: PostgresServer = request.getfixturevalue("postgres")
                urls = [stack.enter_context(server.fresh_database()) for _ in range(2)]
            for url in urls:
                with running_bot(
                    url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty.url
                ) as bot:
                    SlackDriver(bot, fake_slack).declare("declare sev1 Checkout down")
                    bot.drain()
            ids = [installation_id(url) for url in urls]
        assert all(UUID4.match(i) for i in ids), ids
        assert ids[0] != ids[1]
        assert sent(pagerduty) == [
            ("trigger", f"incidentbot-{ids[0]}-INC-1"),
            ("trigger", f"incidentbot-{ids[1]}-INC-1"),
        ]

    def test_a_copy_cleared_of_its_identity_pages_under_a_new_one(
        self, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
    ) -> None:
        """README's recipe for a copied database (delete pages and installation): the next page gets a new id."""
        with running_bot(database_url, fake_slack.base_url):
            copied = installation_id(database_url)
        engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM pages"))
            connection.execute(sa.text("DELETE FROM installation"))
        engine.dispose()
        with running_bot(
            database_url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty.url
        ) as bot:
            SlackDriver(bot, fake_slack).declare("declare sev1 Checkout down")
            bot.drain()
        fresh = installation_id(database_url)
        assert UUID4.match(fresh) and fresh != copied
        assert sent(pagerduty) == [("trigger", f"incidentbot-{fresh}-INC-1")]

    def test_installation_id_survives_restarts(self, database_url: str, fake_slack: FakeSlack) -> None:
        """Starting the bot again (migrations run again) keeps the id written at the first migration."""
        with running_bot(database_url, fake_slack.base_url):
            first = installation_id(database_url)
        with running_bot(database_url, fake_slack.base_url):
            assert installation_id(database_url) == first


# -- the property: paging follows a model of open periods (tests/support/paging_model.py) ---------------


class TestPagingProperty:
    @settings(
        max_examples=examples(25),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(initial=st.sampled_from(SEVERITIES), commands=commands)
    @example(initial="sev1", commands=["severity sev3", "resolve done"])
    @example(initial="sev3", commands=["severity sev1", "severity sev4", "resolve done"])
    @example(initial="sev3", commands=["resolve done", "severity sev1"])
    @example(initial="sev2", commands=["resolve done", "reopen again", "severity sev3", "resolve done"])
    def test_events_follow_the_model(
        self, pd: SlackDriver, pagerduty: FakePagerDuty, database_url: str, initial: str, commands: list[str]
    ) -> None:
        """Each generated life (declare, severity changes, resolve, reopen) gets exactly the model's events,
        step by step: a trigger per open period that reached sev1/sev2, a resolve when such a period ends."""
        number = len(pd.bot.usecases.incidents.summaries()) + 1
        key = f"incidentbot-{installation_id(database_url)}-INC-{number}"
        channel = pd.declare(f"declare {initial} Generated incident")
        observed = [[action for action, _ in sent(pagerduty, key)]]
        for command in commands:
            pd.command(command, channel_id=channel)
            already = sum(len(step) for step in observed)
            observed.append([action for action, _ in sent(pagerduty, key)][already:])
        assert observed == expected_events(initial, commands)
        assert pagerduty.refused == []


class TestUpgradeFromRelease0003:
    def test_open_pages_of_the_previous_release_are_resolved_under_their_old_key(
        self, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
    ) -> None:
        """A database at 0003: open INC-1 declared sev1; open INC-2 declared sev3; resolved INC-3 declared sev2;
        open INC-4 declared sev2 then lowered to sev4 (the old release paged it and never resolved). After
        the upgrade INC-1 and INC-4 have open pages under their old keys; resolving them sends those resolves."""
        engine = create_store_engine(database_url)
        incidents = sa.table(
            "incidents",
            *(sa.column(c) for c in ("id", "number", "title", "description", "severity", "status")),
            *(sa.column(c) for c in ("declared_at", "declared_by", "summary", "version", "created_at", "updated_at")),
        )
        entries = sa.table(
            "timeline_entries",
            *(sa.column(c) for c in ("incident_id", "kind", "occurred_at", "recorded_at", "actor", "text")),
            sa.column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        )
        try:
            upgrade(engine, "0003")
            at = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
            stamp = at.replace(tzinfo=None) if engine.dialect.name == "sqlite" else at  # as UTCDateTime stores it
            # (number, declared at, severity now, status)
            old = [
                (1, "sev1", "sev1", "investigating"),
                (2, "sev3", "sev3", "declared"),
                (3, "sev2", "sev2", "resolved"),
                (4, "sev2", "sev4", "investigating"),
            ]
            with engine.begin() as connection:
                for number, declared, severity, status in old:
                    row = {"id": number, "number": number, "title": "Old", "description": "", "summary": ""}
                    row |= {"severity": severity, "status": status, "declared_by": "U0ALICE", "version": 1}
                    row |= {"declared_at": stamp, "created_at": stamp, "updated_at": stamp}
                    connection.execute(incidents.insert(), row)
                    entry = {"incident_id": number, "occurred_at": stamp, "recorded_at": stamp, "actor": "U0ALICE"}
                    history = [{**entry, "kind": "declared", "text": "Old", "data": {"severity": declared}}]
                    if severity != declared:
                        change = {"severity_from": declared, "severity_to": severity}
                        history.append({**entry, "kind": "severity", "text": "", "data": change})
                    connection.execute(entries.insert(), history)
            upgrade(engine)
        finally:
            engine.dispose()
        assert page_rows(database_url) == [(1, "INC-1", True, 1), (4, "INC-4", True, 1)]
        assert UUID4.match(installation_id(database_url))
        with running_bot(
            database_url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty.url
        ) as bot:
            driver = SlackDriver(bot, fake_slack)
            driver.ephemeral("INC-2 note still slow")
            driver.ephemeral("INC-1 resolve fixed")
            driver.ephemeral("INC-4 resolve fixed")
            bot.drain()
        assert sent(pagerduty) == [("resolve", "INC-1"), ("resolve", "INC-4")]
        assert page_rows(database_url) == [(1, "INC-1", False, 1), (4, "INC-4", False, 1)]


class TestPagingRace:
    def test_replicas_raising_one_incident_at_once_page_it_once(self, database_url: str) -> None:
        """Two stores (as two replicas), four threads each, raise one sev3 to sev1/sev2 at once, then resolve
        at once: exactly one trigger and one resolve are queued."""
        stores = [open_store(database_url), open_store(database_url)]
        try:
            services = [wire_usecases(store, standing_plans=[paging_plan]) for store in stores]
            services[0].incidents.run(parse_command("declare sev3 Search slow"), Actor("U0ALICE"))

            def all_at_once(text: str) -> None:
                barrier = threading.Barrier(8)

                def act(usecases: UseCases) -> None:
                    barrier.wait()
                    with contextlib.suppress(BotError):  # "already resolved" for the losers
                        usecases.incidents.run(parse_command(text), Actor("U0BOB"))

                threads = [threading.Thread(target=act, args=(services[i % 2],)) for i in range(8)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)

            all_at_once("INC-1 severity sev1")
            all_at_once("INC-1 resolve fixed")
            kinds = [item.kind for item in services[0].outbox.items() if item.kind.startswith("pagerduty")]
            assert kinds == ["pagerduty.trigger", "pagerduty.resolve"]
            assert page_rows(database_url) == [(1, f"incidentbot-{installation_id(database_url)}-INC-1", False, 1)]
        finally:
            for store in stores:
                store.dispose()


class TestDeadPagesAreAnnounced:
    def test_refused_trigger_is_told_in_the_channel(
        self, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
    ) -> None:
        """PagerDuty answers 400 to the trigger (a 5-character routing key): the item is dead and the
        channel gets one line saying the page could not be sent, why, and where it is listed."""
        with running_bot(
            database_url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY="short", PAGERDUTY_EVENTS_URL=pagerduty.url
        ) as bot:
            alerts_driver = SlackDriver(bot, fake_slack)
            channel = alerts_driver.declare("declare sev1 Checkout down")
            bot.drain()
            dead = bot.usecases.outbox.items("dead")
            lines = [str(p.get("text")) for p in alerts_driver.posted(channel)]
        assert [item.kind for item in dead] == ["pagerduty.trigger"]
        expected = (
            ":warning: The PagerDuty page for INC-1 could not be sent: pagerduty refused the event (HTTP 400): "
            '{"status": "invalid event", "message": "Event object is invalid", "errors": '
            "[\"Length of 'routing_key' is incorrect (should be 32 characters)\"]}. "
            "Nobody was paged by incidentbot: page by hand if needed. `incidentbot outbox --status dead` lists it "
            f"(item {dead[0].id}); `incidentbot outbox --retry {dead[0].id}` sends it again once the cause is fixed."
        )
        assert [line for line in lines if "PagerDuty" in line] == [expected]

    def test_refused_resolve_is_told_in_the_channel(self, alerts_driver: SlackDriver, pagerduty: FakePagerDuty) -> None:
        """The trigger is accepted, the resolve refused (400): one line says the page could not be resolved."""
        channel = alerts_driver.declare("declare sev1 Checkout down")
        pagerduty.wait_for(1)
        pagerduty.statuses = [400]
        alerts_driver.ephemeral("resolve fixed", channel_id=channel)
        alerts_driver.bot.drain()
        dead = alerts_driver.bot.usecases.outbox.items("dead")
        assert [item.kind for item in dead] == ["pagerduty.resolve"]
        lines = [str(p.get("text")) for p in alerts_driver.posted(channel) if "PagerDuty" in str(p.get("text"))]
        assert lines == [
            ":warning: The PagerDuty page for INC-1 could not be resolved: pagerduty refused the event (HTTP 400): "
            '{"status": "invalid event", "message": "Event object is invalid", "errors": []}. '
            "It may still be open in PagerDuty: resolve it there. `incidentbot outbox --status dead` lists it "
            f"(item {dead[0].id}); `incidentbot outbox --retry {dead[0].id}` sends it again once the cause is fixed."
        ]

    def test_a_buried_slack_item_posts_nothing(self) -> None:
        """Only PagerDuty items are announced: a dead Slack item (channel_not_found) adds no line."""
        item = OutboxItem(7, "slack.post_line", {}, 1, "pending", 1, T0, "", T0)
        assert dead_item_notice(item, "channel_not_found") == []

    @pytest.mark.parametrize(
        ("kind", "announced"),
        [("pagerduty.trigger", "could not be sent"), ("pagerduty.resolve", "could not be resolved")],
    )
    def test_the_composition_root_joins_pagerduty_kinds_to_slack_notices(self, kind: str, announced: str) -> None:
        """bot.app's on_buried: a buried PagerDuty item of INC-4 owes one line in INC-4's channel."""
        item = OutboxItem(9, kind, {}, 4, "pending", 1, T0, "", T0)
        [effect] = dead_item_notice(item, "HTTP 400")
        assert (effect.kind, effect.incident_number) == ("slack.post_line", 4)
        assert f"The PagerDuty page for INC-4 {announced}: HTTP 400." in effect.payload["text"]
