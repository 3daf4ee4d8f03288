"""Nudges in the pure core (bot.domain.nudges): which quiet incidents are due a reminder, once per silence."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.commands import AddFollowup, Nudge, RecordFollowupExport, SetImpact
from bot.domain.model import Severity
from bot.domain.nudges import DueNudge, due_nudges
from tests.support.incidents import at, incident_with

# README: sev1 15 min, sev2 30 min by default (written here, not read from the module).
README_NUDGE_AFTER = {Severity.SEV1: timedelta(minutes=15), Severity.SEV2: timedelta(minutes=30)}


class TestNudges:
    def test_quiet_sev1_is_nudged_after_15_minutes(self) -> None:
        """The last update counts by when it was recorded; at 15 min of silence a sev1 is due."""
        incident, entries = incident_with((5, SetImpact(50)))
        assert due_nudges([(incident, entries)], README_NUDGE_AFTER, at(19)) == []
        due = due_nudges([(incident, entries)], README_NUDGE_AFTER, at(20))
        assert [(d.number, d.silent_minutes) for d in due] == [(1, 15)]

    def test_one_nudge_per_silence(self) -> None:
        """After a nudge, nothing more until somebody updates and goes quiet again."""
        incident, entries = incident_with((20, Nudge(20)))
        assert due_nudges([(incident, entries)], README_NUDGE_AFTER, at(90)) == []
        incident, entries = incident_with((20, Nudge(20)), (25, SetImpact(10)))
        assert [d.silent_minutes for d in due_nudges([(incident, entries)], README_NUDGE_AFTER, at(40))] == [15]

    def test_severities_without_threshold_and_resolved_incidents_are_left_alone(self) -> None:
        """sev3 has no default threshold; a resolved incident is never nudged."""
        sev3 = incident_with(severity=Severity.SEV3)
        assert due_nudges([sev3], README_NUDGE_AFTER, at(600)) == []
        assert due_nudges([sev3], {Severity.SEV3: timedelta(minutes=60)}, at(600))[0].silent_minutes == 600

    def test_an_incident_without_threshold_does_not_hide_the_next(self) -> None:
        """A sev3 (no threshold) listed first does not stop the quiet sev1 after it from being nudged."""
        sev3 = incident_with(number=1, severity=Severity.SEV3)
        sev1 = incident_with(number=2, severity=Severity.SEV1)
        assert due_nudges([sev3, sev1], README_NUDGE_AFTER, at(30)) == [DueNudge(2, 30)]

    def test_without_entries_the_declaration_starts_the_silence(self) -> None:
        """An incident given with no timeline counts its silence from its declaration (13:42): 16 min at 13:58."""
        incident, _ = incident_with()
        assert due_nudges([(incident, [])], README_NUDGE_AFTER, at(16)) == [DueNudge(1, 16)]

    def test_a_nudge_recorded_with_the_last_update_covers_that_silence(self) -> None:
        """A nudge recorded at the same instant as the last update already covers the silence after it."""
        incident, entries = incident_with((5, SetImpact(50)), (5, Nudge(15)))
        assert due_nudges([(incident, entries)], README_NUDGE_AFTER, at(60)) == []

    def test_a_filed_issue_is_not_an_update(self) -> None:
        """The bot recording a filed issue's key (``followup_exported``) does not end a silence: a sev1 whose
        last update (a follow-up) was at minute 5 is due at 20, though its issue was filed at minute 15."""
        incident, entries = incident_with(
            (5, AddFollowup("canary deployment for firewall changes")),
            (15, RecordFollowupExport(1, "acme/web#1", "https://github.com/acme/web/issues/1")),
        )
        assert due_nudges([(incident, entries)], README_NUDGE_AFTER, at(20)) == [DueNudge(1, 15)]
