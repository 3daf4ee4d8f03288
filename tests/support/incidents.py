"""Incidents built step by step in the pure core (declare, then apply actions at minutes after T0), for unit
tests of what the domain derives from them (error budgets, alerts, nudges)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.commands import Declare
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Incident, IncidentSummary, Severity, TimelineEntry
from bot.domain.slo import Slo

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
CDN = Slo("cdn-edge", 99.95, timedelta(days=30), "C0CDN")


def at(minutes: float) -> datetime:
    """``minutes`` after T0 (2026-11-22 13:42 UTC)."""
    return T0 + timedelta(minutes=minutes)


def stamp(minutes: float) -> Stamp:
    """alice, acting and recorded ``minutes`` after T0."""
    return Stamp("U0ALICE", at(minutes), at(minutes))


def incident_with(
    *steps: tuple[float, object],
    number: int = 1,
    service: str | None = "cdn-edge",
    severity: Severity = Severity.SEV1,
) -> tuple[Incident, list[TimelineEntry]]:
    """The incident declared at T0 ("CDN 502s") after each ``(minute, action)`` step, and all its entries."""
    change = declare(Declare("CDN 502s", severity, service=service), number, stamp(0))
    incident, entries = change.incident, list(change.entries)
    for minute, action in steps:
        applied = apply(incident, action, stamp(minute))  # type: ignore[arg-type]
        incident, entries = applied.incident, entries + list(applied.entries)
    return incident, entries


def summary_of(incident: Incident, channel_id: str | None = None) -> IncidentSummary:
    """What the incident list would show of ``incident`` (as ``bot.store.listing`` reads it), in channel
    ``channel_id``."""
    return IncidentSummary(
        incident.number,
        incident.title,
        incident.severity,
        incident.status,
        incident.lead,
        channel_id,
        incident.declared_at,
        incident.resolved_at,
        private=incident.private,
    )
