"""Block Kit builders: pure functions from domain data to Slack JSON, within Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.domain.alerts import AlertLine
from bot.domain.corrections import correction_note, timeline_view
from bot.domain.grammar import MAX_TITLE_LENGTH, UPDATE_NEXT_CHOICES
from bot.domain.model import Incident, Severity, TimelineEntry, format_incident_id
from bot.domain.privacy import PRIVATE_TITLE
from bot.domain.timeline import describe, format_percent
from bot.domain.timeparse import format_duration, format_utc
from bot.domain.updates import StatusUpdate
from bot.slack.ids import BUTTONS, FORMS, BlockId, CallbackId, InputId
from bot.slack.text import (
    HEADER_TEXT_LIMIT,
    MESSAGE_BLOCK_LIMIT,
    MODAL_TITLE_LIMIT,
    SECTION_TEXT_LIMIT,
    TOPIC_LIMIT,
    VIEW_BLOCK_LIMIT,
    escape,
    escape_keeping_mentions,
    plain,
    slack_mention,
    truncate,
)

Block = dict[str, Any]

_SEVERITY_EMOJI = {
    Severity.SEV1: ":red_circle:",
    Severity.SEV2: ":large_orange_circle:",
    Severity.SEV3: ":large_yellow_circle:",
    Severity.SEV4: ":white_circle:",
}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(text, HEADER_TEXT_LIMIT), "emoji": True}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": plain(text, 75)},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def cap_blocks(
    blocks: list[Block], limit: int = MESSAGE_BLOCK_LIMIT, where: str = "see `/incident timeline`"
) -> list[Block]:
    """At most ``limit`` blocks; the last one then says how many were left out and ``where`` to look."""
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 1]
    return [*kept, context(f"_{len(blocks) - len(kept)} more not shown; {where}._")]


def live_age(moment: datetime, now: datetime) -> str:
    """``3 minutes ago`` that Slack keeps current (date formatting), with a fallback fixed at ``now``."""
    return f"<!date^{int(moment.timestamp())}^{{ago}}|{format_duration(now - moment)} ago>"


def team_line(incident: Incident) -> str:
    if not incident.members:
        return "nobody yet: `/incident assemble @name:role`"
    return ", ".join(slack_mention(m.user_id) + (f" ({escape(m.role)})" if m.role else "") for m in incident.members)


def build_status_blocks(
    incident: Incident,
    now: datetime,
    budget: str | None = None,
    alerts: Sequence[AlertLine] = (),
    update: StatusUpdate | None = None,
) -> list[Block]:
    """The pinned status message of an incident channel, kept current after every transition.

    ``budget`` is the error budget sentence for the incident's service, when it has an SLO; ``alerts``
    the incident's alert episodes (``bot.domain.alerts.alert_list``), listed still-firing first;
    ``update`` the latest status update, shown with the next one due while the incident is open.
    """
    sev = incident.severity
    lead = slack_mention(incident.lead) if incident.lead else "none yet: `/incident lead @name`"
    fields = (
        f"*Severity:* {_SEVERITY_EMOJI[sev]} {sev.value}\n*Status:* {incident.status.value}\n*Lead:* {lead}\n"
        f"*Declared:* {format_utc(incident.declared_at)} ({live_age(incident.declared_at, now)})"
    )
    blocks = [
        header(f"{incident.incident_id} {incident.title}"),
        section(fields),
        section(f"*IRT:* {team_line(incident)}"),
    ]
    if incident.service or incident.impact_percent is not None:
        impact = (
            f"{format_percent(incident.impact_percent)} of requests failing"
            if incident.impact_percent is not None
            else "not stated: `/incident impact N%`"
        )
        service = escape(incident.service) if incident.service else "not named: `/incident service NAME`"
        budget_line = f"\n*Error budget:* {escape(budget)}" if budget else ""
        blocks.append(section(f"*Service:* {service} · *Impact:* {impact}{budget_line}"))
    if incident.hypotheses:
        lines = [f"#{h.number} {escape(h.text)} _({h.status.value})_" for h in incident.hypotheses]
        blocks.append(section("*Hypotheses*\n" + "\n".join(lines)))
    if alerts:
        blocks.append(section(alerts_text(alerts)))
    if update is not None:
        blocks.append(section(update_text(update, now, incident.status.is_open)))
    if incident.status.is_open:
        blocks.append(_action_buttons(incident))
    else:
        blocks.append(
            context(
                f"Resolved {format_utc(incident.resolved_at) if incident.resolved_at else ''}. "
                "`/incident postmortem` exports the draft again."
            )
        )
    return cap_blocks(blocks)


def update_text(update: StatusUpdate, now: datetime, open_incident: bool = True) -> str:
    """The status message's lines on the latest update: when and by whom, its text (cut to 1,500
    characters), and while the incident is open the next one due (or overdue) in UTC. No "in 12 min": the
    message stays pinned; the overdue nudge refreshes it when the time passes."""
    lines = [
        f"*Latest update* ({format_utc(update.posted_at)}, {slack_mention(update.posted_by)}): "
        f"{truncate(escape_keeping_mentions(update.text), 1500, '…')}"
    ]
    due = update.next_due_phrase(now, relative=False) if open_incident else None
    if due and update.overdue(now):
        lines.append(f":warning: *Next update* {due}: `/incident update &lt;text&gt; --next 30m`")
    elif due:
        lines.append(f"*Next update* {due}")
    return "\n".join(lines)


MAX_STATUS_ALERTS = 15
"""Alert lines in the status message; the rest are counted and left to the timeline."""


def alerts_text(alerts: Sequence[AlertLine]) -> str:
    """``*Alerts* (2 firing, 1 cleared)`` and one line per alert: name, labels that differ, fired/cleared (UTC)."""
    firing = [a for a in alerts if a.cleared_at is None]
    cleared = [a for a in alerts if a.cleared_at is not None]
    lines = [f"*Alerts* ({len(firing)} firing, {len(cleared)} cleared)"]
    for alert in (firing + cleared)[:MAX_STATUS_ALERTS]:
        labels = f" `{escape(alert.labels)}`" if alert.labels else ""
        until = f", cleared {format_utc(alert.cleared_at)}" if alert.cleared_at else ", firing"
        lines.append(f"• {escape(alert.name)}{labels}: fired {format_utc(alert.fired_at)}{until}")
    if len(alerts) > MAX_STATUS_ALERTS:
        lines.append(f"_{len(alerts) - MAX_STATUS_ALERTS} more: `/incident timeline`_")
    return "\n".join(lines)


def _action_buttons(incident: Incident) -> Block:
    value = str(incident.number)
    return {
        "type": "actions",
        "block_id": BlockId.ACTIONS,
        "elements": [button(b.text, b.action_id, value, b.style) for b in BUTTONS if b.shown(incident.status)],
    }


def build_status_text(incident: Incident) -> str:
    """Notification fallback text for the status message."""
    return truncate(
        f"{incident.incident_id} ({incident.severity.value}, {incident.status.value}): {escape(incident.title)}", 3000
    )


def build_topic(incident: Incident) -> str:
    """The channel topic: severity, status, lead, title, within Slack's 250 characters."""
    lead = f"Lead: {slack_mention(incident.lead)}" if incident.lead else "Lead: none"
    return truncate(
        f"{incident.severity.value} · {incident.status.value} · {lead} · {escape(incident.title)}", TOPIC_LIMIT, "…"
    )


