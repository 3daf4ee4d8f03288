"""Driving the bot's webhook routes (alerts, CI/CD changes) as their senders do: a bearer token and a JSON body."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.support.bot_server import HttpResult, RunningBot

WEBHOOK_TOKEN = "s3cret-webhook-token"
"""The ``INCIDENT_WEBHOOK_TOKEN`` the ``alerts_bot`` fixture runs with."""
WEBHOOK_AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
ALERTMANAGER_PATH = "/alerts/alertmanager"


def post_webhook(
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


def post_json(bot: RunningBot, path: str, body: Any, headers: dict[str, str] | None = WEBHOOK_AUTH) -> HttpResult:
    """POST ``body`` (JSON-able, or a string sent as it is) to ``path`` with exactly ``headers`` (the webhook
    token by default; None sends no Authorization header)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return bot.post(text, "application/json", headers or {}, path=path)


def post_alerts_to(port: int, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    """An Alertmanager notification POSTed to a ``serve`` process on 127.0.0.1:``port`` with ``Bearer token``:
    (HTTP status, the JSON answer). A 4xx or 5xx raises ``urllib.error.HTTPError``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{ALERTMANAGER_PATH}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read().decode())
