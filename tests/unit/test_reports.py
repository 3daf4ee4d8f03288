"""Reports: counts, median/p90 of time to assemble/mitigate/resolve, budget burned; text/JSON/CSV/PNG."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import Assemble, Assignee, Declare, Resolve, Rollback, SetImpact, UserRef
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Incident, Severity, TimelineEntry
from bot.domain.slo import Slo, SloCatalog
from bot.errors import UsageError
from bot.views.reports import (
    BudgetBar,
    budget_axis_limit,
    budget_bars,
    budget_panel_height,
    budget_shares,
    build_report,
    duration_points,
    natural_key,
    percentile,
    render_csv,
    render_json,
    render_text,
    weekly_counts,
    write_chart,
)

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

    def test_chart_without_incidents_says_so(self, tmp_path: Path) -> None:
        """An empty period draws one line of text instead of meaningless axes (SVG keeps text as text)."""
        path = tmp_path / "empty.svg"
        write_chart(build_report([], CATALOG, T0, NOW), path)
        svg = path.read_text()
        assert svg.startswith("<?xml") and "<svg" in svg
        assert "No incidents in this period" in svg
        assert "incidents per week" not in svg.lower()

    @pytest.mark.parametrize(
        ("name", "signature"), [("r.png", b"\x89PNG\r\n\x1a\n"), ("r.PNG", b"\x89PNG\r\n\x1a\n"), ("r.svg", b"<?xml")]
    )
    def test_the_format_follows_the_extension(self, tmp_path: Path, name: str, signature: bytes) -> None:
        """.png (any case) gives PNG bytes, .svg gives SVG text."""
        write_chart(build_report(INCIDENTS, CATALOG, T0, NOW), tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(signature)

    @pytest.mark.parametrize("name", ["r.txt", "r.jpg", "r.pdf", "chart", "r.png.txt"])
    def test_other_extensions_are_refused_and_nothing_is_written(self, tmp_path: Path, name: str) -> None:
        """Any other name is a usage error naming the two formats; no file appears."""
        with pytest.raises(UsageError) as caught:
            write_chart(build_report(INCIDENTS, CATALOG, T0, NOW), tmp_path / name)
        assert caught.value.user_message == (
            f"`--chart {tmp_path / name}`: a chart is written as PNG or SVG; name the file .png or .svg."
        )
        assert list(tmp_path.iterdir()) == []

    def test_the_svg_shows_the_budget_share_and_the_100_percent_line(self, tmp_path: Path) -> None:
        """cdn-edge burned 7.3 of its 21.6 budget minutes: the bar reads 33.8%, beside the 100% line."""
        path = tmp_path / "r.svg"
        write_chart(build_report(INCIDENTS, CATALOG, T0, NOW), path)
        svg = path.read_text()
        assert " 33.8%" in svg and "100% = the whole budget" in svg


class TestChartData:
    def test_every_week_of_the_period_is_counted_empty_ones_too(self) -> None:
        """Weeks (Mondays) from --since to now, with zero-incident weeks present and counts by severity."""
        weeks = weekly_counts(build_report(INCIDENTS, CATALOG, T0, NOW))
        assert weeks == [
            (date(2026, 8, 31), {"sev1": 1}),
            (date(2026, 9, 7), {"sev2": 1}),
            (date(2026, 9, 14), {}),
            (date(2026, 9, 21), {"sev2": 1}),
            (date(2026, 9, 28), {}),
            (date(2026, 10, 5), {"sev3": 1}),
            (date(2026, 10, 12), {}),
            (date(2026, 10, 19), {}),
        ]

    def test_points_are_in_date_order_not_incident_number_order(self) -> None:
        """A backdated incident (INC-2 declared before INC-1) comes first on the time axis."""
        backdated = [
            incident(1, 10, Severity.SEV2, "cdn-edge", 5, 30, 40),
            incident(2, 3, Severity.SEV1, "cdn-edge", 5, 60, 90),
            incident(3, 20, Severity.SEV3, None, 5, 15, None),
        ]
        report = build_report(backdated, CATALOG, T0, NOW)
        assert duration_points(report, "mitigate") == [
            (T0 + timedelta(days=3), 60.0, "INC-2"),
            (T0 + timedelta(days=10), 30.0, "INC-1"),
            (T0 + timedelta(days=20), 15.0, "INC-3"),
        ]
        assert [p[2] for p in duration_points(report, "resolve")] == ["INC-2", "INC-1"]

    def test_budget_burn_is_a_share_of_each_budget(self) -> None:
        """7.3 bad minutes of cdn-edge's 21.6 (99.95% over 30 days) is 33.8%; an idle catalogued service is 0%,
        and the same minutes weigh less against a looser objective (99% over 30 days: 432 minutes)."""
        catalog = SloCatalog(
            {
                "cdn-edge": Slo("cdn-edge", 99.95, timedelta(days=30)),
                "search": Slo("search", 99.0, timedelta(days=30)),
                "idle": Slo("idle", 99.9, timedelta(days=30)),
            }
        )
        shares = budget_shares(build_report(INCIDENTS, catalog, T0, NOW))
        assert shares == {"cdn-edge": 33.8, "idle": 0.0, "search": 0.2}  # search: 10% x 10 min = 1 of 432 min


class TestBudgetPanel:
    """The budget panel stays readable (issue 13, D): one service far over budget does not hide the others nor
    the 100% line, many services get room, names sort naturally."""

    def test_names_sort_naturally(self) -> None:
        names = ["name-10", "name-2", "name-1", "api", "name-11", "name-1b", "db-3"]
        assert sorted(names, key=natural_key) == ["api", "db-3", "name-1", "name-1b", "name-2", "name-10", "name-11"]

    def test_budget_shares_come_in_natural_order(self) -> None:
        catalog = SloCatalog({f"svc-{n}": Slo(f"svc-{n}", 99.9, timedelta(days=30)) for n in (10, 2, 1, 11)})
        assert list(budget_shares(build_report([], catalog, T0, NOW))) == ["svc-1", "svc-2", "svc-10", "svc-11"]

    @pytest.mark.parametrize(
        ("values", "limit"),
        [
            ([], 150.0),
            ([0.0, 12.0, 33.8], 150.0),
            ([*[17.0 * (n % 9) for n in range(30)], 700_000.0], 150.0),  # the tester's: p90 is 136
            ([33.8, 250.0], 250.0),  # p90 228.4, rounded up to a multiple of 50
            ([180.0, 190.0, 201.0], 200.0),  # p90 198.8
            ([900.0, 5000.0, 12000.0], 500.0),  # everything far over: the axis stops at 500%
        ],
    )
    def test_axis_limit(self, values: list[float], limit: float) -> None:
        assert budget_axis_limit({f"s{i}": v for i, v in enumerate(values)}) == limit

    def test_the_testers_case_clips_one_bar_and_writes_its_value(self) -> None:
        """31 services, service-7 at 700,000%: its bar ends at the panel edge (150% x 1.12) labelled 700,000%."""
        shares = {f"service-{n}": 700_000.0 if n == 7 else 50.0 for n in range(1, 32)}
        bars = budget_bars(shares)
        assert bars[6] == BudgetBar("service-7", 168.0, "700,000%", True)
        assert bars[0] == BudgetBar("service-1", 50.0, "50%", False)
        assert [bar.clipped for bar in bars].count(True) == 1

    @pytest.mark.parametrize(("services", "inches"), [(1, 3.0), (5, 3.0), (10, 4.4), (31, 10.7), (100, 31.4)])
    def test_the_panel_grows_with_the_services(self, services: int, inches: float) -> None:
        assert budget_panel_height(services) == pytest.approx(inches)

    @given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=1, max_size=40))
    def test_every_bar_fits_and_the_100_percent_line_is_inside(self, values: list[float]) -> None:
        """For any shares: the axis runs from 150% to 500%; every bar ends inside the panel; a bar is clipped
        exactly when its share is past the axis limit; every label gives the real share."""
        shares = {f"s{i}": round(v, 1) for i, v in enumerate(values)}
        limit = budget_axis_limit(shares)
        assert 150 <= limit <= 500
        for bar in budget_bars(shares):
            value = shares[bar.service]
            assert bar.clipped == (value > limit)
            assert bar.length == (round(limit * 1.12, 1) if bar.clipped else value)
            assert float(bar.label.rstrip("%").replace(",", "")) == pytest.approx(value, abs=0.5)
