"""Making user text safe and short enough for Slack: mrkdwn escaping, mentions and Block Kit limits."""

from __future__ import annotations

import re
import unicodedata

from bot.domain.model import is_slack_user_id

SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
MODAL_TITLE_LIMIT = 24
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
TOPIC_LIMIT = 250
MESSAGE_TEXT_LIMIT = 40_000
TRUNCATION_NOTE = "… (truncated; the full text is on the timeline)"

_HIDDEN = {"Cc", "Cf"}


def strip_invisible(text: str) -> str:
    """Drop control and bidi-override characters that could disguise text; keep newlines and tabs."""
    if text.isprintable():  # no character of Unicode's "Other" or "Separator" classes (but the space): none to drop
        return text
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in _HIDDEN)


def slack_mention(who: str) -> str:
    """How ``who`` is written in Slack mrkdwn: ``<@U0123>`` for a user id (Slack renders the current
    display name), the plain name for anyone else (``alertmanager``, never ``<@alertmanager>``,
    which Slack shows as a broken mention)."""
    if is_slack_user_id(who):
        return f"<@{who}>"
    return who.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def person_mention(who: str) -> str:
    """A person as Slack messages name them: ``<@U0123ABC>`` for a Slack user id, ``@alice`` for a name
    given in the CLI (escaped for mrkdwn)."""
    return slack_mention(who) if is_slack_user_id(who) else "@" + slack_mention(who)


def escape(text: str) -> str:
    """Escape user text for mrkdwn so that ``<!channel>`` typed by a user pings nobody."""
    return strip_invisible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MENTION = re.compile(r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|(?i:https?|mailto):[^|<>\s]+)(?:\|[^<>]*)?>")
"""A user or channel mention (``<@U0BOB|bob>``, ``<#C0123|general>``) or a link
(``<https://grafana.example.com/d/1|the dashboard>``) as Slack escapes it in typed text."""


_SPECIAL = re.compile(r"<!(?:(here|channel|everyone)|subteam\^[A-Z0-9]+|date\^[^|<>]*)(?:\|([^<>]*))?>")
"""A broadcast (``<!here>``), a user group (``<!subteam^S0123|@oncall>``) or a date as Slack sends it in
typed text: echoed as the words it stands for (``@here``, ``@oncall``, the date's fallback), pinging nobody."""


def _special_as_words(match: re.Match[str]) -> str:
    broadcast, label = match.group(1), match.group(2)
    if broadcast is not None:
        return f"@{broadcast}"
    return label or ""


def escape_keeping_mentions(text: str) -> str:
    """Escape user text like ``escape``, but let user and channel mentions and links render as such.

    Someone who types "asked @bob to check" in a note means the mention; Slack sends it as
    ``<@U0BOB|bob>``, and a pasted URL as ``<https://x.example/a|x.example/a>``. Special mentions
    (``<!channel>``, ``<!here>``) and user groups read as their words (``@channel``, ``@oncall``) and
    ping nobody.
    """
    text = _SPECIAL.sub(_special_as_words, text)
    parts: list[str] = []
    position = 0
    for match in _MENTION.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append(strip_invisible(match.group(0)).replace("&", "&amp;"))
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


def unescape(text: str) -> str:
    """Message text as Slack stores it (``&lt;`` ``&gt;`` ``&amp;``) back to what the person typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_CUT_TOKEN = re.compile(r"(?:&[a-z]{0,4}|<[^<>\s]*)\Z")
"""A half entity (``&am``) or half control sequence (``<@U0AL``) left at the end of a cut."""


def truncate(text: str, limit: int, note: str = TRUNCATION_NOTE) -> str:
    """``text`` if it fits in ``limit`` characters, else its start followed by ``note``.

    The cut never leaves half an escape (``&am``) or half a mention (``<@U0AL``) behind.
    """
    if len(text) <= limit:
        return text
    keep = max(limit - len(note), 0)
    return _CUT_TOKEN.sub("", text[:keep]) + note[: limit - keep]


def plain(text: str, limit: int) -> str:
    """Text for plain_text fields (headers, buttons, titles): escaped, on one line, cut to fit.

    Slack treats ``&``, ``<`` and ``>`` as control characters in every text object and decodes only
    these three entities for display, so plain_text is escaped too.
    """
    return truncate(escape(text.replace("\n", " ")), limit, "…")
