"""Private incidents in the pure core: the ``--private`` option, who is a member, strict roles, and what each
surface read outside the incident shows (``bot.domain.privacy``): never the title, description, service, a
person's words; always ``INC-n``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import read_settings
from bot.domain.commands import Declare, RemindFollowups, SetLead, Transition, UserRef
from bot.domain.errors import UsageError
from bot.domain.grammar import bare_declare_private, bare_declare_severity, is_bare_declare, parse_command
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import FollowupListing, Incident, IncidentSummary, Severity, TimelineEntry
from bot.domain.policy import NotAllowed, check_allowed, strict_roles_for
from bot.domain.privacy import (
    PrivateIncident,
    check_may_see,
    hidden_listing,
    hidden_summary,
    insiders,
    may_see,
    page_summary,
)
from bot.domain.slo import Slo, SloCatalog, budget_lines, budget_report
from bot.slack.blocks import build_declare_modal, build_home_view, build_private_notice
from bot.slack.delivery import followup_reminder_effects
from bot.usecases.followups import FollowupList
from bot.usecases.shared import Outcome
from bot.views.followups import followups_csv, followups_text
from bot.views.replies import list_text
from bot.views.reports import build_report, render_csv, render_json, render_text
from tests.support.fake_slack import blocks_errors
from tests.support.incidents import summary_of
from tests.support.properties import examples

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
TITLE = "Payroll export leaks SSNs zq7x"
DESCRIPTION = "Nightly job copies ledger-q9k to a public bucket"
SERVICE = "payroll-svc-w3"
SECRETS = ("zq7x", "payroll export", "ledger-q9k", SERVICE, "vault-r8m", "bucket-k5p")
DECLARER, LEAD, IRT, OUTSIDER = "U0ALICE", "U0LEAD", "U0IRT", "U0BOB"


def leaked(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SECRETS if s.lower() in lowered]


def worked_on(private: bool = True) -> tuple[Incident, list[TimelineEntry]]:
    """INC-7, declared by alice with a lead, an IRT member, a service, 30% impact, a note and a follow-up."""
    decision = declare(Declare(TITLE, Severity.SEV1, DESCRIPTION, private=private), 7, Stamp(DECLARER, T0, T0))
    incident, entries = decision.incident, list(decision.entries)
    for minute, text in enumerate(
        (
            f"lead <@{LEAD}|lead>",
            f"assemble <@{IRT}|irt>",
            f"service {SERVICE}",
            "impact 30%",
            "note suspect the vault-r8m credentials",
            f"followup rotate keys of bucket-k5p <@{IRT}|irt>",
        ),
        start=1,
    ):
        moment = T0 + timedelta(minutes=minute)
        step = apply(incident, parse_command(text).action, Stamp(DECLARER, moment, moment))  # type: ignore[arg-type]
        incident, entries = step.incident, entries + list(step.entries)
    return incident, entries


def listing_of(incident: Incident) -> FollowupListing:
    return FollowupListing(
        incident.number, incident.title, incident.severity, incident.service, incident.followups[0], incident.private
    )


CATALOG = SloCatalog({SERVICE: Slo(SERVICE, 99.9, timedelta(days=30), "C0OWNER")})


def outside_surfaces() -> dict[str, str]:
    """Each surface, as a non-member (or anybody, where the surface has no reader) reads the private INC-7."""
    incident, entries = worked_on()
    summary, listing = hidden_summary(summary_of(incident, "G0PRIV")), hidden_listing(listing_of(incident))
    report = build_report([(incident, entries)], CATALOG, T0, NOW)
    return {
        "list": list_text([summary], NOW),
        "app home": json.dumps(build_home_view([summary], NOW)),
        "announcement": json.dumps(build_private_notice(incident)),
        "page summary": page_summary(incident, "sev1"),
        "budget lines": "\n".join(budget_lines(budget_report(CATALOG.slos[SERVICE], [(incident, entries)], NOW))),
        "follow-up digest": followups_text(FollowupList([listing], {}), NOW.date(), lambda u: f"@{u}"),
        "follow-ups csv": followups_csv(FollowupList([listing], {}), NOW.date()),
        "report text": render_text(report),
        "report json": render_json(report),
        "report csv": render_csv(report),
        "refusal": PrivateIncident(incident).user_message,
    }


SURFACES = sorted(outside_surfaces())


class TestEverySurfaceOutsideTheIncident:
    @pytest.mark.parametrize("surface", SURFACES)
    def test_names_the_incident_and_nothing_of_what_happened(self, surface: str) -> None:
        """INC-7 is named; no word of its title, description, service, notes or follow-ups is."""
        shown = outside_surfaces()[surface]
        if surface != "report text":  # counts by severity and service, names no incident
            assert "INC-7" in shown
        # A service's budget is about the service: that a private incident burned it shows, nothing else.
        allowed = {SERVICE} if surface == "budget lines" else set()
        assert set(leaked(shown)) <= allowed

    def test_a_public_incident_shows_its_title_on_the_same_surfaces(self) -> None:
        """The hiding comes from ``private``: the same incident declared public shows its words."""
        incident, entries = worked_on(private=False)
        assert TITLE in list_text([hidden_summary(summary_of(incident, "G0PRIV"))], NOW)
        assert TITLE in json.dumps(build_home_view([hidden_summary(summary_of(incident, "G0PRIV"))], NOW))
        assert page_summary(incident, "sev1") == f"INC-7 (sev1): {TITLE}"
        listing = hidden_listing(listing_of(incident))
        assert "bucket-k5p" in followups_csv(FollowupList([listing], {}), NOW.date())
        assert SERVICE in render_csv(build_report([(incident, entries)], CATALOG, T0, NOW))

    def test_the_operator_asks_for_private_details_in_the_report(self) -> None:
        """``hide_private=False`` (``report --include-private``) shows the service; by default it reads (private)."""
        incident, entries = worked_on()
        assert SERVICE in render_csv(build_report([(incident, entries)], CATALOG, T0, NOW, hide_private=False))
        rows = json.loads(render_json(build_report([(incident, entries)], CATALOG, T0, NOW)))
        assert "(private)" in json.dumps(rows)

    def test_the_page_and_the_notice_say_exactly_this(self) -> None:
        """The page reads only `private incident INC-7`; the announcement's notice says only that it exists."""
        incident, _ = worked_on()
        assert page_summary(incident, "sev1") == "private incident INC-7"
        text, blocks = build_private_notice(incident)
        assert text == "INC-7: a private incident was declared."
        assert blocks_errors(blocks, 50) == []

    @settings(max_examples=examples(40))
    @given(st.text(min_size=1, max_size=80).filter(lambda t: t.strip() and "INC" not in t and "private" not in t))
    def test_any_title_is_replaced_in_lists(self, title: str) -> None:
        """Whatever the title, a non-member's list line is ``private incident``."""
        summary = IncidentSummary(3, title, Severity.SEV2, worked_on()[0].status, None, None, T0, None, private=True)
        line = list_text([hidden_summary(summary)], NOW)
        assert line.endswith("private incident")
        assert hidden_summary(summary).title == "private incident"


