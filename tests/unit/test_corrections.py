"""Corrections without losing the record: ``correct`` and ``strike`` on the pure core (bot.domain.corrections)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import CorrectEntry, StrikeEntry
from bot.domain.corrections import STATE_KINDS, apply_corrections, corrected_incident, corrected_summary, timeline_view
from bot.domain.errors import TimeParseError, TransitionError
from bot.domain.lifecycle import Stamp, apply
from bot.domain.model import (
    EntryKind,
    Hypothesis,
    HypothesisStatus,
    Incident,
    Severity,
    Status,
    TimelineEntry,
)
from bot.domain.postmortem import build_postmortem
from bot.domain.timeline import find_milestones
from tests.support.incidents import summary_of

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
LEAD = "U0LEAD"

# One entry of every kind the bot records, a minute apart, in an order a real incident could have
# (status changes: declared, mitigation attempt, rollback, monitoring, resolved, reopened, resolved again).
EVERY_KIND: list[tuple[EntryKind, str, dict[str, Any]]] = [
    (EntryKind.DECLARED, "CDN 502s", {"severity": "sev1", "status_to": "declared"}),
    (EntryKind.SERVICE, "", {"service": "cdn-edge"}),
    (EntryKind.IMPACT, "", {"percent": 50.0}),
    (EntryKind.LEAD, "", {"user": LEAD, "previous": None}),
    (EntryKind.ASSEMBLED, "", {"members": [{"user": "U0BOB", "role": "net"}]}),
    (EntryKind.ALERT_FIRED, "Edge 5xx", {"fingerprint": "f1"}),
    (EntryKind.HYPOTHESIS, "DDoS", {"number": 1}),
    (EntryKind.HYPOTHESIS, "WAF rule", {"number": 2}),
    (EntryKind.MITIGATION, "rate limiting", {"status_from": "declared", "status_to": "investigating"}),
    (EntryKind.HYPOTHESIS_REJECTED, "volume normal", {"number": 1, "hypothesis": "DDoS"}),
    (EntryKind.NOTE, "half the edge at 100% CPU", {}),
    (EntryKind.PINNED, "graph of the spike", {"pinned_by": LEAD}),
    (EntryKind.HYPOTHESIS_CONFIRMED, "profiles show it", {"number": 2, "hypothesis": "WAF rule"}),
    (EntryKind.SEVERITY, "", {"severity_from": "sev1", "severity_to": "sev2"}),
    (EntryKind.ROLLBACK, "WAF rule rolled back", {"status_from": "investigating", "status_to": "mitigated"}),
    (EntryKind.MONITORING, "5xx rate", {"status_from": "mitigated", "status_to": "monitoring"}),
    (EntryKind.NUDGE, "", {"silent_minutes": 15}),
    (EntryKind.ALERT_CLEARED, "Edge 5xx", {"fingerprint": "f1"}),
    (EntryKind.RESOLVED, "edge healthy", {"status_from": "monitoring", "status_to": "resolved"}),
    (EntryKind.REOPENED, "502s back", {"status_from": "resolved", "status_to": "investigating"}),
    (EntryKind.RESOLVED, "healthy again", {"status_from": "investigating", "status_to": "resolved"}),
    (EntryKind.FOLLOWUP, "canary", {"number": 1, "owner": "U0BOB"}),
    (EntryKind.FOLLOWUP_OWNER, "", {"number": 1, "followup": "canary", "owner": LEAD}),
    (EntryKind.FOLLOWUP_DUE, "", {"number": 1, "followup": "canary", "due": "2026-12-01"}),
    (EntryKind.FOLLOWUP_EXPORT, "", {"number": 1, "followup": "canary"}),
    (EntryKind.FOLLOWUP_EXPORTED, "", {"number": 1, "followup": "canary", "key": "OPS-1", "url": ""}),
    (EntryKind.FOLLOWUP_TRACKER_GONE, "HTTP 404", {"number": 1, "followup": "canary", "key": "OPS-1", "url": ""}),
    (EntryKind.FOLLOWUP_DONE, "shipped", {"number": 1, "followup": "canary"}),
    (EntryKind.FOLLOWUP_REOPENED, "not yet", {"number": 1, "followup": "canary"}),
    (EntryKind.FOLLOWUP_REMINDER, "", {"day": "2026-12-02", "numbers": [1]}),
    (EntryKind.FOLLOWUP_DROPPED, "covered", {"number": 1, "followup": "canary"}),
    (EntryKind.POSTMORTEM_PUBLISHED, "", {"target": "git", "ref": "p.md", "url": "https://x/p.md", "version": "3f2a"}),
    (EntryKind.UPDATE, "WAF rule rolled back; watching 5xx", {"next_update": "2026-11-22T15:05:00Z"}),
]

# What may be done to each kind, written out from the decisions (README: Corrections), not read
# from the module: (text correctable, time correctable, strikable).
RULES: dict[EntryKind, tuple[bool, bool, bool]] = {
    EntryKind.DECLARED: (False, True, False),
    EntryKind.SERVICE: (False, True, False),
    EntryKind.IMPACT: (False, True, True),
    EntryKind.LEAD: (False, True, False),
    EntryKind.ASSEMBLED: (False, True, False),
    EntryKind.SEVERITY: (False, True, False),
    EntryKind.NOTE: (True, True, True),
    EntryKind.PINNED: (True, True, True),
    EntryKind.MITIGATION: (True, True, False),
    EntryKind.ROLLBACK: (True, True, False),
    EntryKind.MONITORING: (True, True, False),
    EntryKind.RESOLVED: (True, True, False),
    EntryKind.REOPENED: (True, True, False),
    EntryKind.HYPOTHESIS_REJECTED: (True, True, False),
    EntryKind.HYPOTHESIS_CONFIRMED: (True, True, False),
    EntryKind.HYPOTHESIS: (False, False, False),
    EntryKind.FOLLOWUP: (False, False, False),
    EntryKind.FOLLOWUP_OWNER: (False, False, False),
    EntryKind.FOLLOWUP_DUE: (False, False, False),
    EntryKind.FOLLOWUP_EXPORT: (False, False, False),
    EntryKind.FOLLOWUP_EXPORTED: (False, False, False),
    EntryKind.FOLLOWUP_TRACKER_GONE: (False, False, False),
    EntryKind.FOLLOWUP_DONE: (False, False, False),
    EntryKind.FOLLOWUP_REOPENED: (False, False, False),
    EntryKind.FOLLOWUP_REMINDER: (False, False, False),
    EntryKind.FOLLOWUP_DROPPED: (False, False, False),
    EntryKind.ALERT_FIRED: (False, False, False),
    EntryKind.ALERT_CLEARED: (False, False, False),
    EntryKind.NUDGE: (False, False, False),
    EntryKind.POSTMORTEM_PUBLISHED: (False, False, False),
    EntryKind.UPDATE: (False, False, False),  # what stakeholders were told stays as it was told
}
FIRST = {kind: index for index, (kind, _, _) in reversed(list(enumerate(EVERY_KIND, start=1)))}
"""The number of the first entry of each kind in ``EVERY_KIND``."""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def every_kind() -> tuple[Incident, list[TimelineEntry]]:
    """A resolved incident whose timeline has an entry of every recorded kind, numbered 1.. a minute apart."""
    entries = [
        TimelineEntry(kind, at(index - 1), at(index - 1), LEAD, text, copy.deepcopy(data), index)
        for index, (kind, text, data) in enumerate(EVERY_KIND, start=1)
    ]
    incident = Incident(
        number=7,
        title="CDN 502s",
        severity=Severity.SEV2,
        status=Status.RESOLVED,
        declared_at=T0,
        declared_by=LEAD,
        lead=LEAD,
        hypotheses=(
            Hypothesis(1, "DDoS", LEAD, at(6), HypothesisStatus.REJECTED, "volume normal", at(9)),
            Hypothesis(2, "WAF rule", LEAD, at(7), HypothesisStatus.CONFIRMED, "profiles show it", at(12)),
        ),
        resolved_at=at(20),
        resolved_by=LEAD,
        summary="healthy again",
        service="cdn-edge",
        impact_percent=50.0,
    )
    return incident, entries


def record(
    incident: Incident, entries: list[TimelineEntry], action: CorrectEntry | StrikeEntry, minutes: float = 180
) -> list[TimelineEntry]:
    """``entries`` with the correction or strike ``action`` (typed at T0 + ``minutes``) appended, numbered next."""
    decision = apply(incident, action, Stamp(LEAD, at(minutes), at(minutes), "lena"), entries)
    assert decision.incident == incident  # nothing about the incident changes
    (entry,) = decision.entries
    return [*entries, replace(entry, number=len(entries) + 1)]


def _fields(entry: TimelineEntry) -> tuple[Any, ...]:
    return (entry.kind, entry.occurred_at, entry.recorded_at, entry.actor, entry.text, entry.data)


def current(entries: list[TimelineEntry], number: int) -> TimelineEntry | None:
    return next((e for e in apply_corrections(entries) if e.number == number), None)


KINDS = sorted(RULES, key=lambda kind: FIRST[kind])


class TestWhatMayBeCorrected:
    def test_the_rules_cover_every_kind_but_corrections_themselves(self) -> None:
        """The table above names every entry kind a command or the bot records."""
        # The postmortem's review entries are refused by ``correct`` and ``strike`` in
        # tests/unit/test_postmortem_review_domain.py (TestCorrections), on a timeline of their own.
        review = {
            EntryKind.POSTMORTEM_STATUS,
            EntryKind.POSTMORTEM_OWNER,
            EntryKind.POSTMORTEM_REVIEW,
            EntryKind.POSTMORTEM_REMINDER,
        }
        # What was published on the status page is refused in TestStatuspageEntries, below.
        review.add(EntryKind.STATUSPAGE)
        # The channel's archive entries are refused by ``correct`` and ``strike`` in
        # tests/unit/test_archive_setting.py (TestCorrections).
        review |= {EntryKind.CHANNEL_ARCHIVED, EntryKind.CHANNEL_UNARCHIVED}
        assert set(RULES) == set(EntryKind) - {EntryKind.CORRECTION, EntryKind.STRIKE} - review == set(FIRST)

    @pytest.mark.parametrize("kind", KINDS, ids=[k.value for k in KINDS])
    def test_text(self, kind: EntryKind) -> None:
        """New text is recorded for the kinds people typed; the others are refused with a TransitionError."""
        incident, entries = every_kind()
        number = FIRST[kind]
        action = CorrectEntry(number, "what really happened")
        if not RULES[kind][0]:
            with pytest.raises(TransitionError):
                record(incident, entries, action)
            return
        after = record(incident, entries, action)
        fix = after[-1]
        assert (fix.kind, fix.text, fix.data["entry"], fix.data["entry_kind"]) == (
            EntryKind.CORRECTION,
            "what really happened",
            number,
            kind.value,
        )
        assert fix.data["text_from"] == EVERY_KIND[number - 1][1]
        shown = current(after, number)
        assert shown is not None and shown.text == "what really happened"
        assert shown.occurred_at == at(number - 1) and shown.data["corrected_by"] == [len(EVERY_KIND) + 1]

    @pytest.mark.parametrize("kind", KINDS, ids=[k.value for k in KINDS])
    def test_time(self, kind: EntryKind) -> None:
        """A time 30 s later (still between its neighbours) moves the entries whose time may be corrected."""
        incident, entries = every_kind()
        number = FIRST[kind]
        moved = at(number - 1) + timedelta(seconds=30)
        action = CorrectEntry(number, "", moved)
        if not RULES[kind][1]:
            with pytest.raises(TransitionError):
                record(incident, entries, action)
            return
        after = record(incident, entries, action)
        assert (after[-1].data["at_from"], after[-1].data["at_to"]) == (
            at(number - 1).isoformat(),
            moved.isoformat(),
        )
        assert "text_from" not in after[-1].data and after[-1].text == ""
        shown = current(after, number)
        assert shown is not None and (shown.occurred_at, shown.text) == (moved, EVERY_KIND[number - 1][1])

    @pytest.mark.parametrize("kind", KINDS, ids=[k.value for k in KINDS])
    def test_strike(self, kind: EntryKind) -> None:
        """Notes, pinned messages and impact entries may be struck (then no view shows them); nothing else."""
        incident, entries = every_kind()
        number = FIRST[kind]
        action = StrikeEntry(number, "posted in the wrong incident")
        if not RULES[kind][2]:
            with pytest.raises(TransitionError):
                record(incident, entries, action)
            return
        after = record(incident, entries, action)
        assert (after[-1].kind, after[-1].text, after[-1].data["entry"]) == (
            EntryKind.STRIKE,
            "posted in the wrong incident",
            number,
        )
        assert current(after, number) is None
        assert [e.number for e in apply_corrections(after)] == [n for n in range(1, len(entries) + 1) if n != number]
        kept = next(e for e in timeline_view(after) if e.number == number)
        assert (kept.data["struck_by"], kept.data["struck_reason"]) == (
            len(entries) + 1,
            "posted in the wrong incident",
        )

    @pytest.mark.parametrize("status", list(Status), ids=[s.value for s in Status])
    def test_corrections_change_no_status(self, status: Status) -> None:
        """In every status a correction and a strike add one entry and leave the incident as it was."""
        incident, entries = every_kind()
        incident = incident.with_changes(status=status)
        after = record(incident, entries, CorrectEntry(FIRST[EntryKind.NOTE], "edge CPU at 100%"))
        after = record(incident, after, StrikeEntry(FIRST[EntryKind.PINNED], "another incident's graph"))
        assert [e.kind for e in after[-2:]] == [EntryKind.CORRECTION, EntryKind.STRIKE]


class TestRefusals:
    def test_striking_a_status_change_is_refused_with_what_to_do(self) -> None:
        """A rollback is not struck: the status follows from it; correcting it is offered."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, StrikeEntry(15, "wrong"))
        assert refused.value.user_message == (
            "Entry #15 (rollback) changed INC-7's status, which follows from it, so it cannot be struck. "
            "Correct its time or text instead (`correct 15 <text> --at WHEN`)."
        )

    @pytest.mark.parametrize(
        ("kind", "hint"),
        [
            (EntryKind.SEVERITY, " To change the severity: `severity <sevN>`."),
            (EntryKind.SERVICE, " To name another service: `service <name>`."),
            (EntryKind.LEAD, " To name another lead: `lead @user`."),
        ],
    )
    def test_striking_an_entry_written_from_its_data_reads_as_two_sentences(self, kind: EntryKind, hint: str) -> None:
        """Found by a fresh tester: "...(`correct 3 --at WHEN`) To change the severity: ..." lacked its full stop."""
        incident, entries = every_kind()
        number = FIRST[kind]
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, StrikeEntry(number, "wrong"))
        assert refused.value.user_message.endswith(f"correct its time (`correct {number} --at WHEN`).{hint}")

    def test_striking_a_resolve_also_offers_reopen(self) -> None:
        """A resolve's refusal names ``reopen`` for an incident that is not over."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError, match=r"or `reopen <reason>` if the incident is not over\.$"):
            record(incident, entries, StrikeEntry(21, "not over"))

    def test_a_hypothesis_is_decided_not_corrected(self) -> None:
        """Hypothesis entries point at ``hypothesis reject``."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, CorrectEntry(7, "DDoS from one ASN"))
        assert refused.value.user_message == (
            "Entry #7 is hypothesis #1; hypotheses are not corrected but decided: "
            "`hypothesis reject 1 <why>`, then add the right one."
        )

    def test_a_followup_entry_points_at_the_followup_commands(self) -> None:
        """Follow-up entries point at the follow-up's own commands."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, StrikeEntry(22, "duplicate"))
        assert refused.value.user_message == (
            "Entry #22 (follow-up) belongs to follow-up #1, which its own commands change: "
            "`followup owner|due|done|reopen|drop <n> ...`."
        )

    def test_text_on_an_entry_written_from_its_data(self) -> None:
        """The IRT entry's sentence is its members: only its time, and `assemble` is named."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, CorrectEntry(5, "bob and carol"))
        assert refused.value.user_message == (
            "Entry #5 (IRT assembled) is written from its data, so only its time can be corrected: "
            "`correct 5 --at WHEN`. To change the IRT: `assemble @user[:role]`."
        )

    def test_an_alert_is_kept_as_it_came(self) -> None:
        """Alerts were recorded by the bot from the alert's own message."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, CorrectEntry(6, "", at(5.5)))
        assert refused.value.user_message == (
            "Entry #6 (alert fired) was recorded by the bot as it came and cannot be corrected."
        )

    def test_unknown_number(self) -> None:
        """A number past the last entry says which numbers exist."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, CorrectEntry(99, "x"))
        assert refused.value.user_message == (
            "INC-7 has no entry #99 (its entries are #1 to #33: `timeline` numbers them)."
        )

    def test_same_text_changes_nothing(self) -> None:
        """A correction that changes nothing is refused rather than recorded."""
        incident, entries = every_kind()
        with pytest.raises(TransitionError) as refused:
            record(incident, entries, CorrectEntry(11, "half the edge at 100% CPU", at(10)))
        assert refused.value.user_message == "Entry #11 already reads so; nothing to correct."

    def test_a_status_change_may_not_move_before_the_previous_one(self) -> None:
        """The rollback (14 min) moved to 12 min would come before the severity change at 13 min."""
        incident, entries = every_kind()
        with pytest.raises(TimeParseError) as refused:
            record(incident, entries, CorrectEntry(15, "", at(12)))
        assert refused.value.user_message == (
            "2026-11-22 13:12 UTC would put the rollback (#15) before the severity change (#14, 2026-11-22 13:13 UTC) "
            "that came before it: status changes keep their order. Pick a time at or after 2026-11-22 13:13 UTC."
        )

    def test_a_status_change_may_not_move_after_the_next_one(self) -> None:
        """The rollback moved to 16 min would come after monitoring began at 15 min."""
        incident, entries = every_kind()
        with pytest.raises(TimeParseError) as refused:
            record(incident, entries, CorrectEntry(15, "", at(16)))
        assert refused.value.user_message == (
            "2026-11-22 13:16 UTC would put the rollback (#15) after the monitoring (#16, 2026-11-22 13:15 UTC) "
            "that came after it: status changes keep their order. Pick a time at or before 2026-11-22 13:15 UTC."
        )

    def test_no_entry_moves_before_the_declaration(self) -> None:
        """A note moved before 13:00 is refused; the declaration's own time is corrected first."""
        incident, entries = every_kind()
        with pytest.raises(TimeParseError) as refused:
            record(incident, entries, CorrectEntry(11, "", at(-3)))
        assert refused.value.user_message == (
            "2026-11-22 12:57 UTC is before INC-7 was declared (2026-11-22 13:00 UTC); correct the declaration's "
            "time first (`correct 1 --at WHEN`)."
        )

    def test_the_declaration_may_not_move_after_an_entry(self) -> None:
        """The declaration stays first: 13:01:30 is after the service entry of 13:01 (both shown to the second: to
        the minute they read the same)."""
        incident, entries = every_kind()
        with pytest.raises(TimeParseError) as refused:
            record(incident, entries, CorrectEntry(1, "", at(1.5)))
        assert refused.value.user_message == (
            "2026-11-22 13:01:30 UTC is after entry #2 (service at 2026-11-22 13:01:00 UTC); "
            "INC-7's declaration must come first."
        )


