"""Issue 10, items 1-4, through the real webhook route on SQLite and PostgreSQL: one incident per alert
group, each alert state change recorded exactly once, large groups accepted, Grafana accepted."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.errors import BotError
from bot.domain.model import EntryKind, Severity, Status, TimelineEntry
from bot.errors import StoreUnavailable
from bot.views.postmortem import PostmortemRenderer
from tests.support.alerts import T0, alert, notification, sample
from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.fake_pagerduty import FakePagerDuty
from tests.support.fake_slack import FakeSlack
from tests.support.slack_driver import SlackDriver
from tests.support.webhooks import ALERTMANAGER_PATH, WEBHOOK_AUTH, WEBHOOK_TOKEN, post_webhook

ALERT_KINDS = (EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def alert_history(bot: RunningBot, number: int) -> list[tuple[str, str, datetime]]:
    """(kind, fingerprint, occurred_at) of the incident's alert entries, in timeline order."""
    return [
        (e.kind.value, str(e.data["fingerprint"]), e.occurred_at)
        for e in bot.usecases.incidents.timeline(number)[1]
        if e.kind in ALERT_KINDS
    ]


class TestOneIncidentPerGroup:
    def test_twenty_alerts_of_one_group_make_one_incident_one_channel_one_page(
        self, alerts_bot: RunningBot, fake_slack: FakeSlack, pagerduty: FakePagerDuty
    ) -> None:
        """20 alerts in one notification: 1 incident (sev1 from the one critical), 20 entries, 1 channel, 1 page."""
        alerts = [alert(f"fp{i:02d}", at(i), severity="critical" if i == 7 else "warning") for i in range(20)]
        result = post_webhook(alerts_bot, notification(alerts))
        assert result.status == 200, result.body
        assert result.json() == {
            "ok": True,
            "action": "declared",
            "incident": "INC-1",
            "recorded": 20,
            "alerts": 20,
            "updated": ["INC-1"],
        }
        alerts_bot.drain()
        assert [s.number for s in alerts_bot.usecases.incidents.summaries()] == [1]
        incident = alerts_bot.usecases.incidents.get(1)
        assert incident.title == "CDN edge returning 502s above the error SLO"
        assert incident.severity is Severity.SEV1 and incident.service == "cdn-edge"
        assert incident.declared_at == at(0)
        history = alert_history(alerts_bot, 1)
        assert history == [("alert_fired", f"fp{i:02d}", at(i)) for i in range(20)]
        assert len(fake_slack.calls_to("conversations.create")) == 1
        assert [e["event_action"] for e in pagerduty.wait_for(1)] == ["trigger"]
        alerts_bot.drain()
        assert len(pagerduty.events) == 1

    def test_title_from_group_labels_without_a_summary(self, alerts_bot: RunningBot) -> None:
        """No commonAnnotations.summary: the title is the group labels."""
        body = notification([alert("a", at(0)), alert("b", at(1))], summary=None)
        assert post_webhook(alerts_bot, body).status == 200
        assert alerts_bot.usecases.incidents.get(1).title == "alertname=EdgeHigh5xxRate, region=eu-central"

    def test_alerts_joining_later_go_to_the_same_incident(self, alerts_bot: RunningBot) -> None:
        """3 alerts, then the group grows to 5: one incident, 5 fired entries, the second call records 2."""
        first = [alert(f"fp{i}", at(i)) for i in range(3)]
        post_webhook(alerts_bot, notification(first))
        grown = post_webhook(alerts_bot, notification([*first, alert("fp3", at(10)), alert("fp4", at(11))]))
        assert grown.json() == {
            "ok": True,
            "action": "recorded",
            "incident": "INC-1",
            "recorded": 2,
            "alerts": 5,
            "updated": ["INC-1"],
        }
        assert len(alerts_bot.usecases.incidents.summaries()) == 1
        assert [fp for _, fp, _ in alert_history(alerts_bot, 1)] == ["fp0", "fp1", "fp2", "fp3", "fp4"]

    def test_the_channel_is_told_what_joined(self, alerts_driver: SlackDriver) -> None:
        """A later notification posts one line in the incident channel naming what fired and what cleared."""
        post_webhook(alerts_driver.bot, notification([alert("a", at(0))]))
        post_webhook(alerts_driver.bot, notification([alert("a", at(0), at(9), resolved=True), alert("b", at(5))]))
        alerts_driver.bot.drain()
        lines = [
            str(p.get("text"))
            for p in alerts_driver.posted(str(alerts_driver.bot.usecases.incidents.get(1).channel_id))
        ]
        summary = (
            "INC-1 · alerts 1 fired: CDN edge returning 502s above the error SLO"
            " · 1 cleared: CDN edge returning 502s above the error SLO"
        )
        assert lines.count(summary) == 1

    def test_two_groups_make_two_incidents(self, alerts_bot: RunningBot) -> None:
        """Different groupKeys never share an incident."""
        post_webhook(alerts_bot, notification([alert("a", at(0))], group_key='{}:{alertname="A"}'))
        post_webhook(alerts_bot, notification([alert("a", at(0))], group_key='{}:{alertname="B"}'))
        assert [s.number for s in alerts_bot.usecases.incidents.summaries()] == [2, 1]
        assert alert_history(alerts_bot, 1) == alert_history(alerts_bot, 2) == [("alert_fired", "a", at(0))]

    def test_group_firing_again_after_resolve_opens_a_new_incident_naming_the_old(
        self, alerts_driver: SlackDriver
    ) -> None:
        """Resolved INC-1; the same alert still firing (a repeat) adds nothing; a new firing opens INC-2."""
        bot = alerts_driver.bot
        post_webhook(bot, notification([alert("a", at(0))]))
        alerts_driver.ephemeral("INC-1 resolve edge healthy")
        repeat = post_webhook(bot, notification([alert("a", at(0))]))
        assert repeat.json()["action"] == "repeat" and len(bot.usecases.incidents.summaries()) == 1
        again = post_webhook(bot, notification([alert("a", at(0)), alert("b", at(90))]))
        assert again.json() == {
            "ok": True,
            "action": "declared",
            "incident": "INC-2",
            "recorded": 1,
            "alerts": 2,
            "updated": ["INC-2"],
            "previous_incident": "INC-1",
        }
        second = bot.usecases.incidents.get(2)
        assert "This alert group fired again after INC-1 was resolved." in second.description
        assert second.status is Status.DECLARED and bot.usecases.incidents.get(1).status is Status.RESOLVED
        assert alert_history(bot, 2) == [("alert_fired", "b", at(90))]

    def test_a_notification_that_clears_on_the_old_incident_and_declares_a_new_one_names_both(
        self, alerts_driver: SlackDriver
    ) -> None:
        """Resolved INC-1 while `a` still fires; one notification brings `a`'s clear and `b`'s new firing. The clear
        goes on INC-1, the firing declares INC-2: the answer's `incident` is the group's (INC-2) and `updated` names
        both incidents that got entries (the fresh tester: the answer named INC-2 only)."""
        bot = alerts_driver.bot
        post_webhook(bot, notification([alert("a", at(0))]))
        alerts_driver.ephemeral("INC-1 resolve edge healthy")
        both = post_webhook(bot, notification([alert("a", at(0), at(80), resolved=True), alert("b", at(90))]))
        assert both.json() == {
            "ok": True,
            "action": "declared",
            "incident": "INC-2",
            "recorded": 2,
            "alerts": 2,
            "updated": ["INC-1", "INC-2"],
            "previous_incident": "INC-1",
        }
        assert alert_history(bot, 1) == [("alert_fired", "a", at(0)), ("alert_cleared", "a", at(80))]
        assert alert_history(bot, 2) == [("alert_fired", "b", at(90))]

    def test_alert_list_in_status_message_and_postmortem(self, alerts_driver: SlackDriver) -> None:
        """Status message and postmortem list each alert: name, labels that differ, fired and cleared times."""
        bot = alerts_driver.bot
        post_webhook(bot, notification([alert("a", at(0), instance="fra-1"), alert("b", at(2), instance="ams-2")]))
        post_webhook(bot, notification([alert("a", at(0), at(30), resolved=True, instance="fra-1")]))
        bot.drain()
        updates = [c.params for c in alerts_driver.fake.calls_to("chat.update")] + alerts_driver.posted(
            str(bot.usecases.incidents.get(1).channel_id)
        )
        texts = json.dumps([u.get("blocks") for u in updates])
        assert "*Alerts* (1 firing, 1 cleared)" in texts
        assert "EdgeHigh5xxRate `instance=ams-2`: fired 2026-11-22 13:42 UTC, firing" in texts
        assert "EdgeHigh5xxRate `instance=fra-1`: fired 2026-11-22 13:40 UTC, cleared 2026-11-22 14:10 UTC" in texts
        markdown = PostmortemRenderer().render(bot.usecases.incidents.postmortem(1))
        assert "| EdgeHigh5xxRate | instance=fra-1 | 2026-11-22 13:40 UTC | 2026-11-22 14:10 UTC |" in markdown
        assert "| EdgeHigh5xxRate | instance=ams-2 | 2026-11-22 13:42 UTC | still firing |" in markdown


