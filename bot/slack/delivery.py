"""What Slack must be told after a committed transition (the plan), and telling it (the deliverer).

``plan_effects`` turns an outcome into outbox effects inside the transition's transaction; the
outbox worker hands each one to ``SlackDeliverer``. Every delivery reads the incident's current
state and is safe to repeat: the channel is created once (the binding is checked first), the
status message is edited in place, invitations tolerate ``already_in_channel``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.domain.alerts import ALERTMANAGER_ACTOR, DEFAULT_SEVERITY_MAP, severity_hint
from bot.domain.changes import describe_change
from bot.domain.commands import Assignee, GroupRef, PinMessage, UserRef
from bot.domain.effects import Effect, OutboxItem
from bot.domain.model import (
    EntryKind,
    Followup,
    FollowupListing,
    FollowupState,
    Incident,
    Severity,
    Status,
    TimelineEntry,
    format_incident_id,
    is_slack_user_id,
)
from bot.domain.paging import PageAction
from bot.domain.privacy import may_see, shown_title
from bot.domain.slo import format_budget_time
from bot.domain.statuspage import OPEN_NOT_CREATED
from bot.domain.timeline import PUBLICATION_TARGETS, plain_references
from bot.domain.timeparse import format_day, format_utc
from bot.domain.updates import status_update
from bot.errors import BotError
from bot.outbox.worker import Grouping, RetryLater, Undeliverable, delivery_now
from bot.slack.api_errors import ErrorClass, SlackFailure, failure_of
from bot.slack.archiving import (
    ARCHIVE_KIND,
    UNARCHIVE_KIND,
    ChannelArchiver,
    channel_note,
    tell_lead,
    unarchive_effects,
    unarchive_refused_note,
)
from bot.slack.errors import user_message
from bot.slack.pacing import TooSoon
from bot.slack.text import MESSAGE_TEXT_LIMIT, escape, escape_keeping_mentions, slack_mention, truncate, unescape
from bot.slack.web_api import ChannelNameExhausted, InviteStopped, SlackWebApi
from bot.usecases.alerts import AlertUseCases
from bot.usecases.budgets import BudgetUseCases
from bot.usecases.changes import ChangeUseCases
from bot.usecases.channels import ChannelUseCases
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.outbox import OutboxUseCases
from bot.usecases.shared import Actor, Outcome
from bot.views.invite import Invitee, build_review_invite, invite_filename
from bot.views.postmortem import PostmortemRenderer
from bot.views.replies import budget_status, confirmation

log = structlog.get_logger("incidentbot.slack")
_T = TypeVar("_T")


class SlackEffect(StrEnum):
    CREATE_CHANNEL = "slack.create_channel"
    INVITE = "slack.invite"
    REFRESH = "slack.refresh"
    ANNOUNCE = "slack.announce"
    ANNOUNCE_REFRESH = "slack.announce_refresh"
    ANNOUNCE_THREAD = "slack.announce_thread"
    POST_LINE = "slack.post_line"
    NOTIFY = "slack.notify"
    UPLOAD_POSTMORTEM = "slack.upload_postmortem"
    POST_RECENT_CHANGES = "slack.post_recent_changes"
    BUDGET_CHECK = "slack.budget_check"
    PIN_MESSAGE = "slack.pin_message"
    PIN_STATUS = "slack.pin_status"
    DIRECT_MESSAGE = "slack.direct_message"
    POST_TO_CHANNEL = "slack.post_to_channel"
    UPLOAD_REVIEW_INVITE = "slack.upload_review_invite"
    ARCHIVE_CHANNEL = ARCHIVE_KIND
    UNARCHIVE_CHANNEL = UNARCHIVE_KIND


CHANNEL_KINDS = frozenset(
    {
        SlackEffect.REFRESH,
        SlackEffect.POST_LINE,
        SlackEffect.INVITE,
        SlackEffect.PIN_STATUS,
        SlackEffect.POST_RECENT_CHANGES,
        SlackEffect.UPLOAD_POSTMORTEM,
        SlackEffect.UPLOAD_REVIEW_INVITE,
        SlackEffect.ARCHIVE_CHANNEL,
        SlackEffect.UNARCHIVE_CHANNEL,
    }
)
"""Effects whose Slack calls go to the incident's own channel: Slack's refusal of that channel (archived or
made private by hand, the bot removed) is noted on the incident (``bot.slack.archiving.channel_note``)."""
WORKS_AGAIN_KINDS = frozenset({SlackEffect.REFRESH, SlackEffect.POST_LINE})
"""Effects that always post to the incident's channel: their success shows it works (an archived channel
refuses posts), so its note and the bot's idea that the channel is archived are cleared
(``ChannelUseCases.record_unarchived(noticed=True)``); the other channel kinds' success clears the note only."""


SLACK_GROUPING = Grouping(
    coalesce=frozenset({SlackEffect.REFRESH, SlackEffect.ANNOUNCE_REFRESH}),
    batch=frozenset({SlackEffect.POST_LINE}),
    passable=frozenset({SlackEffect.REFRESH, SlackEffect.ANNOUNCE_REFRESH, SlackEffect.POST_LINE}),
)
"""What one Slack delivery carries (``bot.outbox.worker.Grouping``): a status message's or announcement's edit
shows the incident as it is when delivered, so it covers the same edits queued before it was claimed; lines
waiting for the incident's channel go out as one message (``SlackDeliverer.deliver_lines``). Lines and edits
may pass each other (an edit changes no line); nothing passes any other item (an unarchive, an invitation, a
channel's creation...), so what must come first still does."""


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
            *(
                [Effect(SlackEffect.INVITE, {"users": [actor.user_id], "notify": None}, number)]
                if is_slack_user_id(actor.user_id)
                else []
            ),
            Effect(SlackEffect.REFRESH, {}, number),
            Effect(SlackEffect.ANNOUNCE, {"declared_by": actor.user_id}, number),
            *notify_effect(notify, f"{incident.incident_id} has its channel: {{channel}}.", number),
            *_sre_effects(outcome),
        ]
    effects = [
        *unarchive_effects(outcome),  # a reopened incident's archived channel first: the rest goes there
        Effect(SlackEffect.REFRESH, {}, number, coalesce=True),
        Effect(
            SlackEffect.POST_LINE,
            {"text": f"{slack_mention(actor.user_id)}: {_confirmation(outcome)}"},
            number,
        ),
    ]
    if _changes_announcement(outcome):
        effects.append(Effect(SlackEffect.ANNOUNCE_REFRESH, {}, number, coalesce=True))
    effects += _update_thread_effects(outcome)
    invitees = _new_members(outcome)
    if invitees:
        effects.append(Effect(SlackEffect.INVITE, {"users": invitees, "notify": _target(notify)}, number))
    if any(entry.kind is EntryKind.RESOLVED for entry in outcome.entries):
        effects.append(Effect(SlackEffect.UPLOAD_POSTMORTEM, {"template": None, "notify": _target(notify)}, number))
        effects += _unowned_followups(incident)
    for entry in outcome.entries:
        if entry.kind is EntryKind.POSTMORTEM_REVIEW:
            payload = {"uid": entry.data["uid"], "sequence": entry.data["sequence"], "notify": _target(notify)}
            effects.append(Effect(SlackEffect.UPLOAD_REVIEW_INVITE, payload, number))
    return effects + _sre_effects(outcome)


