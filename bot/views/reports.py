"""Incident reports: counts by severity and service, time-to-X percentiles, error budget burned per service,
and follow-up completion (done on time, done late, open, open overdue, dropped) per service and severity.

``build_report`` is pure aggregation over domain objects; the renderers turn it into text, JSON or
CSV, and ``write_chart`` draws it (matplotlib, Agg backend: no display needed; the ``charts`` extra).
What the chart shows is computed by pure functions (``weekly_counts``, ``duration_points``,
``budget_shares``) that the tests check without looking at pixels.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.model import COMPLETIONS, Incident, TimelineEntry
from bot.domain.slo import SloCatalog, bad_time
from bot.domain.timeline import find_milestones
from bot.domain.timeparse import format_iso
from bot.errors import BotError, UsageError

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
    followups: dict[str, int] = field(default_factory=dict)
    """Its follow-ups by completion at the report's end (``COMPLETIONS``: done_on_time ... dropped)."""


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    incidents: list[IncidentRow]
    budgets: dict[str, float] = field(default_factory=dict)
    """Each catalogued service's error budget for one SLO window, in bad-request minutes."""

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

    def followups_by(self, key: str) -> dict[str, dict[str, int]]:
        """Follow-up completion summed per ``service`` or ``severity``: name -> category -> count (every
        category, zeros included), for the names whose incidents have follow-ups."""
        totals: dict[str, dict[str, int]] = {}
        for row in self.incidents:
            if not any(row.followups.values()):
                continue
            name = row.service if key == "service" else row.severity
            counts = totals.setdefault(name, dict.fromkeys(COMPLETIONS, 0))
            for category in COMPLETIONS:
                counts[category] += row.followups.get(category, 0)
        return dict(sorted(totals.items()))

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
    *,
    hide_private: bool = True,
) -> Report:
    """Aggregate the incidents declared since ``since``.

    Private incidents are counted; with ``hide_private`` their service reads ``(private)`` (their burn of the
    budget is counted under it), so nothing in the report says what a private incident was about."""
    rows = [
        _row(incident, entries, slos, now, hide_private)
        for incident, entries in incidents
        if incident.declared_at >= since
    ]
    budgets = {name: round(slos.slos[name].budget / timedelta(minutes=1), 2) for name in slos.names()}
    return Report(since, now, rows, budgets)


PRIVATE_SERVICE = "(private)"
"""The service a report shows for a private incident (``build_report``'s ``hide_private``)."""


def _row(
    incident: Incident, entries: Sequence[TimelineEntry], slos: SloCatalog, now: datetime, hide_private: bool
) -> IncidentRow:
    milestones = find_milestones(entries)

    def minutes(moment: datetime | None) -> float | None:
        return round((moment - milestones.detected_at) / timedelta(minutes=1), 1) if moment else None

    burned = round(bad_time(entries, now) / timedelta(minutes=1), 2) if slos.get(incident.service) else None
    return IncidentRow(
        incident_id=incident.incident_id,
        declared_at=incident.declared_at,
        severity=incident.severity.value,
        service=PRIVATE_SERVICE if incident.private and hide_private else incident.service or "(none)",
        minutes={
            "assemble": minutes(milestones.irt_assembled_at),
            "mitigate": minutes(milestones.mitigated_at),
            "resolve": minutes(milestones.resolved_at),
        },
        budget_minutes=burned,
        followups=_completion(incident, now),
    )


def _completion(incident: Incident, now: datetime) -> dict[str, int]:
    today = now.astimezone(UTC).date()
    counts = Counter(f.completion(today) for f in incident.followups)
    return {category: counts[category] for category in COMPLETIONS}


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
    lines += ["", "Follow-ups (done on time / done late / open / open overdue / dropped):"]
    for key in ("service", "severity"):
        lines.append(f"  by {key}:")
        lines += [
            f"    {name:<12} " + " / ".join(str(counts[c]) for c in COMPLETIONS)
            for name, counts in report.followups_by(key).items()
        ] or ["    none"]
    return "\n".join(lines)


def render_json(report: Report) -> str:
    """``report_document`` as indented JSON (``incidentbot report --format json``)."""
    return json.dumps(report_document(report), indent=2)