def build_announcement(incident: Incident, channel_id: str | None, declared_by: str) -> list[Block]:
    """The message in the announce channel, as the incident stands now: severity, status, lead and title,
    who declared it when, how long it took once resolved; links the incident channel when it exists.
    The bot edits it in place on every change of those (``SlackWebApi.update_announcement``)."""
    sev = incident.severity
    lead = f"Lead: {slack_mention(incident.lead)}" if incident.lead else "Lead: none yet"
    if incident.status.is_open:
        where = (
            f"Join <#{channel_id}> to help." if channel_id else f"Use `/incident {incident.incident_id} ...` to help."
        )
        state = f"*{incident.status.value}*"
    else:
        where = f"Channel: <#{channel_id}>." if channel_id else ""
        took = (
            f" after {format_duration(incident.resolved_at - incident.declared_at)}"
            if incident.resolved_at is not None
            else ""
        )
        resolved_at = format_utc(incident.resolved_at) if incident.resolved_at is not None else ""
        state = f"*resolved* {resolved_at}{took}".rstrip()
    return [
        section(
            f"{_SEVERITY_EMOJI[sev]} *{incident.incident_id}* ({sev.value}) · {state} · {lead}\n"
            f"{escape(incident.title)}\n"
            f"Declared by {slack_mention(declared_by)} at {format_utc(incident.declared_at)}. {where}".rstrip()
        )
    ]


