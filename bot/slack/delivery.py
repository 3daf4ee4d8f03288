"""What Slack must be told after a committed transition (the plan), and telling it (the deliverer).

``plan_effects`` turns an outcome into outbox effects inside the transition's transaction; the
outbox worker hands each one to ``SlackDeliverer``. Every delivery reads the incident's current
state and is safe to repeat: the channel is created once (the binding is checked first), the
status message is edited in place, invitations tolerate ``already_in_channel``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.domain.model import EntryKind, Incident
from bot.outbox import RetryLater, Undeliverable
from bot.postmortem.render import PostmortemRenderer
from bot.replies import confirmation
from bot.service import Actor, IncidentService, Outcome
from bot.slack.effects import ChannelNameExhausted, SlackEffects
from bot.slack.text import escape_keeping_mentions
from bot.store.outbox import Effect, OutboxItem

log = structlog.get_logger("incidentbot.slack")


class SlackEffect(StrEnum):
    CREATE_CHANNEL = "slack.create_channel"
    INVITE = "slack.invite"
    REFRESH = "slack.refresh"
    ANNOUNCE = "slack.announce"
    POST_LINE = "slack.post_line"
    NOTIFY = "slack.notify"
    UPLOAD_POSTMORTEM = "slack.upload_postmortem"


RETRYABLE_ERRORS = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    "team_added_to_org", "timeout",
})
"""Slack error codes that mean "not now" rather than "never"."""


@dataclass(frozen=True)
class NotifyTarget:
    """How to reach the person who acted: their command's response_url, or an ephemeral in a channel."""

    response_url: str | None = None
    channel_id: str | None = None
    user_id: str | None = None

    def payload(self, text: str) -> dict[str, Any]:
        return {"response_url": self.response_url, "channel": self.channel_id, "user": self.user_id, "text": text}


def notify_effect(target: NotifyTarget | None, text: str, number: int | None = None) -> list[Effect]:
    if target is None or not (target.response_url or (target.channel_id and target.user_id)):
        return []
    return [Effect(SlackEffect.NOTIFY, target.payload(text), number)]


def plan_effects(outcome: Outcome, actor: Actor, notify: NotifyTarget | None = None) -> list[Effect]:
    """The Slack calls owed for ``outcome``, in the order they must happen."""
    incident = outcome.incident
    number = incident.number
    if outcome.declared:
        return [
            Effect(SlackEffect.CREATE_CHANNEL, {}, number),
            Effect(SlackEffect.INVITE, {"users": [actor.user_id], "notify": None}, number),
            Effect(SlackEffect.REFRESH, {}, number),
            Effect(SlackEffect.ANNOUNCE, {"declared_by": actor.user_id}, number),
            *notify_effect(notify, f"{incident.incident_id} has its channel: {{channel}}.", number),
        ]
    effects = [
        Effect(SlackEffect.REFRESH, {}, number, coalesce=True),
        Effect(SlackEffect.POST_LINE, {"text": f"<@{actor.user_id}>: {confirmation(outcome, escape=escape_keeping_mentions)}"}, number),
    ]
    invitees = _new_members(outcome)
    if invitees:
        effects.append(Effect(SlackEffect.INVITE, {"users": invitees, "notify": _target(notify)}, number))
    if any(entry.kind is EntryKind.RESOLVED for entry in outcome.entries):
        effects.append(Effect(SlackEffect.UPLOAD_POSTMORTEM, {"template": None, "notify": _target(notify)}, number))
    return effects


def export_effects(incident: Incident, template: str | None, notify: NotifyTarget | None) -> list[Effect]:
    """``/incident postmortem``: upload the draft again."""
    return [Effect(SlackEffect.UPLOAD_POSTMORTEM, {"template": template, "notify": _target(notify)},
                   incident.number)]


def _target(notify: NotifyTarget | None) -> dict[str, Any] | None:
    return notify.payload("") if notify else None


def _new_members(outcome: Outcome) -> list[str]:
    users: list[str] = []
    for entry in outcome.entries:
        users += [str(m["user"]) for m in entry.data.get("members", [])]
        if entry.kind is EntryKind.LEAD:
            users.append(str(entry.data["user"]))
    return users


