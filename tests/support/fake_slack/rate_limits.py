"""Slack's special rate limit: about one chat.postMessage per second per channel, answered with HTTP 429."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from tests.support.fake_slack.faults import Failure
from tests.support.fake_slack.state import Workspace


class ChannelRateLimit:
    """The per-channel limit of `FakeSlack` (off until `limit_channel_rate`; state lives in the workspace)."""

    _lock: threading.RLock
    workspace: Workspace

    def limit_channel_rate(self, per_second: float = 1.0) -> None:
        """Answer chat.postMessage with 429 beyond `per_second` messages per channel (0 disables)."""
        with self._lock:
            self.workspace.channel_rate = per_second
            self.workspace.channel_posts.clear()

    def _channel_rate_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        """Slack's special limit: about one chat.postMessage per second per channel (when enabled)."""
        ws = self.workspace
        if method != "chat.postMessage" or ws.channel_rate <= 0:
            return None
        channel, now, interval = str(params.get("channel") or ""), time.monotonic(), 1.0 / ws.channel_rate
        last = ws.channel_posts.get(channel)
        if last is not None and now - last < interval:
            return Failure("ratelimited", 429, max(1, math.ceil(interval - (now - last))))
        ws.channel_posts[channel] = now
        return None
