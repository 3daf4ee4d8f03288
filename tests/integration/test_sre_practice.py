"""SRE practice through the real entry points: Alertmanager and CI/CD webhooks over HTTP, paging through
a fake PagerDuty, nudges, error budgets in Slack (slash command, status message, App Home)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import NUDGER
from bot.domain.alerts import parse_notification
from bot.domain.model import EntryKind, Severity, Status
from bot.usecases.incidents import IncidentUseCases
from tests.integration.conftest import SlackDriver
from tests.support import signing
from tests.support.bot_server import HttpResult, RunningBot, running_bot, sqlite_url
from tests.support.fake_pagerduty import FakePagerDuty, fake_pagerduty
from tests.support.fake_slack import FakeSlack

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
TOKEN = "s3cret-webhook-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUTING_KEY = "R0UTINGKEYR0UTINGKEYR0UTINGKEY32"  # an integration key has 32 characters
SLOS = """services:
  cdn-edge:
    slo: 99.95
    window_days: 30
    owner_channel: C0GENERAL
"""


def firing_payload(**alert_changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((PAYLOADS / "alertmanager_firing.json").read_text())
    body["alerts"][0].update(alert_changes)
    return body


def resolved_payload(ends_at: str = "2026-11-22T14:40:00Z") -> dict[str, Any]:
    body = firing_payload(status="resolved", endsAt=ends_at)
    body["status"] = "resolved"
    return body


@pytest.fixture()
def pagerduty() -> Iterator[FakePagerDuty]:
    with fake_pagerduty() as fake:
        yield fake


@pytest.fixture()
def sre_bot(tmp_path: Path, fake_slack: FakeSlack, pagerduty: FakePagerDuty) -> Iterator[RunningBot]:
    """The bot with a webhook token, an SLO catalogue and PagerDuty pointed at the fake."""
    slo_file = tmp_path / "slos.yml"
    slo_file.write_text(SLOS)
    with running_bot(
        sqlite_url(tmp_path),
        fake_slack.base_url,
        INCIDENT_WEBHOOK_TOKEN=TOKEN,
        INCIDENT_SLO_FILE=str(slo_file),
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        PAGERDUTY_EVENTS_URL=pagerduty.url,
    ) as running:
        yield running


@pytest.fixture()
def sre(sre_bot: RunningBot, fake_slack: FakeSlack) -> SlackDriver:
    return SlackDriver(sre_bot, fake_slack)


def post_json(bot: RunningBot, path: str, body: Any, headers: dict[str, str] | None = AUTH) -> HttpResult:
    text = body if isinstance(body, str) else json.dumps(body)
    return bot.post(text, "application/json", headers or {}, path=path)


def channel_texts(driver: SlackDriver, channel_id: str) -> str:
    return "\n".join(str(p.get("text") or "") for p in driver.posted(channel_id))


class TestAlertmanagerWebhook:
    def test_firing_alert_declares_like_a_slash_command(self, sre: SlackDriver) -> None:
        """A v4 firing alert declares INC-1 at startsAt, sev1 from `critical`, with channel and source URL."""
        result = post_json(sre.bot, "/alerts/alertmanager", firing_payload())
        assert result.status == 200, result.body
        assert result.json() == {"ok": True, "action": "declared", "incident": "INC-1", "recorded": 1, "alerts": 1}
        sre.bot.drain()
        incident, entries = sre.bot.usecases.timeline(1)
        assert incident.title == "CDN edge returning 502s above the error SLO"
        assert incident.severity is Severity.SEV1 and incident.service == "cdn-edge"
        assert incident.declared_at == datetime(2026, 11, 22, 13, 42, 7, 283749, tzinfo=UTC)
        fired = [e for e in entries if e.kind is EntryKind.ALERT_FIRED]
        assert fired and fired[0].data["generator_url"].startswith("http://prometheus.example.com:9090/graph")
        assert incident.channel_id and sre.fake.calls_to("conversations.create")
        assert not [c for c in sre.fake.calls_to("conversations.invite") if "alertmanager" in str(c.params)]

    def test_alertmanager_is_named_never_mentioned(self, sre: SlackDriver) -> None:
        """Issue 11 item 7: every message Slack receives names alertmanager plainly; only U.../W... are <@...>."""
        assert post_json(sre.bot, "/alerts/alertmanager", firing_payload()).status == 200
        sre.bot.drain()
        sent = json.dumps([c.params for c in sre.fake.calls], ensure_ascii=False)
        assert "declared by alertmanager: CDN edge returning 502s above the error SLO" in sent
        targets = re.findall(r"<@([^>|]*)", sent)
        assert all(re.fullmatch(r"[UW][A-Z0-9]+", target) for target in targets), targets

    def test_repeats_add_nothing_and_resolved_adds_a_cleared_entry(self, sre: SlackDriver) -> None:
        """Same fingerprint while open adds nothing; `resolved` notes the clear once; the incident stays open."""
        post_json(sre.bot, "/alerts/alertmanager", firing_payload())
        before = len(sre.bot.usecases.timeline(1)[1])
        repeat = post_json(sre.bot, "/alerts/alertmanager", firing_payload())
        assert repeat.json()["action"] == "repeat" and repeat.json()["recorded"] == 0
        assert len(sre.bot.usecases.list_incidents()) == 1 and len(sre.bot.usecases.timeline(1)[1]) == before
        cleared = post_json(sre.bot, "/alerts/alertmanager", resolved_payload())
        assert cleared.json()["action"] == "recorded" and cleared.json()["recorded"] == 1
        post_json(sre.bot, "/alerts/alertmanager", resolved_payload())
        incident, entries = sre.bot.usecases.timeline(1)
        clears = [e for e in entries if e.kind is EntryKind.ALERT_CLEARED]
        assert len(clears) == 1 and clears[0].occurred_at == datetime(2026, 11, 22, 14, 40, tzinfo=UTC)
        assert incident.status is Status.DECLARED

    def test_refiring_after_resolve_declares_a_new_incident(self, sre: SlackDriver) -> None:
        """Once humans resolved the incident, the group firing again (a new startsAt) is a new incident."""
        post_json(sre.bot, "/alerts/alertmanager", firing_payload())
        sre.ephemeral("INC-1 resolve edge healthy")
        again = post_json(sre.bot, "/alerts/alertmanager", firing_payload(startsAt="2026-11-22T16:00:00Z"))
        assert again.json() == {
            "ok": True,
            "action": "declared",
            "incident": "INC-2",
            "recorded": 1,
            "alerts": 1,
            "previous_incident": "INC-1",
        }

    @pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
    def test_missing_or_wrong_token_is_401_and_records_nothing(
        self, sre: SlackDriver, headers: dict[str, str] | None
    ) -> None:
        """No bearer token, a wrong one, or no `Bearer` scheme: 401, no incident."""
        result = post_json(sre.bot, "/alerts/alertmanager", firing_payload(), headers=headers or {})
        assert result.status == 401
        assert sre.bot.usecases.list_incidents() == []

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
    def test_malformed_payload_is_refused_and_records_nothing(self, sre: SlackDriver, body: Any, status: int) -> None:
        """Not JSON: 400; JSON of the wrong shape: 422 with the reason; nothing is declared."""
        result = post_json(sre.bot, "/alerts/alertmanager", body)
        assert result.status == status, result.body
        assert sre.bot.usecases.list_incidents() == []
        if status == 422:
            assert result.json()["error"]


class TestAlertRace:
    def test_replicas_receiving_one_alert_declare_once(self, database_url: str) -> None:
        """Eight threads (as replicas) receive the same new alert at once: one incident, seven repeats."""
        from bot.store import open_store

        store = open_store(database_url)
        try:
            usecases = IncidentUseCases(store)
            notification = parse_notification(firing_payload(), datetime.now(UTC))
            barrier = threading.Barrier(8)
            results: list[str] = []

            def receive() -> None:
                barrier.wait()
                results.append(usecases.receive_notification(notification).action)

            threads = [threading.Thread(target=receive) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(results) == ["declared"] + ["repeat"] * 7
            assert len(usecases.list_incidents()) == 1
            assert [e.kind for e in usecases.timeline(1)[1]] == [EntryKind.DECLARED, EntryKind.ALERT_FIRED]
        finally:
            store.dispose()


class TestChangeEvents:
    def test_recent_changes_are_posted_when_the_service_is_named(self, sre: SlackDriver) -> None:
        """A WAF deploy 12 minutes before the declaration is posted in the channel; older ones are not."""
        now = datetime.now(UTC)
        for minutes, text in ((12, "WAF rule 'inspect-large-payloads' deployed"), (180, "TLS cert rotated")):
            change = {
                "service": "cdn-edge",
                "description": text,
                "author": "carol",
                "time": (now - timedelta(minutes=minutes)).isoformat(),
                "link": "https://ci.example.com/d/1",
            }
            result = post_json(sre.bot, "/changes", change)
            assert result.status == 201, result.body
        channel = sre.declare("declare sev2 CDN edge 502s")
        sre.ephemeral("service cdn-edge", channel_id=channel)
        texts = channel_texts(sre, channel)
        assert "Recent changes to cdn-edge" in texts and "inspect-large-payloads" in texts
        assert "TLS cert rotated" not in texts
        pm = sre.bot.usecases.postmortem(1)
        assert len(pm.recent_changes) == 1 and "inspect-large-payloads" in pm.recent_changes[0]

    def test_alert_declare_posts_recent_changes(self, sre: SlackDriver) -> None:
        """An alert with a service label brings the recent changes into the new channel too."""
        starts = datetime.now(UTC) - timedelta(minutes=1)
        post_json(
            sre.bot,
            "/changes",
            {
                "service": "cdn-edge",
                "description": "edge config push 88",
                "time": (starts - timedelta(minutes=30)).isoformat(),
            },
        )
        post_json(sre.bot, "/alerts/alertmanager", firing_payload(startsAt=starts.isoformat()))
        sre.bot.drain()
        channel = sre.bot.usecases.incident(1).channel_id
        assert channel and "edge config push 88" in channel_texts(sre, channel)

    @pytest.mark.parametrize(
        ("body", "status"),
        [({"description": "no service"}, 422), ({"service": "cdn-edge"}, 422), ("[]", 422), ("nope", 400)],
    )
    def test_bad_change_bodies(self, sre: SlackDriver, body: Any, status: int) -> None:
        """Missing fields: 422 naming them; not JSON: 400."""
        assert post_json(sre.bot, "/changes", body).status == status


class TestErrorBudgetInSlack:
    def test_budget_in_status_message_slo_command_channel_and_home(self, sre: SlackDriver) -> None:
        """100% failing for 30 minutes exhausts cdn-edge's 21.6 min: said in the channel, the owner channel,
        the status message, `/incident slo` and App Home, with the release-freeze policy."""
        channel = sre.declare("declare sev3 CDN edge down --at 30m ago")
        sre.ephemeral("service cdn-edge", channel_id=channel)
        sre.ephemeral("impact 100% --at 30m ago", channel_id=channel)
        sre.ephemeral("rollback edge config", channel_id=channel)
        answer = sre.ephemeral("slo cdn-edge")
        assert "Budget exhausted" in answer and "release freeze for cdn-edge" in answer and "INC-1" in answer
        assert "release freeze for cdn-edge" in channel_texts(sre, channel)
        assert "error budget of cdn-edge is exhausted" in channel_texts(sre, "C0GENERAL")
        status_blocks = json.dumps([c.params.get("blocks") for c in sre.fake.calls_to("chat.update")])
        assert "*Impact:* 100% of requests failing" in status_blocks and "Error budget:" in status_blocks
        sre.bot.event(signing.app_home_opened_event("U0BOB"))
        sre.bot.drain()
        home = json.dumps(sre.fake.calls_to("views.publish")[-1].params)
        assert "Error budgets exhausted" in home

    def test_slo_without_catalogue_says_how_to_configure(self, slack: SlackDriver) -> None:
        """Without INCIDENT_SLO_FILE, `/incident slo` explains what to set."""
        assert "INCIDENT_SLO_FILE" in slack.ephemeral("slo")


class TestNudges:
    def test_quiet_sev1_gets_one_reminder(self, sre: SlackDriver) -> None:
        """16 minutes after the last entry a sev1 channel gets a reminder; a second check adds none."""
        channel = sre.declare("declare sev1 Checkout down")
        usecases = sre.bot.usecases
        nudger = sre.bot.web_app[NUDGER]
        later = datetime.now(UTC) + timedelta(minutes=16)
        assert nudger.check_once(datetime.now(UTC)) == []
        assert nudger.check_once(later) == ["INC-1"]
        assert nudger.check_once(later + timedelta(minutes=30)) == []
        sre.bot.drain()
        reminders = [t for t in channel_texts(sre, channel).splitlines() if "no timeline update" in t]
        assert len(reminders) == 1 and "status update" in reminders[0]
        assert [e.kind for e in usecases.timeline(1)[1]].count(EntryKind.NUDGE) == 1

    def test_unowned_followups_are_flagged_at_resolve(self, sre: SlackDriver) -> None:
        """Resolving with a follow-up nobody owns posts a warning naming it."""
        channel = sre.declare("declare sev3 Search slow")
        sre.ephemeral("followup add an index on queries", channel_id=channel)
        sre.ephemeral("followup alert on p99 <@U0BOB|bob>", channel_id=channel)
        sre.ephemeral("resolve index added", channel_id=channel)
        texts = channel_texts(sre, channel)
        assert "1 follow-up(s) without an owner: #1 add an index on queries" in texts
        assert "#2" not in texts.split("without an owner")[1].split("\n")[0]


def _wait(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)


class TestServiceNameInSlack:
    def test_a_misspelt_service_is_refused_naming_the_catalogued_one(self, sre: SlackDriver) -> None:
        """Issue 13: `/incident INC-1 service cdn-egde` with slos.yml loaded answers "did you mean `cdn-edge`?"
        (only to the caller) and records nothing; the right name is then recorded."""
        sre.command("declare sev2 Edge latency", channel_id="C0GENERAL")
        reply = sre.command("INC-1 service cdn-egde")
        assert reply.payload["response_type"] == "ephemeral"
        assert reply.text == ("`cdn-egde` is not in the SLO catalogue; did you mean `cdn-edge`? (catalogued: cdn-edge)")
        assert sre.bot.usecases.timeline(1)[0].service is None
        sre.command("INC-1 service cdn-edge")
        assert sre.bot.usecases.timeline(1)[0].service == "cdn-edge"