def report_document(report: Report) -> dict[str, Any]:
    """The report as JSON-able data: ``since``, ``until`` (ISO 8601 UTC), ``count``, ``by_severity``,
    ``by_service``, ``minutes_from_detection`` (median, p90, count per measure, minutes), ``budget_burned_minutes``,
    ``followups`` (``by_service``, ``by_severity``) and ``incidents`` (one row each); the CLI and ``/api/v1/report``
    answer with it."""
    document: dict[str, Any] = {
        "since": format_iso(report.since),
        "until": format_iso(report.until),
        "count": len(report.incidents),
        "by_severity": report.by_severity(),
        "by_service": report.by_service(),
        "minutes_from_detection": report.percentiles(),
        "budget_burned_minutes": report.budget_by_service(),
        "followups": {"by_service": report.followups_by("service"), "by_severity": report.followups_by("severity")},
        "incidents": [
            {
                "incident": r.incident_id,
                "declared_at": format_iso(r.declared_at),
                "severity": r.severity,
                "service": r.service,
                **{f"minutes_to_{k}": v for k, v in r.minutes.items()},
                "budget_burned_minutes": r.budget_minutes,
                "followups": r.followups,
            }
            for r in report.incidents
        ],
    }
    return document


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
            *(f"followups_{category}" for category in COMPLETIONS),
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
                *(r.followups.get(category, 0) for category in COMPLETIONS),
            ]
        )
    return out.getvalue()


PERIOD_UNITS = {"d": 1, "w": 7, "m": 30}
"""Days per unit of a report period (``90d``, ``12w``, ``6m``: a month is 30 days)."""


def parse_since(text: str) -> timedelta:
    """A report period, ``Nd``, ``Nw`` or ``Nm`` (N from 1 to 3650), as a duration. Raises UsageError."""
    value, unit = text[:-1], text[-1:].lower()
    if not value.isdecimal() or unit not in PERIOD_UNITS or not 0 < int(value) <= 3650:
        raise UsageError(f"`--since {text}` is not a period; use e.g. 90d, 12w or 6m.")
    return timedelta(days=int(value) * PERIOD_UNITS[unit])


CHART_FORMATS = {".png": "png", ".svg": "svg"}
"""Chart file formats by extension (case-insensitive)."""
CHARTS_MISSING = "Charts need matplotlib, which is not installed: pip install 'incidentbot[charts]'."
SEVERITY_COLOURS = {"sev1": "#c0392b", "sev2": "#e67e22", "sev3": "#f1c40f", "sev4": "#7f8c8d"}


def chart_format_for(path: Path) -> str:
    """``png`` or ``svg`` from the file's extension; raises UsageError for any other name, so a wrong name
    is refused before any work. A missing matplotlib is found by ``write_chart`` (BotError with the
    install command), after the report itself was printed."""
    chart_format = CHART_FORMATS.get(path.suffix.lower())
    if chart_format is None:
        raise UsageError(f"`--chart {path}`: a chart is written as PNG or SVG; name the file .png or .svg.")
    return chart_format


def weekly_counts(report: Report) -> list[tuple[date, dict[str, int]]]:
    """Incidents per ISO week (Monday's date) and severity, for every week of the period, empty ones too."""
    first = _monday(report.since.date())
    last = _monday(report.until.date())
    weeks = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    counts: dict[date, Counter[str]] = {week: Counter() for week in weeks}
    for row in report.incidents:
        counts.setdefault(_monday(row.declared_at.date()), Counter())[row.severity] += 1
    return [(week, dict(sorted(counts[week].items()))) for week in sorted(counts)]


def duration_points(report: Report, measure: str) -> list[tuple[datetime, float, str]]:
    """(declared at, minutes from detection to ``measure``, incident id) in date order, where it was reached."""
    points = [(r.declared_at, m, r.incident_id) for r in report.incidents if (m := r.minutes[measure]) is not None]
    return sorted(points)


