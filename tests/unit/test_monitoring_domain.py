"""The `monitoring` status (issue 12): the fix is in, the team watches the metrics before resolving.

Life cycle rows are in tests/unit/test_lifecycle.py (every status x action); here: what the status
means, the verb, the milestones and error budget it implies, strict roles, and the buttons offered.
Expected values are written out, never read from the modules under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from bot.domain.commands import (
    AddHypothesis,
    AddNote,
    Declare,
    Mitigate,
    Monitor,
    ParsedCommand,
    Reopen,
    Resolve,
    Rollback,
    SetImpact,
    SetLead,
    Transition,
    UserRef,
)
from bot.domain.errors import TimeParseError, TransitionError, UsageError
from bot.domain.grammar import help_text, parse_command
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import OPEN_STATUSES, EntryKind, Incident, Severity, Status, TimelineEntry
from bot.domain.policy import NotAllowed, check_allowed
from bot.domain.postmortem import build_postmortem
from bot.domain.slo import bad_time
from bot.domain.timeline import describe, find_milestones
from bot.slack import blocks
from bot.slack.text import person_mention

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)  # the seed: 502s breach the SLO at 13:42 UTC
LEAD = "U0LEAD"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(steps: list[tuple[float, Transition]]) -> tuple[Incident, list[TimelineEntry]]:
    """Declare at 13:42, then apply each (minutes after 13:42, action) as the lead."""
    decided = declare(Declare("CDN edge returning 502s", Severity.SEV1), 1, Stamp(LEAD, T0, T0))
    incident, entries = decided.incident, list(decided.entries)
    for minutes, action in steps:
        decided = apply(incident, action, Stamp(LEAD, at(minutes), at(minutes)))
        incident, entries = decided.incident, entries + list(decided.entries)
    return incident, entries


class TestWhatTheStatusMeans:
    # status -> (open, mitigated): written from the issue, not read from STATUS_MEANINGS.
    MEANINGS: ClassVar[dict[str, tuple[bool, bool]]] = {
        "declared": (True, False),
        "investigating": (True, False),
        "mitigated": (True, True),
        "monitoring": (True, True),
        "resolved": (False, True),
    }

    @pytest.mark.parametrize("value", list(MEANINGS))
    def test_each_status_says_if_it_is_open_and_if_the_impact_has_ended(self, value: str) -> None:
        """Monitoring is open (still listed, nudged, paged) and mitigated (impact over, budget not charged)."""
        status = Status(value)
        assert (status.is_open, status.is_mitigated) == self.MEANINGS[value]

    def test_the_statuses_in_life_cycle_order(self) -> None:
        assert [s.value for s in Status] == list(self.MEANINGS)
        assert [s.value for s in OPEN_STATUSES] == ["declared", "investigating", "mitigated", "monitoring"]


class TestTheVerb:
    def test_monitor_takes_what_the_team_watches(self) -> None:
        assert parse_command("INC-1 monitor 5xx rate on the edge dashboard --at 14:40") == ParsedCommand(
            Monitor("5xx rate on the edge dashboard"), 1, "14:40"
        )

    def test_monitor_without_text_is_refused_with_its_usage(self) -> None:
        with pytest.raises(UsageError) as refused:
            parse_command("monitor")
        assert refused.value.user_message == "`monitor` needs what you are watching."
        assert refused.value.usage == ("monitor <what you watch>")

    def test_help_lists_it(self) -> None:
        assert "monitor <what you watch>" in help_text()
        assert help_text("monitor") == "Usage: `/incident monitor <what you watch>`"

    def test_its_entry_reads_as_monitoring(self) -> None:
        _, entries = run([(10, AddHypothesis("WAF rule")), (53, Rollback("WAF rule")), (58, Monitor("edge 5xx"))])
        assert describe(entries[-1]) == "Monitoring: edge 5xx"
        assert entries[-1].kind is EntryKind.MONITORING
        assert (entries[-1].data["status_from"], entries[-1].data["status_to"]) == ("mitigated", "monitoring")


class TestMilestonesAndBudget:
    def test_time_to_mitigate_still_counts_from_the_rollback(self) -> None:
        """Seed: rolled back 14:35, monitoring from 14:40, resolved 14:50: mitigated at 14:35."""
        _, entries = run(
            [(8, AddHypothesis("WAF rule")), (53, Rollback("WAF rule")), (58, Monitor("edge 5xx")), (68, Resolve())]
        )
        milestones = find_milestones(entries)
        assert milestones.mitigated_at == datetime(2026, 11, 22, 14, 35, tzinfo=UTC)
        assert milestones.resolved_at == datetime(2026, 11, 22, 14, 50, tzinfo=UTC)

    def test_monitoring_straight_from_investigating_is_the_mitigation(self) -> None:
        """A fix deployed without a rollback: monitoring at 14:35 is when the impact ended."""
        _, entries = run([(8, AddHypothesis("WAF rule")), (53, Monitor("edge 5xx after the fix"))])
        assert find_milestones(entries).mitigated_at == datetime(2026, 11, 22, 14, 35, tzinfo=UTC)

    def test_the_budget_stops_being_charged_at_monitoring(self) -> None:
        """50% failing from 13:42 to monitoring at 14:35 is 26.5 bad minutes, however late it is now."""
        _, entries = run([(0, SetImpact(50.0)), (8, AddHypothesis("WAF rule")), (53, Monitor("edge 5xx"))])
        assert bad_time(entries, now=at(600)) == timedelta(minutes=26.5)

    def test_a_fix_that_did_not_hold_is_reopened_to_investigating(self) -> None:
        """Monitoring, then `reopen`: investigating again, said in words; the first mitigation still counts."""
        incident, entries = run(
            [(8, AddHypothesis("WAF rule")), (53, Monitor("edge 5xx")), (60, Reopen("502s are back"))]
        )
        assert incident.status is Status.INVESTIGATING
        assert (entries[-1].data["status_from"], entries[-1].data["status_to"]) == ("monitoring", "investigating")
        assert describe(entries[-1]) == "The fix did not hold: back to investigating: 502s are back"
        assert find_milestones(entries).mitigated_at == datetime(2026, 11, 22, 14, 35, tzinfo=UTC)

    @pytest.mark.parametrize("action", [AddHypothesis("a second WAF rule"), Mitigate("purged the edge cache")])
    def test_work_while_monitoring_keeps_monitoring(self, action: Transition) -> None:
        """A theory or a precaution logged while watching does not end monitoring (`reopen` does)."""
        incident, entries = run([(8, AddHypothesis("WAF rule")), (53, Monitor("edge 5xx")), (60, action)])
        assert incident.status is Status.MONITORING and "status_to" not in entries[-1].data

    def test_mitigate_then_monitor_counts_from_the_attempt_being_watched(self) -> None:
        """`mitigate restarted pods` at 13:50, `monitor` at 13:51: mitigated at 13:50, and not a failed attempt."""
        _, entries = run(
            [(2, AddHypothesis("pods")), (8, Mitigate("restarted pods")), (9, Monitor("errors")), (20, Resolve())]
        )
        assert find_milestones(entries).mitigated_at == datetime(2026, 11, 22, 13, 50, tzinfo=UTC)

    def test_a_backdated_reopen_cannot_precede_the_monitoring(self) -> None:
        """Monitoring from 14:12: a `reopen` at 14:02 would put the timeline out of order, and is refused."""
        incident, _ = run([(8, AddHypothesis("x")), (30, Monitor("edge 5xx"))])
        with pytest.raises(TimeParseError) as refused:
            apply(incident, Reopen("back"), Stamp(LEAD, at(20), at(40)))
        assert refused.value.user_message == (
            "2026-11-22 14:02 UTC is before the latest status change of INC-1 (monitoring at 2026-11-22 14:12 UTC). "
            "Record this change at or after that time."
        )

    def test_rollback_from_monitoring_is_mitigated(self) -> None:
        incident, _ = run([(8, AddHypothesis("WAF rule")), (53, Monitor("edge 5xx")), (60, Rollback("WAF rule"))])
        assert incident.status is Status.MITIGATED


class TestRefusals:
    @pytest.mark.parametrize(
        ("steps", "message"),
        [
            (
                [],
                "`monitor` follows a fix, and INC-1 is declared: record the fix first "
                "(`mitigate <what you did>` or `rollback <change>`), then `monitor <what you watch>`.",
            ),
            (
                [(8, AddHypothesis("x")), (9, Monitor("y"))],
                "INC-1 is already being monitored. `resolve [summary]` when the fix holds, "
                "`reopen <reason>` if it did not.",
            ),
            (
                [(8, AddHypothesis("x")), (9, Resolve())],
                "INC-1 is resolved, so it takes no more monitor. If the problem is back, "
                "`/incident INC-1 reopen <reason>` first; notes and follow-ups are still welcome.",
            ),
        ],
        ids=["declared", "monitoring", "resolved"],
    )
    def test_monitor_where_the_life_cycle_has_no_row(self, steps: list[tuple[float, Transition]], message: str) -> None:
        incident, _ = run(steps)
        with pytest.raises(TransitionError) as refused:
            apply(incident, Monitor("edge"), Stamp(LEAD, at(30), at(30)))
        assert refused.value.user_message == message

    def test_under_strict_roles_only_the_lead_and_irt_may_say_the_fix_did_not_hold(self) -> None:
        incident, _ = run([(1, SetLead(UserRef(LEAD))), (8, AddHypothesis("x")), (9, Monitor("edge"))])
        with pytest.raises(NotAllowed) as refused:
            check_allowed(incident, Reopen("502s are back"), "U0OUTSIDER")
        assert refused.value.plain_message == "Only the incident lead and IRT may reopen INC-1 (strict roles are on)."
        check_allowed(incident, AddHypothesis("a theory"), "U0OUTSIDER")  # keeps monitoring: anyone may

    def test_under_strict_roles_only_the_lead_and_irt_may_move_to_monitoring(self) -> None:
        incident, _ = run([(1, SetLead(UserRef(LEAD))), (8, AddHypothesis("x"))])
        with pytest.raises(NotAllowed) as refused:
            check_allowed(incident, Monitor("edge"), "U0OUTSIDER")
        assert refused.value.render(person_mention) == (
            "Only the lead <@U0LEAD> and the IRT of INC-1 may move it to monitoring (strict roles are on). "
            "Ask one of them to add you: `/incident INC-1 assemble <@U0OUTSIDER>`."
        )
        assert refused.value.user_message == (
            "Only the lead @U0LEAD and the IRT of INC-1 may move it to monitoring (strict roles are on). "
            "Ask one of them to add you: `/incident INC-1 assemble @U0OUTSIDER`."
        )
        check_allowed(incident, Monitor("edge"), LEAD)  # the lead may
        check_allowed(incident, AddNote("anyone may note"), "U0OUTSIDER")


class TestButtons:
    # The action_ids offered per status, in order, written out from the issue.
    OFFERED: ClassVar[dict[str, list[str]]] = {
        "declared": [
            "incident_add_hypothesis",
            "incident_add_note",
            "incident_post_update",
            "incident_mitigate",
            "incident_show_timeline",
            "incident_resolve",
        ],
        "investigating": [
            "incident_add_hypothesis",
            "incident_add_note",
            "incident_post_update",
            "incident_mitigate",
            "incident_monitor",
            "incident_show_timeline",
            "incident_resolve",
        ],
        "mitigated": [
            "incident_add_hypothesis",
            "incident_add_note",
            "incident_post_update",
            "incident_mitigate",
            "incident_monitor",
            "incident_show_timeline",
            "incident_resolve",
        ],
        "monitoring": [
            "incident_add_hypothesis",
            "incident_add_note",
            "incident_post_update",
            "incident_mitigate",
            "incident_show_timeline",
            "incident_resolve",
        ],
        "resolved": [],
    }
    STEPS: ClassVar[dict[str, list[tuple[float, Transition]]]] = {
        "declared": [],
        "investigating": [(8, Mitigate("rate limit"))],
        "mitigated": [(8, Rollback("WAF rule"))],
        "monitoring": [(8, Rollback("WAF rule")), (9, Monitor("edge 5xx"))],
        "resolved": [(8, Resolve())],
    }

    @pytest.mark.parametrize("value", list(OFFERED))
    def test_the_status_message_offers_monitoring_while_there_is_a_fix_to_watch(self, value: str) -> None:
        incident, _ = run(self.STEPS[value])
        assert incident.status.value == value
        rendered = blocks.build_status_blocks(incident, at(30))
        actions = [b for b in rendered if b["type"] == "actions"]
        offered = [e["action_id"] for a in actions for e in a["elements"]]
        assert offered == self.OFFERED[value]
        assert f"*Status:* {value}" in str(rendered)

    def test_the_monitor_button_opens_its_form(self) -> None:
        incident, _ = run([(8, Rollback("WAF rule"))])
        view = blocks.build_command_modal("monitor", incident)
        assert view["title"] == {"type": "plain_text", "text": "Monitor the fix"}
        assert view["blocks"][-1]["label"] == {"type": "plain_text", "text": "What are you watching?"}


class TestPostmortemLessons:
    def _lessons(self, steps: list[tuple[float, Transition]]) -> tuple[list[str], list[str]]:
        incident, entries = run(steps)
        data = build_postmortem(incident, entries, at(120))
        return data.lessons.went_well, data.lessons.went_wrong

    def test_a_rollback_after_monitoring_began_is_not_credited_with_the_mitigation(self) -> None:
        """Monitoring 13:52 (after `mitigate` 13:50), rollback 14:22: the 13:50 attempt ended the impact."""
        well, wrong = self._lessons(
            [
                (2, AddHypothesis("index")),
                (8, Mitigate("raised the pool size")),
                (10, Monitor("p99")),
                (40, Rollback("search deploy 88")),
                (50, Resolve()),
            ]
        )
        assert 'Mitigation "raised the pool size" ended the impact at 13:50.' in well
        assert not [line for line in well if line.startswith("Rolling back")]
        assert not [line for line in wrong if "did not end the impact" in line]

    def test_a_fix_that_did_not_hold_is_a_lesson(self) -> None:
        well, wrong = self._lessons(
            [
                (2, AddHypothesis("WAF")),
                (53, Rollback("WAF rule")),
                (58, Monitor("edge 5xx")),
                (68, Reopen("502s are back")),
                (98, Rollback("second WAF rule")),
                (108, Resolve()),
            ]
        )
        assert "Rolling back (WAF rule) mitigated the impact at 14:35." in well
        assert (
            "The fix being monitored did not hold: back to investigating at 14:50 (502s are back). "
            "What would have shown it sooner?"
        ) in wrong
