"""The postmortem's "did not hold" lesson comes only from a reopen out of monitoring, with the reason in
parentheses when one was given."""

from __future__ import annotations

import pytest

from bot.domain.commands import Monitor, Reopen, Resolve, Rollback, Transition
from bot.domain.postmortem import build_postmortem
from tests.unit.test_monitoring_domain import at, run


def went_wrong(steps: list[tuple[float, Transition]]) -> list[str]:
    incident, entries = run(steps)
    return build_postmortem(incident, entries, at(120)).lessons.went_wrong


@pytest.mark.parametrize(
    "steps",
    [
        [(53, Rollback("WAF rule")), (58, Monitor("edge 5xx")), (68, Resolve("held"))],  # resolved from monitoring
        [(53, Rollback("WAF rule")), (58, Resolve()), (68, Reopen("502s are back")), (78, Resolve())],
    ],
    ids=["resolved-after-monitoring", "reopened-after-resolve"],
)
def test_no_did_not_hold_lesson_without_a_reopen_from_monitoring(steps: list[tuple[float, Transition]]) -> None:
    assert [line for line in went_wrong(steps) if "did not hold" in line] == []


def test_a_reopen_from_monitoring_without_reason() -> None:
    steps: list[tuple[float, Transition]] = [
        (53, Rollback("WAF rule")),
        (58, Monitor("edge 5xx")),
        (68, Reopen()),
        (98, Resolve()),
    ]
    assert [line for line in went_wrong(steps) if "did not hold" in line] == [
        "The fix being monitored did not hold: back to investigating at 14:50. What would have shown it sooner?"
    ]
