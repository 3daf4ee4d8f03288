"""Structured logging: one snake_case event per fact, key/value data, JSON with LOG_FORMAT=json."""

from __future__ import annotations

import logging
import sys
import uuid
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
    """Set up structlog (and stdlib logging, for the libraries) to write to stderr."""
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
