"""GitHub Issues (REST API, version 2022-11-28), also GitHub Enterprise Server through ``base_url``.

Endpoints and shapes from GitHub's OpenAPI description (github/rest-api-description,
``descriptions/api.github.com/api.github.com.yaml``):

* ``issues/create``: ``POST /repos/{owner}/{repo}/issues`` with ``title``, ``body``, ``labels``,
  ``assignees``; 201 and the ``issue`` schema (``number``, ``html_url``, ``state``, ``closed_at``,
  ``state_reason``, ``assignees[].login``, ``labels[].name``); 400, 403, 404, 410 (issues disabled),
  422 (``validation-error``: ``message``, ``errors[]`` of ``resource``/``field``/``code``/``message``),
  503. Labels and assignees "are silently dropped" when the token lacks push access.
* ``issues/list-for-repo``: ``GET /repos/{owner}/{repo}/issues?labels=a,b&state=all&per_page=100``,
  paginated by the ``Link`` header (``rel="next"``); pull requests appear too (``pull_request`` key).
* ``issues/get``: ``GET /repos/{owner}/{repo}/issues/{issue_number}``; 301, 404, 410.
* ``issues/update``: ``PATCH /repos/{owner}/{repo}/issues/{issue_number}`` with ``state``/``state_reason``.
* ``repos/get``: ``GET /repos/{owner}/{repo}`` (``has_issues``), for ``doctor``.

Exactly once. GitHub has no idempotency key for creating an issue, so ``file`` (1) lists the
repository's issues carrying the dedicated label ``incidentbot`` and the incident's ``INC-n`` label,
``state=all``, and scans their bodies for the marker (an HTML comment ``<!-- incidentbot:... -->``
that GitHub does not render); found: its ref, nothing created. We list rather than use the search
API (``GET /search/issues``) because search reads an index that lags writes by seconds to minutes,
so it would miss the issue a crashed attempt created a moment ago; the list reads the repository's
issues themselves. (2) Otherwise it creates the issue with the marker and both labels. (3) Then it
lists again: when two replicas raced through (1) together, both see every copy, agree that the
lowest number is the one, and each closes its own copy if it is not that one (``state_reason:
not_planned``), so both answer the same ref. Should their two lists disagree (one replica's
list not showing the other's copy yet), one may keep the copy the other closes: ``state`` follows
such a closed duplicate to the lowest-numbered issue carrying the marker and answers its ref.

What remains: between (1) and (2) of two racing callers both issues exist for a moment (one is then
closed as a duplicate, not deleted: the REST API cannot delete issues); if the creating process dies
between (2) and (3), its copy stays open until another ``file`` of that marker runs (3) again, which
any retry does. If someone removes either label from the issue, or the token lacks push access so
GitHub drops the labels (logged as ``tracker_labels_dropped``), the lookup cannot find it and a retry
files again: give the token Issues write access on the repository (see the README).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
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

DEFAULT_GITHUB_URL = "https://api.github.com"
MARKER_LABEL = "incidentbot"
"""The label every issue the bot files carries: the lookup lists only these."""
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50
"""At most 5,000 issues are scanned per lookup (the ``incidentbot`` + ``INC-n`` labels keep it to a few)."""
REPOSITORY = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}", re.ASCII)
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_MARKER_COMMENT = re.compile(r"<!-- ([A-Za-z0-9][A-Za-z0-9:._-]{0,199}) -->")
DROPPING_REASONS = {"not_planned": "not planned", "duplicate": "duplicate"}
"""The ``state_reason`` values of an issue closed without being done (GitHub's issue schema: completed,
not_planned, reopened, and the newer duplicate), with how a drop reason says them."""


def dropped_reason(state_reason: object) -> str | None:
    """``closed as not planned in GitHub`` for a ``state_reason`` that means closed without being done
    (:data:`DROPPING_REASONS`), None for completed, reopened, none, or a reason GitHub adds later."""
    said = DROPPING_REASONS.get(state_reason) if isinstance(state_reason, str) else None
    return f"closed as {said} in GitHub" if said else None


def explain(data: Any) -> str:
    """GitHub's error body in one line: ``message`` then each of ``errors`` (``field code`` or its
    ``message``), e.g. ``Validation Failed: assignees invalid (nobody)``."""
    if not isinstance(data, dict):
        return ""
    text = str(data.get("message") or "")
    details = []
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            said = error.get("message") or " ".join(
                str(error[k]) for k in ("resource", "field", "code") if error.get(k)
            )
            value = error.get("value")
            details.append(f"{said} ({value})" if value not in (None, "") else str(said))
        elif isinstance(error, str):
            details.append(error)
    if details:
        text = f"{text}: {'; '.join(details)}" if text else "; ".join(details)
    return " ".join(text.split())[:300]


def refused_fields(data: Any) -> list[str]:
    """The ``field`` of each of GitHub's ``errors`` (``validation-error``), e.g. ``["assignees"]``."""
    errors = data.get("errors") if isinstance(data, dict) else None
    return [str(e["field"]) for e in errors or [] if isinstance(e, dict) and e.get("field")]


