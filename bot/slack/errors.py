"""One place that turns any failure into the sentence a Slack user sees.

Expected failures (BotError) show their own message; anything else is logged with a short
correlation id, and the user sees only that id: never a stack trace or an exception's text.
"""

from __future__ import annotations

import uuid

import structlog

from bot.errors import BotError, UsageError
from bot.slack.text import escape, escape_keeping_mentions, person_mention

log = structlog.get_logger("incidentbot.slack")


def user_message(exc: BaseException, **log_context: object) -> str:
    """The reply for ``exc``; unexpected errors are logged here with their traceback."""
    if isinstance(exc, UsageError):
        return exc.render(person_mention, escape) + (f"\nUsage: `/incident {escape(exc.usage)}`" if exc.usage else "")
    if isinstance(exc, BotError):
        # The people a refusal names are mentioned (<@U123>), as are those typed in quoted text; the rest is escaped.
        return exc.render(person_mention, escape_keeping_mentions)
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected_error", reference=reference, error_type=type(exc).__name__, exc_info=exc, **log_context)
    return f":warning: Something went wrong on our side (reference `{reference}`). Nothing was lost; please retry."
