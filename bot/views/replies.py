"""Plain-text replies shared by the CLI and Slack: confirmations, status, timeline, incident lists.

Callers choose how users are mentioned and how user text is escaped (mrkdwn for Slack,
nothing for a terminal), so no adapter re-implements these sentences; ``mention`` has no default,
so no adapter gets another's markup by omission.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.domain.corrections import correction_note, timeline_view
from bot.domain.errors import BotError
from bot.domain.model import Incident, IncidentSummary, Status, TimelineEntry, format_incident_id
from bot.domain.review import PostmortemReview
from bot.domain.slo import budget_lines, format_budget_time
from bot.domain.timeline import Escape, Mention, describe, format_percent, keep_text
from bot.domain.timeparse import format_duration, format_utc
from bot.domain.updates import StatusUpdate

if TYPE_CHECKING:
    from bot.usecases.budgets import BudgetUseCases
    from bot.usecases.shared import Outcome


def confirmation(outcome: Outcome, mention: Mention, escape: Escape = keep_text) -> str:
    """``INC-7 · Hypothesis #1: external DDoS attack (status: investigating)``."""
    incident = outcome.incident
    lines = [describe(entry, mention, escape) for entry in outcome.entries]
    status = f" (status: {incident.status.value})" if outcome.status_changed else ""
    return f"{incident.incident_id} · " + "; ".join(lines) + status


def status_text(
    incident: Incident,
    now: datetime,
    mention: Mention,
    escape: Escape = keep_text,
    review: PostmortemReview | None = None,
    update: StatusUpdate | None = None,
) -> str:
    """A few lines summarising where the incident stands; with ``review`` (``bot.domain.review``), where its
    postmortem stands once it is resolved or its review has begun (status, owner, the review scheduled);
    with ``update``, the latest status update and, while open, when the next one is due (UTC)."""
    team = (
        ", ".join(f"{mention(m.user_id)}" + (f" ({escape(m.role)})" if m.role else "") for m in incident.members)
        or "nobody yet"
    )
    root = incident.root_cause
    lines = [
        f"{incident.incident_id} · {escape(incident.title)}",
        f"Severity: {incident.severity.value} · Status: {incident.status.value} · "
        f"Lead: {mention(incident.lead) if incident.lead else 'none'}",
        f"Declared {format_utc(incident.declared_at)} ({format_duration(now - incident.declared_at)} ago)",
        f"IRT: {team}",
    ]
    if incident.service or incident.impact_percent is not None:
        impact = (
            f"{format_percent(incident.impact_percent)} of requests failing"
            if incident.impact_percent is not None
            else "not stated"
        )
        lines.append(f"Service: {incident.service or 'not named'} · Impact: {impact}")
    if incident.hypotheses:
        lines.append(
            "Hypotheses: " + "; ".join(f"#{h.number} {escape(h.text)} [{h.status.value}]" for h in incident.hypotheses)
        )
    if root:
        lines.append(f"Root cause: {escape(root.text)}")
    if update is not None:
        lines.append(
            f"Latest update ({format_utc(update.posted_at)}, {mention(update.posted_by)}): {escape(update.text)}"
        )
        due = update.next_due_phrase(now) if incident.status.is_open else None
        if due:
            lines.append(f"Next update {due}")
    if review is not None and (incident.status is Status.RESOLVED or review != PostmortemReview()):
        lines.append(postmortem_line(review, mention))
    if incident.channel_archived_at is not None:
        lines.append(f"Channel archived {format_utc(incident.channel_archived_at)}")
    if incident.channel_problem:
        lines.append(f"Channel problem: {escape(incident.channel_problem)}")
    return "\n".join(lines)


def postmortem_line(review: PostmortemReview, mention: Mention) -> str:
    """``Postmortem: in-review · owner @bob · review 2026-11-24 14:00 UTC (60 min)`` (times UTC)."""
    parts = [f"Postmortem: {review.status.value}"]
    parts.append(f"owner {mention(review.owner)}" if review.owner else "no owner named")
    meeting = review.review
    parts.append(f"review {format_utc(meeting.at)} ({meeting.minutes} min)" if meeting else "no review scheduled")
    return " · ".join(parts)


def timeline_text(
    incident: Incident, entries: Sequence[TimelineEntry], mention: Mention, escape: Escape = keep_text
) -> str:
    """One line per entry, oldest first, times in UTC, each with the number ``correct`` and ``strike`` take
    (``#5  2026-11-22 13:50  ...``). ``entries`` as recorded: a corrected entry shows as it now reads with
    ``[corrected by #17]``, a struck one between ``~~`` with ``[struck by #18: reason]``, and each correction
    and strike has its own line."""
    lines = [f"{incident.incident_id} timeline (UTC) · {escape(incident.title)}"]
    for entry in timeline_view(entries):
        number = f"#{entry.number}  " if entry.number is not None else ""
        text = describe(entry, mention, escape)
        note = correction_note(entry)
        if "struck_by" in entry.data:
            text = f"~~{text}~~"
        marks = f"  [{escape(note)}]" if note else ""
        lines.append(f"{number}{entry.occurred_at:%Y-%m-%d %H:%M}  {text}  ({mention(entry.actor)}){marks}")
    return "\n".join(lines)


def list_text(summaries: Sequence[IncidentSummary], now: datetime, escape: Escape = keep_text) -> str:
    """One line per incident, newest first."""
    if not summaries:
        return "No incidents."
    return "\n".join(
        f"{format_incident_id(s.number)}  {s.severity.value}  {s.status.value:<13} "
        f"{format_duration(now - s.declared_at):>8} ago  {escape(s.title)}"
        + (f"  (postmortem {s.postmortem_status.value})" if s.postmortem_status is not None else "")
        for s in summaries
    )


def slo_text(budgets: BudgetUseCases, name: str | None = None, escape: Escape = keep_text) -> str:
    """Error budgets of one service or all: what is left, burn by incident, the policy if exhausted."""
    if not budgets.slos.slos:
        raise BotError("No SLO catalogue is configured: set INCIDENT_SLO_FILE to a slos.yml (see README).")
    reports = budgets.reports(name)
    return "\n\n".join("\n".join(escape(line) for line in budget_lines(r)) for r in reports)


def budget_status(budgets: BudgetUseCases, incident: Incident) -> str | None:
    """The status message's budget line: this incident's burn, what is left, the policy if exhausted."""
    slo = budgets.slos.get(incident.service)
    if slo is None:
        return None
    report = budgets.reports(slo.service)[0]
    burn = next((b for b in report.burns if b.incident_id == incident.incident_id), None)
    spent = f"{format_budget_time(burn.bad_time)} ({burn.percent_of_budget:.1f}%)" if burn else "nothing yet"
    left = (
        f"budget exhausted: {report.policy()}"
        if report.exhausted
        else f"{report.remaining_share * 100:.1f}% of the budget left"
    )
    budget = f"{slo.service}'s {format_budget_time(slo.budget)} ({slo.describe()})"
    return f"this incident {spent} of {budget}; {left}"
