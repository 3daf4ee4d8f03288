"""Postmortem drafts: the seed outage as a golden file, templates, sandboxing, tables, blameless wording.

The golden file is an expected value written by a person: after an intended change, edit it by hand
(reading the new draft as its readers would), never by copying the renderer's output.
"""

from __future__ import annotations

import difflib
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import open_usecases
from bot.cli.demo import run_demo
from bot.domain.commands import (
    AddFollowup,
    AddHypothesis,
    AddNote,
    Assemble,
    Assignee,
    ConfirmHypothesis,
    Declare,
    Mitigate,
    PinMessage,
    RejectHypothesis,
    Resolve,
    Rollback,
    SetLead,
    Transition,
    UserRef,
)
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import Incident, Severity, TimelineEntry
from bot.domain.postmortem import (
    ActionItem,
    HypothesisView,
    Lessons,
    PostmortemData,
    Responder,
    TimelineLine,
    build_postmortem,
)
from bot.errors import TemplateError
from bot.views.postmortem import BUNDLED_TEMPLATES_DIR, PostmortemRenderer, table_cell

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "seed_postmortem.md"
START = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)


@pytest.fixture(scope="module")
def seed_postmortem(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The postmortem of the seed outage, replayed by the demo into a SQLite file."""
    database = tmp_path_factory.mktemp("seed") / "seed.db"
    return run_demo(io.StringIO(), open_usecases, f"sqlite:///{database}")


def draft(
    title: str = "Checkout is down",
    hypothesis: str = "bad deploy",
    followup: str = "add a canary",
    description: str = "",
) -> PostmortemData:
    """A small incident built by the pure domain core: declared, one confirmed hypothesis, one follow-up."""
    stamp = Stamp("U0ALICE", START, START, "alice")
    change = declare(Declare(title, Severity.SEV2, description), 1, stamp)
    incident, entries = change.incident, list(change.entries)
    steps: list[Transition] = [
        AddHypothesis(hypothesis),
        ConfirmHypothesis(1, "the diff shows it"),
        AddFollowup(followup, UserRef("U0BOB", "bob")),
    ]
    for minute, action in enumerate(steps, start=1):
        moment = START + timedelta(minutes=minute)
        applied = apply(incident, action, Stamp("U0ALICE", moment, moment, "alice"))
        incident, entries = applied.incident, entries + list(applied.entries)
    return build_postmortem(incident, entries, START + timedelta(hours=1))


def write_template(folder: Path, name: str, text: str) -> PostmortemRenderer:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md.j2").write_text(text, encoding="utf-8")
    return PostmortemRenderer(folder)


class TestSeedPostmortem:
    def test_matches_the_golden_file(self, seed_postmortem: str) -> None:
        """The seed outage renders exactly as tests/golden/seed_postmortem.md (kept by hand)."""
        expected = GOLDEN.read_text(encoding="utf-8")
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), seed_postmortem.splitlines(True), str(GOLDEN), "rendered")
        )
        assert seed_postmortem == expected, f"postmortem differs from the golden file:\n{diff}"

    def test_golden_file_states_the_key_facts(self) -> None:
        """The golden file itself shows the four metrics, the 13:42-14:45 timeline and owned action items."""
        golden = GOLDEN.read_text(encoding="utf-8")
        for row in (
            "| Time to assemble the IRT | 8 min | 13:50 |",
            "| Time to root cause | 23 min | 14:05 |",
            "| Time to mitigate | 53 min | 14:35 |",
            "| Time to resolve | 1h 3m | 14:45 |",
        ):
            assert row in golden
        timeline = golden.split("## Timeline", 1)[1]
        times = re.findall(r"^- \*\*(\d\d:\d\d)\*\*", timeline, re.MULTILINE)
        assert times[0] == "13:42" and "14:45" in times and times == sorted(times)
        assert "- **14:45** Incident resolved: 502 rate back within SLO and edge CPU normal (@alice)\n" in timeline
        assert "| 1 | canary deployment for firewall changes | @carol |" in golden
        assert "| 2 | synthetic traffic tests against the WAF in staging every 5 minutes | @bob |" in golden
        assert '| 3 | add a "verify CPU load" step to the runbook before global rollout | @dave |' in golden
        assert "**Root cause:** new WAF rule causes a CPU spin loop on packet inspection" in golden

    def test_golden_file_suggests_the_trigger_and_fills_the_impact(self) -> None:
        """The 13:30 WAF deploy is the suggested trigger; the impact is 53 min at 50%: 26.5 bad minutes,
        26.5 / 21.6 (0.05% of 30 days) = 122.7% of the budget; the summary is generated, then the note."""
        golden = GOLDEN.read_text(encoding="utf-8")
        assert (
            "**Likely trigger (suggested from change events):** 13:30 cdn-edge: WAF rule 'inspect-large-payloads' "
            "deployed to all edge servers by carol (https://ci.example.com/deploys/4182); rolled back at 14:35 "
            "(WAF rule rolled back globally)\n"
        ) in golden
        assert (
            "Recorded: 50% of requests failing 13:42\u201314:35 (53 min), 26.5 bad-request minutes, "
            "122.7% of the 30-day budget.\n"
        ) in golden
        summary = golden.split("## Summary\n\n", 1)[1].split("\n\n## Impact", 1)[0]
        assert summary.startswith("_Generated from the timeline; rewrite it in the team's words:_ ")
        assert summary.endswith("\n\nResolve note: 502 rate back within SLO and edge CPU normal")
        assert "Trigger (change rolled back)" not in golden


class TestUserTextStaysData:
    def test_template_syntax_in_a_title_is_not_evaluated(self) -> None:
        """A title of ``{{ 7*7 }}`` is printed as typed, never as 49."""
        rendered = PostmortemRenderer().render(draft(title="{{ 7*7 }} and {{ pm.incident_id }}"))
        assert "# INC-1 Postmortem: {{ 7\\*7 }} and {{ pm.incident\\_id }}" in rendered  # escaped, not evaluated
        assert "49" not in rendered

    def test_block_tags_in_user_text_stay_literal(self) -> None:
        """``{% raw %}``, ``{% for %}`` and ``{# #}`` typed by users come out verbatim."""
        text = "{% raw %}x{% endraw %} {% for i in range(3) %}{{ i }}{% endfor %} {# hidden? #}"
        rendered = PostmortemRenderer().render(draft(hypothesis=text, description=text))
        assert rendered.count(text) >= 2
        assert "012" not in rendered


class TestTemplateChoice:
    def test_team_template_is_chosen_by_name(self, tmp_path: Path) -> None:
        """A template in the team's folder is used when named; the bundled default still works."""
        renderer = write_template(tmp_path / "tpl", "short", "{{ pm.incident_id }}: {{ pm.title }}\n")
        assert renderer.render(draft(), "short") == "INC-1: Checkout is down\n"
        assert renderer.render(draft()).startswith("# INC-1 Postmortem: Checkout is down")
        assert renderer.available() == ["postmortem", "short"]

    def test_team_folder_overrides_the_bundled_default(self, tmp_path: Path) -> None:
        """A team's own postmortem.md.j2 replaces the bundled one."""
        renderer = write_template(tmp_path, "postmortem", "ours {{ pm.severity }}\n")
        assert renderer.render(draft()) == "ours sev2\n"

    def test_unknown_template_lists_the_available_ones(self, tmp_path: Path) -> None:
        """An unknown name is a TemplateError naming every available template."""
        renderer = write_template(tmp_path, "short", "x")
        expected = r"no postmortem template `nope`\. Available: postmortem, short\."
        with pytest.raises(TemplateError, match=expected):
            renderer.render(draft(), "nope")

    @pytest.mark.parametrize("name", ["../postmortem", "/etc/passwd", ".hidden", "a\\b"])
    def test_path_like_names_are_refused(self, name: str) -> None:
        """Names that could walk out of the template folders are not template names."""
        with pytest.raises(TemplateError, match="is not a template name"):
            PostmortemRenderer().render(draft(), name)


class TestBrokenTemplates:
    def test_syntax_error_is_a_template_error_with_the_line(self, tmp_path: Path) -> None:
        """A template that does not parse fails with a TemplateError naming the line."""
        renderer = write_template(tmp_path, "broken", "ok\n{% if pm.title %}\nnever closed\n")
        with pytest.raises(TemplateError, match=r"Template `broken` has a syntax error on line \d"):
            renderer.render(draft(), "broken")

    @pytest.mark.parametrize("text", ["{{ pm.no_such_field }}", "{{ nothing }}", "{% for x in missing %}{% endfor %}"])
    def test_undefined_names_fail_loudly(self, tmp_path: Path, text: str) -> None:
        """StrictUndefined: a misspelt field is an error, not an empty string in the draft."""
        renderer = write_template(tmp_path, "typo", text)
        with pytest.raises(TemplateError, match="Template `typo` failed to render"):
            renderer.render(draft(), "typo")

    @pytest.mark.parametrize(
        "payload",
        [
            "{{ pm.__class__.__mro__ }}",
            "{{ pm.title.__class__.__mro__[1].__subclasses__() }}",
            "{{ cycler.__init__.__globals__.os.system('touch {sentinel}') }}",
            "{{ lipsum.__globals__['os'].system('touch {sentinel}') }}",
            "{{ pm.__init__.__globals__['__builtins__']['open']('{sentinel}', 'w') }}",
        ],
    )
    def test_sandbox_escapes_are_blocked(self, tmp_path: Path, payload: str) -> None:
        """Classic Jinja escapes through dunder attributes raise TemplateError and run nothing."""
        sentinel = tmp_path / "pwned"
        renderer = write_template(tmp_path / "tpl", "evil", payload.replace("{sentinel}", str(sentinel)))
        with pytest.raises(TemplateError):
            renderer.render(draft(), "evil")
        assert not sentinel.exists()


class TestTables:
    def test_pipes_and_newlines_stay_in_one_cell(self) -> None:
        """Hypothesis and action item text with ``|`` and line breaks keep their table rows intact."""
        rendered = PostmortemRenderer().render(draft(hypothesis="a | b\nc", followup="x|y\r\n| z"))
        hypothesis_row = next(line for line in rendered.splitlines() if line.startswith("| 1 | a"))
        action_row = next(line for line in rendered.splitlines() if line.startswith("| 1 | x"))
        assert hypothesis_row.startswith("| 1 | a \\| b c | 13:43 | confirmed (root cause) |")
        assert action_row == "| 1 | x\\|y \\| z | @bob | open | - | - |"
        for row in (hypothesis_row, action_row):
            assert len(re.findall(r"(?<!\\)\|", row)) == (6 if row is hypothesis_row else 7)

    def test_table_cell_filter(self) -> None:
        """table_cell escapes pipes and folds all whitespace runs to single spaces."""
        assert table_cell("a|b\n\n c\t d\r\n") == "a\\|b c d"
        assert table_cell("") == ""


class TestBlamelessWording:
    BLAME = re.compile(r"\b(blam(e|ed|es|ing)|faults?|faulty|human error|culprits? (was|were|is))\b", re.IGNORECASE)

    def test_default_template_has_no_blaming_words(self) -> None:
        """The bundled template's own text never says blame, fault or human error."""
        text = (BUNDLED_TEMPLATES_DIR / "postmortem.md.j2").read_text(encoding="utf-8")
        assert self.BLAME.findall(text) == []
        assert "blameless" in text.lower()

    def test_seed_postmortem_has_no_blaming_words(self, seed_postmortem: str) -> None:
        """The generated draft for the seed outage is worded without blame."""
        assert self.BLAME.findall(seed_postmortem) == []


class TestLargeTimelines:
    def test_ten_thousand_entries_are_capped_with_a_marker_and_notes_with_a_count(self) -> None:
        """A 10,000-note incident renders its first and last 500 entries around an 'omitted' line."""
        from datetime import UTC, datetime, timedelta

        from bot.domain.commands import AddNote, Declare
        from bot.domain.lifecycle import Stamp, apply, declare
        from bot.domain.model import Severity
        from bot.domain.postmortem import build_postmortem
        from bot.views.postmortem import PostmortemRenderer

        start = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
        change = declare(Declare("Noisy incident", Severity.SEV2), 1, Stamp("U0ALICE", start, start))
        incident, entries = change.incident, list(change.entries)
        for n in range(10_000):
            moment = start + timedelta(seconds=n + 1)
            step = apply(incident, AddNote(f"observation {n}"), Stamp("U0BOB", moment, moment))
            incident, entries = step.incident, [*entries, *step.entries]
        data = build_postmortem(incident, entries, start + timedelta(hours=5))
        # 10,001 entries (the declaration and 10,000 notes): the first 500, a marker, the last 500.
        assert len(data.timeline) == 1_001
        assert data.timeline[499].text.endswith("observation 498")
        marker = data.timeline[500]
        assert marker.kind == "omitted" and "9,001 entries omitted" in marker.text
        assert data.timeline[-1].text.endswith("observation 9999")
        assert data.timeline[501].text.endswith("observation 9500")
        assert len(data.notes) == 200 and "9,801 more notes" in data.notes[-1]
        document = PostmortemRenderer().render(data)
        assert "observation 9999" in document and "observation 5000" not in document
        assert len(document.encode()) < 200_000


class TestSlackReferencesInMarkdown:
    def test_escaped_mentions_read_as_typed_in_the_draft(self) -> None:
        """<@U0BOB|bob>, <#C1|general> and <!subteam^S1|@netops> typed in notes read @bob, #general, @netops."""
        from datetime import UTC, datetime

        from bot.domain.commands import AddFollowup, AddNote, Declare, UserRef
        from bot.domain.lifecycle import Stamp, apply, declare
        from bot.domain.model import Severity
        from bot.domain.postmortem import build_postmortem
        from bot.views.postmortem import PostmortemRenderer

        t = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
        change = declare(Declare("Edge 502s", Severity.SEV2), 1, Stamp("U0ALICE", t, t, "alice"))
        note = apply(
            change.incident,
            AddNote("asked <@U0BOB|bob> in <#C1|general> and <!subteam^S1|@netops>"),
            Stamp("U0ALICE", t, t),
        )
        followup = apply(
            note.incident, AddFollowup("page <@U0CAROL> earlier", UserRef("U0CAROL", "carol")), Stamp("U0ALICE", t, t)
        )
        entries = [*change.entries, *note.entries, *followup.entries]
        document = PostmortemRenderer().render(build_postmortem(followup.incident, entries, t))
        assert "asked @bob in #general and @netops" in document
        assert "page @carol earlier" in document
        assert "<@" not in document and "<#" not in document and "<!" not in document


def run_steps(
    *steps: tuple[datetime, Transition], title: str = "Edge 502s", description: str = ""
) -> tuple[Incident, list[TimelineEntry]]:
    """An incident alice declares at 13:42 with ``(moment, action)`` steps, each done by alice on time."""
    change = declare(Declare(title, Severity.SEV1, description), 1, Stamp("U0ALICE", START, START, "alice"))
    incident, entries = change.incident, list(change.entries)
    for moment, action in steps:
        applied = apply(incident, action, Stamp("U0ALICE", moment, moment, "alice"))
        incident, entries = applied.incident, entries + list(applied.entries)
    return incident, entries


def minute(n: int) -> datetime:
    """``n`` minutes after the declaration at 13:42."""
    return START + timedelta(minutes=n)


class TestPostmortemData:
    """The plain data a template gets, field by field, for a resolved incident written with Slack escapes."""

    def data(self, summary: str = "") -> PostmortemData:
        incident, entries = run_steps(
            (minute(1), SetLead(UserRef("U0ALICE", "alice"))),
            (
                minute(2),
                Assemble((Assignee(UserRef("U0BOB", "bob"), "network"), Assignee(UserRef("U0CAROL", "carol")))),
            ),
            (minute(3), AddHypothesis("WAF rule from <@U0BOB|bob>")),
            (minute(8), ConfirmHypothesis(1, "see <#C0OPS|ops>")),
            (minute(13), AddFollowup("add a canary stage")),
            (minute(14), AddFollowup("alert on CPU", UserRef("U0CAROL", "carol"))),
            (minute(15), PinMessage("CPU graph for <@U0BOB|bob>", "U0BOB")),
            (minute(18), Rollback("WAF rule")),
            (minute(28), Resolve(summary)),
            title="502s after <@U0BOB|bob>'s deploy",
            description="Reported in <#C0OPS|ops>",
        )
        return build_postmortem(incident, entries, minute(60))

    def test_people(self) -> None:
        """The lead first, then members with their role or "responder"; names as Slack sent them."""
        data = self.data()
        assert data.lead == "@alice"
        assert data.responders == [
            Responder("@alice", "incident lead"),
            Responder("@bob", "network"),
            Responder("@carol", "responder"),
        ]

    def test_typed_text_reads_as_typed(self) -> None:
        """Slack's <@U0BOB|bob> and <#C0OPS|ops> read @bob and #ops in every typed field."""
        data = self.data(summary="<@U0BOB|bob> reverted the rule")
        assert data.title == "502s after @bob's deploy" and data.description == "Reported in #ops"
        assert data.summary == "@bob reverted the rule"
        assert data.hypotheses == [
            HypothesisView(1, "WAF rule from @bob", "confirmed (root cause)", "see #ops", "13:45")
        ]
        assert (data.root_cause, data.root_cause_note) == ("WAF rule from @bob", "see #ops")
        confirmed = next(line for line in data.timeline if line.kind == "hypothesis_confirmed")
        assert confirmed.text == "Hypothesis #1 confirmed as root cause (WAF rule from @bob): see #ops"

    def test_action_items_mitigations_and_notes(self) -> None:
        """A follow-up without an owner is "unassigned"; the pinned message is a note from its author."""
        data = self.data()
        assert data.action_items == [
            ActionItem(1, "add a canary stage", "unassigned"),
            ActionItem(2, "alert on CPU", "@carol"),
        ]
        assert data.mitigations == ["14:00 Rolled back: WAF rule"]
        assert data.notes == ["Pinned message from @bob: CPU graph for @bob"]

    @pytest.mark.parametrize(
        ("summary", "resolution"),
        [
            ("", "Resolved at 2026-11-22 14:10 UTC."),
            ("reverted the WAF rule", "Resolved at 2026-11-22 14:10 UTC: reverted the WAF rule"),
        ],
    )
    def test_resolution_sentence(self, summary: str, resolution: str) -> None:
        """Resolved at 14:10 (28 min after 13:42), with the summary after a colon when there is one."""
        data = self.data(summary)
        assert (data.incident_status, data.resolution) == ("resolved", resolution)

    def test_no_lead_means_no_lead_row(self) -> None:
        """Without a lead, responders are only the members."""
        incident, entries = run_steps((minute(1), Assemble((Assignee(UserRef("U0BOB", "bob"), "network"),))))
        data = build_postmortem(incident, entries, minute(60))
        assert (data.lead, data.responders) == ("(no lead named)", [Responder("@bob", "network")])


class TestBackdatedLines:
    @pytest.mark.parametrize(("late_by", "backdated"), [(timedelta(seconds=60), False), (timedelta(seconds=61), True)])
    def test_entries_recorded_over_a_minute_late_are_marked(self, late_by: timedelta, backdated: bool) -> None:
        """A note recorded exactly a minute after it happened is on time; 61 s later it is backdated."""
        change = declare(Declare("Edge 502s", Severity.SEV1), 1, Stamp("U0ALICE", START, START, "alice"))
        note = apply(change.incident, AddNote("graph"), Stamp("U0ALICE", minute(5), minute(5) + late_by, "alice"))
        data = build_postmortem(note.incident, [*change.entries, *note.entries], minute(60))
        assert data.timeline[1] == TimelineLine("13:47", "2026-11-22", "@alice", "Note: graph", "note", backdated)


class TestCapsAtTheirEdges:
    """1,000 timeline lines and 200 notes are shown whole; one more and the draft says what it left out."""

    @staticmethod
    def with_notes(count: int) -> PostmortemData:
        """Declared at midnight on 22 Nov, then ``count`` notes one minute apart (note n at minute n + 1)."""
        start = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
        change = declare(Declare("Noisy", Severity.SEV2), 4, Stamp("U0ALICE", start, start))
        incident, entries = change.incident, list(change.entries)
        for n in range(count):
            moment = start + timedelta(minutes=n + 1)
            step = apply(incident, AddNote(f"observation {n}"), Stamp("U0BOB", moment, moment))
            incident, entries = step.incident, [*entries, *step.entries]
        return build_postmortem(incident, entries, start + timedelta(hours=20))

    def test_exactly_the_limits_are_shown_whole(self) -> None:
        """999 notes + the declaration = 1,000 lines: no marker; 999 notes are capped at 200."""
        data = self.with_notes(999)
        assert len(data.timeline) == 1_000 and all(line.kind != "omitted" for line in data.timeline)
        assert data.notes[-1] == "… and 800 more notes: `incidentbot timeline INC-4` lists them all"

    def test_two_hundred_notes_are_all_listed(self) -> None:
        """Exactly 200 notes: all 200 listed, the last one being the 200th."""
        data = self.with_notes(200)
        assert len(data.notes) == 200 and data.notes[-1] == "Note: observation 199"

    def test_one_line_over_gets_a_marker(self) -> None:
        """1,001 lines: the first 500, a marker at the 500th line's time, the last 500 (note 499 left out)."""
        data = self.with_notes(1_000)
        assert len(data.timeline) == 1_001
        # Line 500 (index 499) is note 498, at minute 499 after midnight, i.e. 08:19.
        assert data.timeline[500] == TimelineLine(
            "08:19",
            "2026-11-22",
            "",
            "… 1 entries omitted here: `incidentbot timeline INC-4` lists them all",
            "omitted",
            False,
        )
        assert data.timeline[499].text == "Note: observation 498"
        assert data.timeline[501].text == "Note: observation 500"


LUCKY = (
    "Was anything outside our control in our favour (time of day, traffic level, "
    "a responder who happened to know the system)? Note it here."
)


class TestLessons:
    """The lesson prompts the timeline suggests, at the edges of their thresholds (assembly 15 min, mitigation 30)."""

    def test_unassembled_incident_resolved_at_exactly_thirty_minutes(self) -> None:
        """No IRT, a rejected hypothesis without reason, an attempt at the moment of resolution, an unowned item."""
        incident, entries = run_steps(
            (minute(1), AddHypothesis("cache")),
            (minute(2), RejectHypothesis(1)),
            (minute(3), AddFollowup("add a canary stage")),
            (minute(4), AddFollowup("alert on CPU", UserRef("U0CAROL", "carol"))),
            (minute(30), Mitigate("purged the cache")),
            (minute(30), Resolve()),
        )
        assert build_postmortem(incident, entries, minute(60)).lessons == Lessons(
            went_well=[],
            went_wrong=[
                "No IRT was assembled; consider who should have been paged.",
                'Time went into hypothesis #1, "cache", which was rejected. '
                "What signal would have ruled it out sooner?",
                "1 action item(s) have no owner yet; assign them before the review.",
            ],
            got_lucky=[LUCKY],
        )

    @pytest.mark.parametrize(
        ("assembled_after", "well", "wrong"),
        [
            (15, ["The IRT was assembled 15 min after detection."], []),
            (16, [], ["The IRT was assembled 16 min after detection."]),
        ],
    )
    def test_assembly_in_fifteen_minutes_went_well(
        self, assembled_after: int, well: list[str], wrong: list[str]
    ) -> None:
        """Assembled within 15 min went well, later went wrong; a rollback mitigating at 14:22 went well."""
        incident, entries = run_steps(
            (minute(assembled_after), Assemble((Assignee(UserRef("U0BOB", "bob")),))),
            (minute(17), AddHypothesis("ddos")),
            (minute(18), RejectHypothesis(1, "traffic normal")),
            (minute(40), Rollback("deploy 42")),
        )
        assert build_postmortem(incident, entries, minute(60)).lessons == Lessons(
            went_well=[*well, "Rolling back (deploy 42) mitigated the impact at 14:22."],
            went_wrong=[
                *wrong,
                'Time went into hypothesis #1, "ddos", which was rejected (traffic normal). '
                "What signal would have ruled it out sooner?",
                "Mitigation took 40 min from detection; could a rollback have been tried earlier?",
            ],
            got_lucky=[LUCKY],
        )
