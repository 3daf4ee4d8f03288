"""Who may do what: optional role enforcement (INCIDENT_STRICT_ROLES=true).

With strict roles, the decisive moves (resolve, reopen, roll back, change severity) belong to
the people running the incident: its lead and IRT members, and its declarer until a lead is
named. Once a lead is named, the moves that hand out those rights (changing the lead, adding IRT
members with ``assemble``) are restricted the same way, so nobody can grant themselves the right
to resolve in one command. Before a lead exists anyone may take the lead or assemble the IRT
(an alert-declared incident has no human declarer; someone has to pick it up).
Everyone may still add notes, hypotheses and follow-ups: the timeline stays open.
"""

from __future__ import annotations

from bot.domain.commands import Assemble, ChangeSeverity, Reopen, Resolve, Rollback, SetLead, Transition
from bot.domain.errors import BotError
from bot.domain.model import Incident, person_mention, slack_mention

RESTRICTED_ACTIONS: tuple[type[Transition], ...] = (Resolve, Reopen, Rollback, ChangeSeverity)
"""Restricted whenever strict roles are on."""
STAFFING_ACTIONS: tuple[type[Transition], ...] = (SetLead, Assemble)
"""Restricted like RESTRICTED_ACTIONS once the incident has a lead: they grant those rights."""
_VERBS: dict[type[Transition], str] = {
    Resolve: "resolve",
    Reopen: "reopen",
    Rollback: "roll back",
    ChangeSeverity: "change the severity of",
    SetLead: "change the lead of",
    Assemble: "add responders to",
}


class NotAllowed(BotError):
    """The actor may not take this action under strict roles."""


def is_restricted(incident: Incident, action: Transition) -> bool:
    """True if, under strict roles, only the incident's lead and IRT (or declarer) may apply ``action`` now."""
    if isinstance(action, STAFFING_ACTIONS):
        return incident.lead is not None
    return isinstance(action, RESTRICTED_ACTIONS)


def may_act(incident: Incident, action: Transition, actor: str) -> bool:
    """True if ``actor`` (a Slack user id, or a name given in the CLI) may apply ``action`` under strict roles."""
    if not is_restricted(incident, action):
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
    who = person_mention(actor)
    raise NotAllowed(
        f"Only {lead} and the IRT of {incident.incident_id} may {verb} it (strict roles are on). "
        f"Ask one of them to add you: `/incident {incident.incident_id} assemble {who}`."
    )
