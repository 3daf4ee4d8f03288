"""The JSON shapes of incidents, timelines and error budgets, shared by the CLI (``--format json``) and the
web API (``/api/v1/``), so both answer with one shape (documented in ``bot/web/openapi.yaml``).

Times are ISO 8601 UTC with a ``Z`` (``2026-11-22T13:42:00Z``, ``format_iso``); minutes are floats rounded
to two decimals; people are recorded ids (a Slack user id or a CLI name), never markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from bot.domain.model import Incident, IncidentSummary, Status, TimelineEntry
from bot.domain.review import PostmortemReview
from bot.domain.slo import BudgetReport
from bot.domain.timeline import collect_names, describe, plain_mention, plain_references
from bot.domain.timeparse import format_iso


def summary_json(summary: IncidentSummary) -> dict[str, Any]:
    """One incident of a list: ``incident`` (``INC-7``), ``title``, ``severity``, ``status``, ``lead``,
    ``channel_id``, ``declared_at``, ``resolved_at`` (or null), ``postmortem`` (its review status, null while
    open) and ``private``. A private incident's title reads as the caller passed it (``hidden_summary``)."""
    return {
        "incident": f"INC-{summary.number}",
        "title": summary.title,
        "severity": summary.severity.value,
        "status": summary.status.value,
        "lead": summary.lead,
        "channel_id": summary.channel_id,
        "declared_at": format_iso(summary.declared_at),
        "resolved_at": format_iso(summary.resolved_at) if summary.resolved_at else None,
        "postmortem": summary.postmortem_status.value if summary.postmortem_status else None,
        "private": summary.private,
    }


def incident_json(incident: Incident, review: PostmortemReview) -> dict[str, Any]:
    """One incident: the keys of ``summary_json`` (``postmortem``: the review's status once resolved, else null),
    then ``service``, ``impact_percent``, ``description``, ``summary``, ``members`` (``user``, ``role``,
    ``joined_at``) and ``hypotheses`` (``number``, ``text``, ``status``, ``outcome``, ``proposed_by``)."""
    return {
        "incident": incident.incident_id,
        "title": incident.title,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "lead": incident.lead,
        "channel_id": incident.channel_id,
        "declared_at": format_iso(incident.declared_at),
        "resolved_at": format_iso(incident.resolved_at) if incident.resolved_at else None,
        "postmortem": review.status.value if incident.status is Status.RESOLVED else None,
        "private": incident.private,
        "service": incident.service,
        "impact_percent": incident.impact_percent,
        "description": incident.description,
        "summary": incident.summary,
        "members": [
            {"user": m.user_id, "role": m.role, "joined_at": format_iso(m.joined_at)} for m in incident.members
        ],
        "hypotheses": [
            {
                "number": h.number,
                "text": h.text,
                "status": h.status.value,
                "outcome": h.outcome,
                "proposed_by": h.proposed_by,
            }
            for h in incident.hypotheses
        ],
    }


def entry_json(entry: TimelineEntry, names: Mapping[str, str]) -> dict[str, Any]:
    """One timeline entry as recorded: ``number``, ``kind``, ``occurred_at``, ``recorded_at``, ``actor``,
    ``text``, ``description`` (its sentence, people as ``@name``) and ``data``."""
    return {
        "number": entry.number,
        "kind": entry.kind.value,
        "occurred_at": format_iso(entry.occurred_at),
        "recorded_at": format_iso(entry.recorded_at),
        "actor": entry.actor,
        "text": entry.text,
        "description": describe(entry, plain_mention(dict(names)), plain_references(dict(names))),
        "data": entry.data,
    }


def timeline_json(incident: Incident, entries: Sequence[TimelineEntry]) -> dict[str, Any]:
    """``{"incident", "title", "status", "severity", "entries": [entry_json, ...]}``, every entry as recorded
    (corrections and strikes are entries of their own), oldest first."""
    names = collect_names(entries)
    return {
        "incident": incident.incident_id,
        "title": incident.title,
        "status": incident.status.value,
        "severity": incident.severity.value,
        "entries": [entry_json(e, names) for e in entries],
    }


def timeline_json_text(
    incident: Incident, names: Mapping[str, str], entries: Iterable[TimelineEntry], indent: int | None = None
) -> Iterator[str]:
    """``json.dumps(timeline_json(incident, entries), indent=indent, ensure_ascii=False)``, the same text to the
    byte, in pieces: the head, then one piece per entry as ``entries`` yields it, then the tail. ``names``:
    ``collect_names`` of the whole timeline (an entry's description names people any later entry named), so a
    timeline of any length is written while it is read (``timeline --format json``)."""
    head = timeline_json(incident, [])
    del head["entries"]
    if indent is None:
        yield "{" + "".join(f"{_dumps(key)}: {_dumps(value)}, " for key, value in head.items()) + '"entries": ['
        for index, entry in enumerate(entries):
            yield (", " if index else "") + _dumps(entry_json(entry, names))
        yield "]}"
        return
    step = " " * indent
    yield (
        "{"
        + "".join(f"\n{step}{_dumps(key)}: {_dumps(value)}," for key, value in head.items())
        + f'\n{step}"entries": '
    )
    opened = False
    for entry in entries:
        # JSON text holds no raw newline (strings escape it), so each line of the entry moves in two levels
        text = json.dumps(entry_json(entry, names), indent=indent, ensure_ascii=False).replace("\n", "\n" + step * 2)
        yield ("," if opened else "[") + f"\n{step * 2}{text}"
        opened = True
    yield (f"\n{step}]" if opened else "[]") + "\n}"


def timeline_file(incident: Incident, names: Mapping[str, str], entries: Iterable[TimelineEntry]) -> Iterator[str]:
    """The timeline file, in pieces: what ``incidentbot timeline INC-n --format json`` prints and the web's
    ``timeline.json`` download serves, byte for byte (``timeline_json_text`` indented 2 spaces, then a newline)."""
    yield from timeline_json_text(incident, names, entries, indent=2)
    yield "\n"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def budget_json(report: BudgetReport) -> dict[str, Any]:
    """One service's error budget over its SLO window ending now: ``service``, ``objective_percent``,
    ``window_days``, ``budget_minutes``, ``consumed_minutes``, ``remaining_minutes``, ``exhausted``, ``policy``
    (what to do when exhausted, else null) and ``incidents`` (``incident``, ``bad_minutes``,
    ``percent_of_budget`` rounded to 0.1)."""
    slo = report.slo
    return {
        "service": slo.service,
        "objective_percent": slo.objective_percent,
        "window_days": slo.window.days,
        "budget_minutes": minutes(slo.budget),
        "consumed_minutes": minutes(report.consumed),
        "remaining_minutes": minutes(report.remaining),
        "exhausted": report.exhausted,
        "policy": report.policy() if report.exhausted else None,
        "incidents": [
            {
                "incident": b.incident_id,
                "bad_minutes": minutes(b.bad_time),
                "percent_of_budget": round(b.percent_of_budget, 1),
            }
            for b in report.burns
        ],
    }


def minutes(delta: timedelta) -> float:
    """``delta`` in minutes, rounded to two decimals."""
    return round(delta.total_seconds() / 60, 2)
