"""A fake Atlassian Statuspage REST API v1 on 127.0.0.1, answering the shapes of its published reference
(https://developer.statuspage.io; the OpenAPI description as generated in alissonlinneker/statuspage-php-sdk,
docs/Api/IncidentsApi.md and docs/Model/*.md):

* ``GET /v1/pages/{page_id}``: the page (``id``, ``name``...); 404 for another page.
* ``POST /v1/pages/{page_id}/incidents`` with ``{"incident": {...}}``: 201 with the Incident; 422
  ``{"error": ["Name can't be blank"]}`` for a missing name, ``{"error": [...]}`` for an unknown status,
  impact or component status, or a name over 255 characters; metadata whose top-level values are not
  objects is refused (422) as documented.
* ``PATCH /v1/pages/{page_id}/incidents/{incident_id}``: 200 with the Incident, a new incident update
  (newest first) when ``body`` or ``status`` is given; components' statuses set; 404 ``{"error": "Not
  found"}`` for an unknown incident.
* ``GET /v1/pages/{page_id}/incidents/{incident_id}``, ``GET .../incidents/unresolved`` (``page``,
  ``per_page``; newest first).
* 401 ``{"error": "Could not authenticate"}`` without ``Authorization: OAuth <key>``.

Incident: ``id``, ``name``, ``status``, ``impact`` (= ``impact_override``), ``impact_override``,
``created_at``, ``resolved_at``, ``shortlink``, ``page_id``, ``metadata``, ``components`` (each ``id``,
``name``, ``status``), ``incident_updates`` (each ``id``, ``status``, ``body``, ``created_at``,
``affected_components``). Faults (429 with ``Retry-After``, 503, 401, a dropped answer after the work) are
those of ``FakeTrackerServer``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.support.fake_tracker_http import FakeTrackerServer

API_KEY = "fake-statuspage-key-8f14e45fceea167a5a36dedd4bea2543"
PAGE_ID = "kctbh9vrtdwd"
COMPONENTS = {"cmpcheckout1": "Checkout API", "cmpsearch002": "Search", "cmpcdnedge03": "CDN"}
STATUSES = ("investigating", "identified", "monitoring", "resolved")
IMPACTS = ("none", "minor", "major", "critical")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance")


class FakeStatuspage(FakeTrackerServer):
    """Incidents by id in creation order; ``components`` holds each component's current status."""

    def __init__(self) -> None:
        self.incidents: dict[str, dict[str, Any]] = {}
        self.components: dict[str, str] = dict.fromkeys(COMPONENTS, "operational")
        self._next = 1
        super().__init__()

    def _routes(self) -> None:
        base = "/v1/pages/{page_id}"
        self.route("page", "GET", base, self._page)
        self.route("unresolved", "GET", base + "/incidents/unresolved", self._unresolved)
        self.route("create", "POST", base + "/incidents", self._create)
        self.route("get", "GET", base + "/incidents/{incident_id}", self._get)
        self.route("update", "PATCH", base + "/incidents/{incident_id}", self._update)

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"OAuth {API_KEY}"

    def unauthorized(self) -> web.Response:
        return web.json_response({"error": "Could not authenticate"}, status=401)

    # -- routes --------------------------------------------------------------------------------

    async def _page(self, request: web.Request, _body: Any) -> web.Response:
        if request.match_info["page_id"] != PAGE_ID:
            return web.json_response({"error": "Not found"}, status=404)
        return web.json_response({"id": PAGE_ID, "name": "Acme Status", "url": "https://status.acme.example"})

    async def _unresolved(self, request: web.Request, _body: Any) -> web.Response:
        if request.match_info["page_id"] != PAGE_ID:
            return web.json_response({"error": "Not found"}, status=404)
        page, per_page = int(request.query.get("page", "1")), min(int(request.query.get("per_page", "100")), 100)
        open_ = [i for i in reversed(self.incidents.values()) if i["status"] != "resolved"]
        return web.json_response([self._shown(i) for i in open_[(page - 1) * per_page : page * per_page]])

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        if request.match_info["page_id"] != PAGE_ID:
            return web.json_response({"error": "Not found"}, status=404)
        fields = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return web.json_response({"error": "incident is missing"}, status=400)
        problems = _problems(fields, creating=True)
        if problems:
            return web.json_response({"error": problems}, status=422)
        now = _now()
        incident_id = f"inc{self._next:09d}"
        self._next += 1
        incident: dict[str, Any] = {
            "id": incident_id,
            "name": fields["name"],
            "status": fields.get("status", "investigating"),
            "impact_override": fields.get("impact_override"),
            "impact": fields.get("impact_override") or "none",
            "created_at": now,
            "updated_at": now,
            "resolved_at": None,
            "shortlink": f"https://stspg.io/{incident_id}",
            "page_id": PAGE_ID,
            "metadata": fields.get("metadata") or {},
            "component_ids": list(fields.get("component_ids") or []),
            "incident_updates": [],
        }
        self.incidents[incident_id] = incident
        self._add_update(incident, fields)
        return web.json_response(self._shown(incident), status=201)

    async def _get(self, request: web.Request, _body: Any) -> web.Response:
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None or request.match_info["page_id"] != PAGE_ID:
            return web.json_response({"error": "Not found"}, status=404)
        return web.json_response(self._shown(incident))

    async def _update(self, request: web.Request, body: Any) -> web.Response:
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None or request.match_info["page_id"] != PAGE_ID:
            return web.json_response({"error": "Not found"}, status=404)
        fields = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return web.json_response({"error": "incident is missing"}, status=400)
        problems = _problems(fields, creating=False)
        if problems:
            return web.json_response({"error": problems}, status=422)
        for key in ("name", "impact_override"):
            if key in fields:
                incident[key] = fields[key]
        if "status" in fields:
            incident["status"] = fields["status"]
            if fields["status"] == "resolved":
                incident["resolved_at"] = _now()
        incident["updated_at"] = _now()
        self._add_update(incident, fields)
        return web.json_response(self._shown(incident))

    # -- helpers -------------------------------------------------------------------------------

    def _add_update(self, incident: dict[str, Any], fields: dict[str, Any]) -> None:
        components = fields.get("components") or {}
        for component_id, status in components.items():
            self.components[component_id] = status
        if "body" in fields or "status" in fields:
            update = {
                "id": f"upd{sum(len(i['incident_updates']) for i in self.incidents.values()) + 1:09d}",
                "incident_id": incident["id"],
                "status": incident["status"],
                "body": fields.get("body", ""),
                "created_at": _now(),
                "affected_components": [
                    {"code": c, "name": COMPONENTS.get(c, c), "new_status": s} for c, s in components.items()
                ],
            }
            incident["incident_updates"].insert(0, update)

    def _shown(self, incident: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in incident.items() if k != "component_ids"}
        shown["components"] = [
            {"id": c, "name": COMPONENTS.get(c, c), "status": self.components.get(c, "operational")}
            for c in incident["component_ids"]
        ]
        return shown

    def bodies(self) -> list[str]:
        """Every name and body the fake received, in order (what the public ever saw)."""
        sent: list[str] = []
        for request in self.requests:
            fields = request.body.get("incident") if isinstance(request.body, dict) else None
            if isinstance(fields, dict):
                sent += [str(fields[k]) for k in ("name", "body") if k in fields]
        return sent

    def leaked(self, phrases: tuple[str, ...], words: tuple[str, ...]) -> list[str]:
        """Which of ``phrases`` (anywhere) and ``words`` (whole: not inside a longer run of letters and digits,
        so "0042" is not found in an id such as ``...98c0042238fe``) appear in any request's body or query."""
        sent = json.dumps([r.body for r in self.requests]) + json.dumps([r.query for r in self.requests])
        found = [p for p in phrases if p in sent]
        return found + [w for w in words if re.search(rf"(?<![0-9A-Za-z]){re.escape(w)}(?![0-9A-Za-z])", sent)]


def _problems(fields: dict[str, Any], *, creating: bool) -> list[str]:
    problems: list[str] = []
    name = fields.get("name")
    if creating and not name:
        problems.append("Name can't be blank")
    if isinstance(name, str) and len(name) > 255:
        problems.append("Name is too long (maximum is 255 characters)")
    if "status" in fields and fields["status"] not in STATUSES:
        problems.append(f"Status is not included in the list ({fields['status']})")
    if "impact_override" in fields and fields["impact_override"] not in IMPACTS:
        problems.append("Impact override is not included in the list")
    for component_id, status in (fields.get("components") or {}).items():
        if component_id not in COMPONENTS:
            problems.append(f"Component {component_id} not found")
        elif status not in COMPONENT_STATUSES:
            problems.append(f"Component status {status} is not valid")
    for component_id in fields.get("component_ids") or []:
        if component_id not in COMPONENTS:
            problems.append(f"Component {component_id} not found")
    metadata = fields.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, dict) for v in metadata.values())
    ):
        problems.append("Metadata top-level values must be objects")
    if len(str(fields.get("body", ""))) > 25_000:
        problems.append("Body is too long (maximum is 25000 characters)")
    return problems


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
