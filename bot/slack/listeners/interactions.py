"""Interactivity: the status message's buttons and the modals behind them and behind declare.

A modal submission is acknowledged within Slack's 3 seconds whatever the database does: field
errors found within the budget keep the modal open; past it the modal closes, the change shows in
the incident channel as usual, and a failure is told as an ephemeral note there. Slack lets a
person submit again when an ack came late, so each submission carries a key (the view id and a
hash of what was submitted) remembered in the same transaction as its effect: a resubmitted form
records once.

Failures propagate to the Slack error router (bot.slack.errors): a button's failure is told to the
clicker in an ephemeral note; a submission's is a field error while unacknowledged, else an ephemeral
note in the channel named here (``REPLY_CHANNEL``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.domain.commands import Declare, ParsedCommand
from bot.domain.effects import Effect
from bot.domain.errors import UsageError
from bot.domain.grammar import (
    MAX_TITLE_LENGTH,
    USAGE,
    clean_text,
    parse_command,
    split_private,
    update_from_form,
)
from bot.domain.model import DEFAULT_SEVERITY, Incident, Severity
from bot.slack import blocks
from bot.slack.app import SlackDeps
from bot.slack.delivery import NotifyTarget, plan_effects
from bot.slack.errors import REPLY_CHANNEL, about_incident, tell
from bot.slack.ids import BUTTON_VERBS, BUTTONS, ActionId, BlockId, CallbackId, InputId
from bot.slack.listeners.commands import within_budget
from bot.slack.text import escape
from bot.usecases.shared import Actor, Outcome

log = structlog.get_logger("incidentbot.slack")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def handle_command_button(
        ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        verb = BUTTON_VERBS[ActionId(action["action_id"])]
        number = int(action["value"])
        about_incident(context, number)
        # The trigger_id expires 3 s after the click: a slow database only costs the modal its title.
        reading = asyncio.ensure_future(deps.threads.read(deps.incidents.get, number))
        try:
            incident = await asyncio.wait_for(asyncio.shield(reading), TRIGGER_BUDGET)
            if not BUTTONS_BY_ACTION[ActionId(action["action_id"])].shown(incident.status):
                # A button of an older status message: say so now, not after the form is filled in.
                await _answer_clicker(deps, respond, body, stale_button(incident))
                return
            view = blocks.build_command_modal(verb, incident)
        except TimeoutError:
            reading.add_done_callback(_quietly)
            log.info("command_modal_opened_untitled", incident=number)
            view = blocks.build_command_modal_for_number(verb, number)
        if not await deps.web_api.open_view(str(body.get("trigger_id") or ""), view):
            log.info("command_modal_not_opened", incident=f"INC-{number}", verb=verb)
            await _answer_clicker(deps, respond, body, form_fallback(verb, number))

    async def handle_timeline_button(
        ack: AsyncAck, respond: AsyncRespond, action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        number = int(action["value"])
        about_incident(context, number)
        incident, entries, total = await deps.threads.read(deps.incidents.recent_timeline, number)
        await respond(
            text=f"{incident.incident_id} timeline",
            blocks=blocks.build_timeline_blocks(incident, entries, total),
            response_type="ephemeral",
            replace_original=False,
        )

    async def handle_declare_submission(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await _submit_declare(deps, ack, body, view, context)

    async def handle_command_submission(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await _submit_command(deps, ack, body, view, context, _typed_command)

    async def handle_update_submission(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await _submit_command(deps, ack, body, view, context, _update_command)

    for action_id in BUTTON_VERBS:
        app.action(action_id.value)(handle_command_button)
    app.action(ActionId.SHOW_TIMELINE.value)(handle_timeline_button)
    app.view(CallbackId.DECLARE.value)(handle_declare_submission)
    app.view(CallbackId.COMMAND.value)(handle_command_submission)
    app.view(CallbackId.UPDATE.value)(handle_update_submission)


TRIGGER_BUDGET = 1.5
"""Seconds a button waits for the incident before opening its modal without the title (trigger_id lasts 3 s)."""


def _quietly(task: asyncio.Future[Any]) -> None:
    """A read given up on may still fail (an unknown incident): the modal's submission will say so."""
    if not task.cancelled():
        task.exception()


BUTTONS_BY_ACTION = {button.action_id: button for button in BUTTONS}


def stale_button(incident: Incident) -> str:
    """What the clicker of a button the incident's status no longer offers is told."""
    return (
        f"That button is out of date: {incident.incident_id} is {incident.status.value} now. "
        "The pinned status message shows what can be done next."
    )


def form_fallback(verb: str, number: int) -> str:
    """What the clicker is told when Slack would not open a button's form: the command to type instead.

    ``note``, 1 -> "I could not open the note form; type `/incident INC-1 note <text>` instead.", in mrkdwn
    (``&lt;text&gt;``: Slack would read a bare ``<text>`` as a link).
    """
    usage = USAGE[verb].split(" | ")[0]  # hypothesis: the form takes the first form of the verb, its text
    return escape(f"I could not open the {verb} form; type `/incident INC-{number} {usage}` instead.")


async def _answer_clicker(deps: SlackDeps, respond: AsyncRespond, body: dict[str, Any], text: str) -> None:
    """An ephemeral answer to the person who clicked: through the click's response_url (a webhook, which
    may answer while the Web API does not), else as a chat.postEphemeral note in their channel."""
    if body.get("response_url"):
        try:
            response = await respond(text=text, response_type="ephemeral", replace_original=False)
            if response.status_code < 400:
                return
            log.info("response_url_failed", status=response.status_code)
        except Exception:  # an expired response_url, or Slack unreachable: try the Web API
            log.info("response_url_failed", exc_info=True)
    await tell(deps.web_api, body, text)


