"""The alert webhook routes through the real HTTP app: what an Alertmanager notification declares, records
and pages; which alert times, severity labels, bodies and encodings (also of ``POST /changes``) are accepted
and how the refused ones are answered. On SQLite and PostgreSQL, the examples on the SLO catalogue's bot on
SQLite (expected values written out here)."""

from __future__ import annotations

import gzip
import json
import re
import threading
import urllib.error
import urllib.request
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import brotli
import pytest
import sqlalchemy as sa

from bot.app import wire_usecases
from bot.domain.alerts import parse_notification
from bot.domain.model import EntryKind, Severity, Status
from tests.support.alerts import T0, alert, firing_payload, notification, resolved_payload
from tests.support.bot_server import HttpResult, RunningBot
from tests.support.fake_pagerduty import FakePagerDuty
from tests.support.slack_driver import SlackDriver, channel_texts
from tests.support.webhooks import ALERTMANAGER_PATH, WEBHOOK_AUTH, WEBHOOK_TOKEN, post_json, post_webhook


class TestAlertTimesInRange:
    def test_go_zero_time_as_start_is_refused_and_declares_nothing(
        self, alerts_bot: RunningBot, pagerduty: FakePagerDuty
    ) -> None:
        """startsAt "0001-01-01T00:00:00Z" (the tester's example): 422 naming alerts[0].startsAt; nothing declared."""
        body = notification([alert("a1", T0, severity="critical")])
        body["alerts"][0]["startsAt"] = "0001-01-01T00:00:00Z"
        answer = post_webhook(alerts_bot, body)
        assert answer.status == 422, answer.body
        assert answer.json() == {
            "ok": False,
            "error": "`alerts[0].startsAt` is out of range (0001-01-01T00:00:00Z): alert times must lie between "
            "2000-01-01T00:00:00Z and one day after now (only `endsAt` may be Go's zero time, meaning no end yet).",
        }
        alerts_bot.drain()
        assert alerts_bot.usecases.incidents.summaries() == []
        assert pagerduty.events == [] and alerts_bot.usecases.outbox.items() == []

    def test_a_firing_alert_with_zero_end_is_accepted(self, alerts_bot: RunningBot) -> None:
        """Alertmanager's firing alert (endsAt = Go's zero time) declares as before, dated at its startsAt."""
        answer = post_webhook(alerts_bot, notification([alert("a1", T0, severity="critical")]))
        assert answer.status == 200 and answer.json()["action"] == "declared"
        assert alerts_bot.usecases.incidents.get(1).declared_at == T0

    def test_start_in_the_far_future_is_refused(self, alerts_bot: RunningBot) -> None:
        """startsAt two days after now: 422 naming the field."""
        body = notification([alert("a1", alerts_bot.usecases.clock() + timedelta(days=2))])
        answer = post_webhook(alerts_bot, body)
        assert answer.status == 422 and "`alerts[0].startsAt` is out of range" in answer.json()["error"]


class TestCommonSeverityLabelsPage:
    @pytest.mark.parametrize("label", ["page", "crit", "fatal", "emergency", "disaster"])
    def test_label_declares_sev1_and_pages(self, alerts_bot: RunningBot, pagerduty: FakePagerDuty, label: str) -> None:
        """An alert labelled severity=<label> declares a sev1 and PagerDuty gets one critical trigger."""
        assert post_webhook(alerts_bot, notification([alert("a1", T0, severity=label)])).status == 200
        assert alerts_bot.usecases.incidents.get(1).severity.value == "sev1"
        events = pagerduty.wait_for(1)
        assert [(e["event_action"], e["payload"]["severity"]) for e in events] == [("trigger", "critical")]


def notes(bot: RunningBot, number: int) -> list[tuple[str, str]]:
    """(actor, text) of the incident's note entries, in timeline order."""
    return [(e.actor, e.text) for e in bot.usecases.incidents.timeline(number)[1] if e.kind.value == "note"]


