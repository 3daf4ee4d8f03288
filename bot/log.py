"""Structured logging: one snake_case event per fact, key/value data, JSON with LOG_FORMAT=json."""

from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

import structlog

_HANDLER_NAME = "incidentbot"


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the moment of writing, not at configuration.

    Binding the stream once breaks when it is swapped and closed later (a test harness capturing
    output, a daemon redirecting it): every log line from a background thread then raises
    "I/O operation on closed file".
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(log_format: str = "console", level: str = "INFO") -> None:
    """Set up structlog to write to stderr, and route everything else there through the same renderer:
    the libraries' stdlib log records (bolt, aiohttp, alembic, slack_sdk) via structlog's
    ProcessorFormatter, ``warnings.warn`` via ``logging.captureWarnings``, and with ``log_format="json"``
    uncaught exceptions (main thread and others) as one ``uncaught_exception`` event whose traceback is
    its ``exception`` field. So ``LOG_FORMAT=json`` gives one JSON object per line, nothing else."""
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    renderer: Any = (
        structlog.processors.JSONRenderer() if log_format == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # The libraries' stdlib log records go through the same renderer: one JSON line each with LOG_FORMAT=json.
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(numeric_level, logging.WARNING))
    # warnings.warn (a library's DeprecationWarning...) becomes a `py.warnings` record: through the same renderer.
    logging.captureWarnings(True)
    if log_format == "json":
        # An exception nothing caught ends as one JSON line with the traceback in its `exception` field.
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    structlog.get_logger("incidentbot").critical("uncaught_exception", exc_info=(kind, value, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    structlog.get_logger("incidentbot").critical(
        "uncaught_exception",
        thread=args.thread.name if args.thread is not None else None,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


class RateLimitedWarning:
    """One warning event, logged at most once per ``interval`` seconds; the ones held back in between are
    counted and reported as ``suppressed=N`` on the next one logged (so a flood of bad requests cannot
    flood the log, and none goes uncounted).

    ``clock`` is a monotonic clock in seconds (``time.monotonic`` by default; tests pass their own).
    """

    def __init__(self, event: str, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.event = event
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._suppressed = 0

    def warn(self, logger: Any, **fields: Any) -> bool:
        """Log the event with ``fields`` (via ``logger.warning``) unless one was logged less than
        ``interval`` seconds ago; True when it was logged."""
        with self._lock:
            now = self.clock()
            if self._last is not None and now - self._last < self.interval:
                self._suppressed += 1
                return False
            self._last, suppressed, self._suppressed = now, self._suppressed, 0
        logger.warning(self.event, **fields, suppressed=suppressed)
        return True


CORRELATION_ID_HEX_DIGITS = 8
"""Length of a correlation id: enough to find one failure in a day's log, short enough to read out."""


def log_unexpected(logger: Any, event: str, exc: BaseException, **context: object) -> str:
    """Log an unexpected failure once, with its traceback, under a new correlation id, and return the id.

    The id (``CORRELATION_ID_HEX_DIGITS`` lowercase hex characters, e.g. ``3f9c0a1e``) is the only thing
    about the failure a user or a webhook sender sees; the log line ``event`` carries it as
    ``correlation_id`` with ``error_type`` and whatever of ``context`` is known (incident id, Slack user,
    channel, request path...: keys whose value is None are left out).
    """
    correlation_id = uuid.uuid4().hex[:CORRELATION_ID_HEX_DIGITS]
    known = {key: value for key, value in context.items() if value is not None}
    logger.error(event, correlation_id=correlation_id, error_type=type(exc).__name__, exc_info=exc, **known)
    return correlation_id
