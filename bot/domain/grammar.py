"""The ``/incident`` command grammar: text in, a ParsedCommand or a UsageError out, nothing else.

The same parser serves Slack and the CLI. Grammar (any command may start with ``INC-n``; any
state-changing command may end with ``--at WHEN``)::

    declare [--private] [sev1|sev2|sev3|sev4] <title>
    lead @user
    assemble @user[:role] [@user[:role] ...]
    hypothesis <text> | hypothesis reject <n> [reason] | hypothesis confirm <n> [note]
    mitigate <text> | rollback <text> | monitor <text> | resolve [summary] | reopen [reason]
    severity <sevN> | note <text>
    followup <text> [@owner] [--due DATE] | followup done <n> [note] | followup reopen <n> [reason]
    followup owner <n> @user | followup due <n> DATE | followup drop <n> <reason> | followup export <n>
    followups

Options: ``--at WHEN`` on any state-changing command (every follow-up verb included; not ``strike`` nor
``postmortem status|owner|review``);
``--due DATE`` only on a new follow-up (``followup <text>``): any other verb, ``followup done|reopen|owner|
drop|export <n>`` and ``followup due <n>`` included, refuses it naming the one that takes it. Either option may
be written ``--AT``, ``--at=WHEN`` or with a phone's dash (``\u2014at``, ``\u2013due``); ``-at``/``-due`` (one
hyphen) and a dash, a space, then the option before its value (``\u2013 due tomorrow``, ``- at 13:42``) are
refused with the right spelling rather than kept as text (``\u2013 due to a bug`` is text: no date follows).

``followup done|reopen|owner|due|drop|export`` is a change to follow-up ``<n>`` only when a number follows
the word (``followup drop the legacy cache`` adds a follow-up); a word that tries to be a number and is not
a whole one of at most 6 digits (``-1``, ``2.0``, ``99999999999999999999``) is refused; DATE is one of
``bot.domain.timeparse.DUE_FORMS``.

In Slack a person is a mention (``<@U0123|alice>`` as Slack sends it); with ``names=True`` (the
CLI) ``@alice`` names a person too, recorded as ``alice`` (``@U0123ABC`` is that Slack user).
    service <name> | impact <N%>
    correct <entry#> [text] [--at WHEN] | strike <entry#> <reason>
    status | timeline | postmortem [template] | postmortem publish | list | slo [service] | help
    postmortem status draft|in-review|published | postmortem owner @user
    postmortem review <when> [for <length>] [@attendee|@group ...]

``postmortem status|owner|review|publish`` are sub-commands (never template names); a review's WHEN is read by
``bot.domain.timeparse.parse_review_time`` (the clock forms ``--at`` takes, as a time to come), its length is
``for 60m`` / ``for 1h30m`` (15 min to 8 h, default 60 min), its attendees Slack mentions or user groups
(``@name`` in the CLI) after it, in either order.

``statuspage open <impact> <components> <text>`` (impact none|minor|major|critical, any case; components ``service``
or ``-``, or a comma list of component ids and service names without spaces), ``statuspage update
[investigating|identified|monitoring] <text>``, ``statuspage resolve [text]``: the text is what the public status
page shows (``bot.domain.statuspage``).

``correct`` and ``strike`` name a timeline entry by the number ``timeline`` shows (``#5`` or ``5``); a
correction gives new text, a new time (``--at``: the time the entry should have), or both; ``strike`` takes
no ``--at`` (see ``bot.domain.corrections``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable

from bot.domain.commands import (
    Action,
    AddFollowup,
    AddHypothesis,
    AddNote,
    Assemble,
    Assignee,
    AssignFollowup,
    ChangeSeverity,
    CompleteFollowup,
    ConfirmHypothesis,
    CorrectEntry,
    Declare,
    DropFollowup,
    ExportFollowup,
    ExportPostmortem,
    GroupRef,
    ListFollowups,
    ListIncidents,
    Mitigate,
    Monitor,
    ParsedCommand,
    PostmortemChange,
    PostUpdate,
    PublishPostmortem,
    RejectHypothesis,
    Reopen,
    ReopenFollowup,
    RescheduleFollowup,
    Resolve,
    ReviewMove,
    Rollback,
    ScheduleReview,
    SetImpact,
    SetLead,
    SetPostmortemOwner,
    SetPostmortemStatus,
    SetService,
    ShowHelp,
    ShowSlo,
    ShowStatus,
    ShowTimeline,
    StatuspageOpen,
    StatuspageResolve,
    StatuspageUpdate,
    StrikeEntry,
    UserRef,
)
from bot.domain.errors import TimeParseError, UsageError
from bot.domain.model import (
    DEFAULT_SEVERITY,
    SEVERITY_SPELLINGS,
    PostmortemStatus,
    Severity,
    is_slack_user_id,
    looks_like_severity,
    parse_incident_id,
)
from bot.domain.statuspage import IMPACTS as STATUSPAGE_IMPACTS
from bot.domain.statuspage import OPEN_STATUSES as STATUSPAGE_STATUSES
from bot.domain.timeparse import (
    UPDATE_INTERVAL_FORMS,
    DueDate,
    parse_due,
    parse_review_length,
    parse_update_interval,
)

DEFAULT_REVIEW_MINUTES = 60
"""A review's length when none is given (``for 90m``)."""

MAX_TEXT_LENGTH = 20_000
"""Longest free text kept (titles, notes, hypotheses...); the database stores it whole."""

MAX_TITLE_LENGTH = 500

USAGE: dict[str, str] = {
    "declare": "declare [--private] [sev1|sev2|sev3|sev4] <title> (severity also as SEV-1, sev 1, S1, P1...)",
    "lead": "lead @user",
    "assemble": "assemble @user[:role] [@user[:role] ...]",
    "hypothesis": "hypothesis <text> | hypothesis reject <n> [reason] | hypothesis confirm <n> [note]",
    "mitigate": "mitigate <text>",
    "rollback": "rollback <text>",
    "monitor": "monitor <what you watch>",
    "resolve": "resolve [summary]",
    "reopen": "reopen [reason]",
    "severity": "severity <sev1|sev2|sev3|sev4> (or SEV-1, sev 1, S1, P1...)",
    "note": "note <text>",
    "update": "update <what we know, what we are doing> [--next 30m] (a status update for stakeholders)",
    "followup": (
        "followup <text> [@owner] [--due DATE] | followup done <n> [note] | followup reopen <n> [reason] | "
        "followup owner <n> @user | followup due <n> DATE | followup drop <n> <reason> | followup export <n>"
    ),
    "followups": "followups",
    "service": "service <name>",
    "impact": "impact <N%> (share of requests failing, 0% when it ends)",
    "correct": "correct <entry#> [new text] [--at WHEN] (the entry numbers are in `timeline`)",
    "strike": "strike <entry#> <reason> (drops a wrong note, pinned message or impact from the views)",
    "status": "status",
    "timeline": "timeline",
    "postmortem": (
        "postmortem [template] | postmortem publish | postmortem status draft|in-review|published | "
        "postmortem owner @user | postmortem review <when> [for 60m] [@attendees ...]"
    ),
    "statuspage": (
        "statuspage open <none|minor|major|critical> <service|component,...> <public text> | "
        "statuspage update [investigating|identified|monitoring] <public text> | statuspage resolve [public text]"
    ),
    "list": "list",
    "slo": "slo [service]",
    "help": "help [command]",
}