class TestEachStateChangeOnce:
    def test_fire_clear_fire_clear_is_four_entries_at_their_times(self, alerts_bot: RunningBot) -> None:
        """Fired 13:40, cleared 13:50, fired 14:00, cleared 14:20, with repeats between: exactly those 4."""
        other = alert("other", at(0))  # keeps the incident's group busy throughout
        sends = [
            [other, alert("a", at(0))],
            [other, alert("a", at(0))],  # repeat_interval
            [other, alert("a", at(0), at(10), resolved=True)],
            [other, alert("a", at(0), at(10), resolved=True)],
            [other, alert("a", at(20))],
            [other, alert("a", at(20))],
            [other, alert("a", at(20), at(40), resolved=True)],
        ]
        for alerts in sends:
            assert post_webhook(alerts_bot, notification(alerts)).status == 200
        history = [h for h in alert_history(alerts_bot, 1) if h[1] == "a"]
        assert history == [
            ("alert_fired", "a", at(0)),
            ("alert_cleared", "a", at(10)),
            ("alert_fired", "a", at(20)),
            ("alert_cleared", "a", at(40)),
        ]

    def test_ha_pair_duplicates_record_nothing_twice(self, alerts_bot: RunningBot) -> None:
        """Each notification delivered twice (two Alertmanagers): the second of each answers `repeat`."""
        bodies = [notification([alert("a", at(0))]), notification([alert("a", at(0), at(5), resolved=True)])]
        actions = []
        for body in bodies:
            actions += [post_webhook(alerts_bot, body).json()["action"] for _ in range(2)]
        assert actions == ["declared", "repeat", "recorded", "repeat"]
        assert alert_history(alerts_bot, 1) == [("alert_fired", "a", at(0)), ("alert_cleared", "a", at(5))]

    def test_resolved_overtaking_its_firing_records_the_true_history(self, alerts_bot: RunningBot) -> None:
        """Open incident; b's `resolved` (13:45-13:55) arrives before its `firing`: fired + cleared once each."""
        post_webhook(alerts_bot, notification([alert("a", at(0))]))
        early = post_webhook(alerts_bot, notification([alert("a", at(0)), alert("b", at(5), at(15), resolved=True)]))
        assert early.json()["recorded"] == 2
        late = post_webhook(alerts_bot, notification([alert("a", at(0)), alert("b", at(5))]))
        assert late.json()["action"] == "repeat"
        assert alert_history(alerts_bot, 1) == [
            ("alert_fired", "a", at(0)),
            ("alert_fired", "b", at(5)),
            ("alert_cleared", "b", at(15)),
        ]

    def test_refire_overtaking_the_clear(self, alerts_bot: RunningBot) -> None:
        """Fired 13:40; the re-fire (14:00) arrives before the clear (13:50): three entries, right times."""
        post_webhook(alerts_bot, notification([alert("a", at(0))]))
        post_webhook(alerts_bot, notification([alert("a", at(20))]))
        post_webhook(alerts_bot, notification([alert("a", at(0), at(10), resolved=True)]))
        assert alert_history(alerts_bot, 1) == [
            ("alert_fired", "a", at(0)),
            ("alert_cleared", "a", at(10)),
            ("alert_fired", "a", at(20)),
        ]

    def test_a_group_that_only_ever_resolved_declares_nothing(self, alerts_bot: RunningBot) -> None:
        """A `resolved` for a group with no incident (fired and cleared unseen) declares nothing, nor its late
        `firing`: both state changes are kept, on no timeline."""
        first = post_webhook(alerts_bot, notification([alert("a", at(0), at(10), resolved=True)]))
        assert first.json() == {
            "ok": True,
            "action": "recorded",
            "incident": None,
            "recorded": 2,
            "alerts": 1,
            "updated": [],
        }
        late = post_webhook(alerts_bot, notification([alert("a", at(0))]))
        assert late.json() == {
            "ok": True,
            "action": "repeat",
            "incident": None,
            "recorded": 0,
            "alerts": 1,
            "updated": [],
        }
        assert alerts_bot.usecases.incidents.summaries() == []

    def test_clear_after_the_incident_was_resolved_goes_on_that_incident(self, alerts_driver: SlackDriver) -> None:
        """The incident is resolved while its alert still fires; the clear lands on the resolved incident."""
        post_webhook(alerts_driver.bot, notification([alert("a", at(0))]))
        alerts_driver.ephemeral("INC-1 resolve mitigated")
        cleared = post_webhook(alerts_driver.bot, notification([alert("a", at(0), at(70), resolved=True)]))
        assert cleared.json() == {
            "ok": True,
            "action": "recorded",
            "incident": "INC-1",
            "recorded": 1,
            "alerts": 1,
            "updated": ["INC-1"],
        }
        assert alert_history(alerts_driver.bot, 1) == [("alert_fired", "a", at(0)), ("alert_cleared", "a", at(70))]
        assert len(alerts_driver.bot.usecases.incidents.summaries()) == 1


