"""The incident as plain data: statuses, severities, people, hypotheses, follow-ups, timeline entries.

Nothing here knows about Slack or the database; adapters translate to and from these types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

# At most 9 digits: int() refuses very long digit strings, and no team declares a billion incidents.
INCIDENT_ID_PATTERN = re.compile(r"^INC-(\d{1,9})$", re.IGNORECASE)
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SEVERITY_SPELLING = re.compile(r"^(?:sev(?:erity)?[-_ ]?|[sp]-?)(\d):?$", re.IGNORECASE | re.ASCII)


class Status(StrEnum):
    """Where an incident is in its life."""

    DECLARED = "declared"
    INVESTIGATING = "investigating"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not Status.RESOLVED


class Severity(StrEnum):
    """sev1 is the worst; sev3 is the default when a declarer does not say."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @classmethod
    def parse(cls, text: str) -> Severity | None:
        """The severity named by ``text`` in any spelling teams use, or None.

        ``SEV1``, ``sev1``, ``SEV-1``, ``sev_1``, ``sev 1``, ``severity 1``, ``S1``, ``S-1``, ``P1``,
        ``P-1`` (any case, an optional trailing colon) all mean sev1, and so on to 4. A spelling
        that looks like a severity but is out of range (``sev0``, ``P0``, ``sev5``) is None too;
        :func:`looks_like_severity` tells the two apart.
        """
        match = _SEVERITY_SPELLING.match(" ".join(text.split()))
        if match is None:
            return None
        try:
            return cls(f"sev{int(match.group(1))}")
        except ValueError:
            return None


DEFAULT_SEVERITY = Severity.SEV3

SEVERITY_SPELLINGS = "sev1 (worst) to sev4, also written SEV-1, sev 1, S1 or P1"
"""The valid severities as refusals list them."""


def looks_like_severity(text: str) -> bool:
    """True for anything spelled like a severity, valid or not: ``sev5``, ``P0``, ``S-9``, ``sev 1``."""
    return _SEVERITY_SPELLING.match(" ".join(text.split())) is not None


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
    RESOLVED = "resolved"
    REOPENED = "reopened"
    SEVERITY = "severity"
    NOTE = "note"
    FOLLOWUP = "followup"
    PINNED = "pinned"
    SERVICE = "service"
    IMPACT = "impact"
    ALERT_FIRED = "alert_fired"
    ALERT_CLEARED = "alert_cleared"
    NUDGE = "nudge"


class HypothesisStatus(StrEnum):
    OPEN = "open"
    REJECTED = "rejected"
    CONFIRMED = "confirmed"


def is_slack_user_id(who: str) -> bool:
    """True for a Slack user id (``U0123ABC``, ``W0123ABC`` on Enterprise Grid).

    People and actors are recorded as plain strings: Slack user ids, names given in the CLI
    (``alice`` from ``@alice``) and non-users (``alertmanager``, ``cli``, ``incidentbot``).
    Only user ids can be mentioned, invited or sent a message.
    """
    return _SLACK_USER_ID.match(who) is not None


def slack_mention(who: str) -> str:
    """How ``who`` is written in Slack mrkdwn: ``<@U0123>`` for a user id (Slack renders the current
    display name), the plain name for anyone else (``alertmanager``, never ``<@alertmanager>``,
    which Slack shows as a broken mention)."""
    if is_slack_user_id(who):
        return f"<@{who}>"
    return who.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


@dataclass(frozen=True)
class Followup:
    """A postmortem action item."""

    number: int
    text: str
    owner: str | None
    created_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    """One immutable fact on the timeline: when it happened, when it was recorded, who, what."""

    kind: EntryKind
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)

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
    version: int = 0

    @property
    def incident_id(self) -> str:
        return format_incident_id(self.number)

    def member(self, user_id: str) -> Member | None:
        return next((m for m in self.members if m.user_id == user_id), None)

    def hypothesis(self, number: int) -> Hypothesis | None:
        return next((h for h in self.hypotheses if h.number == number), None)

    @property
    def root_cause(self) -> Hypothesis | None:
        return next((h for h in self.hypotheses if h.status is HypothesisStatus.CONFIRMED), None)

    def with_changes(self, **changes: Any) -> Incident:
        return replace(self, **changes)


def sorted_timeline(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Chronological order: by when it happened, then by when it was recorded."""
    return sorted(entries, key=TimelineEntry.sort_key)
