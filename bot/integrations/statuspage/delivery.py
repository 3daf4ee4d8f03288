"""The outbox deliverer of ``statuspage.*`` items (``bot.integrations.statuspage.plan``): creates, updates and
resolves the incident's Statuspage incident, exactly once each.

**Create.** The Statuspage id of the incident's current status-page incident is recorded
(``StatuspageUseCases.record_id``) as soon as Statuspage answers the create. A retried ``statuspage.open``
(a crash or a lost commit after Statuspage answered, another replica) first reads that record, then looks for
its marker (``metadata.incidentbot.marker``) among the page's unresolved incidents, and creates only when
neither knows one. The window that remains: a create whose answer was lost *and* whose incident a person
resolved on Statuspage before the retry (it is no longer unresolved) is created a second time.

**Update and resolve.** An update with no Statuspage incident to go to (its create was refused, or a person
resolved it there) is dead; a resolve then has nothing left to do. Otherwise each sends one ``PATCH`` with the
person's text as the update's body; before it, the incident is read and an update whose latest incident update
already has this body and status (the previous attempt reached Statuspage but its completion was not recorded)
is not sent again.

**Failures.** Statuspage's 429 (``Retry-After`` honoured), 5xx, no answer: RetryLater, retried for as long as
they last (the channel is told once after an hour, ``bot.app``). 401, 403, 404, 422 and other 4xx:
Undeliverable with Statuspage's own reason (the channel is told; ``incidentbot outbox --retry`` sends it
again). The API key is never in a reason or a log line (``TrackerHttp.redact``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from bot.domain.effects import OutboxItem
from bot.domain.model import format_incident_id
from bot.errors import ConcurrentUpdate, StoreUnavailable
from bot.integrations.statuspage.client import StatuspageClient
from bot.integrations.statuspage.plan import LANE
from bot.integrations.trackers.port import TrackerError, outbox_error
from bot.outbox.worker import RetryLater, Undeliverable
from bot.usecases.statuspage import StatuspageUseCases

log = structlog.get_logger("incidentbot.statuspage")


class StatuspageDeliverer:
    """Delivers ``statuspage.open|update|resolve`` to ``client``'s page; ``records`` keeps the ids."""

    def __init__(self, client: StatuspageClient, records: StatuspageUseCases) -> None:
        self.client = client
        self.records = records

    async def __call__(self, item: OutboxItem) -> None:
        """Raises RetryLater or Undeliverable (see the module docstring)."""
        prefix, _, action = item.kind.partition(".")
        number = item.incident_number
        if prefix != LANE or number is None or action not in ("open", "update", "resolve"):
            raise Undeliverable(f"malformed status-page item {item.kind!r}")
        incident = format_incident_id(number)
        try:
            if action == "open":
                await self._open(number, item.payload)
            else:
                await self._update(number, action, item.payload)
        except TrackerError as exc:
            log.warning("statuspage_delivery_failed", incident=incident, action=action, reason=exc.reason)
            raise outbox_error(exc) from exc

    async def _open(self, number: int, payload: dict[str, Any]) -> None:
        incident = format_incident_id(number)
        if await asyncio.to_thread(self.records.known_id, number) is not None:
            log.info("statuspage_incident_known", incident=incident)
            return
        marker = str(payload.get("marker"))
        found = await self.client.find_unresolved(marker)
        if found is None:
            components = [str(c) for c in payload.get("components") or []]
            status = str(payload.get("component_status") or "operational")
            found = await self.client.create(
                {
                    "name": str(payload.get("name")),
                    "status": str(payload.get("status") or "investigating"),
                    "impact_override": str(payload.get("impact") or "none"),
                    "body": str(payload.get("body")),
                    "component_ids": components,
                    "components": dict.fromkeys(components, status),
                    "metadata": {"incidentbot": {"marker": marker}},
                    "deliver_notifications": True,
                }
            )
            log.info("statuspage_incident_created", incident=incident, statuspage_id=found["id"])
        await self._record(number, str(found["id"]))

    async def _record(self, number: int, statuspage_id: str) -> None:
        try:
            await asyncio.to_thread(self.records.record_id, number, statuspage_id)
        except (StoreUnavailable, ConcurrentUpdate, OSError) as exc:  # created, not recorded: the retry finds it
            reason = f"created on Statuspage as {statuspage_id} but not recorded yet: {exc}"
            log.warning("statuspage_incident_unrecorded", incident=format_incident_id(number), reason=reason)
            raise RetryLater(reason[:500]) from exc

    async def _update(self, number: int, action: str, payload: dict[str, Any]) -> None:
        incident = format_incident_id(number)
        statuspage_id = await asyncio.to_thread(self.records.known_id, number)
        if statuspage_id is None:  # created, but the record was lost with a crash: find it by its marker
            found = await self.client.find_unresolved(str(payload.get("marker")))
            if found is None and action == "resolve":  # never created (a dead open), or resolved there already
                log.info("statuspage_nothing_to_resolve", incident=incident)
                return
            if found is None:
                raise Undeliverable(
                    f"{incident} has no status-page incident on Statuspage to {action} (its creation failed or it "
                    "was resolved there)"
                )
            statuspage_id = str(found["id"])
            await self._record(number, statuspage_id)
        body = str(payload.get("body"))
        status = "resolved" if action == "resolve" else str(payload.get("status") or "investigating")
        current = await self.client.get(statuspage_id)
        if _latest_update(current) == (body, status):
            log.info("statuspage_update_known", incident=incident, action=action, statuspage_id=statuspage_id)
            return
        change: dict[str, Any] = {"status": status, "body": body}
        if action == "resolve":
            components = [str(c) for c in payload.get("components") or []]
            if components:
                change["components"] = dict.fromkeys(components, "operational")
        await self.client.update(statuspage_id, change)
        log.info(f"statuspage_incident_{action}d", incident=incident, statuspage_id=statuspage_id, status=status)


def _latest_update(incident: dict[str, Any]) -> tuple[str, str] | None:
    """(body, status) of the incident's latest incident update (Statuspage lists them newest first)."""
    updates = incident.get("incident_updates")
    if not isinstance(updates, list) or not updates or not isinstance(updates[0], dict):
        return None
    return str(updates[0].get("body")), str(updates[0].get("status"))