def budget_shares(report: Report) -> dict[str, float]:
    """Per catalogued service, in natural name order (``api-2`` before ``api-10``), the bad-request minutes
    of the period's incidents as a percentage of one window's budget (100 = the whole budget), so services
    with different objectives compare fairly."""
    burned = report.budget_by_service()
    return {
        name: round(100 * burned.get(name, 0.0) / budget, 1) if budget > 0 else 0.0
        for name, budget in sorted(report.budgets.items(), key=lambda item: natural_key(item[0]))
    }


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key reading digit runs as numbers: ``name-1, name-2, name-10`` (not ``name-1, name-10, name-2``)."""
    return tuple((0, int(part)) if part.isdecimal() else (1, part) for part in re.split(r"(\d+)", name) if part)


BUDGET_AXIS_MIN = 150.0
"""The budget panel's axis always reaches 150%: the 100% line is never at the edge."""
BUDGET_AXIS_MAX = 500.0
"""Beyond 500% a bar is drawn clipped at the edge with its real value written on it."""
BUDGET_LABEL_ROOM = 1.12
"""The panel runs 12% past the axis limit: room for the labels right of the bars."""


def budget_axis_limit(shares: dict[str, float]) -> float:
    """The right end of the budget panel's axis, in percent: the 90th percentile of the shares (so one
    service far over budget does not squash the others), at least 150 (the 100% line stays inside) and
    at most 500, rounded up to a multiple of 50. Bars past it are drawn clipped (``budget_bars``)."""
    p90 = percentile(sorted(shares.values()), 90) or 0.0
    return float(min(BUDGET_AXIS_MAX, max(BUDGET_AXIS_MIN, math.ceil(p90 / 50) * 50)))


@dataclass(frozen=True)
class BudgetBar:
    """One bar of the budget panel: its service, drawn length and label (percent), and whether it is
    clipped at the axis end (the label then gives the real value)."""

    service: str
    length: float
    label: str
    clipped: bool


def budget_bars(shares: dict[str, float]) -> list[BudgetBar]:
    """The bars of the budget panel, in the order of ``shares``, with labels giving the real share
    (``700,000%``): a share past ``budget_axis_limit`` is clipped, drawn to the panel's right edge
    (the limit plus the label room)."""
    limit = budget_axis_limit(shares)
    edge = round(limit * BUDGET_LABEL_ROOM, 1)
    return [
        BudgetBar(name, edge if value > limit else value, _percent(value), value > limit)
        for name, value in shares.items()
    ]


def _percent(value: float) -> str:
    return f"{value:,.0f}%" if value >= 1000 else f"{value:g}%"


def write_chart(report: Report, path: Path, chart_format: str | None = None) -> None:
    """Draw the report to ``path`` (PNG or SVG, from the extension unless ``chart_format`` is given).

    Three panels over the period: incidents per week by severity (every week, integer counts), minutes
    from detection to mitigation and to resolution per incident in date order, and each catalogued
    service's budget burned as a percentage of its budget with the 100% line. An empty period says
    "No incidents in this period". Raises UsageError for another extension, BotError without matplotlib,
    OSError when the file cannot be written.
    """
    chart_format = chart_format or chart_format_for(path)
    try:
        import matplotlib
    except ImportError as exc:
        raise BotError(CHARTS_MISSING) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    title = f"Incidents {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "incidentbot"}):
        if not report.incidents:
            figure = plt.figure(figsize=(10, 3))
            figure.suptitle(title)
            figure.text(0.5, 0.45, "No incidents in this period", ha="center", va="center", fontsize=16)
            figure.savefig(path, format=chart_format, dpi=100)
            plt.close(figure)
            return
        shares = budget_shares(report)
        heights = [3.6, 3.6] + ([budget_panel_height(len(shares))] if shares else [])
        figure, axes = plt.subplots(
            len(heights),
            1,
            figsize=(10, sum(heights) + 0.6),
            height_ratios=heights,
            constrained_layout=True,
        )
        weeks = [week for week, _ in weekly_counts(report)]
        span = (_midnight(weeks[0]) - timedelta(days=1), _midnight(weeks[-1]) + timedelta(days=8))
        _weekly_panel(axes[0], report, MaxNLocator)
        _durations_panel(axes[1], report)
        for panel in axes[:2]:  # one time axis: the period's weeks, Monday to Monday
            panel.set_xlim(*span)
            step = max(1, math.ceil(len(weeks) / 12))
            ticks = weeks[::step]
            panel.set_xticks([_midnight(week) for week in ticks])
            panel.set_xticklabels(_tick_labels(ticks))
        if shares:
            _budget_panel(axes[2], shares, report)
        figure.suptitle(title)
        figure.savefig(path, format=chart_format, dpi=100)
        plt.close(figure)


