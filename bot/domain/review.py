"""The postmortem's review life cycle, read from the timeline: its status (draft, in review, published), its
owner, the review meeting, and whether a resolved sev1/sev2 incident's draft is owed a reminder.

Nothing is stored but timeline entries (``postmortem_status``, ``postmortem_owner``, ``postmortem_review``,
``postmortem_reminder``), appended like every other: :func:`review_state` folds them, latest last, into what the
postmortem is now; :func:`record` decides a command against that state and returns the entry to append (or
raises TransitionError saying why not). A review scheduled again keeps its calendar UID and counts up its
``sequence`` (RFC 5545 section 3.8.7.4: an organizer's revision of an event increments SEQUENCE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from bot.domain.commands import (
    PostmortemChange,
    RemindPostmortem,
    ScheduleReview,
    SetPostmortemOwner,
    SetPostmortemStatus,
)
from bot.domain.errors import TransitionError
from bot.domain.model import EntryKind, Incident, PostmortemStatus, Severity, Status, TimelineEntry
from bot.domain.timeparse import format_day, format_utc

REVIEW_KINDS = (
    EntryKind.POSTMORTEM_STATUS,
    EntryKind.POSTMORTEM_OWNER,
    EntryKind.POSTMORTEM_REVIEW,
    EntryKind.POSTMORTEM_REMINDER,
)
"""The entries :func:`review_state` reads."""
EntryMaker = Callable[..., TimelineEntry]
"""``Stamp.entry``: a kind, then the entry's data as keywords."""
REMINDED_SEVERITIES = frozenset({Severity.SEV1, Severity.SEV2})
"""Only these incidents' drafts are chased (a sev3/sev4 postmortem is optional)."""
DEFAULT_REMINDER_DAYS = 5


@dataclass(frozen=True)
class ScheduledReview:
    """The review meeting as last scheduled: ``at`` (UTC), ``minutes`` long, ``attendees`` (Slack user ids or
    CLI names), ``groups`` (Slack user group ids), ``sequence`` 0 for the first scheduling, +1 for each
    re-scheduling, ``uid`` the calendar event's UID (the same for every re-scheduling)."""

    at: datetime
    minutes: int
    attendees: tuple[str, ...]
    groups: tuple[str, ...]
    sequence: int
    uid: str
    group_handles: Mapping[str, str] = field(default_factory=dict)

    @property
    def ends_at(self) -> datetime:
        return self.at + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class PostmortemReview:
    """What an incident's postmortem is now: ``status``, ``owner`` (a user id or CLI name), the ``review``
    scheduled, and the UTC day of its latest draft reminder (``reminded_on``, ``YYYY-MM-DD``)."""

    status: PostmortemStatus = PostmortemStatus.DRAFT
    owner: str | None = None
    review: ScheduledReview | None = None
    reminded_on: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    """Display names Slack sent for the people named (owner, attendees)."""


def review_state(entries: Iterable[TimelineEntry]) -> PostmortemReview:
    """Fold the incident's review entries (any others are skipped), oldest first as the store lists them, into its
    state: the latest status, owner and review win."""
    state = PostmortemReview()
    for entry in entries:
        data = entry.data
        names = {**state.names, **{str(k): str(v) for k, v in (data.get("names") or {}).items()}}
        if entry.kind is EntryKind.POSTMORTEM_STATUS:
            state = replace(state, status=PostmortemStatus(str(data["status"])), names=names)
        elif entry.kind is EntryKind.POSTMORTEM_OWNER:
            state = replace(state, owner=str(data["owner"]), names=names)
        elif entry.kind is EntryKind.POSTMORTEM_REVIEW:
            state = replace(state, review=_review_of(entry), names=names)
        elif entry.kind is EntryKind.POSTMORTEM_REMINDER:
            state = replace(state, reminded_on=str(data["day"]))
    return state


def _review_of(entry: TimelineEntry) -> ScheduledReview:
    data = entry.data
    return ScheduledReview(
        at=datetime.fromisoformat(str(data["at"])).astimezone(UTC),
        minutes=int(data["minutes"]),
        attendees=tuple(str(a) for a in data.get("attendees") or ()),
        groups=tuple(str(g) for g in data.get("groups") or ()),
        sequence=int(data.get("sequence") or 0),
        uid=str(data["uid"]),
        group_handles={str(k): str(v) for k, v in (data.get("group_handles") or {}).items()},
    )


def default_uid(incident: Incident, installation: str | None = None) -> str:
    """The UID of an incident's review event: ``incidentbot-<installation>-INC-7-postmortem-review@incidentbot``
    (the installation id keeps a staging bot's INC-7 apart from production's in one calendar)."""
    scope = f"{installation}-" if installation else ""
    return f"incidentbot-{scope}{incident.incident_id}-postmortem-review@incidentbot"


