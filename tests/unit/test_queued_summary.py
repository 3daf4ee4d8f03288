"""``bot.cli.main.queued_summary``: what ``incidentbot run`` says it queued, counted by destination."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli.main import queued_summary

KINDS = [
    "slack.refresh",
    "slack.post_line",
    "slack.create_channel",
    "tracker.file",
    "tracker.comment",
    "tracker.close",
    "pagerduty.trigger",
    "pagerduty.resolve",
    "email.send",
]


@pytest.mark.parametrize(
    ("kinds", "said"),
    [
        ([], ""),
        (["slack.refresh", "slack.post_line"], "2 Slack update(s)"),
        (["slack.refresh", "slack.post_line", "tracker.file"], "2 Slack update(s) and 1 tracker filing(s)"),
        (["tracker.file"], "1 tracker filing(s)"),
        (["tracker.comment", "tracker.comment"], "2 tracker comment(s)"),
        (
            ["pagerduty.trigger", "tracker.file", "slack.post_line"],
            "1 Slack update(s), 1 tracker filing(s) and 1 PagerDuty update(s)",
        ),
        (["email.send", "slack.refresh"], "1 Slack update(s) and 1 email update(s)"),
        (["tracker.close"], "1 tracker update(s)"),
    ],
)
def test_each_destination_is_named(kinds: list[str], said: str) -> None:
    assert queued_summary(kinds) == said


@given(st.lists(st.sampled_from(KINDS), max_size=12))
def test_every_effect_is_counted_once_and_each_destination_once(kinds: list[str]) -> None:
    """The counts add up to the effects given, and no destination is named twice."""
    said = queued_summary(kinds)
    parts = re.findall(r"(\d+) ([A-Za-z]+ [a-z]+\(s\))", said)
    assert sum(int(count) for count, _ in parts) == len(kinds)
    assert len({name for _, name in parts}) == len(parts)
    slack = sum(kind.startswith("slack.") for kind in kinds)
    assert (f"{slack} Slack update(s)" in said) == (slack > 0)
