"""Paging follows what was paged: which PagerDuty event (if any) an incident's new state owes.

The decision depends on two facts only: the incident as it is after a committed transition, and
whether a page of it is open (triggered, and not yet resolved). The page's state is recorded with
the incident, in the transaction that queues the event, so it is never re-derived from the
incident's current severity:

- an open incident at a paging severity (sev1, sev2) with no open page: ``trigger`` (once per open
  period: the page is open from then on, whatever the severity does);
- a resolved incident with an open page: ``resolve``, whatever its severity is by then;
- anything else: nothing. A resolved incident never triggers, even when reclassified as sev1 during
  its review; ``reopen`` makes it open again, so it triggers again if its severity pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.model import Incident, Severity, format_incident_id

PAGED_SEVERITIES = frozenset({Severity.SEV1, Severity.SEV2})
"""The severities that page someone (the paging threshold)."""


class PageAction(StrEnum):
    """A PagerDuty Events API v2 ``event_action`` this bot sends."""

    TRIGGER = "trigger"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class Page:
    """The page of one incident: its PagerDuty ``dedup_key``, whether it is open, and how often it triggered."""

    number: int
    dedup_key: str
    open: bool
    triggers: int


def page_action(incident: Incident, page_open: bool) -> PageAction | None:
    """The event ``incident`` (as it is now) owes, given whether its page is open; None when none."""
    if incident.status.is_open:
        return PageAction.TRIGGER if not page_open and incident.severity in PAGED_SEVERITIES else None
    return PageAction.RESOLVE if page_open else None


def next_page(incident: Incident, page: Page | None, installation_id: str) -> tuple[Page, PageAction] | None:
    """The page after ``incident``'s transition and the event to send, or None when nothing changes.

    A new page takes its ``dedup_key`` from :func:`dedup_key`; a page that triggers again after a
    resolve keeps its key (PagerDuty opens a new alert for a trigger whose key's alert is resolved).
    """
    action = page_action(incident, page is not None and page.open)
    if action is None:
        return None
    key = page.dedup_key if page is not None else dedup_key(installation_id, incident.number)
    triggers = (page.triggers if page is not None else 0) + (1 if action is PageAction.TRIGGER else 0)
    return Page(incident.number, key, action is PageAction.TRIGGER, triggers), action


def dedup_key(installation_id: str, number: int) -> str:
    """``incidentbot-<installation id>-INC-<n>``: two installations (staging, a reset database) never share one.

    PagerDuty allows at most 255 characters (Events API v2, ``dedup_key``); a uuid4 and INC-999999999 use 62.
    """
    return f"incidentbot-{installation_id}-{format_incident_id(number)}"
