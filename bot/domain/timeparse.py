"""The one place where user-typed times (``--at WHEN``) become timezone-aware UTC datetimes.

Rules: a time without a zone is UTC; a time of day alone means its most recent past occurrence;
``15m ago`` / ``2h ago`` count back from now; a time in the future is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from dateutil import parser as date_parser
from dateutil import tz

from bot.domain.errors import TimeParseError

# Slack clients and servers disagree by a few seconds; "now" typed a moment ago is not the future.
CLOCK_SKEW = timedelta(seconds=60)

_RELATIVE = re.compile(
    r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s+ago$",
    re.IGNORECASE,
)
_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:utc|z|gmt))?$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UTC_NAMES = frozenset({"UTC", "Z", "GMT"})
MAX_WHEN_LENGTH = 64

EXAMPLES = "`13:42`, `2026-11-22 13:42 UTC`, `2026-11-22T13:42Z`, `15m ago` or `2h ago`"


def ensure_utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC by convention; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_when(text: str, now: datetime) -> datetime:
    """Parse WHEN relative to ``now`` (aware UTC) and return an aware UTC datetime in the past."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TimeParseError(f"`--at` needs a time, for example {EXAMPLES}.")
    if len(cleaned) > MAX_WHEN_LENGTH:
        raise TimeParseError(f"`{cleaned[:MAX_WHEN_LENGTH]}...` is not a time I understand. Try {EXAMPLES}.")
    moment = _parse_relative(cleaned, now) or _parse_absolute(cleaned, now)
    if moment > now + CLOCK_SKEW:
        raise TimeParseError(
            f"`{cleaned}` ({format_utc(moment)}) is in the future; `--at` records when something already happened."
        )
    return moment


def _parse_relative(text: str, now: datetime) -> datetime | None:
    match = _RELATIVE.match(text)
    if not match:
        return None
    seconds = float(match.group("amount")) * _UNIT_SECONDS[match.group("unit")[0].lower()]
    if seconds > 366 * 86400:
        raise TimeParseError(f"`{text}` is more than a year ago; give an absolute date instead.")
    return now - timedelta(seconds=seconds)


class _UnknownZone(Exception):
    """A zone name we cannot be sure of (EST? IST?): refused rather than guessed."""


def _zone(name: str | None, offset: int | None) -> tzinfo | None:
    """dateutil's zone hook: explicit offsets and UTC names are accepted, any other name refused.

    A hook (rather than turning dateutil's warning into an error) keeps parsing thread-safe, and it
    also stops dateutil from mapping the host's own zone name (CET on a Berlin server) to local time:
    the result must not depend on where the bot runs.
    """
    if offset is not None:
        return tz.tzoffset(None, offset)
    if name is None:
        return None
    if name.upper() in _UTC_NAMES:
        return tz.UTC
    raise _UnknownZone(name)


def _parse_absolute(text: str, now: datetime) -> datetime:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    try:
        parsed = date_parser.parse(text, default=midnight, tzinfos=_zone)
        # Converting can fail too: offsets of a day or more, or dates at the ends of the calendar.
        moment = ensure_utc(parsed)
    except _UnknownZone as exc:
        raise TimeParseError(
            f"`{text}` names a time zone I cannot be sure of; write it in UTC or with an offset like `+01:00`."
        ) from exc
    except (ValueError, OverflowError, TypeError) as exc:
        raise TimeParseError(f"`{text}` is not a time I understand. Try {EXAMPLES}.") from exc
    if _TIME_OF_DAY.match(text) and moment > now + CLOCK_SKEW:
        moment -= timedelta(days=1)
    return moment


def format_utc(moment: datetime) -> str:
    """``2026-11-22 13:42 UTC``: how times are shown to people."""
    return ensure_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def format_iso(moment: datetime) -> str:
    """``2026-11-22T13:42:00Z``: how times are written for machines."""
    return ensure_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(delta: timedelta) -> str:
    """``8 min``, ``1h 3m``, ``2d 4h``: durations as people read them in a postmortem."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 0:
        return "-" + format_duration(-delta)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
