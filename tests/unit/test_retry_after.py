"""Retry-After as the outbox honours it: both RFC 9110 forms read, and no value parks a lane for long.

A fresh tester's GitHub 429 with ``Retry-After: 999999999`` put an incident's filings 32 years away.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.outbox.worker import RetryPolicy, retry_after_seconds

NOW = datetime(2026, 11, 29, 23, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": " 30 "}, 30.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": ["7"]}, 7.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "999999999"}, 999999999.0),  # read as sent; RetryPolicy caps what it honours
        ({"Retry-After": "Sun, 29 Nov 2026 23:02:00 GMT"}, 120.0),  # the HTTP-date form
        ({"Retry-After": "Sun, 29 Nov 2026 22:00:00 GMT"}, 0.0),  # a date already past: at once
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": []}, None),
        ({}, None),
    ],
)
def test_both_forms_are_read(headers: dict[str, object], seconds: float | None) -> None:
    assert retry_after_seconds(headers, NOW) == seconds


class TestPolicy:
    @pytest.mark.parametrize(
        ("retry_after", "expected"),
        [
            (999_999_999.0, 900.0),  # the tester's GitHub 429: fifteen minutes, not 32 years
            (3600.0, 900.0),
            (900.0, 900.0),
            (600.0, 600.0),
        ],
    )
    def test_a_far_retry_after_is_honoured_up_to_fifteen_minutes(self, retry_after: float, expected: float) -> None:
        assert RetryPolicy().delay(1, retry_after) == expected

    @given(
        attempts=st.integers(min_value=0, max_value=10**9),
        retry_after=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    )
    def test_every_delay_is_finite_positive_and_at_most_fifteen_minutes(
        self, attempts: int, retry_after: float | None
    ) -> None:
        delay = RetryPolicy().delay(attempts, retry_after)
        assert math.isfinite(delay)
        assert 0.0 < delay <= 900.0
