"""Follow-up views: the list (text, JSON, CSV), the postmortem's action-item table, the report's completion."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import Declare
from bot.domain.lifecycle import Stamp, declare
from bot.domain.model import Followup, FollowupListing, FollowupState, Incident, Severity, TimelineEntry
from bot.domain.people import plain_mention
from bot.domain.postmortem import build_postmortem
from bot.domain.slo import SloCatalog
from bot.usecases.followups import FollowupList
from bot.views.followups import followups_csv, followups_json, followups_text
from bot.views.postmortem import PostmortemRenderer
from bot.views.reports import build_report, render_csv, render_json, render_text

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)
URL = "https://github.com/acme/edge/issues/12"

CANARY = Followup(
    1, "canary deployment", "U0CAROL", T0, due=date(2026, 11, 30), tracker_key="acme/edge#12", tracker_url=URL
)
WAF = Followup(2, "WAF tests | staging", "U0BOB", T0, FollowupState.DONE, date(2026, 11, 10), T0 + timedelta(days=12))
RUNBOOK = Followup(3, "runbook step", None, T0, due=date(2026, 11, 19), tracker_key="EDGE-7")
DROPPED = Followup(4, "old alert", "U0DAVE", T0, FollowupState.DROPPED, date(2026, 11, 2))
ON_TIME = Followup(5, "dashboards", "U0BOB", T0, FollowupState.DONE, date(2026, 11, 5), T0 + timedelta(days=4))


def listing(*followups: Followup, incident_id: str | None = None) -> FollowupList:
    items = [FollowupListing(7, "CDN 502s", Severity.SEV1, "cdn-edge", f) for f in followups]
    return FollowupList(items, {"U0CAROL": "carol", "U0BOB": "bob"}, incident_id)


class TestList:
    def test_text_of_one_incident(self) -> None:
        """State, owner, due day and link per line; overdue and late are shown as such."""
        text = followups_text(listing(CANARY, WAF, RUNBOOK, DROPPED, incident_id="INC-7"), TODAY, plain_mention({}))
        assert text.splitlines() == [
            "INC-7 follow-ups",
            f"#1 open · canary deployment · owner @U0CAROL · due 2026-11-30 · link {URL}",
            "#2 done 2026-11-13 (late) · WAF tests | staging · owner @U0BOB · due 2026-11-10 · link -",
            "#3 overdue · runbook step · owner unassigned · due 2026-11-19 · link EDGE-7",
            "#4 dropped · old alert · owner @U0DAVE · due 2026-11-02 · link -",
        ]

    def test_text_across_incidents_names_them(self) -> None:
        """Without one incident, every line starts with its incident's id."""
        mention = plain_mention({"U0BOB": "bob"})
        assert followups_text(listing(ON_TIME), TODAY, mention).splitlines() == [
            "1 follow-up(s)",
            "INC-7 #5 done 2026-11-05 · dashboards · owner @bob · due 2026-11-05 · link -",
        ]

    @given(st.lists(st.text(), min_size=1, max_size=4), st.booleans())
    def test_each_followup_is_exactly_one_line_whatever_its_text(self, texts: list[str], one: bool) -> None:
        """Any text (newlines, tabs, U+2028, form feeds...): a heading and then one line per follow-up, each
        holding the text with its whitespace runs as single spaces."""
        followups = [Followup(n, text, None, T0) for n, text in enumerate(texts, start=1)]
        shown = followups_text(listing(*followups, incident_id="INC-7" if one else None), TODAY, plain_mention({}))
        lines = shown.splitlines()
        assert len(lines) == 1 + len(texts)
        for line, text in zip(lines[1:], texts, strict=True):
            assert f" · {' '.join(text.split())} · owner unassigned · due - · link -" in line

    def test_a_multi_line_text_reads_as_one_line_and_json_csv_keep_it(self) -> None:
        """The example: "canary\ndeployment\tfor firewall\u2028changes" is one line of text; JSON and CSV
        carry the text exactly as typed."""
        typed = "canary\ndeployment\tfor firewall\u2028changes"
        found = listing(Followup(1, typed, None, T0), incident_id="INC-7")
        assert followups_text(found, TODAY, plain_mention({})) == (
            "INC-7 follow-ups\n#1 open · canary deployment for firewall changes · owner unassigned · due - · link -"
        )
        assert json.loads(followups_json(found, TODAY))["followups"][0]["text"] == typed
        assert next(csv.DictReader(io.StringIO(followups_csv(found, TODAY))))["text"] == typed

    def test_json_and_csv(self) -> None:
        """JSON and CSV carry the same fields; CSV writes booleans as JSON does and none as empty."""
        document = json.loads(followups_json(listing(CANARY, RUNBOOK), TODAY))["followups"]
        assert document[0] == {
            "incident": "INC-7",
            "incident_title": "CDN 502s",
            "severity": "sev1",
            "service": "cdn-edge",
            "number": 1,
            "text": "canary deployment",
            "owner": "U0CAROL",
            "owner_name": "carol",
            "state": "open",
            "overdue": False,
            "due": "2026-11-30",
            "created_at": "2026-11-01T09:00:00Z",
            "done_at": None,
            "tracker_key": "acme/edge#12",
            "tracker_url": URL,
            "tracker_gone": None,
        }
        assert (document[1]["overdue"], document[1]["owner"], document[1]["owner_name"]) == (True, None, None)
        rows = list(csv.DictReader(io.StringIO(followups_csv(listing(CANARY, RUNBOOK), TODAY))))
        assert [(r["number"], r["overdue"], r["owner"], r["tracker_url"]) for r in rows] == [
            ("1", "false", "U0CAROL", URL),
            ("3", "true", "", ""),
        ]

    @pytest.mark.parametrize(
        ("text", "cell"),
        [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+SUM(1,2)", "'+SUM(1,2)"),
            ("-2+3", "'-2+3"),
            ("@alice check", "'@alice check"),
            ("\tindent", "'\tindent"),
            ("a = b", "a = b"),
            ("canary deployment", "canary deployment"),
        ],
    )
    def test_csv_text_a_spreadsheet_would_evaluate_is_quoted(self, text: str, cell: str) -> None:
        """OWASP's CSV-injection starts (= + - @ tab CR) get a leading ' so a spreadsheet shows them as text."""
        item = Followup(1, text, None, T0)
        [row] = list(csv.DictReader(io.StringIO(followups_csv(listing(item), TODAY))))
        assert row["text"] == cell