class TestMembers:
    @pytest.mark.parametrize(
        ("viewer", "sees"),
        [(DECLARER, True), (LEAD, True), (IRT, True), (OUTSIDER, False), (None, False), ("", False)],
    )
    def test_declarer_lead_and_irt_see_a_private_incident(self, viewer: str | None, sees: bool) -> None:
        """Its members are its declarer, lead and IRT; nobody else, nor an unknown reader."""
        incident, _ = worked_on()
        assert insiders(incident) == frozenset({DECLARER, LEAD, IRT})
        assert may_see(incident, viewer) is sees

    @pytest.mark.parametrize("viewer", [DECLARER, OUTSIDER, None])
    def test_everybody_sees_a_public_incident(self, viewer: str | None) -> None:
        """An incident that is not private is seen by anyone."""
        assert may_see(worked_on(private=False)[0], viewer) is True

    def test_asking_from_inside_the_private_channel_is_allowed(self) -> None:
        """Whoever types in the incident's own (private) channel already reads it; elsewhere a non-member is refused."""
        incident = worked_on()[0].with_changes(channel_id="G0PRIV")
        check_may_see(incident, OUTSIDER, "G0PRIV")
        with pytest.raises(PrivateIncident, match="INC-7 is a private incident"):
            check_may_see(incident, OUTSIDER, "C0GENERAL")
        check_may_see(incident, IRT, "C0GENERAL")