HELP_FOOTER = (
    "Start any command with an incident id (`INC-7 note ...`) to act outside its channel. "
    "End a change with `--at WHEN` to backdate it (`--at 13:42`, `--at 15m ago`, `--at 2026-11-22T13:42Z`)."
)

# A user id is at most 64 characters: it is stored in VARCHAR(64) columns (lead, participants, follow-up owner).
_USER = re.compile(r"^<@(?P<id>[UW][A-Z0-9]{1,63})(?:\|(?P<name>[^>]*))?>\Z")
_GROUP = re.compile(r"^<!subteam\^(?P<id>S[A-Z0-9]+)(?:\|(?P<handle>[^>]*))?>\Z")
_ASSIGNEE = re.compile(
    r"^(?P<who><[@!][^>]+>|@[A-Za-z0-9][A-Za-z0-9._-]{0,63})(?::(?P<role>[A-Za-z0-9][\w./+-]{0,39}))?\Z"
)
_CLI_NAME = re.compile(r"^@?(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})\Z", re.ASCII)
BROADCAST_NAMES = frozenset({"here", "channel", "everyone"})
"""``@here``, ``@channel``, ``@everyone`` address a whole channel, never one person."""
_HYPOTHESIS_NUMBER = re.compile(r"^#?(\d{1,6})\Z")
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
"""Unicode's other dashes and hyphens (hyphen, non-breaking hyphen, figure dash, en and em dash, horizontal
bar, minus sign, small and full-width hyphen-minus): a phone or a word processor turns ``--`` into one."""
_FLAG_DASH = rf"(?:[-{_DASHES}]{{2,}}|[{_DASHES}])"
"""How an option's dashes may be typed: two or more hyphens or dashes (``--``, ``---``, ``\u2010\u2010``), or
one non-ASCII dash (``\u2014``); a single ASCII hyphen is the near miss refused with a hint."""
# `--due` in any case, `--due=DATE`, `\u2014due`/`\u2013due` (phone dashes); a word such as `--duet` is text.
_DUE_OPTION = re.compile(rf"(?:^|(?<=\s))(?P<flag>{_FLAG_DASH}due)(?=\s|=|$)", re.IGNORECASE)
# A word that tries to be a follow-up number but is not one: a sign, a decimal point or comma, or more
# digits than a number takes (`-1`, `+2`, `2.0`, `.5`, `1,5`, `99999999999999999999`).
_NUMBER_ATTEMPT = re.compile(r"^#?[+\-\u2212]?(?:\d+(?:[.,]\d*)?|[.,]\d+)\Z")
FOLLOWUP_CHANGES = ("done", "reopen", "owner", "due", "drop", "export")
"""The words after ``followup`` that change follow-up ``<n>`` when a number follows them."""
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
_PERCENT = re.compile(r"^(?P<value>\d{1,3}(?:\.\d{1,4})?)\s*%?\Z")
_TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}\Z")
# `--at` in any case, `--at=WHEN`, and `\u2014at`/`\u2013at` (phones turn `--` into an em or en dash);
# `-at` is caught to be refused. A word such as `--atlas` is text.
_AT_OPTION = re.compile(rf"(?:^|(?<=\s))(?P<flag>(?:{_FLAG_DASH}|-)at)(?=\s|=|$)", re.IGNORECASE)
# Options written almost right, refused with a hint rather than kept as text: `-due` (one hyphen, as `-at`),
# and a dash, a space, then `due`/`at` (`\u2013 due tomorrow`, `- at 13:42`): that last form is refused only when
# what follows reads as the option's value (`\u2013 due to a bug` is text).
# `--next 30m` in any case, `--next=30m`, `\u2014next 30m`; `-next` is caught to be refused. `--nextday` is text.
_NEXT_OPTION = re.compile(rf"(?:^|(?<=\s))(?P<flag>(?:{_FLAG_DASH}|-)next)(?=\s|=|$)", re.IGNORECASE)
# `--next-30m`, `--next30m`: the option glued to its delay, refused with the fix.
_GLUED_NEXT = re.compile(rf"(?:^|(?<=\s))(?:{_FLAG_DASH}|-)next-?(?P<delay>\d\S*)", re.IGNORECASE)
# A dash, a space, then `next` (`\u2014 next 30m`, `-- next 30m`): refused when a delay follows.
_SPACED_NEXT = re.compile(rf"(?:^|(?<=\s))(?:{_FLAG_DASH}|-)\s+next(?=\s|=)", re.IGNORECASE)
_SINGLE_DASH_DUE = re.compile(r"(?:^|(?<=\s))-due(?=\s|=|$)", re.IGNORECASE)
_SPACED_OPTION = re.compile(rf"(?:^|(?<=\s))(?P<dash>{_FLAG_DASH}|-)\s+(?P<name>due|at)(?=\s|=)", re.IGNORECASE)
_ANY_OPTION = re.compile(rf"(?:^|(?<=\s))(?:{_FLAG_DASH}|-)\s*(?:due|at)(?=\s|=|$)", re.IGNORECASE)
# The start of a WHEN (`bot.domain.timeparse.parse_when`): a clock (`13:42`), a date (`2026-11-22...`),
# `now`, or a relative `15m ago` / `2 hours ago`.
_LOOKS_LIKE_WHEN = re.compile(
    r"^(?:now|\d{1,2}:\d{2}(?:\s.*)?|\d{4}-\d{2}-\d{2}(?:[T\s].*)?|\d+\s*[a-z]+\s+ago)\Z", re.IGNORECASE
)
NEW_FOLLOWUP_DUE = "`followup <text> [@owner] --due DATE`"
"""The one command that takes ``--due``, as refusals name it."""
_TITLE_SEPARATORS = frozenset("-:,;|\u2013\u2014")
# Cs: a lone surrogate (a non-UTF-8 byte in CLI argv, "\ud800" in JSON) has no UTF-8 form: no database stores it.
_BIDI_AND_CONTROL = {"Cc", "Cf", "Cs"}
_KEPT_CONTROLS = {"\n", "\t"} | {"\u200c", "\u200d"} | {chr(c) for c in range(0xE0020, 0xE0080)}
"""Kept although control (Cc) or format (Cf) characters: newline and tab; the zero-width non-joiner and joiner,
which Persian and Indic words and emoji sequences (👩‍🚒, 🏳️‍🌈) need, where they join two characters; the tag
characters of subdivision flags (🏴 of England), right after the flag. The bidi overrides and isolates, and every
other format character, go (Unicode 15, chapter 23)."""
# Line and paragraph separators other than LF (CR alone, VT, FF, NEL, U+2028, U+2029): each becomes a
# space, so the words either side stay apart ("x\v# vt" is "x # vt", never "x# vt"). CRLF is one LF.
_SEPARATORS_AS_SPACE = str.maketrans(dict.fromkeys("\r\x0b\x0c\x85\u2028\u2029", " "))


