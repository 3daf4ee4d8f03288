"""The outbox deliverer of ``statuspage.*`` items (``bot.integrations.statuspage.plan``): creates, updates and
resolves the incident's Statuspage incidents, exactly once each.

**One Statuspage incident per open.** Every item carries ``opened`` (k), the k-th ``statuspage open`` of the
incident it belongs to, and its marker ``incidentbot-<installation id>-INC-n-k``. The Statuspage id of each
open is recorded per (incident, k) (``StatuspageUseCases.record_id``) as soon as Statuspage answers the create;
an update or resolve goes to the incident of its own k, whatever was delivered in between (a second open, a
retried dead item).

**Create.** A retried ``statuspage.open`` (a crash or a lost commit after Statuspage answered, another
replica) first reads that record, then looks for its marker (``metadata.incidentbot.marker``) among the page's
unresolved incidents, and creates only when neither knows one. The window that remains: a create whose answer
was lost *and* whose incident a person resolved on Statuspage before the retry (it is no longer unresolved) is
created a second time. An open whose resolve was delivered before it was ever created (Statuspage refused the
open, the team gave it up with ``statuspage resolve``, then ``incidentbot outbox --retry`` sent it again) is
**skipped**: our timeline says that status-page incident is over, and creating it now would leave a public
incident nothing resolves.

**Components shared by several incidents.** Before an open or a resolve, the page's unresolved incidents of
this installation (by marker) are read: an open sets each component to the worst of its own impact and that
of the other open ones listing it (a minor open never downgrades a major outage); a resolve sets a component
``operational`` only when no other open one lists it (else to the worst status they give it).
That read and the write after it are one step per process (``component_lock``): the outbox delivers items of
different incidents at once, and two opens reading the page before either was created each set the status of
their own impact alone, the last write winning (a minor open could downgrade a critical one's outage). Two
replicas delivering opens of different incidents in the same instant can still race (left alone: Statuspage
offers no conditional write).

**Update and resolve.** An update with no Statuspage incident to go to (its open was refused or given up) is
dead with ``OPEN_NOT_CREATED`` in its reason (the channel was told about the open: ``bot.slack.delivery`` tells
no more); a resolve then has nothing to do and gives the open up. An update to an incident a person resolved
on Statuspage is dead with that reason (sending it would reopen the incident); a resolve of it has nothing
left to do. Otherwise each sends one ``PATCH`` with the person's text as the update's body; before it, the
incident is read and an update whose latest incident update already has this body and status (the previous
attempt reached Statuspage but its completion was not recorded) is not sent again.

**Failures.** Statuspage's 429 and 420 (its older rate-limit answer; ``Retry-After`` honoured), 5xx, no answer:
RetryLater, retried for as long as they last (the channel is told once after an hour, ``bot.app``). 401, 403,
404, 422 and other 4xx: Undeliverable with Statuspage's own reason (the channel is told; ``incidentbot outbox
--retry`` sends it again). The API key is never in a reason or a log line (``TrackerHttp.redact``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from bot.domain.effects import OutboxItem
from bot.domain.model import format_incident_id
from bot.domain.statuspage import COMPONENT_SEVERITY, COMPONENT_STATUS_OF_IMPACT, OPEN_NOT_CREATED
from bot.errors import ConcurrentUpdate, StoreUnavailable
from bot.integrations.statuspage.client import StatuspageClient, marker_of
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
        self.component_lock = asyncio.Lock()
        """Held from reading the page's unresolved incidents to the write that sets component statuses."""

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
        opened = opened_of(payload)
        known, given_up = await asyncio.to_thread(self.records.record, number, opened)
        if known is not None:
            log.info("statuspage_incident_known", incident=incident, opened=opened)
            return
        if given_up:
            log.info(
                "statuspage_open_skipped",
                incident=incident,
                opened=opened,
                reason="resolved with `statuspage resolve` before Statuspage created it",
            )
            return
        marker = str(payload.get("marker"))
        async with self.component_lock:
            unresolved = await self.client.unresolved()
            found = next((i for i in unresolved if marker_of(i) == marker), None)
            if found is None:
                components = [str(c) for c in payload.get("components") or []]
                own = str(payload.get("component_status") or "operational")
                held = _held_by_others(unresolved, marker)
                found = await self.client.create(
                    {
                        "name": str(payload.get("name")),
                        "status": str(payload.get("status") or "investigating"),
                        "impact_override": str(payload.get("impact") or "none"),
                        "body": str(payload.get("body")),
                        "component_ids": components,
                        "components": {c: _worst([own, *held.get(c, [])]) for c in components},
                        "metadata": {"incidentbot": {"marker": marker}},
                        "deliver_notifications": True,
                    }
                )
                log.info("statuspage_incident_created", incident=incident, opened=opened, statuspage_id=found["id"])
        await self._record(number, opened, str(found["id"]))

    async def _record(self, number: int, opened: int, statuspage_id: str) -> None:
        try:
            await asyncio.to_thread(self.records.record_id, number, opened, statuspage_id)
        except (StoreUnavailable, ConcurrentUpdate, OSError) as exc:  # created, not recorded: the retry finds it
            reason = f"created on Statuspage as {statuspage_id} but not recorded yet: {exc}"
            log.warning("statuspage_incident_unrecorded", incident=format_incident_id(number), reason=reason)
            raise RetryLater(reason[:500]) from exc

    async def _update(self, number: int, action: str, payload: dict[str, Any]) -> None:
        incident = format_incident_id(number)
        opened = opened_of(payload)
        marker = str(payload.get("marker"))
        statuspage_id, _ = await asyncio.to_thread(self.records.record, number, opened)
        if statuspage_id is None:  # never created (a refused open), or created and the record lost with a crash
            found = await self.client.find_unresolved(marker)
            if found is None and action == "resolve":  # a refused open given up: never create it after
                await asyncio.to_thread(self.records.give_up, number, opened)
                log.info("statuspage_nothing_to_resolve", incident=incident, opened=opened)
                return
            if found is None:
                raise Undeliverable(
                    f"{incident}'s status-page incident {opened} {OPEN_NOT_CREATED}: retry its open first "
                    "(`incidentbot outbox --status dead` lists both), then this update"
                )
            statuspage_id = str(found["id"])
            await self._record(number, opened, statuspage_id)
        body = str(payload.get("body"))
        status = "resolved" if action == "resolve" else str(payload.get("status") or "investigating")
        current = await self.client.get(statuspage_id)
        if _latest_update(current) == (body, status):
            log.info("statuspage_update_known", incident=incident, action=action, statuspage_id=statuspage_id)
            return
        if str(current.get("status")) == "resolved":
            if action == "resolve":
                log.info("statuspage_already_resolved", incident=incident, statuspage_id=statuspage_id)
                return
            raise Undeliverable(
                f"{incident}'s status-page incident {statuspage_id} was resolved on Statuspage: this update was not "
                "published (it would reopen it); `statuspage open` publishes a new one"
            )
        change: dict[str, Any] = {"status": status, "body": body}
        components = [str(c) for c in payload.get("components") or []] if action == "resolve" else []
        if not components:
            await self.client.update(statuspage_id, change)
        else:
            async with self.component_lock:
                held = _held_by_others(await self.client.unresolved(), marker)
                change["components"] = {c: _worst(held.get(c, [])) for c in components}
                await self.client.update(statuspage_id, change)
        log.info(f"statuspage_incident_{action}d", incident=incident, statuspage_id=statuspage_id, status=status)


