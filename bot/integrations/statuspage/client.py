"""Atlassian Statuspage's REST API v1, the calls the bot makes, over the trackers' one-request HTTP helper
(``bot.integrations.trackers.http.TrackerHttp``: failures classified, the key redacted).

Source: Statuspage REST API v1 (https://developer.statuspage.io; the OpenAPI description, as generated in
alissonlinneker/statuspage-php-sdk docs/Api/IncidentsApi.md and docs/Model/PostPagesPageIdIncidentsIncident.md):

* ``POST /v1/pages/{page_id}/incidents`` with ``{"incident": {name, status, impact_override, body,
  component_ids, components: {id: status}, metadata, deliver_notifications}}`` creates one and answers it
  (``id``, ``status``, ``incident_updates`` newest first, ``metadata``...);
* ``PATCH /v1/pages/{page_id}/incidents/{incident_id}`` with ``{"incident": {status, body, components...}}``
  adds an incident update;
* ``GET /v1/pages/{page_id}/incidents/{incident_id}``; ``GET /v1/pages/{page_id}/incidents/unresolved``
  (``page``, ``per_page`` at most 100);
* authentication: the header ``Authorization: OAuth <api key>``;
* ``metadata``: "All top-level values in the object must also be objects" (our marker is
  ``{"incidentbot": {"marker": ...}}``);
* errors: 401 (key refused), 403 (the key may not), 404 (no such page or incident), 422 (a field refused),
  each with ``{"error": "..."}`` (a string or a list of strings); 429 rate limited with ``Retry-After``
  (Statuspage documents 1 request per second per key); 5xx.

Classes: 429 and 420 (Statuspage's older rate-limit answer), 5xx, no answer, a 2xx or 5xx body that is not
JSON: temporary (the outbox retries, honouring ``Retry-After``); 401, 403, 404, 422 and every other 4xx but 408,
JSON or not (a proxy's HTML login page, a plain-text 404 from a wrong base URL): permanent, with Statuspage's own
words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config import Secret
from bot.integrations.trackers.http import TrackerHttp
from bot.integrations.trackers.port import FailureKind, TrackerError

NAME = "Statuspage"
UNRESOLVED_PAGES = 10
"""Pages of 100 unresolved incidents read when looking for ours (1,000 open incidents on one page is beyond
any real status page)."""
RATE_LIMITED = (420, 429)
"""Statuspage's rate-limit answers: 429, and 420 that it answered before (Atlassian, "Upcoming rate limiting
changes to Statuspage REST API": ``Retry-After`` comes on "420 / 429 responses")."""
_HINTS = {
    400: "a request Statuspage cannot read",
    401: "the API key is not valid: check STATUSPAGE_API_KEY",
    403: "the API key may not do this: check its user's permissions on the page",
    404: "no such page or incident, or the key cannot see it: check STATUSPAGE_PAGE_ID and STATUSPAGE_URL",
    422: "Statuspage refused a field",
}


def statuspage_reason(data: Any) -> str:
    """Statuspage's words in an error answer: ``{"error": "..."}`` or ``{"error": ["...", ...]}`` (also
    ``message``); empty when it says nothing readable."""
    if not isinstance(data, dict):
        return ""
    said = data.get("error", data.get("message"))
    if isinstance(said, list):
        return "; ".join(str(s) for s in said)[:300]
    return str(said)[:300] if said else ""


class StatuspageClient:
    """One page (``page_id``) of Statuspage at ``base_url`` (``https://api.statuspage.io``), with ``api_key``.
    Every method raises TrackerError (``temporary`` or permanent, see the module docstring); the key is
    never part of a reason."""

    def __init__(self, api_key: Secret, page_id: str, base_url: str, *, timeout_seconds: float = 15.0) -> None:
        key = api_key.get()
        self.page_id = page_id
        self.http = TrackerHttp(
            NAME,
            base_url,
            {"Authorization": f"OAuth {key}", "Accept": "application/json"},
            key,
            timeout_seconds=timeout_seconds,
            explain=statuspage_reason,
            hints=_HINTS,
            rate_limit_statuses=RATE_LIMITED,
            refused_without_json=True,
        )

    @property
    def _incidents(self) -> str:
        return f"/v1/pages/{self.page_id}/incidents"

    async def create(self, incident: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../incidents``: the created incident (it has an ``id``)."""
        answer = await self.http.request("POST", self._incidents, body={"incident": dict(incident)}, expect=(200, 201))
        return _incident(answer.data, "POST incidents")

    async def update(self, incident_id: str, incident: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH .../incidents/{incident_id}``: the incident as updated."""
        answer = await self.http.request(
            "PATCH", f"{self._incidents}/{incident_id}", body={"incident": dict(incident)}, expect=(200,)
        )
        return _incident(answer.data, "PATCH incident")

    async def get(self, incident_id: str) -> dict[str, Any]:
        """``GET .../incidents/{incident_id}``."""
        answer = await self.http.request("GET", f"{self._incidents}/{incident_id}")
        return _incident(answer.data, "GET incident")

    async def unresolved(self) -> list[dict[str, Any]]:
        """``GET .../incidents/unresolved``, every page (at most ``UNRESOLVED_PAGES`` of 100): the page's
        unresolved incidents, newest first."""
        found: list[dict[str, Any]] = []
        for page in range(1, UNRESOLVED_PAGES + 1):
            answer = await self.http.request(
                "GET", f"{self._incidents}/unresolved", params={"page": str(page), "per_page": "100"}
            )
            listed = answer.data if isinstance(answer.data, list) else []
            found.extend(incident for incident in listed if isinstance(incident, dict))
            if len(listed) < 100:
                break
        return found

    async def find_unresolved(self, marker: str) -> dict[str, Any] | None:
        """The unresolved incident whose ``metadata.incidentbot.marker`` is ``marker``, or None."""
        return next((i for i in await self.unresolved() if marker_of(i) == marker), None)

    async def check(self) -> str:
        """``GET /v1/pages/{page_id}``: the page's name (``incidentbot doctor``)."""
        answer = await self.http.request("GET", f"/v1/pages/{self.page_id}")
        data = answer.data if isinstance(answer.data, dict) else {}
        return str(data.get("name") or self.page_id)


def marker_of(incident: Mapping[str, Any]) -> str | None:
    """Our marker in a Statuspage incident's ``metadata`` (``{"incidentbot": {"marker": ...}}``), or None."""
    metadata = incident.get("metadata")
    ours = metadata.get("incidentbot") if isinstance(metadata, dict) else None
    marker = ours.get("marker") if isinstance(ours, dict) else None
    return str(marker) if marker else None


def _incident(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not data.get("id"):
        raise TrackerError(FailureKind.TEMPORARY, f"{where}: Statuspage answered no incident id", None, None, NAME)
    return data