class TestChains:
    def test_correcting_a_correction_corrects_the_original(self) -> None:
        """``correct 34`` (a correction of #11) points at #11 via #34; the latest text and time win."""
        incident, entries = every_kind()
        after = record(incident, entries, CorrectEntry(11, "edge at 100% CPU", at(10.5)))
        after = record(incident, after, CorrectEntry(34, "all of the edge at 100% CPU"))
        assert (after[-1].data["entry"], after[-1].data["via"], after[-1].data["text_from"]) == (
            11,
            34,
            "edge at 100% CPU",
        )
        shown = current(after, 11)
        assert shown is not None
        assert (shown.text, shown.occurred_at, shown.data["corrected_by"]) == (
            "all of the edge at 100% CPU",
            at(10.5),
            [34, 35],
        )

    def test_a_struck_entry_cannot_be_corrected_or_struck_again(self) -> None:
        """After ``strike 11`` both verbs name the strike."""
        incident, entries = every_kind()
        after = record(incident, entries, StrikeEntry(11, "wrong incident"))
        for action in (CorrectEntry(11, "x"), StrikeEntry(11, "again")):
            with pytest.raises(TransitionError, match=r"^Entry #11 was struck by #34; there is nothing left to"):
                record(incident, after, action)

    def test_a_strike_and_a_correction_are_not_struck(self) -> None:
        """Strikes stay as made; a correction is replaced by correcting the original again."""
        incident, entries = every_kind()
        after = record(incident, entries, CorrectEntry(11, "edge at 100% CPU"))
        after = record(incident, after, StrikeEntry(12, "wrong graph"))
        with pytest.raises(TransitionError) as refused:
            record(incident, after, StrikeEntry(34, "undo"))
        assert refused.value.user_message == (
            "Entry #34 is a correction of #11; a correction is not struck. Correct #11 again "
            "(`correct 11 <text>`), or strike #11 itself."
        )
        with pytest.raises(TransitionError, match=r"^Entry #35 is a strike \(of #12\)"):
            record(incident, after, CorrectEntry(35, "x"))