def marker_comment(marker: str) -> str:
    """The hidden line carrying ``marker`` in an issue body."""
    return f"<!-- {marker} -->"


class GitHubTracker:
    """Files and reads issues of one repository (``owner/repo``) with a token (fine-grained: Issues
    read and write, Metadata read; classic: ``repo``, or ``public_repo`` for a public repository)."""

    name = "github"

    def __init__(
        self, repository: str, token: str, base_url: str = DEFAULT_GITHUB_URL, *, timeout_seconds: float = 15.0
    ) -> None:
        if not REPOSITORY.fullmatch(repository):
            raise ValueError(f"GitHub repository must look like owner/repo, got {repository!r}")
        self.repository = repository
        self.http = TrackerHttp(
            "GitHub",
            base_url,
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "incidentbot",
            },
            token,
            timeout_seconds=timeout_seconds,
            explain=explain,
            fields_of=refused_fields,
        )

    @property
    def _repo_path(self) -> str:
        return f"/repos/{self.repository}"

    async def file(self, issue: TrackerIssue) -> TrackerRef:
        """See the module docstring (lookup, create, converge). Raises TrackerError."""
        existing = await self._carrying(issue)
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
        labels = [MARKER_LABEL, *[label for label in issue.labels if label != MARKER_LABEL]]
        body: dict[str, Any] = {
            "title": issue.title,
            "body": f"{_inert(issue.body).rstrip()}\n\n{marker_comment(issue.marker)}\n",
            "labels": labels,
        }
        if issue.assignee:
            body["assignees"] = [issue.assignee]
        answer = await self._create(body, issue)
        created = _object(answer, "the created issue")
        mine = self._ref(created)
        log.info(
            "tracker_issue_filed",
            tracker=self.name,
            incident=incident_of(issue.marker),
            marker=issue.marker,
            key=mine.key,
        )
        kept = {label.get("name") for label in created.get("labels") or [] if isinstance(label, dict)}
        if MARKER_LABEL not in kept:
            log.warning(
                "tracker_labels_dropped",
                tracker=self.name,
                incident=incident_of(issue.marker),
                marker=issue.marker,
                key=mine.key,
            )
            return mine
        copies = await self._carrying(issue)
        if not copies:
            return mine
        winner = copies[0]
        if winner.get("number") != created.get("number"):
            await self._close_duplicate(created, winner)
        return self._ref(winner)

    async def _create(self, body: dict[str, Any], issue: TrackerIssue) -> Answer:
        """POST the issue; when GitHub refuses only its assignee (422 on ``assignees``: not a
        collaborator, a stale mapping), file it unassigned rather than not at all (logged as
        ``tracker_assignee_refused``): nothing was created by the refused request."""
        path = f"{self._repo_path}/issues"
        try:
            return await self.http.request("POST", path, body=body, expect=(201,))
        except TrackerError as exc:
            if exc.status != 422 or set(exc.fields) != {"assignees"}:
                raise
            log.warning(
                "tracker_assignee_refused",
                tracker=self.name,
                incident=incident_of(issue.marker),
                assignee=issue.assignee,
                reason=exc.reason,
            )
            unassigned = {k: v for k, v in body.items() if k != "assignees"}
            return await self.http.request("POST", path, body=unassigned, expect=(201,))

    async def find(self, marker: str) -> TrackerRef | None:
        """The lowest-numbered issue labelled ``incidentbot`` whose body carries ``marker``."""
        found = await self._list_carrying(marker, [MARKER_LABEL])
        return self._ref(found[0]) if found else None

    async def state(self, ref: TrackerRef) -> TrackerState:
        """The issue's state. When it is a copy this client closed as a duplicate (closed "not
        planned", carrying a marker that a lower-numbered issue also carries: two replicas whose lists
        disagreed kept different copies), the state of that lower-numbered issue, with its ref: the
        caller should store the new ref. Raises TrackerError; ValueError for a key not ``owner/repo#n``."""
        data = await self._issue(ref)
        if data.get("state") == "closed" and data.get("state_reason") == "not_planned":
            marker = _MARKER_COMMENT.search(str(data.get("body") or ""))
            original = await self.find(marker.group(1)) if marker else None
            if original is not None and _number(original.key) < _number(ref.key):
                log.info("tracker_duplicate_followed", tracker=self.name, key=ref.key, kept=original.key)
                data = await self._issue(original)
        return self._state(data)

    async def _issue(self, ref: TrackerRef) -> dict[str, Any]:
        answer = await self.http.request("GET", f"{self._repo_path}/issues/{_number(ref.key)}")
        return _object(answer, "the issue")

    def _state(self, data: dict[str, Any]) -> TrackerState:
        status = IssueStatus.CLOSED if data.get("state") == "closed" else IssueStatus.OPEN
        closed_at = isoparse(data["closed_at"]) if data.get("closed_at") else None
        assignees = [a.get("login") for a in data.get("assignees") or [] if isinstance(a, dict)]
        closed = status is IssueStatus.CLOSED
        return TrackerState(
            ref=self._ref(data),
            status=status,
            closed_at=closed_at,
            reason=data.get("state_reason") if closed else None,
            assignee=assignees[0] if assignees else None,
            dropped=dropped_reason(data.get("state_reason")) if closed else None,
        )

    async def check(self) -> str:
        answer = await self.http.request("GET", self._repo_path)
        data = _object(answer, "the repository")
        if (data.get("permissions") or {}).get("push") is False:
            raise TrackerError(
                FailureKind.PERMANENT,
                f"the token's account has no push access to {self.repository}: GitHub would silently drop the "
                "labels the bot finds its issues by; give it write access",
                answer.status,
                tracker="GitHub",
            )
        if data.get("has_issues") is False:
            raise TrackerError(
                FailureKind.PERMANENT,
                f"{self.repository} has issues turned off: enable them in the repository's settings",
                answer.status,
                tracker="GitHub",
            )
        return f"{data.get('full_name') or self.repository} reachable, issues enabled"

    async def comment(self, ref: TrackerRef, marker: str, text: str) -> bool:
        """Add ``text`` (Markdown) as a comment on ``ref``'s issue unless a comment already carries
        ``marker`` (an HTML comment on its last line, as issues carry theirs): True when it was added.
        The lookup reads the issue's comments (``GET .../issues/{n}/comments``, oldest first, all pages),
        so a retry after a crash between GitHub's answer and our commit finds the first one.
        Raises TrackerError (a deleted issue: permanent, 404/410)."""
        number = _number(ref.key)
        wanted = marker_comment(marker)
        async for page in self._pages(f"{self._repo_path}/issues/{number}/comments", {"per_page": str(PER_PAGE)}):
            if any(isinstance(item, dict) and wanted in str(item.get("body") or "") for item in page):
                return False
        await self.http.request(
            "POST",
            f"{self._repo_path}/issues/{number}/comments",
            body={"body": f"{_inert(text).rstrip()}\n\n{wanted}\n"},
            expect=(201,),
        )
        return True

    # ------------------------------------------------------------------------------ helpers

    async def _carrying(self, issue: TrackerIssue) -> list[dict[str, Any]]:
        incident_labels = [label for label in issue.labels if re.fullmatch(r"INC-\d+", label)]
        return await self._list_carrying(issue.marker, [MARKER_LABEL, *incident_labels[:1]])

    async def _list_carrying(self, marker: str, labels: list[str]) -> list[dict[str, Any]]:
        """Issues (not pull requests) with all ``labels`` whose body holds the marker comment, lowest number first."""
        wanted = marker_comment(marker)
        found: list[dict[str, Any]] = []
        params = {
            "labels": ",".join(labels),
            "state": "all",
            "per_page": str(PER_PAGE),
            "sort": "created",
            "direction": "asc",
        }
        async for page in self._pages(f"{self._repo_path}/issues", params):
            found.extend(
                item
                for item in page
                if isinstance(item, dict) and "pull_request" not in item and wanted in str(item.get("body") or "")
            )
        return sorted(found, key=lambda item: int(item.get("number") or 0))

    async def _pages(self, path: str, params: dict[str, str]) -> AsyncIterator[list[Any]]:
        """The pages of a list answer, following ``Link: <...>; rel="next"`` up to MAX_PAGES.
        Raises TrackerError (temporary when GitHub answers something other than a list)."""
        where: str | None = path
        query: dict[str, str] | None = params
        for _ in range(MAX_PAGES):
            if where is None:
                return
            answer = await self.http.request("GET", where, params=query)
            if not isinstance(answer.data, list):
                raise TrackerError(
                    FailureKind.TEMPORARY, f"GET {where}: GitHub answered no list", answer.status, tracker="GitHub"
                )
            yield answer.data
            where, query = self._next(answer)

    def _next(self, answer: Answer) -> tuple[str | None, dict[str, str] | None]:
        match = _NEXT.search(answer.headers.get("link", ""))
        if match is None:
            return None, None
        url = match.group(1)
        base = self.http.base_url
        return (url[len(base) :] if url.startswith(base) else None), None

    async def _close_duplicate(self, mine: dict[str, Any], winner: dict[str, Any]) -> None:
        """Close our copy as not planned; best effort: the winner is answered either way, and a copy
        left open is logged (``tracker_duplicate_left_open``) for a person to close."""
        number = mine.get("number")
        closed, kept = f"{self.repository}#{number}", f"{self.repository}#{winner.get('number')}"
        try:
            await self.http.request(
                "PATCH",
                f"{self._repo_path}/issues/{number}",
                body={"state": "closed", "state_reason": "not_planned"},
            )
        except TrackerError as exc:
            log.warning("tracker_duplicate_left_open", tracker=self.name, key=closed, kept=kept, reason=exc.reason)
            return
        log.warning("tracker_duplicate_closed", tracker=self.name, closed=closed, kept=kept)

    def _ref(self, data: dict[str, Any]) -> TrackerRef:
        return TrackerRef(f"{self.repository}#{data.get('number')}", str(data.get("html_url") or ""))


