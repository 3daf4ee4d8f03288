"""What a user can ask of the bot, as typed values: the output of the grammar, the input of the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from bot.domain.model import PostmortemStatus, Severity
from bot.domain.timeparse import DueDate

# Every command that changes an incident says how users type its verb (``verb``, as refusals name
# it) and, when strict roles reserve it for the incident lead and IRT, what refusals call doing it
# (``restricted_move``, ``{it}`` standing for the incident); None leaves it to anyone.


@dataclass(frozen=True)
class UserRef:
    """A Slack user as the client escapes it: ``<@U0123ABC|alice>`` or ``<@U0123ABC>``."""

    user_id: str
    name: str | None = None


@dataclass(frozen=True)
class GroupRef:
    """A Slack user group: ``<!subteam^S0123|@netops>``; adapters expand it to its members."""

    group_id: str
    handle: str | None = None


@dataclass(frozen=True)
class Assignee:
    """Somebody (or a group) joining the IRT, with an optional SME role such as networking."""

    who: UserRef | GroupRef
    role: str | None = None


@dataclass(frozen=True)
class Declare:
    verb: ClassVar[str] = "declare"
    restricted_move: ClassVar[str | None] = None
    title: str
    severity: Severity
    description: str = ""
    service: str | None = None
    private: bool = False
    """``--private`` (or the modal's checkbox): a private channel, title and details for members only
    (``bot.domain.privacy``)."""


@dataclass(frozen=True)
class SetLead:
    verb: ClassVar[str] = "lead"
    restricted_move: ClassVar[str | None] = "change the lead of {it}"
    user: UserRef


@dataclass(frozen=True)
class Assemble:
    verb: ClassVar[str] = "assemble"
    restricted_move: ClassVar[str | None] = "add responders to {it}"
    assignees: tuple[Assignee, ...]


@dataclass(frozen=True)
class AddHypothesis:
    verb: ClassVar[str] = "hypothesis"
    restricted_move: ClassVar[str | None] = None
    text: str


@dataclass(frozen=True)
class RejectHypothesis:
    verb: ClassVar[str] = "hypothesis"
    restricted_move: ClassVar[str | None] = "reject a hypothesis of {it}"
    number: int
    reason: str = ""


@dataclass(frozen=True)
class ConfirmHypothesis:
    verb: ClassVar[str] = "hypothesis"
    restricted_move: ClassVar[str | None] = "confirm a hypothesis of {it}"
    number: int
    note: str = ""


@dataclass(frozen=True)
class Mitigate:
    verb: ClassVar[str] = "mitigate"
    restricted_move: ClassVar[str | None] = None
    text: str


@dataclass(frozen=True)
class Rollback:
    verb: ClassVar[str] = "rollback"
    restricted_move: ClassVar[str | None] = "roll {it} back"
    text: str


@dataclass(frozen=True)
class Monitor:
    """The fix is in; the team watches the metrics before declaring victory (``text``: what they watch)."""

    verb: ClassVar[str] = "monitor"
    restricted_move: ClassVar[str | None] = "move {it} to monitoring"
    text: str


@dataclass(frozen=True)
class Resolve:
    verb: ClassVar[str] = "resolve"
    restricted_move: ClassVar[str | None] = "resolve {it}"
    summary: str = ""


@dataclass(frozen=True)
class Reopen:
    verb: ClassVar[str] = "reopen"
    restricted_move: ClassVar[str | None] = "reopen {it}"
    reason: str = ""


@dataclass(frozen=True)
class ChangeSeverity:
    verb: ClassVar[str] = "severity"
    restricted_move: ClassVar[str | None] = "change the severity of {it}"
    severity: Severity


@dataclass(frozen=True)
class AddNote:
    verb: ClassVar[str] = "note"
    restricted_move: ClassVar[str | None] = None
    text: str


@dataclass(frozen=True)
class PostUpdate:
    """``update <text> [--next 30m]``: a status update for the people outside the channel (what we know,
    what we are doing); ``next_minutes`` promises the next one that many minutes after it is recorded."""

    verb: ClassVar[str] = "update"
    restricted_move: ClassVar[str | None] = "post a status update for {it}"
    text: str
    next_minutes: int | None = None


@dataclass(frozen=True)
class AddFollowup:
    verb: ClassVar[str] = "followup"
    restricted_move: ClassVar[str | None] = None
    text: str
    owner: UserRef | None = None
    due: DueDate | None = None


@dataclass(frozen=True)
class CompleteFollowup:
    """``followup done <n> [note]``."""

    verb: ClassVar[str] = "followup done"
    restricted_move: ClassVar[str | None] = None
    number: int
    note: str = ""


@dataclass(frozen=True)
class ReopenFollowup:
    """``followup reopen <n> [reason]``: a done or dropped follow-up is open again."""

    verb: ClassVar[str] = "followup reopen"
    restricted_move: ClassVar[str | None] = None
    number: int
    reason: str = ""


@dataclass(frozen=True)
class AssignFollowup:
    """``followup owner <n> @x``."""

    verb: ClassVar[str] = "followup owner"
    restricted_move: ClassVar[str | None] = None
    number: int
    owner: UserRef


@dataclass(frozen=True)
class RescheduleFollowup:
    """``followup due <n> DATE``."""

    verb: ClassVar[str] = "followup due"
    restricted_move: ClassVar[str | None] = None
    number: int
    due: DueDate


@dataclass(frozen=True)
class DropFollowup:
    """``followup drop <n> <reason>``: not going to be done, and why."""

    verb: ClassVar[str] = "followup drop"
    restricted_move: ClassVar[str | None] = None
    number: int
    reason: str


@dataclass(frozen=True)
class ExportFollowup:
    """``followup export <n>``: file follow-up ``<n>`` in the team's tracker (one added before TRACKER was set)."""

    verb: ClassVar[str] = "followup export"
    restricted_move: ClassVar[str | None] = None
    number: int


@dataclass(frozen=True)
class RecordFollowupExport:
    """The tracker filed follow-up ``number`` as ``key`` at ``url``; not typed, so not in the grammar."""

    verb: ClassVar[str] = "followup exported"
    restricted_move: ClassVar[str | None] = None
    number: int
    key: str
    url: str
    linked: tuple[str, ...] = ()
    """The links the filed issue's body carries (``channel``, ``postmortem``): those it lacks are owed
    as comments once known."""


@dataclass(frozen=True)
class RecordTrackerIssueGone:
    """Follow-up ``number``'s tracker issue ``key`` is gone (deleted in the tracker: GitHub 410, Jira 404),
    as ``reason`` (the tracker's words) says; not typed, so not in the grammar."""

    verb: ClassVar[str] = "followup tracker gone"
    restricted_move: ClassVar[str | None] = None
    number: int
    key: str
    reason: str


@dataclass(frozen=True)
class RecordPublication:
    """The postmortem was published to ``target`` (``confluence``, ``git``) as ``ref`` (a Confluence page id,
    a Git path), readable at ``url``, as ``version`` (the page's version number, the commit's hash); ``digest``
    identifies the document sent (Confluence: its version message's digest; empty for Git, whose file is its
    own state). Not typed, so not in the grammar: the publishing deliverer records it when the target answered."""

    verb: ClassVar[str] = "postmortem published"
    restricted_move: ClassVar[str | None] = None
    target: str
    ref: str
    url: str
    version: str
    digest: str = ""


@dataclass(frozen=True)
class StatuspageOpen:
    """``statuspage open <impact> <components> <text>``: publish a public status-page incident. ``impact`` is
    Statuspage's ``impact_override`` (none, minor, major, critical); ``components`` as typed (``service`` or
    ``-``: the incident's service's components; else a comma list of component ids or service names);
    ``component_ids`` the ids it names, filled in by the use case from the service catalogue."""

    verb: ClassVar[str] = "statuspage open"
    restricted_move: ClassVar[str | None] = "publish {it} on the status page"
    impact: str
    components: str
    text: str
    component_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatuspageUpdate:
    """``statuspage update [investigating|identified|monitoring] <text>``: a public update of the open
    status-page incident (``status`` None: unchanged)."""

    verb: ClassVar[str] = "statuspage update"
    restricted_move: ClassVar[str | None] = "publish {it} on the status page"
    text: str
    status: str | None = None


@dataclass(frozen=True)
class StatuspageResolve:
    """``statuspage resolve [<text>]``: resolve the open status-page incident with ``text`` (empty: the
    configured public resolve sentence, filled in by the use case)."""

    verb: ClassVar[str] = "statuspage resolve"
    restricted_move: ClassVar[str | None] = "publish {it} on the status page"
    text: str = ""


StatuspageChange = StatuspageOpen | StatuspageUpdate | StatuspageResolve
"""The status-page commands: decided by ``bot.domain.statuspage`` against the incident's statuspage entries."""


@dataclass(frozen=True)
class PinMessage:
    """A Slack message put on the timeline (pushpin reaction); not typed, so not in the grammar."""

    verb: ClassVar[str] = "pin"
    restricted_move: ClassVar[str | None] = None
    text: str
    author: str
    permalink: str = ""


@dataclass(frozen=True)
class SetService:
    """The service (from the SLO catalogue) the incident affects; its error budget is charged."""

    verb: ClassVar[str] = "service"
    restricted_move: ClassVar[str | None] = None
    name: str


@dataclass(frozen=True)
class SetImpact:
    """The share of requests failing, in percent, from this moment until the next change or mitigation."""

    verb: ClassVar[str] = "impact"
    restricted_move: ClassVar[str | None] = "set the impact of {it}"
    percent: float


@dataclass(frozen=True)
class RecordAlert:
    """An alert state change (fired or cleared) from an alert webhook; not typed, so not in the grammar.

    ``data`` is kept on the timeline entry (fingerprint, labels, links: ``bot.domain.alerts.entry_data``).
    """

    verb: ClassVar[str] = "alert"
    restricted_move: ClassVar[str | None] = None
    cleared: bool
    summary: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Nudge:
    """A reminder the bot posted because the timeline went quiet; remembered so it is not repeated."""

    verb: ClassVar[str] = "nudge"
    restricted_move: ClassVar[str | None] = None
    silent_minutes: int
    update_due: str | None = None
    """When the nudge asks for a status update promised for then (ISO 8601 UTC, ``...Z``); None: a silence."""


@dataclass(frozen=True)
class CorrectEntry:
    """``correct <entry#> [text] [--at WHEN]``: a new entry that corrects timeline entry ``number``.

    ``text`` replaces the entry's text ("" keeps it); ``at`` (UTC, resolved from ``--at`` by the use case,
    None keeps it) moves it. The original stays as recorded (``bot.domain.corrections``).
    """

    verb: ClassVar[str] = "correct"
    restricted_move: ClassVar[str | None] = "correct the timeline of {it}"
    number: int
    text: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class StrikeEntry:
    """``strike <entry#> <reason>``: a new entry saying timeline entry ``number`` was wrong; views leave it out."""

    verb: ClassVar[str] = "strike"
    restricted_move: ClassVar[str | None] = "strike entries from the timeline of {it}"
    number: int
    reason: str


@dataclass(frozen=True)
class ShowSlo:
    service: str | None = None


@dataclass(frozen=True)
class ShowStatus:
    pass


@dataclass(frozen=True)
class ShowTimeline:
    pass


@dataclass(frozen=True)
class ExportPostmortem:
    template: str | None = None


@dataclass(frozen=True)
class PublishPostmortem:
    """``postmortem publish``: queue the postmortem's publication to every configured target (Confluence,
    a Git repository); a re-publish updates what was published before, in place."""


@dataclass(frozen=True)
class RemindFollowups:
    """The bot reminded owners and the channel of the follow-ups overdue on ``day`` (UTC); not typed.

    Remembered on the timeline (with the day) so that an incident is reminded at most once a day.
    """

    verb: ClassVar[str] = "followup reminder"
    restricted_move: ClassVar[str | None] = None
    day: date


@dataclass(frozen=True)
class SetPostmortemStatus:
    """``postmortem status draft|in-review|published``: where the postmortem is in its review."""

    verb: ClassVar[str] = "postmortem status"
    restricted_move: ClassVar[str | None] = "change the postmortem status of {it}"
    status: PostmortemStatus


@dataclass(frozen=True)
class SetPostmortemOwner:
    """``postmortem owner @x``: who carries the postmortem to its review (reminded while it is a draft)."""

    verb: ClassVar[str] = "postmortem owner"
    restricted_move: ClassVar[str | None] = "name the postmortem owner of {it}"
    user: UserRef


@dataclass(frozen=True)
class ScheduleReview:
    """``postmortem review <when> [for <duration>] [@attendees...]``: the review meeting, as typed.

    ``when`` is the text typed (read by ``bot.domain.timeparse.parse_review_time`` against the clock, which
    sets ``at``, UTC); ``minutes`` its length; ``uid`` the calendar UID a first review gets (the use case
    gives one naming the installation; a re-scheduled review keeps its first one).
    """

    verb: ClassVar[str] = "postmortem review"
    restricted_move: ClassVar[str | None] = "schedule the postmortem review of {it}"
    when: str
    attendees: tuple[UserRef, ...] = ()
    groups: tuple[GroupRef, ...] = ()
    minutes: int = 60
    at: datetime | None = None
    uid: str | None = None


@dataclass(frozen=True)
class RemindPostmortem:
    """The bot reminded the owner (else the lead) and the channel that the postmortem is still a draft on
    ``day`` (UTC); not typed. Remembered on the timeline with its day: at most one reminder a day."""

    verb: ClassVar[str] = "postmortem reminder"
    restricted_move: ClassVar[str | None] = None
    day: date


ReviewMove = SetPostmortemStatus | SetPostmortemOwner | ScheduleReview
"""The review commands people type: recorded as they happen (no ``--at``); under strict roles the lead's,
the IRT's and the postmortem owner's."""
PostmortemChange = ReviewMove | RemindPostmortem
"""The commands of the postmortem's review life cycle (``bot.domain.review``)."""


@dataclass(frozen=True)
class ListIncidents:
    pass


@dataclass(frozen=True)
class ListFollowups:
    """``followups``: an incident's follow-ups with state, owner, due date and tracker link."""


@dataclass(frozen=True)
class ShowHelp:
    verb: str | None = None


Transition = (
    Declare
    | SetLead
    | Assemble
    | AddHypothesis
    | RejectHypothesis
    | ConfirmHypothesis
    | Mitigate
    | Rollback
    | Monitor
    | Resolve
    | Reopen
    | ChangeSeverity
    | AddNote
    | PostUpdate
    | AddFollowup
    | CompleteFollowup
    | ReopenFollowup
    | AssignFollowup
    | RescheduleFollowup
    | DropFollowup
    | RemindFollowups
    | ExportFollowup
    | RecordFollowupExport
    | RecordTrackerIssueGone
    | RecordPublication
    | PinMessage
    | SetService
    | SetImpact
    | RecordAlert
    | Nudge
    | CorrectEntry
    | StrikeEntry
    | SetPostmortemStatus
    | SetPostmortemOwner
    | ScheduleReview
    | RemindPostmortem
    | StatuspageOpen
    | StatuspageUpdate
    | StatuspageResolve
)
"""Commands that change an incident and therefore write timeline entries."""

Query = (
    ShowStatus
    | ShowTimeline
    | ExportPostmortem
    | PublishPostmortem
    | ListIncidents
    | ShowHelp
    | ShowSlo
    | ListFollowups
)
"""Commands that only read."""

Action = Transition | Query


@dataclass(frozen=True)
class ParsedCommand:
    """A parsed ``/incident`` text: the action, the incident it names (if any) and ``--at`` (raw)."""

    action: Action
    incident_number: int | None = None
    at: str | None = None

    @property
    def changes_state(self) -> bool:
        return not isinstance(self.action, Query)