class TestLargeGroups:
    def test_a_1_3_mb_notification_is_accepted_and_recorded(self, alerts_bot: RunningBot) -> None:
        """A 1.3 MB group (1,000 alerts, the default max_alerts of 0 sends them all): 200, 1,000 entries."""
        description = "502 share above the SLO on this edge node; upstream origin-pool health check failing. " * 9
        alerts = [alert(f"fp{i:04d}", at(i / 100), description=description) for i in range(1000)]
        body = json.dumps(notification(alerts))
        assert 1_300_000 <= len(body.encode()) < 1_400_000
        result = post_webhook(alerts_bot, body)
        assert result.status == 200, result.body[:500]
        assert result.json()["recorded"] == 1000
        assert len(alert_history(alerts_bot, 1)) == 1000

    def test_a_1_200_alert_group_sent_again_records_only_what_changed(self, alerts_bot: RunningBot) -> None:
        """1,200 alerts (above SQLite's 500 fingerprints per lookup), then the same group with 300 of them resolved,
        then that again: 1,200 recorded, then the 300 clears only, then nothing; each change once on the timeline."""
        firing = [alert(f"fp{i:04d}", at(i / 100)) for i in range(1200)]
        first = post_webhook(alerts_bot, notification(firing))
        assert first.json() == {
            "ok": True,
            "action": "declared",
            "incident": "INC-1",
            "recorded": 1200,
            "alerts": 1200,
            "updated": ["INC-1"],
        }
        resolved = [alert(f"fp{i:04d}", at(i / 100), at(30), resolved=True) for i in range(0, 1200, 4)]
        again = notification([*resolved, *(a for i, a in enumerate(firing) if i % 4)])
        second = post_webhook(alerts_bot, again)
        assert second.json() == {
            "ok": True,
            "action": "recorded",
            "incident": "INC-1",
            "recorded": 300,
            "alerts": 1200,
            "updated": ["INC-1"],
        }
        third = post_webhook(alerts_bot, again)
        assert third.json() == {
            "ok": True,
            "action": "repeat",
            "incident": "INC-1",
            "recorded": 0,
            "alerts": 1200,
            "updated": [],
        }
        history = alert_history(alerts_bot, 1)
        assert len(history) == 1500
        assert sorted(f for kind, f, _when in history if kind == "alert_cleared") == [
            f"fp{i:04d}" for i in range(0, 1200, 4)
        ]
        assert {when for kind, _f, when in history if kind == "alert_cleared"} == {at(30)}


