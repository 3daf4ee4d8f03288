"""RateLimitedWarning: at most one event per interval, and every held-back one counted on the next."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.log import RateLimitedWarning


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))


class TestRateLimitedWarning:
    def test_the_issue_example_three_bad_signatures_in_a_minute(self) -> None:
        """At 0 s, 10 s, 59.9 s and 60 s (interval 60 s): logged at 0 and 60, the second saying suppressed=2."""
        now = [0.0]
        limited = RateLimitedWarning("signature_rejected", interval=60.0, clock=lambda: now[0])
        recorder = _Recorder()
        results = []
        for moment in (0.0, 10.0, 59.9, 60.0):
            now[0] = moment
            results.append(limited.warn(recorder, reason="signature_mismatch"))
        assert results == [True, False, False, True]
        assert recorder.events == [
            ("signature_rejected", {"reason": "signature_mismatch", "suppressed": 0}),
            ("signature_rejected", {"reason": "signature_mismatch", "suppressed": 2}),
        ]

    @given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=60))
    def test_no_two_logged_within_an_interval_and_nothing_uncounted(self, gaps: list[float]) -> None:
        """For any arrival times: the first arrival is logged, logged events are at least 60 s apart, and each
        logged event carries exactly the arrivals held back since the previous one."""
        now = [0.0]
        limited = RateLimitedWarning("x", interval=60.0, clock=lambda: now[0])
        recorder = _Recorder()
        logged: list[int] = []  # indices of the arrivals that were logged
        times: list[float] = []
        for index, gap in enumerate(gaps):
            now[0] += gap
            times.append(now[0])
            if limited.warn(recorder):
                logged.append(index)
        assert logged[0] == 0
        assert all(times[b] - times[a] >= 60.0 for a, b in itertools.pairwise(logged))
        carried = [fields["suppressed"] for _, fields in recorder.events]
        assert carried == [0] + [b - a - 1 for a, b in itertools.pairwise(logged)]