class TestTheRecordAsItNowReads:
    def test_correcting_the_irt_time_changes_time_to_assemble(self) -> None:
        """The IRT assembled at 13:04 (4 min) is corrected to 13:02:30: time to assemble 2 min."""
        incident, entries = every_kind()
        assert find_milestones(apply_corrections(entries)).irt_assembled_at == at(4)
        after = record(incident, entries, CorrectEntry(5, "", at(2.5)))
        assert find_milestones(apply_corrections(after)).irt_assembled_at == at(2.5)
        metrics = {m.name: (m.value, m.at) for m in build_postmortem(incident, after, NOW).metrics}
        assert metrics["Time to assemble the IRT"] == ("2 min", "13:02")

    def test_a_corrected_resolve_moves_the_incident_and_its_summary(self) -> None:
        """The final resolve (#21, 13:20) corrected to 13:20:40 with new text: resolved_at and summary follow."""
        incident, entries = every_kind()
        after = record(incident, entries, CorrectEntry(21, "healthy for 30 min", at(20) + timedelta(seconds=40)))
        shown = corrected_incident(incident, after)
        assert (shown.resolved_at, shown.summary) == (at(20) + timedelta(seconds=40), "healthy for 30 min")
        assert (incident.resolved_at, incident.summary) == (at(20), "healthy again")  # the stored state stays

    def test_a_struck_impact_no_longer_counts(self) -> None:
        """Striking the only impact entry leaves the incident with no impact share and no bad minutes."""
        incident, entries = every_kind()
        after = record(incident, entries, StrikeEntry(3, "was another service"))
        assert corrected_incident(incident, after).impact_percent is None
        assert build_postmortem(incident, after, NOW).impact == ""
        assert build_postmortem(incident, entries, NOW).impact.startswith("50% of requests failing 13:02")

    def test_a_corrected_confirmation_note_reaches_the_hypothesis(self) -> None:
        """The root cause note shown is the corrected one."""
        incident, entries = every_kind()
        after = record(incident, entries, CorrectEntry(13, "CPU profiles show the regex"))
        root = corrected_incident(incident, after).root_cause
        assert root is not None and root.outcome == "CPU profiles show the regex"

    def test_a_corrected_status_change_is_the_latest_for_backdating(self) -> None:
        """Moving the final resolve later moves the latest status change that backdating is checked against."""
        incident, entries = every_kind()
        after = record(incident, entries, CorrectEntry(21, "", at(25)))
        latest = corrected_incident(incident, after).latest_change
        assert latest is not None and (latest.kind, latest.occurred_at) == (EntryKind.RESOLVED, at(25))


