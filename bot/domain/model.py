"""The incident as plain data: statuses, severities, people, hypotheses, follow-ups, timeline entries.

Nothing here knows about Slack or the database; adapters translate to and from these types.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

# At most 9 digits: int() refuses very long digit strings, and no team declares a billion incidents.
INCIDENT_ID_PATTERN = re.compile(r"^INC-(\d{1,9})\Z", re.IGNORECASE)
_SLACK_USER_ID = re.compile(r"^[UW](?=[A-Z0-9]*[0-9])[A-Z0-9]{4,}\Z")
_SLACK_USER_IDS_WITHOUT_DIGITS = frozenset({"USLACKBOT"})
"""Slackbot's fixed user id, the one user id without a digit."""
# "sev"/"severity" then a digit is severity-like whatever follows (``sev1x`` is refused, not a title);
# S/P words only in the exact form (``P99 latency``, ``P2P network`` are titles).
_SEVERITY_LIKE = re.compile(r"^(?:sev(?:erity)?[-_ ]?\d|[sp]-?0*\d$)", re.IGNORECASE | re.ASCII)
_SEVERITY_SPELLING = re.compile(r"^(?:sev(?:erity)?[-_ ]?|[sp]-?)0*(\d+)\Z", re.IGNORECASE | re.ASCII)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_SEPARATORS = ",:;-"


class Status(StrEnum):
    """Where an incident is in its life; what each status means is the table ``STATUS_MEANINGS`` below."""

    DECLARED = "declared"
    INVESTIGATING = "investigating"
    MITIGATED = "mitigated"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        """Still needs people: listed as open, nudged when quiet, kept paged."""
        return STATUS_MEANINGS[self].open

    @property
    def is_mitigated(self) -> bool:
        """The impact has ended: time to mitigate stops at the first such status, and the service's
        error budget is no longer charged (``bot.domain.slo``)."""
        return STATUS_MEANINGS[self].mitigated

    @classmethod
    def of_entry(cls, entry: TimelineEntry) -> Status | None:
        """The status a timeline entry moved its incident to, or None when it changed no status."""
        value = entry.data.get("status_to")
        return cls(value) if value in _STATUS_VALUES else None


class PostmortemStatus(StrEnum):
    """Where an incident's postmortem is in its review (``postmortem status ...``); ``draft`` until told."""

    DRAFT = "draft"
    IN_REVIEW = "in-review"
    PUBLISHED = "published"

    @classmethod
    def parse(cls, word: str) -> PostmortemStatus | None:
        """``draft``, ``in-review`` (also ``in_review``, ``inreview``, ``in review``, ``In\u2013Review`` with
        a phone's en dash), ``published``, in any case; None for anything else."""
        key = re.sub(r"[\s_\-\u2010-\u2015\u2212]+", "", word.strip().lower())
        return {"draft": cls.DRAFT, "inreview": cls.IN_REVIEW, "published": cls.PUBLISHED}.get(key)


@dataclass(frozen=True)
class StatusMeaning:
    """What being in a status implies; every module asks the status (``Status.is_open``, ...)."""

    open: bool
    mitigated: bool


STATUS_MEANINGS: dict[Status, StatusMeaning] = {
    #                                      open   mitigated (impact ended, budget no longer charged)
    Status.DECLARED: StatusMeaning(open=True, mitigated=False),
    Status.INVESTIGATING: StatusMeaning(open=True, mitigated=False),
    Status.MITIGATED: StatusMeaning(open=True, mitigated=True),
    Status.MONITORING: StatusMeaning(open=True, mitigated=True),
    Status.RESOLVED: StatusMeaning(open=False, mitigated=True),
}
"""The one definition of each status's meaning; the transition table is in ``bot.domain.lifecycle``."""

OPEN_STATUSES = tuple(status for status in Status if status.is_open)
"""Statuses in which an incident is open, in life-cycle order."""

_STATUS_VALUES = frozenset(status.value for status in Status)


