"""The one place where user-typed times (``--at WHEN``) become timezone-aware UTC datetimes, and
follow-up due dates (``--due DATE``, :func:`parse_due`) become UTC calendar days.

The grammar is closed: every form below is accepted, everything else is refused with the list of
forms (:data:`ACCEPTED_FORMS`); nothing is guessed.

- ``now``
- ``N<unit> ago``, units s/sec/seconds, m/min/minutes, h/hr/hours, d/days, combinable with each
  unit at most once, largest first: ``15m ago``, ``1h30m ago``, ``1h 30m ago``, ``2d 3h ago``,
  ``2 days ago``. Amounts are whole numbers, except that a single day, hour or minute amount may
  have one decimal: ``1.5h ago``, ``0.5d ago``, ``2.5m ago``.
- A clock time: ``13:42``, ``13:42:05`` (24-hour) or ``1:42 pm``, ``1pm``, ``12am`` (12-hour).
  Alone it means its most recent past occurrence; after ``yesterday`` or ``today`` that day;
  after an ISO date ``2026-11-22`` (separated by a space or ``T``) that date.
- A zone may follow any clock time, with or without a space: ``Z``, ``UTC``, ``GMT``; an offset
  east of UTC is positive, as in ISO 8601 and as people mean it (``UTC+1`` is one hour ahead of
  UTC): ``UTC+1``, ``UTC+01``, ``UTC+0100``, ``UTC+01:00``, ``GMT-5``, ``UTC-3:30``, ``+01:00``,
  ``+0100``, ``+01``; an IANA name such as ``Europe/Berlin`` (summer or winter time as in force on
  that date, from the tz database); or an abbreviation that means one offset everywhere
  (:data:`ZONE_ABBREVIATIONS`: ``CET`` is always UTC+1, ``CEST`` UTC+2). Without a zone the time is
  UTC. ``EST``, ``IST``, ``BST``, ``CST``, ``PST`` name different zones in different countries
  and are refused, as are IANA's ``Etc/GMT+1`` names (whose sign is the POSIX one, opposite to
  what people mean).

Refused on purpose: ``1.30pm``, ``13.30`` (dots), ``01/02`` (day/month order is ambiguous),
``2026/11/28`` (write dashes), month names, a date without a time, a local time that a DST change
skips or repeats, a repeated or out-of-order unit (``1h1h ago``, ``30m 1h ago``), more decimals
(``0.0001s ago``), any moment more than :data:`MAX_AGO` (366 days) ago, whether relative or
absolute, and any moment more than :data:`CLOCK_SKEW` in the future (one within the skew is
recorded as ``now``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from bot.domain.errors import TimeParseError

# Slack clients and servers disagree by a few seconds; "now" typed a moment ago is not the future.
CLOCK_SKEW = timedelta(seconds=60)
MAX_WHEN_LENGTH = 64
MAX_AGO = timedelta(days=366)
MAX_OFFSET = timedelta(hours=14)
"""Real UTC offsets run from -12:00 to +14:00 (Line Islands); anything beyond is a typo."""

ACCEPTED_FORMS = (
    "Accepted: `now`, `15m ago`, `1h30m ago`, `2d 3h ago` (each unit once, largest first; one decimal "
    "on a lone unit: `1.5h ago`), `13:42` or `1:42 pm` (its most recent past occurrence), "
    "`yesterday 13:42`, `2026-11-22 13:42`, `2026-11-22T13:42Z`; a zone may follow the time: "
    "`UTC`, `UTC+1`, `+05:30`, `CET`, `Europe/Berlin` (no zone means UTC)."
)

ZONE_ABBREVIATIONS: dict[str, timedelta] = {
    "CET": timedelta(hours=1),
    "CEST": timedelta(hours=2),
    "WET": timedelta(0),
    "WEST": timedelta(hours=1),
    "EET": timedelta(hours=2),
    "EEST": timedelta(hours=3),
    "MSK": timedelta(hours=3),
    "JST": timedelta(hours=9),
    "KST": timedelta(hours=9),
    "HKT": timedelta(hours=8),
    "SGT": timedelta(hours=8),
    "AWST": timedelta(hours=8),
    "ACST": timedelta(hours=9, minutes=30),
    "ACDT": timedelta(hours=10, minutes=30),
    "AEST": timedelta(hours=10),
    "AEDT": timedelta(hours=11),
    "NZST": timedelta(hours=12),
    "NZDT": timedelta(hours=13),
}
"""Abbreviations that name a single UTC offset in every country that uses them (tz database
abbreviations, https://data.iana.org/time-zones/tz-link.html); each is that fixed offset whatever
the season. Ambiguous ones (EST, CST, IST, BST, PST, AST...) are deliberately absent."""

_UNITS = r"seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d"
_RELATIVE = re.compile(rf"^(?P<parts>(?:\d+(?:\.\d+)?\s*(?:{_UNITS})\s*)+)ago$", re.IGNORECASE | re.ASCII)
_RELATIVE_PART = re.compile(rf"(\d+(?:\.\d+)?)\s*({_UNITS})", re.IGNORECASE | re.ASCII)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ORDER = "dhms"
_ONE_DECIMAL = re.compile(r"^\d+(?:\.\d)?\Z")

_OFFSET_DIGITS = r"(?P<{p}h>\d{{2}}):?(?P<{p}m>\d{{2}})|(?P<{p}h2>\d{{1,2}}):(?P<{p}m2>\d{{2}})|(?P<{p}h3>\d{{1,2}})"
_WHEN = re.compile(
    r"""^
    (?:(?P<date>\d{4}-\d{2}-\d{2})(?:T|\s+)|(?P<day>yesterday|today)\s+)?
    (?:
        (?P<h12>\d{1,2})(?::(?P<m12>\d{2}))?\s*(?P<ampm>am|pm)(?=$|[^a-z]|utc|gmt|z$)
      | (?P<h24>\d{1,2}):(?P<m24>\d{2})(?::(?P<s24>\d{2})(?:\.(?P<frac>\d{1,6}))?)?
    )
    (?:\s*(?:
        (?P<z>z)
      | (?P<named>utc|gmt)(?:\s*(?P<nsign>[+-])(?:"""
    + _OFFSET_DIGITS.format(p="n")
    + r"""))?
      | (?P<isign>[+-])(?:(?P<ih>\d{2}):?(?P<im>\d{2})|(?P<ih3>\d{2}))
      | (?P<name>[a-z][a-z0-9_/+-]*)
    ))?
    $""",
    re.IGNORECASE | re.ASCII | re.VERBOSE,
)
_ETC_POSIX = re.compile(r"^etc/gmt[+-]", re.IGNORECASE)
_MALFORMED_OFFSET = re.compile(r"^(?:utc|gmt)[+-]", re.IGNORECASE)


def ensure_utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC by convention; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_when(text: str, now: datetime) -> datetime:
    """Parse WHEN (one of the forms in the module docstring) relative to ``now`` (aware UTC).

    Returns an aware UTC datetime no later than ``now`` (a moment up to CLOCK_SKEW ahead is
    recorded as ``now``). Raises TimeParseError, whose message lists the accepted forms, for
    anything else: an undocumented form, an ambiguous zone, a future moment, a DST gap or overlap.
    """
    now = ensure_utc(now)
    cleaned = " ".join(text.split())
    if not cleaned:
        raise _refused("`--at` needs a time.")
    if len(cleaned) > MAX_WHEN_LENGTH:
        raise _refused(f"`{cleaned[:MAX_WHEN_LENGTH]}...` is not a time I understand.")
    if cleaned.lower() == "now":
        return now
    moment = _parse_relative(cleaned, now)
    if moment is None:
        moment = _parse_clock(cleaned, now)
        if moment < now - MAX_AGO:
            raise _too_old(cleaned)
    if moment > now + CLOCK_SKEW:
        raise _refused(
            f"`{cleaned}` ({format_utc(moment)}) is in the future; `--at` records when something already happened."
        )
    return min(moment, now)


def _refused(reason: str) -> TimeParseError:
    return TimeParseError(f"{reason} {ACCEPTED_FORMS}")


_YEAR_FIRST = re.compile(r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b")
_SLASHED = re.compile(r"\d+/\d+")
_TYPED_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")


def _not_understood(text: str) -> TimeParseError:
    year_first = _YEAR_FIRST.search(text)
    if year_first:
        year, month, day = year_first.groups()
        dashed = text.replace(year_first.group(0), f"{year}-{int(month):02d}-{int(day):02d}")
        return _refused(f"`{text}` is not a time I understand: write the date with dashes, `{dashed}`.")
    if _SLASHED.search(text):
        clock = _TYPED_CLOCK.search(text)
        example = f"2026-11-22 {clock.group(0) if clock else '13:42'}"
        return _refused(
            f"`{text}` is not a time I understand: day/month order is ambiguous; write year-month-day, "
            f"e.g. `{example}`."
        )
    return _refused(f"`{text}` is not a time I understand.")


def _parse_relative(text: str, now: datetime) -> datetime | None:
    """``1h30m ago`` -> now - 90 min; None if ``text`` is not a relative form at all.

    Each unit at most once, largest first; whole numbers, or one decimal on a lone d/h/m amount.
    """
    match = _RELATIVE.match(text)
    if not match:
        return None
    parts = [(amount, unit[0].lower()) for amount, unit in _RELATIVE_PART.findall(match["parts"])]
    units = [unit for _, unit in parts]
    if units != sorted(set(units), key=_UNIT_ORDER.index):
        raise _refused(f"`{text}` is not a time I understand: give each unit once, largest first, like `2d 3h ago`.")
    fractions = [amount for amount, _ in parts if "." in amount]
    if fractions and (len(parts) > 1 or units == ["s"] or not _ONE_DECIMAL.match(fractions[0])):
        raise _refused(
            f"`{text}` is not a time I understand: only a lone day, hour or minute amount may have a decimal, "
            "and only one (`1.5h ago`); otherwise combine whole units (`1h30m ago`)."
        )
    seconds = sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)
    if seconds > MAX_AGO.total_seconds():
        raise _too_old(text)
    return now - timedelta(seconds=seconds)


def _too_old(text: str) -> TimeParseError:
    return _refused(f"`{text}` is more than a year ago (366 days); `--at` backdates within the last year.")


def _parse_clock(text: str, now: datetime) -> datetime:
    match = _WHEN.match(text)
    if not match:
        raise _not_understood(text)
    clock = _clock(match, text)
    zone = _zone(match, text)
    if match["date"]:
        try:
            day = date.fromisoformat(match["date"])
        except ValueError:
            raise _refused(f"`{match['date']}` is not a date.") from None
        return _localize(day, clock, zone, text)
    today = now.astimezone(zone).date()
    if match["day"] and match["day"].lower() == "yesterday":
        return _localize(today - timedelta(days=1), clock, zone, text)
    if match["day"]:
        return _localize(today, clock, zone, text)
    moment = _localize(today, clock, zone, text)
    if moment > now + CLOCK_SKEW:
        moment = _localize(today - timedelta(days=1), clock, zone, text)
    return moment


def _clock(match: re.Match[str], text: str) -> time:
    if match["ampm"]:
        hour, minute = int(match["h12"]), int(match["m12"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise _refused(f"`{text}` is not a 12-hour time (1:00 am to 12:59 pm).")
        hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
        return time(hour, minute)
    hour, minute, second = int(match["h24"]), int(match["m24"]), int(match["s24"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _refused(f"`{text}` is not a time of day (00:00 to 23:59:59).")
    return time(hour, minute, second, int((match["frac"] or "0").ljust(6, "0")))


def _zone(match: re.Match[str], text: str) -> tzinfo:
    if match["z"]:
        return UTC
    if match["named"]:
        if not match["nsign"]:
            return UTC
        hours = match["nh"] or match["nh2"] or match["nh3"]
        return _offset(match["nsign"], hours, match["nm"] or match["nm2"] or "0", text)
    if match["isign"]:
        return _offset(match["isign"], match["ih"] or match["ih3"], match["im"] or "0", text)
    if match["name"]:
        return _named_zone(match["name"], text)
    return UTC


def _offset(sign: str, hours: str, minutes: str, text: str) -> tzinfo:
    """``+``, ``05``, ``30`` -> UTC+05:30: east of UTC is positive (ISO 8601), never the POSIX sign."""
    if int(minutes) > 59:
        raise _refused(f"`{text}` has an offset with invalid minutes (`{minutes}`; 00 to 59).")
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > MAX_OFFSET:
        raise _refused(f"`{text}` has an offset beyond UTC-12:00...UTC+14:00.")
    return timezone(-delta if sign == "-" else delta)


def _named_zone(name: str, text: str) -> tzinfo:
    if "/" in name:
        if _ETC_POSIX.match(name):
            raise _refused(f"`{name}` uses the POSIX sign (Etc/GMT+1 is UTC-1); write `UTC+1` or `UTC-1` instead.")
        key = _iana_zones().get(name.lower())
        if key is None:
            raise _refused(f"`{name}` is not a time zone of the tz database (like `Europe/Berlin`).")
        return ZoneInfo(key)
    if _MALFORMED_OFFSET.match(name):
        raise _refused(f"`{text}` has an offset I cannot read; write it like `UTC+1`, `UTC+01:00` or `+0100`.")
    offset = ZONE_ABBREVIATIONS.get(name.upper())
    if offset is None:
        raise _refused(
            f"`{text}` names a time zone I cannot be sure of; write it in UTC, with an offset like `+01:00`, "
            "or as a place like `America/New_York`."
        )
    return timezone(offset, name.upper())


@cache
def _iana_zones() -> dict[str, str]:
    """Lower-cased ``Area/Location`` names of the tz database -> their exact key."""
    return {key.lower(): key for key in available_timezones() if "/" in key}


def _localize(day: date, clock: time, zone: tzinfo, text: str) -> datetime:
    """That wall-clock time in ``zone`` on ``day``, in UTC; a time a DST change skips or repeats is refused."""
    try:
        local = datetime.combine(day, clock, tzinfo=zone)
        moment = local.astimezone(UTC)
        if isinstance(zone, ZoneInfo):
            if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
                raise _refused(f"`{text}` does not exist: clocks in {zone.key} skip it on {day.isoformat()}.")
            first, second = local.replace(fold=0).utcoffset(), local.replace(fold=1).utcoffset()
            if first is not None and second is not None and first != second:
                raise _refused(
                    f"`{text}` happens twice in {zone.key} on {day.isoformat()} (clocks go back); "
                    f"give the offset instead: `{_format_offset(first)}` for the first time, "
                    f"`{_format_offset(second)}` for the second."
                )
    except (OverflowError, ValueError):
        raise _refused(f"`{text}` is outside the calendar.") from None
    return moment


def _format_offset(offset: timedelta) -> str:
    """``timedelta(hours=-4)`` -> ``-04:00``."""
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds() // 60)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_utc(moment: datetime, *, to_the_second: bool = False) -> str:
    """``2026-11-22 13:42 UTC``: how times are shown to people (the year always 4 digits). ``to_the_second``:
    ``2026-11-22 13:42:05 UTC``, with the fraction of a second when it has one (``13:42:31.500000``)."""
    utc = ensure_utc(moment)
    clock = f"{utc:%H:%M:%S}" + (f".{utc:%f}" if utc.microsecond else "") if to_the_second else f"{utc:%H:%M}"
    return f"{utc.year:04d}-{utc:%m-%d} {clock} UTC"


def format_utc_apart(given: datetime, limit: datetime) -> tuple[str, str]:
    """``given`` and ``limit`` as ``format_utc`` shows them, but to the second when they read the same to the minute,
    each with its fraction of a second when it has one: a refusal of a time before another never reads
    "13:42 UTC is before ... (13:42 UTC)", and the time it says to stay at or after can be typed past (a change
    typed without ``--at`` keeps its microseconds: "13:42:31" would be refused again).

    13:42:05 and 13:42:31.5 -> ("2026-11-22 13:42:05 UTC", "2026-11-22 13:42:31.500000 UTC")."""
    first, second = format_utc(given), format_utc(limit)
    if first != second:
        return first, second
    return format_utc(given, to_the_second=True), format_utc(limit, to_the_second=True)


def format_date(moment: datetime) -> str:
    """``2026-11-22``: the UTC day (the year always 4 digits)."""
    utc = ensure_utc(moment)
    return f"{utc.year:04d}-{utc:%m-%d}"


def format_iso(moment: datetime) -> str:
    """``2026-11-22T13:42:00Z``: how times are written for machines, RFC 3339 (section 5.6: a 4-digit
    year, so year 1 is ``0001``; C's ``%Y`` writes ``1`` on glibc)."""
    utc = ensure_utc(moment)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


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


# -- review times (``postmortem review WHEN``) -----------------------------------------------------

MAX_AHEAD = timedelta(days=366)
"""A review is scheduled at most a year ahead."""
REVIEW_FORMS = (
    "A review time is a moment to come: `2026-11-24 15:00`, `2026-11-24 15:00 UTC+1`, `2026-11-24T15:00Z`, "
    "`tomorrow 15:00 Europe/Berlin`, `today 16:30`, or a clock time alone (`15:00`: its next occurrence); "
    "zones as for `--at` (`UTC+1`, `+05:30`, `CET`, `Europe/Berlin`; no zone means UTC)."
)
_TOMORROW = re.compile(r"^tomorrow\s+(?P<rest>.+)\Z", re.IGNORECASE)
_PAST_ONLY = re.compile(r"^(?:now|yesterday\b.*|.*\bago)\Z", re.IGNORECASE)


def parse_review_time(text: str, now: datetime) -> datetime:
    """When a postmortem review takes place: WHEN in the clock forms ``--at`` accepts (the same zones and
    offsets, :func:`parse_when`), plus ``tomorrow HH:MM``, read as a moment to come. Returns an aware UTC
    datetime after ``now``.

    A clock time alone is its next occurrence (at 16:00, ``15:00`` is tomorrow's). Raises TimeParseError
    for a moment not after ``now`` ("is in the past"), more than a year (:data:`MAX_AHEAD`) ahead, a past-only
    form (``now``, ``15m ago``, ``yesterday ...``) and every form ``--at`` refuses (a DST gap, an ambiguous zone...).
    """
    now = ensure_utc(now)
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TimeParseError(f"`postmortem review` needs the time of the review. {REVIEW_FORMS}")
    if len(cleaned) > MAX_WHEN_LENGTH:
        raise TimeParseError(f"`{cleaned[:MAX_WHEN_LENGTH]}...` is not a time I understand. {REVIEW_FORMS}")
    if _PAST_ONLY.match(cleaned):
        raise TimeParseError(f"`{cleaned}` is in the past; a review is scheduled for a time to come. {REVIEW_FORMS}")
    tomorrow = _TOMORROW.match(cleaned)
    match = _WHEN.match(f"today {tomorrow['rest']}" if tomorrow else cleaned)
    if not match:
        raise TimeParseError(f"`{cleaned}` is not a time I understand. {REVIEW_FORMS}")
    try:
        moment = _review_moment(match, cleaned, now, tomorrow=tomorrow is not None)
    except TimeParseError as exc:  # its reason, with the review's forms instead of --at's
        raise TimeParseError(f"{str(exc).removesuffix(ACCEPTED_FORMS).strip()} {REVIEW_FORMS}") from None
    if moment <= now:
        raise TimeParseError(
            f"`{cleaned}` ({format_utc(moment)}) is in the past; a review is scheduled for a time to come. "
            f"{REVIEW_FORMS}"
        )
    if moment > now + MAX_AHEAD:
        raise TimeParseError(f"`{cleaned}` ({format_utc(moment)}) is more than a year ahead. {REVIEW_FORMS}")
    return moment


def _review_moment(match: re.Match[str], text: str, now: datetime, *, tomorrow: bool) -> datetime:
    """The moment ``match`` (of ``_WHEN``) names, a clock time alone read as its next occurrence after ``now``."""
    clock, zone = _clock(match, text), _zone(match, text)
    today = now.astimezone(zone).date()
    if match["date"]:
        try:
            day = date.fromisoformat(match["date"])
        except ValueError:
            raise _refused(f"`{match['date']}` is not a date.") from None
    else:
        day = today + timedelta(days=1 if tomorrow else 0)
    moment = _localize(day, clock, zone, text)
    if not match["date"] and not match["day"] and moment <= now:
        moment = _localize(today + timedelta(days=1), clock, zone, text)
    return moment


_LENGTH = re.compile(r"^(?:(?P<h>\d{1,2})h)?(?:(?P<m>\d{1,3})(?:m|min|mins|minutes)?)?\Z", re.IGNORECASE | re.ASCII)
MIN_REVIEW_MINUTES = 15
MAX_REVIEW_MINUTES = 480


def parse_review_length(text: str) -> int | None:
    """``90m``, ``90``, ``1h``, ``1h30m``, ``1h30`` -> minutes (15 to 480); None for anything else."""
    match = _LENGTH.match(text.strip())
    if match is None or not (match["h"] or match["m"]):
        return None
    minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    return minutes if MIN_REVIEW_MINUTES <= minutes <= MAX_REVIEW_MINUTES else None


# -- due dates (``followup ... --due DATE``) -------------------------------------------------------

DUE_FORMS = (
    "Accepted due dates: `2026-12-15` (a UTC calendar date), `today`, `tomorrow`, `+7d`, `+2w`, "
    "`in 3 days`, `in 2 weeks` (counted from the day the command is typed, UTC)."
)
MAX_DUE_DAYS = 3660
"""A due date is at most about ten years after the day it is set (``+3660d``); beyond that is a typo."""
MAX_DUE_LENGTH = 32

_DUE_ISO = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\Z", re.ASCII)
_DUE_PLUS = re.compile(r"^\+(?P<n>\d{1,4})(?P<unit>[dw])\Z", re.IGNORECASE | re.ASCII)
_DUE_IN = re.compile(r"^in (?P<n>\d{1,4}) (?P<unit>days?|weeks?)\Z", re.IGNORECASE | re.ASCII)
_DUE_WORDS = {"today": 0, "tomorrow": 1}


@dataclass(frozen=True)
class DueDate:
    """A due date as typed: a calendar date (``day``), or ``days_ahead`` of the day it is set (UTC).

    ``text`` is what was typed (normalised blanks). Resolve it with :meth:`on`.
    """

    text: str
    day: date | None = None
    days_ahead: int = 0

    def on(self, today: date) -> date:
        """The calendar date this names when typed on ``today`` (a UTC date)."""
        return self.day if self.day is not None else today + timedelta(days=self.days_ahead)


def parse_due(text: str) -> DueDate:
    """Parse a due date, one of :data:`DUE_FORMS` exactly; raise TimeParseError listing them otherwise.

    Refused: any other spelling (``2026/12/15``, ``15.12.2026``, ``12/15``, ``next friday``,
    ``+7``, ``7d``, ``+1m``, ``in 2 months``, a date with a time), a day that is not on the
    calendar (``2026-02-30``), years before 2000, and amounts beyond :data:`MAX_DUE_DAYS` days.
    Whether the date is before the follow-up was added is checked where it is applied.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TimeParseError(f"`--due` needs a date. {DUE_FORMS}")
    if len(cleaned) > MAX_DUE_LENGTH:
        raise TimeParseError(f"`{cleaned[:MAX_DUE_LENGTH]}...` is not a due date I understand. {DUE_FORMS}")
    word = cleaned.lower()
    if word in _DUE_WORDS:
        return DueDate(cleaned, days_ahead=_DUE_WORDS[word])
    iso = _DUE_ISO.match(cleaned)
    if iso is not None:
        try:
            day = date(int(iso.group("year")), int(iso.group("month")), int(iso.group("day")))
        except ValueError:
            raise TimeParseError(f"`{cleaned}` is not a day of the calendar. {DUE_FORMS}") from None
        if day.year < 2000:
            raise TimeParseError(f"`{cleaned}` is too long ago to be a due date. {DUE_FORMS}")
        return DueDate(cleaned, day=day)
    relative = _DUE_PLUS.match(cleaned) or _DUE_IN.match(cleaned)
    if relative is not None:
        days = int(relative.group("n")) * (7 if relative.group("unit").lower().startswith("w") else 1)
        if days > MAX_DUE_DAYS:
            raise TimeParseError(f"`{cleaned}` is more than {MAX_DUE_DAYS} days away. {DUE_FORMS}")
        return DueDate(cleaned, days_ahead=days)
    raise TimeParseError(f"`{cleaned}` is not a due date I understand. {DUE_FORMS}")


def format_day(day: date) -> str:
    """``2026-12-15``: a calendar date as shown to people and machines (the year always 4 digits)."""
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


# -- update intervals (``update <text> --next 30m``) -----------------------------------------------

MIN_UPDATE_MINUTES = 5
MAX_UPDATE_MINUTES = 24 * 60
UPDATE_INTERVAL_FORMS = (
    "The next update is a delay from now: `30m`, `30`, `45 min`, `1h`, `1h30m`, `2 hours` (5 minutes to 24 hours)."
)
_INTERVAL = re.compile(
    r"^(?:(?P<h>\d{1,2})\s*(?:h|hr|hrs|hour|hours))?\s*(?:(?P<m>\d{1,4})\s*(?:m|min|mins|minute|minutes)?)?\Z",
    re.IGNORECASE | re.ASCII,
)


def parse_update_interval(text: str) -> int | None:
    """``30m``, ``30``, ``45 min``, ``1h``, ``1h30m``, ``1 hour 30 minutes``, ``2 hours`` -> minutes, from
    ``MIN_UPDATE_MINUTES`` (5) to ``MAX_UPDATE_MINUTES`` (1,440); None for anything else (``0m``, ``25h``,
    ``soon``, ``14:30``, ``1.5h``)."""
    match = _INTERVAL.match(" ".join(text.split()))
    if match is None or not (match["h"] or match["m"]):
        return None
    minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    return minutes if MIN_UPDATE_MINUTES <= minutes <= MAX_UPDATE_MINUTES else None
