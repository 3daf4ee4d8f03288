"""Filing through the outbox: a ``tracker.file`` effect carries a TrackerIssue; its deliverer files it
(exactly once per marker, ``Tracker.file``) and hands the ref to ``on_filed``, which records it. Before
that, ``skip_reason`` (injected by ``bot.app``) may say the follow-up was dropped or filed since the item
was queued (a revived dead item, ``incidentbot outbox --retry``): the item then completes without a request.

A crash or a failed commit between the tracker's answer and ``on_filed`` leaves the item pending: the
next attempt's lookup finds the issue and ``on_filed`` runs again with the same ref, so ``on_filed``
must be idempotent (record the key, or do nothing if it is already recorded). Temporary tracker
failures become ``RetryLater`` (with the tracker's ``Retry-After``), permanent ones ``Undeliverable``
with the tracker's reason, shown by ``incidentbot outbox``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from typing import Any

import structlog

from bot.domain.effects import Effect, OutboxItem
from bot.integrations.trackers.port import Tracker, TrackerError, TrackerIssue, TrackerRef, incident_of, outbox_error
from bot.outbox.worker import Undeliverable

log = structlog.get_logger("incidentbot.trackers")


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class TrackerEffect(StrEnum):
    FILE = "tracker.file"


OnFiled = Callable[[OutboxItem, TrackerRef], Awaitable[None]]
"""Records a filed issue's ref for the item's follow-up; called again with the same ref on a retry."""
SkipReason = Callable[[OutboxItem], Awaitable[str | None]]
"""Why an item's filing must not be sent at delivery (its follow-up was dropped or already filed since
it was queued: ``"dropped"``, ``"already filed as KEY"``), or None to file it."""


def file_effect(issue: TrackerIssue, incident_number: int, followup_number: int | None = None) -> Effect:
    """The outbox effect filing ``issue``. Payload: ``marker``, ``title``, ``body`` (str), ``labels``
    (list of str), ``assignee`` (str or None), ``due`` (``2026-12-15`` or None), and ``followup`` (the
    follow-up's number) when given."""
    payload: dict[str, Any] = {
        **({"followup": followup_number} if followup_number is not None else {}),
        "marker": issue.marker,
        "title": issue.title,
        "body": issue.body,
        "labels": list(issue.labels),
        "assignee": issue.assignee,
        "due": issue.due.isoformat() if issue.due else None,
    }
    return Effect(TrackerEffect.FILE.value, payload, incident_number)


def issue_of(payload: dict[str, Any]) -> TrackerIssue:
    """The TrackerIssue a ``tracker.file`` payload holds. Raises ValueError for a malformed one."""
    labels = payload.get("labels") or []
    assignee = payload.get("assignee")
    if not all(isinstance(payload.get(k), str) for k in ("marker", "title", "body")):
        raise ValueError("a tracker.file payload needs marker, title and body strings")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ValueError("tracker.file labels must be a list of strings")
    if assignee is not None and not isinstance(assignee, str):
        raise ValueError("tracker.file assignee must be a string or null")
    due = payload.get("due")  # absent from items queued before due dates were sent
    day: date | None = None
    if due is not None:
        try:
            day = date.fromisoformat(due) if isinstance(due, str) and _DAY.fullmatch(due) else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError("tracker.file due must be a YYYY-MM-DD day or null")
    return TrackerIssue(payload["marker"], payload["title"], payload["body"], tuple(labels), assignee, day)


class TrackerDeliverer:
    """The outbox deliverer of ``tracker.*`` items (route it by the ``tracker`` kind prefix)."""

    def __init__(self, tracker: Tracker, on_filed: OnFiled, skip_reason: SkipReason | None = None) -> None:
        self.tracker = tracker
        self.on_filed = on_filed
        self.skip_reason = skip_reason

    async def __call__(self, item: OutboxItem) -> None:
        """Raises RetryLater or Undeliverable (see the module docstring)."""
        if item.kind != TrackerEffect.FILE:
            raise Undeliverable(f"unknown tracker item {item.kind!r}")
        try:
            issue = issue_of(item.payload)
        except ValueError as exc:
            raise Undeliverable(f"malformed tracker item: {exc}") from exc
        reason = await self.skip_reason(item) if self.skip_reason is not None else None
        if reason is not None:  # completes the item without a request: filing it now would be wrong
            log.info(
                "tracker_filing_skipped",
                tracker=self.tracker.name,
                incident=incident_of(issue.marker),
                followup=item.payload.get("followup"),
                item=item.id,
                reason=reason,
            )
            return
        try:
            ref = await self.tracker.file(issue)
        except TrackerError as exc:
            log.warning(
                "tracker_file_failed",
                tracker=self.tracker.name,
                incident=incident_of(issue.marker),
                marker=issue.marker,
                kind=exc.kind.value,
                reason=exc.reason,
            )
            raise outbox_error(exc) from exc
        await self.on_filed(item, ref)