def _object(answer: Answer, what: str) -> dict[str, Any]:
    if not isinstance(answer.data, dict) or ("number" not in answer.data and "full_name" not in answer.data):
        raise TrackerError(
            FailureKind.TEMPORARY,
            f"GitHub answered HTTP {answer.status} without {what}",
            answer.status,
            tracker="GitHub",
        )
    return answer.data


WORD_JOINER = "\u2060"
"""An invisible character that keeps ``@name`` and ``#12`` from being read as a mention or a reference."""
_MENTION_OR_REFERENCE = re.compile(r"(?<![\w/.:=&?-])(@(?=[A-Za-z0-9])|#(?=\d))")
"""``@name`` and ``#12`` where GitHub would link them: not inside a word, an address or a URL."""
_CROSS_REFERENCE = re.compile(r"(?<![\w/.:-])(?:[A-Za-z0-9][\w.-]*/[\w.-]+#|GH-)(?=\d)")
"""``owner/repo#12`` and ``GH-12``: references GitHub links (and announces on the other issue)."""


def _inert(markdown: str) -> str:
    """``markdown`` (a body or comment the bot writes, with text people typed in Slack) made inert for
    GitHub while reading the same: ``@carol`` mentions nobody on GitHub and ``#123``, ``owner/repo#12``
    and ``GH-12`` link no issue (an invisible word joiner follows ``@``/``#``/``GH-``), ``&`` and ``<``
    are written ``&amp;`` and ``&lt;`` (what was typed shows as typed; no HTML: no ``<img>`` pixel, and
    no text can carry a marker comment, so the lookup finds only the bot's own), and ``![...](...)`` is
    no image. GitHub links mentions and references in the rendered text ("Basic writing and
    formatting syntax"), so a backslash escape would not stop them; code spans would, but also show."""
    text = markdown.replace("&", "&amp;").replace("<", "&lt;").replace("![", "!\\[")
    text = _MENTION_OR_REFERENCE.sub(lambda m: m.group(1) + WORD_JOINER, text)
    return _CROSS_REFERENCE.sub(lambda m: m.group(0) + WORD_JOINER, text)


def _number(key: str) -> int:
    """``acme/web#42`` -> 42. Raises ValueError for a key of another shape."""
    _, sep, number = key.rpartition("#")
    if not sep or not number.isdecimal():
        raise ValueError(f"not a GitHub issue key: {key!r}")
    return int(number)
