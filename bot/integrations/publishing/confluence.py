"""The postmortem as a Confluence Cloud page, created once and then updated in place.

Follows Confluence Cloud's REST API v1 content resource as Atlassian's reference documents it
(developer.atlassian.com/cloud/confluence/rest/v1, groups "Content" and "Space"; its OpenAPI file,
``swagger.v3.json``, could not be downloaded where this was written, so the shapes are the reference's,
not checked field by field against that file):

* ``GET /wiki/rest/api/content?spaceKey=KEY&title=TITLE&type=page&status=current&expand=...``: the page
  with that exact title in the space (titles are unique per space), as ``{"results": [Content...], "size"}``;
* ``GET /wiki/rest/api/content/{id}?expand=version,body.storage,metadata.labels``: one page;
* ``POST /wiki/rest/api/content`` with ``{"type": "page", "title", "space": {"key"}, "ancestors": [{"id"}],
  "body": {"storage": {"value", "representation": "storage"}}, "metadata": {"labels": [{"prefix": "global",
  "name"}]}}``: 200 with the new Content (``id``, ``version.number`` 1, ``_links.webui``, ``_links.base``);
* ``PUT /wiki/rest/api/content/{id}`` with ``{"id", "type": "page", "title", "space", "body", "version":
  {"number": current + 1, "message"}}``: 200 with the Content; **409** when ``version.number`` is not the
  current one plus one (another editor saved in between);
* ``GET /wiki/api/v2/spaces/{id}`` (REST v2, "Get space by id"): ``{"id", "key", "name"}``, to find the key
  of a space given by its numeric id (v1 names spaces by key);
* 401 without valid basic credentials (the account's email and an API token), 403 without permission,
  404 for a space or page the account cannot see, 429 with ``Retry-After``, 5xx.

**Exactly once.** A page carries the label ``incidentbot-<installation id>-inc-<n>`` (the database's uuid,
as PagerDuty's dedup key and the trackers' markers). The previous publication's page id (from the
timeline) is read first; without one, the page is looked up by its title in the space: a page found with
the label is ours (a retry after a crash between Confluence's answer and our commit), one without it is
someone else's and is never overwritten (a dead item saying so). A create refused because the title now
exists (two deliveries racing) looks the page up again and goes on as for a found page. An update carries ``incidentbot
<digest>`` as its version message (the SHA-256 of title and body): a page whose current version has that
message, or whose title and stored body are exactly what would be sent, is left alone, so a retry or a
re-publish without a change writes no new version; and when the publication recorded last sent this very
document (its digest) and its page is still there, nothing is even read further: a person's edit since is
kept until there is something new to publish. Confluence may normalise the stored markup, in which
case the first re-publish after a create writes one version more; never a second page.

aiohttp (through ``bot.integrations.trackers.http``, which classifies failures and redacts the token) is
enough for these four calls: Atlassian's Python SDK (atlassian-python-api) would add requests, a second HTTP
stack, and retries of its own beside the outbox's.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.integrations.trackers.http import TrackerHttp
from bot.integrations.trackers.port import FailureKind, TrackerError
from bot.usecases.publishing import Publication

MAX_CONFLICT_RETRIES = 3
"""Times a 409 (stale version) is answered by reading the version again and retrying, before the item is
retried later by the outbox."""
TITLE_CHARS = 255
"""Confluence's longest page title."""
HINTS = {
    400: "a field Confluence refuses",
    401: "the account email or the API token is not valid: check CONFLUENCE_USER and CONFLUENCE_API_TOKEN",
    403: "the account may not add or edit pages in this space: check its space permissions",
    404: "no such space or page, or the account cannot see it: check CONFLUENCE_SPACE and CONFLUENCE_PARENT_ID",
}


@dataclass(frozen=True)
class PageDraft:
    """What to publish: the page's ``title``, its ``body`` in storage format, the ``label`` marking it as this
    incident's page of this installation."""

    title: str
    body: str
    label: str

    @property
    def digest(self) -> str:
        """Twenty-four hex digits of the SHA-256 of title and body: the version message of an update."""
        return hashlib.sha256(f"{self.title}\n{self.body}".encode()).hexdigest()[:24]


