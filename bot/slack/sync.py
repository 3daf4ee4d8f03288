"""Making Slack reflect a committed transition: the channel of a new incident, the pinned status
message, the topic, a line for the team, invitations, and the postmortem upload on resolve.

Shared by slash commands, modal submissions and buttons, so each surface stays a thin listener.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from bot.domain.commands import Assemble, Resolve, UserRef
from bot.domain.model import EntryKind, Incident
from bot.replies import confirmation
from bot.service import Actor, Outcome
from bot.slack.app import SlackDeps
from bot.slack.text import escape

log = structlog.get_logger("incidentbot.slack")

Notify = Callable[[str], Awaitable[None]]
"""Sends a follow-up message to the person who acted (ephemeral)."""


async def after_transition(deps: SlackDeps, outcome: Outcome, actor: Actor, notify: Notify) -> Incident:
    """Run every Slack call a committed transition implies; returns the incident as Slack now knows it."""
    if outcome.declared:
        return await _open_incident_channel(deps, outcome.incident, actor, notify)
    incident = outcome.incident
    if not incident.channel_id:
        return incident
    await refresh_channel(deps, incident)
    await deps.effects.post(incident.channel_id, f"<@{actor.user_id}>: {confirmation(outcome, escape=escape)}")
    kinds = {entry.kind for entry in outcome.entries}
    if EntryKind.ASSEMBLED in kinds or EntryKind.LEAD in kinds:
        await _invite_new_members(deps, outcome, notify)
    if EntryKind.RESOLVED in kinds:
        await export_postmortem(deps, incident, notify)
    return incident


async def _open_incident_channel(deps: SlackDeps, incident: Incident, actor: Actor, notify: Notify) -> Incident:
    effects = deps.effects
    channel_id = await effects.create_channel(incident)
    if channel_id is None:
        await notify(f"{incident.incident_id} is declared, but Slack would not create its channel. "
                     f"Use `/incident {incident.incident_id} ...` from any channel meanwhile.")
        return incident
    await asyncio.to_thread(deps.service.bind_channel, incident.number, channel_id)
    incident = incident.with_changes(channel_id=channel_id)
    await effects.invite(channel_id, [actor.user_id])
    await effects.set_topic(incident)
    ts = await effects.post_status_message(incident, deps.service.clock())
    if ts:
        await asyncio.to_thread(deps.service.set_status_message, incident.number, ts)
    await effects.announce(incident, channel_id, actor.user_id)
    await notify(f"{incident.incident_id} has its channel: <#{channel_id}>.")
    return incident


async def refresh_channel(deps: SlackDeps, incident: Incident) -> None:
    """Bring the pinned status message and the topic up to date (re-post it if it is gone)."""
    assert incident.channel_id
    effects = deps.effects
    ts = await asyncio.to_thread(deps.service.status_message, incident.number)
    now = deps.service.clock()
    if ts is None or not await effects.update_status_message(incident, ts, now):
        new_ts = await effects.post_status_message(incident, now)
        if new_ts:
            await asyncio.to_thread(deps.service.set_status_message, incident.number, new_ts)
    await effects.set_topic(incident)


async def _invite_new_members(deps: SlackDeps, outcome: Outcome, notify: Notify) -> None:
    incident = outcome.incident
    assert incident.channel_id
    users: list[str] = []
    for entry in outcome.entries:
        users += [str(m["user"]) for m in entry.data.get("members", [])]
        if entry.kind is EntryKind.LEAD:
            users.append(str(entry.data["user"]))
    report = await deps.effects.invite(incident.channel_id, users)
    if report.failed:
        await notify(report.problems())


async def expand_assemble(deps: SlackDeps, action: Assemble) -> tuple[Assemble, list[str]]:
    """Replace user groups by their members; the problems are reported to the caller."""
    if all(isinstance(a.who, UserRef) for a in action.assignees):
        return action, []
    assignees, problems = await deps.effects.expand_groups(action.assignees)
    return Assemble(tuple(assignees)), problems


async def export_postmortem(deps: SlackDeps, incident: Incident, notify: Notify, template: str | None = None) -> None:
    """Render the draft and upload it to the incident channel."""
    data = await asyncio.to_thread(deps.service.postmortem, incident.number)
    markdown = await asyncio.to_thread(deps.renderer.render, data, template)
    if not incident.channel_id:
        await notify(f"{incident.incident_id} has no channel to upload to; "
                     f"run `incidentbot postmortem {incident.incident_id}` instead.")
        return
    if not await deps.effects.upload_postmortem(incident, markdown):
        await notify(f"Slack refused the postmortem upload for {incident.incident_id}; "
                     f"`incidentbot postmortem {incident.incident_id}` renders it locally.")


def is_resolve(outcome: Outcome) -> bool:
    return any(entry.kind is EntryKind.RESOLVED for entry in outcome.entries)


__all__ = ["Resolve", "after_transition", "expand_assemble", "export_postmortem", "refresh_channel"]
