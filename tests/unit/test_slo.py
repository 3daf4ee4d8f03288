"""Error budgets in the pure core (bot.domain.slo): units, edges of impact spans, report lines.

Every expected value below is worked out by hand in the test's docstring or comment: the CDN SLO is
99.95% over 30 days, so its budget is 0.05% x 43,200 min = 21.6 min of failed requests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import AddNote, Declare, Mitigate, Resolve, Rollback, SetImpact
from bot.domain.errors import UsageError
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Incident, Severity, TimelineEntry
from bot.domain.slo import (
    Slo,
    SloCatalog,
    bad_time,
    budget_lines,
    budget_report,
    format_budget_time,
    impact_spans,
    incident_burn,
)
from tests.support.properties import examples

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
CDN = Slo("cdn-edge", 99.95, timedelta(days=30), "C0CDN")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def incident_with(
    *steps: tuple[float, object], number: int = 1, title: str = "CDN 502s", service: str | None = "cdn-edge"
) -> tuple[Incident, list[TimelineEntry]]:
    """An incident declared at T0 (minute 0) with ``(minute, action)`` steps applied in order."""
    change = declare(Declare(title, Severity.SEV1, service=service), number, Stamp("U0ALICE", at(0), at(0)))
    incident, entries = change.incident, list(change.entries)
    for minute, action in steps:
        applied = apply(incident, action, Stamp("U0ALICE", at(minute), at(minute)))  # type: ignore[arg-type]
        incident, entries = applied.incident, entries + list(applied.entries)
    return incident, entries


class TestFormatBudgetTime:
    @pytest.mark.parametrize(
        ("minutes", "shown"),
        [
            (21.6, "21.6 min"),
            (0, "0.0 min"),
            (119.9, "119.9 min"),
            (120, "2.0 h"),  # 2 hours or more: hours
            (120.5, "2.0 h"),  # 120.5 / 60 = 2.008
            (150, "2.5 h"),
            (300, "5.0 h"),
            (43.2 * 60, "43.2 h"),  # 0.1% of 30 days
            (-90, "-90.0 min"),  # an overspent budget's remainder is negative
            (-180, "-3.0 h"),
        ],
    )
    def test_minutes_under_two_hours_hours_from_two(self, minutes: float, shown: str) -> None:
        """Budgets under 2 h are shown in minutes, from 2 h on in hours, one decimal each."""
        assert format_budget_time(timedelta(minutes=minutes)) == shown

    @given(st.integers(min_value=0, max_value=366 * 24 * 60 * 10))
    def test_every_budget_reads_back_to_its_length(self, tenths_of_minute: int) -> None:
        """Reading the shown number in the shown unit gives the length back within rounding (0.05 unit)."""
        minutes = tenths_of_minute / 10
        number, unit = format_budget_time(timedelta(minutes=minutes)).split(" ")
        assert unit == ("min" if minutes < 120 else "h")
        in_unit = minutes if unit == "min" else minutes / 60
        assert abs(float(number) - in_unit) <= 0.05 + 1e-9


class TestImpactSpans:
    @pytest.mark.parametrize(
        "ending",
        [Resolve("edge healthy"), Rollback("WAF rule")],
        ids=["resolve-without-rollback", "rollback"],
    )
    def test_resolving_or_rolling_back_ends_the_impact(self, ending: object) -> None:
        """50% from minute 0, ended at minute 20 by a resolve (no rollback) or a rollback: 10 bad minutes at 60."""
        _, entries = incident_with((0, SetImpact(50)), (20, ending))
        assert bad_time(entries, at(60)) == timedelta(minutes=10)

    @pytest.mark.parametrize("step", [Mitigate("raised the rate limit"), AddNote("still failing")])
    def test_attempts_and_notes_do_not_end_the_impact(self, step: object) -> None:
        """A mitigation attempt or a note at minute 20 leaves 50% burning to minute 60: 30 bad minutes."""
        _, entries = incident_with((0, SetImpact(50)), (20, step))
        assert bad_time(entries, at(60)) == timedelta(minutes=30)

    def test_impact_set_at_the_moment_of_mitigation_burns_nothing(self) -> None:
        """50% for 10 min, then a rollback and `impact 20%` both at minute 10: 5 bad minutes, not more."""
        _, entries = incident_with((0, SetImpact(50)), (10, Rollback("WAF rule")), (10, SetImpact(20)))
        assert bad_time(entries, at(60)) == timedelta(minutes=5)

    def test_a_corrected_impact_leaves_no_empty_span(self) -> None:
        """`impact 50%` then `impact 20%` at the same minute: one span, 20% for the 10 min to the rollback."""
        _, entries = incident_with((0, SetImpact(50)), (0, SetImpact(20)), (10, Rollback("WAF rule")))
        spans = impact_spans(entries, at(60))
        assert [(s.start, s.end, s.fraction) for s in spans] == [(at(0), at(10), 0.2)]

    def test_impact_after_now_is_not_counted(self) -> None:
        """An impact entry timed after ``now`` has no span yet."""
        _, entries = incident_with((30, SetImpact(50)))
        assert impact_spans(entries, at(20)) == []


class TestIncidentBurn:
    def test_open_incident_burns_until_now(self) -> None:
        """50% from minute 0, still open at minute 10: 5 bad minutes = 5 / 21.6 = 23.1% of the budget."""
        incident, entries = incident_with((0, SetImpact(50)))
        burn = incident_burn(CDN, incident, entries, at(10))
        assert (burn.incident_id, burn.title, burn.bad_time) == ("INC-1", "CDN 502s", timedelta(minutes=5))
        assert round(burn.percent_of_budget, 1) == 23.1

    def test_an_slo_without_budget_never_divides_by_zero(self) -> None:
        """A 100% objective allows no bad time: the share is reported as 0 rather than crashing."""
        strict = Slo("ledger", 100.0, timedelta(days=30))
        incident, entries = incident_with((0, SetImpact(50)), service="ledger")
        burn = incident_burn(strict, incident, entries, at(10))
        assert burn.bad_time == timedelta(minutes=5) and burn.budget_share == 0
        report = budget_report(strict, [(incident, entries)], at(10))
        assert report.remaining_share == 0.0 and report.exhausted


class TestBudgetReport:
    def test_window_ends_now(self) -> None:
        """The window is the 30 days up to ``now``: November has 30 days, so 1 Dec 09:00 looks back to 1 Nov."""
        now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        report = budget_report(CDN, [], now)
        assert (report.window_start, report.now) == (datetime(2026, 11, 1, 9, 0, tzinfo=UTC), now)

    def test_open_incident_in_the_report_burns_until_now(self) -> None:
        """An unmitigated incident counts up to ``now``: 100% for 3 min = 3 min."""
        incident, entries = incident_with((0, SetImpact(100)))
        report = budget_report(CDN, [(incident, entries)], at(3))
        assert [(b.incident_id, b.bad_time) for b in report.burns] == [("INC-1", timedelta(minutes=3))]

    def test_incidents_that_cost_nothing_are_not_listed(self) -> None:
        """An incident of the service without any impact is left out of the burn list."""
        costly, costly_entries = incident_with((0, SetImpact(10)), (10, Rollback("x")), number=1)
        free, free_entries = incident_with((5, Rollback("y")), number=2)
        report = budget_report(CDN, [(costly, costly_entries), (free, free_entries)], at(60))
        assert [b.incident_id for b in report.burns] == ["INC-1"]

    def test_catalog_lookup(self) -> None:
        """A catalogue answers by service name; no name or an unknown one is no SLO."""
        catalog = SloCatalog({"cdn-edge": CDN})
        assert catalog.get("cdn-edge") is CDN
        assert catalog.get(None) is None and catalog.get("search") is None
        assert catalog.names() == ["cdn-edge"]


class TestBudgetLines:
    def test_budget_with_room_left(self) -> None:
        """10% for 10 min = 1.0 min of 21.6; 20.6 left = 95.4%; the burn is 1 / 21.6 = 4.6%."""
        incident, entries = incident_with((0, SetImpact(10)), (10, Rollback("x")))
        report = budget_report(CDN, [(incident, entries)], at(60))
        assert budget_lines(report) == [
            "cdn-edge: SLO 99.95% availability over 30 days; budget 21.6 min of failed requests.",
            "Consumed 1.0 min; remaining 20.6 min (95.4% of the budget).",
            "  INC-1 CDN 502s: 1.0 min (4.6%)",
        ]

    def test_exhausted_budget_states_the_policy(self) -> None:
        """100% for 3 h = 180 min = 3.0 h against 21.6 min: 158.4 min overspent (-733.3%), the burn 833.3%."""
        incident, entries = incident_with((0, SetImpact(100)), (180, Rollback("x")), title="Edge down")
        report = budget_report(CDN, [(incident, entries)], at(200))
        assert budget_lines(report) == [
            "cdn-edge: SLO 99.95% availability over 30 days; budget 21.6 min of failed requests.",
            "Consumed 3.0 h; remaining -2.6 h (-733.3% of the budget).",
            "  INC-1 Edge down: 3.0 h (833.3%)",
            "Budget exhausted. Error budget policy: release freeze for cdn-edge until the budget recovers; "
            "only fixes and reliability work ship.",
        ]

    def test_no_incidents_no_burn_lines(self) -> None:
        """A quiet month: nothing consumed, the whole 21.6 min (100.0%) left, two lines only."""
        report = budget_report(CDN, [], at(0))
        assert budget_lines(report) == [
            "cdn-edge: SLO 99.95% availability over 30 days; budget 21.6 min of failed requests.",
            "Consumed 0.0 min; remaining 21.6 min (100.0% of the budget).",
        ]


TYPO_CATALOG = SloCatalog(
    {
        name: Slo(name, 99.9, timedelta(days=30))
        for name in ("cdn-edge", "checkout-api", "search", "payments-gateway", "auth")
    }
)


def _one_edit(name: str, position: int, kind: int, letter: str) -> str:
    """``name`` with one typo at ``position``: a deleted, replaced, inserted or swapped character."""
    i = position % len(name)
    if kind == 0:
        return name[:i] + name[i + 1 :]
    if kind == 1:
        return name[:i] + letter + name[i + 1 :]
    if kind == 2:
        return name[:i] + letter + name[i:]
    j = min(i + 1, len(name) - 1)
    chars = list(name)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


class TestServiceNameCheck:
    @pytest.mark.parametrize(
        ("typed", "closest"),
        [("cdn-egde", "cdn-edge"), ("cdn-edg", "cdn-edge"), ("checkout", "checkout-api"), ("serch", "search")],
    )
    def test_a_misspelt_service_is_refused_naming_the_catalogued_one(self, typed: str, closest: str) -> None:
        """The issue's case: a near miss is refused with "did you mean" and the catalogue, one line."""
        with pytest.raises(UsageError) as caught:
            TYPO_CATALOG.check_service(typed)
        assert caught.value.user_message == (
            f"`{typed}` is not in the SLO catalogue; did you mean `{closest}`? "
            "(catalogued: auth, cdn-edge, checkout-api, payments-gateway, search)"
        )

    @pytest.mark.parametrize("name", ["cdn-edge", "payments-gateway", "billing-batch-jobs"])
    def test_catalogued_and_unrelated_names_are_accepted(self, name: str) -> None:
        """A catalogued name, or one nothing resembles (a service without an SLO), passes."""
        TYPO_CATALOG.check_service(name)

    def test_without_a_catalogue_every_name_is_accepted(self) -> None:
        """No catalogue loaded: nothing to compare with."""
        SloCatalog({}).check_service("cdn-egde")

    @settings(max_examples=examples(40))
    @given(
        st.sampled_from(["cdn-edge", "checkout-api", "search", "payments-gateway"]),
        st.integers(min_value=0, max_value=40),
        st.integers(min_value=0, max_value=3),
        st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"),
    )
    def test_every_single_typo_of_a_long_enough_name_is_refused(
        self, name: str, position: int, kind: int, letter: str
    ) -> None:
        """Any one deletion, substitution, insertion or swap in a catalogued name of 6+ characters that
        yields an uncatalogued name is refused, and the suggestion is a catalogued name."""
        typed = _one_edit(name, position, kind, letter)
        if typed in TYPO_CATALOG.slos:
            return
        with pytest.raises(UsageError) as caught:
            TYPO_CATALOG.check_service(typed)
        suggestion = caught.value.user_message.split("did you mean `")[1].split("`")[0]
        assert suggestion in TYPO_CATALOG.slos
