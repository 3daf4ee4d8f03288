"""Who may do what: optional role enforcement (INCIDENT_STRICT_ROLES=true).

With strict roles, the decisive moves (resolve, reopen, roll back, change severity) belong to
the people running the incident: its lead and IRT members, and its declarer until a lead is
named. Everyone may still add notes, hypotheses and follow-ups: the timeline stays open.
"""

from __future__ import annotations

from bot.domain.commands import ChangeSeverity, Reopen, Resolve, Rollback, Transition
from bot.domain.errors import BotError
from bot.domain.model import Incident, is_slack_user_id, slack_mention

RESTRICTED_ACTIONS: tuple[type[Transition], ...] = (Resolve, Reopen, Rollback, ChangeSeverity)
_VERBS = {Resolve: "resolve", Reopen: "reopen", Rollback: "roll back", ChangeSeverity: "change the severity of"}


class NotAllowed(BotError):
    """The actor may not take this action under strict roles."""


def may_act(incident: Incident, action: Transition, actor: str) -> bool:
    """True if ``actor`` may apply ``action`` under strict roles."""
    if not isinstance(action, RESTRICTED_ACTIONS):
        return True
    if actor == incident.lead or incident.member(actor) is not None:
        return True
    return incident.lead is None and actor == incident.declared_by


def check_allowed(incident: Incident, action: Transition, actor: str) -> None:
    """Raise NotAllowed, naming who may, when ``actor`` may not apply ``action``."""
    if may_act(incident, action, actor):
        return
    verb = _VERBS.get(type(action), "do that to")
    if incident.lead:
        lead = f"the lead {slack_mention(incident.lead)}"
    else:
        lead = f"the declarer {slack_mention(incident.declared_by)}"
    who = slack_mention(actor) if is_slack_user_id(actor) else f"@{actor}"
    raise NotAllowed(
        f"Only {lead} and the IRT of {incident.incident_id} may {verb} it (strict roles are on). "
        f"Ask them, or ask to join: `/incident {incident.incident_id} assemble {who}`."
    )
