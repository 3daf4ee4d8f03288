"""Filing through the outbox: a ``tracker.file`` effect carries a TrackerIssue; its deliverer files it
(exactly once per marker, ``Tracker.file``) and hands the ref to ``on_filed``, which records it. Before
that, ``filing_state`` (injected by ``bot.app``) may say the follow-up was dropped or filed since the item
was queued (a revived dead item, ``incidentbot outbox --retry``): the item then completes without a request;
otherwise the body is written again with the links known at delivery (the incident channel, the postmortem).
A ``tracker.comment`` effect adds a comment once per marker (``Tracker.comment``): the postmortem's link on
the issues filed before it was published.

A crash or a failed commit between the tracker's answer and ``on_filed`` leaves the item pending: the
next attempt's lookup finds the issue and ``on_filed`` runs again with the same ref, so ``on_filed``
must be idempotent (record the key, or do nothing if it is already recorded). Temporary tracker
failures become ``RetryLater`` (with the tracker's ``Retry-After``), permanent ones ``Undeliverable``
with the tracker's reason, shown by ``incidentbot outbox``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

import structlog

from bot.domain.effects import Effect, OutboxItem
from bot.domain.model import format_incident_id
from bot.integrations.trackers.issues import export_of, incident_link, issue_body
from bot.integrations.trackers.port import Tracker, TrackerError, TrackerIssue, TrackerRef, incident_of, outbox_error
from bot.outbox.worker import Undeliverable
from bot.usecases.followups import FilingState

log = structlog.get_logger("incidentbot.trackers")


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class TrackerEffect(StrEnum):
    FILE = "tracker.file"
    COMMENT = "tracker.comment"


class OnFiled(Protocol):
    """Records a filed issue's ref for the item's follow-up, and which links its body carries
    (``channel``, ``postmortem``); called again with the same ref on a retry."""

    def __call__(self, item: OutboxItem, ref: TrackerRef, linked: tuple[str, ...] = ()) -> Awaitable[None]: ...


ReadFilingState = Callable[[OutboxItem], Awaitable[FilingState]]
"""What a ``tracker.file`` item's follow-up is at delivery (``FollowupUseCases.filing_state``): why it
must not be sent now (dropped or already filed since it was queued), and the incident channel and
postmortem links to write into the body."""


def file_effect(
    issue: TrackerIssue,
    incident_number: int,
    followup_number: int | None = None,
    export: dict[str, Any] | None = None,
) -> Effect:
    """The outbox effect filing ``issue``. Payload: ``marker``, ``title``, ``body`` (str), ``labels``
    (list of str), ``assignee`` (str or None), ``due`` (``2026-12-15`` or None), ``followup`` (the
    follow-up's number) when given, and ``export`` (``bot.integrations.trackers.issues.export_payload``):
    the body is written again from it at delivery, with the links known then."""
    payload: dict[str, Any] = {
        **({"followup": followup_number} if followup_number is not None else {}),
        "marker": issue.marker,
        "title": issue.title,
        "body": issue.body,
        "labels": list(issue.labels),
        "assignee": issue.assignee,
        "due": issue.due.isoformat() if issue.due else None,
        **({"export": export} if export is not None else {}),
    }
    return Effect(TrackerEffect.FILE.value, payload, incident_number)


def comment_effect(incident_number: int, followup_number: int, ref: TrackerRef, marker: str, text: str) -> Effect:
    """The outbox effect commenting ``text`` on the issue ``ref`` once per ``marker`` (``Tracker.comment``).
    Payload: ``followup``, ``key``, ``url``, ``marker``, ``text``."""
    payload = {"followup": followup_number, "key": ref.key, "url": ref.url, "marker": marker, "text": text}
    return Effect(TrackerEffect.COMMENT.value, payload, incident_number)


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


def with_current_links(issue: TrackerIssue, payload: dict[str, Any], state: FilingState) -> TrackerIssue:
    """``issue`` with its body written again from the payload's ``export`` and the links of ``state``
    (the incident's channel may have been created, the postmortem published, since it was queued);
    ``issue`` as queued for an item without ``export`` (queued before it existed) or a malformed one."""
    raw = payload.get("export")
    if not isinstance(raw, dict):
        return issue
    try:
        export, mapped = export_of(raw)
    except ValueError:
        return issue
    current = replace(export, incident_link=incident_link(state.channel_id), postmortem_link=state.postmortem_url)
    return replace(issue, body=issue_body(current, owner_mapped=mapped))


class TrackerDeliverer:
    """The outbox deliverer of ``tracker.*`` items (route it by the ``tracker`` kind prefix)."""

    def __init__(self, tracker: Tracker, on_filed: OnFiled, filing_state: ReadFilingState | None = None) -> None:
        self.tracker = tracker
        self.on_filed = on_filed
        self.filing_state = filing_state

    async def __call__(self, item: OutboxItem) -> None:
        """Raises RetryLater or Undeliverable (see the module docstring)."""
        if item.kind == TrackerEffect.COMMENT:
            await self._comment(item)
            return
        if item.kind != TrackerEffect.FILE:
            raise Undeliverable(f"unknown tracker item {item.kind!r}")
        try:
            issue = issue_of(item.payload)
        except ValueError as exc:
            raise Undeliverable(f"malformed tracker item: {exc}") from exc
        state = await self.filing_state(item) if self.filing_state is not None else None
        if state is not None and state.obstacle is not None:  # completes the item: filing it now would be wrong
            log.info(
                "tracker_filing_skipped",
                tracker=self.tracker.name,
                incident=incident_of(issue.marker),
                followup=item.payload.get("followup"),
                item=item.id,
                reason=state.obstacle,
            )
            return
        linked: tuple[str, ...] = ()
        if state is not None:
            issue = with_current_links(issue, item.payload, state)
            if isinstance(item.payload.get("export"), dict):
                linked = tuple(
                    name for name, link in (("channel", state.channel_id), ("postmortem", state.postmortem_url)) if link
                )
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
        await self.on_filed(item, ref, linked)

    async def _comment(self, item: OutboxItem) -> None:
        payload = item.payload
        fields = [payload.get(k) for k in ("key", "url", "marker", "text")]
        if not all(isinstance(value, str) and value for value in fields[:1] + fields[2:]):
            raise Undeliverable("malformed tracker item: a tracker.comment payload needs key, marker and text")
        key, url, marker, text = (str(value or "") for value in fields)
        incident = format_incident_id(item.incident_number) if item.incident_number is not None else None
        try:
            added = await self.tracker.comment(TrackerRef(key, url), marker, text)
        except TrackerError as exc:
            if exc.status in (404, 410) and not exc.temporary:  # the issue was deleted: nothing to link from
                log.info(
                    "tracker_comment_skipped", tracker=self.tracker.name, incident=incident, key=key, reason=exc.reason
                )
                return
            log.warning(
                "tracker_comment_failed",
                tracker=self.tracker.name,
                incident=incident,
                key=key,
                kind=exc.kind.value,
                reason=exc.reason,
            )
            raise outbox_error(exc) from exc
        except ValueError as exc:  # a key of another tracker's shape (TRACKER changed since it was filed)
            raise Undeliverable(f"cannot comment on {key}: {exc}") from exc
        log.info(
            "tracker_comment_added" if added else "tracker_comment_found",
            tracker=self.tracker.name,
            incident=incident,
            followup=payload.get("followup"),
            key=key,
            marker=marker,
        )