class SlackDeliverer:
    """Performs one outbox item; Slack's answers become RetryLater or Undeliverable."""

    def __init__(self, service: IncidentService, effects: SlackEffects, renderer: PostmortemRenderer) -> None:
        self.service = service
        self.effects = effects
        self.renderer = renderer

    async def __call__(self, item: OutboxItem) -> None:
        handler = {
            SlackEffect.CREATE_CHANNEL: self._create_channel,
            SlackEffect.INVITE: self._invite,
            SlackEffect.REFRESH: self._refresh,
            SlackEffect.ANNOUNCE: self._announce,
            SlackEffect.POST_LINE: self._post_line,
            SlackEffect.NOTIFY: self._notify,
            SlackEffect.UPLOAD_POSTMORTEM: self._upload,
        }.get(SlackEffect(item.kind)) if item.kind in SlackEffect._value2member_map_ else None
        if handler is None:
            raise Undeliverable(f"unknown outbox kind {item.kind!r}")
        try:
            await handler(item)
        except SlackApiError as exc:
            raise _classify(exc) from exc
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            raise RetryLater(f"network: {type(exc).__name__}") from exc
        except ChannelNameExhausted as exc:
            raise Undeliverable(str(exc)) from exc

    async def _incident(self, item: OutboxItem) -> Incident:
        assert item.incident_number is not None
        return await asyncio.to_thread(self.service.incident, item.incident_number)

    async def _channel_incident(self, item: OutboxItem) -> Incident | None:
        """The incident, if it has a channel; without one (its creation failed) there is nothing to do."""
        incident = await self._incident(item)
        if incident.channel_id is None:
            log.info("outbox_item_skipped_no_channel", item=item.id, kind=item.kind, incident=incident.incident_id)
            return None
        return incident

    async def _create_channel(self, item: OutboxItem) -> None:
        incident = await self._incident(item)
        if incident.channel_id:
            return
        channel_id = await self.effects.create_channel(incident)
        await asyncio.to_thread(self.service.bind_channel, incident.number, channel_id)

    async def _invite(self, item: OutboxItem) -> None:
        incident = await self._channel_incident(item)
        if incident is None or incident.channel_id is None:
            return
        report = await self.effects.invite(incident.channel_id, [str(u) for u in item.payload.get("users", [])])
        notify = item.payload.get("notify")
        if report.failed and notify:
            await self._send_notification({**notify, "text": report.problems()})

    async def _refresh(self, item: OutboxItem) -> None:
        incident = await self._channel_incident(item)
        if incident is None:
            return
        await refresh_channel(self.service, self.effects, incident)

    async def _announce(self, item: OutboxItem) -> None:
        incident = await self._incident(item)
        await self.effects.announce(incident, str(item.payload.get("declared_by") or incident.declared_by))

    async def _post_line(self, item: OutboxItem) -> None:
        incident = await self._channel_incident(item)
        if incident is None or incident.channel_id is None:
            return
        await self.effects.post(incident.channel_id, str(item.payload.get("text") or ""))

    async def _notify(self, item: OutboxItem) -> None:
        payload = dict(item.payload)
        text = str(payload.get("text") or "")
        if "{channel}" in text and item.incident_number is not None:
            incident = await self._incident(item)
            channel = f"<#{incident.channel_id}>" if incident.channel_id else "(its channel could not be created)"
            payload["text"] = text.replace("{channel}", channel)
        await self._send_notification(payload)

    async def _send_notification(self, payload: dict[str, Any]) -> None:
        """Best effort: a response_url expires after 30 minutes, an ephemeral needs the bot in the channel."""
        text = str(payload.get("text") or "")
        if payload.get("response_url"):
            try:
                response = await AsyncWebhookClient(str(payload["response_url"])).send(
                    text=text, response_type="ephemeral", replace_original=False)
                if response.status_code < 400:
                    return
            except (aiohttp.ClientError, TimeoutError):
                log.info("response_url_failed", exc_info=True)
        if payload.get("channel") and payload.get("user"):
            await self.effects.post_ephemeral(str(payload["channel"]), str(payload["user"]), text)

    async def _upload(self, item: OutboxItem) -> None:
        incident = await self._incident(item)
        notify = item.payload.get("notify")
        if incident.channel_id is None:
            if notify:
                await self._send_notification({**notify, "text": (
                    f"{incident.incident_id} has no channel to upload to; "
                    f"run `incidentbot postmortem {incident.incident_id}` instead.")})
            return
        data = await asyncio.to_thread(self.service.postmortem, incident.number)
        template = item.payload.get("template")
        markdown = await asyncio.to_thread(self.renderer.render, data, str(template) if template else None)
        try:
            await self.effects.upload_postmortem(incident, markdown)
        except SlackApiError as exc:
            classified = _classify(exc)
            if isinstance(classified, Undeliverable) and notify:
                await self._send_notification({**notify, "text": (
                    f"Slack refused the postmortem upload for {incident.incident_id} "
                    f"({exc.response.get('error')}); `incidentbot postmortem {incident.incident_id}` "
                    "renders it locally.")})
            raise


async def refresh_channel(service: IncidentService, effects: SlackEffects, incident: Incident) -> None:
    """Bring the pinned status message and the topic up to date (re-post it if it is gone)."""
    assert incident.channel_id
    ts = await asyncio.to_thread(service.status_message, incident.number)
    now = service.clock()
    budget = await asyncio.to_thread(budget_status, service, incident)
    if ts is None or not await effects.update_status_message(incident, ts, now, budget):
        ts = await effects.post_status_message(incident, now, budget)
        # Recorded before pinning: a failed pin must not make the retry post a second message.
        await asyncio.to_thread(service.set_status_message, incident.number, ts)
        await effects.pin(incident.channel_id, ts)
    await effects.set_topic(incident)


def _classify(exc: SlackApiError) -> RetryLater | Undeliverable:
    """429 and 5xx and Slack's transient codes are retried (after Retry-After); the rest never will succeed."""
    response = exc.response
    status = getattr(response, "status_code", 200)
    error = str(response.get("error") or f"HTTP {status}")
    if status == 429 or error in ("ratelimited", "rate_limited"):
        retry_after = _retry_after(response.headers if response is not None else {})
        return RetryLater(f"{error} (HTTP {status})", after=retry_after)
    if status >= 500 or error in RETRYABLE_ERRORS:
        return RetryLater(f"{error} (HTTP {status})")
    return Undeliverable(error)


def _retry_after(headers: Any) -> float | None:
    for key in ("Retry-After", "retry-after"):
        value = headers.get(key) if hasattr(headers, "get") else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None