def _value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    element = view.get("state", {}).get("values", {}).get(block_id, {}).get(action_id, {})
    if element.get("type") == "static_select":
        return str((element.get("selected_option") or {}).get("value") or "")
    return str(element.get("value") or "")


def _checked(view: dict[str, Any], block_id: str, action_id: str) -> set[str]:
    """The values of the boxes ticked in a ``checkboxes`` element (none when absent)."""
    element = view.get("state", {}).get("values", {}).get(block_id, {}).get(action_id, {})
    return {str(o.get("value")) for o in element.get("selected_options") or () if isinstance(o, dict)}


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def submission_key(view: dict[str, Any]) -> str:
    """``view:<48 hex>``: the same for a form submitted again unchanged, different for any other.

    Hashes the view id (stable while the modal is open), its callback id, private metadata and
    submitted values; fits the 64 characters of a remembered event id.
    """
    submitted = {
        "id": view.get("id"),
        "callback_id": view.get("callback_id"),
        "metadata": view.get("private_metadata"),
        "values": view.get("state", {}).get("values", {}),
    }
    digest = hashlib.sha256(json.dumps(submitted, sort_keys=True, default=str).encode()).hexdigest()
    return f"view:{digest[:48]}"


def _actor(body: dict[str, Any]) -> Actor:
    user = body.get("user") or {}
    return Actor(str(user.get("id")), user.get("username") or user.get("name"))


async def _submit_declare(
    deps: SlackDeps, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    title = clean_text(_value(view, BlockId.TITLE, InputId.TITLE))
    if not title or len(title) > MAX_TITLE_LENGTH:
        await ack(
            response_action="errors",
            errors={BlockId.TITLE: f"A title of 1 to {MAX_TITLE_LENGTH} characters is needed."},
        )
        return
    try:
        title, typed_private = split_private(title)  # `--private` pasted into the title counts as the box
    except UsageError as exc:
        await ack(response_action="errors", errors={BlockId.TITLE: exc.user_message})
        return
    await ack()
    severity = Severity.parse(_value(view, BlockId.SEVERITY, InputId.SEVERITY)) or DEFAULT_SEVERITY
    description = clean_text(_value(view, BlockId.DESCRIPTION, InputId.DESCRIPTION))
    private = typed_private or "private" in _checked(view, BlockId.PRIVATE, InputId.PRIVATE)
    origin = _metadata(view).get("channel_id")
    context[REPLY_CHANNEL] = origin  # a failure is told where /incident was typed
    actor = _actor(body)
    notify = NotifyTarget(channel_id=origin, user_id=actor.user_id) if origin else None

    def plan(outcome: Outcome) -> list[Effect]:
        return plan_effects(outcome, actor, notify)

    key = submission_key(view)
    action = Declare(title, severity, description, private=private)
    await asyncio.to_thread(deps.incidents.declare_once, action, actor, key, plan)
    deps.wake_outbox()


def _typed_command(view: dict[str, Any], number: int, verb: str) -> ParsedCommand:
    """A one-field form: its text after ``/incident INC-n <verb>``."""
    return parse_command(f"INC-{number} {verb} {_value(view, BlockId.TEXT, InputId.TEXT)}")


def _update_command(view: dict[str, Any], number: int, verb: str) -> ParsedCommand:
    """The status update form (``blocks._update_modal``): its fields, and the next update chosen."""
    update = update_from_form(
        _value(view, BlockId.UPDATE_STATUS, InputId.UPDATE_STATUS),
        _value(view, BlockId.UPDATE_KNOWN, InputId.UPDATE_KNOWN),
        _value(view, BlockId.UPDATE_NEXT_STEPS, InputId.UPDATE_NEXT_STEPS),
        "" if (chosen := _value(view, BlockId.UPDATE_NEXT, InputId.UPDATE_NEXT)) == "none" else chosen,
    )
    return ParsedCommand(update, incident_number=number)


async def _submit_command(
    deps: SlackDeps,
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    read: Callable[[dict[str, Any], int, str], ParsedCommand],
) -> None:
    """``/incident INC-n <verb> ...`` from a modal (``read`` turns its fields into the command): field errors
    while the budget lasts, an ephemeral note after.

    Bad text or metadata that is not ours raises before the ack: the error router shows it on the form's field.
    """
    metadata = _metadata(view)
    actor = _actor(body)
    number = int(metadata["incident"])
    about_incident(context, number)
    command = read(view, number, str(metadata["verb"]))
    key = submission_key(view)

    def work() -> Outcome | None:
        channel = deps.incidents.get(number).channel_id
        context[REPLY_CHANNEL] = channel  # past the budget, a failure is told in the incident channel
        notify = NotifyTarget(channel_id=channel, user_id=actor.user_id)

        def plan(outcome: Outcome) -> list[Effect]:
            return plan_effects(outcome, actor, notify)

        return deps.incidents.run_once(command, actor, None, plan, event_id=key)

    outcome = await within_budget(lambda: asyncio.to_thread(work), ack)  # past the budget the modal closes
    if ack.response is None:
        await ack()
    if outcome is None:
        log.info("view_submission_repeat_ignored", view=view.get("id"), incident=number)
        return
    deps.wake_outbox()
