"""Archiving a resolved incident's channel (INCIDENT_ARCHIVE_AFTER), unarchiving it on reopen, and the note
kept when Slack refuses the bot an incident's channel (archived or made private by hand, the bot removed).

The archive is an outbox effect queued in the resolve's transaction (``ArchivePlan``, a standing plan), due
at the resolve's time + the delay (a backdated resolve may be due at once): it survives restarts, and the
outbox's leases deliver it once across replicas. It has a lane of its own (``slack_archive``): a Slack item
due in a week must not hold up the incident's other Slack items, which wait for the earlier items of their
lane. When it comes due it re-reads the incident (its corrected ``resolved_at``) and the current
INCIDENT_ARCHIVE_AFTER: reopened, or the setting now off, it does nothing; not due yet (a later resolve, a
corrected resolve time, a longer delay), it waits until resolved_at + the delay.

Only the plan is imported by ``bot.compose``; this module imports nothing of slack_sdk at import time
beyond what ``bot.slack.web_api`` needs when the deliverer is built.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from bot.domain.effects import Effect, OutboxItem
from bot.domain.model import EntryKind, Incident, format_incident_id, is_slack_user_id
from bot.domain.timeparse import format_duration
from bot.outbox.worker import Deferred

if TYPE_CHECKING:
    from bot.slack.web_api import SlackWebApi
    from bot.usecases.channels import ChannelUseCases
    from bot.usecases.incidents import IncidentUseCases
    from bot.usecases.shared import Outcome

log = structlog.get_logger("incidentbot.slack")

ARCHIVE_KIND = "slack_archive.channel"
"""The archive effect's kind: its own lane (``slack_archive``), delivered by the Slack deliverer."""
UNARCHIVE_KIND = "slack.unarchive_channel"
"""The unarchive effect's kind: in the ``slack`` lane, ahead of the reopen's status refresh and line."""
DM_KIND = "slack.direct_message"
"""``SlackEffect.DIRECT_MESSAGE`` (named here so that the plan needs no import of the deliverer)."""
REFRESH_KIND = "slack.refresh"
"""``SlackEffect.REFRESH``: the status message's refresh (the pinned message, the topic)."""
ARCHIVED_BY_HAND = frozenset({"is_archived", "is_inactive", "already_archived"})
"""Codes answering the archive's calls when a person archived the channel first: the archive is done."""


class ArchivePlan:
    """A standing plan (``bot.usecases.shared.StandingPlan``): a resolve owes the archive of the incident's
    channel ``after`` it (UTC), as an effect due then whose payload names that resolve."""

    def __init__(self, after: timedelta) -> None:
        self.after = after

    def __call__(self, _uow: object, outcome: Outcome) -> list[Effect]:
        incident = outcome.incident
        resolves = [entry for entry in outcome.entries if entry.kind is EntryKind.RESOLVED]
        if not resolves or incident.resolved_at is None:
            return []
        # Due at the resolve's own time + the delay: a resolve typed with `--at 3 days ago` is due 3 days
        # sooner than one typed now (its entry was recorded now; queued items count from now).
        wait = max(incident.resolved_at + self.after - resolves[-1].recorded_at, timedelta(0))
        payload = {"resolved_at": incident.resolved_at.isoformat(), "after_seconds": self.after.total_seconds()}
        return [Effect(ARCHIVE_KIND, payload, incident.number, not_before=wait)]


def unarchive_effects(outcome: Outcome) -> list[Effect]:
    """A reopen of an incident whose channel is archived (by the bot, or by hand as far as the bot knows)
    owes its unarchive first, so that the reopen's status refresh and line reach the channel."""
    incident = outcome.incident
    reopened = any(entry.kind is EntryKind.REOPENED for entry in outcome.entries)
    if not reopened or incident.channel_id is None:
        return []
    if incident.channel_archived_at is None and incident.channel_problem is None:
        return []
    return [Effect(UNARCHIVE_KIND, {}, incident.number)]


