"""Which follow-ups to file: the standing plan that queues a ``tracker.file`` effect in the transaction
that added a follow-up (``followup <text>``) or asked for it (``followup export <n>``).

``bot.app`` adds it to the standing plans when TRACKER is set, so every surface (Slack, the CLI, the
webhooks) files new follow-ups the same way, and a follow-up is queued for filing if and only if the
transition that created it committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.effects import Effect
from bot.domain.model import EntryKind
from bot.integrations.trackers.delivery import file_effect
from bot.integrations.trackers.issues import FollowUpExport, followup_issue
from bot.usecases.shared import Outcome

FILING_KINDS = frozenset({EntryKind.FOLLOWUP, EntryKind.FOLLOWUP_EXPORT})
"""The entries that owe a filing: a new follow-up, and a request to file an existing one."""
SLACK_CHANNEL_LINK = "https://slack.com/app_redirect?channel={channel}"
"""A link that opens a Slack channel in the workspace of whoever follows it (Slack's app_redirect)."""


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
            names = entry.data.get("names") or {}
            export = FollowUpExport(
                incident_number=incident.number,
                followup_number=followup.number,
                text=followup.text,
                incident_title=incident.title,
                severity=incident.severity.value,
                owner=followup.owner,
                owner_name=names.get(followup.owner) if followup.owner else None,
                due=followup.due,
                incident_link=SLACK_CHANNEL_LINK.format(channel=incident.channel_id) if incident.channel_id else None,
            )
            issue = followup_issue(export, self.users, installation)
            effects.append(file_effect(issue, incident.number, followup.number))
        return effects
