"""What a user can ask of the bot, as typed values: the output of the grammar, the input of the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.model import Severity


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
    title: str
    severity: Severity
    description: str = ""
    service: str | None = None


@dataclass(frozen=True)
class SetLead:
    user: UserRef


@dataclass(frozen=True)
class Assemble:
    assignees: tuple[Assignee, ...]


@dataclass(frozen=True)
class AddHypothesis:
    text: str


@dataclass(frozen=True)
class RejectHypothesis:
    number: int
    reason: str = ""


@dataclass(frozen=True)
class ConfirmHypothesis:
    number: int
    note: str = ""


@dataclass(frozen=True)
class Mitigate:
    text: str


@dataclass(frozen=True)
class Rollback:
    text: str


@dataclass(frozen=True)
class Resolve:
    summary: str = ""


@dataclass(frozen=True)
class Reopen:
    reason: str = ""


@dataclass(frozen=True)
class ChangeSeverity:
    severity: Severity


@dataclass(frozen=True)
class AddNote:
    text: str


@dataclass(frozen=True)
class AddFollowup:
    text: str
    owner: UserRef | None = None


@dataclass(frozen=True)
class PinMessage:
    """A Slack message put on the timeline (pushpin reaction); not typed, so not in the grammar."""

    text: str
    author: str
    permalink: str = ""


@dataclass(frozen=True)
class SetService:
    """The service (from the SLO catalogue) the incident affects; its error budget is charged."""

    name: str


@dataclass(frozen=True)
class SetImpact:
    """The share of requests failing, in percent, from this moment until the next change or mitigation."""

    percent: float


@dataclass(frozen=True)
class RecordAlert:
    """An alert state change (fired or cleared) from an alert webhook; not typed, so not in the grammar.

    ``data`` is kept on the timeline entry (fingerprint, labels, links: ``bot.domain.alerts.entry_data``).
    """

    cleared: bool
    summary: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Nudge:
    """A reminder the bot posted because the timeline went quiet; remembered so it is not repeated."""

    silent_minutes: int


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
class ListIncidents:
    pass


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
    | Resolve
    | Reopen
    | ChangeSeverity
    | AddNote
    | AddFollowup
    | PinMessage
    | SetService
    | SetImpact
    | RecordAlert
    | Nudge
)
"""Commands that change an incident and therefore write timeline entries."""

Query = ShowStatus | ShowTimeline | ExportPostmortem | ListIncidents | ShowHelp | ShowSlo
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