def _changes_announcement(outcome: Outcome) -> bool:
    """The change alters what the announcement says: status, severity, lead, title, or the declaration's or
    the resolve's time (a correction)."""
    before, after = outcome.previous, outcome.incident
    if before is None:
        return False
    said = (before.status, before.severity, before.lead, before.title, before.declared_at, before.resolved_at)
    return said != (after.status, after.severity, after.lead, after.title, after.declared_at, after.resolved_at)


def _update_thread_effects(outcome: Outcome) -> list[Effect]:
    """Each status update, told in the thread under the incident's announcement (the people who follow
    the announce channel read it there); a private incident's updates stay in its channel."""
    incident = outcome.incident
    if incident.private:
        return []
    effects = []
    for entry in outcome.entries:
        if entry.kind is not EntryKind.UPDATE:
            continue
        update = status_update(entry)
        due = f"\nNext update by {format_utc(update.next_due)}." if update.next_due else ""
        text = (
            f":loudspeaker: *{incident.incident_id} status update* ({incident.severity.value}, "
            f"{incident.status.value}) from {slack_mention(entry.actor)}:\n{escape_keeping_mentions(entry.text)}{due}"
        )
        effects.append(Effect(SlackEffect.ANNOUNCE_THREAD, {"text": text}, incident.number))
    return effects


def _confirmation(outcome: Outcome) -> str:
    """The change's sentence as the channel reads it: people mentioned, typed text escaped."""
    return confirmation(outcome, slack_mention, escape_keeping_mentions)


def open_channel_effects(outcome: Outcome, actor: Actor) -> list[Effect]:
    """``plan_effects`` for an incident that has no channel and none on its way (it was declared where
    Slack was not configured): first the declaration's plan, so the incident reaches Slack (create
    the channel, invite its Slack users: declarer, lead, IRT and ``actor``; post and pin the status
    message; announce it), then the change's own line and uploads (its newcomers are in the team invited).
    """
    incident = outcome.incident
    number = incident.number
    people = [incident.declared_by, incident.lead, *(m.user_id for m in incident.members), actor.user_id]
    team = [user for user in dict.fromkeys(p for p in people if p) if is_slack_user_id(user)]
    opening = [
        Effect(SlackEffect.CREATE_CHANNEL, {}, number),
        *([Effect(SlackEffect.INVITE, {"users": team, "notify": None}, number)] if team else []),
        Effect(SlackEffect.REFRESH, {}, number),
        Effect(SlackEffect.ANNOUNCE, {"declared_by": incident.declared_by}, number),
    ]
    already = {SlackEffect.REFRESH, SlackEffect.INVITE}
    return opening + [e for e in plan_effects(outcome, actor) if e.kind not in already]


class ChangePlan:
    """The Slack updates owed by a change made outside Slack (``incidentbot run``): the plan the Slack
    command uses (status message, topic, a line in the channel, invitations...), except that an
    incident without a channel and none on its way (declared where Slack was not configured) first
    gets the one its declaration would have opened (``open_channel_effects``).

    After the use case ran: ``queued`` holds the effects queued (a retried transaction plans again: the
    last plan), ``opening`` says whether they open the incident's channel.
    """

    def __init__(self, outbox: OutboxUseCases, number: int | None, actor: Actor) -> None:
        self.actor = actor
        self.channel_coming = number is not None and outbox.is_pending(SlackEffect.CREATE_CHANNEL, number)
        self.queued: list[Effect] = []
        self.opening = False

    def __call__(self, outcome: Outcome) -> list[Effect]:
        self.opening = not outcome.declared and outcome.incident.channel_id is None and not self.channel_coming
        self.queued = open_channel_effects(outcome, self.actor) if self.opening else plan_effects(outcome, self.actor)
        return self.queued


_BUDGET_KINDS = frozenset({EntryKind.DECLARED, EntryKind.SERVICE, EntryKind.IMPACT})
"""Entries that can change what an incident costs its service's error budget, besides a move into a
status that ends the impact (``Status.is_mitigated``)."""


def _changes_budget(entry: TimelineEntry) -> bool:
    status = Status.of_entry(entry)
    return entry.kind in _BUDGET_KINDS or (status is not None and status.is_mitigated)


def _sre_effects(outcome: Outcome) -> list[Effect]:
    """Recent changes when the service becomes known; a budget check when the cost may have changed."""
    number = outcome.incident.number
    effects: list[Effect] = []
    if outcome.incident.service and any(
        e.kind is EntryKind.SERVICE or (e.kind is EntryKind.DECLARED and e.data.get("service")) for e in outcome.entries
    ):
        effects.append(Effect(SlackEffect.POST_RECENT_CHANGES, {}, number))
    if outcome.incident.service and any(_changes_budget(e) for e in outcome.entries):
        effects.append(Effect(SlackEffect.BUDGET_CHECK, {}, number, coalesce=True))
    return effects


def _unowned_followups(incident: Incident) -> list[Effect]:
    unowned = [f for f in incident.followups if not f.owner and f.state is FollowupState.OPEN]
    if not unowned:
        return []
    items = "; ".join(f"#{f.number} {escape_keeping_mentions(f.text)}" for f in unowned)
    text = (
        f":warning: {incident.incident_id} is resolved with {len(unowned)} follow-up(s) without an owner: "
        f"{items}. Give each one an owner: `/incident followup owner <n> @owner`."
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text}, incident.number)]


def nudge_effects(outcome: Outcome) -> list[Effect]:
    """The reminder a quiet incident's channel gets, or its lead when a promised status update is overdue
    (the nudge entry itself is on the timeline)."""
    incident = outcome.incident
    nudge = next((e for e in outcome.entries if e.kind is EntryKind.NUDGE), None)
    minutes = nudge.data.get("silent_minutes") if nudge is not None else None
    lead = f"{slack_mention(incident.lead)} " if incident.lead else ""
    if nudge is not None and nudge.data.get("update_due"):
        due = format_utc(datetime.fromisoformat(str(nudge.data["update_due"])))
        text = (
            f":alarm_clock: {lead}{incident.incident_id} ({incident.severity.value}) promised its next status update "
            f"for {due}, and none was posted. Please post one: "
            "`/incident update &lt;what we know, what we are doing&gt; --next 30m`."
        )
        # The pinned status message says "overdue" from now on: refreshed with the reminder.
        refresh = Effect(SlackEffect.REFRESH, {}, incident.number, coalesce=True)
        return [Effect(SlackEffect.POST_LINE, {"text": text}, incident.number), refresh]
    text = (
        f":alarm_clock: {lead}{incident.incident_id} ({incident.severity.value}) has had no timeline update "
        f"for {minutes} min. Please post a status update: `/incident update &lt;where things stand&gt; --next 30m`."
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text}, incident.number)]