def help_text(verb: str | None = None) -> str:
    """The usage of one verb, or of all of them."""
    if verb and verb in USAGE:
        return f"Usage: `/incident {USAGE[verb]}`"
    lines = [f"`/incident {usage}`" for usage in USAGE.values()]
    return "\n".join(["*Commands*", *lines, HELP_FOOTER])


def clean_text(text: str) -> str:
    """Drop control, bidi-override, other format and lone surrogate characters (keeping newlines, tabs, the
    zero-width joiners and emoji tags: ``_KEPT_CONTROLS``) and outer blanks.

    Line separators other than LF are not dropped but become a space (CRLF becomes LF).
    """
    text = text.replace("\r\n", "\n").translate(_SEPARATORS_AS_SPACE)
    kept = "".join(ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in _BIDI_AND_CONTROL)
    return _STRAY_JOINERS.sub(_joiner_in_place, _STRAY_TAGS.sub(_tags_in_place, kept)).strip()


_STRAY_JOINERS = re.compile("[\u200c\u200d]+")
_STRAY_TAGS = re.compile("[\U000e0020-\U000e007f]+")


def _joiner_in_place(match: re.Match[str]) -> str:
    """A run of joiners stays only between two characters that are not blank: a joiner at either end of a word,
    or alone, joins nothing (``declare \u200c`` has no title)."""
    text, start, end = match.string, match.start(), match.end()
    joins = start > 0 and end < len(text) and not text[start - 1].isspace() and not text[end].isspace()
    return match.group() if joins else ""


def _tags_in_place(match: re.Match[str]) -> str:
    """A run of tag characters stays only right after a symbol (an emoji tag sequence, Unicode TR51 ED-14a, such as
    🏴 then the tags of "gbeng"): elsewhere they are invisible text."""
    start = match.start()
    return match.group() if start > 0 and unicodedata.category(match.string[start - 1]) == "So" else ""


_PRIVATE_OPTION = re.compile(rf"(?<!\S){_FLAG_DASH}private(?!\S)", re.IGNORECASE)
"""``--private`` as a word of its own anywhere in ``declare``, its dashes as ``--at``'s (``\u2014private`` as a phone
writes it, ``---private``, Unicode hyphens, a minus sign, full-width hyphens)."""
_PRIVATE_ATTEMPT = re.compile(rf"(?:^|(?<=[\s(\[]))(?:{_FLAG_DASH}|-)priv\w*\S*", re.IGNORECASE)
"""Anything else that tries to be ``--private`` (``-private``, ``--privat``, ``--priv``, ``--private,``,
``--private=yes``, ``(--private)``): refused, since a typo would announce the title meant to be hidden."""


def is_bare_declare(text: str) -> bool:
    """True for empty text, ``declare`` or ``declare <severity>`` alone (``--private`` too): Slack opens the
    declare modal then.

    ``declare sev5`` is not bare: it goes to the parser, which refuses the severity.
    """
    first, rest = _split_word(_PRIVATE_OPTION.sub(" ", clean_text(text)))
    if not first:
        return True
    if first.lower() != "declare":
        return False
    try:
        _, title = split_severity(rest)
    except UsageError:
        return False
    return not title


def bare_declare_severity(text: str) -> Severity | None:
    """The severity of a bare ``declare <severity>`` (to preselect in the modal), else None."""
    if not is_bare_declare(text):
        return None
    return split_severity(_split_word(_PRIVATE_OPTION.sub(" ", clean_text(text)))[1])[0]


def bare_declare_private(text: str) -> bool:
    """True for a bare ``declare --private [severity]``: the modal opens with its private box ticked."""
    return is_bare_declare(text) and _PRIVATE_OPTION.search(clean_text(text)) is not None


def split_severity(text: str) -> tuple[Severity | None, str]:
    """A leading severity in any spelling (``SEV-1``, ``sev 1``, ``[P1]``, ``SEV1,``...) and the text after it.

    Returns ``(None, text)`` when the first word does not look like a severity (``P99 latency``,
    ``P2P network down``). Raises UsageError, listing the valid severities, when it looks like one
    but is not (``sev0``, ``P0``, ``sev5``, ``sev1x``): such a word is never left in the title. A
    lone separator after the severity (``SEV1 - CDN down``, ``sev1 : x``) is dropped too.
    """
    first, remainder = _split_word(text)
    second, after = _split_word(remainder)
    if _is_sev_prefix(first) and _is_number_word(second):
        word, rest = f"{first} {second}", after
    else:
        word, rest = first, remainder
    if not word or not looks_like_severity(word):
        return None, text.strip()
    severity = Severity.parse(word)
    if severity is None:
        raise UsageError(f"`{word[:20]}` is not a severity; use {SEVERITY_SPELLINGS}.", USAGE["declare"])
    separator, after_separator = _split_word(rest)
    if separator and all(ch in _TITLE_SEPARATORS for ch in separator):
        rest = after_separator
    return severity, rest


def _is_sev_prefix(word: str) -> bool:
    """``sev``, ``Severity``, ``[sev``: the first half of a two-word severity such as ``sev 1``."""
    return unicodedata.normalize("NFKC", word).lstrip("[(").lower() in ("sev", "severity")


def _is_number_word(word: str) -> bool:
    """``1``, ``01``, ``1:``, ``2]``, full-width digits: the second half of ``sev 1``.

    ``3x`` is not, so ``Sev 3x slower checkout`` is a title.
    """
    digits = unicodedata.normalize("NFKC", word).rstrip(",:;-").rstrip("])")
    return digits.isascii() and digits.isdigit()


