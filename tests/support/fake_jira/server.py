"""A fake Jira Cloud platform REST API v3 (developer.atlassian.com/cloud/jira/platform/rest/v3):

* ``POST /rest/api/3/issue``: 201 ``{"id", "key", "self"}``; 400 ``{"errorMessages": [], "errors":
  {field: message}}`` for an unknown project or issue type, a missing summary, a description that is
  not an Atlassian Document, a label with a space, an assignee who cannot be assigned, a ``duedate``
  that is not ``YYYY-MM-DD`` ("Error parsing date string: X"), and any ``duedate`` while Due date is
  not on the project's create screen (``duedate_on_screen = False``: "Field 'duedate' cannot be set. It
  is not on the appropriate screen, or unknown.", Jira's words for a field missing from the screen).
* ``GET /rest/api/3/issue/{key}``: ``fields.status`` with ``statusCategory.key`` (new,
  indeterminate, done), ``resolutiondate`` (``2026-11-30T09:15:00.000+0000``), ``assignee.accountId``;
  404 ``{"errorMessages": ["Issue does not exist or you do not have permission to see it."]}``.
* ``POST /rest/api/3/search/jql``: the JQL the client sends (``project = "K" AND labels = "L"``),
  ``maxResults``, ``nextPageToken``; answers ``issues`` (``id``, ``key``, ``fields``) and
  ``nextPageToken`` while more remain. Eventually consistent like Jira's: with ``lagging = True``
  new and changed issues stay out of search until ``index()``.
* ``GET /rest/api/3/issue/{key}/comment`` (``startAt``, ``maxResults``; answers ``comments``,
  ``startAt``, ``maxResults``, ``total``) and ``POST`` the same path with ``{"body": ADF}``: 201 with the
  comment (``id``, ``self``, ``author``, ``body``, ``created``); 400 when the body is not an Atlassian
  Document; 404 for an unknown issue.
* ``GET /rest/api/3/myself``, ``GET /rest/api/3/project/{key}``.
* 401 ``{"errorMessages": ["Client must be authenticated to access this resource."]}`` without
  ``Authorization: Basic base64(EMAIL:TOKEN)``.

Test helpers: ``close(key)`` moves an issue to Done (``resolution="Won't Do"`` for another resolution),
``reopen(key)``, ``delete(key)``, and the faults of
``FakeTrackerServer``.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.support.fake_tracker_http import FakeTrackerServer

EMAIL = "incidentbot@acme.example"
TOKEN = "ATATT3xFfGF0FAKEjiraAPItoken0123456789"
_DAY = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
_JQL = re.compile(r'project = "(?P<project>[^"]+)" AND labels = "(?P<label>[^"]+)"')
CATEGORIES = {
    "To Do": {"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"},
    "In Progress": {"id": 4, "key": "indeterminate", "name": "In Progress", "colorName": "yellow"},
    "Done": {"id": 3, "key": "done", "name": "Done", "colorName": "green"},
}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeJira(FakeTrackerServer):
    def __init__(self, project: str = "OPS", accounts: tuple[str, ...] = ("5b10ac8d82e05b22cc7d4ef5",)) -> None:
        self.project = project
        self.accounts = set(accounts)
        self.issue_types = {"Task", "Bug"}
        self.duedate_on_screen = True
        self.issues: dict[str, dict[str, Any]] = {}
        self._last_number = 0  # Jira never reuses a key: numbers only go up, deleted issues included
        self.lagging = False
        self._indexed: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        super().__init__()

    def _routes(self) -> None:
        self.route("create", "POST", "/rest/api/3/issue", self._create)
        self.route("get", "GET", "/rest/api/3/issue/{key}", self._get)
        self.route("search", "POST", "/rest/api/3/search/jql", self._search)
        self.route("comments", "GET", "/rest/api/3/issue/{key}/comment", self._comments)
        self.route("comment", "POST", "/rest/api/3/issue/{key}/comment", self._comment)
        self.route("myself", "GET", "/rest/api/3/myself", self._myself)
        self.route("project", "GET", "/rest/api/3/project/{key}", self._project)

    def authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == expected

    def unauthorized(self) -> web.Response:
        return web.json_response(
            {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}}, status=401
        )

    # ------------------------------------------------------------------------------ test helpers

    def close(self, key: str, status: str = "Done", at: datetime | None = None, resolution: str | None = None) -> None:
        """Move ``key`` to ``status`` (category done) with ``resolution`` (default: the status's name), as a
        person resolving it in Jira's UI: "Done" with "Won't Do" is how Jira Cloud's default workflow
        closes an issue that will not be done."""
        fields = self.issues[key]["fields"]
        fields["status"] = self._status(status)
        fields["resolutiondate"] = _stamp(at or datetime.now(UTC))
        fields["resolution"] = {
            "self": f"{self.url}/rest/api/3/resolution/1000{len(resolution or status)}",
            "id": str(10000 + len(resolution or status)),
            "name": resolution or status,
        }
        self._reindex(key)

    def delete(self, key: str) -> None:
        """Delete ``key`` as an administrator would: GET answers 404 from then on."""
        del self.issues[key]
        self._indexed.pop(key, None)

    def reopen(self, key: str) -> None:
        fields = self.issues[key]["fields"]
        fields.update(status=self._status("To Do"), resolutiondate=None, resolution=None)
        self._reindex(key)

    def index(self) -> None:
        """Jira's search index catches up with every write."""
        self._indexed = {key: _copy(issue) for key, issue in self.issues.items()}

    def _reindex(self, key: str) -> None:
        if not self.lagging:
            self._indexed[key] = _copy(self.issues[key])

    def _status(self, name: str) -> dict[str, Any]:
        return {"id": str(10000 + len(name)), "name": name, "statusCategory": CATEGORIES[name]}

    # ------------------------------------------------------------------------------ routes

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return _bad({}, ["Request body is invalid."])
        errors: dict[str, str] = {}
        if (fields.get("project") or {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if (fields.get("issuetype") or {}).get("name") not in self.issue_types:
            errors["issuetype"] = "Specify an issue type"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        description = fields.get("description")
        if description is not None and not (
            isinstance(description, dict) and description.get("type") == "doc" and description.get("version") == 1
        ):
            errors["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        for label in fields.get("labels") or []:
            if " " in label:
                errors["labels"] = f"The label '{label}' contains spaces which is invalid."
        assignee = (fields.get("assignee") or {}).get("accountId")
        if assignee is not None and assignee not in self.accounts:
            errors["assignee"] = f"User '{assignee}' cannot be assigned issues."
        duedate = fields.get("duedate")
        if "duedate" in fields and not self.duedate_on_screen:
            errors["duedate"] = "Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown."
        elif duedate is not None and not (isinstance(duedate, str) and _DAY.fullmatch(duedate)):
            errors["duedate"] = f"Error parsing date string: {duedate}"
        if errors:
            return _bad(errors, [])
        placed = (int(k.rpartition("-")[2]) for k in self.issues if k.rpartition("-")[2].isdigit())
        self._last_number = max([self._last_number, *placed]) + 1  # issues a test placed by hand count too
        number = self._last_number
        key = f"{self.project}-{number}"
        issue_id = str(10000 + number)
        self.issues[key] = {
            "id": issue_id,
            "key": key,
            "self": f"{self.url}/rest/api/3/issue/{issue_id}",
            "fields": {
                "summary": fields["summary"],
                "description": description,
                "labels": list(fields.get("labels") or []),
                "status": self._status("To Do"),
                "resolution": None,
                "resolutiondate": None,
                "duedate": duedate,
                "created": _stamp(datetime.now(UTC)),
                "assignee": {"accountId": assignee, "displayName": "Octo Cat", "active": True} if assignee else None,
            },
        }
        self._reindex(key)
        return web.json_response(
            {"id": issue_id, "key": key, "self": f"{self.url}/rest/api/3/issue/{issue_id}"}, status=201
        )

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        issue = self.issues.get(request.match_info["key"])
        if issue is None:
            return web.json_response(
                {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}},
                status=404,
            )
        wanted = request.query.get("fields")
        fields = issue["fields"]
        if wanted:
            fields = {name: fields.get(name) for name in wanted.split(",")}
        return web.json_response({**issue, "fields": fields})

    async def _search(self, request: web.Request, body: Any) -> web.Response:
        match = _JQL.match(str((body or {}).get("jql", "")))
        if match is None:
            return _bad(
                {}, [f"Error in the JQL Query: {str((body or {}).get('jql'))!r} is not understood by the fake."]
            )
        if match["project"] != self.project:
            return _bad({}, [f"The value '{match['project']}' does not exist for the field 'project'."])
        found = [
            issue
            for key, issue in sorted(self._indexed.items(), key=lambda kv: int(kv[0].rsplit("-", 1)[1]))
            if match["label"] in issue["fields"]["labels"]
        ]
        start = int((body or {}).get("nextPageToken") or 0)
        size = int((body or {}).get("maxResults") or 50)
        wanted = (body or {}).get("fields") or []
        page = [{**i, "fields": {f: i["fields"].get(f) for f in wanted}} for i in found[start : start + size]]
        answer: dict[str, Any] = {"issues": page, "isLast": start + size >= len(found)}
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return web.json_response(answer)

    async def _comments(self, request: web.Request, body: Any) -> web.Response:
        key = request.match_info["key"]
        if key not in self.issues:
            return _missing_issue()
        found = self.comments.get(key, [])
        start = int(request.query.get("startAt") or 0)
        size = min(int(request.query.get("maxResults") or 50), 100)
        page = found[start : start + size]
        return web.json_response({"comments": page, "startAt": start, "maxResults": size, "total": len(found)})

    async def _comment(self, request: web.Request, body: Any) -> web.Response:
        key = request.match_info["key"]
        if key not in self.issues:
            return _missing_issue()
        document = (body or {}).get("body")
        if not isinstance(document, dict) or document.get("type") != "doc" or document.get("version") != 1:
            return _bad({"comment": "Comment body can not be empty!"}, [])
        identifier = str(10000 + sum(len(c) for c in self.comments.values()))
        comment = {
            "self": f"{self.url}/rest/api/3/issue/{self.issues[key]['id']}/comment/{identifier}",
            "id": identifier,
            "author": {"accountId": "712020:bot", "displayName": "incidentbot", "active": True},
            "body": document,
            "created": _stamp(datetime.now(UTC)),
            "updated": _stamp(datetime.now(UTC)),
            "jsdPublic": True,
        }
        self.comments.setdefault(key, []).append(comment)
        return web.json_response(comment, status=201)

    async def _myself(self, request: web.Request, body: Any) -> web.Response:
        return web.json_response({"accountId": "712020:bot", "emailAddress": EMAIL, "displayName": "incidentbot"})

    async def _project(self, request: web.Request, body: Any) -> web.Response:
        if request.match_info["key"] != self.project:
            return web.json_response(
                {"errorMessages": ["No project could be found with key 'X'."], "errors": {}}, status=404
            )
        return web.json_response({"id": "10000", "key": self.project, "name": "Operations"})


def _bad(errors: dict[str, str], messages: list[str]) -> web.Response:
    return web.json_response({"errorMessages": messages, "errors": errors}, status=400)


def _copy(issue: dict[str, Any]) -> dict[str, Any]:
    return {**issue, "fields": dict(issue["fields"])}


def _missing_issue() -> web.Response:
    return web.json_response(
        {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}},
        status=404,
    )