def followup_reminder_effects(outcome: Outcome) -> list[Effect]:
    """What a follow-up reminder owes: one line in the incident's channel (unless the bot archived it) listing
    every overdue item, and
    a direct message to each owner who is a Slack user, listing theirs (the entry itself is on the timeline)."""
    incident = outcome.incident
    entry = next((e for e in outcome.entries if e.kind is EntryKind.FOLLOWUP_REMINDER), None)
    if entry is None:
        return []
    numbers = set(entry.data.get("numbers") or [])
    overdue = [f for f in incident.followups if f.number in numbers]

    def item(f: Followup, with_owner: bool = True, visible: bool = True) -> str:
        details = [slack_mention(f.owner) if f.owner else "unassigned"] if with_owner else []
        details += [f"due {format_day(f.due)}"] if f.due else []
        text = escape_keeping_mentions(f.text) if visible else "(a follow-up of a private incident)"
        return f"#{f.number} {text} ({', '.join(details)})"

    ident = incident.incident_id
    hint = (
        f"Mark one done with `/incident {ident} followup done &lt;n&gt;`, give it a new date with "
        f"`/incident {ident} followup due &lt;n&gt; DATE`, or drop it with a reason."
    )
    line = f":hourglass: {ident} has overdue follow-ups: " + "; ".join(item(f) for f in overdue) + f". {hint}"
    effects = _channel_line(incident, line)
    owners = dict.fromkeys(f.owner for f in overdue if f.owner and is_slack_user_id(f.owner))
    for owner in owners:
        visible = may_see(incident, owner)  # an owner outside a private incident reads neither title nor text
        mine = "; ".join(item(f, with_owner=False, visible=visible) for f in overdue if f.owner == owner)
        title = escape_keeping_mentions(shown_title(incident, visible))
        text = f":hourglass: Your follow-ups on {ident} ({title}) are overdue: {mine}. {hint}"
        effects.append(Effect(SlackEffect.DIRECT_MESSAGE, {"user": owner, "text": text}, incident.number))
    return effects


def _channel_line(incident: Incident, text: str) -> list[Effect]:
    """A reminder's line in the incident's channel; none in a channel the bot archived (it refuses posts: the
    direct messages still go)."""
    if incident.channel_archived_at is not None:
        return []
    return [Effect(SlackEffect.POST_LINE, {"text": text}, incident.number)]


def postmortem_reminder_effects(outcome: Outcome) -> list[Effect]:
    """What a draft postmortem's reminder owes (``bot.jobs.reminders.PostmortemReminder``): a line in the incident's
    channel (unless the bot archived it), and a direct message to the person reminded (the postmortem owner, else
    the lead) when a Slack user."""
    incident = outcome.incident
    entry = next((e for e in outcome.entries if e.kind is EntryKind.POSTMORTEM_REMINDER), None)
    if entry is None:
        return []
    ident, reminded = incident.incident_id, entry.data.get("reminded")
    resolved = f" since {format_day(incident.resolved_at.date())}" if incident.resolved_at else ""
    hint = (
        f"Schedule its review with `/incident {ident} postmortem review &lt;when&gt; @attendees`, then "
        f"`/incident {ident} postmortem status in-review`."
    )
    who = f"{slack_mention(str(reminded))}: " if reminded else ""
    line = f":memo: {who}the postmortem of {ident} ({incident.severity.value}) is still a draft{resolved}. {hint}"
    effects = _channel_line(incident, line)
    if reminded and is_slack_user_id(str(reminded)):
        title = escape_keeping_mentions(shown_title(incident, may_see(incident, str(reminded))))
        text = f":memo: The postmortem of {ident} ({title}) is still a draft{resolved}. {hint}"
        effects.append(Effect(SlackEffect.DIRECT_MESSAGE, {"user": str(reminded), "text": text}, incident.number))
    return effects


MAX_SUMMARY_NAMES = 10
"""Alert names listed per state in a channel line about an alert notification, then how many more."""


def alert_plan(outcome: Outcome, severity_map: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP) -> list[Effect]:
    """Slack effects of an alert notification: a declaration's usual ones, else a status refresh and one
    line, plus a severity hint (``bot.domain.alerts.severity_hint``) when a joining alert is more severe
    than the open incident. A declaration also posts the sender's notes (alerts left out of an oversized
    notification, a service label that looks misspelt) once its channel exists."""
    if outcome.declared:
        notes = [
            Effect(SlackEffect.POST_LINE, {"text": escape(e.text)}, outcome.incident.number)
            for e in outcome.entries
            if e.kind is EntryKind.NOTE
        ]
        return plan_effects(outcome, Actor(ALERTMANAGER_ACTOR)) + notes
    number = outcome.incident.number
    effects = [
        Effect(SlackEffect.REFRESH, {}, number, coalesce=True),
        Effect(SlackEffect.POST_LINE, {"text": alert_update_text(outcome)}, number),
    ]
    hint = severity_hint(outcome.incident, outcome.entries, severity_map) if outcome.incident.status.is_open else None
    if hint:
        effects.append(Effect(SlackEffect.POST_LINE, {"text": escape(hint)}, number))
    return effects


def alert_update_text(outcome: Outcome) -> str:
    """``INC-3 · alerts 2 fired: A, B · 1 cleared: C`` (at most 10 names per state, then how many more),
    followed by the sender's notes (``· 57 more alerts of this group were not sent (...)``)."""
    parts: list[str] = []
    for kind, label in ((EntryKind.ALERT_FIRED, "fired"), (EntryKind.ALERT_CLEARED, "cleared")):
        names = [escape(e.text) for e in outcome.entries if e.kind is kind]
        if names:
            more = f" and {len(names) - MAX_SUMMARY_NAMES} more" if len(names) > MAX_SUMMARY_NAMES else ""
            parts.append(f"{len(names)} {label}: " + ", ".join(names[:MAX_SUMMARY_NAMES]) + more)
    notes = [escape(e.text) for e in outcome.entries if e.kind is EntryKind.NOTE]
    head = f"{outcome.incident.incident_id} · alerts " + " · ".join(parts) if parts else outcome.incident.incident_id
    return " · ".join([head, *notes])


MAX_REASON_SHOWN = 300
"""Characters of a refusal's reason quoted in the channel (the whole reason is in ``incidentbot outbox``)."""


def dead_page_notice(item: OutboxItem, reason: str, action: PageAction | None) -> list[Effect]:
    """The line an incident's channel gets when its PagerDuty event is buried (refused, or failing for ever).

    ``action``: what the buried item was to do in PagerDuty (``bot.integrations.pagerduty.page_action_of``
    tells it from the item's kind, joined here by ``bot.app``); None for an item that is no page.

    ``:warning: The PagerDuty page for INC-3 could not be sent (trigger): <reason>. Nobody was paged
    by incidentbot: page by hand if needed. `incidentbot outbox --status dead` lists it (item 12);
    `incidentbot outbox --retry 12` sends it once the cause is fixed.`` For a ``resolve``: "could not
    be resolved". Other kinds, and items of no incident, owe nothing.
    """
    if item.incident_number is None or action is None:
        return []
    incident_id = format_incident_id(item.incident_number)
    shown = truncate(escape(reason.strip()), MAX_REASON_SHOWN, "…")
    if action is PageAction.TRIGGER:
        what = f"The PagerDuty page for {incident_id} could not be sent"
        consequence = "Nobody was paged by incidentbot: page by hand if needed."
    else:
        what = f"The PagerDuty page for {incident_id} could not be resolved"
        consequence = "It may still be open in PagerDuty: resolve it there."
    text = (
        f":warning: {what}: {shown}. {consequence} `incidentbot outbox --status dead` lists it "
        f"(item {item.id}); `incidentbot outbox --retry {item.id}` sends it again once the cause is fixed."
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text}, item.incident_number)]


def dead_publication_notice(item: OutboxItem, reason: str) -> list[Effect]:
    """The line an incident's channel gets when a publication of its postmortem is buried (refused by the
    target, a git error, a template that fails): ``:warning: INC-3's postmortem could not be published to
    Confluence: <reason>. `incidentbot outbox --retry 12` publishes it once the cause is fixed.`` Nothing for
    other kinds or items of no incident."""
    said = _publication_failure(item, reason)
    if said is None:
        return []
    text = (
        f":warning: {said[0]}'s postmortem could not be published to {said[1]}: {said[2]}. `incidentbot outbox "
        f"--status dead` lists it (item {item.id}); `incidentbot outbox --retry {item.id}` publishes it once the "
        "cause is fixed."
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text}, item.incident_number)]


