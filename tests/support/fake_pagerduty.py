"""A fake PagerDuty Events API v2 on 127.0.0.1:0: validates and records each event like POST /v2/enqueue.

Answers as PagerDuty's published Events API v2 reference says (developer.pagerduty.com, "Send an
Alert Event"; PagerDuty/api-schema reference/events-v2/openapiv3.json):
202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}`` for a valid event;
400 ``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`` for an
invalid one (routing_key not 32 characters, unknown event_action, dedup_key over 255 characters, a
trigger without payload.summary/source/severity or with a severity outside critical/error/warning/info);
429 (empty body) or any status a test queues in ``statuses``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa

ROUTING_KEY = "R0UTINGKEYR0UTINGKEYR0UTINGKEY32"  # an Events API v2 integration key has 32 characters


class FakePagerDuty:
    """``url`` takes POSTs like PagerDuty's /v2/enqueue; ``events`` holds the accepted ones."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answered in order (429, 500...) before validating as PagerDuty does
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                errors = invalid_event(body)
                with fake._lock:
                    status = fake.statuses.pop(0) if fake.statuses else (400 if errors else 202)
                    (fake.events if status == 202 else fake.refused).append(body)
                if status == 202:
                    answer: dict[str, Any] | None = {
                        "status": "success",
                        "message": "Event processed",
                        "dedup_key": body.get("dedup_key"),
                    }
                elif status == 400:
                    answer = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
                else:
                    answer = None
                payload = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Checks for shutdown every 50 ms, as the other fakes: at the default 0.5 s, stopping waited 0.25 s on average.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

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


SEVERITIES = ("critical", "error", "warning", "info")


def invalid_event(body: Any) -> list[str]:
    """What PagerDuty would refuse in ``body`` (empty when it is a valid Events API v2 event)."""
    if not isinstance(body, dict):
        return ["Event object is not a JSON object"]
    errors = []
    if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    key = body.get("dedup_key")
    if key is not None and (not isinstance(key, str) or len(key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not key:
        errors.append("'dedup_key' is required for acknowledge and resolve events")
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary or len(summary) > 1024:
                errors.append("'payload.summary' is required (at most 1024 characters)")
            if not isinstance(payload.get("source"), str) or not payload["source"]:
                errors.append("'payload.source' is required")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
    return errors


@contextmanager
def fake_pagerduty() -> Iterator[FakePagerDuty]:
    """A started `FakePagerDuty`, shut down on exit."""
    fake = FakePagerDuty()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def sent(pagerduty: FakePagerDuty, key: str | None = None) -> list[tuple[str, str]]:
    """(event_action, dedup_key) of every event PagerDuty accepted, oldest first (of ``key`` only if given)."""
    return [(e["event_action"], e["dedup_key"]) for e in pagerduty.events if key is None or e["dedup_key"] == key]


def installation_id(database_url: str) -> str:
    """The database's installation id (the middle of every dedup key), read with plain SQL (not through
    the bot's code)."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT installation_id FROM installation")).all()
    finally:
        engine.dispose()
    assert len(rows) == 1, rows
    return str(rows[0][0])