def reopened_effects(incident: Incident) -> list[Effect]:
    """What an archive that raced a reopen owes, queued with its record: the unarchive, then the status
    message's refresh again (the reopen's own refresh may have reached the channel before the archive's
    last message, or been refused by the archived channel)."""
    return [Effect(UNARCHIVE_KIND, {}, incident.number), Effect(REFRESH_KIND, {}, incident.number)]


# -- Slack's refusals of an incident's channel ----------------------------------------------------------

CHANNEL_NOTES: dict[str, str] = {
    "is_archived": "the channel is archived, so the bot's messages to it are dropped: unarchive it in Slack",
    "is_inactive": "the channel is archived, so the bot's messages to it are dropped: unarchive it in Slack",
    "not_in_channel": (
        "the bot was removed from the channel, so its messages to it are dropped: invite it back "
        "(`/invite @incidentbot` in the channel)"
    ),
    "channel_not_found": (
        "the bot can no longer see the channel (made private without it, or deleted), so its messages to it "
        "are dropped: add the bot to it (`/invite @incidentbot` in the channel)"
    ),
}
"""Slack's error code -> the note kept on the incident (``incidents.channel_problem``) when a call to its
channel gets it (codes from docs.slack.dev for chat.postMessage, chat.update, conversations.setTopic,
conversations.invite, pins.add). ``pins.add``'s ``not_in_channel`` means the message, not the bot."""


def channel_note(method: str, code: str | None) -> str | None:
    """The note for ``code`` answered by ``method`` on an incident's channel, or None if it is no such refusal."""
    if code is None or (method, code) == ("pins.add", "not_in_channel"):
        return None
    return CHANNEL_NOTES.get(code)


def unarchive_refused_note(code: str | None, reason: str) -> str:
    """The note kept when Slack refuses to unarchive a reopened incident's channel. A bot token may be refused
    it (conversations.unarchive documents ``method_not_supported_for_channel_type`` and ``missing_scope``;
    ``channel_not_found`` for a private channel the bot is not in): a person must unarchive it by hand."""
    return (
        f"the channel is still archived: Slack refused to unarchive it ({code or 'no Slack answer'}: {reason}), "
        "so the bot's messages to it are dropped: unarchive it in Slack (the channel's settings), then "
        "`/invite @incidentbot` if the bot is not in it"
    )


def tell_lead(incident: Incident, note: str) -> list[Effect]:
    """Told once per new note: a direct message to the lead (when a Slack user) saying the incident carries on."""
    if not incident.lead or not is_slack_user_id(incident.lead):
        return []
    ident = incident.incident_id
    text = (
        f":warning: {ident}'s channel <#{incident.channel_id}>: {note}. The incident carries on: its status is "
        f"kept by incidentbot, `/incident {ident} ...` works from any channel, and App Home shows the note."
    )
    return [Effect(DM_KIND, {"user": incident.lead, "text": text}, incident.number)]


# -- delivering ---------------------------------------------------------------------------------------


