"""Integration fixtures: a fake Slack Web API and a fake PagerDuty, the real bot server pointed at them,
and drivers (`tests.support.slack_driver.SlackDriver`) that speak to the bot the way Slack does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bot_server import RunningBot, running_bot, sqlite_url
from tests.support.fake_oidc import FakeSlackOpenID
from tests.support.fake_pagerduty import ROUTING_KEY, FakePagerDuty, fake_pagerduty
from tests.support.fake_slack import FakeSlack
from tests.support.slack_driver import SlackDriver
from tests.support.web import WEB_URL
from tests.support.webhooks import WEBHOOK_TOKEN


@pytest.fixture()
def fake_slack() -> Iterator[FakeSlack]:
    """A fresh fake Slack workspace (alice, bob, carol, dave, erin; #general) on 127.0.0.1:0."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture()
def provider() -> Iterator[FakeSlackOpenID]:
    """A fake "Sign in with Slack" (OpenID Connect) on 127.0.0.1:0 that accepts the web view's callback
    (``WEB_URL/auth/callback``); nobody is signed in until a test calls ``sign_in_as``."""
    with FakeSlackOpenID(redirect_uris=(WEB_URL + "/auth/callback",)) as fake:
        yield fake


@pytest.fixture()
def bot(migrated_database: None, database_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    """``incidentbot serve`` on a fresh database of each kind (SQLite, then PostgreSQL), talking to ``fake_slack``."""
    with running_bot(database_url, fake_slack.base_url) as running:
        yield running


@pytest.fixture()
def slack(bot: RunningBot, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    """A driver for the running bot and its fake Slack; afterwards, nothing sent to Slack showed internals."""
    driver = SlackDriver(bot, fake_slack)
    yield driver
    bot.drain()
    driver.assert_slack_saw_no_internals()


@pytest.fixture()
def pagerduty() -> Iterator[FakePagerDuty]:
    """A fresh fake PagerDuty Events API v2 on 127.0.0.1:0."""
    with fake_pagerduty() as fake:
        yield fake


@pytest.fixture()
def alerts_bot(
    migrated_database: None, database_url: str, fake_slack: FakeSlack, pagerduty: FakePagerDuty
) -> Iterator[RunningBot]:
    """The bot on each database, with the webhook token (``WEBHOOK_TOKEN``) and PagerDuty (``ROUTING_KEY``)
    pointed at ``pagerduty``; Slack failures a test injected are cleared before the shutdown drain."""
    with running_bot(
        database_url,
        fake_slack.base_url,
        INCIDENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        PAGERDUTY_EVENTS_URL=pagerduty.url,
    ) as running:
        yield running
        fake_slack.clear_failures()  # let the shutdown drain finish quickly


@pytest.fixture()
def alerts_driver(alerts_bot: RunningBot, fake_slack: FakeSlack) -> SlackDriver:
    """A Slack driver for ``alerts_bot``."""
    return SlackDriver(alerts_bot, fake_slack)


SLO_CATALOGUE = """services:
  cdn-edge:
    slo: 99.95
    window_days: 30
    owner_channel: C0GENERAL
"""
"""The catalogue ``slo_bot`` runs with: cdn-edge at 99.95% over 30 days, owned by #general."""


@pytest.fixture()
def slo_bot(tmp_path: Path, fake_slack: FakeSlack, pagerduty: FakePagerDuty) -> Iterator[RunningBot]:
    """The bot on SQLite with an SLO catalogue (``SLO_CATALOGUE``), the webhook token and PagerDuty pointed
    at the fake."""
    slo_file = tmp_path / "slos.yml"
    slo_file.write_text(SLO_CATALOGUE)
    with running_bot(
        sqlite_url(tmp_path),
        fake_slack.base_url,
        INCIDENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        INCIDENT_SLO_FILE=str(slo_file),
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        PAGERDUTY_EVENTS_URL=pagerduty.url,
    ) as running:
        yield running


@pytest.fixture()
def slo_slack(slo_bot: RunningBot, fake_slack: FakeSlack) -> SlackDriver:
    """A Slack driver for ``slo_bot``."""
    return SlackDriver(slo_bot, fake_slack)
