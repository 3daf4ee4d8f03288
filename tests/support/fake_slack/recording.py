"""Recorded calls: every request the fake answered, waiting for calls, and conformance of what was recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.support.fake_slack import reference
from tests.support.fake_slack.records import RecordedCall


class CallRecorder:
    """The recording half of `FakeSlack` (its lock, condition and call list are set up by `FakeSlack`)."""

    _lock: threading.RLock
    _changed: threading.Condition
    _calls: list[RecordedCall]

    @property
    def calls(self) -> list[RecordedCall]:
        """A snapshot of every recorded call, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one method, oldest first."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Block until `count` calls of `method` (matching `predicate`) were recorded; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self._calls if c.method == method and (predicate is None or predicate(c))]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
            if len(found) >= count:
                return found
            seen = "\n".join(f"  {c.describe()}" for c in self._calls) or "  (none)"
        raise AssertionError(
            f"expected {count} call(s) to {method}{' matching predicate' if predicate else ''} within "
            f"{timeout}s, got {len(found)}. Calls seen:\n{seen}"
        )

    def clear_calls(self) -> None:
        """Forget recorded calls only."""
        with self._lock:
            self._calls.clear()

    def _record(self, call: RecordedCall) -> None:
        self._calls.append(call)
        self._changed.notify_all()

    def argument_problems(self) -> list[str]:
        """Calls to documented methods naming an undocumented argument or missing a required one."""
        with self._lock:
            calls = list(self._calls)
        return reference.argument_problems(calls)

    def nonconforming_answers(self) -> list[str]:
        """Answers of documented methods with an error code Slack does not document for them."""
        with self._lock:
            calls = list(self._calls)
        return reference.nonconforming_answers(calls)
