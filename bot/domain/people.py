"""People in what the bot says: the domain names people, each adapter writes them in its medium.

A person is recorded as a plain string: a Slack user id (``U0123ABC``), a name given in the CLI
(``alice`` from ``@alice``) or an actor that is no user (``alertmanager``, ``cli``). The display name
Slack sent along with a mention (``<@U0123ABC|alice>``) is kept beside the id (entries' data
``names``; ``Person.name`` here). No markup is chosen here: the Slack adapter writes ``<@U0123ABC>``
(``bot.slack.text.person_mention``), a terminal or a Markdown file ``@alice`` or ``@U0123ABC``
(``plain_mention``). Sentences that name people take the adapter's ``Mention``; a refusal
(``bot.domain.errors.BotError``) keeps its people as ``Person`` parts until an adapter renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Mention = Callable[[str], str]
"""How an adapter writes a recorded person (id or name) in its medium."""
Escape = Callable[[str], str]
"""How an adapter escapes text around the people (mrkdwn for Slack, nothing for a terminal)."""


@dataclass(frozen=True)
class Person:
    """Someone named in a message: ``who`` as recorded (Slack user id or CLI name), ``name`` the
    display name Slack sent with the mention, when it sent one."""

    who: str
    name: str | None = None


Said = tuple[str | Person, ...]
"""A message as text and people, in order: ``(Person("U0ANNA1", "anna"), " already leads INC-7.")``."""


def keep_text(text: str) -> str:
    """The identity escape: for plain-text destinations (terminals, Markdown files)."""
    return text


def plain_mention(names: Mapping[str, str]) -> Mention:
    """``@alice`` when the name is known, ``@U0123`` otherwise: for Markdown and terminals."""
    return lambda who: f"@{names.get(who, who)}"


def neutral_mention(who: str) -> str:
    """The default where no adapter chose: ``@`` and the person as recorded (``@U0123ABC``, ``@alice``)."""
    return f"@{who}"


def names_of(parts: Iterable[str | Person]) -> dict[str, str]:
    """Recorded person -> display name, for the people of ``parts`` whose name is known."""
    return {p.who: p.name for p in parts if isinstance(p, Person) and p.name}


def render(parts: Iterable[str | Person], mention: Mention, escape: Escape = keep_text) -> str:
    """``parts`` as one string: text through ``escape``, people through ``mention``."""
    return "".join(escape(part) if isinstance(part, str) else mention(part.who) for part in parts)
