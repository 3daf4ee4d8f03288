"""A fake GitHub REST API for issues, following github/rest-api-description
(``descriptions/api.github.com/api.github.com.yaml``):

* ``repos/get`` ``GET /repos/{owner}/{repo}``: 200 with ``full_name``, ``has_issues``; 404.
* ``issues/create`` ``POST /repos/{owner}/{repo}/issues``: 201 with the ``issue`` schema and a
  ``Location`` header; 422 ``validation_failed`` (``message: Validation Failed``, ``errors`` of
  ``resource``/``field``/``code``) for a missing title or an assignee who cannot be assigned; 410 when
  issues are disabled. Labels that do not exist yet are created, as GitHub does for a pusher; with
  ``push_access = False`` labels and assignees are silently dropped, as the description says.
* ``issues/list-for-repo`` ``GET /repos/{owner}/{repo}/issues``: ``labels`` (all must match),
  ``state`` (open by default, closed, all), ``sort=created``, ``direction``, ``per_page``, ``page``,
  and a ``Link`` header with ``rel="next"``.
* ``issues/get`` and ``issues/update`` (``PATCH``: ``state``, ``state_reason``); 404 for a number that
  never was, 410 "This issue was deleted" for a deleted one.
* ``issues/list-comments`` ``GET /repos/{owner}/{repo}/issues/{issue_number}/comments`` (oldest first,
  ``per_page``, ``page``, ``Link`` with ``rel="next"``) and ``issues/create-comment`` ``POST`` with
  ``body``: 201 with the ``issue-comment`` schema; 422 without a body; 404 for an unknown issue.
* 401 ``{"message": "Bad credentials", ...}`` without ``Authorization: Bearer <TOKEN>``.

Test helpers: ``close(number)`` closes an issue as a person would (``reason="not_planned"`` or
``"duplicate"`` for the other close reasons), ``delete(number)``, and the gates and faults of
``FakeTrackerServer``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.support.fake_tracker_http import FakeTrackerServer

TOKEN = "ghp_FAKEtoken0123456789abcdefghijklmnopqr"
DOCS = "https://docs.github.com/rest"


def _user(login: str, number: int) -> dict[str, Any]:
    return {
        "login": login,
        "id": number,
        "node_id": f"MDQ6VXNlcj{number}",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub(FakeTrackerServer):
    def __init__(self, repository: str = "acme/web", users: tuple[str, ...] = ("octocat", "hubot")) -> None:
        self.repository = repository
        self.users = {login: index + 1 for index, login in enumerate(users)}
        self.issues: dict[int, dict[str, Any]] = {}
        self.has_issues = True
        self.push_access = True
        self.token = TOKEN
        self._labels: dict[str, int] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.deleted: set[int] = set()
        super().__init__()

    def _routes(self) -> None:
        base = "/repos/{owner}/{repo}"
        self.route("repo", "GET", base, self._repo)
        self.route("list", "GET", base + "/issues", self._list)
        self.route("create", "POST", base + "/issues", self._create)
        self.route("get", "GET", base + "/issues/{number}", self._get)
        self.route("update", "PATCH", base + "/issues/{number}", self._update)
        self.route("comments", "GET", base + "/issues/{number}/comments", self._comments)
        self.route("comment", "POST", base + "/issues/{number}/comments", self._comment)

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") in (f"Bearer {self.token}", f"token {self.token}")

    def unauthorized(self) -> web.Response:
        return web.json_response({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, status=401)

    # ------------------------------------------------------------------------------ test helpers

    def close(self, number: int, reason: str = "completed", at: datetime | None = None) -> None:
        """Close issue ``number`` as a person would in GitHub's UI."""
        issue = self.issues[number]
        moment = at or datetime.now(UTC)
        issue.update(state="closed", state_reason=reason, closed_at=_stamp(moment), updated_at=_stamp(moment))
        issue["closed_by"] = _user("octocat", 1)

    def reopen(self, number: int) -> None:
        """Reopen issue ``number`` as a person would in GitHub's UI."""
        issue = self.issues[number]
        issue.update(state="open", state_reason="reopened", closed_at=None, updated_at=_stamp(datetime.now(UTC)))
        issue["closed_by"] = None

    def delete(self, number: int) -> None:
        """Delete issue ``number`` as a repository admin would in GitHub's UI (the REST API cannot): GET
        answers 410 ``{"message": "This issue was deleted"}`` from then on, as GitHub does."""
        del self.issues[number]
        self.deleted.add(number)

    def carrying(self, text: str) -> list[dict[str, Any]]:
        """The issues whose body contains ``text`` (open or closed), lowest number first."""
        return [i for _, i in sorted(self.issues.items()) if text in (i.get("body") or "")]

    # ------------------------------------------------------------------------------ routes

    def _known(self, request: web.Request) -> web.Response | None:
        asked = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if asked.casefold() != self.repository.casefold():  # GitHub matches owner/repo in any case
            return web.json_response({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status=404)
        return None

    async def _repo(self, request: web.Request, body: Any) -> web.Response:
        missing = self._known(request)
        if missing:
            return missing
        return web.json_response(
            {
                "id": 1296269,
                "name": self.repository.split("/")[1],
                "full_name": self.repository,
                "has_issues": self.has_issues,
                "permissions": {
                    "admin": False,
                    "maintain": False,
                    "push": self.push_access,
                    "triage": True,
                    "pull": True,
                },
            }
        )

    async def _list(self, request: web.Request, body: Any) -> web.Response:
        missing = self._known(request)
        if missing:
            return missing
        query = request.query
        wanted = {label for label in query.get("labels", "").split(",") if label}
        state = query.get("state", "open")
        found = [
            issue
            for _, issue in sorted(self.issues.items(), reverse=query.get("direction", "desc") == "desc")
            if wanted <= {label["name"] for label in issue["labels"]} and state in ("all", issue["state"])
        ]
        per_page = min(int(query.get("per_page", "30")), 100)
        page = int(query.get("page", "1"))
        chunk = found[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(found):
            following = request.url.update_query(page=str(page + 1))
            headers["Link"] = f'<{self.url}{following.path_qs}>; rel="next"'
        return web.json_response(chunk, headers=headers)

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        missing = self._known(request)
        if missing:
            return missing
        if not self.has_issues:
            return web.json_response(
                {"message": "Issues are disabled for this repo", "documentation_url": DOCS}, status=410
            )
        errors = []
        if not isinstance(body, dict) or not body.get("title"):
            errors.append({"resource": "Issue", "code": "missing_field", "field": "title"})
        body = body if isinstance(body, dict) else {}
        assignees = body.get("assignees") or []
        for login in assignees:
            if login not in self.users:
                errors.append({"resource": "Issue", "code": "invalid", "field": "assignees", "value": login})
        if errors:
            return web.json_response(
                {"message": "Validation Failed", "errors": errors, "documentation_url": DOCS, "status": "422"},
                status=422,
            )
        number = max(self.issues, default=0) + 1
        now = _stamp(datetime.now(UTC))
        api = f"{self.url}/repos/{self.repository}/issues/{number}"
        labels = [self._label(name) for name in body.get("labels") or []] if self.push_access else []
        people = [_user(login, self.users[login]) for login in assignees] if self.push_access else []
        issue = {
            "id": 1000 + number,
            "node_id": f"MDU6SXNzdWU{number}",
            "url": api,
            "repository_url": f"{self.url}/repos/{self.repository}",
            "labels_url": api + "/labels{/name}",
            "comments_url": api + "/comments",
            "events_url": api + "/events",
            "html_url": f"https://github.com/{self.repository}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": str(body["title"]),
            "body": body.get("body"),
            "user": _user("incidentbot", 99),
            "pinned_comment": None,
            "labels": labels,
            "assignee": people[0] if people else None,
            "assignees": people,
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": None,
            "created_at": now,
            "updated_at": now,
            "closed_by": None,
            "author_association": "OWNER",
        }
        self.issues[number] = issue
        return web.json_response(issue, status=201, headers={"Location": api})

    def _label(self, name: str) -> dict[str, Any]:
        number = self._labels.setdefault(name, 208045946 + len(self._labels))
        return {
            "id": number,
            "node_id": f"MDU6TGFiZWw{number}",
            "url": f"{self.url}/repos/{self.repository}/labels/{name}",
            "name": name,
            "description": None,
            "color": "ededed",
            "default": False,
        }

    def _issue(self, request: web.Request) -> dict[str, Any] | web.Response:
        missing = self._known(request)
        if missing:
            return missing
        number = int(request.match_info["number"])
        if number in self.deleted:
            return web.json_response(
                {"message": "This issue was deleted", "documentation_url": DOCS, "status": "410"}, status=410
            )
        issue = self.issues.get(number)
        if issue is None:
            return web.json_response({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status=404)
        return issue

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        issue = self._issue(request)
        return issue if isinstance(issue, web.Response) else web.json_response(issue)

    async def _update(self, request: web.Request, body: Any) -> web.Response:
        issue = self._issue(request)
        if isinstance(issue, web.Response):
            return issue
        if body.get("state") == "closed":
            self.close(issue["number"], body.get("state_reason") or "completed")
        elif body.get("state") == "open":
            issue.update(state="open", state_reason="reopened", closed_at=None, closed_by=None)
        return web.json_response(issue)

    async def _comments(self, request: web.Request, body: Any) -> web.Response:
        issue = self._issue(request)
        if isinstance(issue, web.Response):
            return issue
        found = self.comments.get(issue["number"], [])
        per_page = min(int(request.query.get("per_page", "30")), 100)
        page = int(request.query.get("page", "1"))
        headers = {}
        if page * per_page < len(found):
            following = request.url.update_query(page=str(page + 1))
            headers["Link"] = f'<{self.url}{following.path_qs}>; rel="next"'
        return web.json_response(found[(page - 1) * per_page : page * per_page], headers=headers)

    async def _comment(self, request: web.Request, body: Any) -> web.Response:
        issue = self._issue(request)
        if isinstance(issue, web.Response):
            return issue
        text = (body or {}).get("body")
        if not isinstance(text, str) or not text:
            return web.json_response(
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "IssueComment", "field": "body", "code": "missing_field"}],
                    "documentation_url": DOCS,
                    "status": "422",
                },
                status=422,
            )
        number = issue["number"]
        identifier = 1081119451 + sum(len(c) for c in self.comments.values())
        moment = _stamp(datetime.now(UTC))
        comment = {
            "id": identifier,
            "node_id": f"IC_kwDOA{identifier}",
            "url": f"{self.url}/repos/{self.repository}/issues/comments/{identifier}",
            "html_url": f"https://github.com/{self.repository}/issues/{number}#issuecomment-{identifier}",
            "issue_url": f"{self.url}/repos/{self.repository}/issues/{number}",
            "body": text,
            "user": _user("incidentbot[bot]", 99),
            "created_at": moment,
            "updated_at": moment,
            "author_association": "NONE",
        }
        self.comments.setdefault(number, []).append(comment)
        issue["comments"] = len(self.comments[number])
        return web.json_response(comment, status=201, headers={"Location": comment["url"]})
