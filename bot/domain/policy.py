"""Who may do what: optional role enforcement (INCIDENT_STRICT_ROLES=true).

With strict roles, the decisive moves belong to the people running the incident: its lead and IRT
members, and its declarer until a lead is named. Decisive are resolve, reopen, roll back, change
severity, confirm or reject a hypothesis (they set the root cause the postmortem measures) and set
the impact (it changes the error budget).

The moves that hand out those rights (naming the lead, adding IRT members with ``assemble``) are
restricted the same way, so nobody can grant themselves the right to resolve in one command:
always once a lead is named, and before that whenever a person declared the incident (then only
the declarer and IRT members may staff it). Only an incident declared by something that is not a
Slack user (an alert: ``alertmanager``, a webhook, the CLI) may be picked up by anyone before it
has a lead: it has no human declarer, and someone has to take it.
Everyone may still add notes, hypotheses and follow-ups: the timeline stays open.

A private incident (``declare --private``) always has strict roles, whatever the setting
(``strict_roles_for``), and more: only its members (``bot.domain.privacy.insiders``: declarer, lead, IRT)
may change it at all, notes and follow-ups included (a change's reply quotes what it changed), and nobody
picks one up by default (a CLI-declared one is staffed by its declarer, from the CLI). The bot's own moves
(``BOT_ACTIONS``) are not people's.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.commands import (
    Assemble,
    Nudge,
    RecordAlert,
    RecordFollowupExport,
    RecordPublication,
    RecordTrackerIssueGone,
    RemindFollowups,
    RemindPostmortem,
    ReviewMove,
    SetLead,
    Transition,
)
from bot.domain.errors import BotError
from bot.domain.model import Incident, is_slack_user_id
from bot.domain.people import Person
from bot.domain.privacy import insiders

STAFFING_ACTIONS: tuple[type[Transition], ...] = (SetLead, Assemble)
"""Restricted once the incident has a lead, or when a person declared it; every other action with a
``restricted_move`` (``bot.domain.commands``) is restricted whenever strict roles are on."""


BOT_ACTIONS: tuple[type[Transition], ...] = (
    Nudge,
    RecordAlert,
    RecordFollowupExport,
    RecordPublication,
    RecordTrackerIssueGone,
    RemindFollowups,
    RemindPostmortem,
)
"""What the bot records on its own (a reminder, an alert, a tracker's or a publication's answer): never a
person's move, so never refused."""


class NotAllowed(BotError):
    """The actor may not take this action under strict roles.

    ``user_message`` names the people who may (rendered by each adapter, see ``BotError``);
    ``plain_message`` is the same refusal naming nobody, for places that show no markup (a modal's
    field error).
    """

    def __init__(self, user_message: str | Sequence[str | Person], plain_message: str) -> None:
        super().__init__(user_message)
        self.plain_message = plain_message


def strict_roles_for(incident: Incident, configured: bool) -> bool:
    """True if strict roles apply to ``incident``: when ``configured`` (INCIDENT_STRICT_ROLES) or when it is private."""
    return configured or incident.private


def is_restricted(incident: Incident, action: Transition) -> bool:
    """True if, under strict roles, only the incident's lead and IRT (or declarer) may apply ``action`` now."""
    if isinstance(action, STAFFING_ACTIONS):
        return incident.lead is not None or is_slack_user_id(incident.declared_by)
    return action.restricted_move is not None


def may_act(incident: Incident, action: Transition, actor: str, postmortem_owner: str | None = None) -> bool:
    """True if ``actor`` (a Slack user id, or a name given in the CLI) may apply ``action`` under strict roles;
    ``postmortem_owner`` (``bot.domain.review``) may also move the postmortem's review they were given (a
    ``ReviewMove``: the reminder asks them to), or hand it over. On a private incident only its members may
    make any change (``insiders``)."""
    if incident.private and not isinstance(action, BOT_ACTIONS):
        owner_moves = postmortem_owner is not None and actor == postmortem_owner and isinstance(action, ReviewMove)
        return actor in insiders(incident) or owner_moves
    if not is_restricted(incident, action):
        return True
    if actor == incident.lead or incident.member(actor) is not None:
        return True
    if postmortem_owner is not None and actor == postmortem_owner and isinstance(action, ReviewMove):
        return True
    return incident.lead is None and actor == incident.declared_by


def check_allowed(incident: Incident, action: Transition, actor: str, postmortem_owner: str | None = None) -> None:
    """Raise NotAllowed, naming who may, when ``actor`` may not apply ``action``."""
    if may_act(incident, action, actor, postmortem_owner):
        return
    if incident.private:
        message = (
            f"{incident.incident_id} is a private incident: only its declarer, lead and IRT may change it. "
            "Ask its lead to add you: `/incident " + incident.incident_id + " assemble "
        )
        raise NotAllowed(
            (message, Person(actor), "`."), f"{incident.incident_id} is private: only its team may change it."
        )
    move = action.restricted_move or "change {it}"
    lead: tuple[str | Person, ...]
    if incident.lead:
        lead, plain = ("the lead ", Person(incident.lead)), "the incident lead"
    else:
        lead, plain = ("the declarer ", Person(incident.declared_by)), "the incident's declarer"
    if postmortem_owner is not None and isinstance(action, ReviewMove):
        lead = (*lead, ", the postmortem owner ", Person(postmortem_owner))
        plain = f"{plain}, the postmortem owner"
    raise NotAllowed(
        (
            "Only ",
            *lead,
            f" and the IRT of {incident.incident_id} may {move.format(it='it')} (strict roles are on). "
            f"Ask one of them to add you: `/incident {incident.incident_id} assemble ",
            Person(actor),
            "`.",
        ),
        f"Only {plain} and IRT may {move.format(it=incident.incident_id)} (strict roles are on).",
    )
