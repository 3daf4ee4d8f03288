"""Incident reports: counts by severity and service, time-to-X percentiles, error budget burned per service.

``build_report`` is pure aggregation over domain objects; the renderers turn it into text, JSON or
CSV, and ``write_chart`` draws it (matplotlib, Agg backend: no display needed).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.model import Incident, TimelineEntry
from bot.domain.slo import SloCatalog, bad_time
from bot.domain.timeline import find_milestones
from bot.domain.timeparse import format_iso

MEASURES = ("assemble", "mitigate", "resolve")


@dataclass(frozen=True)
class IncidentRow:
    """One incident as the report counts it; durations in minutes from detection (None: not reached)."""

    incident_id: str
    declared_at: datetime
    severity: str
    service: str
    minutes: dict[str, float | None]
    budget_minutes: float | None
    """Bad-request minutes, None when the service has no SLO."""


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    incidents: list[IncidentRow]

    def by_severity(self) -> dict[str, int]:
        return dict(sorted(Counter(i.severity for i in self.incidents).items()))

    def by_service(self) -> dict[str, int]:
        return dict(sorted(Counter(i.service for i in self.incidents).items()))

    def percentiles(self) -> dict[str, dict[str, float | None]]:
        """Median and p90 of each time-to measure, in minutes, over the incidents that reached it."""
        result: dict[str, dict[str, float | None]] = {}
        for measure in MEASURES:
            values = sorted(v for i in self.incidents if (v := i.minutes[measure]) is not None)
            result[measure] = {
                "median": percentile(values, 50),
                "p90": percentile(values, 90),
                "count": len(values),
            }
        return result

    def budget_by_service(self) -> dict[str, float]:
        """Bad-request minutes per catalogued service (impact x duration)."""
        burned: dict[str, float] = {}
        for row in self.incidents:
            if row.budget_minutes is not None:
                burned[row.service] = round(burned.get(row.service, 0.0) + row.budget_minutes, 2)
        return dict(sorted(burned.items()))


def percentile(sorted_values: Sequence[float], percent: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * percent / 100
    low, high = math.floor(rank), math.ceil(rank)
    value = sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)
    return round(value, 1)


def build_report(
    incidents: Sequence[tuple[Incident, Sequence[TimelineEntry]]],
    slos: SloCatalog,
    since: datetime,
    now: datetime,
) -> Report:
    """Aggregate the incidents declared since ``since``."""
    rows = [_row(incident, entries, slos, now) for incident, entries in incidents if incident.declared_at >= since]
    return Report(since, now, rows)


def _row(incident: Incident, entries: Sequence[TimelineEntry], slos: SloCatalog, now: datetime) -> IncidentRow:
    milestones = find_milestones(entries)

    def minutes(moment: datetime | None) -> float | None:
        return round((moment - milestones.detected_at) / timedelta(minutes=1), 1) if moment else None

    burned = round(bad_time(entries, now) / timedelta(minutes=1), 2) if slos.get(incident.service) else None
    return IncidentRow(
        incident_id=incident.incident_id,
        declared_at=incident.declared_at,
        severity=incident.severity.value,
        service=incident.service or "(none)",
        minutes={
            "assemble": minutes(milestones.irt_assembled_at),
            "mitigate": minutes(milestones.mitigated_at),
            "resolve": minutes(milestones.resolved_at),
        },
        budget_minutes=burned,
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g} min"


def render_text(report: Report) -> str:
    lines = [
        f"Incidents {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}: {len(report.incidents)}",
        "",
        "By severity:",
    ]
    lines += [f"  {name:<12} {count}" for name, count in report.by_severity().items()] or ["  none"]
    lines += ["", "By service:"]
    lines += [f"  {name:<12} {count}" for name, count in report.by_service().items()] or ["  none"]
    lines += ["", "Time from detection (median / p90):"]
    for measure, stats in report.percentiles().items():
        lines.append(f"  to {measure:<9} {_fmt(stats['median'])} / {_fmt(stats['p90'])}  (n={stats['count']:g})")
    lines += ["", "Error budget burned (bad-request minutes):"]
    lines += [f"  {name:<12} {minutes:g} min" for name, minutes in report.budget_by_service().items()] or ["  none"]
    return "\n".join(lines)


def render_json(report: Report) -> str:
    document: dict[str, Any] = {
        "since": format_iso(report.since),
        "until": format_iso(report.until),
        "count": len(report.incidents),
        "by_severity": report.by_severity(),
        "by_service": report.by_service(),
        "minutes_from_detection": report.percentiles(),
        "budget_burned_minutes": report.budget_by_service(),
        "incidents": [
            {
                "incident": r.incident_id,
                "declared_at": format_iso(r.declared_at),
                "severity": r.severity,
                "service": r.service,
                **{f"minutes_to_{k}": v for k, v in r.minutes.items()},
                "budget_burned_minutes": r.budget_minutes,
            }
            for r in report.incidents
        ],
    }
    return json.dumps(document, indent=2)


def render_csv(report: Report) -> str:
    """One row per incident: spreadsheets do the rest."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "incident",
            "declared_at",
            "severity",
            "service",
            "minutes_to_assemble",
            "minutes_to_mitigate",
            "minutes_to_resolve",
            "budget_burned_minutes",
        ]
    )
    for r in report.incidents:
        writer.writerow(
            [
                r.incident_id,
                format_iso(r.declared_at),
                r.severity,
                r.service,
                *("" if r.minutes[m] is None else r.minutes[m] for m in MEASURES),
                "" if r.budget_minutes is None else r.budget_minutes,
            ]
        )
    return out.getvalue()


def write_chart(report: Report, path: Path) -> None:
    """Three panels: incidents per week by severity, time to mitigate/resolve, budget burned per service."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (weekly, durations, budget) = plt.subplots(3, 1, figsize=(10, 11), constrained_layout=True)
    _weekly_panel(weekly, report)
    for measure, marker in (("mitigate", "o"), ("resolve", "s")):
        points = [(r.declared_at, r.minutes[measure]) for r in report.incidents if r.minutes[measure] is not None]
        durations.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker=marker,
            linestyle="-",
            label=f"time to {measure}",
        )
    durations.set_title("Minutes from detection, per incident")
    durations.set_ylabel("minutes")
    durations.legend(loc="upper left")
    burned = report.budget_by_service()
    budget.bar(list(burned) or ["(none)"], list(burned.values()) or [0], color="tab:red")
    budget.set_title("Error budget burned per service (bad-request minutes)")
    figure.suptitle(f"Incidents {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}")
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)


def _weekly_panel(axes: Any, report: Report) -> None:
    weeks = sorted({_week(r.declared_at) for r in report.incidents})
    bottom = [0] * len(weeks)
    for severity in sorted({r.severity for r in report.incidents}):
        counts = [
            sum(1 for r in report.incidents if r.severity == severity and _week(r.declared_at) == w) for w in weeks
        ]
        axes.bar(weeks, counts, bottom=bottom, label=severity)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_title("Incidents per week by severity")
    axes.set_ylabel("incidents")
    if weeks:
        axes.legend(loc="upper left")


def _week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"
