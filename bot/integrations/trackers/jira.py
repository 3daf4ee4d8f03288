"""Jira Cloud (REST API v3), authenticated with an Atlassian account's email and API token (basic auth).

Endpoints and shapes from the Jira Cloud platform REST API v3 reference
(developer.atlassian.com/cloud/jira/platform/rest/v3):

* Create issue: ``POST /rest/api/3/issue`` with ``fields``: ``project.key``, ``summary``,
  ``issuetype.name``, ``description`` (Atlassian Document Format: ``{"type": "doc", "version": 1,
  "content": [paragraphs]}``), ``labels`` (no spaces), ``assignee.accountId``, ``duedate``
  (``"2026-12-15"``; settable only when Due date is on the project's create screen); 201
  ``{"id", "key", "self"}``; 400 ``{"errorMessages": [...], "errors": {"field": "message"}}``, 401, 403.
* Get issue: ``GET /rest/api/3/issue/{issueIdOrKey}?fields=status,resolution,resolutiondate,assignee``:
  ``fields.status.name``, ``fields.status.statusCategory.key`` (``new``, ``indeterminate``,
  ``done``), ``fields.resolution.name`` (``Done``, ``Won't Do``...; null while unresolved),
  ``fields.resolutiondate`` (``2026-11-29T20:14:16.000+0000``),
  ``fields.assignee.accountId``; 404 when it is gone or invisible to the account.
* Search: ``POST /rest/api/3/search/jql`` with ``jql``, ``fields``, ``maxResults``, ``nextPageToken``;
  answers ``issues`` and ``nextPageToken`` (absent on the last page). It replaced the retired
  ``/rest/api/3/search`` (Atlassian CHANGE-2046).
* ``GET /rest/api/3/myself`` and ``GET /rest/api/3/project/{projectIdOrKey}`` for ``doctor``.
* 429 with ``Retry-After`` (Jira Cloud "Rate limiting"), 5xx: temporary.

Exactly once. Jira has no idempotency key for creating issues either. ``file`` (1) searches with JQL
``project = KEY AND labels = "incidentbot-INC-7-followup-2"`` (the marker made a label, see
``marker_label``) and keeps the hits whose description holds the marker; found: its ref. (2)
Otherwise it creates the issue with that label and the marker as the description's last paragraph.
(3) It searches again and answers the lowest-numbered copy.

What remains, honestly: Jira's search is eventually consistent: "after a write operation is
performed, subsequent search operations [...] may return stale or outdated data [...] for some time.
The delay might vary from a few seconds to minutes" (Atlassian, "Search After Write with Search And
Reconcile"); ``reconcileIssues`` only helps for issue ids already known, and after a crash we know
none. So a retry within that delay of a crash between Jira's answer and our commit, or two replicas
filing the same marker within it, can file twice; step (3) then usually does not see the other copy
either. The outbox's backoff (seconds, then minutes) narrows the first case; a duplicate that does
show up in (3) is logged as ``tracker_duplicate_seen`` with both keys and the lowest key is answered
(the account may lack the permission to delete issues, so nothing is deleted).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import structlog
from dateutil.parser import isoparse

from bot.integrations.trackers.http import Answer, TrackerHttp
from bot.integrations.trackers.port import (
    FailureKind,
    IssueStatus,
    TrackerError,
    TrackerIssue,
    TrackerRef,
    TrackerState,
    incident_of,
)

log = structlog.get_logger("incidentbot.trackers")

PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}", re.ASCII)
"""Jira project keys: an uppercase letter, then uppercase letters, digits or _, 2 to 10 characters
(Jira's default project key pattern and length)."""
ISSUE_KEY = re.compile(r"([A-Z][A-Z0-9_]+)-(\d+)", re.ASCII)
ISSUE_TYPE = "Task"
MAX_RESULTS = 50
MAX_PAGES = 20
SEARCH_FIELDS = ["summary", "description", "labels"]
DROPPING_RESOLUTIONS = frozenset({"won't do", "won't fix", "duplicate", "cannot reproduce"})
"""Resolutions (compared in lower case, a typographic apostrophe read as ') that close an issue without
doing it: Jira Cloud's defaults Won't Do, Duplicate and Cannot Reproduce, and Won't Fix (older and
company-managed defaults). Any other resolution (Done, Fixed, a site's own) is done."""
STATE_FIELDS = "status,resolution,resolutiondate,assignee"


def dropped_reason(resolution: object) -> str | None:
    """``resolved as Won't Do in Jira`` for a resolution name in :data:`DROPPING_RESOLUTIONS` (as Jira
    spells it), None for any other resolution or none."""
    if not isinstance(resolution, str):
        return None
    name = " ".join(resolution.split())
    return f"resolved as {name} in Jira" if name.replace("\u2019", "'").lower() in DROPPING_RESOLUTIONS else None


OPTIONAL_FIELDS = {"assignee": "tracker_assignee_refused", "duedate": "tracker_duedate_refused"}
"""Fields an issue is filed without when Jira refuses them (and nothing else), with the event logged."""


HINTS = {
    401: "the account email or the token is not valid: check TRACKER_USER and TRACKER_TOKEN",
}
"""Jira's words for an HTTP status where they differ from the default: Jira Cloud answers 401 alike for a
wrong email and a wrong API token (Basic auth is the pair), so both settings are named."""


def marker_label(marker: str) -> str:
    """The Jira label standing for ``marker``: ``incidentbot:INC-7:followup-2`` ->
    ``incidentbot-INC-7-followup-2`` (labels refuse spaces; ``:`` and ``.`` become ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", marker)


def explain(data: Any) -> str:
    """Jira's error body in one line: each of ``errorMessages``, then ``field: message`` of ``errors``."""
    if not isinstance(data, dict):
        return ""
    parts = [str(m) for m in data.get("errorMessages") or [] if m]
    errors = data.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{field}: {message}" for field, message in errors.items())
    if not parts and data.get("message"):
        parts.append(str(data["message"]))
    return " ".join("; ".join(parts).split())[:300]


def refused_fields(data: Any) -> list[str]:
    """The keys of Jira's ``errors`` object (ErrorCollection), e.g. ``["assignee"]``."""
    errors = data.get("errors") if isinstance(data, dict) else None
    return [str(key) for key in errors] if isinstance(errors, dict) else []


def adf(markdown: str) -> dict[str, Any]:
    """Markdown as an Atlassian Document Format document: one paragraph per block of lines (blank
    lines separate blocks), each line a text node joined by hard breaks. Markup is kept as typed."""
    content = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = [line.rstrip() for line in block.splitlines()]
        nodes: list[dict[str, Any]] = []
        for index, line in enumerate(lines):
            if index:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        if nodes:
            content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


class JiraTracker:
    """Files and reads issues of one Jira Cloud project (``OPS``) at ``base_url``
    (``https://acme.atlassian.net``) as the account ``email`` with an API token."""

    name = "jira"

    def __init__(
        self,
        base_url: str,
        project: str,
        email: str,
        token: str,
        *,
        issue_type: str = ISSUE_TYPE,
        timeout_seconds: float = 15.0,
    ) -> None:
        if not PROJECT_KEY.fullmatch(project):
            raise ValueError(f"Jira project key must look like OPS (2-10 of A-Z, 0-9, _), got {project!r}")
        self.project = project
        self.issue_type = issue_type
        self.web_url = base_url.rstrip("/")
        credentials = base64.b64encode(f"{email}:{token}".encode()).decode()
        self.http = TrackerHttp(
            "Jira",
            base_url,
            {"Authorization": f"Basic {credentials}", "Accept": "application/json"},
            token,
            timeout_seconds=timeout_seconds,
            explain=explain,
            fields_of=refused_fields,
            hints=HINTS,
        )

    async def file(self, issue: TrackerIssue) -> TrackerRef:
        """See the module docstring (search, create, search again). Raises TrackerError."""
        existing = await self._carrying(issue.marker)
        if existing:
            ref = self._ref(existing[0])
            log.info(
                "tracker_issue_found",
                tracker=self.name,
                incident=incident_of(issue.marker),
                marker=issue.marker,
                key=ref.key,
            )
            return ref
        label = marker_label(issue.marker)
        labels = [label, *[lbl.replace(" ", "-") for lbl in issue.labels if lbl != label]]
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": issue.title[:255],
            "description": adf(f"{issue.body.rstrip()}\n\n{issue.marker}"),
            "labels": labels,
        }
        if issue.assignee:
            fields["assignee"] = {"accountId": issue.assignee}
        if issue.due:
            fields["duedate"] = issue.due.isoformat()
        answer = await self._create(fields, issue)
        if not isinstance(answer.data, dict) or not isinstance(answer.data.get("key"), str):
            raise TrackerError(FailureKind.TEMPORARY, "Jira answered 201 without an issue key", 201, tracker="Jira")
        mine = self._ref(answer.data)
        log.info(
            "tracker_issue_filed",
            tracker=self.name,
            incident=incident_of(issue.marker),
            marker=issue.marker,
            key=mine.key,
        )
        copies = await self._carrying(issue.marker)
        if copies and copies[0].get("key") != mine.key:
            winner = self._ref(copies[0])
            log.warning(
                "tracker_duplicate_seen",
                tracker=self.name,
                incident=incident_of(issue.marker),
                marker=issue.marker,
                key=mine.key,
                kept=winner.key,
            )
            return winner
        return mine

    async def _create(self, fields: dict[str, Any], issue: TrackerIssue) -> Answer:
        """POST the issue; when Jira refuses only fields it can do without (400 whose ``errors`` name
        nothing but ``assignee``: the account cannot be assigned, a stale mapping; and/or ``duedate``:
        "Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown.", the project's
        create screen lacks Due date), file it once more without them rather than not at all (logged as
        ``tracker_assignee_refused`` / ``tracker_duedate_refused``, with Jira's reason): nothing was
        created by the refused request. The fields Jira takes are those on the issue type's create
        screen (Jira Cloud REST v3, "Create issue")."""
        try:
            return await self.http.request("POST", "/rest/api/3/issue", body={"fields": fields}, expect=(201,))
        except TrackerError as exc:
            refused = set(exc.fields)
            if exc.status != 400 or not refused or not refused <= OPTIONAL_FIELDS.keys() & fields.keys():
                raise
            for name in sorted(refused):
                log.warning(
                    OPTIONAL_FIELDS[name],
                    tracker=self.name,
                    incident=incident_of(issue.marker),
                    **{name: issue.assignee if name == "assignee" else fields[name]},
                    reason=exc.reason,
                )
            kept = {k: v for k, v in fields.items() if k not in refused}
            return await self.http.request("POST", "/rest/api/3/issue", body={"fields": kept}, expect=(201,))

    async def find(self, marker: str) -> TrackerRef | None:
        found = await self._carrying(marker)
        return self._ref(found[0]) if found else None

    async def state(self, ref: TrackerRef) -> TrackerState:
        if not ISSUE_KEY.fullmatch(ref.key):
            raise ValueError(f"not a Jira issue key: {ref.key!r}")
        answer = await self.http.request("GET", f"/rest/api/3/issue/{ref.key}", params={"fields": STATE_FIELDS})
        data = answer.data if isinstance(answer.data, dict) else {}
        fields = data.get("fields")
        if not isinstance(fields, dict) or not isinstance(fields.get("status"), dict):
            raise TrackerError(FailureKind.TEMPORARY, f"Jira answered no status for {ref.key}", 200, tracker="Jira")
        status = fields["status"]
        category = (status.get("statusCategory") or {}).get("key")
        closed = category == "done"
        resolved = fields.get("resolutiondate")
        assignee = fields.get("assignee") or {}
        resolution = fields.get("resolution")
        resolution_name = resolution.get("name") if isinstance(resolution, dict) else None
        return TrackerState(
            ref=self._ref(data),
            status=IssueStatus.CLOSED if closed else IssueStatus.OPEN,
            closed_at=isoparse(resolved) if closed and isinstance(resolved, str) else None,
            reason=(resolution_name or status.get("name")) if closed else None,
            assignee=assignee.get("accountId") if isinstance(assignee, dict) else None,
            dropped=dropped_reason(resolution_name) if closed else None,
        )

    async def check(self) -> str:
        me = await self.http.request("GET", "/rest/api/3/myself")
        who = me.data.get("displayName") or me.data.get("accountId") if isinstance(me.data, dict) else None
        project = await self.http.request("GET", f"/rest/api/3/project/{self.project}")
        name = project.data.get("name") if isinstance(project.data, dict) else None
        return f"token valid ({who or 'unnamed account'}); project {self.project} ({name or '?'}) reachable"

    async def comment(self, ref: TrackerRef, marker: str, text: str) -> bool:
        """Add ``text`` as a comment on ``ref`` unless one of its comments already ends with the
        paragraph ``marker`` (as the issue's description does): True when it was added. Reads the
        comments with ``GET /rest/api/3/issue/{key}/comment`` (``startAt``/``maxResults``/``total``
        paging), then ``POST`` the same path with ``{"body": ADF}`` (201). Comments are read by id, not
        through search, so the lookup sees a comment made just before. Raises TrackerError."""
        if not ISSUE_KEY.fullmatch(ref.key):
            raise ValueError(f"not a Jira issue key: {ref.key!r}")
        path = f"/rest/api/3/issue/{ref.key}/comment"
        start = 0
        for _ in range(MAX_PAGES):
            answer = await self.http.request(
                "GET", path, params={"startAt": str(start), "maxResults": str(MAX_RESULTS), "orderBy": "created"}
            )
            data = answer.data if isinstance(answer.data, dict) else {}
            comments = data.get("comments")
            if not isinstance(comments, list):
                raise TrackerError(
                    FailureKind.TEMPORARY, f"Jira answered no comments for {ref.key}", 200, tracker="Jira"
                )
            if any(isinstance(c, dict) and marker in _texts(c.get("body")) for c in comments):
                return False
            start += len(comments)
            total = data.get("total")
            if not comments or not isinstance(total, int) or start >= total:
                break
        await self.http.request("POST", path, body={"body": adf(f"{text.rstrip()}\n\n{marker}")}, expect=(201,))
        return True

    # ------------------------------------------------------------------------------ helpers

    async def _carrying(self, marker: str) -> list[dict[str, Any]]:
        """Issues of the project labelled ``marker_label(marker)`` whose description holds the marker,
        lowest issue number first."""
        jql = f'project = "{self.project}" AND labels = "{marker_label(marker)}" ORDER BY created ASC'
        found: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = {"jql": jql, "fields": SEARCH_FIELDS, "maxResults": MAX_RESULTS}
            if token:
                body["nextPageToken"] = token
            answer = await self.http.request("POST", "/rest/api/3/search/jql", body=body)
            issues = answer.data.get("issues") if isinstance(answer.data, dict) else None
            if not isinstance(issues, list):
                raise TrackerError(FailureKind.TEMPORARY, "Jira's search answered no issues list", 200, tracker="Jira")
            found.extend(i for i in issues if isinstance(i, dict) and _holds(i, marker))
            token = _next_token(answer)
            if token is None:
                break
        return sorted(found, key=_issue_number)

    def _ref(self, data: dict[str, Any]) -> TrackerRef:
        key = str(data.get("key"))
        return TrackerRef(key, f"{self.web_url}/browse/{key}")


def _holds(issue: dict[str, Any], marker: str) -> bool:
    """True when the issue's ADF description has a text node that is exactly ``marker``."""
    description = (issue.get("fields") or {}).get("description")
    return marker in _texts(description)


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"].strip()] if node.get("type") == "text" and isinstance(node.get("text"), str) else []
        return own + [t for child in node.get("content") or [] for t in _texts(child)]
    if isinstance(node, list):
        return [t for child in node for t in _texts(child)]
    return []


def _next_token(answer: Answer) -> str | None:
    data = answer.data if isinstance(answer.data, dict) else {}
    token = data.get("nextPageToken")
    if data.get("isLast") is True or not isinstance(token, str) or not token:
        return None
    return token


def _issue_number(issue: dict[str, Any]) -> int:
    match = ISSUE_KEY.fullmatch(str(issue.get("key")))
    return int(match.group(2)) if match else 0