@st.composite
def corrections(draw: st.DrawFn) -> list[CorrectEntry | StrikeEntry]:
    """A few corrections and strikes of any entry (including corrections), with any text and time."""
    actions: list[CorrectEntry | StrikeEntry] = []
    for _ in range(draw(st.integers(1, 6))):
        number = draw(st.integers(1, len(EVERY_KIND) + len(actions)))
        if draw(st.booleans()):
            actions.append(StrikeEntry(number, draw(st.text(min_size=1, max_size=8))))
        else:
            minutes = draw(st.none() | st.floats(-5, 40, allow_nan=False))
            when = None if minutes is None else at(minutes)
            actions.append(CorrectEntry(number, draw(st.text(max_size=8)), when))
    return actions


class TestAppendOnly:
    @settings(max_examples=40, deadline=None)
    @given(actions=corrections())
    def test_corrections_never_change_the_stored_entries(self, actions: list[CorrectEntry | StrikeEntry]) -> None:
        """Whatever is corrected or struck (or refused), every stored entry keeps its kind, times, text and
        data; the record only grows; reading it twice gives the same result."""
        incident, entries = every_kind()
        snapshot = copy.deepcopy([(_fields(e), e.number) for e in entries])
        record_so_far = entries
        for action in actions:
            try:
                record_so_far = record(incident, record_so_far, action)
            except (TransitionError, TimeParseError):
                continue
            assert [(_fields(e), e.number) for e in record_so_far[: len(entries)]] == snapshot
            view = apply_corrections(record_so_far)
            assert view == apply_corrections(record_so_far)
            assert [(_fields(e), e.number) for e in entries] == snapshot
            assert all(e.kind not in (EntryKind.CORRECTION, EntryKind.STRIKE) for e in view)
        assert [(_fields(e), e.number) for e in record_so_far[: len(entries)]] == snapshot


