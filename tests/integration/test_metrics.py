"""GET /metrics (issue 13, item 9): scraped from the real aiohttp app and parsed with prometheus-client's parser.

Counters are per process (several bots run in one test process, so each test compares two scrapes);
gauges are read from the database at scrape time, so any replica reports them correctly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.app import NUDGER
from bot.domain.model import EntryKind
from bot.metrics import DatabaseCollector
from bot.store.outbox import Effect
from bot.usecases.shared import Transactions
from tests.support.alerts import T0, alert, notification
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_TOKEN = "metrics-webhook-token-0123456789"
SLO_FILE = (
    "services:\n  cdn-edge:\n    slo: 99.95\n    window_days: 30\n  search:\n    slo: 99.5\n    window_days: 28\n"
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> tuple[str, Samples]:
    """GET /metrics: (Content-Type, {(sample name, sorted labels): value})."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=15) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return content_type, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture()
def metered(migrated_database: None, database_url: str, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[RunningBot]:
    slos = tmp_path / "slos.yml"
    slos.write_text(SLO_FILE)
    with running_bot(
        database_url, fake_slack.base_url, INCIDENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN, INCIDENT_SLO_FILE=str(slos)
    ) as bot:
        yield bot


def _post(bot: RunningBot, path: str, body: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return bot.post(body, "application/json", headers, path=path).status


class TestMetricsEndpoint:
    def test_a_fresh_database_reads_zero_everywhere_and_full_budgets(self, metered: RunningBot) -> None:
        """Before anything happened: 16 open-incident series (sev1-4 x declared, investigating, mitigated,
        monitoring) at 0, an empty outbox, budgets untouched:
        cdn-edge 99.95% of 30 days = 1296 s, search 99.5% of 28 days = 12096 s."""
        content_type, samples = scrape(metered.url)
        assert content_type == "text/plain; version=0.0.4; charset=utf-8"  # the text format, without an Accept
        open_series = {k: v for k, v in samples.items() if k[0] == "incidentbot_open_incidents"}
        assert len(open_series) == 16 and set(open_series.values()) == {0.0}
        assert value(samples, "incidentbot_database_up") == 1.0
        assert value(samples, "incidentbot_outbox_pending_items") == 0.0
        assert value(samples, "incidentbot_outbox_oldest_pending_age_seconds") == 0.0
        assert value(samples, "incidentbot_outbox_dead_items") == 0.0
        assert value(samples, "incidentbot_error_budget_remaining_seconds", service="cdn-edge") == pytest.approx(1296.0)
        assert value(samples, "incidentbot_error_budget_remaining_seconds", service="search") == pytest.approx(12096.0)
        assert value(samples, "incidentbot_error_budget_remaining_ratio", service="cdn-edge") == pytest.approx(1.0)
        assert any(name == "process_cpu_seconds_total" for name, _ in samples)  # this replica's own process

    def test_counters_and_gauges_follow_what_happened(self, metered: RunningBot, fake_slack: FakeSlack) -> None:
        """Five slash commands, a Slack error, webhooks (change 201 and 401, two alert notifications: 2 alerts
        fire and declare, then 1 clears), a bad signature and a nudge each move
        their counter by exactly what was done; the open-incident, outbox and budget gauges read the database."""
        bot = metered
        _, before = scrape(bot.url)
        fake_slack.fail_next("pins.add", "ratelimited", status=429, retry_after=1)
        for text in (
            "declare sev1 CDN edge 502s",
            "declare sev2 Search slow",
            "INC-2 rollback reverted the search deploy",
        ):
            assert bot.command(text).status == 200
        bot.drain(timeout=15)
        fake_slack.wait_for("pins.add", count=2, timeout=15, predicate=lambda c: c.ok)
        assert bot.command("INC-1 service cdn-edge").status == 200
        assert bot.command("INC-1 impact 50%").status == 200
        bot.drain(timeout=15)
        change = '{"service": "cdn-edge", "description": "WAF rule 42 deployed"}'
        assert _post(bot, "/changes", change, WEBHOOK_TOKEN) == 201
        assert _post(bot, "/changes", change, None) == 401
        assert (
            bot.signed("command=%2Fincident&text=help", "application/x-www-form-urlencoded", secret="x").status == 401
        )
        firing = [alert("aa11", T0), alert("bb22", T0)]
        assert _post(bot, "/alerts/alertmanager", json.dumps(notification(firing)), WEBHOOK_TOKEN) == 200
        cleared = [alert("aa11", T0, T0 + timedelta(minutes=5), resolved=True), alert("bb22", T0)]
        assert _post(bot, "/alerts/alertmanager", json.dumps(notification(cleared)), WEBHOOK_TOKEN) == 200
        impact_at = next(e.occurred_at for e in bot.usecases.incidents.timeline(1)[1] if e.kind is EntryKind.IMPACT)
        bot.usecases.transactions.clock = lambda: impact_at + timedelta(minutes=10)
        nudged = bot.web_app[NUDGER].check_once(now=impact_at + timedelta(minutes=20))
        assert nudged == ["INC-1"]
        bot.drain(timeout=15)
        _, after = scrape(bot.url)

        assert delta(before, after, "incidentbot_transitions_total", kind="declared") == 3  # 2 commands, 1 alert
        assert delta(before, after, "incidentbot_transitions_total", kind="alert_fired") == 2
        assert delta(before, after, "incidentbot_transitions_total", kind="alert_cleared") == 1
        assert (
            delta(before, after, "incidentbot_webhook_requests_total", route="/alerts/alertmanager", status="200") == 2
        )
        assert delta(before, after, "incidentbot_transitions_total", kind="rollback") == 1
        assert delta(before, after, "incidentbot_transitions_total", kind="service") == 1
        assert delta(before, after, "incidentbot_transitions_total", kind="impact") == 1
        assert delta(before, after, "incidentbot_slash_command_ack_seconds_count") == 5
        assert delta(before, after, "incidentbot_slash_command_ack_seconds_bucket", le="+Inf") == 5
        assert delta(before, after, "incidentbot_slack_api_errors_total", method="pins.add", code="ratelimited") == 1
        assert delta(before, after, "incidentbot_webhook_requests_total", route="/changes", status="201") == 1
        assert delta(before, after, "incidentbot_webhook_requests_total", route="/changes", status="401") == 1
        assert delta(before, after, "incidentbot_slack_signature_rejected_total", reason="signature_mismatch") == 1
        assert delta(before, after, "incidentbot_nudges_sent_total") == 1

        assert value(after, "incidentbot_open_incidents", severity="sev1", status="declared") == 1
        assert value(after, "incidentbot_open_incidents", severity="sev2", status="mitigated") == 1
        assert value(after, "incidentbot_open_incidents", severity="sev3", status="declared") == 1  # the alert's
        assert sum(v for (name, _), v in after.items() if name == "incidentbot_open_incidents") == 3
        # 10 minutes at 50% = 300 s of cdn-edge's 1296 s: 996 s left, 996/1296 of the budget.
        assert value(after, "incidentbot_error_budget_remaining_seconds", service="cdn-edge") == pytest.approx(996.0)
        assert value(after, "incidentbot_error_budget_remaining_ratio", service="cdn-edge") == pytest.approx(
            0.7685185185
        )
        assert value(after, "incidentbot_error_budget_remaining_ratio", service="search") == pytest.approx(1.0)

    def test_outbox_gauges_count_pending_dead_and_age_of_the_oldest(self, metered: RunningBot) -> None:
        """Two items held back an hour, queued at T and T+30 s, and one the worker cannot deliver: at T+90 s
        the scrape says 2 pending, the oldest 90 s old, 1 dead."""
        bot = metered
        start = datetime.now().astimezone() - timedelta(seconds=90)  # in the past: due at once for the worker
        bot.usecases.transactions.clock = lambda: start
        hold = timedelta(hours=1)
        bot.usecases.outbox.enqueue([Effect("slack.post_line", {"text": "later"}, None, not_before=hold)])
        bot.usecases.transactions.clock = lambda: start + timedelta(seconds=30)
        bot.usecases.outbox.enqueue([Effect("slack.post_line", {"text": "later too"}, None, not_before=hold)])
        bot.usecases.outbox.enqueue([Effect("nowhere.to_go", {}, None)])
        bot.worker.wake()
        deadline = time.monotonic() + 15
        while not bot.usecases.outbox.items("dead"):
            assert time.monotonic() < deadline, "the undeliverable item was not buried"
            time.sleep(0.05)
        bot.usecases.transactions.clock = lambda: start + timedelta(seconds=90)
        _, samples = scrape(bot.url)
        assert value(samples, "incidentbot_outbox_pending_items") == 2
        assert value(samples, "incidentbot_outbox_oldest_pending_age_seconds") == pytest.approx(90.0)
        assert value(samples, "incidentbot_outbox_dead_items") == 1

    def test_an_unreachable_database_is_reported_not_hidden(self, metered: RunningBot, tmp_path: Path) -> None:
        """With the database gone, /metrics still answers: incidentbot_database_up 0 and no stale gauges."""
        import sqlalchemy as sa

        metered.usecases.store.dispose()
        metered.usecases.store.engine = sa.create_engine(f"sqlite:///{tmp_path / 'gone' / 'dir' / 'bot.db'}")
        metered.usecases.store._readonly_engine = metered.usecases.store.engine
        _, samples = scrape(metered.url)
        assert value(samples, "incidentbot_database_up") == 0.0
        assert not any(name.startswith(("incidentbot_open_", "incidentbot_outbox_")) for name, _ in samples)

    def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(self, metered: RunningBot) -> None:
        """Accept: application/openmetrics-text gets OpenMetrics (ending in # EOF), as Prometheus negotiates it."""
        request = urllib.request.Request(
            f"{metered.url}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            content_type, text = response.headers["Content-Type"], response.read().decode()
        assert content_type.startswith("application/openmetrics-text; version=1.0.0")
        assert text.endswith("# EOF\n") and "incidentbot_open_incidents{" in text


class TestRegistration:
    def test_registering_reads_nothing_and_describe_names_what_a_scrape_yields(self, metered: RunningBot) -> None:
        """The registry learns the database gauges' names from ``describe``: no database read at start-up; a
        scrape then reads once and yields the same families, in the same order."""
        usecases = metered.usecases
        reads: list[str] = []

        class CountingTransactions:
            def __init__(self) -> None:
                self.clock = usecases.transactions.clock

            def read(self) -> Any:
                reads.append("read")
                return usecases.transactions.read()

        collector = DatabaseCollector(cast(Transactions, CountingTransactions()), usecases.budgets)
        CollectorRegistry(auto_describe=True).register(collector)
        assert reads == []
        described = [(family.name, family.type) for family in collector.describe()]
        collected = [(family.name, family.type) for family in collector.collect()]
        assert reads == ["read"]
        expected = [
            "incidentbot_database_up",
            "incidentbot_open_incidents",
            "incidentbot_outbox_pending_items",
            "incidentbot_outbox_oldest_pending_age_seconds",
            "incidentbot_outbox_dead_items",
            "incidentbot_error_budget_remaining_ratio",
            "incidentbot_error_budget_remaining_seconds",
        ]
        assert described == collected == [(name, "gauge") for name in expected]


class TestReplicas:
    def test_each_replica_counts_its_own_work_and_both_read_the_same_database(self, tmp_path: Path) -> None:
        """Two `serve` processes on one database: the command sent to A is counted by A only; both report
        the open incident it declared."""
        database_url = f"sqlite:///{tmp_path / 'shared.db'}"
        with FakeSlack() as fake:
            a = Server(tmp_path / "a.db", free_port(), fake, database_url=database_url).start()
            b = Server(tmp_path / "b.db", free_port(), fake, database_url=database_url).start()
            try:
                status, _ = a.command("declare sev2 Checkout latency above SLO")
                assert status == 200
                fake.wait_for("pins.add", timeout=15)
                _, from_a = scrape(f"http://127.0.0.1:{a.port}")
                _, from_b = scrape(f"http://127.0.0.1:{b.port}")
            finally:
                a.stop(signal.SIGTERM)
                b.stop(signal.SIGTERM)
        assert value(from_a, "incidentbot_transitions_total", kind="declared") == 1
        assert value(from_b, "incidentbot_transitions_total", kind="declared") == 0
        assert value(from_a, "incidentbot_slash_command_ack_seconds_count") == 1
        assert value(from_b, "incidentbot_slash_command_ack_seconds_count") == 0
        for samples in (from_a, from_b):
            assert value(samples, "incidentbot_open_incidents", severity="sev2", status="declared") == 1
        assert value(from_a, "process_start_time_seconds") != value(from_b, "process_start_time_seconds")


class TestAlertRules:
    RULES = ROOT / "deploy" / "prometheus-rules.yml"

    def test_rules_file_alerts_on_stuck_outbox_dead_items_and_exhausted_budgets(self) -> None:
        """The example rules parse, name the three alerts the issue asks for, and each has expr, for,
        severity and a summary."""
        groups = yaml.safe_load(self.RULES.read_text())["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert {r["alert"] for r in rules} >= {
            "IncidentbotOutboxStuck",
            "IncidentbotOutboxDeadItems",
            "IncidentbotErrorBudgetExhausted",
        }
        for rule in rules:
            assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert rule["labels"]["severity"] in {"page", "ticket"}
            assert rule["annotations"]["summary"]
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]

    def test_every_metric_a_rule_uses_is_exposed(self, metered: RunningBot) -> None:
        """Each incidentbot_* name in the rules' expressions is a sample name of a real scrape (a typo in
        a rule would otherwise never fire)."""
        _, samples = scrape(metered.url)
        exposed = {name for name, _ in samples}
        rules = [r for g in yaml.safe_load(self.RULES.read_text())["groups"] for r in g["rules"]]
        used = {name for r in rules for name in re.findall(r"\bincidentbot_[a-z_]+\b", r["expr"])}
        assert used and used <= exposed, used - exposed

    def test_promtool_accepts_the_rules_and_their_unit_tests_when_installed(self) -> None:
        """`promtool check rules` and `promtool test rules` (deploy/prometheus-rules.test.yml: each alert fires
        once for two replicas, at the minute expected) when promtool (Debian/Ubuntu package prometheus) is on
        PATH; the two tests above check the file's structure and names either way."""
        promtool = shutil.which("promtool")
        if promtool is None:
            if os.environ.get("CI"):  # never skipped in CI: .ci/run unpacks Debian's prometheus package
                pytest.fail("promtool is not on PATH in CI (.ci/run unpacks it from Debian's prometheus package)")
            pytest.skip("promtool is not installed (apt-get install prometheus); structure checked above")
        for command in (
            ["check", "rules", str(self.RULES)],
            ["test", "rules", str(self.RULES.with_suffix(".test.yml"))],
        ):
            result = subprocess.run([promtool, *command], capture_output=True, text=True, check=False)
            assert result.returncode == 0, result.stdout + result.stderr