def opened_of(payload: dict[str, Any]) -> int:
    """The ``opened`` (k) an item follows: its ``opened``, or (an item queued before it was carried) the k at the
    end of its marker ``incidentbot-<installation id>-INC-n-k``; 1 when neither reads."""
    value = payload.get("opened")
    if isinstance(value, int) and value >= 1:
        return value
    tail = str(payload.get("marker") or "").rpartition("-")[2]
    return int(tail) if tail.isdigit() and int(tail) >= 1 else 1


def _installation_prefix(marker: str) -> str:
    """``incidentbot-<installation id>-`` of ``incidentbot-<installation id>-INC-n-k``."""
    head, sep, _ = marker.rpartition("-INC-")
    return head + "-" if sep else marker


def _held_by_others(unresolved: list[dict[str, Any]], marker: str) -> dict[str, list[str]]:
    """Component id -> the statuses the *other* unresolved incidents of this installation (by marker) give it,
    from their impact (``COMPONENT_STATUS_OF_IMPACT``)."""
    prefix = _installation_prefix(marker)
    held: dict[str, list[str]] = {}
    for other in unresolved:
        theirs = marker_of(other)
        if theirs is None or theirs == marker or not theirs.startswith(prefix):
            continue
        impact = str(other.get("impact_override") or other.get("impact") or "none")
        status = COMPONENT_STATUS_OF_IMPACT.get(impact, "operational")
        for component in other.get("components") or []:
            component_id = component.get("id") if isinstance(component, dict) else component
            if component_id:
                held.setdefault(str(component_id), []).append(status)
    return held


def _worst(statuses: list[str]) -> str:
    """The worst of ``statuses`` (operational when none), in ``COMPONENT_SEVERITY`` order."""
    return max(statuses, key=COMPONENT_SEVERITY.index, default="operational")


def _latest_update(incident: dict[str, Any]) -> tuple[str, str] | None:
    """(body, status) of the incident's latest incident update (Statuspage lists them newest first)."""
    updates = incident.get("incident_updates")
    if not isinstance(updates, list) or not updates or not isinstance(updates[0], dict):
        return None
    return str(updates[0].get("body")), str(updates[0].get("status"))