def parse_command(text: str, *, names: bool = False) -> ParsedCommand:
    """Parse what the user typed after ``/incident``; raise UsageError with the verb's usage if it is wrong.

    ``names=True`` (the CLI, where nobody can type a Slack mention) also accepts ``@alice`` wherever
    a person is named: ``lead``, ``assemble``, ``followup``'s owner.
    """
    cleaned = clean_text(text)
    if not cleaned:
        raise UsageError("Tell me what to do.", usage=USAGE["help"])
    _refuse_misspelled_options(cleaned)
    cleaned, next_update = _split_next_option(cleaned)
    body, at = _split_at_option(cleaned)
    first, rest = _split_word(body)
    incident_number = parse_incident_id(first)
    if incident_number is not None:
        first, rest = _split_word(rest)
        if not first:
            raise UsageError(f"What should I do with INC-{incident_number}?", usage=USAGE["help"])
    verb = first.lower()
    if verb != "followup" and verb in USAGE and _DUE_OPTION.search(rest):
        raise UsageError(f"`--due` only applies to a new follow-up ({NEW_FOLLOWUP_DUE}), not `{verb}`.", USAGE[verb])
    if next_update is not None and verb != "update":
        raise UsageError(
            f"`--next` only applies to a status update (`update <text> --next 30m`), not `{verb[:20]}`.",
            USAGE.get(verb, USAGE["update"]),
        )
    people_parser = _PEOPLE_PARSERS.get(verb)
    parser = _PARSERS.get(verb)
    if verb == "update":
        action: Action = _parse_update(rest, next_update)
    elif people_parser is not None:
        action = people_parser(rest, names)
    elif parser is not None:
        action = parser(rest)
    else:
        raise _unknown_verb(first)
    command = ParsedCommand(action=action, incident_number=incident_number, at=at)
    _check_options(verb, command)
    return command


def _check_options(verb: str, command: ParsedCommand) -> None:
    if verb == "strike" and command.at is not None:
        raise UsageError(
            "`strike` takes no `--at`: it is recorded when you strike. To move an entry, `correct <entry#> --at WHEN`.",
            USAGE["strike"],
        )
    action = command.action
    if isinstance(action, ReviewMove) and command.at is not None:
        # The review's state is the latest of its entries; a backdated one would never be the latest.
        raise UsageError(
            f"`{action.verb}` takes no `--at`: the postmortem's review is recorded as it happens.",
            USAGE["postmortem"],
        )
    if isinstance(action, StatuspageOpen | StatuspageUpdate | StatuspageResolve) and command.at is not None:
        # Published as it happens: the status page's state is the fold of its entries in recording order.
        raise UsageError(
            "`statuspage` takes no `--at`: what customers read is published when you type it (a backdated "
            "`statuspage` command would still reach the status page now).",
            USAGE["statuspage"],
        )
    if isinstance(action, CorrectEntry) and not action.text and command.at is None:
        raise UsageError(
            f"`correct {action.number}` needs the new text, a new time (`--at WHEN`), or both, "
            f"e.g. `correct {action.number} --at 13:48`.",
            USAGE["correct"],
        )
    if command.at is not None and not command.changes_state:
        raise UsageError(f"`--at` only applies to commands that change an incident, not `{verb}`.", USAGE[verb])
    if command.incident_number is not None and verb in ("declare", "list", "slo", "help"):
        raise UsageError(f"`{verb}` does not take an incident id.", USAGE[verb])