class ChannelArchiver:
    """Delivers the archive and unarchive effects. Slack errors raise SlackApiError for the deliverer to classify.

    ``after``: the current INCIDENT_ARCHIVE_AFTER (None: off), which the archive honours when it comes due
    rather than the delay it was queued with; ``clock``: now (UTC), the outbox worker's."""

    def __init__(
        self,
        incidents: IncidentUseCases,
        channels: ChannelUseCases,
        web_api: SlackWebApi,
        after: timedelta | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.incidents = incidents
        self.channels = channels
        self.web_api = web_api
        self.after = after
        self.clock = clock

    async def archive(self, item: OutboxItem) -> None:
        """Post the last message (once per item, however often the archive itself is retried), then archive,
        then record it. Nothing when the incident was reopened since, or INCIDENT_ARCHIVE_AFTER is now off;
        raises Deferred when not due yet (resolved_at + the current delay is later). A channel a person
        archived first counts as archived (recorded, nobody told); one the bot can no longer reach (made
        private without it, the bot removed) keeps a note and the item goes dead (SlackApiError raised), but
        the lead is not told: the incident is over."""
        from slack_sdk.errors import SlackApiError

        from bot.slack.api_errors import failure_of

        assert item.incident_number is not None
        ident = format_incident_id(item.incident_number)
        incident = await asyncio.to_thread(self.channels.archive_due, item.incident_number)
        if incident is None or incident.channel_id is None or incident.resolved_at is None:
            log.info("channel_archive_skipped", incident=ident, item=item.id, reason="not resolved or done")
            return
        if self.after is None:
            log.info("channel_archive_skipped", incident=ident, item=item.id, reason="INCIDENT_ARCHIVE_AFTER is off")
            return
        due, now = incident.resolved_at + self.after, self.clock()
        if due > now:
            raise Deferred(f"not due until {due.isoformat()} (resolved_at + INCIDENT_ARCHIVE_AFTER)", due)
        since = format_duration(now - incident.resolved_at)
        try:
            await self._archive(item, incident, incident.channel_id, now)
        except SlackApiError as exc:
            code = failure_of(exc).code
            if code in ARCHIVED_BY_HAND:
                await asyncio.to_thread(
                    lambda: self.channels.record_archived(incident.number, since, reopened_effects, by_hand=True)
                )
                return
            note = channel_note(failure_of(exc).method, code)
            if note is not None:  # the incident is over: the note is kept (status, App Home), the lead not told
                log.warning("channel_archive_impossible", incident=ident, item=item.id, error=code)
                await asyncio.to_thread(self.channels.note_problem, incident.number, note)
            raise
        await asyncio.to_thread(self.channels.record_archived, incident.number, since, reopened_effects)

    async def _archive(self, item: OutboxItem, incident: Incident, channel_id: str, now: datetime) -> None:
        notice = f"archive-notice:{item.id}"
        if not await asyncio.to_thread(self.channels.done, notice):
            url = await asyncio.to_thread(self.channels.postmortem_link, incident.number)
            await self.web_api.post(channel_id, last_message(incident, url, now))
            await asyncio.to_thread(self.channels.mark_done, notice)
        await self.web_api.archive_channel(channel_id)

    async def unarchive(self, item: OutboxItem) -> None:
        """Unarchive the channel of a reopened incident (``not_archived`` counts as done) and record it."""
        assert item.incident_number is not None
        incident = await asyncio.to_thread(self.incidents.get, item.incident_number)
        if incident.channel_id is None or (incident.channel_archived_at is None and incident.channel_problem is None):
            return
        await self.web_api.unarchive_channel(incident.channel_id)
        await asyncio.to_thread(self.channels.record_unarchived, incident.number)


def last_message(incident: Incident, postmortem_url: str | None, now: datetime) -> str:
    """The channel's last message before the archive: how long ago the incident was resolved (its corrected
    ``resolved_at`` to ``now``, UTC), where the postmortem is, and how to bring the channel back.

    ``:file_cabinet: INC-3 was resolved 7d 0h ago: this channel is archived now. The postmortem:
    <url>. Reopening the incident (`/incident INC-3 reopen <why>`) unarchives it.``"""
    since = now - (incident.resolved_at or now)
    ident = incident.incident_id
    where = (
        f"The postmortem: {postmortem_url}."
        if postmortem_url
        else (
            f"No postmortem was published yet: `/incident {ident} postmortem publish` publishes it (Confluence or "
            f"Git, when set up) and `incidentbot postmortem {ident}` writes its draft; an upload here would be refused."
        )
    )
    return (
        f":file_cabinet: {ident} was resolved {format_duration(since)} ago: this channel is archived now. {where} "
        f"Reopening the incident (`/incident {ident} reopen <why>`) unarchives it."
    )