class TestStrictRoles:
    @pytest.mark.parametrize(
        ("configured", "private", "strict"),
        [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
    )
    def test_strict_roles_are_on_for_a_private_incident(self, configured: bool, private: bool, strict: bool) -> None:
        """Strict roles apply when configured, and always to a private incident."""
        assert strict_roles_for(worked_on(private)[0], configured) is strict

    @pytest.mark.parametrize(
        "typed",
        [
            "severity sev3",
            "note seen from support",
            "followup done 1",
            "followup due 1 2026-12-24",
            "followup owner 1 <@U0ERIN|erin>",
            "followup drop 1 not needed",
            "followup reopen 1",
            "followup export 1",
            "followup a new one",
            "service other-service",
            "hypothesis it is DNS",
            "lead <@U0ERIN|erin>",
            "update all is fine",
        ],
    )
    def test_an_outsider_may_change_nothing(self, typed: str) -> None:
        """A tester found outsiders closing a private incident's follow-ups (the reply quoted them) and filing
        them in the tracker: on a private incident only its members make any change."""
        incident, _ = worked_on()
        action = parse_command(typed).action
        assert isinstance(action, Transition)
        with pytest.raises(NotAllowed) as refused:
            check_allowed(incident, action, OUTSIDER)
        assert refused.value.plain_message == "INC-7 is private: only its team may change it."
        for member in (DECLARER, LEAD, IRT):
            check_allowed(incident, action, member)

    @pytest.mark.parametrize("declared_by", ["cli", "alice", "alertmanager"])
    def test_nobody_picks_up_a_private_incident_declared_outside_slack(self, declared_by: str) -> None:
        """A CLI-declared private incident (no Slack declarer) was taken by anyone naming themselves lead."""
        decision = declare(Declare(TITLE, Severity.SEV1, private=True), 7, Stamp(declared_by, T0, T0))
        with pytest.raises(NotAllowed):
            check_allowed(decision.incident, SetLead(UserRef(OUTSIDER)), OUTSIDER)
        check_allowed(decision.incident, SetLead(UserRef(LEAD)), declared_by)

    def test_the_bots_own_moves_are_not_refused(self) -> None:
        incident, _ = worked_on()
        check_allowed(incident, RemindFollowups(datetime(2026, 12, 2, tzinfo=UTC).date()), "incidentbot")


class TestDeclarePrivate:
    @pytest.mark.parametrize(
        ("text", "title", "severity"),
        [
            ("declare --private sev1 Payroll export leaks", "Payroll export leaks", Severity.SEV1),
            ("declare sev1 --private Payroll export leaks", "Payroll export leaks", Severity.SEV1),
            ("declare sev2 Payroll export leaks --private", "Payroll export leaks", Severity.SEV2),
            ("declare --PRIVATE Payroll export leaks", "Payroll export leaks", Severity.SEV3),
            ("declare \u2014private sev1 Payroll export leaks", "Payroll export leaks", Severity.SEV1),
        ],
    )
    def test_private_anywhere_in_declare(self, text: str, title: str, severity: Severity) -> None:
        """`--private` (any case, or a phone's dash) may stand anywhere in `declare`; it leaves the title."""
        assert parse_command(text).action == Declare(title, severity, private=True)

    @pytest.mark.parametrize(
        "option",
        [
            "---private",
            "\u2010\u2010private",
            "\u2212private",
            "\u2014\u2014private",
            "\uff0d\uff0dprivate",
            "--Private",
        ],
    )
    def test_every_dash_spelling_of_the_option(self, option: str) -> None:
        """As `--at`: two or more hyphens or dashes, or one non-ASCII dash (a tester's finding)."""
        assert parse_command(f"declare {option} sev1 Payroll export leaks").action == Declare(
            "Payroll export leaks", Severity.SEV1, private=True
        )

    @pytest.mark.parametrize(
        ("option", "shown"),
        [
            ("--privat", "--privat"),
            ("--priv", "--priv"),
            ("-private", "-private"),
            ("--private,", "--private,"),
            ("--private:", "--private:"),
            ("--private=yes", "--private=yes"),
            ("(--private)", "--private)"),
            ("--privateer", "--privateer"),
        ],
    )
    def test_a_near_miss_is_refused_not_announced(self, option: str, shown: str) -> None:
        """A tester found these declared public incidents announcing the title (and the severity lost): refused."""
        with pytest.raises(UsageError) as refused:
            parse_command(f"declare {option} sev1 Payroll export leaks")
        assert refused.value.user_message == (
            f"`{shown}` is not an option: did you mean `--private` (two hyphens, a word of its own)? "
            "Nothing was declared."
        )

    @pytest.mark.parametrize("text", ["declare sev1 Payroll - private key", "declare sev1 private payroll"])
    def test_other_words_stay_in_the_title(self, text: str) -> None:
        """Only the option is the option: `- private` (a spaced dash) and `private` are title words."""
        action = parse_command(text).action
        assert isinstance(action, Declare) and action.private is False
        assert action.title == text.removeprefix("declare sev1 ")

    def test_private_alone_is_not_a_title(self) -> None:
        """`declare --private sev1` given to the parser has no title: refused as any title-less declare."""
        with pytest.raises(UsageError, match="title"):
            parse_command("declare --private sev1")

    @pytest.mark.parametrize(
        ("text", "bare", "private", "severity"),
        [
            ("declare --private", True, True, None),
            ("declare --private sev1", True, True, Severity.SEV1),
            ("declare sev2 --private", True, True, Severity.SEV2),
            ("declare sev2", True, False, Severity.SEV2),
            ("", True, False, None),
            ("declare --private sev1 Payroll", False, False, None),
        ],
    )
    def test_a_bare_private_declare_opens_the_form_ticked(
        self, text: str, bare: bool, private: bool, severity: Severity | None
    ) -> None:
        """``/incident declare --private [sevN]`` opens the declare form with its private box ticked."""
        assert (is_bare_declare(text), bare_declare_private(text), bare_declare_severity(text)) == (
            bare,
            private,
            severity,
        )

    def test_the_declared_entry_records_it(self) -> None:
        """The DECLARED entry's data says `private: true`; a public incident's says nothing of it."""
        decision = declare(Declare(TITLE, Severity.SEV1, private=True), 7, Stamp(DECLARER, T0, T0))
        assert decision.incident.private is True
        assert decision.entries[0].data == {"severity": "sev1", "status_to": "declared", "private": True}
        public = declare(Declare(TITLE, Severity.SEV1), 7, Stamp(DECLARER, T0, T0))
        assert public.incident.private is False and "private" not in public.entries[0].data

    def test_the_declare_modal_has_the_private_checkbox(self) -> None:
        """The declare modal has one optional `private` checkbox, ticked only for `declare --private`."""
        view = build_declare_modal()
        box = [b for b in view["blocks"] if b["block_id"] == "declare_private"]
        assert len(box) == 1 and box[0]["optional"] is True
        assert box[0]["element"]["type"] == "checkboxes"
        assert [o["value"] for o in box[0]["element"]["options"]] == ["private"]
        assert blocks_errors(view["blocks"], 100) == []
        assert "initial_options" not in box[0]["element"]
        ticked = [b for b in build_declare_modal(private=True)["blocks"] if b["block_id"] == "declare_private"]
        assert [o["value"] for o in ticked[0]["element"]["initial_options"]] == ["private"]


class TestAnnounceSetting:
    @pytest.mark.parametrize(("value", "expected"), [("notice", "notice"), ("OFF", "off"), ("", "notice")])
    def test_values(self, value: str, expected: str) -> None:
        """`notice` and `off` in any case; empty is the default, `notice`."""
        settings, problems = read_settings({"INCIDENT_PRIVATE_ANNOUNCE": value}, env_file=None)
        assert (settings.private_announce, problems) == (expected, [])

    def test_unset_is_notice(self) -> None:
        """Unset, the announce channel gets the notice."""
        assert read_settings({}, env_file=None)[0].private_announce == "notice"

    def test_a_bad_value_is_one_problem(self) -> None:
        """Any other value is one settings problem naming the two choices."""
        _, problems = read_settings({"INCIDENT_PRIVATE_ANNOUNCE": "title"}, env_file=None)
        assert [(p.name, p.message) for p in problems] == [
            ("INCIDENT_PRIVATE_ANNOUNCE", "INCIDENT_PRIVATE_ANNOUNCE must be notice or off, got 'title'.")
        ]


class TestReminderDirectMessages:
    @pytest.mark.parametrize(("owner", "sees"), [(OUTSIDER, False), (IRT, True)])
    def test_an_owner_outside_the_incident_is_reminded_without_its_title(self, owner: str, sees: bool) -> None:
        """An overdue follow-up's owner gets a DM naming the incident's title only if they are a member."""
        incident, _ = worked_on()
        moment = T0 + timedelta(minutes=30)
        step = apply(
            incident,
            parse_command(f"followup check the export job <@{owner}|o> --due 2026-11-23").action,  # type: ignore[arg-type]
            Stamp(DECLARER, moment, moment),
        )
        later = datetime(2026, 11, 30, 9, tzinfo=UTC)
        reminded = apply(step.incident, RemindFollowups(later.date()), Stamp("incidentbot", later, later))
        effects = followup_reminder_effects(Outcome(reminded.incident, reminded.entries, step.incident))
        [dm] = [e for e in effects if e.payload.get("user") == owner]
        assert (TITLE in dm.payload["text"], "private incident" in dm.payload["text"]) == (sees, not sees)
        # nor the follow-up's own text (a tester's finding): only its number and due date
        assert ("check the export job" in dm.payload["text"]) is sees
        if not sees:
            assert dm.payload["text"].startswith(
                ":hourglass: Your follow-ups on INC-7 (private incident) are overdue: "
                "#2 (a follow-up of a private incident) (due 2026-11-23). "
            )
