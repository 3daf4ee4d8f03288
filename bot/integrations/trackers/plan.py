"""Which follow-ups to file: the standing plan that queues a ``tracker.file`` effect in the transaction
that added a follow-up (``followup <text>``) or asked for it (``followup export <n>``).

``bot.app`` adds it to the standing plans when TRACKER is set, so every surface (Slack, the CLI, the
webhooks) files new follow-ups the same way, and a follow-up is queued for filing if and only if the
transition that created it committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from bot.domain.effects import Effect
from bot.domain.model import EntryKind, Incident, TimelineEntry
from bot.domain.privacy import PRIVATE_TITLE
from bot.domain.timeline import plain_references
from bot.integrations.trackers.delivery import comment_effect, file_effect
from bot.integrations.trackers.issues import FollowUpExport, export_payload, followup_issue, incident_link
from bot.integrations.trackers.port import TrackerRef
from bot.usecases.shared import Outcome

FILING_KINDS = frozenset({EntryKind.FOLLOWUP, EntryKind.FOLLOWUP_EXPORT})
"""The entries that owe a filing: a new follow-up, and a request to file an existing one."""


class TrackerPlan:
    """A standing plan (``bot.usecases.shared.StandingPlan``): the filings ``outcome`` owes.

    ``users`` maps Slack user ids to tracker users (TRACKER_USERS_FILE). A follow-up already filed
    (it has a tracker key) is not filed again. ``uow`` is the transition's unit of work: only its
    ``pages.installation_id()`` (as ``bot.integrations.pagerduty.PagingUnit`` does) and
    ``incidents.get_postmortem_url`` are read. A recorded filing whose body lacks a link the incident
    has by now owes a comment (``_missing_links``).
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = users

    def __call__(self, uow: Any, outcome: Outcome) -> list[Effect]:
        incident = outcome.incident
        effects: list[Effect] = []
        installation: str | None = None
        for entry in outcome.entries:
            if entry.kind is EntryKind.FOLLOWUP_EXPORTED:
                effects.extend(self._missing_links(uow, incident, entry))
            if entry.kind not in FILING_KINDS:
                continue
            # The marker is scoped by this database's installation id (as PagerDuty's dedup_key is): a
            # staging bot, or a reset database whose INC numbers start again, never takes another's issue.
            installation = installation or str(uow.pages.installation_id())
            followup = incident.followup(int(entry.data.get("number") or 0))
            if followup is None or followup.tracker_key is not None:
                continue
            names = dict(entry.data.get("names") or {})
            plain = plain_references(names)  # Slack's <@U0BOB|bob> and <https://x|x> as people typed them
            export = FollowUpExport(
                incident_number=incident.number,
                followup_number=followup.number,
                text=plain(followup.text),
                incident_title=PRIVATE_TITLE if incident.private else plain(incident.title),
                severity=incident.severity.value,
                owner=followup.owner,
                owner_name=names.get(followup.owner) if followup.owner else None,
                due=followup.due,
                incident_link=incident_link(incident.channel_id),
            )
            issue = followup_issue(export, self.users, installation)
            mapped = followup.owner in self.users if followup.owner else False
            effects.append(
                file_effect(issue, incident.number, followup.number, export_payload(export, owner_mapped=mapped))
            )
        return effects

    def _missing_links(self, uow: Any, incident: Incident, entry: TimelineEntry) -> list[Effect]:
        """The comments a just-recorded filing owes: the links its body lacks (``linked`` in the entry's
        data) that the incident has by now: its channel was created, or its postmortem published,
        while the issue was being filed. Read in the recording transaction, so either this or the
        channel's or postmortem's own plan sees the key (and the tracker's marker lookup dedups both)."""
        linked = set(entry.data.get("linked") or ())
        number = int(entry.data.get("number") or 0)
        owed: list[Effect] = []
        if "channel" not in linked:
            owed += [e for e in self.channel_comments(incident) if e.payload["followup"] == number]
        postmortem = uow.incidents.get_postmortem_url(incident.number) if "postmortem" not in linked else None
        if postmortem:
            owed += [e for e in self.postmortem_comments(incident, postmortem) if e.payload["followup"] == number]
        return owed

    def postmortem_comments(self, incident: Incident, url: str) -> list[Effect]:
        """The ``tracker.comment`` effects linking the postmortem published at ``url`` from every issue
        filed for ``incident``'s follow-ups (dropped ones too: their issue still exists). A follow-up
        filed later carries the link in its body instead (written at delivery)."""
        return _link_comments(incident, "postmortem", f"Postmortem of {incident.incident_id}: {url}", url)

    def channel_comments(self, incident: Incident) -> list[Effect]:
        """The ``tracker.comment`` effects linking ``incident``'s Slack channel, just created, from the
        issues filed before it existed (a filing sent while Slack was down); later ones carry it in their
        body. Nothing before the incident has a channel."""
        link = incident_link(incident.channel_id)
        if link is None:
            return []
        return _link_comments(incident, "channel", f"Incident channel of {incident.incident_id}: {link}", link)


def _link_comments(incident: Incident, what: str, text: str, url: str) -> list[Effect]:
    """One ``tracker.comment`` per filed follow-up of ``incident``, each with a marker naming the
    follow-up, ``what`` is linked and the URL (a new URL is a new comment; the same one, none)."""
    return [
        comment_effect(
            incident.number,
            followup.number,
            TrackerRef(followup.tracker_key, followup.tracker_url or ""),
            f"incidentbot:{incident.incident_id}:followup-{followup.number}:{what}-{_digest(url)}",
            text,
        )
        for followup in incident.followups
        if followup.tracker_key is not None
    ]


def _digest(url: str) -> str:
    """Twelve hex digits standing for ``url`` in a comment marker: a new URL is a new comment."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]