class Severity(StrEnum):
    """sev1 is the worst; sev3 is the default when a declarer does not say."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @classmethod
    def parse(cls, text: str) -> Severity | None:
        """The severity named by ``text`` in any spelling teams use, or None.

        ``SEV1``, ``sev1``, ``SEV-1``, ``sev_1``, ``sev 1``, ``severity 1``, ``sev-01``, ``S1``,
        ``S-1``, ``P1``, ``P-1`` all mean sev1, and so on to 4: in any case, in brackets or
        parentheses (``[sev1]``, ``(P1)``), with a trailing ``,`` ``:`` ``;`` or ``-``, with an en or
        em dash for the hyphen (``SEV\u20131``), with full-width characters (``sev\uff11``, read through
        Unicode NFKC), and as agreeing alternatives (``P1/SEV1``). A spelling that looks like a
        severity but is not one (``sev0``, ``P0``, ``sev5``, ``sev1x``, ``P1/SEV2``) is None too;
        :func:`looks_like_severity` tells the two apart.
        """
        parts = [_SEVERITY_SPELLING.match(part) for part in _severity_word(text).split("/")]
        levels = {int(match.group(1)) for match in parts if match is not None}
        if None in parts or len(levels) != 1:
            return None
        try:
            return cls(f"sev{levels.pop()}")
        except ValueError:
            return None


DEFAULT_SEVERITY = Severity.SEV3

SEVERITY_SPELLINGS = "sev1 (worst) to sev4, also written SEV-1, sev 1, S1 or P1"
"""The valid severities as refusals list them."""


def looks_like_severity(text: str) -> bool:
    """True for anything spelled like a severity, valid or not: ``sev5``, ``P0``, ``S-9``, ``sev 1``,
    ``sev1x``, ``[SEV1]``, ``P1/SEV1``; False for ``P99``, ``P2P``, ``several``."""
    return any(_SEVERITY_LIKE.match(part) for part in _severity_word(text).split("/"))


def _severity_word(text: str) -> str:
    """``[SEV\u2013\uff11]:`` -> ``SEV-1``: NFKC, dashes as ``-``, outer brackets and trailing separators off."""
    word = " ".join(unicodedata.normalize("NFKC", text).translate(_DASHES).split())
    word = word.rstrip(_SEPARATORS).strip().lstrip("[(").rstrip("])").strip()
    return word.rstrip(_SEPARATORS).strip()


class EntryKind(StrEnum):
    """What a timeline entry records."""

    DECLARED = "declared"
    LEAD = "lead"
    ASSEMBLED = "assembled"
    HYPOTHESIS = "hypothesis"
    HYPOTHESIS_REJECTED = "hypothesis_rejected"
    HYPOTHESIS_CONFIRMED = "hypothesis_confirmed"
    MITIGATION = "mitigation"
    ROLLBACK = "rollback"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    SEVERITY = "severity"
    NOTE = "note"
    FOLLOWUP = "followup"
    FOLLOWUP_DONE = "followup_done"
    FOLLOWUP_REOPENED = "followup_reopened"
    FOLLOWUP_OWNER = "followup_owner"
    FOLLOWUP_DUE = "followup_due"
    FOLLOWUP_DROPPED = "followup_dropped"
    FOLLOWUP_REMINDER = "followup_reminder"
    FOLLOWUP_EXPORT = "followup_export"
    FOLLOWUP_EXPORTED = "followup_exported"
    FOLLOWUP_TRACKER_GONE = "followup_tracker_gone"
    POSTMORTEM_PUBLISHED = "postmortem_published"
    PINNED = "pinned"
    SERVICE = "service"
    IMPACT = "impact"
    ALERT_FIRED = "alert_fired"
    ALERT_CLEARED = "alert_cleared"
    NUDGE = "nudge"
    CORRECTION = "correction"
    STRIKE = "strike"
    POSTMORTEM_STATUS = "postmortem_status"
    POSTMORTEM_OWNER = "postmortem_owner"
    POSTMORTEM_REVIEW = "postmortem_review"
    POSTMORTEM_REMINDER = "postmortem_reminder"
    UPDATE = "update"
    STATUSPAGE = "statuspage"
    CHANNEL_ARCHIVED = "channel_archived"
    CHANNEL_UNARCHIVED = "channel_unarchived"


STATUS_CHANGE_KINDS = frozenset(
    {
        EntryKind.MITIGATION,
        EntryKind.ROLLBACK,
        EntryKind.MONITORING,
        EntryKind.RESOLVED,
        EntryKind.REOPENED,
        EntryKind.SEVERITY,
    }
)
"""Entries that change an incident's status or severity: a backdated one may not precede the latest."""

STATUS_CHANGE_NAMES = {
    EntryKind.MITIGATION: "mitigation",
    EntryKind.ROLLBACK: "rollback",
    EntryKind.MONITORING: "monitoring",
    EntryKind.RESOLVED: "resolved",
    EntryKind.REOPENED: "reopened",
    EntryKind.SEVERITY: "severity change",
}

