"""Expected failures, each carrying the sentence the user sees.

The root lives in the domain so that the pure core can raise it without importing adapters;
``bot.errors`` adds the infrastructure failures on top.
"""

from __future__ import annotations


class BotError(Exception):
    """A failure the user can act on; ``user_message`` is safe to show verbatim."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class UsageError(BotError):
    """The command text does not parse; carries the usage of the verb it was meant for."""

    def __init__(self, user_message: str, usage: str = "") -> None:
        super().__init__(user_message)
        self.usage = usage

    def full_message(self) -> str:
        return f"{self.user_message}\nUsage: {self.usage}" if self.usage else self.user_message


class TimeParseError(BotError):
    """A ``--at`` time that cannot be used: unparsable, in the future, or before the declaration."""


class TransitionError(BotError):
    """The command is illegal in the incident's current state; the message says what to do instead."""


class IncidentNotFound(BotError):
    """No incident has that id, or the channel belongs to no incident."""


class UnknownSlo(IncidentNotFound):
    """The SLO catalogue has no service of that name (a subclass so that existing handlers still answer it)."""


class PayloadError(BotError):
    """A webhook body (Alertmanager, CI/CD) that does not have the expected shape; nothing is recorded."""