def build_announcement_text(incident: Incident) -> str:
    """The announcement's notification text (the fallback of its blocks)."""
    return truncate(
        f"{incident.incident_id} ({incident.severity.value}, {incident.status.value}): {escape(incident.title)}", 3000
    )


def build_private_notice(incident: Incident) -> tuple[str, list[Block]]:
    """The announcement of a private incident (``bot.domain.privacy``): its id and that it is private, and
    nothing that says what happened, who runs it or where (no title, service, severity, people nor channel).
    Returns the notification text and the blocks."""
    text = f"{incident.incident_id}: a {PRIVATE_TITLE} was declared."
    return text, [
        section(
            f":lock: *{incident.incident_id}*: a {PRIVATE_TITLE} was declared. "
            "Its details are for its responders; its lead will share what others need to know."
        )
    ]


def build_timeline_blocks(
    incident: Incident, entries: Sequence[TimelineEntry], total: int | None = None
) -> list[Block]:
    """The timeline as message blocks, several entries per section, newest last.

    ``total`` is the incident's whole entry count when ``entries`` are only its latest ones: the view
    then says how many it shows and where the whole timeline is.
    """
    lines = [_timeline_line(e) for e in timeline_view(entries)]
    blocks = [header(f"{incident.incident_id} timeline (UTC)")]
    if total is not None and total > len(entries):
        blocks.append(
            context(
                f"The latest {len(entries):,} of {total:,} entries. The whole timeline: "
                f"`incidentbot timeline {incident.incident_id}` or the postmortem draft (`/incident postmortem`)."
            )
        )
    chunk: list[str] = []
    for line in lines:
        line = truncate(line, 1000)
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_TEXT_LIMIT - 100:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return cap_blocks(blocks)


def _timeline_line(entry: TimelineEntry) -> str:
    """``#5 `13:50` IRT assembled: ... (@alice)``; corrected and struck entries marked (``bot.domain.corrections``)."""
    number = f"#{entry.number} " if entry.number is not None else ""
    text = describe(entry, slack_mention, escape_keeping_mentions)
    note = correction_note(entry)
    if "struck_by" in entry.data:
        text = f"~{text}~"
    marks = f" _[{escape(note)}]_" if note else ""
    return f"{number}`{entry.occurred_at:%H:%M}` {text} ({slack_mention(entry.actor)}){marks}"


HOME_MORE_HINT = "`/incident list` shows the newest 50"


def build_home_view(incidents: Sequence[Any], now: datetime, exhausted: Sequence[str] = ()) -> dict[str, Any]:
    """The App Home tab: exhausted error budgets first (they freeze releases), then open incidents."""
    blocks: list[Block] = []
    if exhausted:
        blocks.append(header("Error budgets exhausted"))
        blocks += [section(f":rotating_light: {escape(line)}") for line in exhausted]
    blocks.append(header("Open incidents"))
    if not incidents:
        blocks.append(section("No open incidents. Declare one with `/incident declare [sev1-4] <title>`."))
    for summary in incidents:
        channel = f" in <#{summary.channel_id}>" if summary.channel_id else ""
        lead = slack_mention(summary.lead) if summary.lead else "no lead"
        blocks.append(
            section(
                f"{_SEVERITY_EMOJI[summary.severity]} *INC-{summary.number}* {escape(summary.title)}{channel}\n"
                f"{summary.severity.value} · {summary.status.value} · {lead} · "
                f"open {format_duration(now - summary.declared_at)}"
                + (f"\n:warning: Channel: {escape(summary.channel_problem)}" if summary.channel_problem else "")
            )
        )
    return {"type": "home", "blocks": cap_blocks(blocks, VIEW_BLOCK_LIMIT, HOME_MORE_HINT)}


