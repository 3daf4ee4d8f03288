"""A follow-up as a tracker issue: the seed's three action items, and the cases around them."""

from __future__ import annotations

from datetime import date

import pytest

from bot.integrations.trackers.issues import FollowUpExport, followup_issue
from bot.integrations.trackers.port import TrackerIssue

USERS = {"U024BE7LH": "octocat"}
CANARY = FollowUpExport(
    incident_number=7,
    followup_number=1,
    text="Canary deployment for firewall changes",
    incident_title="Checkout 502s after WAF rule push",
    severity="sev1",
    owner="U024BE7LH",
    owner_name="Alice",
    due=date(2026, 12, 15),
    incident_link="https://acme.slack.com/archives/C07INC",
    postmortem_link="https://wiki.acme.example/postmortems/INC-7",
)


def test_the_canary_follow_up() -> None:
    assert followup_issue(CANARY, USERS) == TrackerIssue(
        marker="incidentbot:INC-7:followup-1",
        title="Canary deployment for firewall changes",
        body=(
            "Follow-up 1 of INC-7 (sev1): Checkout 502s after WAF rule push\n\n"
            "- Incident: https://acme.slack.com/archives/C07INC\n"
            "- Postmortem: https://wiki.acme.example/postmortems/INC-7\n"
            "- Owner: Alice\n"
            "- Due: 2026-12-15"
        ),
        labels=("incident", "INC-7", "sev1"),
        assignee="octocat",
        due=date(2026, 12, 15),
    )


def test_an_owner_without_mapping_is_filed_unassigned_and_said_so() -> None:
    export = FollowUpExport(7, 3, 'Add a "verify CPU load" runbook step', "t", "sev1", owner="U0OTHER1")
    issue = followup_issue(export, USERS)
    assert (issue.assignee, issue.body) == (
        None,
        "Follow-up 3 of INC-7 (sev1): t\n\n- Owner: U0OTHER1 (no tracker user mapped)",
    )


def test_no_owner_no_links() -> None:
    export = FollowUpExport(7, 2, "Synthetic WAF tests in staging every 5 minutes", "t", "sev2")
    issue = followup_issue(export, USERS, installation="prod")
    assert (issue.marker, issue.body, issue.labels, issue.assignee) == (
        "incidentbot:prod:INC-7:followup-2",
        "Follow-up 2 of INC-7 (sev2): t",
        ("incident", "INC-7", "sev2"),
        None,
    )


@pytest.mark.parametrize("length", [250, 251, 1000])
def test_long_texts_are_cut_in_the_title_and_kept_whole_in_the_body(length: int) -> None:
    text = "x" * length
    issue = followup_issue(FollowUpExport(1, 1, text, "t", "sev3"), {})
    assert len(issue.title) <= 250
    assert (issue.title == text) == (length <= 250)
    assert (text in issue.body) == (length > 250)


def test_whitespace_is_one_line_and_nothing_left_is_a_plain_title() -> None:
    assert followup_issue(FollowUpExport(1, 1, "  a\n b  ", "t", "sev3"), {}).title == "a b"
    assert followup_issue(FollowUpExport(7, 2, " \n ", "t", "sev3"), {}).title == "Follow-up 2 of INC-7"