class TestPostmortem:
    def test_action_items_show_state_owner_due_and_link(self) -> None:
        """Each follow-up is one table row: owner, state as of the draft's time, due day, tracker link."""
        incident, entries = _incident(CANARY, WAF, RUNBOOK, DROPPED)
        draft = build_postmortem(incident, entries, datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
        rendered = PostmortemRenderer().render(draft)
        rows = rendered.split("## Action items\n\n")[1].split("\n\n")[0].splitlines()
        assert rows == [
            "| # | Action item | Owner | State | Due (UTC) | Link |",
            "|---|---|---|---|---|---|",
            f"| 1 | canary deployment | @U0CAROL | open | 2026-11-30 | {URL} |",
            "| 2 | WAF tests \\| staging | @U0BOB | done 2026-11-13 (late) | 2026-11-10 | - |",
            "| 3 | runbook step | unassigned | overdue | 2026-11-19 | EDGE-7 |",
            "| 4 | old alert | @U0DAVE | dropped | 2026-11-02 | - |",
        ]

    def test_unowned_lesson_counts_open_items_only(self) -> None:
        """A dropped or done item without an owner needs no owner any more."""
        done_unowned = Followup(1, "x", None, T0, FollowupState.DONE, None, T0)
        incident, entries = _incident(done_unowned, RUNBOOK)
        lessons = build_postmortem(incident, entries, T0 + timedelta(days=1)).lessons.went_wrong
        assert "1 action item(s) have no owner yet; assign them before the review." in lessons


def _incident(
    *followups: Followup, severity: Severity = Severity.SEV1, service: str | None = "cdn-edge"
) -> tuple[Incident, list[TimelineEntry]]:
    decision = declare(Declare("CDN 502s", severity, service=service), 7, Stamp("U0ALICE", T0, T0))
    return decision.incident.with_changes(followups=followups), list(decision.entries)


class TestReport:
    @pytest.fixture()
    def report_input(self) -> list[tuple[Incident, list[TimelineEntry]]]:
        first = _incident(CANARY, WAF, RUNBOOK, DROPPED)
        second = _incident(ON_TIME, severity=Severity.SEV2, service=None)
        third = _incident(RUNBOOK, severity=Severity.SEV2, service="cdn-edge")
        return [
            (first[0].with_changes(number=1), first[1]),
            (second[0].with_changes(number=2), second[1]),
            (third[0].with_changes(number=3), third[1]),
        ]

    def test_completion_per_service_and_severity(
        self, report_input: list[tuple[Incident, list[TimelineEntry]]]
    ) -> None:
        """Counted at the report's end (2026-11-20): on time, late, open, open overdue, dropped."""
        report = build_report(report_input, SloCatalog({}), T0, datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
        zero = {"done_on_time": 0, "done_late": 0, "open": 0, "open_overdue": 0, "dropped": 0}
        assert report.followups_by("service") == {
            "(none)": {**zero, "done_on_time": 1},
            "cdn-edge": {**zero, "done_late": 1, "open": 1, "open_overdue": 2, "dropped": 1},
        }
        assert report.followups_by("severity") == {
            "sev1": {**zero, "done_late": 1, "open": 1, "open_overdue": 1, "dropped": 1},
            "sev2": {**zero, "done_on_time": 1, "open_overdue": 1},
        }
        text = render_text(report)
        assert text.split("Follow-ups (done on time / done late / open / open overdue / dropped):\n")[1] == (
            "  by service:\n"
            "    (none)       1 / 0 / 0 / 0 / 0\n"
            "    cdn-edge     0 / 1 / 1 / 2 / 1\n"
            "  by severity:\n"
            "    sev1         0 / 1 / 1 / 1 / 1\n"
            "    sev2         1 / 0 / 0 / 1 / 0"
        )
        document = json.loads(render_json(report))
        assert document["followups"]["by_severity"]["sev2"] == {**zero, "done_on_time": 1, "open_overdue": 1}
        assert document["incidents"][0]["followups"] == {
            **zero,
            "done_late": 1,
            "open": 1,
            "open_overdue": 1,
            "dropped": 1,
        }
        rows = list(csv.DictReader(io.StringIO(render_csv(report))))
        assert [
            [r[f"followups_{c}"] for c in ("done_on_time", "done_late", "open", "open_overdue", "dropped")]
            for r in rows
        ] == [["0", "1", "1", "1", "1"], ["1", "0", "0", "0", "0"], ["0", "0", "0", "1", "0"]]

    def test_no_followups_reads_none(self) -> None:
        """A period whose incidents have no follow-ups says none under both headings."""
        report = build_report([_incident()], SloCatalog({}), T0, T0 + timedelta(days=1))
        assert render_text(report).endswith("  by service:\n    none\n  by severity:\n    none")