def _weekly_panel(axes: Any, report: Report, locator: Any) -> None:
    weeks = weekly_counts(report)
    days = [_midnight(week) + timedelta(days=1) for week, _ in weeks]  # each bar spans Tuesday to Saturday
    severities = sorted({severity for _, counts in weeks for severity in counts})
    bottom = [0] * len(weeks)
    for severity in severities:
        counts = [week_counts.get(severity, 0) for _, week_counts in weeks]
        axes.bar(
            days,
            counts,
            width=timedelta(days=5),
            align="edge",
            bottom=bottom,
            label=severity,
            color=SEVERITY_COLOURS.get(severity),
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_title("Incidents per week (weeks start on Monday), by severity")
    axes.set_ylabel("incidents")
    axes.yaxis.set_major_locator(locator(integer=True))
    axes.set_ylim(0, max(max(bottom, default=0), 1) + 0.5)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # beside the panel: over no bar


def _durations_panel(axes: Any, report: Report) -> None:
    drawn = False
    highest = 0.0
    for measure, marker in (("mitigate", "o"), ("resolve", "s")):
        points = duration_points(report, measure)
        if points:
            drawn = True
            highest = max(highest, *(p[1] for p in points))
            axes.plot(
                [p[0] for p in points], [p[1] for p in points], marker=marker, linestyle="-", label=f"to {measure}"
            )
    axes.set_title("Minutes from detection to mitigation and resolution, per incident (by declaration date)")
    axes.set_ylabel("minutes")
    axes.set_ylim(0, max(highest, 1.0) * 1.12)  # room above the highest marker
    if drawn:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # beside the panel: over no bar
    else:
        axes.text(0.5, 0.5, "No incident was mitigated or resolved", transform=axes.transAxes, ha="center")


BUDGET_ROW_INCHES = 0.3
"""Height of one service's row in the budget panel: 9-point labels never overlap, whatever the count."""


def budget_panel_height(services: int) -> float:
    """Inches for the budget panel of ``services`` bars: 0.3 per bar plus 1.4 for title and axis, at least 3."""
    return max(3.0, BUDGET_ROW_INCHES * services + 1.4)


def _budget_panel(axes: Any, shares: dict[str, float], report: Report) -> None:
    bars = budget_bars(shares)
    limit = budget_axis_limit(shares)
    rows = range(len(bars))
    colours = ["#c0392b" if shares[bar.service] >= 100 else "#2e86c1" for bar in bars]
    axes.barh(list(rows), [bar.length for bar in bars], color=colours, height=0.7)
    axes.set_yticks(list(rows))
    axes.set_yticklabels([bar.service for bar in bars], fontsize=9)
    for y, bar in zip(rows, bars, strict=True):
        if bar.clipped:  # the bar runs off the axis: its real value, inside its end, with an arrow
            axes.text(
                bar.length,
                y,
                f"{bar.label} \u25b6 ",
                va="center",
                ha="right",
                fontsize=9,
                color="white",
                fontweight="bold",
            )
        else:
            axes.text(bar.length, y, f" {bar.label}", va="center", ha="left", fontsize=9)
    axes.axvline(100, color="black", linestyle="--", linewidth=1.2, zorder=3)
    axes.text(
        100, 1.0, "100% = the whole budget", transform=axes.get_xaxis_transform(), ha="center", va="bottom", fontsize=8
    )
    axes.set_xlim(0, round(limit * BUDGET_LABEL_ROOM, 1))  # room for the labels right of the bars
    axes.set_ylim(len(bars) - 0.5, -0.5)  # first service at the top
    axes.xaxis.set_major_formatter(lambda value, _position: f"{value:g}%")
    clipped = "\n(\u25b6: the bar runs past the end of the axis; its real value is written on it)"
    axes.set_xlabel(
        "% of the service's error budget (one SLO window) burned by this period's incidents"
        + (clipped if any(bar.clipped for bar in bars) else "")
    )
    axes.set_title("Error budget burned, per catalogued service", pad=14)


def _tick_labels(weeks: Sequence[date]) -> list[str]:
    """``Mar 09``, with the year under the first label and wherever the year changes."""
    return [
        f"{week:%b %d}\n{week:%Y}" if i == 0 or week.year != weeks[i - 1].year else f"{week:%b %d}"
        for i, week in enumerate(weeks)
    ]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
