"""Paging through PagerDuty's Events API v2: the page follows what was paged (``bot.domain.paging``).

Events are outbox effects queued in the transaction of the transition that owes them, together with
the incident's page row (``pages``): a page owed by a committed transition survives a crash or a
PagerDuty outage, and "this incident was paged" is a recorded fact, not a guess from its severity.
Each event carries the ``dedup_key`` recorded for the page (``incidentbot-<installation id>-INC-<n>``),
so a repeated delivery is one page and two installations never share a key.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import aiohttp
import structlog

from bot.config import Secret
from bot.domain.effects import Effect, OutboxItem
from bot.domain.model import Severity, format_incident_id
from bot.domain.paging import Page, PageAction, next_page, page_action
from bot.domain.privacy import page_summary
from bot.outbox.worker import RetryLater, Undeliverable, retry_after_seconds
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.shared import Outcome

log = structlog.get_logger("incidentbot.paging")

_PD_SEVERITY = {
    Severity.SEV1: "critical",
    Severity.SEV2: "error",
    Severity.SEV3: "warning",
    Severity.SEV4: "info",
}
"""Our severities in PagerDuty's ``payload.severity`` vocabulary (critical, error, warning, info)."""
TIMEOUT = aiohttp.ClientTimeout(total=15)


class PagingEffect(StrEnum):
    TRIGGER = "pagerduty.trigger"
    RESOLVE = "pagerduty.resolve"


_EFFECTS = {PageAction.TRIGGER: PagingEffect.TRIGGER, PageAction.RESOLVE: PagingEffect.RESOLVE}


def page_action_of(kind: str) -> PageAction | None:
    """What an outbox item of ``kind`` does in PagerDuty (``pagerduty.trigger`` -> TRIGGER); None for
    any other kind (``slack.post_line``)."""
    return next((action for action, effect in _EFFECTS.items() if effect == kind), None)


class PageRecords(Protocol):
    """The page rows a paging plan reads and writes, in the transaction of the transition (the store's
    ``uow.pages`` provides them; the plan needs nothing else of the store)."""

    def get(self, number: int) -> Page | None: ...

    def save(self, page: Page, now: datetime) -> None: ...

    def installation_id(self) -> str: ...


class PagingUnit(Protocol):
    """The part of the unit of work a paging plan uses: its page rows."""

    @property
    def pages(self) -> PageRecords: ...


def paging_plan(uow: PagingUnit, outcome: Outcome) -> list[Effect]:
    """The PagerDuty event ``outcome`` owes (``bot.domain.paging.page_action``), its page row saved alongside.

    Payload: ``{"dedup_key": str, "severity": "sev1".."sev4"}`` (the severity when it was queued).
    """
    incident = outcome.incident
    page_before = uow.pages.get(incident.number)
    if page_action(incident, page_before is not None and page_before.open) is None:
        return []  # most transitions: no need to read the installation id
    decided = next_page(incident, page_before, uow.pages.installation_id())
    assert decided is not None
    page, action = decided
    uow.pages.save(page, outcome.entries[-1].recorded_at if outcome.entries else incident.declared_at)
    payload = {"dedup_key": page.dedup_key, "severity": incident.severity.value}
    return [Effect(_EFFECTS[action], payload, incident.number)]


class PagerDutyDeliverer:
    """Sends one Events API v2 event per outbox item; 429 and 5xx are retried, other 4xx are not."""

    def __init__(self, incidents: IncidentUseCases, routing_key: Secret, events_url: str) -> None:
        self.incidents = incidents
        self.routing_key = routing_key
        self.events_url = events_url

    async def __call__(self, item: OutboxItem) -> None:
        if item.kind not in PagingEffect._value2member_map_ or item.incident_number is None:
            raise Undeliverable(f"unknown paging item {item.kind!r}")
        body = await self._event(PagingEffect(item.kind), item.incident_number, item.payload)
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as session,
                session.post(self.events_url, json=body) as response,
            ):
                status = response.status
                text = (await response.text())[:500]
                retry_after = retry_after_seconds(response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"pagerduty network: {type(exc).__name__}") from exc
        if status == 429 or status >= 500:
            raise RetryLater(f"pagerduty HTTP {status}", after=retry_after)
        if status >= 400:
            raise Undeliverable(f"pagerduty refused the event (HTTP {status}): {text}")
        log.info(
            "page_sent",
            incident=format_incident_id(item.incident_number),
            action=body["event_action"],
            dedup_key=body["dedup_key"],
        )

    async def _event(self, kind: PagingEffect, number: int, queued: dict[str, Any]) -> dict[str, Any]:
        """The Events API v2 body; items queued before release 0005 carry no key and used ``INC-<n>``."""
        dedup_key = str(queued.get("dedup_key") or format_incident_id(number))
        body: dict[str, Any] = {
            "routing_key": self.routing_key.get(),
            "dedup_key": dedup_key,
            "event_action": "trigger" if kind is PagingEffect.TRIGGER else "resolve",
        }
        if kind is PagingEffect.TRIGGER:
            incident = await asyncio.to_thread(self.incidents.get, number)
            severity = Severity.parse(str(queued.get("severity", ""))) or incident.severity
            body["payload"] = {
                "summary": page_summary(incident, severity.value)[:1024],
                "source": (None if incident.private else incident.service) or "incidentbot",
                "severity": _PD_SEVERITY[severity],
                "timestamp": incident.declared_at.isoformat(),
                "custom_details": {
                    "status": incident.status.value,
                    "service": None if incident.private else incident.service,
                },
            }
        return body