def record(
    incident: Incident, action: PostmortemChange, state: PostmortemReview, entry_of: EntryMaker
) -> TimelineEntry:
    """The entry ``action`` appends, decided against ``state`` (from :func:`review_state`); ``entry_of`` is the
    command's ``Stamp.entry``. Raises TransitionError for a change that changes nothing, a status beyond draft
    before the incident is resolved, a review without its time resolved (``ScheduleReview.at``)."""
    ident = incident.incident_id
    if isinstance(action, SetPostmortemStatus):
        if action.status is state.status:
            raise TransitionError(f"The postmortem of {ident} is already {action.status.value}.")
        if action.status is not PostmortemStatus.DRAFT and incident.status is not Status.RESOLVED:
            raise TransitionError(
                f"{ident} is still {incident.status.value}: its postmortem is reviewed once it is resolved "
                f"(`/incident {ident} resolve [summary]`)."
            )
        return entry_of(EntryKind.POSTMORTEM_STATUS, status=action.status.value, previous=state.status.value)
    if isinstance(action, SetPostmortemOwner):
        if action.user.user_id == state.owner:
            raise TransitionError(f"The postmortem of {ident} is already owned by that person.")
        names = {action.user.user_id: action.user.name} if action.user.name else {}
        return entry_of(EntryKind.POSTMORTEM_OWNER, owner=action.user.user_id, previous=state.owner, names=names)
    if isinstance(action, ScheduleReview):
        return _record_review(incident, action, state, entry_of)
    return _record_reminder(incident, action, state, entry_of)


def _record_review(
    incident: Incident, action: ScheduleReview, state: PostmortemReview, entry_of: EntryMaker
) -> TimelineEntry:
    if action.at is None:
        raise TransitionError(f"The review of {incident.incident_id} needs its time.")
    previous = state.review
    attendees = list(dict.fromkeys(user.user_id for user in action.attendees))
    groups = list(dict.fromkeys(group.group_id for group in action.groups))
    if (
        previous is not None
        and previous.at == action.at
        and previous.minutes == action.minutes
        and list(previous.attendees) == attendees
        and list(previous.groups) == groups
    ):
        raise TransitionError(
            f"The review of {incident.incident_id} is already scheduled so, for {format_utc(action.at)}."
        )
    names = {user.user_id: user.name for user in action.attendees if user.name}
    handles = {group.group_id: group.handle.lstrip("@") for group in action.groups if group.handle}
    return entry_of(
        EntryKind.POSTMORTEM_REVIEW,
        at=action.at.astimezone(UTC).isoformat(),
        minutes=action.minutes,
        attendees=attendees,
        groups=groups,
        group_handles=handles,
        sequence=previous.sequence + 1 if previous else 0,
        uid=previous.uid if previous else (action.uid or default_uid(incident)),
        previous_at=previous.at.isoformat() if previous else None,
        names=names,
    )


def _record_reminder(
    incident: Incident, action: RemindPostmortem, state: PostmortemReview, entry_of: EntryMaker
) -> TimelineEntry:
    day = format_day(action.day)
    if state.status is not PostmortemStatus.DRAFT:
        raise TransitionError(f"The postmortem of {incident.incident_id} is {state.status.value}, not a draft.")
    if state.reminded_on is not None and state.reminded_on >= day:
        raise TransitionError(f"The postmortem of {incident.incident_id} was already reminded on {day}.")
    return entry_of(EntryKind.POSTMORTEM_REMINDER, day=day, reminded=who_is_reminded(incident, state))


def who_is_reminded(incident: Incident, state: PostmortemReview) -> str | None:
    """The postmortem owner, else the incident lead, else nobody (the channel is still told)."""
    return state.owner or incident.lead


def needs_postmortem_reminder(incident: Incident, state: PostmortemReview, today: date, after_days: int | None) -> bool:
    """True when a resolved sev1/sev2 incident's postmortem is still a draft ``after_days`` whole days after its
    resolve (UTC days: resolved on the 22nd, 5 days -> from the 27th) and was not reminded on ``today`` (UTC).
    ``after_days`` None: reminders are off."""
    if after_days is None or incident.severity not in REMINDED_SEVERITIES:
        return False
    if incident.status is not Status.RESOLVED or incident.resolved_at is None:
        return False
    if state.status is not PostmortemStatus.DRAFT:
        return False
    if (today - incident.resolved_at.astimezone(UTC).date()).days < after_days:
        return False
    return state.reminded_on is None or state.reminded_on < format_day(today)
