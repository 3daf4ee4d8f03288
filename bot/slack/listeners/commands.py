"""The ``/incident`` slash command: ack within Slack's 3 seconds, then make Slack reflect the change.

The database work is quick, so the caller's ephemeral reply is the ack itself; if it ever takes
longer than ACK_BUDGET (a busy database: another transaction holding the lock) the ack says
"Working on it…" and the result follows through response_url. Nothing touches the database before
that budget starts, and read-only commands never write. Web API calls (channel, pins, topic,
invites, uploads) always run after the ack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.domain.commands import (
    Assemble,
    ExportPostmortem,
    GroupRef,
    ListFollowups,
    ListIncidents,
    ParsedCommand,
    PublishPostmortem,
    ShowHelp,
    ShowSlo,
    ShowStatus,
    ShowTimeline,
)
from bot.domain.effects import Effect
from bot.domain.grammar import bare_declare_private, bare_declare_severity, help_text, is_bare_declare, parse_command
from bot.domain.model import OPEN_STATUSES
from bot.domain.policy import check_allowed, strict_roles_for
from bot.domain.privacy import check_may_see, may_see
from bot.domain.timeline import PUBLICATION_TARGETS
from bot.slack import blocks
from bot.slack.app import SlackDeps
from bot.slack.delivery import NotifyTarget, export_effects, plan_effects
from bot.slack.errors import about_incident, respond_ephemeral
from bot.slack.text import MESSAGE_TEXT_LIMIT, escape, escape_keeping_mentions, slack_mention, truncate, unescape
from bot.slack.turns import turn_key
from bot.slack.web_api import incident_number_in_channel_name
from bot.usecases.followups import FollowupList
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import Actor, Outcome
from bot.views.followups import followups_text
from bot.views.postmortem import PostmortemRenderer
from bot.views.replies import confirmation, list_text, slo_text, status_text

log = structlog.get_logger("incidentbot.slack")

COMMAND = "/incident"
ACK_BUDGET = 2.0
"""Seconds of work allowed before the ack; Slack gives 3 in all."""
WORKING_ON_IT = "Working on it…"
T = TypeVar("T")


class Reply:
    """Answers the caller: through the ack while it is unsent, through response_url after.

    Every answer fits Slack's limits: text is cut at 40,000 characters and blocks at 50, each with
    a note that the full text is on the timeline.
    """

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
            await self._ack(text=truncate(text, MESSAGE_TEXT_LIMIT), response_type="ephemeral", **_fit(kwargs))

    async def send(self, text: str, **kwargs: Any) -> None:
        if not self.acked:
            await self.ack(text, **kwargs)
            return
        await respond_ephemeral(self._respond, text, **_fit(kwargs))


def _fit(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Message blocks capped at Slack's 50 (the builders keep each block's own limits)."""
    if kwargs.get("blocks") is not None:
        return {**kwargs, "blocks": blocks.cap_blocks(list(kwargs["blocks"]))}
    return kwargs


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def handle_incident_command(
        ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """A failure propagates to the error router (bot.slack.errors): told in the ack or through response_url."""
        await _dispatch(deps, Reply(ack, respond, body.get("response_url")), body, context)

    app.command(COMMAND)(handle_incident_command)


async def _dispatch(deps: SlackDeps, reply: Reply, body: dict[str, Any], context: AsyncBoltContext) -> None:
    # Slack sends what the person typed with ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and ``&gt;``
    # (mentions it made itself, ``<@U0123|bob>``, keep real brackets): decode once, here, so the timeline
    # holds "p99 < 200ms & rising" as typed, and every view escapes it once for its own medium.
    text = unescape(str(body.get("text") or ""))
    if is_bare_declare(text):
        await _open_declare_modal(deps, reply, body, text)
        return
    command = parse_command(text)
    if command.incident_number is not None:
        about_incident(context, command.incident_number)
    actor = Actor(str(body["user_id"]), body.get("user_name"))
    channel_id = str(body.get("channel_id") or "") or None
    # ``inc-7-...``: the outbox may have created the channel and not recorded it yet (see find_incident).
    channel_number = (
        incident_number_in_channel_name(str(body.get("channel_name") or ""), deps.web_api.channel_prefix)
        if command.incident_number is None
        else None
    )
    if command.changes_state:
        await _run_transition(deps, reply, command, actor, channel_id, channel_number)
    else:
        await _answer_query(deps, reply, command, actor, channel_id, channel_number)


async def _open_declare_modal(deps: SlackDeps, reply: Reply, body: dict[str, Any], text: str) -> None:
    await reply.ack()
    severity = bare_declare_severity(text)
    private = bare_declare_private(text)
    view = blocks.build_declare_modal(severity, body.get("channel_id"), private=private)
    if not body.get("trigger_id") or not await deps.web_api.open_view(str(body["trigger_id"]), view):
        option = "--private " if private else ""
        await reply.send(
            escape(f"I could not open the declare form; type `/incident declare {option}[sev1-4] <title>` instead.")
        )


async def within_budget(work: Callable[[], Awaitable[T]], ack_late: Callable[[], Awaitable[object]]) -> T:
    """Await ``work``; if it outlasts ACK_BUDGET seconds, call ``ack_late`` first and keep waiting.

    The budget starts here: callers do nothing that can wait (database, Slack) before calling this.
    A failure of ``work`` propagates (to the error router), acknowledged or not.
    """
    task = asyncio.ensure_future(work())
    try:
        return await asyncio.wait_for(asyncio.shield(task), ACK_BUDGET)
    except TimeoutError:
        await ack_late()
        return await task


async def _run_transition(
    deps: SlackDeps,
    reply: Reply,
    command: ParsedCommand,
    actor: Actor,
    channel_id: str | None,
    channel_number: int | None,
) -> None:
    deps.turns.track()  # `serve` stopping waits for it (TurnTaking.settle)
    problems: list[str] = []
    if isinstance(command.action, Assemble) and any(isinstance(a.who, GroupRef) for a in command.action.assignees):
        # Refused now rather than after "Assembling the IRT…"; a private incident always has strict roles.
        incident = await asyncio.to_thread(deps.incidents.get, command.incident_number, channel_id, channel_number)
        if strict_roles_for(incident, deps.incidents.strict_roles):
            check_allowed(incident, command.action, actor.user_id)
        await reply.ack("Assembling the IRT…")
        expanded, problems = await deps.web_api.expand_groups(command.action.assignees)
        command = ParsedCommand(Assemble(tuple(expanded)), command.incident_number, command.at)
    notify = NotifyTarget(response_url=reply.response_url, channel_id=channel_id, user_id=actor.user_id)

    def plan(outcome: Outcome) -> list[Effect]:
        return plan_effects(outcome, actor, notify)

    async def work() -> Outcome:
        async with deps.turns.turn(turn_key(channel_id, command.incident_number)):
            return await asyncio.to_thread(
                lambda: deps.incidents.run(command, actor, channel_id, plan, channel_number=channel_number)
            )

    outcome = await within_budget(work, lambda: reply.ack(WORKING_ON_IT))
    deps.wake_outbox()
    await reply.send(
        confirmation(outcome, slack_mention, escape_keeping_mentions) + "".join(f"\n:warning: {p}" for p in problems)
    )


Answer = tuple[str, list[dict[str, Any]] | None]
"""A query's reply: its text, and blocks when it has them."""


def check_publishing_templates(renderer: PostmortemRenderer, targets: tuple[str, ...]) -> None:
    """Raise TemplateError now when a template the configured ``targets`` render from does not compile: the
    Markdown one (Git) and the Confluence one."""
    if "git" in targets:
        renderer.check()
    if "confluence" in targets:
        renderer.check_storage()


def _visible_followups(
    incidents: IncidentUseCases, found: FollowupList, viewer: str, channel_id: str | None
) -> FollowupList:
    """``found`` (every incident's follow-ups) without those of private incidents ``viewer`` may not see
    (``check_may_see``)."""
    hidden: set[int] = set()
    for number in {item.incident_number for item in found.items}:
        incident = incidents.get(number)
        if incident.private and not may_see(incident, viewer) and incident.channel_id != channel_id:
            hidden.add(number)
    return replace(found, items=[i for i in found.items if i.incident_number not in hidden]) if hidden else found


async def _answer_query(
    deps: SlackDeps,
    reply: Reply,
    command: ParsedCommand,
    actor: Actor,
    channel_id: str | None,
    channel_number: int | None,
) -> None:
    """Answer a command that changes no incident; never waits past the budget.

    The queries run in the readers' thread pool, so no writer waiting for the database lock delays
    them; a postmortem export queues its upload (a write), so it runs with the writers.
    """
    action = command.action
    incidents = deps.incidents
    number = command.incident_number

    def export() -> Answer:
        assert isinstance(action, ExportPostmortem)
        incident = incidents.get(number, channel_id, channel_number)
        check_may_see(incident, actor.user_id, channel_id)
        deps.renderer.check(action.template)  # an unknown template is refused now, not in the outbox
        notify = NotifyTarget(response_url=reply.response_url, channel_id=channel_id, user_id=actor.user_id)
        deps.outbox.enqueue(export_effects(incident, action.template, notify))
        return f"Exporting the postmortem draft of {incident.incident_id} to its channel…", None

    def publish() -> Answer:
        if deps.publishing is None:
            raise TypeError("publishing is not wired")
        check_publishing_templates(deps.renderer, deps.publishing.targets)  # a broken template: told now
        check_may_see(incidents.get(number, channel_id, channel_number), actor.user_id, channel_id)
        incident, targets = deps.publishing.request(actor, number, channel_id, channel_number)
        names = " and ".join(PUBLICATION_TARGETS[t] for t in targets)
        return (
            f"Publishing the postmortem of {incident.incident_id} to {names}; "
            "each publication is recorded on its timeline.",
            None,
        )

    def answer() -> Answer:
        """Runs in a reader thread: the database may be slow, the event loop must not wait."""
        if isinstance(action, ShowHelp):
            return escape(help_text(action.verb)), None
        if isinstance(action, ListIncidents):
            open_ones = incidents.summaries_seen_by(actor.user_id, OPEN_STATUSES, 50)
            return "*Open incidents*\n" + list_text(open_ones, incidents.clock(), escape=escape), None
        if isinstance(action, ShowSlo):
            return slo_text(deps.budgets, action.service, escape), None
        if isinstance(action, ShowStatus):
            incident = incidents.get(number, channel_id, channel_number)
            check_may_see(incident, actor.user_id, channel_id)
            _, review = incidents.review(incident.number)
            update = incidents.latest_update(incident.number)
            text = status_text(incident, incidents.clock(), slack_mention, escape_keeping_mentions, review, update)
            return text, None
        if isinstance(action, ListFollowups):
            if deps.followups is None:
                raise TypeError("follow-ups are not wired")
            found = deps.followups.listing(number, channel_id, channel_number)
            if found.incident_id is not None:  # one incident's: refused to a non-member, follow-ups or none
                check_may_see(incidents.get(number, channel_id, channel_number), actor.user_id, channel_id)
            else:
                found = _visible_followups(incidents, found, actor.user_id, channel_id)
            return followups_text(found, incidents.clock().date(), slack_mention, escape_keeping_mentions), None
        if isinstance(action, ShowTimeline):
            incident, entries, total = incidents.recent_timeline(number, channel_id, channel_number)
            check_may_see(incident, actor.user_id, channel_id)
            return f"{incident.incident_id} timeline", blocks.build_timeline_blocks(incident, entries, total)
        raise TypeError(f"{type(action).__name__} is not a query")

    if isinstance(action, ExportPostmortem | PublishPostmortem):
        write = export if isinstance(action, ExportPostmortem) else publish
        text, answer_blocks = await within_budget(lambda: asyncio.to_thread(write), lambda: reply.ack(WORKING_ON_IT))
        deps.wake_outbox()
    else:
        text, answer_blocks = await within_budget(lambda: deps.threads.read(answer), lambda: reply.ack(WORKING_ON_IT))
    if answer_blocks is None:
        await reply.send(text)
    else:
        await reply.send(text, blocks=answer_blocks)
