"""Service level objectives and error budgets: how much unreliability each incident spent.

An incident's impact is a step function of time: ``impact N%`` entries set the share of requests
failing from their (possibly backdated) time until the next ``impact`` entry or, failing that,
until the incident is mitigated or resolved (or now, while it is still open). Its cost is the
integral of that share over time ("bad minutes"), charged against the service's budget
``(1 - SLO) x window``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import UsageError
from bot.domain.model import EntryKind, Incident, Status, TimelineEntry, sorted_timeline
from bot.domain.privacy import PRIVATE_TITLE

BUDGET_POLICY = (
    "Error budget policy: release freeze for {service} until the budget recovers; only fixes and reliability work ship."
)


@dataclass(frozen=True)
class Slo:
    """One service's objective, e.g. availability 99.95% over 30 days, and the channel that owns it."""

    service: str
    objective_percent: float
    window: timedelta
    owner_channel: str | None = None
    statuspage_components: tuple[str, ...] = ()
    """The service's Statuspage component ids (``statuspage_components`` in slos.yml), in the order given."""

    @property
    def budget(self) -> timedelta:
        """The bad-request time the window allows: (1 - SLO) x window."""
        return self.window * (1 - self.objective_percent / 100)

    def describe(self) -> str:
        return f"{self.objective_percent:g}% availability over {self.window.days} days"


@dataclass(frozen=True)
class SloCatalog:
    """The services the team runs, by name."""

    slos: Mapping[str, Slo]

    def get(self, service: str | None) -> Slo | None:
        return self.slos.get(service) if service else None

    def names(self) -> list[str]:
        return sorted(self.slos)

    def statuspage_components(self) -> dict[str, tuple[str, ...]]:
        """Each catalogued service's Statuspage component ids (empty for a service without them)."""
        return {name: slo.statuspage_components for name, slo in self.slos.items()}

    def closest(self, name: str) -> str | None:
        """The catalogued name most like ``name`` (difflib ratio at least 0.6), or None."""
        matches = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.6)
        return matches[0] if matches else None

    def misspelt(self, name: str | None) -> str | None:
        """The catalogued name ``name`` looks like a misspelling of (``cdn-egde`` -> ``cdn-edge``), or None
        when ``name`` is catalogued, resembles nothing (a service without an SLO), or no catalogue is loaded."""
        if not name or not self.slos or name in self.slos:
            return None
        return self.closest(name)

    def check_service(self, name: str) -> None:
        """Refuse ``service NAME`` that looks like a misspelt catalogued service (no budget would be charged).

        Raises UsageError naming the closest catalogued name when ``name`` is not in the catalogue but
        one is close (difflib ratio >= 0.6: ``cdn-egde`` -> ``cdn-edge``). A name nothing resembles is a
        service without an SLO and is accepted, as is any name when no catalogue is loaded.
        """
        close = self.misspelt(name)
        if close is not None:
            known = ", ".join(self.names())
            raise UsageError(f"`{name}` is not in the SLO catalogue; did you mean `{close}`? (catalogued: {known})")


EMPTY_CATALOG = SloCatalog({})


@dataclass(frozen=True)
class ImpactSpan:
    """A stretch of time with a constant share of requests failing."""

    start: datetime
    end: datetime
    fraction: float

    @property
    def bad_time(self) -> timedelta:
        return (self.end - self.start) * self.fraction


def impact_spans(entries: Iterable[TimelineEntry], now: datetime) -> list[ImpactSpan]:
    """The impact step function from ``impact`` entries, cut at mitigation/resolution or ``now``."""
    ordered = sorted_timeline(list(entries))
    impacts = [e for e in ordered if e.kind is EntryKind.IMPACT]
    endings = [e.occurred_at for e in ordered if (s := Status.of_entry(e)) is not None and s.is_mitigated]
    spans: list[ImpactSpan] = []
    for index, entry in enumerate(impacts):
        following = impacts[index + 1].occurred_at if index + 1 < len(impacts) else None
        stop = next((moment for moment in endings if moment >= entry.occurred_at), None)
        end = min(m for m in (following, stop, now) if m is not None)
        fraction = float(entry.data.get("percent") or 0) / 100
        if end > entry.occurred_at and fraction > 0:
            spans.append(ImpactSpan(entry.occurred_at, end, fraction))
    return spans


