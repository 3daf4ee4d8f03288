"""A refusal of a time that comes before another never shows the two as the same time.

Found by a fresh tester (2026-12-01): a status change typed without ``--at`` keeps its seconds, so
``rollback --at 04:34`` after a mitigation recorded at 04:34:12 was refused as "2026-12-01 04:34 UTC is before the
latest status change of INC-1 (mitigation at 2026-12-01 04:34 UTC)". Each refusal that compares two times now
shows them to the second when they read the same to the minute, with the fraction of a second a time has (a
second tester: "at or after 04:34:12" was refused again at 04:34:12, the mitigation being at 04:34:12.345678).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cli.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.timeparse import format_utc_apart
from bot.errors import BotError
from bot.usecases.shared import Actor
from bot.usecases.wiring import UseCases

ALICE = Actor("U0ALICE", "alice")
T = datetime(2026, 12, 1, 4, 34, 12, 345678, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "limit", "expected"),
    [
        (T.replace(minute=33), T, ("2026-12-01 04:33 UTC", "2026-12-01 04:34 UTC")),
        (T.replace(second=0, microsecond=0), T, ("2026-12-01 04:34:00 UTC", "2026-12-01 04:34:12.345678 UTC")),
        (T.replace(microsecond=0), T, ("2026-12-01 04:34:12 UTC", "2026-12-01 04:34:12.345678 UTC")),
        (T.replace(second=0), T.replace(microsecond=0), ("2026-12-01 04:34:00.345678 UTC", "2026-12-01 04:34:12 UTC")),
        (
            T.replace(year=999, second=0, microsecond=0),
            T.replace(year=999),
            ("0999-12-01 04:34:00 UTC", "0999-12-01 04:34:12.345678 UTC"),
        ),
    ],
)
def test_format_utc_apart(given: datetime, limit: datetime, expected: tuple[str, str]) -> None:
    assert format_utc_apart(given, limit) == expected


def _refusal(usecases: UseCases, text: str) -> str:
    with pytest.raises(BotError) as refused:
        usecases.incidents.run(parse_command(text), ALICE)
    return refused.value.user_message


@pytest.mark.parametrize(
    ("declared", "setup", "refused", "expected"),
    [
        (  # the tester's case: a status change before the latest one, in the same minute
            T.replace(minute=30),
            ["INC-1 mitigate rate limiting"],
            "INC-1 rollback WAF rule --at 04:34",
            "2026-12-01 04:34:00 UTC is before the latest status change of INC-1 (mitigation at "
            "2026-12-01 04:34:12.345678 UTC).",
        ),
        (  # a note before the declaration, in the same minute
            T,
            [],
            "INC-1 note seen earlier --at 04:34",
            "2026-12-01 04:34:00 UTC is before INC-1 was declared (2026-12-01 04:34:12.345678 UTC).",
        ),
        (  # a follow-up done before it was added, in the same minute
            T.replace(minute=30),
            ["INC-1 followup add canary deploys"],
            "INC-1 followup done 1 --at 04:34",
            "2026-12-01 04:34:00 UTC is before follow-up #1 was added (2026-12-01 04:34:12.345678 UTC);",
        ),
    ],
)
def test_same_minute_refusals_show_seconds(
    usecases: UseCases, clock: ReplayClock, declared: datetime, setup: list[str], refused: str, expected: str
) -> None:
    """Declared at ``declared``; ``setup`` typed at 04:34:12.345678; ``refused`` names 04:34 (to the minute)."""
    clock.now = declared
    usecases.incidents.run(parse_command("declare sev2 CDN 502s"), ALICE)
    clock.now = T
    for text in setup:
        usecases.incidents.run(parse_command(text), ALICE)
    assert _refusal(usecases, refused).startswith(expected)


def test_the_time_a_refusal_names_can_be_typed_past(usecases: UseCases, clock: ReplayClock) -> None:
    """Refused at 04:34 naming the mitigation at 04:34:12.345678: 04:34:12 is refused too, 04:34:13 is recorded."""
    clock.now = T.replace(minute=30)
    usecases.incidents.run(parse_command("declare sev2 CDN 502s"), ALICE)
    clock.now = T
    usecases.incidents.run(parse_command("INC-1 mitigate rate limiting"), ALICE)
    clock.now = T.replace(minute=40)
    assert "(mitigation at 2026-12-01 04:34:12.345678 UTC)" in _refusal(usecases, "INC-1 rollback x --at 04:34")
    assert _refusal(usecases, "INC-1 rollback x --at 04:34:12").startswith("2026-12-01 04:34:12 UTC is before")
    outcome = usecases.incidents.run(parse_command("INC-1 rollback WAF rule --at 04:34:13"), ALICE)
    assert f"{outcome.entries[0].occurred_at:%H:%M:%S}" == "04:34:13"