def _unknown_verb(word: str) -> UsageError:
    shown = word[:40]
    close = difflib.get_close_matches(word.lower(), list(USAGE), n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return UsageError(f"I don't know the command `{shown}`.{hint}", usage=" | ".join(USAGE))


def _refuse_misspelled_options(text: str) -> None:
    """Raise UsageError for an option written almost right, which would otherwise be kept as text: ``-due``
    (did you mean ``--due``), and a dash with a space before ``due`` or ``at`` (``\u2013 due tomorrow``, ``- at
    13:42``) when what follows is a due date (``bot.domain.timeparse.parse_due``, an owner after it
    allowed) or starts like a time. ``-at`` is refused by ``_split_at_option``."""
    if _SINGLE_DASH_DUE.search(text):
        raise UsageError("`-due` is not an option: did you mean `--due`?", USAGE["followup"])
    for spaced in _SPACED_OPTION.finditer(text):
        after = text[spaced.end() :].removeprefix("=")
        following = _ANY_OPTION.search(after)
        value = (after[: following.start()] if following else after).strip()
        name = spaced.group("name").lower()
        if not (_reads_as_due(value) if name == "due" else bool(_LOOKS_LIKE_WHEN.match(value))):
            continue
        typed = f"{text[spaced.start() : spaced.end()]} {value}"[:60]
        raise UsageError(
            f"`{typed}` reads like the option `--{name}`: write `--{name} {value[:40]}` (two hyphens, no space), "
            f"or leave out the dash to keep it as text.",
            USAGE["followup"] if name == "due" else "... --at WHEN",
        )


def _reads_as_due(value: str) -> bool:
    """True when ``value`` is a due date, alone or followed by an owner (``tomorrow <@U0BOB|bob>``)."""
    candidates = [value]
    words = value.rsplit(None, 1)
    if len(words) == 2 and (parse_user(words[1]) is not None or words[1].startswith("@")):
        candidates.append(words[0])
    for candidate in candidates:
        try:
            parse_due(candidate)
        except TimeParseError:
            continue
        return True
    return False


def _split_at_option(text: str) -> tuple[str, str | None]:
    """``note x --at 13:42`` -> ``("note x", "13:42")``; also ``--AT``, ``--at=13:42``, ``—at 13:42``.

    Raises UsageError for ``-at`` (did you mean ``--at``), for a second ``--at`` and for ``--at``
    without a time: nothing written as an option is silently kept as text.
    """
    flags = list(_AT_OPTION.finditer(text))
    if not flags:
        return text, None
    for flag in flags:
        if flag.group("flag").lower() == "-at":
            raise UsageError("`-at` is not an option: did you mean `--at`?", "... --at WHEN")
    if len(flags) > 1:
        ends = [f.start() for f in flags[1:]] + [len(text)]
        typed = ", ".join(f"`{text[f.start() : end].strip()[:40]}`" for f, end in zip(flags, ends, strict=True))
        raise UsageError(f"`--at` is given {len(flags)} times ({typed}); give one time.", "... --at WHEN")
    flag = flags[0]
    when = text[flag.end() :].removeprefix("=").strip()
    body = text[: flag.start()].strip()
    due = _DUE_OPTION.search(when)
    if due is not None:  # `followup x --at 13:42 --due +7d`: the due date is the follow-up's, not the time's
        body, when = f"{body} {when[due.start() :]}", when[: due.start()].strip()
    if not when:
        raise UsageError("`--at` needs a time, for example `--at 13:42` or `--at 15m ago`.", "... --at WHEN")
    return body, when


def _split_next_option(text: str) -> tuple[str, str | None]:
    """``update x --next 30m`` -> ``("update x", "30m")``; the value runs to the end or to a ``--at``
    after it (``update x --next 30m --at 13:42``). Raises UsageError for ``-next``, a second ``--next``,
    ``--next`` without a value, a delay given before the text (``update --next 30m DB failover``: it goes
    at the end), and a dash, a space, then ``next`` and a delay (``\u2014 next 30m``: the option written almost
    right). One non-ASCII dash before ``next`` followed by words that are no delay is text (``rolled back
    \u2014next we watch the error rate``), as a phone's em dash in a sentence."""
    glued = _GLUED_NEXT.search(text)
    if glued is not None and parse_update_interval(glued.group("delay")) is not None:
        raise UsageError(
            f"`{glued.group(0)[:30]}` reads like the option `--next`: write `--next {glued.group('delay')}` "
            "(a space before the delay).",
            USAGE["update"],
        )
    spaced = _SPACED_NEXT.search(text)
    spaced_value = _next_value(text[spaced.end() :]) if spaced is not None else ""
    if spaced is not None and parse_update_interval(spaced_value) is not None:
        typed = text[spaced.start() :].strip()[:40]
        raise UsageError(
            f"`{typed}` reads like the option `--next`: write `--next {spaced_value}` "
            "(two hyphens, no space), or leave out the dash to keep it as text.",
            USAGE["update"],
        )
    flags = list(_NEXT_OPTION.finditer(text))
    if not flags:
        return text, None
    if any(flag.group("flag").lower() == "-next" for flag in flags):
        raise UsageError("`-next` is not an option: did you mean `--next`?", USAGE["update"])
    if len(flags) > 1:
        raise UsageError(f"`--next` is given {len(flags)} times; give one delay.", USAGE["update"])
    flag = flags[0]
    after = text[flag.end() :]
    value = _next_value(after)
    at = _AT_OPTION.search(after)
    rest = f"{text[: flag.start()].strip()} {after[at.start() :] if at else ''}".strip()
    if not value:
        raise UsageError(f"`--next` needs a delay. {UPDATE_INTERVAL_FORMS}", USAGE["update"])
    if parse_update_interval(value) is None:
        one_dash = len(flag.group("flag")) == len("next") + 1 and not flag.group("flag").startswith("-")
        if one_dash and not after.startswith("="):
            return text, None  # `—next we watch ...`: a sentence, not the option
        words = value.split()
        for cut in range(min(len(words) - 1, 4), 0, -1):
            delay = " ".join(words[:cut])
            if parse_update_interval(delay) is not None:
                raise UsageError(
                    f"Give the delay at the end: `update {' '.join(words[cut:])[:40]} --next {delay}`.",
                    USAGE["update"],
                )
    return rest, value


def _next_value(after: str) -> str:
    """The value of a ``--next`` whose text after the flag is ``after``: up to a ``--at`` or the end."""
    after = after.removeprefix("=")
    at = _AT_OPTION.search(after)
    return (after[: at.start()] if at else after).strip()


def _parse_update(rest: str, next_update: str | None) -> PostUpdate:
    text = _require_text("update", rest, "what we know and what we are doing")
    if next_update is None:
        return PostUpdate(text)
    return PostUpdate(text, _delay(next_update, f"--next {next_update[:30]}"))


def _delay(value: str, shown: str) -> int:
    """The minutes of a next update's delay ``value`` (``parse_update_interval``); UsageError naming it as
    ``shown`` (what the person typed) with the accepted forms when it is not one."""
    minutes = parse_update_interval(value)
    if minutes is None:
        raise UsageError(f"`{shown}` is not a delay. {UPDATE_INTERVAL_FORMS}", USAGE["update"])
    return minutes


UPDATE_NEXT_CHOICES = (15, 30, 60, 120, 240)
"""The delays (minutes) the update form offers for the next update, besides none."""


def update_from_form(status: str, known: str, next_steps: str, next_minutes: str) -> PostUpdate:
    """The update the status message's form describes: its text is the filled-in fields, one per line
    (``Status: ...``, ``What we know: ...``, ``Next steps: ...``); ``next_minutes`` is ``""`` (no promise)
    or a number of minutes. Raises UsageError when "what we know" is empty or the delay is not one."""
    fields = (("Status", status), ("What we know", known), ("Next steps", next_steps))
    cleaned = {label: clean_text(value) for label, value in fields}
    if not cleaned["What we know"]:
        raise UsageError("Say what we know: it is what the update is for.", USAGE["update"])
    text = "\n".join(f"{label}: {value}" for label, value in cleaned.items() if value)
    minutes = _delay(next_minutes, next_minutes[:20]) if next_minutes.strip() else None
    return PostUpdate(_require_text("update", text, "what we know"), minutes)


def _split_word(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def _require_text(verb: str, text: str, what: str) -> str:
    if not text:
        raise UsageError(f"`{verb}` needs {what}.", USAGE[verb])
    if len(text) > MAX_TEXT_LENGTH:
        raise UsageError(
            f"That text is {len(text):,} characters; the limit is {MAX_TEXT_LENGTH:,}. "
            "Put the long part in a message and pin it (:pushpin:) instead.",
            USAGE[verb],
        )
    return text


def _optional_text(verb: str, text: str) -> str:
    return _require_text(verb, text, "text") if text else ""


def parse_user(token: str) -> UserRef | None:
    """``<@U0123|alice>`` -> UserRef; anything else -> None."""
    match = _USER.match(token)
    if not match:
        return None
    return UserRef(user_id=match.group("id"), name=match.group("name") or None)


def parse_cli_person(token: str) -> str | None:
    """``@alice`` or ``alice`` -> ``alice`` (lower-cased, as Slack handles are); ``@U0123ABC`` -> ``U0123ABC``.

    How the CLI records a person it cannot look up in Slack: a Slack user id (by
    :func:`bot.domain.model.is_slack_user_id`) is kept as typed, any other name lower-cased. None if
    ``token`` is not a name (letters, digits, ``.``, ``_``, ``-``, at most 64) or is a broadcast
    (``@here``, ``@channel``, ``@everyone``).
    """
    match = _CLI_NAME.match(token.strip())
    if match is None:
        return None
    name = match.group("name")
    if name.lower() in BROADCAST_NAMES:
        return None
    return name if is_slack_user_id(name) else name.lower()


def _parse_person(token: str, names: bool, usage: str) -> UserRef | None:
    user = parse_user(token)
    if user is None and names and token.startswith("@"):
        _refuse_broadcast(token, usage)
        person = parse_cli_person(token)
        return UserRef(user_id=person) if person else None
    return user


def _refuse_broadcast(token: str, usage: str) -> None:
    if token.removeprefix("@").lower() in BROADCAST_NAMES:
        raise UsageError(f"`{token[:20]}` notifies a whole channel; name one person, e.g. `@alice`.", usage)


def parse_group(token: str) -> GroupRef | None:
    """``<!subteam^S0123|@netops>`` -> GroupRef; anything else -> None."""
    match = _GROUP.match(token)
    if not match:
        return None
    return GroupRef(group_id=match.group("id"), handle=match.group("handle") or None)


def split_private(text: str) -> tuple[str, bool]:
    """``text`` without its ``--private`` option (``_PRIVATE_OPTION``, anywhere, once or more) and whether it
    was there. Raises UsageError for an option that tries to be ``--private`` but is not (``--privat``,
    ``-private``, ``--private:``): kept as title text it would be announced with the title."""
    private = _PRIVATE_OPTION.search(text) is not None
    if private:
        text = " ".join(_PRIVATE_OPTION.sub(" ", text).split())
    attempt = _PRIVATE_ATTEMPT.search(text)
    if attempt is not None:
        raise UsageError(
            f"`{attempt.group(0)[:30]}` is not an option: did you mean `--private` (two hyphens, a word of its "
            "own)? Nothing was declared.",
            USAGE["declare"],
        )
    return text, private


def _parse_declare(rest: str) -> Declare:
    """``declare [--private] [sevN] <title>``; ``--private`` may stand anywhere in it, once or more."""
    rest, private = split_private(rest)
    severity, title = split_severity(rest)
    title = _require_text("declare", title, "a title, e.g. `declare sev1 CDN edge returning 502s`")
    if len(title) > MAX_TITLE_LENGTH:
        raise UsageError(
            f"A title is at most {MAX_TITLE_LENGTH} characters; put the details in a `note`.", USAGE["declare"]
        )
    return Declare(title=title, severity=severity or DEFAULT_SEVERITY, private=private)


def _parse_lead(rest: str, names: bool) -> SetLead:
    user = _parse_person(rest.strip(), names, USAGE["lead"])
    if user is None:
        raise UsageError("`lead` needs exactly one person, mentioned as @name.", USAGE["lead"])
    return SetLead(user=user)


def _parse_assemble(rest: str, names: bool) -> Assemble:
    tokens = rest.split()
    if not tokens:
        raise UsageError("`assemble` needs at least one person or user group.", USAGE["assemble"])
    return Assemble(assignees=tuple(_parse_assignee(token, names) for token in tokens))


def _parse_assignee(token: str, names: bool) -> Assignee:
    match = _ASSIGNEE.match(token)
    who = (
        (_parse_person(match.group("who"), names, USAGE["assemble"]) or parse_group(match.group("who")))
        if match
        else None
    )
    if match is None or who is None:
        raise UsageError(
            f"`{token[:60]}` is not a person or user group; mention them as @name, "
            "optionally with a role: @name:networking.",
            USAGE["assemble"],
        )
    role = match.group("role")
    return Assignee(who=who, role=role.lower() if role else None)


def _parse_hypothesis(rest: str) -> AddHypothesis | RejectHypothesis | ConfirmHypothesis:
    sub, remainder = _split_word(rest)
    if sub.lower() in ("reject", "confirm"):
        return _parse_hypothesis_decision(sub.lower(), remainder)
    return AddHypothesis(text=_require_text("hypothesis", rest, "a theory, e.g. `hypothesis external DDoS attack`"))


def _parse_hypothesis_decision(sub: str, rest: str) -> RejectHypothesis | ConfirmHypothesis:
    number_text, remainder = _split_word(rest)
    match = _HYPOTHESIS_NUMBER.match(number_text)
    if not match:
        raise UsageError(
            f"`hypothesis {sub}` needs the hypothesis number, e.g. `hypothesis {sub} 1`.", USAGE["hypothesis"]
        )
    number = int(match.group(1))
    text = _optional_text("hypothesis", remainder)
    return RejectHypothesis(number, text) if sub == "reject" else ConfirmHypothesis(number, text)


def _parse_severity(rest: str) -> ChangeSeverity:
    try:
        severity, extra = split_severity(rest)
    except UsageError as exc:
        raise UsageError(exc.parts, USAGE["severity"]) from None
    if severity is None or extra:
        raise UsageError(f"`severity` needs one severity: {SEVERITY_SPELLINGS}.", USAGE["severity"])
    return ChangeSeverity(severity=severity)


FollowupCommand = (
    AddFollowup
    | CompleteFollowup
    | ReopenFollowup
    | AssignFollowup
    | RescheduleFollowup
    | DropFollowup
    | ExportFollowup
)


def _parse_followup(rest: str, names: bool) -> FollowupCommand:
    sub, remainder = _split_word(rest)
    if sub.lower() in FOLLOWUP_CHANGES and (not remainder or _NUMBER_ATTEMPT.match(_split_word(remainder)[0])):
        return _parse_followup_change(sub.lower(), remainder, names)
    body, due_text = _split_due_option(rest)
    if due_text is not None and len(due_text.split()) > 1:
        # `followup x --due +7d @bob`: an owner named after the date is the owner, not part of the date.
        date_part, last = due_text.rsplit(None, 1)
        if parse_user(last) is not None or (names and last.startswith("@")):
            body, due_text = f"{body} {last}", date_part
    added = _parse_new_followup(body, names)
    return added if due_text is None else AddFollowup(added.text, added.owner, _due(due_text))


def _split_due_option(text: str) -> tuple[str, str | None]:
    """``canary @bob --due +7d`` -> ``("canary @bob", "+7d")``; refuses a second ``--due`` or one without a date."""
    flags = list(_DUE_OPTION.finditer(text))
    if not flags:
        return text, None
    if len(flags) > 1:
        raise UsageError(f"`--due` is given {len(flags)} times; give one date.", USAGE["followup"])
    flag = flags[0]
    when = text[flag.end() :].removeprefix("=").strip()
    if not when:
        raise UsageError("`--due` needs a date, for example `--due 2026-12-15` or `--due +7d`.", USAGE["followup"])
    return text[: flag.start()].strip(), when


def _due(text: str) -> DueDate:
    try:
        return parse_due(text)
    except TimeParseError as exc:
        raise UsageError(exc.parts, USAGE["followup"]) from None


def _parse_followup_change(
    sub: str, rest: str, names: bool
) -> CompleteFollowup | ReopenFollowup | AssignFollowup | RescheduleFollowup | DropFollowup | ExportFollowup:
    number_text, remainder = _split_word(rest)
    match = _HYPOTHESIS_NUMBER.match(number_text)
    if match is None and number_text:
        raise UsageError(
            f"`{number_text[:30]}` is not a follow-up number: give it as a whole number, e.g. `followup {sub} 1` "
            "(`followups` lists them).",
            USAGE["followup"],
        )
    if match is None:
        raise UsageError(f"`followup {sub}` needs the follow-up number, e.g. `followup {sub} 1`.", USAGE["followup"])
    number = int(match.group(1))
    due_flag = _DUE_OPTION.search(remainder)
    if due_flag is not None and sub == "due":
        date_text = " ".join(f"{remainder[: due_flag.start()]} {remainder[due_flag.end() :].removeprefix('=')}".split())
        raise UsageError(
            f"`followup due` takes the date without `--due`: `followup due {number} {date_text[:40] or 'DATE'}`.",
            USAGE["followup"],
        )
    if due_flag is not None:
        raise UsageError(
            f"`followup {sub}` takes no `--due`: only a new follow-up does ({NEW_FOLLOWUP_DUE}); "
            f"to move follow-up #{number}'s date, `followup due {number} DATE`.",
            USAGE["followup"],
        )
    if sub == "done":
        return CompleteFollowup(number, _optional_text("followup", remainder))
    if sub == "reopen":
        return ReopenFollowup(number, _optional_text("followup", remainder))
    if sub == "export":
        if remainder:
            raise UsageError(
                f"`followup export` takes only the follow-up number, e.g. `followup export {number}`.",
                USAGE["followup"],
            )
        return ExportFollowup(number)
    if sub == "drop":
        reason = _require_text("followup", remainder, "a reason to drop it, e.g. `followup drop 2 covered by #1`")
        return DropFollowup(number, reason)
    if sub == "due":
        if not remainder:
            raise UsageError(
                f"`followup due` needs a date, e.g. `followup due {number} 2026-12-15`.", USAGE["followup"]
            )
        return RescheduleFollowup(number, _due(remainder))
    owner = _parse_person(remainder, names, USAGE["followup"]) if remainder else None
    if owner is None:
        raise UsageError(
            f"`followup owner` needs one person, mentioned as @name, e.g. `followup owner {number} @bob`.",
            USAGE["followup"],
        )
    return AssignFollowup(number, owner)


def _parse_new_followup(rest: str, names: bool) -> AddFollowup:
    body, last = [*rest.rsplit(None, 1), ""][:2] if rest else ("", "")
    owner = _parse_person(last, names, USAGE["followup"]) if last else None
    if owner is None and names and last.startswith("@"):
        raise UsageError(
            f"`{last[:40]}` is not a person; end with the owner as `@name`, or leave the owner out.",
            USAGE["followup"],
        )
    text = body if owner else rest
    text = _require_text("followup", text, "an action item, e.g. `followup canary rollout for WAF rules @bob`")
    return AddFollowup(text=text, owner=owner)


def parse_service_name(text: str) -> str | None:
    """``CDN-Edge`` -> ``cdn-edge``; None unless it is a catalogue-style name (a-z, 0-9, ``.``, ``_``, ``-``)."""
    name = text.strip().lower()
    return name if _SERVICE_NAME.match(name) else None


def _parse_service(rest: str) -> SetService:
    name = parse_service_name(rest)
    if name is None:
        raise UsageError(
            "`service` needs one service name from the SLO catalogue, e.g. `service cdn-edge`.", USAGE["service"]
        )
    return SetService(name)


def _parse_impact(rest: str) -> SetImpact:
    match = _PERCENT.match(rest.strip())
    percent = float(match.group("value")) if match else -1.0
    if not 0 <= percent <= 100:
        raise UsageError(
            "`impact` needs the share of requests failing, from 0% to 100%, e.g. `impact 50%`.", USAGE["impact"]
        )
    return SetImpact(percent)


def _entry_number(verb: str, rest: str) -> tuple[int, str]:
    number_text, remainder = _split_word(rest)
    match = _HYPOTHESIS_NUMBER.match(number_text)
    if match is None:
        shown = f"`{number_text[:30]}` is not an entry number; " if number_text else ""
        raise UsageError(
            f"{shown}`{verb}` needs the entry's number from `timeline`, e.g. `{verb} 5`.",
            USAGE[verb],
        )
    return int(match.group(1)), remainder


def _parse_correct(rest: str) -> CorrectEntry:
    number, text = _entry_number("correct", rest)
    return CorrectEntry(number, _optional_text("correct", text))


def _parse_strike(rest: str) -> StrikeEntry:
    number, reason = _entry_number("strike", rest)
    return StrikeEntry(
        number, _require_text("strike", reason, f"a reason, e.g. `strike {number} posted in the wrong incident`")
    )


def _parse_slo(rest: str) -> ShowSlo:
    if not rest.strip():
        return ShowSlo()
    name = parse_service_name(rest)
    if name is None:
        raise UsageError(f"`{rest.strip()[:60]}` is not a service name.", USAGE["slo"])
    return ShowSlo(name)


POSTMORTEM_CHANGES = ("status", "owner", "review")
"""The words after ``postmortem`` that are sub-commands, never template names (and ``publish``)."""


def _parse_postmortem(rest: str, names: bool) -> ExportPostmortem | PostmortemChange | PublishPostmortem:
    """``postmortem [template]`` exports the draft; ``postmortem status|owner|review …`` change the review;
    ``postmortem publish`` (a reserved word, in any case: no template is named ``publish``) publishes it to
    the configured targets and takes nothing more."""
    sub, remainder = _split_word(rest)
    if sub.lower() in POSTMORTEM_CHANGES:
        return _parse_postmortem_change(sub.lower(), remainder, names)
    name = rest.strip()
    first, _, more = name.partition(" ")
    if first.lower() == "publish":
        if more.strip():
            raise UsageError("`postmortem publish` takes nothing more.", USAGE["postmortem"])
        return PublishPostmortem()
    if name and not _TEMPLATE_NAME.match(name):
        raise UsageError(f"`{name[:60]}` is not a template name (letters, digits, `.`, `_`, `-`).", USAGE["postmortem"])
    return ExportPostmortem(template=name or None)


def _parse_postmortem_change(sub: str, rest: str, names: bool) -> PostmortemChange:
    usage = USAGE["postmortem"]
    if sub == "status":
        status = PostmortemStatus.parse(rest) if rest else None
        if status is None:
            shown = f"`{rest[:30]}` is not a postmortem status; " if rest else ""
            raise UsageError(f"{shown}`postmortem status` needs one of `draft`, `in-review`, `published`.", usage)
        return SetPostmortemStatus(status)
    if sub == "owner":
        owner = _parse_person(rest, names, usage) if rest else None
        if owner is None:
            raise UsageError(
                "`postmortem owner` needs one person, mentioned as @name, e.g. `postmortem owner @bob`.", usage
            )
        return SetPostmortemOwner(owner)
    return _parse_review(rest, names)


def _parse_review(rest: str, names: bool) -> ScheduleReview:
    """``<when> [for <length>] [@attendees...]``, the attendees and length in either order at the end."""
    usage = USAGE["postmortem"]
    tokens = rest.split()
    users: list[UserRef] = []
    groups: list[GroupRef] = []
    minutes: int | None = None
    while tokens:
        last = tokens[-1]
        person = _parse_person(last, names, usage)
        group = parse_group(last) if person is None else None
        if person is not None or group is not None:
            users[:0] = [person] if person is not None else []
            groups[:0] = [group] if group is not None else []
            tokens.pop()
        elif len(tokens) >= 2 and tokens[-2].lower() == "for" and minutes is None:
            minutes = parse_review_length(last)
            if minutes is None:
                raise UsageError(
                    f"`for {last[:20]}` is not a review length: give 15 minutes to 8 hours, "
                    "e.g. `for 60m`, `for 1h30m`.",
                    usage,
                )
            del tokens[-2:]
        elif last.startswith(("<@", "<!", "@")):
            raise UsageError(f"`{last[:40]}` is not a person or user group; mention attendees as @name.", usage)
        else:
            break
    if not tokens:
        raise UsageError(
            "`postmortem review` needs the time of the review, e.g. `postmortem review 2026-11-24 15:00 UTC+1 @alice`.",
            usage,
        )
    return ScheduleReview(" ".join(tokens), tuple(users), tuple(groups), minutes or DEFAULT_REVIEW_MINUTES)


def _parse_help(rest: str) -> ShowHelp:
    verb = rest.strip().lower()
    return ShowHelp(verb=verb if verb in USAGE else None)


def _no_arguments(verb: str, action: Action) -> Callable[[str], Action]:
    def parse(rest: str) -> Action:
        if rest:
            raise UsageError(f"`{verb}` takes no arguments.", USAGE[verb])
        return action

    return parse


def _parse_statuspage(rest: str) -> StatuspageOpen | StatuspageUpdate | StatuspageResolve:
    """``statuspage open <impact> <components> <text>`` (impact in any case; components ``service``, ``-`` or a
    comma list without spaces: one ending with a comma is refused), ``statuspage update [status] <text>`` (the
    status only in lower case: a capitalised ``Identified the cause`` is text), ``statuspage resolve [text]``. The
    text is what the public status page shows; the domain checks the impact, status and lengths again."""
    usage = USAGE["statuspage"]
    sub, remainder = _split_word(rest)
    sub = sub.lower()
    if sub == "open":
        impact, after = _split_word(remainder)
        components, text = _split_word(after)
        if impact.lower() not in STATUSPAGE_IMPACTS:
            shown = f"`{impact[:20]}` is not an impact; " if impact else ""
            raise UsageError(f"{shown}`statuspage open` needs an impact: {', '.join(STATUSPAGE_IMPACTS)}.", usage)
        if components.endswith(","):
            joined = f"{components}{_split_word(text)[0]}"[:60]
            raise UsageError(
                f"`{components[:40]}` ends with a comma: write the components without spaces (`{joined}`), then "
                "the public text.",
                usage,
            )
        if not components or not text:
            raise UsageError(
                "`statuspage open` needs the affected components (`service`, or ids or services separated by commas) "
                "and the public text.",
                usage,
            )
        return StatuspageOpen(impact.lower(), components, _require_text("statuspage", text, "the public text"))
    if sub == "update":
        first, after = _split_word(remainder)
        if first in STATUSPAGE_STATUSES:  # only as written in the usage: "Identified the cause" is public text
            return StatuspageUpdate(_require_text("statuspage", after, "the public text"), first)
        return StatuspageUpdate(_require_text("statuspage", remainder, "the public text"))
    if sub == "resolve":
        return StatuspageResolve(_optional_text("statuspage", remainder))
    shown = f"`{sub[:20]}` is not a statuspage command; " if sub else ""
    raise UsageError(f"{shown}use `statuspage open`, `statuspage update` or `statuspage resolve`.", usage)


_PARSERS: dict[str, Callable[[str], Action]] = {
    "declare": _parse_declare,
    "hypothesis": _parse_hypothesis,
    "mitigate": lambda rest: Mitigate(_require_text("mitigate", rest, "what was tried")),
    "rollback": lambda rest: Rollback(_require_text("rollback", rest, "the change that was rolled back")),
    "monitor": lambda rest: Monitor(_require_text("monitor", rest, "what you are watching")),
    "resolve": lambda rest: Resolve(_optional_text("resolve", rest)),
    "reopen": lambda rest: Reopen(_optional_text("reopen", rest)),
    "severity": _parse_severity,
    "note": lambda rest: AddNote(_require_text("note", rest, "some text")),
    "service": _parse_service,
    "impact": _parse_impact,
    "correct": _parse_correct,
    "strike": _parse_strike,
    "status": _no_arguments("status", ShowStatus()),
    "timeline": _no_arguments("timeline", ShowTimeline()),
    "list": _no_arguments("list", ListIncidents()),
    "followups": _no_arguments("followups", ListFollowups()),
    "slo": _parse_slo,
    "help": _parse_help,
    "statuspage": _parse_statuspage,
}

_PEOPLE_PARSERS: dict[str, Callable[[str, bool], Action]] = {
    "lead": _parse_lead,
    "assemble": _parse_assemble,
    "followup": _parse_followup,
    "postmortem": _parse_postmortem,
}
"""The verbs that name people: they also take ``names`` (accept ``@alice`` in the CLI)."""
