"""The postmortem review's calendar invite: an RFC 5545 iCalendar file (``INC-7-postmortem-review.ics``), written
with the ``icalendar`` library (line folding, text escaping, parameter quoting are its job).

One VEVENT per review: its UID is the review's (stable for the incident: a re-scheduled review replaces the
event in calendars, RFC 5545 section 3.8.4.7), its SEQUENCE counts the re-schedulings (section 3.8.7.4), DTSTART
and DTEND are UTC date-times (``...Z``, section 3.3.5 form #2). Attendees whose e-mail address Slack gave are
ATTENDEE lines (section 3.8.4.1, ``mailto:``); the others, and user groups, are named in DESCRIPTION. The
ORGANIZER (section 3.8.4.3) is the postmortem owner.

A scheduling message needs both: RFC 5546 section 3.2.2 (METHOD:REQUEST) requires an ORGANIZER and at least
one ATTENDEE, and section 3.2.1 (METHOD:PUBLISH) an ORGANIZER and no ATTENDEE. So when the owner's address and
at least one attendee's are known the file is a REQUEST; otherwise it is a plain RFC 5545 event to import, with
no METHOD, no ORGANIZER and no ATTENDEE (section 3.8.4.3: ORGANIZER is only for group-scheduled components),
everyone invited named in DESCRIPTION.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

from bot.domain.model import Incident
from bot.domain.review import ScheduledReview

PRODID = "-//incidentbot//postmortem review//EN"


@dataclass(frozen=True)
class Invitee:
    """A person on the invite: ``user`` as recorded (Slack id or CLI name), ``name`` as people read it, and the
    e-mail address Slack's ``users.info`` gave (``profile.email``), None when it gave none."""

    user: str
    name: str
    email: str | None = None


def invite_filename(incident: Incident) -> str:
    """``INC-7-postmortem-review.ics``."""
    return f"{incident.incident_id}-postmortem-review.ics"


def build_review_invite(
    incident: Incident,
    review: ScheduledReview,
    attendees: Sequence[Invitee],
    organizer: Invitee | None,
    now: datetime,
    *,
    groups: Sequence[str] = (),
    channel: str | None = None,
) -> bytes:
    """The invite as iCalendar bytes (UTF-8, CRLF line ends). ``now`` (UTC) is its DTSTAMP; ``groups`` the user
    groups invited, as named (``@netops``); ``channel`` where the incident is discussed (a name or link), in
    DESCRIPTION."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    organizer_address = _address(organizer) if organizer is not None and organizer.email else None
    addressed = [invitee for invitee in attendees if invitee.email]
    scheduling = organizer_address is not None and bool(addressed)
    if scheduling:
        calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", review.uid)
    event.add("sequence", review.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", review.at.astimezone(UTC))
    event.add("dtend", review.ends_at.astimezone(UTC))
    event.add("summary", f"Postmortem review: {incident.incident_id} {incident.title}")
    event.add("description", _description(incident, attendees, groups, channel, organizer, scheduling=scheduling))
    event.add("status", "CONFIRMED")
    if scheduling:
        event.add("organizer", organizer_address)
        for invitee in addressed:
            address = _address(invitee)
            address.params["role"] = "REQ-PARTICIPANT"
            address.params["partstat"] = "NEEDS-ACTION"
            address.params["rsvp"] = "TRUE"
            event.add("attendee", address, encode=False)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def _address(invitee: Invitee) -> vCalAddress:
    address = vCalAddress(f"mailto:{invitee.email}")
    address.params["cn"] = vText(invitee.name)
    return address


def _description(
    incident: Incident,
    attendees: Sequence[Invitee],
    groups: Sequence[str],
    channel: str | None,
    organizer: Invitee | None,
    *,
    scheduling: bool,
) -> str:
    lines = [
        f"Blameless postmortem review of {incident.incident_id} ({incident.severity.value}): {incident.title}.",
    ]
    if channel:
        lines.append(f"Incident channel: {channel}")
    if organizer is not None:
        lines.append(f"Postmortem owner: {organizer.name}")
    if scheduling:
        without_email = [invitee.name for invitee in attendees if not invitee.email]
        if without_email:
            lines.append(f"Also invited (no e-mail address known): {', '.join(without_email)}")
    elif attendees:
        lines.append(f"Invited: {', '.join(invitee.name for invitee in attendees)}")
    if groups:
        lines.append(f"User groups invited: {', '.join(groups)}")
    return "\n".join(lines)