FOLLOWUP_CHANGE_NAMES = {
    EntryKind.FOLLOWUP_DONE: "done",
    EntryKind.FOLLOWUP_REOPENED: "reopened",
    EntryKind.FOLLOWUP_OWNER: "owner change",
    EntryKind.FOLLOWUP_DUE: "due date change",
    EntryKind.FOLLOWUP_DROPPED: "dropped",
    EntryKind.FOLLOWUP_EXPORT: "export",
}
"""The entries that change one follow-up (a user's command), with how refusals name them; a backdated
one may not precede the follow-up's latest (``Followup.latest_change``). ``followup_exported`` (the
tracker's answer, recorded by the bot when it comes) and reminders are not changes of this kind."""


@dataclass(frozen=True)
class StatusChange:
    """The latest status or severity change of an incident, or the latest change of a follow-up (by when
    it happened, UTC)."""

    kind: EntryKind
    occurred_at: datetime


class HypothesisStatus(StrEnum):
    OPEN = "open"
    REJECTED = "rejected"
    CONFIRMED = "confirmed"


def is_slack_user_id(who: str) -> bool:
    """True for a Slack user id (``U0123ABC``, ``W0123ABC`` on Enterprise Grid).

    The rule: ``U`` or ``W``, then at least four upper-case letters or digits, at least one a
    digit (``U0BOB``, ``U024BE7LH``), or Slackbot's ``USLACKBOT``. Real ids are longer (eight
    or more after the letter); the shorter minimum keeps test ids such as ``U0BOB`` valid while
    names typed in the CLI (``@W3C``, ``@U2``, ``@WALTER``) stay names.

    People and actors are recorded as plain strings: Slack user ids, names given in the CLI
    (``alice`` from ``@alice``) and non-users (``alertmanager``, ``cli``, ``incidentbot``).
    Only user ids can be mentioned, invited or sent a message.
    """
    return _SLACK_USER_ID.match(who) is not None or who in _SLACK_USER_IDS_WITHOUT_DIGITS


def format_incident_id(number: int) -> str:
    """``7`` -> ``INC-7``: the one spelling users see everywhere."""
    return f"INC-{number}"


