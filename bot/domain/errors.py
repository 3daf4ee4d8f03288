"""Expected failures, each carrying the sentence the user sees.

The root lives in the domain so that the pure core can raise it without importing adapters;
``bot.errors`` adds the infrastructure failures on top.

A sentence that names people keeps them as people (``bot.domain.people.Person``), not as markup:
each adapter writes them its own way (``render``: ``<@U0123ABC>`` in Slack, ``@alice`` in a terminal).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.people import Escape, Mention, Person, Said, keep_text, names_of, plain_mention, render


class BotError(Exception):
    """A failure the user can act on.

    ``user_message``: a string, or text and people in order (``(Person("U0ANNA1", "anna"), " already
    leads INC-7.")``), kept as ``parts``. The attribute ``user_message`` is the sentence with its
    people written neutrally (``@anna``, or ``@U0ANNA1`` when no name is known): safe to show
    verbatim anywhere; an adapter that mentions people its own way calls ``render``.
    """

    def __init__(self, user_message: str | Sequence[str | Person]) -> None:
        self.parts: Said = (user_message,) if isinstance(user_message, str) else tuple(user_message)
        self.names = names_of(self.parts)
        """Person -> the display name Slack sent with them, for the people named whose name is known."""
        self.user_message = self.render(plain_mention(self.names))
        super().__init__(self.user_message)

    def render(self, mention: Mention, escape: Escape = keep_text) -> str:
        """The sentence with every person written by ``mention`` and the text around them by ``escape``."""
        return render(self.parts, mention, escape)


class UsageError(BotError):
    """The command text does not parse; carries the usage of the verb it was meant for."""

    def __init__(self, user_message: str | Sequence[str | Person], usage: str = "") -> None:
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