def bad_time(entries: Iterable[TimelineEntry], now: datetime, since: datetime | None = None) -> timedelta:
    """Bad-request time (share failing x duration), only the part after ``since`` if given."""
    total = timedelta()
    for span in impact_spans(entries, now):
        start = max(span.start, since) if since else span.start
        if span.end > start:
            total += (span.end - start) * span.fraction
    return total


@dataclass(frozen=True)
class IncidentBurn:
    """What one incident cost a service's error budget."""

    incident_id: str
    title: str
    bad_time: timedelta
    budget_share: float

    @property
    def percent_of_budget(self) -> float:
        return self.budget_share * 100


@dataclass(frozen=True)
class BudgetReport:
    """A service's budget over the window ending ``now``: burn by incident, what is left."""

    slo: Slo
    window_start: datetime
    now: datetime
    burns: tuple[IncidentBurn, ...]

    @property
    def consumed(self) -> timedelta:
        return sum((b.bad_time for b in self.burns), timedelta())

    @property
    def remaining(self) -> timedelta:
        return self.slo.budget - self.consumed

    @property
    def remaining_share(self) -> float:
        budget = self.slo.budget.total_seconds()
        return self.remaining.total_seconds() / budget if budget else 0.0

    @property
    def exhausted(self) -> bool:
        return self.remaining <= timedelta()

    def policy(self) -> str:
        return BUDGET_POLICY.format(service=self.slo.service)


def incident_burn(
    slo: Slo,
    incident: Incident,
    entries: Sequence[TimelineEntry],
    now: datetime,
    since: datetime | None = None,
) -> IncidentBurn:
    """The share of ``slo``'s budget the incident consumed (after ``since``, when given)."""
    spent = bad_time(entries, now, since)
    budget = slo.budget.total_seconds()
    title = PRIVATE_TITLE if incident.private else incident.title  # budget lines are read by anyone
    return IncidentBurn(incident.incident_id, title, spent, spent.total_seconds() / budget if budget else 0)


def budget_report(
    slo: Slo, incidents: Sequence[tuple[Incident, Sequence[TimelineEntry]]], now: datetime
) -> BudgetReport:
    """The budget of ``slo.service`` over the window ending ``now``; other services' incidents are ignored."""
    window_start = now - slo.window
    burns = tuple(
        incident_burn(slo, incident, entries, now, since=window_start)
        for incident, entries in incidents
        if incident.service == slo.service
    )
    return BudgetReport(slo, window_start, now, tuple(b for b in burns if b.bad_time > timedelta()))


def format_budget_time(delta: timedelta) -> str:
    """Budgets are small: ``21.6 min``, ``1.5 h``."""
    minutes = delta.total_seconds() / 60
    if abs(minutes) < 120:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h"


def budget_lines(report: BudgetReport) -> list[str]:
    """The few sentences every surface (Slack, CLI, App Home) shows for one service."""
    slo = report.slo
    lines = [
        f"{slo.service}: SLO {slo.describe()}; budget {format_budget_time(slo.budget)} of failed requests.",
        f"Consumed {format_budget_time(report.consumed)}; remaining {format_budget_time(report.remaining)} "
        f"({report.remaining_share * 100:.1f}% of the budget).",
    ]
    lines += [
        f"  {b.incident_id} {b.title}: {format_budget_time(b.bad_time)} ({b.percent_of_budget:.1f}%)"
        for b in report.burns
    ]
    if report.exhausted:
        lines.append(f"Budget exhausted. {report.policy()}")
    return lines
