"""Service and impact in the pure core: their verbs, their transitions, and the error budget they charge
(bot.domain.slo)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.commands import Rollback, SetImpact, SetService, ShowSlo
from bot.domain.errors import TransitionError, UsageError
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import apply
from bot.domain.model import EntryKind
from bot.domain.slo import bad_time, budget_report, impact_spans
from tests.support.incidents import CDN, at, incident_with, stamp


class TestGrammar:
    @pytest.mark.parametrize(
        ("text", "percent"),
        [("impact 50%", 50.0), ("impact 0.5 %", 0.5), ("impact 100", 100.0), ("impact 0%", 0.0)],
    )
    def test_impact_takes_a_percentage(self, text: str, percent: float) -> None:
        """`impact N%` accepts 0-100 with or without the % sign."""
        assert parse_command(text).action == SetImpact(percent)

    @pytest.mark.parametrize("text", ["impact", "impact 101%", "impact half", "impact -5%"])
    def test_bad_impact_is_refused_with_usage(self, text: str) -> None:
        """Anything but a 0-100 percentage is a usage error naming the verb."""
        with pytest.raises(UsageError, match="impact"):
            parse_command(text)

    def test_service_is_lowercased_and_backdatable(self) -> None:
        """`service CDN-Edge --at 13:42` names cdn-edge, backdated."""
        command = parse_command("INC-3 service CDN-Edge --at 13:42")
        assert command.action == SetService("cdn-edge") and command.at == "13:42" and command.incident_number == 3

    def test_service_needs_one_name(self) -> None:
        """Two words or punctuation are not a catalogue name."""
        with pytest.raises(UsageError):
            parse_command("service cdn edge")

    def test_slo_query_with_and_without_service(self) -> None:
        """`slo` reads all budgets, `slo cdn-edge` one; it takes no --at."""
        assert parse_command("slo").action == ShowSlo()
        assert parse_command("slo cdn-edge").action == ShowSlo("cdn-edge")
        with pytest.raises(UsageError):
            parse_command("slo --at 13:00")


class TestTransitions:
    def test_service_change_is_recorded_with_the_previous_one(self) -> None:
        """Re-charging an incident to another service keeps the old name on the entry."""
        incident, entries = incident_with((1, SetService("checkout-api")))
        assert incident.service == "checkout-api"
        assert entries[-1].kind is EntryKind.SERVICE and entries[-1].data["previous"] == "cdn-edge"

    def test_same_service_is_refused(self) -> None:
        """Naming the current service again is a no-op the user is told about."""
        incident, _ = incident_with()
        with pytest.raises(TransitionError, match="already"):
            apply(incident, SetService("cdn-edge"), stamp(1))

    def test_impact_updates_the_incident(self) -> None:
        """The latest impact is on the incident for the status message."""
        incident, _ = incident_with((0, SetImpact(50)), (10, SetImpact(20)))
        assert incident.impact_percent == 20


class TestErrorBudget:
    def test_budget_is_one_minus_slo_times_window(self) -> None:
        """99.95% over 30 days allows 21.6 minutes of failed requests."""
        assert CDN.budget == timedelta(minutes=21.6)

    def test_seed_impact_ends_at_the_rollback(self) -> None:
        """50% from 13:42 until the rollback mitigates at 14:35: 53 min x 0.5 = 26.5 bad minutes."""
        _, entries = incident_with((0, SetImpact(50)), (53, Rollback("WAF rule")))
        assert bad_time(entries, at(120)) == timedelta(minutes=26.5)

    def test_impact_changes_make_steps(self) -> None:
        """Each impact entry holds until the next: 100% for 10 min, then 10% for 20 min, then 0%."""
        _, entries = incident_with((0, SetImpact(100)), (10, SetImpact(10)), (30, SetImpact(0)))
        spans = impact_spans(entries, at(60))
        assert [(s.fraction, s.end - s.start) for s in spans] == [
            (1.0, timedelta(minutes=10)),
            (0.1, timedelta(minutes=20)),
        ]
        assert bad_time(entries, at(60)) == timedelta(minutes=12)

    def test_open_incident_burns_until_now(self) -> None:
        """With no mitigation yet, the budget keeps burning up to the present."""
        _, entries = incident_with((0, SetImpact(50)))
        assert bad_time(entries, at(10)) == timedelta(minutes=5)

    def test_report_clips_to_the_window_and_flags_exhaustion(self) -> None:
        """Only bad time inside the window counts; over 100% of the budget the policy applies."""
        old, old_entries = incident_with((0, SetImpact(100)), (60, Rollback("x")), number=1)
        new, new_entries = incident_with((0, SetImpact(50)), (53, Rollback("y")), number=2)
        other, other_entries = incident_with((0, SetImpact(100)), (60, Rollback("z")), number=3, service="search")
        now = at(60 * 24 * 30 + 30)  # 30 days later: the first 30 minutes of both fell out of the window
        report = budget_report(CDN, [(old, old_entries), (new, new_entries), (other, other_entries)], now)
        assert [b.incident_id for b in report.burns] == ["INC-1", "INC-2"]
        assert report.burns[0].bad_time == timedelta(minutes=30)  # 100% x (60 - 30) min
        assert report.burns[1].bad_time == timedelta(minutes=11.5)  # 50% x (53 - 30) min
        assert report.consumed == timedelta(minutes=41.5)
        assert report.exhausted and "release freeze for cdn-edge" in report.policy()

    def test_small_incident_leaves_budget(self) -> None:
        """10% for 10 minutes uses 1 of 21.6 minutes."""
        incident, entries = incident_with((0, SetImpact(10)), (10, Rollback("x")))
        report = budget_report(CDN, [(incident, entries)], at(60))
        assert not report.exhausted
        assert round(report.remaining_share, 3) == round(1 - 1 / 21.6, 3)
