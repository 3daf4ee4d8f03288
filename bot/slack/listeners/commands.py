"""The ``/incident`` slash command: ack within Slack's 3 seconds, then make Slack reflect the change.

The database work is quick, so the caller's ephemeral reply is the ack itself; if it ever takes
longer than ACK_BUDGET the ack says "working on it" and the result follows through response_url.
Web API calls (channel, pins, topic, invites, uploads) always run after the ack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.domain.commands import (
    Assemble,
    ExportPostmortem,
    GroupRef,
    ListIncidents,
    ParsedCommand,
    ShowHelp,
    ShowSlo,
    ShowStatus,
    ShowTimeline,
)
from bot.domain.grammar import bare_declare_severity, help_text, is_bare_declare, parse_command
from bot.domain.model import Status
from bot.replies import confirmation, list_text, slo_text, status_text
from bot.service import Actor, Outcome
from bot.slack import blocks
from bot.slack.app import SlackDeps
from bot.slack.delivery import NotifyTarget, export_effects, plan_effects
from bot.slack.effects import incident_number_in_channel_name
from bot.slack.errors import user_message
from bot.slack.text import escape, escape_keeping_mentions
from bot.store.outbox import Effect

log = structlog.get_logger("incidentbot.slack")

COMMAND = "/incident"
ACK_BUDGET = 2.0
"""Seconds of work allowed before the ack; Slack gives 3 in all."""


class Reply:
    """Answers the caller: through the ack while it is unsent, through response_url after."""

    def __init__(self, ack: AsyncAck, respond: AsyncRespond, response_url: str | None = None) -> None:
        self._ack = ack
        self._respond = respond
        self.response_url = response_url
        self.acked = False

    async def ack(self, text: str | None = None, **kwargs: Any) -> None:
        if self.acked:
            if text:
                await self.send(text, **kwargs)
            return
        self.acked = True
        if text is None:
            await self._ack()
        else:
            await self._ack(text=text, response_type="ephemeral", **kwargs)

    async def send(self, text: str, **kwargs: Any) -> None:
        if not self.acked:
            await self.ack(text, **kwargs)
            return
        try:
            await self._respond(text=text, response_type="ephemeral", replace_original=False, **kwargs)
        except Exception:  # an expired or missing response_url must not break the listener
            log.warning("respond_failed", exc_info=True)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def handle_incident_command(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        reply = Reply(ack, respond, body.get("response_url"))
        try:
            await _dispatch(deps, reply, body)
        except Exception as exc:  # every failure becomes a clear ephemeral reply, never a trace
            await reply.send(
                user_message(exc, command=COMMAND, user=body.get("user_id"), channel=body.get("channel_id"))
            )

    app.command(COMMAND)(handle_incident_command)


async def _dispatch(deps: SlackDeps, reply: Reply, body: dict[str, Any]) -> None:
    text = str(body.get("text") or "")
    if is_bare_declare(text):
        await _open_declare_modal(deps, reply, body, text)
        return
    command = parse_command(text)
    actor = Actor(str(body["user_id"]), body.get("user_name"))
    channel_id = str(body.get("channel_id") or "") or None
    if command.incident_number is None and channel_id:
        await _adopt_fresh_channel(deps, channel_id, str(body.get("channel_name") or ""))
    if command.changes_state:
        await _run_transition(deps, reply, command, actor, channel_id)
    else:
        await _answer_query(deps, reply, command, actor, channel_id)


async def _adopt_fresh_channel(deps: SlackDeps, channel_id: str, channel_name: str) -> None:
    """Bind ``inc-7-...`` to INC-7 if the bot created it a moment ago and has not recorded it yet.

    The outbox creates the channel, then records it; a responder quick enough to type in the new
    channel in between would otherwise be told it belongs to no incident.
    """
    number = incident_number_in_channel_name(channel_name, deps.effects.channel_prefix)
    if number is not None:
        await asyncio.to_thread(deps.service.adopt_channel, number, channel_id)


async def _open_declare_modal(deps: SlackDeps, reply: Reply, body: dict[str, Any], text: str) -> None:
    await reply.ack()
    severity = bare_declare_severity(text)
    view = blocks.build_declare_modal(severity, body.get("channel_id"))
    if not body.get("trigger_id") or not await deps.effects.open_view(str(body["trigger_id"]), view):
        await reply.send("I could not open the declare form; type `/incident declare [sev1-4] <title>` instead.")


async def _within_budget(reply: Reply, work: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """Await ``work``; if it outlasts the ack budget, ack "working on it" first and keep waiting."""
    task = asyncio.ensure_future(work())
    try:
        return await asyncio.wait_for(asyncio.shield(task), ACK_BUDGET)
    except TimeoutError:
        await reply.ack("Working on it…")
        return await task


async def _run_transition(
    deps: SlackDeps, reply: Reply, command: ParsedCommand, actor: Actor, channel_id: str | None
) -> None:
    problems: list[str] = []
    if isinstance(command.action, Assemble) and any(isinstance(a.who, GroupRef) for a in command.action.assignees):
        await reply.ack("Assembling the IRT…")
        expanded, problems = await deps.effects.expand_groups(command.action.assignees)
        command = ParsedCommand(Assemble(tuple(expanded)), command.incident_number, command.at)
    notify = NotifyTarget(response_url=reply.response_url, channel_id=channel_id, user_id=actor.user_id)

    def plan(outcome: Outcome) -> list[Effect]:
        return plan_effects(outcome, actor, notify)

    async def work() -> Outcome:
        return await asyncio.to_thread(deps.service.run, command, actor, channel_id, plan)

    outcome = await _within_budget(reply, work)
    deps.wake_outbox()
    await reply.send(
        confirmation(outcome, escape=escape_keeping_mentions) + "".join(f"\n:warning: {p}" for p in problems)
    )


async def _answer_query(
    deps: SlackDeps, reply: Reply, command: ParsedCommand, actor: Actor, channel_id: str | None
) -> None:
    action = command.action
    service = deps.service
    number = command.incident_number
    if isinstance(action, ShowHelp):
        await reply.ack(escape(help_text(action.verb)))
    elif isinstance(action, ListIncidents):
        open_ones = await asyncio.to_thread(service.list_incidents, [s for s in Status if s.is_open], 50)
        await reply.ack("*Open incidents*\n" + list_text(open_ones, service.clock(), escape=escape))
    elif isinstance(action, ShowSlo):
        await reply.ack(await asyncio.to_thread(slo_text, service, action.service, escape))
    elif isinstance(action, ShowStatus):
        incident = await asyncio.to_thread(service.incident, number, channel_id)
        await reply.ack(status_text(incident, service.clock(), escape=escape_keeping_mentions))
    elif isinstance(action, ShowTimeline):
        incident, entries = await asyncio.to_thread(service.timeline, number, channel_id)
        timeline_blocks = blocks.build_timeline_blocks(incident, entries)
        await reply.ack(f"{incident.incident_id} timeline", blocks=timeline_blocks)
    elif isinstance(action, ExportPostmortem):
        incident = await asyncio.to_thread(service.incident, number, channel_id)
        deps.renderer.check(action.template)  # an unknown template is refused now, not in the outbox
        notify = NotifyTarget(response_url=reply.response_url, channel_id=channel_id, user_id=actor.user_id)
        await asyncio.to_thread(service.enqueue, export_effects(incident, action.template, notify))
        deps.wake_outbox()
        await reply.ack(f"Exporting the postmortem draft of {incident.incident_id} to its channel…")
