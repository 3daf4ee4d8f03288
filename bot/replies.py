"""Plain-text replies shared by the CLI and Slack: confirmations, status, timeline, incident lists.

Callers choose how users are mentioned and how user text is escaped (mrkdwn for Slack,
nothing for a terminal), so no adapter re-implements these sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.model import Incident, TimelineEntry, format_incident_id
from bot.domain.timeline import Escape, Mention, describe, keep_text, slack_mention
from bot.domain.timeparse import format_duration, format_utc
from bot.service import Outcome
from bot.store.repo import IncidentSummary


def confirmation(outcome: Outcome, mention: Mention = slack_mention, escape: Escape = keep_text) -> str:
    """``INC-7 · Hypothesis #1: external DDoS attack (status: investigating)``."""
    incident = outcome.incident
    lines = [describe(entry, mention, escape) for entry in outcome.entries]
    status = f" (status: {incident.status.value})" if outcome.status_changed else ""
    return f"{incident.incident_id} · " + "; ".join(lines) + status


def status_text(incident: Incident, now: datetime, mention: Mention = slack_mention, escape: Escape = keep_text) -> str:
    """A few lines summarising where the incident stands."""
    team = ", ".join(
        f"{mention(m.user_id)}" + (f" ({escape(m.role)})" if m.role else "") for m in incident.members
    ) or "nobody yet"
    root = incident.root_cause
    lines = [
        f"{incident.incident_id} · {escape(incident.title)}",
        f"Severity: {incident.severity.value} · Status: {incident.status.value} · "
        f"Lead: {mention(incident.lead) if incident.lead else 'none'}",
        f"Declared {format_utc(incident.declared_at)} ({format_duration(now - incident.declared_at)} ago)",
        f"IRT: {team}",
    ]
    if incident.hypotheses:
        lines.append("Hypotheses: " + "; ".join(
            f"#{h.number} {escape(h.text)} [{h.status.value}]" for h in incident.hypotheses))
    if root:
        lines.append(f"Root cause: {escape(root.text)}")
    return "\n".join(lines)


def timeline_text(
    incident: Incident, entries: Sequence[TimelineEntry], mention: Mention = slack_mention, escape: Escape = keep_text
) -> str:
    """One line per entry, oldest first, times in UTC."""
    lines = [f"{incident.incident_id} timeline (UTC) · {escape(incident.title)}"]
    for entry in entries:
        lines.append(f"{entry.occurred_at:%Y-%m-%d %H:%M}  {describe(entry, mention, escape)}  ({mention(entry.actor)})")
    return "\n".join(lines)


def list_text(summaries: Sequence[IncidentSummary], now: datetime, escape: Escape = keep_text) -> str:
    """One line per incident, newest first."""
    if not summaries:
        return "No incidents."
    return "\n".join(
        f"{format_incident_id(s.number)}  {s.severity.value}  {s.status.value:<13} "
        f"{format_duration(now - s.declared_at):>8} ago  {escape(s.title)}"
        for s in summaries
    )
