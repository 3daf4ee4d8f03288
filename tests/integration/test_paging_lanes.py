"""A Slack outage never holds back a page: an incident's PagerDuty events have their own ordering lane.

Through the real path on SQLite and PostgreSQL: signed Slack commands and the alert webhook to the
running bot, its outbox worker delivering to a fake PagerDuty on 127.0.0.1, while the fake Slack
answers every Web API call (and response_url) with HTTP 503.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from bot.store import open_store
from bot.store.outbox import Effect
from tests.support.alerts import T0, alert, notification
from tests.support.bot_server import RunningBot
from tests.support.fake_pagerduty import FakePagerDuty, installation_id, sent
from tests.support.fake_slack import FakeSlack
from tests.support.slack_driver import SlackDriver
from tests.support.webhooks import post_webhook

PAGE_WITHIN_SECONDS = 5.0
"""How soon a page must reach PagerDuty while Slack is down (the worker wakes on enqueue: well under 1 s)."""


def slack_down(fake_slack: FakeSlack) -> None:
    """Every Web API call and response_url answers 503 service_unavailable from now on."""
    fake_slack.set_failure_rate(1.0, statuses=(503,), exclude=())


class TestSlackOutageDoesNotHoldBackPages:
    def test_sev1_declared_by_command_is_paged_and_resolved_while_slack_fails(
        self, alerts_bot: RunningBot, fake_slack: FakeSlack, pagerduty: FakePagerDuty, database_url: str
    ) -> None:
        """Slack answers 503 to everything: `declare sev1` still triggers within 5 s, `resolve` resolves."""
        slack_down(fake_slack)
        driver = SlackDriver(alerts_bot, fake_slack)
        assert driver.command("declare sev1 Checkout down", drain=False).result.status == 200
        key = f"incidentbot-{installation_id(database_url)}-INC-1"
        pagerduty.wait_for(1, timeout=PAGE_WITHIN_SECONDS)
        assert sent(pagerduty) == [("trigger", key)]
        assert driver.command("INC-1 resolve fixed", drain=False).result.status == 200
        pagerduty.wait_for(2, timeout=PAGE_WITHIN_SECONDS)
        assert sent(pagerduty) == [("trigger", key), ("resolve", key)]
        creates = fake_slack.calls_to("conversations.create")
        assert creates and not any(c.ok for c in creates)  # Slack really was failing all along
        assert all(c.status == 503 for c in creates)
        pending = _pending_once_pagerduty_items_are_gone(alerts_bot)
        assert pending[0] == "slack.create_channel" and not any(k.startswith("pagerduty") for k in pending)

    def test_sev1_declared_by_alert_is_paged_and_resolved_while_slack_fails(
        self, alerts_bot: RunningBot, fake_slack: FakeSlack, pagerduty: FakePagerDuty, database_url: str
    ) -> None:
        """A critical alert declares INC-1 while Slack answers 503: trigger within 5 s; resolve follows."""
        slack_down(fake_slack)
        body = json.dumps(notification([alert("a1", T0, severity="critical")]))
        answer = post_webhook(alerts_bot, body)
        assert answer.status == 200, answer.body
        key = f"incidentbot-{installation_id(database_url)}-INC-1"
        pagerduty.wait_for(1, timeout=PAGE_WITHIN_SECONDS)
        assert sent(pagerduty) == [("trigger", key)]
        assert SlackDriver(alerts_bot, fake_slack).command("INC-1 resolve fixed", drain=False).result.status == 200
        pagerduty.wait_for(2, timeout=PAGE_WITHIN_SECONDS)
        assert sent(pagerduty) == [("trigger", key), ("resolve", key)]
        assert not any(c.ok for c in fake_slack.calls_to("conversations.create"))


class TestLanesInTheClaimQuery:
    def test_pagerduty_items_keep_their_order_and_skip_slack_items(self, database_url: str) -> None:
        """Queue slack.create_channel, pagerduty.trigger, slack.post_line, pagerduty.resolve for INC-1:
        the first claim leases exactly the first Slack item and the trigger; the resolve waits for the
        trigger, the line for the channel."""
        store = open_store(database_url)
        try:
            now = T0
            with store.transaction() as uow:
                uow.outbox.enqueue(
                    [
                        Effect("slack.create_channel", {}, 1),
                        Effect("pagerduty.trigger", {}, 1),
                        Effect("slack.post_line", {"text": "x"}, 1),
                        Effect("pagerduty.resolve", {}, 1),
                    ],
                    now,
                )
            with store.transaction() as uow:
                first = uow.outbox.claim(now, "w1", timedelta(seconds=60), 10)
            assert [i.kind for i in first] == ["slack.create_channel", "pagerduty.trigger"]
            with store.transaction() as uow:  # both still leased (not delivered): nothing else is free
                assert uow.outbox.claim(now, "w2", timedelta(seconds=60), 10) == []
        finally:
            store.dispose()


def _pending_once_pagerduty_items_are_gone(bot: RunningBot, timeout: float = 5.0) -> list[str]:
    """The pending outbox kinds, read once the delivered PagerDuty items are deleted: the fake records
    an event when it receives it, a moment before the worker's transaction removes the item."""
    deadline = time.monotonic() + timeout
    while True:
        pending = [i.kind for i in bot.usecases.outbox.items("pending")]
        if not any(k.startswith("pagerduty") for k in pending) or time.monotonic() > deadline:
            return pending
        time.sleep(0.05)
