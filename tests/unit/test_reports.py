"""Reports: counts, median/p90 of time to assemble/mitigate/resolve, budget burned; text/JSON/CSV/PNG."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.commands import Assemble, Assignee, Declare, Resolve, Rollback, SetImpact, UserRef
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Incident, Severity, TimelineEntry
from bot.domain.slo import Slo, SloCatalog
from bot.views.reports import build_report, percentile, render_csv, render_json, render_text, write_chart

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
CATALOG = SloCatalog({"cdn-edge": Slo("cdn-edge", 99.95, timedelta(days=30))})


def incident(
    number: int,
    day: int,
    severity: Severity,
    service: str | None,
    assemble: int,
    mitigate: int,
    resolve: int | None,
) -> tuple[Incident, list[TimelineEntry]]:
    start = T0 + timedelta(days=day)
    change = declare(Declare(f"incident {number}", severity, service=service), number, Stamp("U0A", start, start))
    current, entries = change.incident, list(change.entries)
    steps = [(0, SetImpact(10)), (assemble, Assemble((Assignee(UserRef("U0B")),))), (mitigate, Rollback("x"))]
    if resolve is not None:
        steps.append((resolve, Resolve("")))
    for minute, action in steps:
        moment = start + timedelta(minutes=minute)
        applied = apply(current, action, Stamp("U0A", moment, moment))  # type: ignore[arg-type]
        current, entries = applied.incident, entries + list(applied.entries)
    return current, entries


INCIDENTS = [
    incident(1, 0, Severity.SEV1, "cdn-edge", 8, 53, 63),
    incident(2, 10, Severity.SEV2, "cdn-edge", 4, 20, 30),
    incident(3, 20, Severity.SEV2, None, 12, 40, None),
    incident(4, 40, Severity.SEV3, "search", 2, 10, 15),
]
NOW = T0 + timedelta(days=50)


class TestAggregation:
    def test_percentile_interpolates_like_numpy(self) -> None:
        """Median of 4 values is the mean of the middle two; p90 interpolates; no values gives None."""
        assert percentile([4, 8, 12, 20], 50) == 10
        assert percentile([4, 8, 12, 20], 90) == 17.6
        assert percentile([], 50) is None

    def test_counts_times_and_budget(self) -> None:
        """Counts by severity and service, medians over incidents reaching each milestone, budget burned."""
        report = build_report(INCIDENTS, CATALOG, T0, NOW)
        assert report.by_severity() == {"sev1": 1, "sev2": 2, "sev3": 1}
        assert report.by_service() == {"(none)": 1, "cdn-edge": 2, "search": 1}
        stats = report.percentiles()
        assert stats["assemble"]["median"] == 6.0 and stats["resolve"]["count"] == 3
        assert stats["resolve"]["median"] == 30 and stats["mitigate"]["p90"] == 49.1
        assert report.budget_by_service() == {"cdn-edge": 7.3}  # 10% x (53 + 20) min; search has no SLO

    def test_since_filters_by_declaration(self) -> None:
        """Incidents declared before --since are left out."""
        assert [r.incident_id for r in build_report(INCIDENTS, CATALOG, T0 + timedelta(days=15), NOW).incidents] == [
            "INC-3",
            "INC-4",
        ]


class TestFormats:
    def test_text(self) -> None:
        """The text report names each section with its numbers."""
        text = render_text(build_report(INCIDENTS, CATALOG, T0, NOW))
        assert "Incidents 2026-09-01 to 2026-10-21: 4" in text
        assert "to resolve   30 min / 56.4 min  (n=3)" in text and "cdn-edge     7.3 min" in text

    def test_json(self) -> None:
        """JSON carries the aggregates and one object per incident."""
        document = json.loads(render_json(build_report(INCIDENTS, CATALOG, T0, NOW)))
        assert document["count"] == 4 and document["by_severity"]["sev2"] == 2
        assert document["incidents"][2]["minutes_to_resolve"] is None
        assert document["budget_burned_minutes"] == {"cdn-edge": 7.3}

    def test_csv(self) -> None:
        """CSV is one row per incident with a header; unreached milestones are empty cells."""
        rows = list(csv.DictReader(io.StringIO(render_csv(build_report(INCIDENTS, CATALOG, T0, NOW)))))
        assert [r["incident"] for r in rows] == ["INC-1", "INC-2", "INC-3", "INC-4"]
        assert rows[0]["minutes_to_mitigate"] == "53.0" and rows[2]["minutes_to_resolve"] == ""

    def test_chart_is_a_real_png(self, tmp_path: Path) -> None:
        """The chart file starts with the PNG signature and is more than a blank canvas."""
        path = tmp_path / "report.png"
        write_chart(build_report(INCIDENTS, CATALOG, T0, NOW), path)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000

    def test_chart_without_incidents(self, tmp_path: Path) -> None:
        """An empty period still draws (empty panels), so scheduled reports never crash."""
        path = tmp_path / "empty.png"
        write_chart(build_report([], CATALOG, T0, NOW), path)
        assert path.read_bytes()[:4] == b"\x89PNG"