class TestCorrectedSummary:
    """The incident list (``corrected_summary``, read from the entries of ``STATE_KINDS`` only) shows the same
    declaration and resolve times as the incident's own view (``corrected_incident``)."""

    def test_a_corrected_declaration_and_resolve_are_listed_at_their_corrected_times(self) -> None:
        incident, entries = every_kind()
        after = record(incident, entries, CorrectEntry(1, "", at(-2)))
        after = record(incident, after, CorrectEntry(21, "", at(25)))
        listed = corrected_summary(summary_of(incident), [e for e in after if e.kind in STATE_KINDS])
        assert (listed.declared_at, listed.resolved_at) == (at(-2), at(25))
        assert listed.title == "CDN 502s"

    def test_without_a_correction_the_summary_is_the_stored_one(self) -> None:
        incident, entries = every_kind()
        summary = summary_of(incident)
        assert corrected_summary(summary, entries) is summary

    @settings(max_examples=40, deadline=None)
    @given(actions=corrections(), resolved=st.booleans())
    def test_listed_times_are_the_incident_views_times(
        self, actions: list[CorrectEntry | StrikeEntry], resolved: bool
    ) -> None:
        incident, entries = every_kind()
        if not resolved:
            incident = replace(incident, status=Status.MONITORING, resolved_at=None, resolved_by=None)
        record_so_far = entries
        for action in actions:
            try:
                record_so_far = record(incident, record_so_far, action)
            except (TransitionError, TimeParseError):
                continue
        shown = corrected_incident(incident, record_so_far)
        listed = corrected_summary(summary_of(incident), [e for e in record_so_far if e.kind in STATE_KINDS])
        assert (listed.declared_at, listed.resolved_at) == (shown.declared_at, shown.resolved_at)
        assert listed.resolved_at is None if not resolved else listed.resolved_at is not None


class TestStatuspageEntries:
    def test_a_statuspage_entry_is_refused_naming_the_public_way(self) -> None:
        """Published is public: neither its text, its time nor the entry itself changes here."""
        incident, entries = every_kind()
        number = len(entries) + 1
        published = TimelineEntry(
            EntryKind.STATUSPAGE, at(40), at(40), LEAD, "Checkout is slow", {"action": "update"}, number
        )
        with pytest.raises(TransitionError) as raised:
            record(incident, [*entries, published], StrikeEntry(number, "typo"))
        assert raised.value.user_message == (
            f"Entry #{number} (status page update) was published on the public status page and cannot be struck "
            "here: `statuspage update <text>` publishes a correction there."
        )

    def test_correcting_its_text_or_time_is_refused_alike(self) -> None:
        incident, entries = every_kind()
        number = len(entries) + 1
        published = TimelineEntry(
            EntryKind.STATUSPAGE, at(40), at(40), LEAD, "Checkout is slow", {"action": "update"}, number
        )
        for action in (CorrectEntry(number, "Checkout is fast"), CorrectEntry(number, "", at(41))):
            with pytest.raises(
                TransitionError, match="was published on the public status page and cannot be corrected"
            ):
                record(incident, [*entries, published], action)
