"""The Slack surface's one error router: every failure a listener raises becomes what its user sees.

``register`` installs ``route_failure`` as bolt's global error handler (``app.error``); listeners let
failures propagate instead of catching them. What the user sees is ``user_message``: an expected failure
(BotError) shows its own message; anything else is logged once with a correlation id
(``bot.log.log_unexpected``) and the user sees only that id, never a stack trace or an exception's text.

How it is told depends on the request and on whether it was acknowledged yet (bolt passes
``response=None`` once ``ack()`` was called):

- slash command: the ack itself while it is unsent (ephemeral), else through ``response_url``;
- button (``block_actions``): an ephemeral note (``chat.postEphemeral``) to the clicker in their channel;
- modal submission: a field error that keeps the modal open while unacknowledged, else an ephemeral note
  in the channel the listener named (``REPLY_CHANNEL`` in bolt's context), if any;
- Events API delivery: nobody to tell; logged (an unacknowledged event keeps bolt's 500, so Slack retries).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.response import BoltResponse

from bot.domain.model import format_incident_id
from bot.domain.policy import NotAllowed
from bot.domain.timeline import plain_references
from bot.errors import BotError, UsageError
from bot.log import log_unexpected
from bot.slack.ids import BlockId, CallbackId
from bot.slack.text import MESSAGE_TEXT_LIMIT, escape, escape_keeping_mentions, person_mention, truncate
from bot.slack.web_api import SlackWebApi

log = structlog.get_logger("incidentbot.slack")

REPLY_CHANNEL = "incidentbot_reply_channel"
"""Key in bolt's request context: the channel where a failure after the ack is told (a modal has none)."""
INCIDENT = "incidentbot_incident"
"""Key in bolt's request context: the incident (``INC-7``) a request is about, once known; logged with a failure."""

FIELD_OF_VIEW: dict[str, str] = {
    CallbackId.COMMAND: BlockId.TEXT,
    CallbackId.DECLARE: BlockId.TITLE,
    CallbackId.UPDATE: BlockId.UPDATE_KNOWN,
}
"""The input block under which a modal shows a failure found before its submission was acknowledged."""

FIELD_ERROR_LIMIT = 1900
"""Characters kept of a field error; Slack documents no limit of its own for these, so this stays
under the 2000 of its other short text fields (section fields, input labels)."""


def user_message(exc: BaseException, **log_context: object) -> str:
    """The mrkdwn sentence a Slack user sees for ``exc``; an unexpected error is logged here with its traceback.

    UsageError: its message and the verb's usage; other BotError: its message (mentions kept); anything
    else: ``:warning: Something went wrong on our side (reference `<8 hex>`)...``, the id in the log.
    """
    if isinstance(exc, UsageError):
        return exc.render(person_mention, escape) + (f"\nUsage: `/incident {escape(exc.usage)}`" if exc.usage else "")
    if isinstance(exc, BotError):
        # The people a refusal names are mentioned (<@U123>), as are those typed in quoted text; the rest is escaped.
        return exc.render(person_mention, escape_keeping_mentions)
    reference = log_unexpected(log, "unexpected_error", exc, **log_context)
    return f":warning: Something went wrong on our side (reference `{reference}`). Nothing was lost; please retry."


def about_incident(context: AsyncBoltContext, number: int) -> None:
    """Note in the request's context which incident it is about, for the log line of any failure."""
    context[INCIDENT] = format_incident_id(number)


def register(app: AsyncApp, web_api: SlackWebApi) -> None:
    """Install the router as ``app``'s global error handler (listeners and global middleware alike)."""

    async def handle_error(
        error: Exception,
        body: dict[str, Any],
        context: AsyncBoltContext,
        respond: AsyncRespond | None,
        response: BoltResponse | None,
    ) -> BoltResponse | None:
        acked = context.ack.response  # what bolt answers Slack, if the listener acked before it failed
        try:
            return await route_failure(web_api, error, body, context, respond, response)
        finally:
            if acked is not None:
                # bolt's runner (slack_bolt/listener/asyncio_runner.py) sets ack.response to None once this
                # handler returns; a listener that acked and failed before bolt's 10 ms poll saw the ack would
                # lose it (HTTP 404 "unhandled request" after 3 s). Put it back after the runner is done.
                asyncio.get_running_loop().call_soon(setattr, context.ack, "response", acked)

    app.error(handle_error)


