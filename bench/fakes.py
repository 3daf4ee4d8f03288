"""The fake Slack Web API from the test suite, plus arrival times of marked channel posts."""

from __future__ import annotations

import re
import time

from bench.procs import BOT_TOKEN
from tests.support.fake_slack import FakeSlack, RecordedCall

MARKER = re.compile(r"\bmark-\d+-x\b")


class BenchSlack(FakeSlack):
    """Records when each ``chat.postMessage`` carrying a ``mark-<n>-x`` token first arrived (perf_counter)."""

    def __init__(self) -> None:
        super().__init__(token=BOT_TOKEN)
        self.arrivals: dict[str, float] = {}

    def _record(self, call: RecordedCall) -> None:  # called with the fake's lock held
        if call.method == "chat.postMessage" and call.ok:
            now = time.perf_counter()  # a message may carry several marked lines (the outbox batches them)
            for found in MARKER.findall(str(call.params.get("text", ""))):
                self.arrivals.setdefault(found, now)
        super()._record(call)

    def wait_marker(self, marker: str, timeout: float = 30.0) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: marker in self.arrivals, timeout=timeout):
                raise TimeoutError(f"{marker} never reached Slack")
            return self.arrivals[marker]

    def forget_calls(self) -> None:
        with self._lock:
            self._calls.clear()