class TestTruncatedAlerts:
    def test_each_notification_reporting_left_out_alerts_adds_one_note(self, alerts_driver: SlackDriver) -> None:
        """truncatedAlerts 57 on the declaring notification, 0 on the next, 1 on the third: two notes, each
        posted in the channel once."""
        bot = alerts_driver.bot
        first = notification([alert("a1", T0, severity="critical")])
        first["truncatedAlerts"] = 57
        assert post_webhook(bot, first).json()["action"] == "declared"
        assert notes(bot, 1) == [
            ("alertmanager", "57 more alerts of this group were not sent (Alertmanager max_alerts)")
        ]
        second = notification([alert("a1", T0, severity="critical"), alert("a2", T0 + timedelta(minutes=1))])
        assert post_webhook(bot, second).json()["action"] == "recorded"
        third = notification([alert("a1", T0, severity="critical"), alert("a2", T0 + timedelta(minutes=1))])
        third["truncatedAlerts"] = 1
        assert post_webhook(bot, third).json() == {
            "ok": True,
            "action": "repeat",
            "incident": "INC-1",
            "recorded": 0,
            "alerts": 2,
            "updated": ["INC-1"],  # no state change, but the note of the alert left out
        }
        assert notes(bot, 1) == [
            ("alertmanager", "57 more alerts of this group were not sent (Alertmanager max_alerts)"),
            ("alertmanager", "1 more alert of this group was not sent (Alertmanager max_alerts)"),
        ]
        bot.drain()
        lines = alerts_driver.lines(str(bot.usecases.incidents.get(1).channel_id))
        assert lines.count("INC-1 · 1 more alert of this group was not sent (Alertmanager max_alerts)") == 1
        assert len(bot.usecases.incidents.summaries()) == 1


def post_bytes(bot: RunningBot, path: str, body: bytes, encoding: str | None = None) -> HttpResult:
    """POST raw bytes (a compressed body) with the webhook token and, if given, a Content-Encoding."""
    headers = {"Content-Type": "application/json", **WEBHOOK_AUTH}
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
    @pytest.mark.parametrize("path", [ALERTMANAGER_PATH, "/changes"])
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
        assert alerts_bot.usecases.incidents.summaries() == []

    @pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
    def test_compressed_bodies_are_accepted(self, alerts_bot: RunningBot, encoding: str) -> None:
        """A well-formed compressed notification declares; a compressed change is recorded."""
        body = json.dumps(notification([alert("a1", T0, severity="critical")])).encode()
        answer = post_bytes(alerts_bot, ALERTMANAGER_PATH, compress(encoding, body), encoding)
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
        answer = post_webhook(alerts_bot, {**CHANGE, field: value}, path="/changes")
        assert answer.status == 201, answer.body
        assert stored_change(alerts_bot, answer.json()["id"])[field] == stored

    def test_text_still_too_long_after_trimming_is_refused(self, alerts_bot: RunningBot) -> None:
        """257 characters once trimmed: 422 naming `author`."""
        answer = post_webhook(alerts_bot, {**CHANGE, "author": " " + 257 * "a" + " "}, path="/changes")
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
    def test_a_critical_alert_joining_a_sev3_is_pointed_out_not_applied(self, alerts_driver: SlackDriver) -> None:
        """A warning group declares sev3; a critical alert joins at 13:45: the severity stays sev3 and the
        channel gets exactly one hint line; a later warning joining adds no hint."""
        bot = alerts_driver.bot
        first = alert("w1", T0, severity="warning")
        assert post_webhook(bot, notification([first])).json()["action"] == "declared"
        critical = alert("c1", T0 + timedelta(minutes=5), severity="critical")
        assert post_webhook(bot, notification([first, critical])).json()["action"] == "recorded"
        later = alert("w2", T0 + timedelta(minutes=7), severity="warning")
        assert post_webhook(bot, notification([first, critical, later])).json()["action"] == "recorded"
        bot.drain()
        assert bot.usecases.incidents.get(1).severity.value == "sev3"
        lines = alerts_driver.lines(str(bot.usecases.incidents.get(1).channel_id))
        hints = [line for line in lines if "joined at" in line]
        assert hints == [
            "Alert EdgeHigh5xxRate (critical) joined at 13:45 UTC; INC-1 is sev3: "
            "raise it with `/incident severity sev1` if needed."
        ]


