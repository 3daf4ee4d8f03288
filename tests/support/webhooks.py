"""Driving the bot's webhook routes as Alertmanager or Grafana would: a bearer token and a JSON body."""

from __future__ import annotations

import json
from typing import Any

from tests.support.bot_server import HttpResult, RunningBot

WEBHOOK_TOKEN = "s3cret-webhook-token"
"""The ``INCIDENT_WEBHOOK_TOKEN`` the ``alerts_bot`` fixture runs with."""
WEBHOOK_AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
ALERTMANAGER_PATH = "/alerts/alertmanager"


def post_alerts(
    bot: RunningBot, body: Any, path: str = ALERTMANAGER_PATH, headers: dict[str, str] | None = None
) -> HttpResult:
    """POST ``body`` (a JSON-able value, or a string sent as it is) to ``path`` with the webhook token;
    ``headers`` are added to (or override) the Authorization header."""
    return bot.post(
        body if isinstance(body, str) else json.dumps(body),
        "application/json",
        {**WEBHOOK_AUTH, **(headers or {})},
        path=path,
    )