class TestBodyLimits:
    @pytest.fixture()
    def small_limit_bot(self, tmp_path: Path, fake_slack: FakeSlack) -> Iterator[RunningBot]:
        with running_bot(
            sqlite_url(tmp_path),
            fake_slack.base_url,
            INCIDENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
            INCIDENT_ALERT_MAX_BYTES="1048576",
        ) as running:
            yield running

    def test_above_the_configured_limit_is_413_naming_the_setting(self, small_limit_bot: RunningBot) -> None:
        """With INCIDENT_ALERT_MAX_BYTES=1 MiB, a 1.3 MB body is refused with 413 and records nothing."""
        description = "x" * 1300
        body = json.dumps(notification([alert(f"fp{i}", at(0), description=description) for i in range(1000)]))
        result = post_webhook(small_limit_bot, body)
        assert result.status == 413
        assert "INCIDENT_ALERT_MAX_BYTES" in result.json()["error"]
        assert small_limit_bot.usecases.incidents.summaries() == []

    @pytest.mark.parametrize(("alerts", "status"), [(1000, 413), (500, 200)])
    def test_a_chunked_body_is_measured_as_it_streams(
        self, small_limit_bot: RunningBot, alerts: int, status: int
    ) -> None:
        """Without Content-Length (chunked), the limit still holds: 1.3 MB -> 413, 0.65 MB -> 200."""
        body = json.dumps(notification([alert(f"fp{i}", at(0), description="x" * 1300) for i in range(alerts)]))
        data = body.encode()
        connection = http.client.HTTPConnection("127.0.0.1", small_limit_bot.port, timeout=30)
        try:
            chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
            connection.request(
                "POST",
                ALERTMANAGER_PATH,
                body=chunks,
                headers={**WEBHOOK_AUTH, "Content-Type": "application/json"},
                encode_chunked=True,
            )
            response = connection.getresponse()
            assert response.status == status, response.read()[:300]
        except (BrokenPipeError, ConnectionResetError):  # the server may close before the last chunk is sent
            assert status == 413
        finally:
            connection.close()
        assert len(small_limit_bot.usecases.incidents.summaries()) == (1 if status == 200 else 0)

    def test_the_slack_endpoint_keeps_its_1_mib_limit(self, small_limit_bot: RunningBot) -> None:
        """The alert route's limit is its own: /slack/events still refuses 2 MiB."""
        assert small_limit_bot.post("x" * (2 * 1024 * 1024), "application/json").status == 413