def dead_statuspage_notice(item: OutboxItem, reason: str) -> list[Effect]:
    """The line an incident's channel gets when a ``statuspage.*`` item is buried (Statuspage refused it: 401,
    403, 404, 422), mentioning the incident's lead as it is posted: ``<@U0BOB> :warning: INC-3's public status
    page could not be updated (open): <reason>. ...``. Nothing for other kinds, items of no incident, nor an
    update buried because its open never reached Statuspage (``OPEN_NOT_CREATED`` in its reason: the open's
    own line told the channel once, and says its updates wait for it)."""
    failure = _statuspage_failure(item, reason)
    if failure is None or OPEN_NOT_CREATED in reason:
        return []
    ident, action, shown = failure
    text = (
        f":warning: {ident}'s public status page could not be updated ({action}): {shown}. "
        "Customers do not see this change: fix the cause, then `incidentbot outbox "
        f"--retry {item.id}` sends it again (`incidentbot outbox --status dead` lists it)."
        + (
            " Its later `statuspage update`s are not published before it: retry them after it. Or "
            "`/incident statuspage resolve` to give it up, then `statuspage open` again (e.g. with other components)."
            if action == "open"
            else ""
        )
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text, "mention_lead": True}, item.incident_number)]


def stalled_statuspage_notice(item: OutboxItem, reason: str) -> list[Effect]:
    """The line an incident's channel gets, once, when a ``statuspage.*`` item has been failing for an hour
    (a Statuspage outage or rate limit; the outbox keeps retrying), mentioning the incident's lead as it is
    posted. Nothing for other kinds."""
    failure = _statuspage_failure(item, reason)
    if failure is None:
        return []
    ident, action, shown = failure
    text = (
        f":warning: {ident}'s public status page is still not updated ({action}) after an hour: {shown}. "
        "incidentbot keeps retrying; `incidentbot outbox` shows item "
        f"{item.id}."
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text, "mention_lead": True}, item.incident_number)]


def _statuspage_failure(item: OutboxItem, reason: str) -> tuple[str, str, str] | None:
    """(``INC-3``, the ``statuspage.*`` item's action escaped, the reason escaped and cut, without its final full
    stop); None for another kind or an item of no incident."""
    prefix, _, action = item.kind.partition(".")
    if prefix != "statuspage" or item.incident_number is None:
        return None
    shown = truncate(escape(reason.strip()), MAX_REASON_SHOWN, "…").removesuffix(".")
    return format_incident_id(item.incident_number), escape(action), shown


def _publication_failure(item: OutboxItem, reason: str) -> tuple[str, str, str] | None:
    """(``INC-3``, the target as people name it, the reason escaped and cut, without its final full stop: the
    line adds its own) for a ``publish.*`` item of an incident; None for any other."""
    prefix, _, target = item.kind.partition(".")
    if prefix != "publish" or item.incident_number is None:
        return None
    shown = truncate(escape(reason.strip()), MAX_REASON_SHOWN, "…").removesuffix(".")
    return format_incident_id(item.incident_number), PUBLICATION_TARGETS.get(target, escape(target)), shown


def followup_tracker_effects(outcome: Outcome) -> list[Effect]:
    """The channel line a follow-up's tracker news owes: ``INC-1 follow-up #2 filed as <url>`` when it was
    filed, ``INC-1 follow-up #2 is done: closed in acme/web#7`` / ``... is dropped: closed as not planned in
    GitHub (acme/web#7)`` / ``... is open again: reopened in ...`` when sync-back recorded a change made in
    the tracker; ``INC-1 follow-up #2: its tracker issue acme/web#7 is gone ...`` when it was deleted there."""
    incident = outcome.incident
    lines: list[str] = []
    for entry in outcome.entries:
        item = f"{incident.incident_id} follow-up #{entry.data.get('number')}"
        if entry.kind is EntryKind.FOLLOWUP_EXPORTED:
            where = str(entry.data.get("url") or entry.data.get("key") or "")
            lines.append(f":ticket: {item} filed as {escape(where)}")
        elif entry.kind is EntryKind.FOLLOWUP_DONE:
            lines.append(f":white_check_mark: {item} is done: {escape(entry.text)}")
        elif entry.kind is EntryKind.FOLLOWUP_DROPPED:
            lines.append(f":no_entry_sign: {item} is dropped: {escape(entry.text)}")
        elif entry.kind is EntryKind.FOLLOWUP_REOPENED:
            lines.append(f":arrows_counterclockwise: {item} is open again: {escape(entry.text)}")
        elif entry.kind is EntryKind.FOLLOWUP_TRACKER_GONE:
            key, number = escape(str(entry.data.get("key"))), entry.data.get("number")
            lines.append(
                f":warning: {item}: its tracker issue {key} is gone (deleted in the tracker?); sync-back stops "
                f"reading it. `followup export {number}` files it again."
            )
    return [Effect(SlackEffect.POST_LINE, {"text": line}, incident.number) for line in lines]


def publication_effects(outcome: Outcome) -> list[Effect]:
    """The channel line a recorded publication owes: ``:page_facing_up: INC-1's postmortem is published to
    Confluence (version 2): <url>`` (Git: the commit's hash as version)."""
    incident = outcome.incident
    lines = [
        f":page_facing_up: {incident.incident_id}'s postmortem is published to "
        f"{PUBLICATION_TARGETS.get(str(e.data.get('target')), escape(str(e.data.get('target'))))} "
        f"(version {escape(str(e.data.get('version')))}): {escape(str(e.data.get('url')))}"
        for e in outcome.entries
        if e.kind is EntryKind.POSTMORTEM_PUBLISHED
    ]
    return [Effect(SlackEffect.POST_LINE, {"text": line}, incident.number) for line in lines]


DIGEST_TEXT_CHARS = 200
"""A follow-up's text in the weekly digest is shown up to this many characters (then ``…``)."""


def followup_digest_effects(
    channel: str, week: str, items: Sequence[FollowupListing], names: Mapping[str, str], today: date
) -> list[Effect]:
    """The weekly digest posted to ``channel``: open follow-ups by owner, owners with overdue ones first,
    each owner's overdue ones first, then by due day (undated last); unassigned ones last. Nothing when
    no follow-up is open. ``week``: ``2026-W48``; ``names``: owners' display names (id -> name);
    ``today``: the UTC day that decides what is overdue.

    ``:clipboard: Open follow-ups, week 2026-W48: 3 open, 1 overdue.`` then one line per owner:
    ``<@U0CAROL>: INC-1 #1 canary deployment for firewall changes (overdue, due 2026-11-20); ...``.
    """
    if not items:
        return []

    plain = plain_references(dict(names))

    def who(owner: str | None) -> str:
        return (names.get(owner) or owner) if owner else ""

    def order(item: FollowupListing) -> tuple[bool, date, int, int]:
        f = item.followup
        return (not f.is_overdue(today), f.due or date.max, item.incident_number, f.number)

    def describe(item: FollowupListing) -> str:
        f = item.followup
        due = f"due {format_day(f.due)}" if f.due else "no due date"
        state = f"overdue, {due}" if f.is_overdue(today) else due
        # People named in the text read as names (@bob), not mentions: the digest must not ping them weekly.
        text = " ".join(plain(f.text).split())
        shown = text if len(text) <= DIGEST_TEXT_CHARS else text[: DIGEST_TEXT_CHARS - 1].rstrip() + "…"
        return f"{item.incident_id} #{f.number} {escape(shown)} ({state})"

    by_owner: dict[str | None, list[FollowupListing]] = {}
    for item in items:
        by_owner.setdefault(item.followup.owner, []).append(item)
    owners = sorted(
        by_owner,
        key=lambda o: (o is None, not any(i.followup.is_overdue(today) for i in by_owner[o]), who(o).lower(), o or ""),
    )
    overdue = sum(1 for item in items if item.followup.is_overdue(today))
    lines = [f":clipboard: Open follow-ups, week {week}: {len(items)} open, {overdue} overdue."]
    for owner in owners:
        label = slack_mention(owner) if owner else "Unassigned"
        lines.append(f"{label}: " + "; ".join(describe(i) for i in sorted(by_owner[owner], key=order)))
    # Every open follow-up is listed: as many posts as Slack's text limit needs, never a line cut off.
    posts: list[list[str]] = [[]]
    for line in lines:
        line = truncate(line, MESSAGE_TEXT_LIMIT, "…")  # one owner's line alone beyond 40,000 characters
        if posts[-1] and len("\n".join([*posts[-1], line])) > MESSAGE_TEXT_LIMIT:
            posts.append([])
        posts[-1].append(line)
    return [Effect(SlackEffect.POST_TO_CHANNEL, {"channel": channel, "text": "\n".join(post)}) for post in posts]