def page_label(installation: str, number: int) -> str:
    """The label marking INC-``number``'s page of this installation (lower case, as Confluence stores labels)."""
    return f"incidentbot-{installation}-inc-{number}".lower()


def page_title(incident_id: str, title: str) -> str:
    """``INC-7 Postmortem: <title>``, on one line, cut to Confluence's 255 characters."""
    text = " ".join(f"{incident_id} Postmortem: {title}".split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


class ConfluencePublisher:
    """Publishes pages in one space of one Confluence Cloud site (``https://acme.atlassian.net``) as the
    account ``user`` with its API ``token`` (basic auth); under the page ``parent_id`` when given."""

    name = "confluence"

    def __init__(
        self,
        site_url: str,
        space: str,
        user: str,
        token: str,
        parent_id: str | None = None,
        *,
        timeout_seconds: float = 15.0,
    ) -> None:
        self.site_url = site_url.rstrip("/")
        self.space = space
        self._space_key = None if space.isdecimal() else space
        self.parent_id = parent_id
        credentials = base64.b64encode(f"{user}:{token}".encode()).decode()

        def http(path: str) -> TrackerHttp:
            headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}
            return TrackerHttp(
                "Confluence",
                self.site_url + path,
                headers,
                token,
                timeout_seconds=timeout_seconds,
                explain=explain,
                hints=HINTS,
            )

        self.http = http("/wiki/rest/api")
        self.http_v2 = http("/wiki/api/v2")

    async def space_key(self) -> str:
        """The space's key: CONFLUENCE_SPACE itself, or the key of the space whose id it is (read once).
        Raises TrackerError."""
        if self._space_key is None:
            answer = await self.http_v2.request("GET", f"/spaces/{quote(self.space, safe='')}")
            key = (answer.data or {}).get("key") if isinstance(answer.data, dict) else None
            if not isinstance(key, str) or not key:
                raise TrackerError(
                    FailureKind.PERMANENT,
                    f"space {self.space} has no key in Confluence's answer",
                    None,
                    None,
                    "Confluence",
                )
            self._space_key = key
        return self._space_key

    async def check(self) -> str:
        """Whether the credentials and the space work: the space's name. Raises TrackerError."""
        answer = await self.http.request("GET", f"/space/{quote(await self.space_key(), safe='')}")
        return str((answer.data or {}).get("name") or self.space)

    async def publish(self, draft: PageDraft, known: Publication | None) -> Publication:
        """Create or update the page (see the module docstring); ``known`` is the publication recorded before,
        if any. When it sent this very document (the same digest) and its page is still there, nothing is
        written and ``known`` is returned: a person's edit made to the page since is kept (nothing new to
        publish). Returns the publication (page id, its web address, its version number). Raises
        TrackerError: permanent for 400, 401, 403, 404 and someone else's page under the title; temporary for
        429, 5xx, network failures and a stale version still stale after MAX_CONFLICT_RETRIES."""
        page = await self._get(known.ref) if known else None
        if page is not None and known is not None and known.digest == draft.digest:
            return known
        if page is None:
            page = await self._find(draft)
        if page is None:
            try:
                return self._publication(await self._create(draft), draft)
            except TrackerError as exc:
                # Another replica created it between our look-up and our create (its lease ran out while it
                # worked): Confluence refuses a second page of that title; take the one that is there.
                if exc.status != 400 or "already exists" not in exc.reason:
                    raise
            page = await self._find(draft)
            if page is None:
                raise TrackerError(
                    FailureKind.TEMPORARY,
                    f"POST /content: a page titled {draft.title!r} exists but the look-up does not find it yet",
                    400,
                    None,
                    "Confluence",
                )
        for _ in range(MAX_CONFLICT_RETRIES + 1):
            if _unchanged(page, draft):
                return self._publication(page, draft)
            try:
                return self._publication(await self._update(page, draft), draft)
            except TrackerError as exc:
                if exc.status != 409:
                    raise
            page = await self._get(str(page["id"])) or page
        raise TrackerError(
            FailureKind.TEMPORARY,
            f"PUT /content/{page['id']}: the page kept changing under us (HTTP 409 {MAX_CONFLICT_RETRIES + 1} times)",
            409,
            None,
            "Confluence",
        )

    async def _get(self, page_id: str) -> dict[str, Any] | None:
        """The page ``page_id`` with its version, stored body and labels; None when Confluence says it is not
        there (deleted since: it is then looked up by title, and created again if gone)."""
        try:
            answer = await self.http.request(
                "GET",
                f"/content/{quote(page_id, safe='')}",
                params={"expand": "version,body.storage,metadata.labels,space"},
            )
        except TrackerError as exc:
            if exc.status == 404:
                return None
            raise
        page = dict(answer.data)
        return page if page.get("status", "current") == "current" else None  # in the trash: as if gone

    async def _find(self, draft: PageDraft) -> dict[str, Any] | None:
        """The current page titled ``draft.title`` in the space, if it carries our label; None if there is none.
        Raises TrackerError (permanent) for a page of that title that is not ours."""
        answer = await self.http.request(
            "GET",
            "/content",
            params={
                "spaceKey": await self.space_key(),
                "title": draft.title,
                "type": "page",
                "status": "current",
                "expand": "version,body.storage,metadata.labels,space",
            },
        )
        results = [r for r in (answer.data or {}).get("results") or [] if isinstance(r, dict)]
        if not results:
            return None
        page = results[0]
        if draft.label not in _labels(page):
            key = await self.space_key()
            raise TrackerError(
                FailureKind.PERMANENT,
                f"A page titled {draft.title!r} already exists in space {key} (id {page.get('id')}) and was "
                f"not published by incidentbot (no label {draft.label}): rename or move it, then retry the item.",
                409,
                None,
                "Confluence",
            )
        return page

    async def _create(self, draft: PageDraft) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "page",
            "title": draft.title,
            "space": {"key": await self.space_key()},
            "body": {"storage": {"value": draft.body, "representation": "storage"}},
            "metadata": {"labels": [{"prefix": "global", "name": draft.label}]},
        }
        if self.parent_id:
            body["ancestors"] = [{"id": self.parent_id}]
        answer = await self.http.request("POST", "/content", body=body, expect=(200,))
        return dict(answer.data)

    async def _update(self, page: dict[str, Any], draft: PageDraft) -> dict[str, Any]:
        number = int((page.get("version") or {}).get("number") or 0)
        body = {
            "id": str(page["id"]),
            "type": "page",
            "title": draft.title,
            "space": {"key": await self.space_key()},
            "body": {"storage": {"value": draft.body, "representation": "storage"}},
            "version": {"number": number + 1, "message": f"incidentbot {draft.digest}"},
        }
        answer = await self.http.request("PUT", f"/content/{quote(str(page['id']), safe='')}", body=body)
        return dict(answer.data)

    def _publication(self, page: dict[str, Any], draft: PageDraft) -> Publication:
        links = page.get("_links") or {}
        base = str(links.get("base") or self.site_url + "/wiki")
        webui = str(links.get("webui") or f"/pages/viewpage.action?pageId={page['id']}")
        version = (page.get("version") or {}).get("number")
        return Publication("confluence", str(page["id"]), base + webui, str(version), draft.digest)


def _labels(page: dict[str, Any]) -> set[str]:
    labels = ((page.get("metadata") or {}).get("labels") or {}).get("results") or []
    return {str(label.get("name")) for label in labels if isinstance(label, dict)}


def _unchanged(page: dict[str, Any], draft: PageDraft) -> bool:
    """The page already shows ``draft``: its current version was written with this digest, or its title and
    stored body are exactly the draft's."""
    version = page.get("version") or {}
    if version.get("message") == f"incidentbot {draft.digest}":
        return True
    stored = ((page.get("body") or {}).get("storage") or {}).get("value")
    return page.get("title") == draft.title and stored == draft.body


def explain(data: Any) -> str:
    """Confluence's own words in an error answer (``message``, or ``data.errors[].message.translation``)."""
    if not isinstance(data, dict):
        return ""
    parts = [str(data["message"])] if data.get("message") else []
    for error in ((data.get("data") or {}).get("errors") or [])[:3]:
        text = ((error or {}).get("message") or {}).get("translation") if isinstance(error, dict) else None
        if text:
            parts.append(str(text))
    return "; ".join(parts)[:300]
