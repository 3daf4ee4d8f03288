"""A follow-up as a tracker issue: title, Markdown body, labels and assignee, from plain values.

The follow-up life cycle (``bot.domain``) and the outbox hand plain values here; nothing is read
from the store. Labels are ``incident``, ``INC-<n>`` and the severity (``sev1``); the assignee is the
owner's tracker user from TRACKER_USERS_FILE, or nobody when the owner has no entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.integrations.trackers.port import TrackerIssue, followup_marker

SLACK_CHANNEL_LINK = "https://slack.com/app_redirect?channel={channel}"
"""A link that opens a Slack channel in the workspace of whoever follows it (Slack's app_redirect)."""
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
    (``Settings.tracker_users``)."""
    title = issue_title(export)
    return TrackerIssue(
        marker=followup_marker(export.incident_number, export.followup_number, installation),
        title=title,
        body=issue_body(export, owner_mapped=export.owner in users if export.owner else False),
        labels=("incident", f"INC-{export.incident_number}", export.severity),
        assignee=users.get(export.owner) if export.owner else None,
        due=export.due,
    )


def issue_title(export: FollowUpExport) -> str:
    """The follow-up's text on one line, cut to TITLE_CHARS; ``Follow-up 2 of INC-7`` when nothing of
    it is left (a text that was only Slack markup with no label, such as a bare date)."""
    text = " ".join(export.text.split())
    if not text:
        return f"Follow-up {export.followup_number} of INC-{export.incident_number}"
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def issue_body(export: FollowUpExport, *, owner_mapped: bool) -> str:
    """The issue's Markdown body: what it follows up, the whole text when the title was cut, the
    incident and postmortem links when known, the owner (``owner_mapped``: whether a tracker user is
    mapped for them) and the due date."""
    text = " ".join(export.text.split())
    incident = f"INC-{export.incident_number} ({export.severity})"
    blocks = [f"Follow-up {export.followup_number} of {incident}: {export.incident_title}"]
    if text and issue_title(export) != text:
        blocks.append(text)  # the whole text when the title had to be cut
    details = []
    if export.incident_link:
        details.append(f"- Incident: {export.incident_link}")
    if export.postmortem_link:
        details.append(f"- Postmortem: {export.postmortem_link}")
    if export.owner:
        mapped = "" if owner_mapped else " (no tracker user mapped)"
        details.append(f"- Owner: {export.owner_name or export.owner}{mapped}")
    if export.due:
        details.append(f"- Due: {export.due.isoformat()}")
    if details:
        blocks.append("\n".join(details))
    return "\n\n".join(blocks)


def export_payload(export: FollowUpExport, *, owner_mapped: bool) -> dict[str, Any]:
    """``export`` as JSON for an outbox payload (``export_of`` reads it back): the body is written
    again at delivery with the links known then."""
    return {
        "incident_number": export.incident_number,
        "followup_number": export.followup_number,
        "text": export.text,
        "incident_title": export.incident_title,
        "severity": export.severity,
        "owner": export.owner,
        "owner_name": export.owner_name,
        "owner_mapped": owner_mapped,
        "due": export.due.isoformat() if export.due else None,
    }


def export_of(payload: Mapping[str, Any]) -> tuple[FollowUpExport, bool]:
    """The FollowUpExport (without links) and ``owner_mapped`` an ``export_payload`` holds.
    Raises ValueError for a malformed one."""
    try:
        export = FollowUpExport(
            incident_number=int(payload["incident_number"]),
            followup_number=int(payload["followup_number"]),
            text=str(payload["text"]),
            incident_title=str(payload["incident_title"]),
            severity=str(payload["severity"]),
            owner=None if payload.get("owner") is None else str(payload["owner"]),
            owner_name=None if payload.get("owner_name") is None else str(payload["owner_name"]),
            due=date.fromisoformat(str(payload["due"])) if payload.get("due") else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed follow-up export: {exc}") from exc
    return export, bool(payload.get("owner_mapped"))


def incident_link(channel_id: str | None) -> str | None:
    """The web link of an incident's Slack channel (SLACK_CHANNEL_LINK), or None before it has one."""
    return SLACK_CHANNEL_LINK.format(channel=channel_id) if channel_id else None
