"""A follow-up as a tracker issue: title, Markdown body, labels and assignee, from plain values.

The follow-up life cycle (``bot.domain``) and the outbox hand plain values here; nothing is read
from the store. Labels are ``incident``, ``INC-<n>`` and the severity (``sev1``); the assignee is the
owner's tracker user from TRACKER_USERS_FILE, or nobody when the owner has no entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bot.integrations.trackers.port import TrackerIssue, followup_marker

TITLE_CHARS = 250
"""Titles are cut to this many characters (GitHub takes 256, Jira's summary 255)."""


@dataclass(frozen=True)
class FollowUpExport:
    """What the issue says about one follow-up. ``incident_number`` and ``followup_number`` (1-based,
    as ``followups`` lists them) make the marker; ``severity`` is ``sev1``..``sev4``; ``owner`` a
    Slack user id or None; ``due`` a UTC date or None; links are URLs or None."""

    incident_number: int
    followup_number: int
    text: str
    incident_title: str
    severity: str
    owner: str | None = None
    owner_name: str | None = None
    due: date | None = None
    incident_link: str | None = None
    postmortem_link: str | None = None


def followup_issue(export: FollowUpExport, users: Mapping[str, str], installation: str | None = None) -> TrackerIssue:
    """The TrackerIssue for ``export``; ``users`` maps Slack user ids to tracker users
    (``Settings.tracker_users``). Raises ValueError for an empty follow-up text."""
    incident = f"INC-{export.incident_number}"
    text = " ".join(export.text.split())
    if not text:
        raise ValueError("a follow-up needs a text")
    title = text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"
    blocks = [f"Follow-up {export.followup_number} of {incident} ({export.severity}): {export.incident_title}"]
    if title != text:
        blocks.append(text)  # the whole text when the title had to be cut
    details = []
    if export.incident_link:
        details.append(f"- Incident: {export.incident_link}")
    if export.postmortem_link:
        details.append(f"- Postmortem: {export.postmortem_link}")
    if export.owner:
        mapped = " (no tracker user mapped)" if export.owner not in users else ""
        details.append(f"- Owner: {export.owner_name or export.owner}{mapped}")
    if export.due:
        details.append(f"- Due: {export.due.isoformat()}")
    if details:
        blocks.append("\n".join(details))
    body = "\n\n".join(blocks)
    return TrackerIssue(
        marker=followup_marker(export.incident_number, export.followup_number, installation),
        title=title,
        body=body,
        labels=("incident", incident, export.severity),
        assignee=users.get(export.owner) if export.owner else None,
        due=export.due,
    )
