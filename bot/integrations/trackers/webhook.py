"""Tracker webhooks, read: an issue closed or reopened in GitHub or Jira, told as it happens (sync-back
without waiting for the next poll). Signatures are checked before anything is parsed.

* GitHub: the ``issues`` event (``X-GitHub-Event: issues``), actions ``closed`` and ``reopened``, with
  ``issue.number``, ``issue.closed_at``, ``issue.state_reason`` (``not_planned`` and ``duplicate`` drop
  the follow-up) and ``repository.full_name``; signed with the webhook's secret
  as ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` (docs.github.com, "Validating
  webhook deliveries").
* Jira Cloud (an admin webhook with a secret, which hears every project): ``webhookEvent``
  ``jira:issue_updated`` with ``issue.key``, ``issue.fields.project.key`` (must be the configured
  project: the key's prefix alone is not trusted), ``issue.fields.status.statusCategory.key``
  (``done`` is closed), ``issue.fields.resolutiondate`` and ``issue.fields.resolution.name`` ("Won't
  Do"... drop the follow-up); signed as ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``
  (developer.atlassian.com, Jira Cloud webhooks, "Secure admin webhooks").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dateutil.parser import isoparse

from bot.integrations.trackers import github, jira

SIGNATURE_HEADERS = {"github": "X-Hub-Signature-256", "jira": "X-Hub-Signature"}
"""The header each tracker signs its deliveries in."""


@dataclass(frozen=True)
class IssueEvent:
    """An issue's new state as a webhook told it: ``key`` as the bot stores it (``acme/web#7``, ``OPS-7``),
    ``closed``, and when (UTC; None if not said); ``dropped``: closed without being done, in words
    (``closed as not planned in GitHub``; see ``TrackerState.dropped``), else None."""

    key: str
    closed: bool
    closed_at: datetime | None = None
    dropped: str | None = None


def signature_valid(tracker: str, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """True when ``body`` carries ``tracker``'s signature made with ``secret`` (compared in constant time);
    False without a secret, a header, or with a wrong one."""
    given = headers.get(SIGNATURE_HEADERS[tracker], "")
    if not secret or not given:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def issue_event(tracker: str, headers: Mapping[str, str], body: Any, project: str) -> IssueEvent | None:
    """The close or reopen ``body`` tells for ``project`` (GitHub ``owner/repo``, Jira project key), or None
    for any other event, action or project. A GitHub repository is matched in any case (GitHub treats
    ``owner/repo`` case-insensitively); the key uses ``project`` as configured."""
    if not isinstance(body, dict):
        return None
    issue = body.get("issue")
    if not isinstance(issue, dict):
        return None
    if tracker == "github":
        repository = body.get("repository")
        full_name = repository.get("full_name") if isinstance(repository, dict) else None
        # GitHub names owners and repositories case-insensitively: `ACME/Web` is `acme/web`.
        same_repository = isinstance(full_name, str) and full_name.casefold() == project.casefold()
        action = body.get("action")
        if headers.get("X-GitHub-Event") != "issues" or action not in ("closed", "reopened") or not same_repository:
            return None
        number = issue.get("number")
        if not isinstance(number, int):
            return None
        closed = action == "closed"
        if not closed:
            return IssueEvent(f"{project}#{number}", False)
        dropped = github.dropped_reason(issue.get("state_reason"))
        return IssueEvent(f"{project}#{number}", True, _time(issue.get("closed_at")), dropped)
    if body.get("webhookEvent") != "jira:issue_updated":
        return None
    key = issue.get("key")
    fields = issue.get("fields")
    if not isinstance(key, str) or not key.startswith(f"{project}-") or not isinstance(fields, dict):
        return None
    same_project = fields.get("project")
    if not isinstance(same_project, dict) or same_project.get("key") != project:
        return None  # another project's issue (or one that does not say), whatever its key looks like
    status = fields.get("status")
    category = (status.get("statusCategory") or {}).get("key") if isinstance(status, dict) else None
    if category is None:
        return None
    if category != "done":
        return IssueEvent(key, False)
    resolution = fields.get("resolution")
    dropped = jira.dropped_reason(resolution.get("name")) if isinstance(resolution, dict) else None
    return IssueEvent(key, True, _time(fields.get("resolutiondate")), dropped)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = isoparse(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