def parse_incident_id(text: str) -> int | None:
    """``INC-7`` (any case) -> 7, anything else -> None."""
    match = INCIDENT_ID_PATTERN.match(text.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Member:
    """A responder in the incident response team, with an optional SME role."""

    user_id: str
    role: str | None
    joined_at: datetime


@dataclass(frozen=True)
class Hypothesis:
    """A numbered theory about the cause; confirmed means it is the root cause."""

    number: int
    text: str
    proposed_by: str
    proposed_at: datetime
    status: HypothesisStatus = HypothesisStatus.OPEN
    outcome: str = ""
    decided_at: datetime | None = None


class FollowupState(StrEnum):
    """Where an action item stands: ``open`` until it is ``done`` or ``dropped`` (with a reason);
    ``followup reopen`` makes a done or dropped one open again."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


COMPLETIONS = ("done_on_time", "done_late", "open", "open_overdue", "dropped")
"""The follow-up completion categories reports count (``Followup.completion``); each follow-up is in one."""


@dataclass(frozen=True)
class Followup:
    """A postmortem action item.

    ``due``: the UTC calendar day it should be done by (None: no date). ``done_at``: when it was
    done (UTC), None unless ``state`` is done. ``tracker_key``/``tracker_url``: the issue filed for it
    in the team's tracker (``PROJ-12``, ``owner/repo#12``), None until it is exported, and again once
    that issue is gone from the tracker (deleted there: a ``followup_tracker_gone`` entry keeps its key). A backdated
    change may not precede ``created_at`` nor ``latest_change`` (its state follows the timeline order).
    """

    number: int
    text: str
    owner: str | None
    created_at: datetime
    state: FollowupState = FollowupState.OPEN
    due: date | None = None
    done_at: datetime | None = None
    tracker_key: str | None = None
    tracker_url: str | None = None
    latest_change: StatusChange | None = field(default=None, compare=False)
    """Its newest change (a :data:`FOLLOWUP_CHANGE_NAMES` entry's kind and time, UTC), None when unchanged
    since it was added; read from the timeline, not stored with the follow-up (so not compared)."""

    def is_overdue(self, today: date) -> bool:
        """Still open after its due day (``today``: the UTC date now)."""
        return self.state is FollowupState.OPEN and self.due is not None and self.due < today

    def completion(self, today: date) -> str:
        """How it stands for reports on ``today`` (UTC): ``done_on_time``, ``done_late``, ``open``,
        ``open_overdue`` or ``dropped`` (:data:`COMPLETIONS`, in that order)."""
        if self.state is FollowupState.DROPPED:
            return "dropped"
        if self.state is FollowupState.DONE:
            return "done_on_time" if self.done_on_time() else "done_late"
        return "open_overdue" if self.is_overdue(today) else "open"

    def done_on_time(self) -> bool | None:
        """Done by the end of its due day (UTC): True, False (late), or None when not done; done
        without a due date counts as on time."""
        if self.state is not FollowupState.DONE or self.done_at is None:
            return None
        return self.due is None or self.done_at.astimezone(UTC).date() <= self.due


@dataclass(frozen=True)
class TimelineEntry:
    """One immutable fact on the timeline: when it happened, when it was recorded, who, what."""

    kind: EntryKind
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    number: int | None = field(default=None, compare=False)
    """Its place in the incident's record (1 for the first entry recorded, in recording order), which
    ``correct`` and ``strike`` name; set by the store when read back, None on an entry not yet stored."""

    def sort_key(self) -> tuple[datetime, datetime]:
        return (self.occurred_at, self.recorded_at)


@dataclass(frozen=True)
class Incident:
    """The current state of one incident; the timeline holds its history."""

    number: int
    title: str
    severity: Severity
    status: Status
    declared_at: datetime
    declared_by: str
    lead: str | None = None
    channel_id: str | None = None
    description: str = ""
    members: tuple[Member, ...] = ()
    hypotheses: tuple[Hypothesis, ...] = ()
    followups: tuple[Followup, ...] = ()
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    summary: str = ""
    service: str | None = None
    impact_percent: float | None = None
    private: bool = False
    """Declared ``--private``: its channel is private and its title and details are for members only."""
    version: int = 0
    latest_change: StatusChange | None = None
    channel_archived_at: datetime | None = None
    """When the bot archived the incident's channel (UTC); None while it is not archived by the bot."""
    channel_problem: str | None = None
    """Why Slack refuses the bot the incident's channel (archived or made private by hand, the bot removed),
    as a person reads it; None while the channel works."""

    @property
    def incident_id(self) -> str:
        return format_incident_id(self.number)

    def member(self, user_id: str) -> Member | None:
        return next((m for m in self.members if m.user_id == user_id), None)

    def hypothesis(self, number: int) -> Hypothesis | None:
        return next((h for h in self.hypotheses if h.number == number), None)

    def followup(self, number: int) -> Followup | None:
        return next((f for f in self.followups if f.number == number), None)

    @property
    def root_cause(self) -> Hypothesis | None:
        return next((h for h in self.hypotheses if h.status is HypothesisStatus.CONFIRMED), None)

    def with_changes(self, **changes: Any) -> Incident:
        return replace(self, **changes)


@dataclass(frozen=True)
class IncidentSummary:
    """What lists show: enough to pick an incident, without loading its team or timeline (times in UTC)."""

    number: int
    title: str
    severity: Severity
    status: Status
    lead: str | None
    channel_id: str | None
    declared_at: datetime
    resolved_at: datetime | None
    postmortem_status: PostmortemStatus | None = None
    """Where a resolved incident's postmortem stands (``bot.domain.review``); None for an open incident."""
    private: bool = False
    """Declared ``--private``: the title is for the incident's members only."""
    channel_problem: str | None = None
    """Why Slack refuses the bot the incident's channel (``Incident.channel_problem``); None while it works."""
    service: str | None = None
    """The affected service (``Incident.service``); None when none was named."""


@dataclass(frozen=True)
class FollowupListing:
    """A follow-up with the incident it came from, for lists across incidents."""

    incident_number: int
    incident_title: str
    severity: Severity
    service: str | None
    followup: Followup
    private: bool = False
    """Its incident is private (``bot.domain.privacy.hidden_listing``)."""

    @property
    def incident_id(self) -> str:
        return format_incident_id(self.incident_number)


def sorted_timeline(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Chronological order: by when it happened, then by when it was recorded."""
    return sorted(entries, key=TimelineEntry.sort_key)
