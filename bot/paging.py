"""Paging through PagerDuty's Events API v2: sev1/sev2 declares trigger, resolves resolve.

Events are outbox effects, so a page owed by a committed declaration survives a crash or a
PagerDuty outage; ``dedup_key`` is the incident id, so a repeated delivery is one page.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Any

import aiohttp
import structlog

from bot.config import Secret
from bot.domain.model import EntryKind, Severity
from bot.outbox import RetryLater, Undeliverable, retry_after_seconds
from bot.service import IncidentService, Outcome
from bot.store.outbox import Effect, OutboxItem

log = structlog.get_logger("incidentbot.paging")

PAGED_SEVERITIES = frozenset({Severity.SEV1, Severity.SEV2})
_PD_SEVERITY = {
    Severity.SEV1: "critical",
    Severity.SEV2: "error",
    Severity.SEV3: "warning",
    Severity.SEV4: "info",
}
TIMEOUT = aiohttp.ClientTimeout(total=15)


class PagingEffect(StrEnum):
    TRIGGER = "pagerduty.trigger"
    RESOLVE = "pagerduty.resolve"


def paging_plan(outcome: Outcome) -> list[Effect]:
    """Page when a sev1/sev2 is declared (or raised to one); resolve the page when the incident resolves."""
    incident = outcome.incident
    paged = incident.severity in PAGED_SEVERITIES
    kinds = {entry.kind for entry in outcome.entries}
    raised = EntryKind.SEVERITY in kinds and (
        outcome.previous is None or outcome.previous.severity not in PAGED_SEVERITIES
    )
    if paged and (outcome.declared or raised or EntryKind.REOPENED in kinds):
        return [Effect(PagingEffect.TRIGGER, {}, incident.number)]
    if paged and EntryKind.RESOLVED in kinds:
        return [Effect(PagingEffect.RESOLVE, {}, incident.number)]
    return []


class PagerDutyDeliverer:
    """Sends one Events API v2 event per outbox item; 429 and 5xx are retried, other 4xx are not."""

    def __init__(self, service: IncidentService, routing_key: Secret, events_url: str) -> None:
        self.service = service
        self.routing_key = routing_key
        self.events_url = events_url

    async def __call__(self, item: OutboxItem) -> None:
        if item.kind not in PagingEffect._value2member_map_ or item.incident_number is None:
            raise Undeliverable(f"unknown paging item {item.kind!r}")
        body = await self._event(PagingEffect(item.kind), item.incident_number)
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
        log.info("page_sent", incident=body["dedup_key"], action=body["event_action"])

    async def _event(self, kind: PagingEffect, number: int) -> dict[str, Any]:
        incident = await asyncio.to_thread(self.service.incident, number)
        body: dict[str, Any] = {
            "routing_key": self.routing_key.get(),
            "dedup_key": incident.incident_id,
            "event_action": "trigger" if kind is PagingEffect.TRIGGER else "resolve",
        }
        if kind is PagingEffect.TRIGGER:
            body["payload"] = {
                "summary": f"{incident.incident_id} ({incident.severity.value}): {incident.title}"[:1024],
                "source": incident.service or "incidentbot",
                "severity": _PD_SEVERITY[incident.severity],
                "timestamp": incident.declared_at.isoformat(),
                "custom_details": {"status": incident.status.value, "service": incident.service},
            }
        return body
