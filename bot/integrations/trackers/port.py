"""The tracker port: what the bot asks of an issue tracker (GitHub Issues, Jira Cloud), as plain data.

A follow-up is exported as a ``TrackerIssue`` carrying a stable ``marker``
(``incidentbot:INC-7:followup-2``); ``Tracker.file`` files it at most once per marker (it looks the
marker up before creating, see each client's docstring for the remaining race window) and answers a
``TrackerRef``; ``Tracker.state`` reads the issue back for sync-back. Every failure is a
``TrackerError``, either temporary (retry with backoff) or permanent (a dead outbox item with the
tracker's own reason); ``outbox_error`` turns one into the outbox worker's ``RetryLater`` /
``Undeliverable``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from bot.outbox.worker import RetryLater, Undeliverable

MARKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,199}", re.ASCII)
"""A marker: ASCII letters, digits and ``:._-``, 1 to 200 characters. It goes into an HTML comment
(GitHub) and, with ``:`` and ``.`` replaced, into a Jira label (labels refuse spaces; 255 at most)."""


def followup_marker(incident_number: int, followup_number: int, installation: str | None = None) -> str:
    """The stable marker of follow-up ``followup_number`` of incident ``incident_number``:
    ``incidentbot:INC-7:followup-2``, or ``incidentbot:<installation>:INC-7:followup-2`` when several
    installations file into one repository or project (their INC numbers would collide)."""
    scope = f"{installation}:" if installation else ""
    return f"incidentbot:{scope}INC-{incident_number}:followup-{followup_number}"


def incident_of(marker: str) -> str | None:
    """The incident id a marker names (``incidentbot:INC-7:followup-2`` -> ``INC-7``), for log lines."""
    match = re.search(r"(?:^|:)(INC-\d+)(?::|$)", marker)
    return match.group(1) if match else None


@dataclass(frozen=True)
class TrackerIssue:
    """One follow-up as a tracker issue.

    ``marker`` identifies the follow-up forever (see ``MARKER``); ``title`` is one line; ``body`` is
    Markdown (GitHub shows it as is; Jira gets it as Atlassian Document Format paragraphs);
    ``labels`` e.g. ``("incident", "INC-7", "sev1")``; ``assignee`` a GitHub login or a Jira
    accountId (from the TRACKER_USERS_FILE mapping), None for nobody; ``due`` the follow-up's due day
    (UTC), None for none (Jira's ``duedate``; GitHub issues have no due date, the body says it).
    Raises ValueError for a marker outside ``MARKER`` or an empty title.
    """

    marker: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    due: date | None = None

    def __post_init__(self) -> None:
        if not MARKER.fullmatch(self.marker):
            raise ValueError(f"tracker marker {self.marker!r} must match {MARKER.pattern}")
        if not self.title.strip():
            raise ValueError("a tracker issue needs a title")


@dataclass(frozen=True)
class TrackerRef:
    """Where a filed issue lives: ``key`` (``acme/web#42`` on GitHub, ``OPS-17`` on Jira) and its web ``url``."""

    key: str
    url: str


class IssueStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class TrackerState:
    """What sync-back reads of an issue.

    ``status``: open or closed (GitHub ``state``; Jira status category ``done`` is closed, ``new`` and
    ``indeterminate`` are open). ``closed_at``: UTC, when it was closed (GitHub ``closed_at``, Jira
    ``resolutiondate``), None while open or when the tracker does not say. ``reason``: why it was
    closed (GitHub ``state_reason``: completed, not_planned, duplicate...; Jira: the resolution's name,
    e.g. "Done", "Won't Do", else the status name). ``dropped``: when it was closed without being done,
    that in words for the follow-up's drop reason (``closed as not planned in GitHub``, ``resolved as
    Won't Do in Jira``), else None. ``assignee``: login or accountId, or None. ``ref``: the issue read,
    normally the one asked for; another one (store it) when GitHub's asked-for issue is a copy the
    bot closed as a duplicate of it, or when Jira answers under a new key (the issue was moved).
    """

    ref: TrackerRef
    status: IssueStatus
    closed_at: datetime | None = None
    reason: str | None = None
    assignee: str | None = None
    dropped: str | None = None


class FailureKind(StrEnum):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass
class TrackerError(Exception):
    """A call to the tracker failed. ``kind``: temporary (5xx, 429, rate limit, timeout, connection,
    an answer that is not the tracker's JSON) or permanent (401, 403, 404, 410, 422/400 field errors);
    ``reason``: one line for people, with the tracker's own message and never the token;
    ``status``: HTTP status or None without an answer; ``retry_after``: seconds to wait, when the
    tracker said (``Retry-After``, GitHub's ``x-ratelimit-reset``); ``fields``: see below."""

    kind: FailureKind
    reason: str
    status: int | None = None
    retry_after: float | None = None
    tracker: str = field(default="tracker")
    fields: tuple[str, ...] = ()
    """The request fields a refusal names (GitHub ``errors[].field``, Jira ``errors`` keys), e.g.
    ``("assignees",)``."""

    def __post_init__(self) -> None:
        super().__init__(self.reason)

    def __str__(self) -> str:
        return self.reason

    @property
    def temporary(self) -> bool:
        return self.kind is FailureKind.TEMPORARY


def outbox_error(error: TrackerError) -> RetryLater | Undeliverable:
    """The outbox worker's exception for ``error``: RetryLater (with ``retry_after``) when temporary,
    Undeliverable (a dead item showing the reason in ``incidentbot outbox``) when permanent."""
    if error.temporary:
        return RetryLater(error.reason, after=error.retry_after)
    return Undeliverable(error.reason)


class Tracker(Protocol):
    """An issue tracker the follow-ups are exported to."""

    @property
    def name(self) -> str:
        """``github`` or ``jira``."""
        ...

    async def file(self, issue: TrackerIssue) -> TrackerRef:
        """File ``issue`` unless an issue carrying its marker exists; either way, its ref.
        Raises TrackerError."""
        ...

    async def find(self, marker: str) -> TrackerRef | None:
        """The issue carrying ``marker``, or None. Raises TrackerError."""
        ...

    async def state(self, ref: TrackerRef) -> TrackerState:
        """The issue's current state. Raises TrackerError (permanent 404 when it was deleted)."""
        ...

    async def comment(self, ref: TrackerRef, marker: str, text: str) -> bool:
        """Comment ``text`` (Markdown) on ``ref``'s issue at most once per ``marker`` (see ``MARKER``):
        True when the comment was added, False when one carrying ``marker`` was already there.
        Raises TrackerError."""
        ...

    async def check(self) -> str:
        """Whether the token is valid and the project reachable (for ``doctor``): a one-line
        description of what was found. Raises TrackerError."""
        ...
