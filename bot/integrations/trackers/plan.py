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
from bot.domain.model import EntryKind, Incident
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
    ``pages.installation_id()`` is read (as ``bot.integrations.pagerduty.PagingUnit`` does).
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = users

    def __call__(self, uow: Any, outcome: Outcome) -> list[Effect]:
        incident = outcome.incident
        effects: list[Effect] = []
        installation: str | None = None
        for entry in outcome.entries:
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
                incident_title=plain(incident.title),
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

    def postmortem_comments(self, incident: Incident, url: str) -> list[Effect]:
        """The ``tracker.comment`` effects linking the postmortem published at ``url`` from every issue
        filed for ``incident``'s follow-ups (dropped ones too: their issue still exists). A follow-up
        filed later carries the link in its body instead (written at delivery)."""
        text = f"Postmortem of {incident.incident_id}: {url}"
        return [
            comment_effect(
                incident.number,
                followup.number,
                TrackerRef(followup.tracker_key, followup.tracker_url or ""),
                f"incidentbot:{incident.incident_id}:followup-{followup.number}:postmortem-{_digest(url)}",
                text,
            )
            for followup in incident.followups
            if followup.tracker_key is not None
        ]


def _digest(url: str) -> str:
    """Twelve hex digits standing for ``url`` in a comment marker: a new URL is a new comment."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]
