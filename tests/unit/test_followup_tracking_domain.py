"""Filing and sync-back in the domain: ``followup export <n>`` parsed and decided (refused when already
filed or dropped), the ``followup_exported`` record, and sync-back's decision
(``bot.domain.tracking.sync_action``): examples with their right answers, and a property over any
follow-up state, tracker state and done/reopen history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import ExportFollowup, RecordFollowupExport, RecordTrackerIssueGone
from bot.domain.errors import TransitionError, UsageError
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import Stamp, apply
from bot.domain.model import EntryKind, Followup, FollowupState, Incident, Severity, Status, TimelineEntry
from bot.domain.tracking import SyncAction, sync_action

T0 = datetime(2026, 11, 22, 14, 47, tzinfo=UTC)
OPEN = Followup(2, "synthetic WAF tests", "U0BOB", T0, tracker_key="acme/web#2", tracker_url="https://x/2")
DONE = replace(OPEN, state=FollowupState.DONE, done_at=T0 + timedelta(hours=1))
DROPPED = replace(OPEN, state=FollowupState.DROPPED)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def done(minutes: int, actor: str, number: int = 2) -> TimelineEntry:
    return TimelineEntry(EntryKind.FOLLOWUP_DONE, at(minutes), at(minutes), actor, "", {"number": number})


def reopened(minutes: int, actor: str, number: int = 2) -> TimelineEntry:
    return TimelineEntry(EntryKind.FOLLOWUP_REOPENED, at(minutes), at(minutes), actor, "", {"number": number})


def dropped(minutes: int, actor: str, number: int = 2) -> TimelineEntry:
    return TimelineEntry(EntryKind.FOLLOWUP_DROPPED, at(minutes), at(minutes), actor, "", {"number": number})


@pytest.mark.parametrize(
    ("followup", "closed", "closed_at", "entries", "expected"),
    [
        # Closed in the tracker, open here: done.
        (OPEN, True, at(60), [], SyncAction.DONE),
        (OPEN, True, None, [], SyncAction.DONE),
        # Open in both, done in both: nothing.
        (OPEN, False, None, [], None),
        (DONE, True, at(60), [done(61, "github")], None),
        # Done here by a person while the issue stays open: the tracker did not reopen anything.
        (DONE, False, None, [done(30, "U0BOB")], None),
        # Done by the tracker, then the issue was reopened there: open again.
        (DONE, False, None, [done(61, "github")], SyncAction.REOPEN),
        # A person reopened it here after the tracker closed it: do not close it again.
        (OPEN, True, at(60), [done(61, "github"), reopened(90, "U0ALICE")], None),
        (OPEN, True, None, [done(61, "github"), reopened(90, "U0ALICE")], None),
        # ... but a close in the tracker after that reopen is news.
        (OPEN, True, at(120), [done(61, "github"), reopened(90, "U0ALICE")], SyncAction.DONE),
        # Reopened by the tracker, then closed there again (closing time unknown): done.
        (OPEN, True, None, [done(61, "github"), reopened(90, "github")], SyncAction.DONE),
        # Another follow-up's history does not count.
        (DONE, False, None, [done(61, "github", number=1), done(62, "U0BOB")], None),
        (OPEN, True, at(60), [reopened(90, "U0ALICE", number=3)], SyncAction.DONE),
        # Dropped here by a person: left alone whatever the tracker says.
        (DROPPED, True, at(60), [dropped(30, "U0BOB")], None),
        (DROPPED, False, None, [dropped(30, "U0BOB")], None),
        (DROPPED, False, None, [done(61, "github"), reopened(62, "U0BOB"), dropped(63, "U0BOB")], None),
    ],
)
def test_examples(
    followup: Followup,
    closed: bool,
    closed_at: datetime | None,
    entries: list[TimelineEntry],
    expected: SyncAction | None,
) -> None:
    """Each case reads as its comment says (a close that is a completion: ``tracker_dropped`` False)."""
    assert sync_action(followup, closed, closed_at, entries, "github") == expected


@pytest.mark.parametrize(
    ("followup", "closed", "closed_at", "entries", "expected"),
    [
        # Closed as not planned in the tracker, open here: dropped, whatever came before.
        (OPEN, True, at(60), [], SyncAction.DROP),
        (OPEN, True, None, [], SyncAction.DROP),
        (OPEN, True, at(120), [done(61, "github"), reopened(90, "U0ALICE")], SyncAction.DROP),
        # A person reopened it here after that close: not dropped again until the tracker closes it anew.
        (OPEN, True, at(60), [dropped(61, "github"), reopened(90, "U0ALICE")], None),
        # Dropped by the tracker, then the issue was reopened there: open again.
        (DROPPED, False, None, [dropped(61, "github")], SyncAction.REOPEN),
        (DROPPED, False, None, [done(30, "github"), reopened(40, "github"), dropped(61, "github")], SyncAction.REOPEN),
        # Dropped by the tracker and still closed: nothing more.
        (DROPPED, True, at(60), [dropped(61, "github")], None),
        # Done here, closed as not planned there: done stays (a drop needs a reopen first).
        (DONE, True, at(60), [done(30, "U0BOB")], None),
        (DONE, True, at(60), [done(61, "github")], None),
    ],
)
def test_closed_without_being_done(
    followup: Followup,
    closed: bool,
    closed_at: datetime | None,
    entries: list[TimelineEntry],
    expected: SyncAction | None,
) -> None:
    """An issue closed without being done (``tracker_dropped``): each case reads as its comment says."""
    assert sync_action(followup, closed, closed_at, entries, "github", tracker_dropped=True) == expected


ACTORS = st.sampled_from(["github", "U0ALICE", "U0BOB"])
HISTORY = st.lists(
    st.tuples(
        st.sampled_from([EntryKind.FOLLOWUP_DONE, EntryKind.FOLLOWUP_DROPPED, EntryKind.FOLLOWUP_REOPENED]),
        st.integers(0, 500),
        ACTORS,
    ),
    max_size=6,
)


def _entries(history: list[tuple[EntryKind, int, str]]) -> list[TimelineEntry]:
    return [TimelineEntry(kind, at(m), at(m), actor, "", {"number": 2}) for kind, m, actor in history]


@given(
    state=st.sampled_from(list(FollowupState)),
    closed=st.booleans(),
    closed_minute=st.none() | st.integers(0, 500),
    history=HISTORY,
    not_done=st.booleans(),
)
def test_a_recorded_sync_is_not_recorded_again(
    state: FollowupState,
    closed: bool,
    closed_minute: int | None,
    history: list[tuple[EntryKind, int, str]],
    not_done: bool,
) -> None:
    """Whatever the history: DONE only for an open follow-up whose issue is closed as done, DROP only for
    one whose issue is closed without being done, REOPEN only for a done or dropped one whose issue is
    open and whose latest done/drop was the tracker's; once the change is recorded (state and entry), the
    same tracker state asks for nothing more (sync-back never flaps)."""
    followup = replace(OPEN, state=state)
    entries = _entries(history)
    closed_at = at(closed_minute) if closed_minute is not None else None
    action = sync_action(followup, closed, closed_at, entries, "github", not_done)
    if action is SyncAction.DONE:
        assert (state, closed, not_done) == (FollowupState.OPEN, True, False)
        after = replace(followup, state=FollowupState.DONE)
        recorded = TimelineEntry(EntryKind.FOLLOWUP_DONE, at(600), at(600), "github", "", {"number": 2})
    elif action is SyncAction.DROP:
        assert (state, closed, not_done) == (FollowupState.OPEN, True, True)
        after = replace(followup, state=FollowupState.DROPPED)
        recorded = TimelineEntry(EntryKind.FOLLOWUP_DROPPED, at(600), at(600), "github", "", {"number": 2})
    elif action is SyncAction.REOPEN:
        assert state is not FollowupState.OPEN and not closed
        made = EntryKind.FOLLOWUP_DONE if state is FollowupState.DONE else EntryKind.FOLLOWUP_DROPPED
        assert [e.actor for e in sorted(entries, key=lambda e: e.recorded_at) if e.kind is made][-1] == "github"
        after = replace(followup, state=FollowupState.OPEN)
        recorded = TimelineEntry(EntryKind.FOLLOWUP_REOPENED, at(600), at(600), "github", "", {"number": 2})
    else:
        return
    assert sync_action(after, closed, closed_at, [*entries, recorded], "github", not_done) is None


INCIDENT = Incident(
    1,
    "CDN edge returning 502s",
    Severity.SEV1,
    Status.RESOLVED,
    T0 - timedelta(hours=1),
    "U0ALICE",
    followups=(
        Followup(1, "canary deployment for firewall changes", "U0CAROL", T0),
        Followup(2, "synthetic WAF tests", "U0BOB", T0, tracker_key="acme/web#2", tracker_url="https://x/2"),
        Followup(3, "verify CPU load step", "U0DAVE", T0, state=FollowupState.DROPPED),
    ),
)
STAMP = Stamp("U0ALICE", at(10), at(10), "alice")


class TestExport:
    @pytest.mark.parametrize(
        ("typed", "number"), [("followup export 1", 1), ("FOLLOWUP EXPORT #12", 12), ("INC-3 followup export 2", 2)]
    )
    def test_parsed(self, typed: str, number: int) -> None:
        """``followup export <n>`` names follow-up n (``#n`` too)."""
        assert parse_command(typed).action == ExportFollowup(number)

    @pytest.mark.parametrize(
        ("typed", "message"),
        [
            ("followup export", "`followup export` needs the follow-up number, e.g. `followup export 1`."),
            ("followup export 1 now", "`followup export` takes only the follow-up number, e.g. `followup export 1`."),
        ],
    )
    def test_refused_input(self, typed: str, message: str) -> None:
        """A missing number or extra words are refused with the reason."""
        with pytest.raises(UsageError) as refused:
            parse_command(typed)
        assert refused.value.user_message == message

    def test_export_words_are_a_new_followup_text(self) -> None:
        """``followup export the dashboards`` (no number) adds a follow-up with that text."""
        assert parse_command("followup export the dashboards").action.text == "export the dashboards"  # type: ignore[union-attr]

    def test_export_records_a_request_and_changes_nothing_else(self) -> None:
        """Exporting #1 records a ``followup_export`` entry; the follow-up and status stay as they were."""
        decision = apply(INCIDENT, ExportFollowup(1), STAMP)
        assert decision.incident == INCIDENT
        assert [(e.kind, e.data["number"], e.actor) for e in decision.entries] == [
            (EntryKind.FOLLOWUP_EXPORT, 1, "U0ALICE")
        ]

    @pytest.mark.parametrize(
        ("number", "message"),
        [
            (2, "Follow-up #2 is already filed as acme/web#2 (https://x/2)."),
            (3, "Follow-up #3 was dropped; `followup reopen 3` first to file it."),
            (
                4,
                "INC-1 has no follow-up #4 (it has: #1, #2, #3). `followups` lists them; add one with "
                "`followup <text> [@owner]`.",
            ),
        ],
    )
    def test_export_refused(self, number: int, message: str) -> None:
        """An exported follow-up is refused naming its key, a dropped one asks for a reopen, an unknown one
        names those that exist."""
        with pytest.raises(TransitionError) as refused:
            apply(INCIDENT, ExportFollowup(number), STAMP)
        assert refused.value.user_message == message

    def test_recording_the_filed_issue_sets_key_and_url(self) -> None:
        """``followup_exported`` carries the key and URL, and the follow-up keeps them."""
        decision = apply(INCIDENT, RecordFollowupExport(1, "acme/web#9", "https://github.com/acme/web/issues/9"), STAMP)
        assert decision.incident.followup(1) == replace(
            INCIDENT.followups[0], tracker_key="acme/web#9", tracker_url="https://github.com/acme/web/issues/9"
        )
        assert [(e.kind, e.data["key"], e.data["url"]) for e in decision.entries] == [
            (EntryKind.FOLLOWUP_EXPORTED, "acme/web#9", "https://github.com/acme/web/issues/9")
        ]
        with pytest.raises(TransitionError):
            apply(decision.incident, RecordFollowupExport(1, "acme/web#10", "https://x/10"), STAMP)


class TestTrackerIssueGone:
    def test_the_follow_up_forgets_the_key_and_the_entry_keeps_it(self) -> None:
        """``RecordTrackerIssueGone``: follow-up #2 is no longer filed; the entry has key, URL and reason."""
        decision = apply(INCIDENT, RecordTrackerIssueGone(2, "acme/web#2", "HTTP 410: This issue was deleted"), STAMP)
        assert decision.incident.followup(2) == replace(INCIDENT.followups[1], tracker_key=None, tracker_url=None)
        assert [(e.kind, e.text, e.data["key"], e.data["url"]) for e in decision.entries] == [
            (EntryKind.FOLLOWUP_TRACKER_GONE, "HTTP 410: This issue was deleted", "acme/web#2", "https://x/2")
        ]

    @pytest.mark.parametrize(
        ("number", "key", "message"),
        [
            (2, "acme/web#9", "Follow-up #2 is filed as acme/web#2, not as acme/web#9."),
            (1, "acme/web#1", "Follow-up #1 is not filed, not as acme/web#1."),
        ],
    )
    def test_another_key_is_refused(self, number: int, key: str, message: str) -> None:
        """A stale report (the follow-up was filed anew, or never) changes nothing."""
        with pytest.raises(TransitionError) as refused:
            apply(INCIDENT, RecordTrackerIssueGone(number, key, "404"), STAMP)
        assert refused.value.user_message == message

    def test_it_may_be_filed_again(self) -> None:
        """Once its issue is gone, ``followup export 2`` is accepted again."""
        gone = apply(INCIDENT, RecordTrackerIssueGone(2, "acme/web#2", "410"), STAMP).incident
        decision = apply(gone, ExportFollowup(2), STAMP)
        assert [e.kind for e in decision.entries] == [EntryKind.FOLLOWUP_EXPORT]
