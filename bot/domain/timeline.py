"""Reading the timeline: one sentence per entry, the people it names, and the milestones it implies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.corrections import entry_name
from bot.domain.model import EntryKind, Status, TimelineEntry, sorted_timeline
from bot.domain.people import Escape as Escape
from bot.domain.people import Mention as Mention
from bot.domain.people import keep_text as keep_text
from bot.domain.people import neutral_mention
from bot.domain.people import plain_mention as plain_mention
from bot.domain.review import REVIEW_KINDS
from bot.domain.timeparse import format_utc


def collect_names(entries: Iterable[TimelineEntry]) -> dict[str, str]:
    """User id -> display name, from the names Slack sent along with mentions."""
    names: dict[str, str] = {}
    for entry in entries:
        names.update(entry.data.get("names") or {})
    return names


_SLACK_REFERENCE = re.compile(
    r"<(?:([@#!])((?:subteam\^)?[A-Z0-9]+)|((?i:https?|mailto|tel):[^|<>\s]+)"
    r"|!(here|channel|everyone)|!date\^[^|<>]*)(?:\|([^<>]*))?>"
)
"""A mention (``<@U0BOB|bob>``, ``<#C0123|general>``, ``<!subteam^S0123|@netops>``, ``<!here>``), a
link (``<https://grafana.example.com/d/1|dashboard>``) or a date (``<!date^1392734382^{date}|Feb 18>``)
as Slack sends it in typed text."""


def plain_references(names: dict[str, str]) -> Escape:
    """Slack's escaped references in typed text as people typed them: ``<@U0BOB|bob>`` -> ``@bob``.

    With should_escape ("Escape channels, users, and links sent to your app"), Slack turns "@bob" in a
    note into ``<@U0BOB|bob>`` and a pasted URL into ``<https://x.example/a|x.example/a>``; a Markdown
    reader or a tracker wants @bob and the URL back (``#general`` for channels, the handle for user
    groups, ``@here`` for ``<!here>``, a date's fallback text; a link whose label is not just its URL
    is written ``label (URL)``).
    """

    def reference(match: re.Match[str]) -> str:
        sigil, target, url, special, label = match.groups()
        if special is not None:
            return f"@{special}"
        if sigil is None and url is None:  # a date: the text Slack shows where it cannot format it
            return label or ""
        if url is not None:
            bare = url.split(":", 1)[1].removeprefix("//")
            if not label or label == url:
                return url
            if label == bare:  # what was typed: the URL of a web link, the address of a mail or phone link
                return url if url.lower().startswith("http") else label
            return f"{label} ({url})"
        if sigil == "#":
            return f"#{label or target}"
        if sigil == "!":
            return label if label and label.startswith("@") else f"@{label or target}"
        return f"@{label or names.get(target, target)}"

    return lambda text: _SLACK_REFERENCE.sub(reference, text)


def _with_text(sentence: str, text: str, separator: str = ": ") -> str:
    return f"{sentence}{separator}{text}" if text else sentence


def _member(member: dict[str, Any], mention: Mention, escape: Escape) -> str:
    role = member.get("role")
    return f"{mention(member['user'])} ({escape(role)})" if role else mention(member["user"])


_USER_TEXT_KEYS = frozenset(
    {
        "hypothesis",
        "followup",
        "description",
        "text_from",
        "struck_reason",
        "generator_url",
        "dashboard_url",
        "panel_url",
        "silence_url",
        "image_url",
    }
)
"""The ``data`` values people (or alert senders) typed; ids, severities and statuses are not escaped."""


def describe(entry: TimelineEntry, mention: Mention = neutral_mention, escape: Escape = keep_text) -> str:
    """One line saying what happened; ``mention`` writes each person it names (the adapter's choice:
    ``<@U0123ABC>`` in Slack, ``@alice`` in a terminal; by default ``@`` and the id or name recorded),
    ``escape`` is applied to every piece of user-typed text."""
    data: dict[str, Any] = {
        key: escape(value) if key in _USER_TEXT_KEYS and isinstance(value, str) else value
        for key, value in entry.data.items()
    }
    entry = TimelineEntry(entry.kind, entry.occurred_at, entry.recorded_at, entry.actor, escape(entry.text), data)
    kind = entry.kind
    if kind is EntryKind.DECLARED:
        return f"Incident declared ({data.get('severity', '')}): {entry.text}"
    if kind is EntryKind.LEAD:
        return f"{mention(data['user'])} is now the incident lead"
    if kind is EntryKind.ASSEMBLED:
        members = ", ".join(_member(m, mention, escape) for m in data.get("members", []))
        return f"IRT assembled: {members}"
    if kind is EntryKind.HYPOTHESIS:
        return f"Hypothesis #{data.get('number')}: {entry.text}"
    if kind is EntryKind.HYPOTHESIS_REJECTED:
        return _with_text(f"Hypothesis #{data.get('number')} rejected ({data.get('hypothesis', '')})", entry.text)
    if kind is EntryKind.HYPOTHESIS_CONFIRMED:
        return _with_text(
            f"Hypothesis #{data.get('number')} confirmed as root cause ({data.get('hypothesis', '')})", entry.text
        )
    if kind is EntryKind.SEVERITY:
        return f"Severity changed from {data.get('severity_from')} to {data.get('severity_to')}"
    if kind is EntryKind.FOLLOWUP:
        owner, due = data.get("owner"), data.get("due")
        details = [f"owner: {mention(owner)}"] if owner else []
        details += [f"due {due}"] if due else []
        suffix = f" ({'; '.join(details)})" if details else ""
        return f"Follow-up #{data.get('number')}: {entry.text}{suffix}"
    if kind in _FOLLOWUP_CHANGES:
        return _describe_followup_change(entry, data, mention)
    if kind is EntryKind.PINNED:
        return f"Pinned message from {mention(entry.actor)}: {entry.text}"
    if kind is EntryKind.SERVICE:
        return f"Service affected: {data.get('service')}"
    if kind is EntryKind.IMPACT:
        return f"Impact: {format_percent(float(data.get('percent') or 0))} of requests failing"
    if kind in (EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED):
        links = [str(data[key]) for key in ("generator_url", "panel_url", "dashboard_url") if data.get(key)]
        label = "Alert fired" if kind is EntryKind.ALERT_FIRED else "Alert cleared"
        return _with_text(label, entry.text) + "".join(f" ({link})" for link in links[:2])
    if kind is EntryKind.REOPENED and data.get("status_from") == Status.MONITORING.value:
        return _with_text("The fix did not hold: back to investigating", entry.text)
    if kind is EntryKind.CORRECTION:
        return _describe_correction(entry, data)
    if kind is EntryKind.STRIKE:
        struck = _kind_name(data) + (f' "{data["text_from"]}"' if data.get("text_from") else "")
        return _with_text(f"Struck #{data.get('entry')} ({struck})", entry.text)
    if kind is EntryKind.NUDGE:
        if data.get("update_due"):
            due = format_utc(datetime.fromisoformat(str(data["update_due"])))
            return f"Reminder posted: the status update due at {due} was not posted"
        return f"Reminder posted: no timeline update for {data.get('silent_minutes')} min"
    if kind is EntryKind.UPDATE:
        due = data.get("next_update")
        following = f" (next update by {format_utc(datetime.fromisoformat(str(due)))})" if due else ""
        return f"Status update: {entry.text}{following}"
    if kind is EntryKind.POSTMORTEM_PUBLISHED:
        target = PUBLICATION_TARGETS.get(str(data.get("target")), str(data.get("target")))
        return f"Postmortem published to {target} (version {data.get('version')}): {data.get('url')}"
    if kind is EntryKind.FOLLOWUP_REMINDER:
        numbers = ", ".join(f"#{n}" for n in data.get("numbers") or [])
        return f"Reminder posted: follow-ups overdue on {data.get('day')}: {numbers}"
    if kind in REVIEW_KINDS:
        return _describe_review(entry, data, mention)
    if kind is EntryKind.STATUSPAGE:
        return _describe_statuspage(entry.text, data)
    if kind is EntryKind.CHANNEL_ARCHIVED:  # recorded by the bot (bot.slack.archiving): no user text
        if data.get("by_hand"):
            return "Channel found archived by hand when its archive came due"
        return "Channel archived" + (f" {data['after']} after the resolve" if data.get("after") else "")
    if kind is EntryKind.CHANNEL_UNARCHIVED and data.get("noticed"):
        return "Channel unarchived by hand (the bot's calls to it work again)"
    label = _LABELS.get(kind) or kind.value.replace("_", " ").capitalize()  # a new kind reads as its name
    return _with_text(label, entry.text)


def _describe_statuspage(text: str, data: dict[str, Any]) -> str:
    """A ``statuspage`` entry: what was published on the public status page, with its status."""
    action, status = data.get("action"), data.get("status")
    if action == "open":
        return f"Status page incident opened ({data.get('impact')} impact, {status}): {text}"
    if action == "resolve":
        return f"Status page incident resolved: {text}"
    return f"Status page update ({status}): {text}"


def _describe_review(entry: TimelineEntry, data: dict[str, Any], mention: Mention) -> str:
    """The postmortem's review entries (``bot.domain.review``): status, owner, review meeting, draft reminder."""
    kind = entry.kind
    if kind is EntryKind.POSTMORTEM_STATUS:
        return f"Postmortem is now {data.get('status')} (was {data.get('previous')})"
    if kind is EntryKind.POSTMORTEM_OWNER:
        return f"Postmortem owner: {mention(str(data.get('owner')))}"
    if kind is EntryKind.POSTMORTEM_REMINDER:
        reminded = data.get("reminded")
        who = f" ({mention(str(reminded))})" if reminded else ""
        return f"Reminder posted: the postmortem is still a draft on {data.get('day')}{who}"
    when = datetime.fromisoformat(str(data.get("at")))
    verb = "rescheduled" if data.get("sequence") else "scheduled"
    people = [mention(str(a)) for a in data.get("attendees") or []]
    handles = data.get("group_handles") or {}
    people += [f"@{handles.get(g, g)}" for g in data.get("groups") or []]
    with_whom = f" with {', '.join(people)}" if people else ""
    return f"Postmortem review {verb} for {format_utc(when)} ({data.get('minutes')} min){with_whom}"


_FOLLOWUP_CHANGES = frozenset(
    {
        EntryKind.FOLLOWUP_DONE,
        EntryKind.FOLLOWUP_REOPENED,
        EntryKind.FOLLOWUP_OWNER,
        EntryKind.FOLLOWUP_DUE,
        EntryKind.FOLLOWUP_DROPPED,
        EntryKind.FOLLOWUP_EXPORT,
        EntryKind.FOLLOWUP_EXPORTED,
        EntryKind.FOLLOWUP_TRACKER_GONE,
    }
)


def _describe_followup_change(entry: TimelineEntry, data: dict[str, Any], mention: Mention) -> str:
    item = f"Follow-up #{data.get('number')} ({data.get('followup', '')})"
    kind = entry.kind
    if kind is EntryKind.FOLLOWUP_DONE:
        return _with_text(f"{item} done", entry.text)
    if kind is EntryKind.FOLLOWUP_REOPENED:
        return _with_text(f"{item} reopened", entry.text)
    if kind is EntryKind.FOLLOWUP_OWNER:
        return f"{item} is now owned by {mention(str(data.get('owner')))}"
    if kind is EntryKind.FOLLOWUP_DUE:
        return f"{item} is now due {data.get('due')}"
    if kind is EntryKind.FOLLOWUP_EXPORT:
        return f"{item} to be filed in the tracker"
    if kind is EntryKind.FOLLOWUP_EXPORTED:
        return f"{item} filed as {data.get('key')}" + (f" ({data['url']})" if data.get("url") else "")
    if kind is EntryKind.FOLLOWUP_TRACKER_GONE:
        return _with_text(f"{item}: its tracker issue {data.get('key')} is gone", entry.text)
    return _with_text(f"{item} dropped", entry.text)


def _describe_correction(entry: TimelineEntry, data: dict[str, Any]) -> str:
    """``Corrected #5 (note): now "..." (was "..."); time 13:50 -> 13:48`` (UTC; with dates when the day changes, with
    seconds when the minute did not, and their fraction when the second did not)."""
    changes = []
    if "text_from" in data:
        was = f' (was "{data["text_from"]}")' if data["text_from"] else ""
        changes.append(f'now "{entry.text}"{was}')
    if "at_to" in data:
        before, after = datetime.fromisoformat(data["at_from"]), datetime.fromisoformat(data["at_to"])
        shape = "%H:%M" if before.date() == after.date() else "%Y-%m-%d %H:%M"
        for finer in (":%S", ".%f"):  # "time 05:26 -> 05:26" read as if nothing changed: the seconds did
            if f"{before:{shape}}" == f"{after:{shape}}":
                shape += finer
        changes.append(f"time {before:{shape}} -> {after:{shape}}")
    via = f", via correction #{data['via']}" if data.get("via") else ""
    return f"Corrected #{data.get('entry')} ({_kind_name(data)}{via}): " + "; ".join(changes)


def _kind_name(data: dict[str, Any]) -> str:
    """How a correction or strike names the kind of the entry it points at (``data["entry_kind"]``)."""
    kind = str(data.get("entry_kind"))
    return entry_name(EntryKind(kind)) if kind in EntryKind.__members__.values() else kind.replace("_", " ")


def format_percent(percent: float) -> str:
    """``50.0`` -> ``50%``, ``0.5`` -> ``0.5%``: no trailing zeros."""
    return f"{percent:.4f}".rstrip("0").rstrip(".") + "%"


PUBLICATION_TARGETS = {"confluence": "Confluence", "git": "Git"}
"""Where a postmortem can be published (``postmortem publish``), as people write their names."""

_LABELS = {
    EntryKind.MITIGATION: "Mitigation attempted",
    EntryKind.ROLLBACK: "Rolled back",
    EntryKind.RESOLVED: "Incident resolved",
    EntryKind.REOPENED: "Incident reopened",
    EntryKind.NOTE: "Note",
}


@dataclass(frozen=True)
class Milestones:
    """The moments a postmortem measures from detection (the declaration's time)."""

    detected_at: datetime
    irt_assembled_at: datetime | None
    root_cause_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None


def find_milestones(entries: Iterable[TimelineEntry]) -> Milestones:
    """Derive detection, IRT, root cause, mitigation and resolution times from the timeline.

    The first occurrence counts for each, except resolution, where the last counts (reopened
    incidents end when they are finally resolved). Mitigation is the first move into a status
    that ends the impact (``Status.is_mitigated``): an incident resolved without a rollback is
    mitigated when it is resolved. When that move is into monitoring, the fix watched is the latest
    ``mitigate`` attempt before it, whose time counts (none: the monitoring entry's).
    """
    ordered = sorted_timeline(list(entries))
    if not ordered:
        raise ValueError("an incident's timeline starts with its declaration")

    def first(predicate: Callable[[TimelineEntry], bool]) -> datetime | None:
        return next((e.occurred_at for e in ordered if predicate(e)), None)

    resolved_at = _final_resolution(ordered)
    mitigation = next((e for e in ordered if ends_impact(e)), None)
    mitigated_at = mitigation.occurred_at if mitigation is not None else None
    if mitigation is not None and mitigation.kind is EntryKind.MONITORING:
        # Monitoring straight after `mitigate` watches that attempt: the impact ended when it was made.
        attempts = [e for e in ordered if e.kind is EntryKind.MITIGATION and e.occurred_at <= mitigation.occurred_at]
        mitigated_at = attempts[-1].occurred_at if attempts else mitigated_at
    return Milestones(
        detected_at=first(lambda e: e.kind is EntryKind.DECLARED) or ordered[0].occurred_at,
        irt_assembled_at=first(lambda e: e.kind is EntryKind.ASSEMBLED),
        root_cause_at=first(lambda e: e.kind is EntryKind.HYPOTHESIS_CONFIRMED),
        mitigated_at=mitigated_at,
        resolved_at=resolved_at,
    )


def ends_impact(entry: TimelineEntry) -> bool:
    """The entry moved its incident into a status that ends the impact (``Status.is_mitigated``)."""
    status = Status.of_entry(entry)
    return status is not None and status.is_mitigated


def _final_resolution(ordered: list[TimelineEntry]) -> datetime | None:
    """The last resolve, unless a reopen came after it."""
    resolved_at: datetime | None = None
    for entry in ordered:
        if entry.kind is EntryKind.RESOLVED:
            resolved_at = entry.occurred_at
        elif entry.kind is EntryKind.REOPENED:
            resolved_at = None
    return resolved_at