class TestAlertmanagerWebhook:
    def test_firing_alert_declares_like_a_slash_command(self, slo_slack: SlackDriver) -> None:
        """A v4 firing alert declares INC-1 at startsAt, sev1 from `critical`, with channel and source URL."""
        result = post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload())
        assert result.status == 200, result.body
        assert result.json() == {
            "ok": True,
            "action": "declared",
            "incident": "INC-1",
            "recorded": 1,
            "alerts": 1,
            "updated": ["INC-1"],
        }
        slo_slack.bot.drain()
        incident, entries = slo_slack.bot.usecases.incidents.timeline(1)
        assert incident.title == "CDN edge returning 502s above the error SLO"
        assert incident.severity is Severity.SEV1 and incident.service == "cdn-edge"
        assert incident.declared_at == datetime(2026, 11, 22, 13, 42, 7, 283749, tzinfo=UTC)
        fired = [e for e in entries if e.kind is EntryKind.ALERT_FIRED]
        assert fired and fired[0].data["generator_url"].startswith("http://prometheus.example.com:9090/graph")
        assert incident.channel_id and slo_slack.fake.calls_to("conversations.create")
        assert not [c for c in slo_slack.fake.calls_to("conversations.invite") if "alertmanager" in str(c.params)]

    def test_alertmanager_is_named_never_mentioned(self, slo_slack: SlackDriver) -> None:
        """Issue 11 item 7: every message Slack receives names alertmanager plainly; only U.../W... are <@...>."""
        assert post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload()).status == 200
        slo_slack.bot.drain()
        sent = json.dumps([c.params for c in slo_slack.fake.calls], ensure_ascii=False)
        assert "CDN edge returning 502s above the error SLO\\nDeclared by alertmanager at " in sent  # the announcement
        targets = re.findall(r"<@([^>|]*)", sent)
        assert all(re.fullmatch(r"[UW][A-Z0-9]+", target) for target in targets), targets

    def test_repeats_add_nothing_and_resolved_adds_a_cleared_entry(self, slo_slack: SlackDriver) -> None:
        """Same fingerprint while open adds nothing; `resolved` notes the clear once; the incident stays open."""
        post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload())
        before = len(slo_slack.bot.usecases.incidents.timeline(1)[1])
        repeat = post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload())
        assert repeat.json()["action"] == "repeat" and repeat.json()["recorded"] == 0
        assert (
            len(slo_slack.bot.usecases.incidents.summaries()) == 1
            and len(slo_slack.bot.usecases.incidents.timeline(1)[1]) == before
        )
        cleared = post_json(slo_slack.bot, "/alerts/alertmanager", resolved_payload())
        assert cleared.json()["action"] == "recorded" and cleared.json()["recorded"] == 1
        post_json(slo_slack.bot, "/alerts/alertmanager", resolved_payload())
        incident, entries = slo_slack.bot.usecases.incidents.timeline(1)
        clears = [e for e in entries if e.kind is EntryKind.ALERT_CLEARED]
        assert len(clears) == 1 and clears[0].occurred_at == datetime(2026, 11, 22, 14, 40, tzinfo=UTC)
        assert incident.status is Status.DECLARED

    def test_refiring_after_resolve_declares_a_new_incident(self, slo_slack: SlackDriver) -> None:
        """Once humans resolved the incident, the group firing again (a new startsAt) is a new incident."""
        post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload())
        slo_slack.ephemeral("INC-1 resolve edge healthy")
        again = post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload(startsAt="2026-11-22T16:00:00Z"))
        assert again.json() == {
            "ok": True,
            "action": "declared",
            "incident": "INC-2",
            "recorded": 1,
            "alerts": 1,
            "updated": ["INC-2"],
            "previous_incident": "INC-1",
        }

    @pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer wrong"}, {"Authorization": WEBHOOK_TOKEN}])
    def test_missing_or_wrong_token_is_401_and_records_nothing(
        self, slo_slack: SlackDriver, headers: dict[str, str] | None
    ) -> None:
        """No bearer token, a wrong one, or no `Bearer` scheme: 401, no incident."""
        result = post_json(slo_slack.bot, "/alerts/alertmanager", firing_payload(), headers=headers or {})
        assert result.status == 401
        assert slo_slack.bot.usecases.incidents.summaries() == []

    def test_unconfigured_token_refuses_everyone(self, bot: RunningBot) -> None:
        """Without INCIDENT_WEBHOOK_TOKEN the webhooks are closed, even to an empty bearer."""
        assert post_json(bot, "/alerts/alertmanager", firing_payload(), {"Authorization": "Bearer "}).status == 401
        assert (
            post_json(bot, "/changes", {"service": "x", "description": "y"}, {"Authorization": "Bearer "}).status == 401
        )

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ("{not json", 400),
            ({"version": "3", "alerts": []}, 422),
            ('{"version": "4", "alerts": [NaN]}', 400),
            (firing_payload(status="pending"), 422),
            (firing_payload(startsAt="soon"), 422),
        ],
    )
    def test_malformed_payload_is_refused_and_records_nothing(
        self, slo_slack: SlackDriver, body: Any, status: int
    ) -> None:
        """Not JSON: 400; JSON of the wrong shape: 422 with the reason; nothing is declared."""
        result = post_json(slo_slack.bot, "/alerts/alertmanager", body)
        assert result.status == status, result.body
        assert slo_slack.bot.usecases.incidents.summaries() == []
        if status == 422:
            assert result.json()["error"]


