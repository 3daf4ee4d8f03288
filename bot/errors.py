"""All expected failures: the domain's (re-exported) plus those of configuration and infrastructure."""

from __future__ import annotations

from bot.domain.errors import (
    BotError,
    IncidentNotFound,
    TimeParseError,
    TransitionError,
    UsageError,
)

__all__ = [
    "BotError",
    "ConcurrentUpdate",
    "ConfigError",
    "IncidentNotFound",
    "StoreUnavailable",
    "TemplateError",
    "TimeParseError",
    "TransitionError",
    "UsageError",
]


class ConfigError(BotError):
    """A setting is missing or invalid; start-up stops with this one line."""


class StoreUnavailable(BotError):
    """The database cannot be reached or read."""


class ConcurrentUpdate(BotError):
    """Another command changed the incident first; the use case is retried on fresh state."""


class TemplateError(BotError):
    """A postmortem template is missing or broken."""
