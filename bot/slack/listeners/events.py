"""Events API listeners: :pushpin: puts a message on the timeline; App Home lists open incidents.

Bolt acknowledges events before these run. Slack retries deliveries it thinks failed; the
event_id is remembered in the same transaction as the timeline entry, so each takes effect once.
A failure propagates to the Slack error router (bot.slack.errors), which logs it: nobody is waiting.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp

from bot.domain.effects import Effect
from bot.domain.model import OPEN_STATUSES
from bot.slack import blocks
from bot.slack.app import SlackDeps
from bot.slack.delivery import SlackEffect

log = structlog.get_logger("incidentbot.slack")

PIN_REACTIONS = {"pushpin", "round_pushpin"}
HOME_LIST_LIMIT = 1000


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def handle_reaction_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        await _pin_to_timeline(deps, event, str(body.get("event_id") or ""))

    async def handle_app_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        # Ask for more than fit: the view then says how many open incidents it leaves out.
        summaries = await deps.threads.read(
            deps.incidents.summaries_seen_by, str(event["user"]), OPEN_STATUSES, HOME_LIST_LIMIT
        )
        budgets = await deps.threads.read(deps.budgets.reports)
        exhausted = [f"{r.slo.service}: error budget exhausted. {r.policy()}" for r in budgets if r.exhausted]
        await deps.web_api.publish_home(
            str(event["user"]), blocks.build_home_view(summaries, deps.incidents.clock(), exhausted)
        )

    app.event("reaction_added")(handle_reaction_added)
    app.event("app_home_opened")(handle_app_home_opened)


async def _pin_to_timeline(deps: SlackDeps, event: dict[str, Any], event_id: str) -> None:
    """Queue the pinned message for the outbox, which reads it and records it (retrying while Slack is busy).

    Reading the message is a Web API call that Slack may rate-limit; done here, a 429 would drop
    the pin. The outbox item is durable and retried with backoff; the event_id makes it count once.
    """
    item = event.get("item") or {}
    if event.get("reaction") not in PIN_REACTIONS or item.get("type") != "message":
        return
    channel_id, ts, reactor = str(item.get("channel")), str(item.get("ts")), str(event.get("user"))
    incident = await deps.threads.read(deps.incidents.find_by_channel, channel_id)
    if incident is None:
        return
    payload = {
        "channel": channel_id,
        "ts": ts,
        "reactor": reactor,
        "event_id": event_id or None,
        "item_user": event.get("item_user"),
    }
    await asyncio.to_thread(deps.outbox.enqueue, [Effect(SlackEffect.PIN_MESSAGE, payload, incident.number)])
    deps.wake_outbox()