def stalled_filing_notice(item: OutboxItem, reason: str, tracker: str) -> list[Effect]:
    """The line an incident's channel gets, once, when filing one of its follow-ups in ``tracker`` has been
    failing for an hour (the outbox keeps retrying):

    ``:warning: INC-3 follow-up #2 is still not filed in github after an hour: <reason>. incidentbot keeps
    retrying; `incidentbot outbox` shows item 12.`` Items of no incident owe nothing."""
    if item.incident_number is None:
        return []
    number = item.payload.get("followup")
    what = f"{format_incident_id(item.incident_number)} follow-up" + (f" #{number}" if number is not None else "")
    shown = truncate(escape(reason.strip()), MAX_REASON_SHOWN, "…")
    text = (
        f":warning: {what} is still not filed in {escape(tracker)} after an hour: {shown}. incidentbot keeps "
        f"retrying; `incidentbot outbox` shows item {item.id}."
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text}, item.incident_number)]


def stalled_publication_notice(item: OutboxItem, reason: str) -> list[Effect]:
    """The line an incident's channel gets, once, when publishing its postmortem has been failing for an hour
    (a Confluence outage, a git lock left by a crash; the outbox keeps retrying):

    ``:warning: INC-3's postmortem is still not published to Git after an hour: <reason>. incidentbot keeps
    retrying; `incidentbot outbox` shows item 12.`` Nothing for other kinds or items of no incident."""
    said = _publication_failure(item, reason)
    if said is None:
        return []
    text = (
        f":warning: {said[0]}'s postmortem is still not published to {said[1]} after an hour: {said[2]}. "
        f"incidentbot keeps retrying; `incidentbot outbox` shows item {item.id}."
    )
    return [Effect(SlackEffect.POST_LINE, {"text": text}, item.incident_number)]


def export_effects(incident: Incident, template: str | None, notify: NotifyTarget | None) -> list[Effect]:
    """``/incident postmortem``: upload the draft again."""
    return [Effect(SlackEffect.UPLOAD_POSTMORTEM, {"template": template, "notify": _target(notify)}, incident.number)]


def _target(notify: NotifyTarget | None) -> dict[str, Any] | None:
    return notify.payload("") if notify else None


def _new_members(outcome: Outcome) -> list[str]:
    users: list[str] = []
    for entry in outcome.entries:
        users += [str(m["user"]) for m in entry.data.get("members", [])]
        if entry.kind is EntryKind.LEAD:
            users.append(str(entry.data["user"]))
    # Names given in the CLI (``lead @alice`` records ``alice``) are not Slack users: nobody to invite.
    return [user for user in users if is_slack_user_id(user)]


