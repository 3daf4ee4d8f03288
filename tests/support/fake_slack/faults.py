"""Error injection: documented error codes on demand, raw non-JSON answers, random failures and delays."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.support.fake_slack.reference import DOCUMENTED
from tests.support.fake_slack.state import Workspace

STATUS_ERRORS = {429: "ratelimited", 500: "fatal_error", 503: "service_unavailable"}
"""The error code answered with each HTTP status drawn by `set_failure_rate`."""


@dataclass
class Failure:
    """One injected answer: an error code and HTTP status, or a raw body that is not Slack JSON."""

    error: str
    status: int
    retry_after: int | None
    raw_body: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    extra: dict[str, Any] | None = None


HOLD_LIMIT_SECONDS = 60.0
"""The most a held call waits for `release` (a test that forgets to release still ends)."""


class FaultInjection:
    """The failure-injection half of `FakeSlack` (its lock and workspace are set up by `FakeSlack`)."""

    _lock: threading.RLock
    workspace: Workspace

    def _reset_faults(self) -> None:
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._holds: dict[str, threading.Event] = {}
        self._held_arrivals: dict[str, int] = defaultdict(int)
        self._rate = 0.0
        self._rate_statuses: tuple[int, ...] = (429, 500)
        self._rate_retry_after = 1
        self._rate_exclude: frozenset[str] = frozenset()
        self._rng = random.Random()

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `error` (and `Retry-After` on 429), no effect.

        `extra` adds fields to the answer (`missing_scope` comes with `needed` and `provided`).

        Raises ValueError for a code Slack does not document for `method` (see `DOCUMENTED`).
        """
        documented = DOCUMENTED.get(method, {}).get("errors")
        if documented is not None and error not in documented:
            raise ValueError(f"Slack documents no error {error!r} for {method}")
        with self._lock:
            for _ in range(times):
                self._failures[method].append(
                    Failure(error, status, retry_after if status == 429 else None, extra=extra)
                )

    def fail_next_raw(
        self, method: str, status: int, body: str, content_type: str = "text/html", times: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` with a body that is not Slack JSON (a proxy's error page)."""
        with self._lock:
            for _ in range(times):
                self._failures[method].append(Failure("", status, None, body.encode(), content_type))

    def refuse_invite(self, user_id: str, error: str) -> None:
        """`conversations.invite` refuses `user_id` with `error` (a documented code) from now on."""
        if error not in DOCUMENTED["conversations.invite"]["errors"]:
            raise ValueError(f"Slack documents no error {error!r} for conversations.invite")
        with self._lock:
            self.workspace.invite_refusals[user_id] = error

    def set_failure_rate(
        self,
        rate: float,
        statuses: tuple[int, ...] = (429, 500),
        seed: int | None = None,
        retry_after: int = 1,
        exclude: Iterable[str] = ("auth.test",),
    ) -> None:
        """Fail API calls at random with probability `rate` (status drawn from `statuses`); 0 disables."""
        with self._lock:
            self._rate, self._rate_statuses, self._rate_retry_after = rate, tuple(statuses), retry_after
            self._rate_exclude = frozenset(exclude)
            self._rng = random.Random(seed)

    def delay(self, method: str, seconds: float) -> None:
        """Sleep `seconds` before answering every later call of `method` (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def hold(self, method: str) -> None:
        """Keep every later call of `method` unanswered until `release(method)` (60 s at most).

        What a slow Slack does, as an order the test controls: a request the bot answers while the
        method is held was answered without waiting for it, however loaded the machine is.
        """
        with self._lock:
            self._holds.setdefault(method, threading.Event())

    def wait_until_held(self, method: str, timeout: float = 30.0) -> None:
        """Return once a call of `method` has arrived and waits at its hold (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._held_arrivals[method]:
                    return
            time.sleep(0.02)
        raise AssertionError(f"no {method} call arrived within {timeout} s")

    def release(self, method: str | None = None) -> None:
        """Answer the held calls of `method` (of every held method when None) and stop holding it."""
        with self._lock:
            methods = list(self._holds) if method is None else [method]
            for name in methods:
                gate = self._holds.pop(name, None)
                if gate is not None:
                    gate.set()

    def clear_failures(self) -> None:
        """Drop pending `fail_next` failures, the random failure rate and delays; release held methods."""
        self.release()
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self._rate = 0.0

    def _injected_failure(self, method: str) -> Failure | None:
        queue = self._failures.get(method)
        if queue:
            return queue.popleft()
        if self._rate > 0 and method not in self._rate_exclude and self._rng.random() < self._rate:
            status = self._rng.choice(self._rate_statuses)
            return Failure(
                STATUS_ERRORS.get(status, "fatal_error"),
                status,
                self._rate_retry_after if status == 429 else None,
            )
        return None

    def _pre_answer(self, method: str) -> Failure | None:
        """Apply the delay for `method` (outside the lock) and draw an injected failure."""
        with self._lock:
            pause = self._delays.get(method, 0.0)
            gate = self._holds.get(method)
        if gate is not None:
            with self._lock:
                self._held_arrivals[method] += 1
            gate.wait(timeout=HOLD_LIMIT_SECONDS)
        if pause:
            time.sleep(pause)
        with self._lock:
            return self._injected_failure(method)
