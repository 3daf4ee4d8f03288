"""A fake PagerDuty Events API v2 on 127.0.0.1:0: records each event, answers 202 (or what a test queues)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakePagerDuty:
    """``url`` takes POSTs like PagerDuty's /v2/enqueue; ``events`` holds the accepted ones."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answered in order before falling back to 202
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with fake._lock:
                    status = fake.statuses.pop(0) if fake.statuses else 202
                    (fake.events if status == 202 else fake.refused).append(body)
                payload = json.dumps(
                    {"status": "success", "dedup_key": body.get("dedup_key")}
                    if status == 202
                    else {"status": "error", "message": "refused"}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v2/enqueue"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.events) >= count:
                    return list(self.events)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} PagerDuty events, got {self.events}")


@contextmanager
def fake_pagerduty() -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
