"""A fresh tester's findings on alert groups, paging and /changes, through the real webhook routes and
outbox on SQLite and PostgreSQL (expected values written out here)."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import brotli
import pytest
import sqlalchemy as sa

from bot.app import dead_item_notice
from bot.domain.effects import OutboxItem
from tests.integration.conftest import SlackDriver
from tests.support.alerts import T0, alert, notification
from tests.support.bot_server import HttpResult, RunningBot, running_bot
from tests.support.fake_pagerduty import FakePagerDuty, fake_pagerduty
from tests.support.fake_slack import FakeSlack

TOKEN = "s3cret-webhook-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PATH = "/alerts/alertmanager"
ROUTING_KEY = "R0UTINGKEYR0UTINGKEYR0UTINGKEY32"


def post(bot: RunningBot, body: Any, path: str = PATH, headers: dict[str, str] | None = None) -> HttpResult:
    return bot.post(
        body if isinstance(body, str) else json.dumps(body), "application/json", {**AUTH, **(headers or {})}, path=path
    )


@pytest.fixture()
def pagerduty() -> Iterator[FakePagerDuty]:
    with fake_pagerduty() as fake:
        yield fake


@pytest.fixture()
def alerts_bot(database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty) -> Iterator[RunningBot]:
    with running_bot(
        database_url,
        fake_slack.base_url,
        INCIDENT_WEBHOOK_TOKEN=TOKEN,
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        PAGERDUTY_EVENTS_URL=pagerduty.url,
    ) as running:
        yield running


@pytest.fixture()
def driver(alerts_bot: RunningBot, fake_slack: FakeSlack) -> SlackDriver:
    return SlackDriver(alerts_bot, fake_slack)


class TestAlertTimesInRange:
    def test_go_zero_time_as_start_is_refused_and_declares_nothing(
        self, alerts_bot: RunningBot, pagerduty: FakePagerDuty
    ) -> None:
        """startsAt "0001-01-01T00:00:00Z" (the tester's example): 422 naming alerts[0].startsAt; nothing declared."""
        body = notification([alert("a1", T0, severity="critical")])
        body["alerts"][0]["startsAt"] = "0001-01-01T00:00:00Z"
        answer = post(alerts_bot, body)
        assert answer.status == 422, answer.body
        assert answer.json() == {
            "ok": False,
            "error": "`alerts[0].startsAt` is out of range (0001-01-01T00:00:00Z): alert times must lie between "
            "2000-01-01T00:00:00Z and one day after now (only `endsAt` may be Go's zero time, meaning no end yet).",
        }
        alerts_bot.drain()
        assert alerts_bot.usecases.list_incidents() == []
        assert pagerduty.events == [] and alerts_bot.usecases.outbox_items() == []

    def test_a_firing_alert_with_zero_end_is_accepted(self, alerts_bot: RunningBot) -> None:
        """Alertmanager's firing alert (endsAt = Go's zero time) declares as before, dated at its startsAt."""
        answer = post(alerts_bot, notification([alert("a1", T0, severity="critical")]))
        assert answer.status == 200 and answer.json()["action"] == "declared"
        assert alerts_bot.usecases.incident(1).declared_at == T0

    def test_start_in_the_far_future_is_refused(self, alerts_bot: RunningBot) -> None:
        """startsAt two days after now: 422 naming the field."""
        body = notification([alert("a1", alerts_bot.usecases.clock() + timedelta(days=2))])
        answer = post(alerts_bot, body)
        assert answer.status == 422 and "`alerts[0].startsAt` is out of range" in answer.json()["error"]


class TestCommonSeverityLabelsPage:
    @pytest.mark.parametrize("label", ["page", "crit", "fatal", "emergency", "disaster"])
    def test_label_declares_sev1_and_pages(self, alerts_bot: RunningBot, pagerduty: FakePagerDuty, label: str) -> None:
        """An alert labelled severity=<label> declares a sev1 and PagerDuty gets one critical trigger."""
        assert post(alerts_bot, notification([alert("a1", T0, severity=label)])).status == 200
        assert alerts_bot.usecases.incident(1).severity.value == "sev1"
        events = pagerduty.wait_for(1)
        assert [(e["event_action"], e["payload"]["severity"]) for e in events] == [("trigger", "critical")]


class TestDeadPagesAreAnnounced:
    def test_refused_trigger_is_told_in_the_channel(
        self, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
    ) -> None:
        """PagerDuty answers 400 to the trigger (a 5-character routing key): the item is dead and the
        channel gets one line saying the page could not be sent, why, and where it is listed."""
        with running_bot(
            database_url, fake_slack.base_url, PAGERDUTY_ROUTING_KEY="short", PAGERDUTY_EVENTS_URL=pagerduty.url
        ) as bot:
            driver = SlackDriver(bot, fake_slack)
            channel = driver.declare("declare sev1 Checkout down")
            bot.drain()
            dead = bot.usecases.outbox_items("dead")
            lines = [str(p.get("text")) for p in driver.posted(channel)]
        assert [item.kind for item in dead] == ["pagerduty.trigger"]
        expected = (
            ":warning: The PagerDuty page for INC-1 could not be sent: pagerduty refused the event (HTTP 400): "
            '{"status": "invalid event", "message": "Event object is invalid", "errors": '
            "[\"Length of 'routing_key' is incorrect (should be 32 characters)\"]}. "
            "Nobody was paged by incidentbot: page by hand if needed. `incidentbot outbox --status dead` lists it "
            f"(item {dead[0].id}); `incidentbot outbox --retry {dead[0].id}` sends it again once the cause is fixed."
        )
        assert [line for line in lines if "PagerDuty" in line] == [expected]

    def test_refused_resolve_is_told_in_the_channel(self, driver: SlackDriver, pagerduty: FakePagerDuty) -> None:
        """The trigger is accepted, the resolve refused (400): one line says the page could not be resolved."""
        channel = driver.declare("declare sev1 Checkout down")
        pagerduty.wait_for(1)
        pagerduty.statuses = [400]
        driver.ephemeral("resolve fixed", channel_id=channel)
        driver.bot.drain()
        dead = driver.bot.usecases.outbox_items("dead")
        assert [item.kind for item in dead] == ["pagerduty.resolve"]
        lines = [str(p.get("text")) for p in driver.posted(channel) if "PagerDuty" in str(p.get("text"))]
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


def notes(bot: RunningBot, number: int) -> list[tuple[str, str]]:
    """(actor, text) of the incident's note entries, in timeline order."""
    return [(e.actor, e.text) for e in bot.usecases.timeline(number)[1] if e.kind.value == "note"]


class TestTruncatedAlerts:
    def test_each_notification_reporting_left_out_alerts_adds_one_note(self, driver: SlackDriver) -> None:
        """truncatedAlerts 57 on the declaring notification, 0 on the next, 1 on the third: two notes, each
        posted in the channel once."""
        bot = driver.bot
        first = notification([alert("a1", T0, severity="critical")])
        first["truncatedAlerts"] = 57
        assert post(bot, first).json()["action"] == "declared"
        assert notes(bot, 1) == [
            ("alertmanager", "57 more alerts of this group were not sent (Alertmanager max_alerts)")
        ]
        second = notification([alert("a1", T0, severity="critical"), alert("a2", T0 + timedelta(minutes=1))])
        assert post(bot, second).json()["action"] == "recorded"
        third = notification([alert("a1", T0, severity="critical"), alert("a2", T0 + timedelta(minutes=1))])
        third["truncatedAlerts"] = 1
        assert post(bot, third).json() == {
            "ok": True,
            "action": "repeat",
            "incident": "INC-1",
            "recorded": 0,
            "alerts": 2,
        }
        assert notes(bot, 1) == [
            ("alertmanager", "57 more alerts of this group were not sent (Alertmanager max_alerts)"),
            ("alertmanager", "1 more alert of this group was not sent (Alertmanager max_alerts)"),
        ]
        bot.drain()
        lines = [str(p.get("text")) for p in driver.posted(str(bot.usecases.incident(1).channel_id))]
        assert lines.count("INC-1 · 1 more alert of this group was not sent (Alertmanager max_alerts)") == 1
        assert len(bot.usecases.list_incidents()) == 1


def post_bytes(bot: RunningBot, path: str, body: bytes, encoding: str | None = None) -> HttpResult:
    """POST raw bytes (a compressed body) with the webhook token and, if given, a Content-Encoding."""
    headers = {"Content-Type": "application/json", **AUTH}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(bot.url + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return HttpResult(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.read().decode(), dict(error.headers))


CHANGE = {"service": "cdn-edge", "description": "WAF rule deployed", "author": "carol"}


def compress(encoding: str, data: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    return bytes(brotli.compress(data))


class TestBodiesAndEncodings:
    @pytest.mark.parametrize("path", [PATH, "/changes"])
    @pytest.mark.parametrize(
        ("encoding", "body"),
        [
            ("deflate", b"this is not a deflate stream"),  # the tester's example (was 500 zlib.error)
            ("gzip", b"\x1f\x8b garbage"),
            ("br", b"\xff\xff\xff\xff"),  # was a text/plain 400 ("please install Brotli")
        ],
    )
    def test_corrupt_compressed_body_is_400_json(
        self, alerts_bot: RunningBot, path: str, encoding: str, body: bytes
    ) -> None:
        """A body its Content-Encoding cannot decode: 400 JSON (never retried), nothing recorded."""
        answer = post_bytes(alerts_bot, path, body, encoding)
        assert answer.status == 400, answer.body
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json() == {
            "ok": False,
            "error": f"the body cannot be decoded as its Content-Encoding ({encoding}) says",
        }
        assert alerts_bot.usecases.list_incidents() == []

    @pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
    def test_compressed_bodies_are_accepted(self, alerts_bot: RunningBot, encoding: str) -> None:
        """A well-formed compressed notification declares; a compressed change is recorded."""
        body = json.dumps(notification([alert("a1", T0, severity="critical")])).encode()
        answer = post_bytes(alerts_bot, PATH, compress(encoding, body), encoding)
        assert (answer.status, answer.json()["action"]) == (200, "declared")
        change = post_bytes(alerts_bot, "/changes", compress(encoding, json.dumps(CHANGE).encode()), encoding)
        assert change.status == 201, change.body

    def test_five_megabyte_change_is_413_json(self, alerts_bot: RunningBot) -> None:
        """/changes with a 5 MB body: 413 with the JSON error shape of the other answers."""
        answer = post_bytes(alerts_bot, "/changes", b'{"description": "' + b"a" * (5 * 1024 * 1024) + b'"}')
        assert answer.status == 413
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json() == {"ok": False, "error": "the body is larger than 1048576 bytes"}

    def test_a_gzip_bomb_change_is_413_json(self, alerts_bot: RunningBot) -> None:
        """The limit is on the decompressed body: 20 KB of gzip inflating to 20 MB is 413, not read whole."""
        bomb = gzip.compress(b'{"description": "' + b"a" * (20 * 1024 * 1024) + b'"}')
        assert len(bomb) < 100_000
        answer = post_bytes(alerts_bot, "/changes", bomb, "gzip")
        assert (answer.status, answer.json()["error"]) == (413, "the body is larger than 1048576 bytes")

    @pytest.mark.parametrize(
        ("field", "value", "stored"),
        [
            ("author", "  " + 256 * "a" + "  ", 256 * "a"),  # the tester's example
            ("author", "\t" + 256 * "b" + "\n", 256 * "b"),
            ("description", " " + 2000 * "d" + " ", 2000 * "d"),
        ],
    )
    def test_text_is_trimmed_before_its_length_is_checked(
        self, alerts_bot: RunningBot, field: str, value: str, stored: str
    ) -> None:
        """A value whose trimmed text fits is accepted (201) and stored trimmed, on both databases."""
        answer = post(alerts_bot, {**CHANGE, field: value}, path="/changes")
        assert answer.status == 201, answer.body
        assert stored_change(alerts_bot, answer.json()["id"])[field] == stored

    def test_text_still_too_long_after_trimming_is_refused(self, alerts_bot: RunningBot) -> None:
        """257 characters once trimmed: 422 naming `author`."""
        answer = post(alerts_bot, {**CHANGE, "author": " " + 257 * "a" + " "}, path="/changes")
        assert answer.status == 422
        assert answer.json() == {"ok": False, "error": "`author` must be a string of at most 256 characters."}


def stored_change(bot: RunningBot, change_id: int) -> dict[str, str]:
    """The change_events row, read with plain SQL."""
    engine = sa.create_engine(bot.settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT author, description FROM change_events WHERE id = :id"), {"id": change_id}
            ).one()
    finally:
        engine.dispose()
    return {"author": str(row[0]), "description": str(row[1])}


class TestMoreSevereAlertJoins:
    def test_a_critical_alert_joining_a_sev3_is_pointed_out_not_applied(self, driver: SlackDriver) -> None:
        """A warning group declares sev3; a critical alert joins at 13:45: the severity stays sev3 and the
        channel gets exactly one hint line; a later warning joining adds no hint."""
        bot = driver.bot
        first = alert("w1", T0, severity="warning")
        assert post(bot, notification([first])).json()["action"] == "declared"
        critical = alert("c1", T0 + timedelta(minutes=5), severity="critical")
        assert post(bot, notification([first, critical])).json()["action"] == "recorded"
        later = alert("w2", T0 + timedelta(minutes=7), severity="warning")
        assert post(bot, notification([first, critical, later])).json()["action"] == "recorded"
        bot.drain()
        assert bot.usecases.incident(1).severity.value == "sev3"
        lines = [str(p.get("text")) for p in driver.posted(str(bot.usecases.incident(1).channel_id))]
        hints = [line for line in lines if "joined at" in line]
        assert hints == [
            "Alert EdgeHigh5xxRate (critical) joined at 13:45 UTC; INC-1 is sev3: "
            "raise it with `/incident severity sev1` if needed."
        ]
