"""Reading the timeline: one sentence per entry, the names it carries, its order and its milestones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.commands import (
    AddHypothesis,
    AddNote,
    Assemble,
    Assignee,
    ConfirmHypothesis,
    Declare,
    Mitigate,
    RejectHypothesis,
    Reopen,
    Resolve,
    Rollback,
    Transition,
    UserRef,
)
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Severity, TimelineEntry, sorted_timeline
from bot.domain.timeline import (
    collect_names,
    describe,
    find_milestones,
    format_percent,
    keep_text,
    plain_mention,
    plain_references,
)
from bot.slack.text import slack_mention

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(
    kind: EntryKind,
    text: str = "",
    actor: str = "U0ALICE",
    minutes: float = 0,
    recorded: float | None = None,
    **data: Any,
) -> TimelineEntry:
    return TimelineEntry(kind, at(minutes), at(minutes if recorded is None else recorded), actor, text, data)


def mention(user_id: str) -> str:
    return f"@{user_id}"


# swapcase shows where escaping happened: user ids (U0...) and severities would change case if escaped.
escape = str.swapcase


def recorded(recorded_kind: EntryKind, text: str = "", **data: Any) -> TimelineEntry:
    """Like ``entry``, for corrections and strikes, whose data has an ``entry_kind`` of its own."""
    return replace(entry(recorded_kind, text), data=data)


DESCRIBED = [
    (
        entry(EntryKind.DECLARED, "CDN 502s", severity="sev1", status_to="declared"),
        "Incident declared (sev1): cdn 502S",
    ),
    (entry(EntryKind.LEAD, user="U0LEAD", previous=None), "@U0LEAD is now the incident lead"),
    (
        entry(EntryKind.ASSEMBLED, members=[{"user": "U0A", "role": "Net"}, {"user": "U0B", "role": None}]),
        "IRT assembled: @U0A (nET), @U0B",
    ),
    (entry(EntryKind.HYPOTHESIS, "External DDoS", number=1), "Hypothesis #1: eXTERNAL ddOs"),
    (
        entry(EntryKind.HYPOTHESIS_REJECTED, "Traffic normal", number=1, hypothesis="DDoS"),
        "Hypothesis #1 rejected (ddOs): tRAFFIC NORMAL",
    ),
    (
        entry(EntryKind.HYPOTHESIS_CONFIRMED, "Graphs match", number=2, hypothesis="Bad deploy"),
        "Hypothesis #2 confirmed as root cause (bAD DEPLOY): gRAPHS MATCH",
    ),
    (entry(EntryKind.MITIGATION, "Rate limit"), "Mitigation attempted: rATE LIMIT"),
    (entry(EntryKind.ROLLBACK, "Deploy 42"), "Rolled back: dEPLOY 42"),
    (entry(EntryKind.MONITORING, "Edge 5xx"), "Monitoring: eDGE 5XX"),
    (
        entry(EntryKind.REOPENED, "502s Back", status_from="monitoring", status_to="investigating"),
        "The fix did not hold: back to investigating: 502S bACK",
    ),
    (entry(EntryKind.RESOLVED, "All good"), "Incident resolved: aLL GOOD"),
    (entry(EntryKind.REOPENED, "Back again"), "Incident reopened: bACK AGAIN"),
    (entry(EntryKind.SEVERITY, severity_from="sev3", severity_to="sev1"), "Severity changed from sev3 to sev1"),
    (entry(EntryKind.NOTE, "Status page"), "Note: sTATUS PAGE"),
    (entry(EntryKind.FOLLOWUP, "Canary WAF", number=2, owner="U0CAROL"), "Follow-up #2: cANARY waf (owner: @U0CAROL)"),
    (
        entry(EntryKind.FOLLOWUP, "Canary WAF", number=2, owner="U0CAROL", due="2026-12-15"),
        "Follow-up #2: cANARY waf (owner: @U0CAROL; due 2026-12-15)",
    ),
    (entry(EntryKind.FOLLOWUP_DONE, "Shipped", number=2, followup="Canary"), "Follow-up #2 (cANARY) done: sHIPPED"),
    (entry(EntryKind.FOLLOWUP_REOPENED, "", number=2, followup="Canary"), "Follow-up #2 (cANARY) reopened"),
    (
        entry(EntryKind.FOLLOWUP_OWNER, number=2, followup="Canary", owner="U0DAVE", previous=None),
        "Follow-up #2 (cANARY) is now owned by @U0DAVE",
    ),
    (
        entry(EntryKind.FOLLOWUP_DUE, number=2, followup="Canary", due="2026-12-15", previous=None),
        "Follow-up #2 (cANARY) is now due 2026-12-15",
    ),
    (entry(EntryKind.FOLLOWUP_DROPPED, "Dup", number=2, followup="Canary"), "Follow-up #2 (cANARY) dropped: dUP"),
    (
        entry(EntryKind.FOLLOWUP_REMINDER, day="2026-12-02", numbers=[1, 3], owners={"1": "U0C", "3": None}),
        "Reminder posted: follow-ups overdue on 2026-12-02: #1, #3",
    ),
    (
        entry(EntryKind.PINNED, "Graph spike", actor="U0DAVE", pinned_by="U0ALICE", permalink="https://x/P1"),
        "Pinned message from @U0DAVE: gRAPH SPIKE",
    ),
    (entry(EntryKind.SERVICE, service="cdn-edge", previous=None), "Service affected: cdn-edge"),
    (entry(EntryKind.IMPACT, percent=50.0, previous=None), "Impact: 50% of requests failing"),
    (
        entry(EntryKind.ALERT_FIRED, "Edge 5xx", fingerprint="f1", generator_url="http://Prom/g"),
        "Alert fired: eDGE 5XX (HTTP://pROM/G)",
    ),
    (entry(EntryKind.ALERT_CLEARED, "Edge 5xx", fingerprint="f1", generator_url=""), "Alert cleared: eDGE 5XX"),
    (entry(EntryKind.NUDGE, silent_minutes=15), "Reminder posted: no timeline update for 15 min"),
    (
        recorded(
            EntryKind.CORRECTION,
            "Edge CPU",
            entry=9,
            entry_kind="note",
            text_from="Old",
            at_from="2026-11-22T14:03:00+00:00",
            at_to="2026-11-22T14:01:00+00:00",
        ),
        'Corrected #9 (note): now "eDGE cpu" (was "oLD"); time 14:03 -> 14:01',
    ),
    (
        recorded(
            EntryKind.CORRECTION,
            "",
            entry=5,
            entry_kind="assembled",
            via=17,
            at_from="2026-11-22T13:50:00+00:00",
            at_to="2026-11-21T23:50:00+00:00",
        ),
        "Corrected #5 (IRT assembled, via correction #17): time 2026-11-22 13:50 -> 2026-11-21 23:50",
    ),
    (  # a second tester's "time 05:26 -> 05:26" (corrected within the minute)
        recorded(
            EntryKind.CORRECTION,
            "",
            entry=3,
            entry_kind="rollback",
            at_from="2026-12-01T05:26:12.482913+00:00",
            at_to="2026-12-01T05:26:49+00:00",
        ),
        "Corrected #3 (rollback): time 05:26:12 -> 05:26:49",
    ),
    (
        recorded(
            EntryKind.CORRECTION,
            "",
            entry=3,
            entry_kind="rollback",
            at_from="2026-12-01T05:26:49.482913+00:00",
            at_to="2026-12-01T05:26:49+00:00",
        ),
        "Corrected #3 (rollback): time 05:26:49.482913 -> 05:26:49.000000",
    ),
    (
        recorded(EntryKind.STRIKE, "Wrong incident", entry=9, entry_kind="note", text_from="Edge"),
        'Struck #9 (note "eDGE"): wRONG INCIDENT',
    ),
    (
        entry(EntryKind.FOLLOWUP_EXPORT, number=2, followup="Canary"),
        "Follow-up #2 (cANARY) to be filed in the tracker",
    ),
    (
        entry(EntryKind.FOLLOWUP_EXPORTED, number=2, followup="Canary", key="acme/web#7", url="https://x/7"),
        "Follow-up #2 (cANARY) filed as acme/web#7 (https://x/7)",
    ),
    (
        entry(
            EntryKind.FOLLOWUP_TRACKER_GONE,
            "HTTP 410: This issue was deleted",
            number=2,
            followup="Canary",
            key="acme/web#7",
            url="https://x/7",
        ),
        "Follow-up #2 (cANARY): its tracker issue acme/web#7 is gone: http 410: tHIS ISSUE WAS DELETED",
    ),
    (
        entry(EntryKind.POSTMORTEM_PUBLISHED, target="confluence", ref="65601", url="https://x/65601", version="2"),
        "Postmortem published to Confluence (version 2): https://x/65601",
    ),
    (
        entry(EntryKind.POSTMORTEM_PUBLISHED, target="git", ref="p/INC-1.md", url="https://x/INC-1.md", version="3f2a"),
        "Postmortem published to Git (version 3f2a): https://x/INC-1.md",
    ),
    (
        entry(EntryKind.POSTMORTEM_STATUS, status="in-review", previous="draft"),
        "Postmortem is now in-review (was draft)",
    ),
    (entry(EntryKind.POSTMORTEM_OWNER, owner="U0BOB", previous=None), "Postmortem owner: @U0BOB"),
    (
        entry(EntryKind.POSTMORTEM_REMINDER, day="2026-11-27", reminded="U0LEAD"),
        "Reminder posted: the postmortem is still a draft on 2026-11-27 (@U0LEAD)",
    ),
    (
        recorded(
            EntryKind.POSTMORTEM_REVIEW,
            at="2026-11-24T14:00:00+00:00",
            minutes=90,
            attendees=["U0ALICE"],
            groups=["S0NET"],
            group_handles={"S0NET": "netops"},
            sequence=1,
        ),
        "Postmortem review rescheduled for 2026-11-24 14:00 UTC (90 min) with @U0ALICE, @netops",
    ),
    (
        entry(EntryKind.UPDATE, "502s on half the edge; rolling back WAF rule 42", next_update="2026-11-22T14:20:00Z"),
        "Status update: 502S ON HALF THE EDGE; ROLLING BACK waf RULE 42 (next update by 2026-11-22 14:20 UTC)",
    ),
    (entry(EntryKind.UPDATE, "edge healthy again"), "Status update: EDGE HEALTHY AGAIN"),
    (
        entry(EntryKind.NUDGE, silent_minutes=35, update_due="2026-11-22T14:20:00Z"),
        "Reminder posted: the status update due at 2026-11-22 14:20 UTC was not posted",
    ),
    (
        entry(EntryKind.STATUSPAGE, "Checkout <is> failing", action="open", status="investigating", impact="major"),
        "Status page incident opened (major impact, investigating): cHECKOUT <IS> FAILING",
    ),
    (
        entry(EntryKind.STATUSPAGE, "Fix is out", action="update", status="monitoring"),
        "Status page update (monitoring): fIX IS OUT",
    ),
    (
        entry(EntryKind.STATUSPAGE, "All good", action="resolve", status="resolved"),
        "Status page incident resolved: aLL GOOD",
    ),
    (
        entry(EntryKind.CHANNEL_ARCHIVED, "", "incidentbot", channel="C0INC", after="7d 0h"),
        "Channel archived 7d 0h after the resolve",
    ),
    (entry(EntryKind.CHANNEL_UNARCHIVED, "", "incidentbot", channel="C0INC"), "Channel unarchived"),
]


class TestDescribe:
    def test_every_kind_is_described(self) -> None:
        """The examples below cover every entry kind."""
        assert {e.kind for e, _ in DESCRIBED} == set(EntryKind)

    @pytest.mark.parametrize(("item", "sentence"), DESCRIBED, ids=[e.kind.value for e, _ in DESCRIBED])
    def test_sentence_per_kind(self, item: TimelineEntry, sentence: str) -> None:
        """Each kind reads as one sentence; escape touches user text only, mention gets raw ids."""
        assert describe(item, mention, escape) == sentence

    @pytest.mark.parametrize(
        ("item", "sentence"),
        [
            (entry(EntryKind.RESOLVED), "Incident resolved"),
            (entry(EntryKind.REOPENED), "Incident reopened"),
            (entry(EntryKind.HYPOTHESIS_REJECTED, number=3, hypothesis="dns"), "Hypothesis #3 rejected (DNS)"),
            (entry(EntryKind.FOLLOWUP, "alerting", number=1, owner=None), "Follow-up #1: ALERTING"),
        ],
    )
    def test_optional_text_is_left_out(self, item: TimelineEntry, sentence: str) -> None:
        """Without the optional text or owner there is no dangling colon or owner."""
        assert describe(item, mention, escape) == sentence

    def test_defaults_are_neutral_people_and_raw_text(self) -> None:
        """By default (no adapter chose) people are @ and the id or name recorded, never Slack markup;
        text is kept as typed."""
        lead = entry(EntryKind.LEAD, user="U0LEAD")
        assert describe(lead) == "@U0LEAD is now the incident lead"
        assert describe(entry(EntryKind.LEAD, user="alice")) == "@alice is now the incident lead"
        assert describe(lead, slack_mention) == "<@U0LEAD> is now the incident lead"
        assert describe(entry(EntryKind.NOTE, "a *b* <c>")) == "Note: a *b* <c>"

    def test_escape_reaches_markup_in_user_text(self) -> None:
        """An mrkdwn-style escape neutralises markup typed into a note."""

        def slack_escape(text: str) -> str:
            return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        assert describe(entry(EntryKind.NOTE, "<!channel> & co"), slack_mention, slack_escape) == (
            "Note: &lt;!channel&gt; &amp; co"
        )

    def test_describe_leaves_the_entry_alone(self) -> None:
        """Describing returns text and does not change the entry."""
        item = entry(EntryKind.HYPOTHESIS_REJECTED, "Reason", number=1, hypothesis="Theory")
        describe(item, mention, escape)
        assert (item.text, item.data["hypothesis"]) == ("Reason", "Theory")


class TestNames:
    def test_collect_names_merges_all_entries(self) -> None:
        """Names from every entry are gathered, later ones winning."""
        entries = [
            entry(EntryKind.NOTE, names={"U0A": "ann"}),
            entry(EntryKind.NOTE),
            entry(EntryKind.LEAD, names={"U0B": "bob", "U0A": "anne"}),
        ]
        assert collect_names(entries) == {"U0A": "anne", "U0B": "bob"}

    def test_plain_mention_falls_back_to_the_id(self) -> None:
        """Known users read as @name, unknown ones as @id."""
        show = plain_mention({"U0A": "ann"})
        assert (show("U0A"), show("U0Z")) == ("@ann", "@U0Z")

    def test_slack_mention_and_keep_text(self) -> None:
        """slack_mention wraps the id; keep_text is the identity."""
        assert (slack_mention("U0ANNA1"), keep_text("<b>")) == ("<@U0ANNA1>", "<b>")


class TestSortedTimeline:
    def test_orders_by_occurrence_then_recording(self) -> None:
        """Backdated entries sort by when they happened; ties by when they were recorded."""
        late = entry(EntryKind.NOTE, "late", minutes=10, recorded=10)
        backdated = entry(EntryKind.NOTE, "backdated", minutes=5, recorded=20)
        tie_second = entry(EntryKind.NOTE, "tie 2", minutes=5, recorded=30)
        tie_first = entry(EntryKind.NOTE, "tie 1", minutes=5, recorded=6)
        ordered = sorted_timeline([late, tie_second, backdated, tie_first])
        assert [e.text for e in ordered] == ["tie 1", "backdated", "tie 2", "late"]


def run(*steps: tuple[float, Transition]) -> list[TimelineEntry]:
    """Declare at T0 and apply each (minutes, action), returning the timeline in recording order."""
    change = declare(Declare("CDN 502s", Severity.SEV2), 7, Stamp("U0D", T0, T0))
    incident, entries = change.incident, list(change.entries)
    for number, (minutes, action) in enumerate(steps, start=1):
        change = apply(incident, action, Stamp("U0A", at(minutes), at(60 + number)))
        incident, entries = change.incident, entries + list(change.entries)
    return entries


class TestMilestones:
    def test_declared_only(self) -> None:
        """A fresh incident has only its detection time."""
        milestones = find_milestones(run())
        assert (
            milestones.detected_at,
            milestones.irt_assembled_at,
            milestones.root_cause_at,
            milestones.mitigated_at,
            milestones.resolved_at,
        ) == (T0, None, None, None, None)

    def test_full_life(self) -> None:
        """Assembly, root cause, rollback and resolution each set their milestone."""
        milestones = find_milestones(
            run(
                (5, Assemble((Assignee(UserRef("U0B")),))),
                (8, AddHypothesis("ddos")),
                (12, AddHypothesis("deploy")),
                (20, RejectHypothesis(1)),
                (23, ConfirmHypothesis(2)),
                (25, Mitigate("rate limit")),
                (31, Rollback("deploy 42")),
                (45, Resolve("ok")),
            )
        )
        assert (
            milestones.irt_assembled_at,
            milestones.root_cause_at,
            milestones.mitigated_at,
            milestones.resolved_at,
        ) == (at(5), at(23), at(31), at(45))

    def test_mitigation_attempts_do_not_count_as_mitigated(self) -> None:
        """Only a move to mitigated (or resolved) marks mitigation, not an attempt."""
        milestones = find_milestones(run((5, Mitigate("rate limit")), (9, AddNote("still failing"))))
        assert milestones.mitigated_at is None

    def test_resolved_without_rollback_is_mitigated_at_resolution(self) -> None:
        """With no rollback, mitigation time is the resolution time."""
        milestones = find_milestones(run((5, AddHypothesis("x")), (40, Resolve())))
        assert (milestones.mitigated_at, milestones.resolved_at) == (at(40), at(40))

    def test_reopened_and_resolved_again_uses_the_last_resolution(self) -> None:
        """After a reopen the final resolution counts; mitigation stays the first."""
        milestones = find_milestones(
            run((10, Rollback("v41")), (20, Resolve()), (30, Reopen("back")), (35, Rollback("v40")), (50, Resolve()))
        )
        assert (milestones.mitigated_at, milestones.resolved_at) == (at(10), at(50))

    def test_reopened_and_still_open_is_unresolved(self) -> None:
        """A reopen after the last resolve leaves no resolution time."""
        milestones = find_milestones(run((20, Resolve()), (30, Reopen())))
        assert (milestones.mitigated_at, milestones.resolved_at) == (at(20), None)

    def test_backdated_entries_count_by_occurrence(self) -> None:
        """A later-recorded, earlier-occurring assembly is the first one."""
        entries = run((20, Assemble((Assignee(UserRef("U0B")),))), (4, Assemble((Assignee(UserRef("U0C")),))))
        assert find_milestones(entries).irt_assembled_at == at(4)

    def test_order_of_the_input_does_not_matter(self) -> None:
        """Milestones are the same for a shuffled timeline."""
        entries = run((10, Rollback("v41")), (20, Resolve()), (30, Reopen()), (50, Resolve()))
        assert find_milestones(list(reversed(entries))) == find_milestones(entries)

    def test_without_declaration_detection_is_the_first_entry(self) -> None:
        """A timeline missing its declaration is detected at its earliest entry."""
        entries = [entry(EntryKind.NOTE, minutes=9), entry(EntryKind.NOTE, minutes=3)]
        assert find_milestones(entries).detected_at == at(3)

    def test_empty_timeline_is_an_error(self) -> None:
        """An empty timeline has no detection time and is refused."""
        with pytest.raises(ValueError, match="starts with its declaration"):
            find_milestones([])


class TestEntriesWithMissingData:
    """Entries stored without an optional key (rows written by older versions) still read as a sentence."""

    @pytest.mark.parametrize(
        ("item", "sentence"),
        [
            (entry(EntryKind.DECLARED, "CDN 502s"), "Incident declared (): CDN 502s"),
            (entry(EntryKind.ASSEMBLED), "IRT assembled: "),
            (entry(EntryKind.HYPOTHESIS_REJECTED, "", number=1), "Hypothesis #1 rejected ()"),
            (entry(EntryKind.HYPOTHESIS_CONFIRMED, "", number=2), "Hypothesis #2 confirmed as root cause ()"),
            (entry(EntryKind.IMPACT), "Impact: 0% of requests failing"),
        ],
    )
    def test_missing_keys_read_as_empty(self, item: TimelineEntry, sentence: str) -> None:
        """A missing severity, member list, hypothesis or percent reads as nothing (or 0%), not as None."""
        assert describe(item, mention) == sentence

    def test_zero_impact_is_zero(self) -> None:
        """`impact 0%` (the impact is over) reads 0%."""
        assert describe(entry(EntryKind.IMPACT, percent=0, previous=50.0)) == "Impact: 0% of requests failing"


class TestPercent:
    @pytest.mark.parametrize(("value", "shown"), [(50.0, "50%"), (0.5, "0.5%"), (12.25, "12.25%"), (100, "100%")])
    def test_no_trailing_zeros(self, value: float, shown: str) -> None:
        """Percentages drop trailing zeros and a trailing point."""
        assert format_percent(value) == shown


class TestPlainReferences:
    @pytest.mark.parametrize(
        ("typed", "plain"),
        [
            ("ask <@U0BOB|bob>", "ask @bob"),
            ("ask <@U0BOB>", "ask @bobby"),  # the name from the timeline
            ("ask <@U0ZED>", "ask @U0ZED"),  # no name known: the id
            ("in <#C0OPS|ops>", "in #ops"),
            ("in <#C0OPS>", "in #C0OPS"),
            ("page <!subteam^S0NET|@netops>", "page @netops"),
            ("page <!subteam^S0NET|netops>", "page @netops"),
            ("page <!subteam^S0NET>", "page @subteam^S0NET"),
            ("see <https://grafana.example.com/d/1>", "see https://grafana.example.com/d/1"),
            ("see <https://grafana.example.com/d/1|grafana.example.com/d/1>", "see https://grafana.example.com/d/1"),
            (
                "see <https://grafana.example.com/d/1|the dashboard>",
                "see the dashboard (https://grafana.example.com/d/1)",
            ),
            ("see <HTTP://x.example|x.example>", "see HTTP://x.example"),
            ("mail <mailto:sre@example.com|sre@example.com>", "mail sre@example.com"),
            ("call <tel:+15550100|+1 555 0100>", "call +1 555 0100 (tel:+15550100)"),
            ("not a link <ftp://x.example>", "not a link <ftp://x.example>"),
            ("a <b> c", "a <b> c"),
            ("ping <!here> and <!channel>", "ping @here and @channel"),
            ("<!everyone|everyone> look", "@everyone look"),
            ("at <!date^1392734382^{date_short}|Feb 18, 2014>", "at Feb 18, 2014"),
            ("<!date^1392734382^{date}>", ""),
        ],
    )
    def test_references_read_as_typed(self, typed: str, plain: str) -> None:
        """Users, channels and user groups read as people type them; without a label, the id stands in."""
        assert plain_references({"U0BOB": "bobby"})(typed) == plain


class TestDetection:
    def test_detection_is_the_declaration_not_later_entries(self) -> None:
        """Declared at 13:00 with a note at 13:05: detected at 13:00."""
        assert find_milestones(run((5, AddNote("graph")))).detected_at == T0

    def test_declaration_wins_over_an_earlier_entry(self) -> None:
        """If an entry precedes the declaration (imported data), detection is still the declaration's time."""
        entries = [entry(EntryKind.NOTE, minutes=3), entry(EntryKind.DECLARED, "x", minutes=5, severity="sev2")]
        assert find_milestones(entries).detected_at == at(5)

    def test_empty_timeline_message(self) -> None:
        """The error for an empty timeline says what is missing."""
        with pytest.raises(ValueError) as raised:
            find_milestones([])
        assert str(raised.value) == "an incident's timeline starts with its declaration"
