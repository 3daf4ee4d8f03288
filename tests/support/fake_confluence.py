"""A fake Confluence Cloud REST API on 127.0.0.1, answering the shapes of Atlassian's REST reference for the
v1 content resource (developer.atlassian.com/cloud/confluence/rest/v1, "Content", "Space") and v2's "Get
space by id" (as documented there; not generated from the OpenAPI file, which was not reachable here):

* ``GET /wiki/rest/api/space/{key}``: 200 ``{"id", "key", "name", "type"}``; 404 for an unknown space.
* ``GET /wiki/api/v2/spaces/{id}``: 200 ``{"id", "key", "name"}``; 404.
* ``GET /wiki/rest/api/content?spaceKey&title&type&status&expand``: ``{"results": [Content], "start",
  "limit", "size", "_links": {"base", "context"}}``, the page with exactly that title in the space.
* ``GET /wiki/rest/api/content/{id}?expand``: the Content; 404 ``{"statusCode": 404, "message": "No
  content found with id: ..."}``.
* ``POST /wiki/rest/api/content``: 200 with the Content at ``version.number`` 1; 400 for a title already
  used in the space ("A page with this title already exists"), a body that is not well-formed storage
  format (XML) or an unknown ancestor; 404 for an unknown space.
* ``PUT /wiki/rest/api/content/{id}``: 200 with the Content; **409** ``{"statusCode": 409, "message":
  "Version must be incremented on update. Current version is: N"}`` when ``version.number`` is not the
  current one plus one; 400 as for POST.
* 401 ``{"statusCode": 401, "message": "Unauthorized"}`` without ``Authorization: Basic`` of EMAIL:TOKEN.

Content: ``id``, ``type``, ``status``, ``title``, ``space``, ``version`` (``number``, ``message``, ``when``),
``ancestors``, ``_links`` (``webui``, ``self``, ``tinyui``; ``base`` and ``context`` on single answers), and
when expanded ``body.storage`` and ``metadata.labels`` (``{"results": [{"prefix", "name", "id"}], "size"}``).
Test helpers: ``edit(id, ...)`` saves a version as a person would; ``pages``; the faults of
``FakeTrackerServer``.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web

from tests.support.fake_tracker_http import FakeTrackerServer

EMAIL = "bot@acme.example"
TOKEN = "ATATT3xFfGF0-fake-confluence-token-0123456789"
SPACES = {"OPS": ("98305", "Operations")}


class FakeConfluence(FakeTrackerServer):
    """Pages by id in insertion order; ``pages[id]`` holds the stored fields and ``versions`` every body."""

    def __init__(self) -> None:
        self.pages: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, list[str]] = {}
        self._next_id = 65601
        super().__init__()

    def _routes(self) -> None:
        self.route("space", "GET", "/wiki/rest/api/space/{key}", self._space)
        self.route("space_v2", "GET", "/wiki/api/v2/spaces/{id}", self._space_v2)
        self.route("list", "GET", "/wiki/rest/api/content", self._list)
        self.route("get", "GET", "/wiki/rest/api/content/{id}", self._get)
        self.route("create", "POST", "/wiki/rest/api/content", self._create)
        self.route("update", "PUT", "/wiki/rest/api/content/{id}", self._update)

    def authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == expected

    def unauthorized(self) -> web.Response:
        return web.json_response({"statusCode": 401, "message": "Unauthorized"}, status=401)

    # -- helpers for tests ---------------------------------------------------------------------

    def add_page(self, title: str, body: str = "<p>x</p>", labels: tuple[str, ...] = (), space: str = "OPS") -> str:
        """A page a person made (no bot label unless given); returns its id."""
        return self._store(space, title, body, list(labels), [])["id"]

    def edit(self, page_id: str, body: str) -> None:
        """A person saves a new version of the page."""
        page = self.pages[page_id]
        page["body"] = body
        page["version"] = {"number": page["version"]["number"] + 1, "message": "edited by a person"}
        self.versions[page_id].append(body)

    # -- routes --------------------------------------------------------------------------------

    def _error(self, status: int, message: str) -> web.Response:
        return web.json_response(
            {"statusCode": status, "data": {"authorized": True, "errors": []}, "message": message}, status=status
        )

    async def _space(self, request: web.Request, _body: Any) -> web.Response:
        key = request.match_info["key"]
        if key not in SPACES:
            return self._error(404, f"No space with key : {key}")
        return web.json_response({"id": int(SPACES[key][0]), "key": key, "name": SPACES[key][1], "type": "global"})

    async def _space_v2(self, request: web.Request, _body: Any) -> web.Response:
        wanted = request.match_info["id"]
        for key, (space_id, name) in SPACES.items():
            if space_id == wanted:
                return web.json_response({"id": space_id, "key": key, "name": name, "type": "global"})
        return web.json_response({"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found"}]}, status=404)

    async def _list(self, request: web.Request, _body: Any) -> web.Response:
        query = request.query
        found = [
            p
            for p in self.pages.values()
            if p["space"] == query.get("spaceKey")
            and ("title" not in query or p["title"] == query["title"])
            and query.get("type", "page") == "page"
        ]
        expand = set(query.get("expand", "").split(","))
        results = [self._content(p, expand) for p in found]
        return web.json_response(
            {
                "results": results,
                "start": 0,
                "limit": 25,
                "size": len(results),
                "_links": {"base": f"{self.url}/wiki", "context": "/wiki", "self": f"{self.url}/wiki/rest/api/content"},
            }
        )

    async def _get(self, request: web.Request, _body: Any) -> web.Response:
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return self._error(404, f"No content found with id: ContentId{{id={request.match_info['id']}}}")
        return web.json_response(self._single(page, set(request.query.get("expand", "").split(","))))

    async def _create(self, _request: web.Request, body: Any) -> web.Response:
        problem = self._invalid(body)
        if problem is not None:
            return problem
        space = body["space"]["key"]
        if space not in SPACES:
            return self._error(404, f"No space with key : {space}")
        ancestors = [str(a.get("id")) for a in body.get("ancestors") or []]
        if any(a not in self.pages for a in ancestors):
            return self._error(400, "Could not find ancestor with id: " + ancestors[0])
        labels = [str(label["name"]) for label in (body.get("metadata") or {}).get("labels") or []]
        page = self._store(space, body["title"], body["body"]["storage"]["value"], labels, ancestors)
        return web.json_response(self._single(page, set()))

    async def _update(self, request: web.Request, body: Any) -> web.Response:
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return self._error(404, f"No content found with id: ContentId{{id={request.match_info['id']}}}")
        number = int(((body or {}).get("version") or {}).get("number") or 0)
        if number != page["version"]["number"] + 1:
            return self._error(
                409, f"Version must be incremented on update. Current version is: {page['version']['number']}"
            )
        problem = self._invalid(body, page["id"])
        if problem is not None:
            return problem
        page["title"] = body["title"]
        page["body"] = body["body"]["storage"]["value"]
        page["version"] = {"number": number, "message": str(body["version"].get("message") or "")}
        self.versions[page["id"]].append(page["body"])
        return web.json_response(self._single(page, set()))

    def _invalid(self, body: Any, page_id: str | None = None) -> web.Response | None:
        if not isinstance(body, dict) or body.get("type") != "page" or not str(body.get("title") or "").strip():
            return self._error(400, "A page must have a type of page and a title")
        storage = (body.get("body") or {}).get("storage") or {}
        if storage.get("representation") != "storage" or not isinstance(storage.get("value"), str):
            return self._error(400, "Unsupported content representation")
        try:
            ET.fromstring(f"<root>{storage['value']}</root>")
        except ET.ParseError as exc:
            return self._error(400, f"Error parsing xhtml: {exc}")
        space = (body.get("space") or {}).get("key")
        for other in self.pages.values():
            if other["space"] == space and other["title"] == body["title"] and other["id"] != page_id:
                return self._error(
                    400,
                    "A page with this title already exists: A page already exists with the same TITLE in this space",
                )
        return None

    def _store(self, space: str, title: str, body: str, labels: list[str], ancestors: list[str]) -> dict[str, Any]:
        page_id = str(self._next_id)
        self._next_id += 1
        page = {
            "id": page_id,
            "space": space,
            "title": title,
            "body": body,
            "labels": labels,
            "ancestors": ancestors,
            "version": {"number": 1, "message": ""},
        }
        self.pages[page_id] = page
        self.versions[page_id] = [body]
        return page

    def _content(self, page: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        content: dict[str, Any] = {
            "id": page["id"],
            "type": "page",
            "status": "current",
            "title": page["title"],
            "space": {"key": page["space"], "name": SPACES[page["space"]][1], "id": int(SPACES[page["space"]][0])},
            "version": {**page["version"], "when": "2026-11-22T15:00:00.000Z"},
            "ancestors": [{"id": a} for a in page["ancestors"]],
            "_links": {
                "webui": f"/spaces/{page['space']}/pages/{page['id']}/{quote_plus(page['title'])}",
                "self": f"{self.url}/wiki/rest/api/content/{page['id']}",
                "tinyui": f"/x/{page['id']}",
            },
        }
        if "body.storage" in expand:
            content["body"] = {"storage": {"value": page["body"], "representation": "storage"}}
        if "metadata.labels" in expand:
            labels = [{"prefix": "global", "name": n, "id": str(i + 1)} for i, n in enumerate(page["labels"])]
            content["metadata"] = {"labels": {"results": labels, "start": 0, "limit": 200, "size": len(labels)}}
        return content

    def _single(self, page: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        content = self._content(page, expand)
        content["_links"] = {**content["_links"], "base": f"{self.url}/wiki", "context": "/wiki"}
        return content