async def route_failure(
    web_api: SlackWebApi,
    error: Exception,
    body: dict[str, Any],
    context: AsyncBoltContext,
    respond: AsyncRespond | None,
    response: BoltResponse | None,
) -> BoltResponse | None:
    """Tell the user about ``error`` as the module docstring says; returns bolt's answer while unacknowledged."""
    ids = _log_ids(body, context)
    kind = _kind(body)
    if kind not in ("command", "block_actions", "view_submission"):  # events: nobody to tell
        if isinstance(error, BotError):
            log.warning("slack_event_failed", reason=error.user_message, **ids)
        else:
            log_unexpected(log, "unexpected_error", error, **ids)
        return None
    message = user_message(error, **ids)
    acked = response is None
    if kind == "command":
        if not acked:
            return await _ack_answer(text=truncate(message, MESSAGE_TEXT_LIMIT), response_type="ephemeral")
        await respond_ephemeral(respond, message)
        return None
    if kind == "view_submission" and not acked:
        field = FIELD_OF_VIEW.get(str((body.get("view") or {}).get("callback_id")), BlockId.TEXT)
        return await _ack_answer(response_action="errors", errors={field: field_error(error, message)})
    channel = context.get(REPLY_CHANNEL) if kind == "view_submission" else None
    await tell(web_api, body, message, channel)
    return None if acked else BoltResponse(status=200, body="")


async def tell(web_api: SlackWebApi, body: dict[str, Any], text: str, channel_id: str | None = None) -> None:
    """An ephemeral note to the person who clicked or submitted, in ``channel_id`` or the channel they were in."""
    user_id = str((body.get("user") or {}).get("id") or "")
    channel = channel_id or str((body.get("channel") or {}).get("id") or "")
    if user_id and channel:
        await web_api.post_ephemeral(channel, user_id, text)
    else:
        log.info("user_not_told", user=user_id, text=text)


def field_error(exc: BaseException, message: str) -> str:
    """A modal field error: plain text (Slack shows no mrkdwn there, ``<@U0ALICE>`` would show as typed)."""
    plain = exc.plain_message if isinstance(exc, NotAllowed) else _plain(message)
    return truncate(plain, FIELD_ERROR_LIMIT, "…")


def _plain(mrkdwn: str) -> str:
    """A mrkdwn message as plain text: ``<@U0BOB|bob>`` -> ``@bob`` (``@U0BOB`` without a label), entities decoded."""
    text = plain_references({})(mrkdwn)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def _ack_answer(**answer: Any) -> BoltResponse:
    """The response bolt's ``ack(**answer)`` would have sent: the listener's own ack is past use here."""
    return await AsyncAck()(**answer)  # type: ignore[no-untyped-call]


async def respond_ephemeral(respond: AsyncRespond | None, text: str, **extra: Any) -> None:
    """An ephemeral follow-up through a command's response_url (text cut at Slack's 40,000 characters);
    an expired or missing response_url is logged, never raised: the listener has nothing better to do."""
    if respond is None:
        log.info("user_not_told", reason="no response_url", text=text)
        return
    try:
        await respond(
            text=truncate(text, MESSAGE_TEXT_LIMIT), response_type="ephemeral", replace_original=False, **extra
        )
    except Exception:
        log.warning("respond_failed", exc_info=True)


def _kind(body: dict[str, Any]) -> str:
    """``command`` for a slash command, else the payload's ``type`` (``block_actions``, ``event_callback``...)."""
    return "command" if "command" in body and "type" not in body else str(body.get("type") or "")


def _log_ids(body: dict[str, Any], context: AsyncBoltContext) -> dict[str, object]:
    """What is known of the request for the log: incident, Slack user, channel, and what was used."""
    event = body.get("event") or {}
    actions = body.get("actions") or [{}]
    return {
        "incident": context.get(INCIDENT),
        "user": body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user"),
        "channel": body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or event.get("channel")
        or (event.get("item") or {}).get("channel"),
        "command": body.get("command"),
        "action": actions[0].get("action_id"),
        "view": (body.get("view") or {}).get("callback_id"),
        "slack_event": event.get("type"),  # not "event": that is the log line's own name
        "event_id": body.get("event_id"),
    }