class TestGrafana:
    @pytest.mark.parametrize("path", ["/alerts/grafana", ALERTMANAGER_PATH])
    def test_grafana_contact_point_is_accepted_with_its_links(self, alerts_bot: RunningBot, path: str) -> None:
        """Version 1 with orgId/title/state/message/values: declared; panel and silence links on the timeline."""
        result = post_webhook(alerts_bot, sample("grafana_firing.json"), path=path)
        assert result.status == 200, result.body
        assert result.json()["action"] == "declared"
        incident, entries = alerts_bot.usecases.incidents.timeline(1)
        assert (incident.title, incident.severity, incident.service) == (
            "Checkout API CPU saturated",
            Severity.SEV1,
            "checkout-api",
        )
        fired = next(e for e in entries if e.kind is EntryKind.ALERT_FIRED)
        assert fired.occurred_at == datetime(2026, 11, 22, 13, 40, tzinfo=UTC)
        assert fired.data["panel_url"].endswith("&viewPanel=4")
        assert fired.data["silence_url"].startswith("https://grafana.example.com/alerting/silence/new?")
        assert fired.data["values"] == {"A": 93.41, "C": 1.0}
        assert "viewPanel=4" in _described(fired)

    def test_grafana_resolved_clears(self, alerts_bot: RunningBot) -> None:
        """Grafana's `ok` notification (status resolved, endsAt set) records the clear."""
        post_webhook(alerts_bot, sample("grafana_firing.json"), path="/alerts/grafana")
        resolved = sample("grafana_firing.json")
        resolved.update(status="resolved", state="ok")
        resolved["alerts"][0].update(status="resolved", endsAt="2026-11-22T14:05:00Z")
        assert post_webhook(alerts_bot, resolved, path="/alerts/grafana").json()["recorded"] == 1
        assert [k for k, _, _ in alert_history(alerts_bot, 1)] == ["alert_fired", "alert_cleared"]


class TestAnswers:
    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda b: b.update(version="3"), "version"),
            (lambda b: b.pop("groupKey"), "groupKey"),
            (lambda b: b["alerts"][0].update(fingerprint="f" * 129), "alerts[0].fingerprint"),
            (lambda b: b["alerts"][1].update(startsAt="soon"), "alerts[1].startsAt"),
            (lambda b: b["alerts"][1].update(labels={"severity": 3}), "alerts[1].labels"),
        ],
    )
    def test_bad_shapes_are_422_naming_the_field(self, alerts_bot: RunningBot, mutate: Any, field: str) -> None:
        """A body that can never be accepted: 422 with the field's name, nothing recorded."""
        body = notification([alert("a", at(0)), alert("b", at(1))])
        mutate(body)
        result = post_webhook(alerts_bot, body)
        assert result.status == 422 and field in result.json()["error"]
        assert alerts_bot.usecases.incidents.summaries() == []

    @pytest.mark.parametrize(
        ("failure", "status"),
        [(StoreUnavailable("The incident database is unavailable right now."), 503), (RuntimeError("bug"), 500)],
    )
    def test_transient_failures_are_5xx_so_alertmanager_retries(
        self, alerts_bot: RunningBot, monkeypatch: pytest.MonkeyPatch, failure: Exception, status: int
    ) -> None:
        """Database unavailable: 503; an unexpected error: 500 with a correlation id (never a 4xx)."""

        def failing(*_args: Any, **_kwargs: Any) -> None:
            raise failure

        monkeypatch.setattr(alerts_bot.usecases.alerts, "receive_notification", failing)
        result = post_webhook(alerts_bot, notification([alert("a", at(0))]))
        assert result.status == status
        assert "Traceback" not in result.body
        if not isinstance(failure, BotError):
            assert "internal error (id " in result.json()["error"]


def _described(entry: TimelineEntry) -> str:
    from bot.domain.timeline import describe

    return describe(entry)
