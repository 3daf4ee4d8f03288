"""Escaping text for the Markdown postmortem draft, so that what people typed can never change its outline.

The outline is the draft's block structure: headings, lists, tables, code blocks and fences, block
quotes, thematic breaks, raw HTML. The template writes it; every value it prints is inline text
inside one of its lines. ``escape_text`` makes any text safe as such:

* it is one line: line breaks and runs of spaces become one space (a line break could end a list
  item or heading and start a new block);
* its start cannot open a block (``# ``, ``- ``, ``1. ``, ``>``, ``===``, a fence, a table row...),
  nor complete one with the template's own characters around it (``**`` + ``**`` + ``**``);
* its end cannot close a heading (``#``) or make a hard line break (a trailing backslash);
* nothing in it can start raw HTML or an autolink (``<div>``, ``<!--``, ``<http://...>``), an entity
  (``&lt;`` stays the five characters typed) or an image (``![x](http://...)`` is a ``!`` and a link);
* every line or paragraph separator (CR, LF, VT, FF, NEL, U+2028, U+2029) is a space.

* inline formatting cannot form either: backslashes, ``*``, ``_``, backticks, ``~``, ``[`` and ``]`` are
  escaped wherever they stand, so ``*bold*``, ``[text](https://x)``, ``C:\\Temp\\*`` and ``\\d+`` read as typed.

``table_cell`` also escapes pipes, which would split a table cell.

Rules from CommonMark 0.31 (https://spec.commonmark.org/0.31.2/) and the GFM table extension
(https://github.github.com/gfm/#tables-extension-); the escapes are backslash escapes of ASCII
punctuation, which render as the character itself.
"""

from __future__ import annotations

import re

# Line breaks (CommonMark knows CR, LF, CRLF), the other line and paragraph separators (VT, FF, NEL,
# U+2028, U+2029) and runs of spaces and tabs: each run becomes one space, so words stay apart.
_WHITESPACE_RUN = re.compile("[ \t\r\n\x0b\x0c\x85\u2028\u2029]+")
# What people type reads as typed: a backslash, emphasis, code spans, strikethrough and link or image brackets
# are escaped wherever they stand (a hidden link target "[click here](https://...)" in a page leads trust, the
# glob "/var/log/*.gz and /tmp/*.tmp" read as emphasis, the backslashes of "C:\\Temp" or "\\d+" eaten). Since
# every typed backslash is doubled, any run of backslashes before another character is even: none of them
# escapes what follows, and the text cannot end in a lone backslash (a hard line break). An image ("![") cannot
# form either, its "[" being escaped.
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]~])")
# "<" followed by a letter, "/", "!" or "?" may begin raw HTML or an autolink; "&" would start an entity
# (``&lt;``, ``&#10;``).
_HTML_OR_ENTITY_START = re.compile(r"<(?=[A-Za-z/!?])|&")
# What may open a block at the start of a line (after up to 3 spaces, which are stripped first). "*", "_", "`",
# "~" and "[" need no place here: they are escaped wherever they stand.
_ALWAYS_ESCAPED_FIRST = frozenset("#>+-=|")
_ORDERED_MARKER = re.compile(r"^([0-9]{1,9})([.)])(?=[ \t]|$)")
_DELIMITER_ROW = re.compile(r"^:[-:| \t]*\Z")
_CLOSING_HASHES = re.compile(r"(^|[ \t])(#+)\Z")


class Markdown(str):
    """Text that is already safe Markdown: printed by the template as it is, not escaped again."""

    __slots__ = ()


def escape_text(value: object) -> Markdown:
    """``value`` (any object, shown with ``str``) as one line of inline Markdown that cannot change the outline.

    Examples: ``"# Status\\n- db down"`` -> ``"\\# Status - db down"``; ``"1. first"`` -> ``"1\\. first"``;
    ``"<div>"`` -> ``"\\<div>"``. Already escaped values (``Markdown``) are returned unchanged.
    """
    if isinstance(value, Markdown):
        return value
    text = _inline(value)
    if not text:
        return Markdown("")
    text = _escape_start(text)
    if text.endswith("#"):
        text = _CLOSING_HASHES.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text, count=1)
    return Markdown(text)


def _inline(value: object) -> str:
    """One line, no raw HTML, entity or inline markup: what every context needs."""
    text = _INLINE_MARKUP.sub(r"\\\1", _WHITESPACE_RUN.sub(" ", str(value)).strip(" "))
    return _HTML_OR_ENTITY_START.sub(lambda m: "\\" + m.group(0), text)


def _escape_start(text: str) -> str:
    first = text[0]
    if first in _ALWAYS_ESCAPED_FIRST:
        return "\\" + text
    if first.isalpha():
        return text
    ordered = _ORDERED_MARKER.match(text)
    if ordered:
        return f"{ordered.group(1)}\\{ordered.group(2)}{text[ordered.end() :]}"
    if _DELIMITER_ROW.match(text):
        return "\\" + text
    return text


def table_cell(value: object) -> Markdown:
    """``value`` as the content of one table cell: one line, no raw HTML, every pipe escaped.

    A cell's content is inline only, so its start needs no escaping (``-`` stays ``-``). A backslash
    typed right before a pipe is already doubled (``_inline``), so the pipe's own escape still applies.
    """
    return Markdown(_inline(value).replace("|", "\\|"))
