"""Change events (deploys, config changes) reported by CI/CD, and which ones precede an incident."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.errors import PayloadError
from bot.domain.grammar import parse_service_name
from bot.domain.timeparse import ensure_utc

RECENT_CHANGE_WINDOW = timedelta(hours=2)
"""Changes to a service this long before an incident's declaration are suspects."""

MAX_TEXT_LENGTH = 2000
"""``description`` and ``link``: at most this many characters (Unicode code points); stored as TEXT."""
MAX_AUTHOR_LENGTH = 256
"""``author``: at most this many characters; ``change_events.author`` is VARCHAR(256) (``bot/store/tables.py``)."""


@dataclass(frozen=True)
class ChangeEvent:
    """One deploy or config change: what changed, to which service, by whom, when, and where to read more."""

    service: str
    description: str
    author: str
    occurred_at: datetime
    link: str = ""


def parse_change(body: object, now: datetime) -> ChangeEvent:
    """Validate a ``POST /changes`` JSON body; ``time`` defaults to ``now`` and may not be in the future.

        Every value accepted fits its column on SQLite and PostgreSQL alike: ``service`` is a service name
        (at most 64 characters), ``author`` at most 256 characters, ``description`` and ``link`` at most
        2000, none containing NUL or an unpaired UTF-16 surrogate (which no UTF-8 database can store);
        surrounding whitespace is trimmed before the lengths are checked, and a missing or blank ``author``
    is ``unknown``. Raises
        PayloadError naming the first field that does not qualify.
    """
    if not isinstance(body, Mapping):
        raise PayloadError("The body must be a JSON object.")
    service = parse_service_name(_text(body, "service", required=True))
    if service is None:
        raise PayloadError("`service` must be a service name (lowercase a-z, 0-9, '.', '_', '-').")
    occurred_at = parse_timestamp(body["time"], "time") if body.get("time") else now
    if occurred_at > now + timedelta(minutes=5):
        raise PayloadError("`time` is in the future.")
    link = _text(body, "link")
    if link and not link.startswith(("http://", "https://")):
        raise PayloadError("`link` must be an http(s) URL.")
    return ChangeEvent(
        service,
        _text(body, "description", required=True),
        _text(body, "author", limit=MAX_AUTHOR_LENGTH) or "unknown",
        occurred_at,
        link,
    )


def _text(body: Mapping[str, Any], key: str, required: bool = False, limit: int = MAX_TEXT_LENGTH) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise PayloadError(f"`{key}` is required.")
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"`{key}` must be a string of at most {limit} characters.")
    text = value.strip()  # trimmed first: the limit is on what is stored
    if len(text) > limit:
        raise PayloadError(f"`{key}` must be a string of at most {limit} characters.")
    problem = unstorable(text)
    if problem:
        raise PayloadError(f"`{key}` {problem}.")
    if required and not text:
        raise PayloadError(f"`{key}` is required.")
    return text


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored as it is (NUL: PostgreSQL text refuses it; a lone surrogate, as JSON's
    ``"\\ud800"`` decodes, has no UTF-8 form), or None when it can."""
    if "\x00" in text:
        return "must not contain the NUL character (U+0000)"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "contains an unpaired surrogate (invalid Unicode)"
    return None


def parse_timestamp(value: object, field: str) -> datetime:
    """RFC 3339 as Alertmanager and CI systems write it (``Z``, offsets, up to nanoseconds) -> aware UTC."""
    if not isinstance(value, str):
        raise PayloadError(f"`{field}` must be an RFC 3339 timestamp.")
    text = value.strip().replace("z", "Z")
    if "." in text:  # Go writes nanoseconds; Python keeps microseconds
        head, _, tail = text.partition(".")
        digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits) :]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PayloadError(f"`{field}` is not an RFC 3339 timestamp: {value[:40]!r}.") from exc
    if moment.tzinfo is None:
        raise PayloadError(f"`{field}` needs a time zone (e.g. a trailing Z).")
    try:
        return ensure_utc(moment)
    except OverflowError as exc:  # 0001-01-01T00:30:00+01:00 is before year 1 in UTC
        raise PayloadError(f"`{field}` is out of range: {value[:40]!r}.") from exc


def recent_changes(
    changes: Iterable[ChangeEvent],
    service: str,
    declared_at: datetime,
    window: timedelta = RECENT_CHANGE_WINDOW,
) -> list[ChangeEvent]:
    """Changes to ``service`` in the ``window`` before ``declared_at``, oldest first."""
    return sorted(
        (c for c in changes if c.service == service and declared_at - window <= c.occurred_at <= declared_at),
        key=lambda c: c.occurred_at,
    )


def describe_change(change: ChangeEvent) -> str:
    link = f" ({change.link})" if change.link else ""
    when = ensure_utc(change.occurred_at)
    return f"{when:%H:%M} {change.service}: {change.description} by {change.author}{link}"
