"""Blameless lint: spot blameful phrasing in what people wrote, and suggest a systems-focused rewording.

The lint only reports; the user's words are never changed. It is a prompt for the review, so it
prefers a few clear patterns over clever guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One blameful phrase: where it is, the words, and what to write instead."""

    where: str
    phrase: str
    suggestion: str


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\bhuman error\b", re.I),
        "Name the condition that made the mistake easy (missing check, confusing tool, time pressure).",
    ),
    (
        re.compile(r"\b[\w@<>|.-]+'s fault\b", re.I),
        "Describe what the system allowed to happen rather than whose fault it was.",
    ),
    (
        re.compile(r"\bshould(?:n't| not)? have\b", re.I),
        "Hindsight: say what was known at the time, and what would make the better path the easy one.",
    ),
    (
        re.compile(r"\bcareless(?:ly|ness)?\b", re.I),
        "Describe the safeguard that was missing instead of judging care.",
    ),
    (
        re.compile(r"\bfailed to\b", re.I),
        'Say what happened and what would have caught it ("the rollout had no CPU check").',
    ),
)

_FAILURE_VERBS = (
    r"(?:broke|forgot|missed|failed|messed up|screwed up|caused|deleted|pushed|ignored|"
    r"didn't|did not|neglected)"
)
_KEYWORDS = ("human error", "fault", "should", "careless", "failed to", *_FAILURE_VERBS[3:-1].split("|"))
"""Words of which each pattern above needs one: an ASCII text that has none of them, in any case, has no finding."""
_ANY_KEYWORD = re.compile("|".join(re.escape(word) for word in _KEYWORDS))
"""One of ``_KEYWORDS`` in a lower-cased text (plain literals: about 2 µs for a 40-character text)."""
_SUGGEST_SUBJECT = 'Make the system or the step the subject ("the deploy pipeline allowed ..."), not a person.'


class Linter:
    """The lint for one incident: ``names`` are people's names known from it (``<@U...>`` and ``@name`` are
    always people). ``suspect`` is one search over all patterns at once, so a long timeline's innocent texts
    cost one regex scan each; ``findings`` then reports each pattern's matches in turn."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        people = sorted({n for n in names if n}, key=len, reverse=True)
        self._person = re.compile(
            r"(?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>|@[\w.-]+"
            + "".join(f"|\\b{re.escape(n)}\\b" for n in people)
            + r")"
            + r"\s+"
            + _FAILURE_VERBS
            + r"\b",
            re.I,
        )
        # Any one of the patterns matches somewhere in a text exactly when this alternation does.
        self._any = re.compile(
            "|".join(f"(?:{p.pattern})" for p, _ in _PATTERNS) + f"|(?:{self._person.pattern})", re.I
        )

    def suspect(self, text: str) -> bool:
        """Whether ``text`` has any blameful phrase (``findings`` is then not empty). The words every pattern
        needs are looked for first: most texts have none of them, and a substring search is the cheap one."""
        # Outside ASCII, re.I also matches U+017F (long s) to "s", U+212A (Kelvin) to "k"...: search it all.
        if text.isascii() and _ANY_KEYWORD.search(text.lower()) is None:
            return False
        return self._any.search(text) is not None

    def findings(self, where: str, text: str) -> list[Finding]:
        """The blameful phrases of ``text``, pattern by pattern, then the people named before a failure verb."""
        found: list[Finding] = []
        for pattern, suggestion in _PATTERNS:
            found += [Finding(where, m.group(0), suggestion) for m in pattern.finditer(text)]
        found += [Finding(where, m.group(0), _SUGGEST_SUBJECT) for m in self._person.finditer(text)]
        return found


def lint(texts: Iterable[tuple[str, str]], names: Iterable[str] = ()) -> list[Finding]:
    """Findings for each ``(where, text)``; ``names`` are people's names known from the incident."""
    linter = Linter(names)
    findings: list[Finding] = []
    for where, text in texts:
        if linter.suspect(text):
            findings += linter.findings(where, text)
    return findings
