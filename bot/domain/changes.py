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

MAX_FIELD = 2000


@dataclass(frozen=True)
class ChangeEvent:
    """One deploy or config change: what changed, to which service, by whom, when, and where to read more."""

    service: str
    description: str
    author: str
    occurred_at: datetime
    link: str = ""


def parse_change(body: object, now: datetime) -> ChangeEvent:
    """Validate a ``POST /changes`` JSON body; ``time`` defaults to ``now`` and may not be in the future."""
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
        _text(body, "author") or "unknown",
        occurred_at,
        link,
    )


def _text(body: Mapping[str, Any], key: str, required: bool = False) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise PayloadError(f"`{key}` is required.")
        return ""
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise PayloadError(f"`{key}` must be a string of at most {MAX_FIELD} characters.")
    return value.strip()


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
    return ensure_utc(moment)


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