def build_declare_modal(
    severity: Severity | None = None, channel_id: str | None = None, private: bool = False
) -> dict[str, Any]:
    """The modal behind a bare ``/incident`` or ``/incident declare``; ``private`` (``declare --private``)
    ticks its private box."""
    options = [{"text": {"type": "plain_text", "text": s.value}, "value": s.value} for s in Severity]
    chosen = severity or Severity.SEV3
    return {
        "type": "modal",
        "callback_id": CallbackId.DECLARE,
        "private_metadata": json.dumps({"channel_id": channel_id}),
        "title": {"type": "plain_text", "text": plain("Declare an incident", MODAL_TITLE_LIMIT)},
        "submit": {"type": "plain_text", "text": "Declare"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": BlockId.TITLE,
                "label": {"type": "plain_text", "text": "Title"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": InputId.TITLE,
                    "max_length": MAX_TITLE_LENGTH,
                    "placeholder": {"type": "plain_text", "text": "CDN edge returning 502s"},
                },
            },
            {
                "type": "input",
                "block_id": BlockId.SEVERITY,
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": InputId.SEVERITY,
                    "options": options,
                    "initial_option": next(o for o in options if o["value"] == chosen.value),
                },
            },
            {
                "type": "input",
                "block_id": BlockId.DESCRIPTION,
                "optional": True,
                "label": {"type": "plain_text", "text": "What is happening?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": InputId.DESCRIPTION,
                    "multiline": True,
                    "max_length": 3000,
                },
            },
            {
                "type": "input",
                "block_id": BlockId.PRIVATE,
                "optional": True,
                "label": {"type": "plain_text", "text": "Visibility"},
                "element": {
                    "type": "checkboxes",
                    "action_id": InputId.PRIVATE,
                    "options": [_PRIVATE_OPTION],
                    **({"initial_options": [_PRIVATE_OPTION]} if private else {}),
                },
            },
        ],
    }


_PRIVATE_OPTION = {
    "text": {"type": "plain_text", "text": "Private incident"},
    "description": {
        "type": "plain_text",
        "text": "A private channel; only its declarer, lead and IRT see the title and details.",
    },
    "value": "private",
}
"""The declare modal's one checkbox (``declare --private``); its ``value`` is what a submission carries."""


def build_command_modal(verb: str, incident: Incident) -> dict[str, Any]:
    """A one-field modal whose text becomes ``/incident INC-n <verb> <text>``."""
    return _command_modal(verb, incident.number, f"*{incident.incident_id}* {escape(incident.title)}")


def build_command_modal_for_number(verb: str, number: int) -> dict[str, Any]:
    """The same modal when the incident could not be read in time (``trigger_id`` lasts 3 s): no title."""
    return _command_modal(verb, number, f"*{format_incident_id(number)}*")


def _text_input(block_id: str, action_id: str, label: str, *, optional: bool, multiline: bool) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": action_id, "multiline": multiline, "max_length": 3000},
    }


def _update_modal(number: int, heading: str) -> dict[str, Any]:
    """The status update form: status, what we know, next steps, and when the next update comes
    (``bot.domain.grammar.update_from_form`` reads it)."""
    choices = [{"text": {"type": "plain_text", "text": "No promise"}, "value": "none"}] + [
        {"text": {"type": "plain_text", "text": f"In {format_duration(timedelta(minutes=m))}"}, "value": str(m)}
        for m in UPDATE_NEXT_CHOICES
    ]
    return {
        "type": "modal",
        "callback_id": CallbackId.UPDATE,
        "private_metadata": json.dumps({"verb": "update", "incident": number}),
        "title": {"type": "plain_text", "text": plain(FORMS["update"].title, MODAL_TITLE_LIMIT)},
        "submit": {"type": "plain_text", "text": "Post"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            context(heading),
            _text_input(BlockId.UPDATE_STATUS, InputId.UPDATE_STATUS, "Status", optional=True, multiline=False),
            _text_input(BlockId.UPDATE_KNOWN, InputId.UPDATE_KNOWN, "What we know", optional=False, multiline=True),
            _text_input(
                BlockId.UPDATE_NEXT_STEPS, InputId.UPDATE_NEXT_STEPS, "Next steps", optional=True, multiline=True
            ),
            {
                "type": "input",
                "block_id": BlockId.UPDATE_NEXT,
                "label": {"type": "plain_text", "text": "Next update"},
                "element": {
                    "type": "static_select",
                    "action_id": InputId.UPDATE_NEXT,
                    "options": choices,
                    "initial_option": choices[2],
                },
            },
        ],
    }


def _command_modal(verb: str, number: int, heading: str) -> dict[str, Any]:
    if verb == "update":
        return _update_modal(number, heading)
    form = FORMS[verb]
    title, label, optional = form.title, form.label, form.optional
    return {
        "type": "modal",
        "callback_id": CallbackId.COMMAND,
        "private_metadata": json.dumps({"verb": verb, "incident": number}),
        "title": {"type": "plain_text", "text": plain(title, MODAL_TITLE_LIMIT)},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            context(heading),
            _text_input(BlockId.TEXT, InputId.TEXT, label, optional=optional, multiline=True),
        ],
    }