class SlackDeliverer:
    """Performs one outbox item; Slack's answers become RetryLater or Undeliverable."""

    def __init__(
        self,
        incidents: IncidentUseCases,
        alerts: AlertUseCases,
        changes: ChangeUseCases,
        budgets: BudgetUseCases,
        outbox: OutboxUseCases,
        web_api: SlackWebApi,
        renderer: PostmortemRenderer,
        postmortem_plan: Callable[[Incident, str], Sequence[Effect]] | None = None,
        channel_plan: Callable[[Incident], Sequence[Effect]] | None = None,
        channels: ChannelUseCases | None = None,
        archive_after: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``postmortem_plan``: the effects owed when a postmortem is published at a new URL (the
        tracker comments linking it), queued with the URL's record; ``channel_plan``: those owed when
        the incident's channel is created (the comments linking it), queued with the binding;
        ``channels``: where Slack's refusals of an incident's channel are noted, and the channel's
        archive and unarchive recorded (None: neither is); ``archive_after``: the current INCIDENT_ARCHIVE_AFTER
        (None: off), honoured by an archive when it comes due; ``clock``: now (UTC) for the archive (default:
        ``delivery_now``, the clock of the outbox worker delivering the item)."""
        self.channels = channels
        now = clock if clock is not None else delivery_now
        self.archiver = (
            ChannelArchiver(incidents, channels, web_api, archive_after, now) if channels is not None else None
        )
        self._troubled: set[int] = set()
        """Incidents read here with a channel note: a delivery to their channel that succeeds clears it."""
        self.incidents = incidents
        self.postmortem_plan = postmortem_plan
        self.channel_plan = channel_plan
        self.alerts = alerts
        self.changes = changes
        self.budgets = budgets
        self.outbox = outbox
        self.web_api = web_api
        self.renderer = renderer
        self._setup_faults_seen: set[tuple[str, str | None]] = set()
        self._unbound_channels: dict[int, str] = {}
        """Channels this process created whose binding to their incident failed (the database was away), by
        incident number: the retry binds the same channel instead of creating a second one."""

    async def __call__(self, item: OutboxItem) -> None:
        handler = (
            {
                SlackEffect.CREATE_CHANNEL: self._create_channel,
                SlackEffect.INVITE: self._invite,
                SlackEffect.REFRESH: self._refresh,
                SlackEffect.ANNOUNCE: self._announce,
                SlackEffect.ANNOUNCE_REFRESH: self._announce_refresh,
                SlackEffect.ANNOUNCE_THREAD: self._announce_thread,
                SlackEffect.POST_LINE: self._post_line,
                SlackEffect.NOTIFY: self._notify,
                SlackEffect.UPLOAD_POSTMORTEM: self._upload,
                SlackEffect.POST_RECENT_CHANGES: self._post_recent_changes,
                SlackEffect.BUDGET_CHECK: self._budget_check,
                SlackEffect.PIN_MESSAGE: self._pin_message,
                SlackEffect.PIN_STATUS: self._pin_status,
                SlackEffect.DIRECT_MESSAGE: self._direct_message,
                SlackEffect.POST_TO_CHANNEL: self._post_to_channel,
                SlackEffect.UPLOAD_REVIEW_INVITE: self._upload_review_invite,
                SlackEffect.ARCHIVE_CHANNEL: self._archive_channel,
                SlackEffect.UNARCHIVE_CHANNEL: self._unarchive_channel,
            }.get(SlackEffect(item.kind))
            if item.kind in SlackEffect._value2member_map_
            else None
        )
        if handler is None:
            raise Undeliverable(f"unknown outbox kind {item.kind!r}")
        await self._guarded(item, lambda: handler(item))

    async def deliver_lines(self, items: Sequence[OutboxItem]) -> int:
        """Post waiting ``slack.post_line`` items of one incident (oldest first) as ONE message, in order, one
        line each: as many as fit in ``LINES_PER_MESSAGE_CHARS`` (at least the first); returns how many it
        carried. Raises RetryLater / Undeliverable like ``__call__`` (nothing carried then)."""
        if not items:
            return 0
        carried = await self._guarded(items[0], lambda: self._post_lines(items))
        return carried if carried is not None else 1

    async def _guarded(self, item: OutboxItem, action: Callable[[], Awaitable[_T]]) -> _T | None:
        """Run ``action`` for ``item``; Slack's answers become RetryLater or Undeliverable (None: the item was
        queued again behind its channel's unarchive)."""
        try:
            result = await action()
        except SlackApiError as exc:
            failure = replace(failure_of(exc), item=item.id)
            if await self._after_unarchive(failure, item):
                return None
            self._report_setup_fault(failure, item)
            await self._note_channel_refusal(failure, item)
            raise classify_failure(failure) from exc
        except SlackRequestError as exc:
            # Raised by slack_sdk itself, not by the Web API: the raw upload of a file's bytes answered
            # non-200 (retried: the upload starts again with a fresh URL), or a call it refused to send.
            reason = str(exc).splitlines()[0][:300]
            if reason.startswith("Failed to upload"):
                raise RetryLater(f"upload: {reason}") from exc
            raise Undeliverable(f"slack_sdk refused the call (a bug in incidentbot): {reason}") from exc
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            raise RetryLater(f"network: {type(exc).__name__}: {str(exc)[:200]}") from exc
        except TooSoon as exc:  # the pacer's turn is further than a delivery waits: retried at it
            raise RetryLater(str(exc), after=exc.after) from exc
        except ChannelNameExhausted as exc:
            raise Undeliverable(str(exc)) from exc
        channels, number = self.channels, item.incident_number
        if number in self._troubled and item.kind in CHANNEL_KINDS and channels is not None and number is not None:
            self._troubled.discard(number)
            if item.kind in WORKS_AGAIN_KINDS:
                # A post to the channel succeeded: whatever the bot thought (a note, or the channel archived,
                # by itself or still after a refused unarchive), the channel works: a person fixed it by hand.
                await asyncio.to_thread(channels.record_unarchived, number, noticed=True)
            else:
                await asyncio.to_thread(channels.clear_problem, number)
        return result

    async def _after_unarchive(self, failure: SlackFailure, item: OutboxItem) -> bool:
        """A reopen raced the archive: its items reached the channel just archived. Refused as archived while
        the unarchive is owed, the item is queued again behind it (True: this one is done)."""
        channels, number = self.channels, item.incident_number
        if failure.code not in ("is_archived", "is_inactive") or item.kind not in WORKS_AGAIN_KINDS:
            return False
        if channels is None or number is None:
            return False
        again = [Effect(item.kind, item.payload, number)]
        if not await asyncio.to_thread(channels.queue_after_unarchive, number, SlackEffect.UNARCHIVE_CHANNEL, again):
            return False
        log.info("outbox_item_queued_after_unarchive", item=item.id, kind=item.kind, incident=f"INC-{number}")
        return True

    async def _note_channel_refusal(self, failure: SlackFailure, item: OutboxItem) -> None:
        """Slack refused the incident's own channel (archived or made private by hand, the bot removed):
        the note is kept on the incident and its lead told once; the item itself goes dead as before."""
        note = channel_note(failure.method, failure.code)
        unarchive = item.kind == SlackEffect.UNARCHIVE_CHANNEL
        if unarchive and failure.error_class is not ErrorClass.TEMPORARY:
            note = unarchive_refused_note(failure.code, failure.meaning[1])
        channels, number = self.channels, item.incident_number
        if note is None or item.kind not in CHANNEL_KINDS or number is None or channels is None:
            return
        await asyncio.to_thread(lambda: channels.note_problem(number, note, tell_lead, archived_too=unarchive))
        self._troubled.discard(item.incident_number)

    async def _archive_channel(self, item: OutboxItem) -> None:
        if self.archiver is not None:
            await self.archiver.archive(item)

    async def _unarchive_channel(self, item: OutboxItem) -> None:
        if self.archiver is not None:
            await self.archiver.unarchive(item)

    def _report_setup_fault(self, failure: SlackFailure, item: OutboxItem) -> None:
        """A setup fault is logged once per method and code with its fix, however many items it kills."""
        if failure.error_class is not ErrorClass.SETUP or (failure.method, failure.code) in self._setup_faults_seen:
            return
        self._setup_faults_seen.add((failure.method, failure.code))
        log.error(
            "slack_setup_fault",
            method=failure.method,
            error=failure.code,
            fix=failure.meaning[1],
            needed_scope=failure.body.get("needed"),
            item=item.id,
            incident=f"INC-{item.incident_number}" if item.incident_number is not None else None,
        )

    async def _incident(self, item: OutboxItem) -> Incident:
        assert item.incident_number is not None
        incident = await asyncio.to_thread(self.incidents.get, item.incident_number)
        if incident.channel_problem is not None or incident.channel_archived_at is not None:
            self._troubled.add(incident.number)
        return incident

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
        channel_id = self._unbound_channels.get(incident.number) or await self.web_api.create_channel(incident)
        self._unbound_channels[incident.number] = channel_id
        await asyncio.to_thread(self.incidents.bind_channel, incident.number, channel_id, self.channel_plan)
        del self._unbound_channels[incident.number]

    async def _invite(self, item: OutboxItem) -> None:
        """Invite the people of the item; the caller is told once who was added, who was refused and why,
        and what stopped the rest (a temporary stop is retried in silence)."""
        incident = await self._channel_incident(item)
        if incident is None or incident.channel_id is None:
            return
        notify = item.payload.get("notify")
        try:
            report = await self.web_api.invite(incident.channel_id, [str(u) for u in item.payload.get("users", [])])
        except InviteStopped as exc:
            failure = replace(exc.failure, item=item.id)
            self._report_setup_fault(failure, item)
            await self._note_channel_refusal(failure, item)
            if failure.error_class is not ErrorClass.TEMPORARY and notify:
                text = exc.report.stopped(incident.channel_id, failure.meaning[1])
                await self._send_notification({**notify, "text": text})
            raise classify_failure(failure) from exc
        if report.failed and notify:
            await self._send_notification({**notify, "text": report.problems()})

    async def _refresh(self, item: OutboxItem) -> None:
        incident = await self._channel_incident(item)
        if incident is None:
            return
        await self.refresh_channel(incident)

    async def refresh_channel(self, incident: Incident) -> None:
        """Bring the pinned status message and the topic up to date (re-post it if it is gone)."""
        assert incident.channel_id
        ts = await asyncio.to_thread(self.incidents.status_message, incident.number)
        now = self.incidents.clock()
        budget = await asyncio.to_thread(budget_status, self.budgets, incident)
        alerts = await asyncio.to_thread(self.alerts.lines, incident.number)
        update = await asyncio.to_thread(self.incidents.latest_update, incident.number)
        if ts is None or not await self.web_api.update_status_message(incident, ts, now, budget, alerts, update):
            ts = await self.web_api.post_status_message(incident, now, budget, alerts, update)
            # Recorded before pinning: a failed pin must not make the retry post a second message.
            await asyncio.to_thread(self.incidents.set_status_message, incident.number, ts)
            try:
                await self.web_api.pin(incident.channel_id, ts)
            except (SlackApiError, TooSoon) as exc:  # temporary, or paced: the pin alone is retried via the outbox
                after = exc.after if isinstance(exc, TooSoon) else failure_of(exc).retry_after
                wait = timedelta(seconds=after or 1.0)
                payload = {"channel": incident.channel_id, "ts": ts}
                retry_pin = Effect(SlackEffect.PIN_STATUS, payload, incident.number, not_before=wait)
                await asyncio.to_thread(self.outbox.enqueue, [retry_pin])
        await self.web_api.set_topic(incident)

    async def _announce(self, item: OutboxItem) -> None:
        """Post the announcement once and remember where, so that it is kept true and updates thread under it.

        A crash between Slack's answer and the record posts it again on the retry (Slack has no
        idempotency key for chat.postMessage); the second one is the one kept up to date."""
        incident = await self._incident(item)
        if await asyncio.to_thread(self.incidents.announcement, incident.number) is not None:
            return
        declared_by = str(item.payload.get("declared_by") or incident.declared_by)
        where = await self.web_api.announce(incident, declared_by)
        if where is not None:
            channel_id, ts = where
            await asyncio.to_thread(self.incidents.set_announcement, incident.number, channel_id, ts)
            log.info("announcement_posted", incident=incident.incident_id, channel=channel_id, ts=ts)

    async def _announce_refresh(self, item: OutboxItem) -> None:
        """Edit the announcement to say how the incident stands now (coalesced: a burst makes one edit).
        One that was deleted is forgotten: there is nothing left to keep true."""
        incident = await self._incident(item)
        where = await asyncio.to_thread(self.incidents.announcement, incident.number)
        if where is None:
            return
        channel_id, ts = where
        if not await self.web_api.update_announcement(incident, channel_id, ts, incident.declared_by):
            await asyncio.to_thread(self.incidents.set_announcement, incident.number, None, None)
            log.warning("announcement_gone", incident=incident.incident_id, channel=channel_id, ts=ts)
            return
        log.info("announcement_updated", incident=incident.incident_id, channel=channel_id, ts=ts)

    async def _announce_thread(self, item: OutboxItem) -> None:
        """A status update in the thread under the announcement (none posted or it is gone: skipped)."""
        incident = await self._incident(item)
        where = await asyncio.to_thread(self.incidents.announcement, incident.number)
        if where is None:
            log.info("status_update_not_threaded", incident=incident.incident_id, reason="no announcement")
            return
        channel_id, ts = where
        await self.web_api.reply_in_thread(channel_id, ts, str(item.payload.get("text") or ""))

    async def _post_line(self, item: OutboxItem) -> None:
        incident = await self._channel_incident(item)
        if incident is None or incident.channel_id is None:
            return
        await self.web_api.post(incident.channel_id, _line_text(item, incident))

    async def _post_lines(self, items: Sequence[OutboxItem]) -> int:
        incident = await self._channel_incident(items[0])
        if incident is None or incident.channel_id is None:
            return len(items)  # no channel: nothing to post, for any of them
        texts = [_line_text(item, incident) for item in items]
        count = lines_in_one_message(texts)
        await self.web_api.post(incident.channel_id, "\n".join(texts[:count]))
        if count > 1:
            log.info("channel_lines_batched", incident=incident.incident_id, lines=count, waiting=len(items) - count)
        return count

    async def _direct_message(self, item: OutboxItem) -> None:
        """A message to one person, in their DM with the bot (chat.postMessage to their user id)."""
        await self.web_api.post(str(item.payload["user"]), str(item.payload.get("text") or ""))

    async def _post_to_channel(self, item: OutboxItem) -> None:
        """A message to a channel no incident owns (the weekly follow-up digest)."""
        await self.web_api.post(str(item.payload["channel"]), str(item.payload.get("text") or ""))

    async def _post_recent_changes(self, item: OutboxItem) -> None:
        """The changes to the incident's service in the 2 hours before it was declared: the usual suspects."""
        incident = await self._channel_incident(item)
        if incident is None or incident.channel_id is None:
            return
        changes = await asyncio.to_thread(self.changes.recent, incident)
        if not changes:
            text = f"No changes to {incident.service} were reported in the 2 hours before {incident.incident_id}."
        else:
            lines = "\n".join(f"• {escape_keeping_mentions(describe_change(c))}" for c in changes)
            text = f":mag: Recent changes to {incident.service} (2 hours before declaration):\n{lines}"
        await self.web_api.post(incident.channel_id, text)

    async def _budget_check(self, item: OutboxItem) -> None:
        """Say so in the incident and owner channels when the service's error budget is exhausted."""
        incident = await self._incident(item)
        slo = self.budgets.slos.get(incident.service)
        if slo is None:
            return
        report = (await asyncio.to_thread(self.budgets.reports, slo.service))[0]
        if not report.exhausted:
            return
        text = (
            f":rotating_light: The error budget of {slo.service} is exhausted "
            f"({format_budget_time(report.consumed)} of {format_budget_time(slo.budget)} used in "
            f"{slo.window.days} days). {report.policy()}"
        )
        log.warning(
            "error_budget_exhausted",
            service=slo.service,
            incident=incident.incident_id,
            consumed_minutes=round(report.consumed.total_seconds() / 60, 1),
        )
        for channel in dict.fromkeys(c for c in (incident.channel_id, slo.owner_channel) if c):
            await self.web_api.post(channel, text)

    async def _pin_status(self, item: OutboxItem) -> None:
        """Pin the status message whose first pin Slack refused for now (a temporary failure raises)."""
        await self.web_api.pin(str(item.payload["channel"]), str(item.payload["ts"]))

    async def _pin_message(self, item: OutboxItem) -> None:
        """A :pushpin:ed message onto the timeline, by its author at its own time (once per event_id).

        Reading the message raises SlackApiError (a rate limit is retried by the outbox; a read that can
        never succeed, e.g. not_in_channel, is dead and the reactor is told why); a message that is gone
        records nothing. The reactor is told the result in an ephemeral note.
        """
        incident = await self._incident(item)
        payload = item.payload
        channel_id, ts, reactor = str(payload["channel"]), str(payload["ts"]), str(payload["reactor"])
        try:
            message = await self.web_api.fetch_message(channel_id, ts)
        except SlackApiError as exc:
            kind, reason = replace(failure_of(exc), item=item.id).meaning
            if kind is not ErrorClass.TEMPORARY:  # the item goes dead: tell the reactor, once
                await self.web_api.post_ephemeral(
                    channel_id,
                    reactor,
                    f"Your :pushpin: was not added to the {incident.incident_id} timeline: {reason}.",
                )
            raise
        if message is None:
            log.warning("pinned_message_not_found", incident=incident.incident_id, channel=channel_id, ts=ts)
            return
        author = str(message.get("user") or message.get("bot_id") or payload.get("item_user") or reactor)
        # Slack sends message text escaped; the timeline keeps what was typed and escapes when it shows it.
        action = PinMessage(
            text=unescape(str(message.get("text") or "")),
            author=author,
            permalink=await self.web_api.permalink(channel_id, ts),
        )
        event_id = payload.get("event_id")
        try:
            outcome = await asyncio.to_thread(
                lambda: self.incidents.transition(
                    action,
                    Actor(reactor),
                    number=incident.number,
                    occurred_at=message_time(ts),
                    event_id=str(event_id) if event_id else None,
                    plan=_refresh_status,
                )
            )
        except BotError as exc:
            await self.web_api.post_ephemeral(channel_id, reactor, user_message(exc))
            return
        if outcome is None:
            log.info("event_duplicate_ignored", event_id=event_id, incident=incident.incident_id)
            return
        await self.web_api.post_ephemeral(
            channel_id, reactor, f"Pinned to the {incident.incident_id} timeline at {message_time(ts):%H:%M} UTC."
        )

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
        text = truncate(str(payload.get("text") or ""), MESSAGE_TEXT_LIMIT)
        if payload.get("response_url"):
            try:
                response = await AsyncWebhookClient(str(payload["response_url"])).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                if response.status_code < 400:
                    return
            except (aiohttp.ClientError, TimeoutError):
                log.info("response_url_failed", exc_info=True)
        if payload.get("channel") and payload.get("user"):
            await self.web_api.post_ephemeral(str(payload["channel"]), str(payload["user"]), text)

    async def _upload(self, item: OutboxItem) -> None:
        incident = await self._incident(item)
        notify = item.payload.get("notify")
        if incident.channel_id is None:
            if notify:
                await self._send_notification(
                    {
                        **notify,
                        "text": (
                            f"{incident.incident_id} has no channel to upload to; "
                            f"run `incidentbot postmortem {incident.incident_id}` instead."
                        ),
                    }
                )
            return
        data = await asyncio.to_thread(self.incidents.postmortem, incident.number)
        template = item.payload.get("template")
        markdown = await asyncio.to_thread(self.renderer.render, data, str(template) if template else None)
        try:
            link = await self.web_api.upload_postmortem(incident, markdown)
        except SlackApiError as exc:
            failure = failure_of(exc)
            if failure.error_class is not ErrorClass.TEMPORARY and notify:
                await self._send_notification(
                    {
                        **notify,
                        "text": (
                            f"Slack refused the postmortem upload for {incident.incident_id} "
                            f"({failure.code or 'no Slack answer'}: {failure.meaning[1]}); "
                            f"`incidentbot postmortem {incident.incident_id}` "
                            "renders it locally."
                        ),
                    }
                )
            raise
        if link is not None:
            await asyncio.to_thread(self.incidents.record_postmortem_url, incident.number, link, self.postmortem_plan)

    async def _upload_review_invite(self, item: OutboxItem) -> None:
        """The review's calendar invite (``bot.views.invite``) into the incident channel, for the review as the item
        scheduled it: an item whose review was scheduled again since (a newer ``sequence``) uploads nothing, the
        newer one's item does. Attendees' addresses come from ``users.info``, user groups are expanded."""
        bound = await self._channel_incident(item)
        if bound is None or bound.channel_id is None:
            return
        incident, state = await asyncio.to_thread(self.incidents.review, bound.number)
        review = state.review
        if review is None or review.sequence != item.payload.get("sequence"):
            log.info("review_invite_superseded", incident=incident.incident_id, item=item.id)
            return
        contacts: dict[str, Invitee] = {}
        for user in review.attendees:
            contacts[user] = await self._invitee(user, state.names)
        handles = review.group_handles
        groups = [GroupRef(group, f"@{handles[group]}" if group in handles else None) for group in review.groups]
        members, problems = await self.web_api.expand_groups([Assignee(group) for group in groups])
        for member in members:
            user = member.who.user_id if isinstance(member.who, UserRef) else ""
            if user and user not in contacts:
                contacts[user] = await self._invitee(user, state.names)
        organizer = await self._invitee(state.owner, state.names) if state.owner else None
        content = build_review_invite(
            incident,
            review,
            list(contacts.values()),
            organizer,
            self.incidents.clock(),
            groups=[group.handle or group.group_id for group in groups],
            channel=f"https://slack.com/app_redirect?channel={incident.channel_id}",
        )
        verb = "rescheduled" if review.sequence else "scheduled"
        comment = (
            f":calendar: Postmortem review of *{incident.incident_id}* {verb} for {format_utc(review.at)} "
            f"({review.minutes} min). Add the attached invite to your calendar."
        )
        missing = [slack_mention(c.user) for c in contacts.values() if not c.email]
        if missing:
            comment += f" No e-mail address known for {', '.join(missing)}: they are named in its description."
        if problems:
            told = "; ".join(problems)
            comment += f" {told[:1].upper()}{told[1:]}."
        try:
            link = await self.web_api.upload_invite(incident, invite_filename(incident), content, comment)
        except SlackApiError as exc:
            failure, notify = failure_of(exc), item.payload.get("notify")
            if failure.error_class is not ErrorClass.TEMPORARY and notify:
                reason = f"{failure.code or 'no Slack answer'}: {failure.meaning[1]}"
                text = f"Slack refused the review invite of {incident.incident_id} ({reason}); the review is recorded."
                await self._send_notification({**notify, "text": text})
            raise
        log.info(
            "review_invite_uploaded",
            incident=incident.incident_id,
            uid=review.uid,
            sequence=review.sequence,
            attendees=len(contacts),
            with_email=sum(1 for c in contacts.values() if c.email),
            link=link,
        )

    async def _invitee(self, user: str, names: Mapping[str, str]) -> Invitee:
        """A person on the invite: a Slack user's name and address from Slack, a CLI name as recorded."""
        if not is_slack_user_id(user):
            return Invitee(user, names.get(user, user))
        name, email = await self.web_api.user_contact(user)
        return Invitee(user, name if name != user else names.get(user, user), email)


LINES_PER_MESSAGE_CHARS = 4000
"""The most characters of lines joined into one channel message: Slack's recommended maximum for a message's
``text`` (docs.slack.dev, chat.postMessage: "limit the number of characters in the text field to 4,000";
it truncates at 40,000)."""


def lines_in_one_message(texts: Sequence[str], limit: int = LINES_PER_MESSAGE_CHARS) -> int:
    """How many of ``texts`` (oldest first) one message carries, joined by newlines within ``limit`` characters;
    at least 1 (a single longer line is posted alone, cut at Slack's limit as any post is)."""
    count, size = 0, -1
    for text in texts:
        size += len(text) + 1
        if count and size > limit:
            break
        count += 1
    return max(count, 1) if texts else 0


def _line_text(item: OutboxItem, incident: Incident) -> str:
    """A ``slack.post_line`` item's text, with the incident's lead as the line is posted when it asks for them."""
    text = str(item.payload.get("text") or "")
    if item.payload.get("mention_lead") and incident.lead:  # the lead as the line is posted (it may change)
        text = f"{slack_mention(incident.lead)} {text}"
    return text


def message_time(ts: str) -> datetime:
    """A Slack message ts (``1732283520.000200``) as an aware UTC datetime."""
    return datetime.fromtimestamp(float(ts), UTC)


def _refresh_status(outcome: Outcome) -> list[Effect]:
    """A pinned message only changes the status message (the reactor is told directly)."""
    return [Effect(SlackEffect.REFRESH, {}, outcome.incident.number, coalesce=True)]


def classify_failure(failure: SlackFailure) -> RetryLater | Undeliverable:
    """Temporary failures are retried (after Retry-After); the rest never will succeed as asked.

    The reason is what ``incidentbot outbox`` shows: the method, the code, its class and, for a
    setup fault, the fix (see ``bot.slack.api_errors``).
    """
    if failure.error_class is ErrorClass.TEMPORARY:
        return RetryLater(failure.describe(), after=failure.retry_after)
    return Undeliverable(failure.describe())