class TestAlertRace:
    def test_replicas_receiving_one_alert_declare_once(self, database_url: str) -> None:
        """Eight threads (as replicas) receive the same new alert at once: one incident, seven repeats."""
        from bot.store import open_store

        store = open_store(database_url)
        try:
            usecases = wire_usecases(store)
            notification = parse_notification(firing_payload(), datetime.now(UTC))
            barrier = threading.Barrier(8)
            results: list[str] = []

            def receive() -> None:
                barrier.wait()
                results.append(usecases.alerts.receive_notification(notification).action)

            threads = [threading.Thread(target=receive) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(results) == ["declared"] + ["repeat"] * 7
            assert len(usecases.incidents.summaries()) == 1
            assert [e.kind for e in usecases.incidents.timeline(1)[1]] == [EntryKind.DECLARED, EntryKind.ALERT_FIRED]
        finally:
            store.dispose()


class TestMisspeltServiceLabel:
    """An alert is never refused for its labels, but a service label that looks like a misspelt catalogued
    service (the catalogue has cdn-edge) is said in the channel, with the command that fixes it."""

    @pytest.mark.parametrize(("label", "closest"), [("cdn-egde", "cdn-edge"), ("cdn-edg", "cdn-edge")])
    def test_declared_with_a_note_naming_the_closest(self, slo_slack: SlackDriver, label: str, closest: str) -> None:
        body = firing_payload(labels={**firing_payload()["alerts"][0]["labels"], "service": label})
        body["commonLabels"] = {**body["commonLabels"], "service": label}
        result = post_json(slo_slack.bot, "/alerts/alertmanager", body)
        assert result.status == 200, result.body
        slo_slack.bot.drain()
        incident, entries = slo_slack.bot.usecases.incidents.timeline(1)
        assert incident.service == label
        expected = (
            f"The alerts' service label `{label}` is not in the SLO catalogue; did you mean `{closest}`? "
            f"No error budget is charged until the service is set: `/incident service {closest}`."
        )
        assert [e.text for e in entries if e.kind is EntryKind.NOTE] == [expected]
        posted = channel_texts(slo_slack, incident.channel_id or "").splitlines()
        assert [line for line in posted if "SLO catalogue" in line] == [expected]

    @pytest.mark.parametrize("label", ["cdn-edge", "billing-batch"])
    def test_a_catalogued_or_unrelated_service_gets_no_note(self, slo_slack: SlackDriver, label: str) -> None:
        body = firing_payload(labels={**firing_payload()["alerts"][0]["labels"], "service": label})
        body["commonLabels"] = {**body["commonLabels"], "service": label}
        assert post_json(slo_slack.bot, "/alerts/alertmanager", body).status == 200
        slo_slack.bot.drain()
        incident, entries = slo_slack.bot.usecases.incidents.timeline(1)
        assert incident.service == label
        assert [e for e in entries if e.kind is EntryKind.NOTE] == []
