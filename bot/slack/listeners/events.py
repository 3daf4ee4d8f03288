"""Events API listeners: :pushpin: puts a message on the timeline; App Home lists open incidents.

Bolt acknowledges events before these run. Slack retries deliveries it thinks failed; the
event_id is remembered in the same transaction as the timeline entry, so each takes effect once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp

from bot.domain.commands import PinMessage
from bot.domain.model import Status
from bot.errors import BotError
from bot.service import Actor, Outcome
from bot.slack import blocks
from bot.slack.app import SlackDeps
from bot.slack.delivery import SlackEffect
from bot.slack.errors import user_message
from bot.slack.text import unescape
from bot.store.outbox import Effect

log = structlog.get_logger("incidentbot.slack")

PIN_REACTIONS = {"pushpin", "round_pushpin"}
HOME_LIST_LIMIT = 1000


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def handle_reaction_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        try:
            await _pin_to_timeline(deps, event, str(body.get("event_id") or ""))
        except Exception as exc:
            user_message(exc, event="reaction_added", event_id=body.get("event_id"))

    async def handle_app_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        try:
            # Ask for more than fit: the view then says how many open incidents it leaves out.
            summaries = await asyncio.to_thread(
                deps.service.list_incidents, [s for s in Status if s.is_open], HOME_LIST_LIMIT
            )
            budgets = await asyncio.to_thread(deps.service.budget_reports)
            exhausted = [f"{r.slo.service}: error budget exhausted. {r.policy()}" for r in budgets if r.exhausted]
            await deps.effects.publish_home(
                str(event["user"]), blocks.build_home_view(summaries, deps.service.clock(), exhausted)
            )
        except Exception as exc:
            user_message(exc, event="app_home_opened")

    app.event("reaction_added")(handle_reaction_added)
    app.event("app_home_opened")(handle_app_home_opened)


def _refresh_status(outcome: Outcome) -> list[Effect]:
    """A pinned message only changes the status message (the reactor is told directly)."""
    return [Effect(SlackEffect.REFRESH, {}, outcome.incident.number, coalesce=True)]


def message_time(ts: str) -> datetime:
    """A Slack message ts (``1732283520.000200``) as an aware UTC datetime."""
    return datetime.fromtimestamp(float(ts), UTC)


async def _pin_to_timeline(deps: SlackDeps, event: dict[str, Any], event_id: str) -> None:
    item = event.get("item") or {}
    if event.get("reaction") not in PIN_REACTIONS or item.get("type") != "message":
        return
    channel_id, ts, reactor = str(item.get("channel")), str(item.get("ts")), str(event.get("user"))
    incident = await asyncio.to_thread(deps.service.find_by_channel, channel_id)
    if incident is None:
        return
    message = await deps.effects.fetch_message(channel_id, ts)
    if message is None:
        log.warning("pinned_message_not_found", incident=incident.incident_id, channel=channel_id, ts=ts)
        return
    author = str(message.get("user") or message.get("bot_id") or event.get("item_user") or reactor)
    # Slack sends message text escaped; the timeline keeps what was typed and escapes when it shows it.
    action = PinMessage(
        text=unescape(str(message.get("text") or "")),
        author=author,
        permalink=await deps.effects.permalink(channel_id, ts),
    )
    try:
        outcome = await asyncio.to_thread(
            lambda: deps.service.transition(
                action,
                Actor(reactor),
                number=incident.number,
                occurred_at=message_time(ts),
                event_id=event_id or None,
                plan=_refresh_status,
            )
        )
    except BotError as exc:
        await deps.effects.post_ephemeral(channel_id, reactor, user_message(exc))
        return
    if outcome is None:
        log.info("event_duplicate_ignored", event_id=event_id, incident=incident.incident_id)
        return
    deps.wake_outbox()
    await deps.effects.post_ephemeral(
        channel_id, reactor, f"Pinned to the {incident.incident_id} timeline at {message_time(ts):%H:%M} UTC."
    )
