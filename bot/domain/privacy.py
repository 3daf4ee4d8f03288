"""Private incidents: who may see one, and what everybody else is shown instead.

An incident declared ``--private`` keeps its title and details (description, service, summary,
hypotheses, follow-ups, timeline) for its members. Its members are the people the bot knows run it,
without asking Slack: the declarer, the lead and the IRT (``Incident.members``). Somebody who joined its
private Slack channel by another way is not a member until they are assembled. Everybody else is shown
``INC-n`` and the words "private incident": never the title, the service nor a person's words.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain.errors import BotError
from bot.domain.model import FollowupListing, Incident, IncidentSummary

PRIVATE_TITLE = "private incident"
"""What a non-member is shown in place of a private incident's title."""


def insiders(incident: Incident) -> frozenset[str]:
    """The members of ``incident``: its declarer, its lead and its IRT (Slack user ids, or names given in the CLI)."""
    people = {incident.declared_by, *(m.user_id for m in incident.members)}
    if incident.lead:
        people.add(incident.lead)
    return frozenset(people)


def may_see(incident: Incident, viewer: str | None) -> bool:
    """True if ``viewer`` (a Slack user id; None: somebody unknown, a channel) may see ``incident``'s title and
    details: always for an incident that is not private, else only for its members (``insiders``)."""
    return not incident.private or (viewer is not None and viewer in insiders(incident))


class PrivateIncident(BotError):
    """A non-member asked for a private incident's details (status, timeline, follow-ups, postmortem)."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(
            f"{incident.incident_id} is a {PRIVATE_TITLE}: its details are for its declarer, lead and IRT. "
            f"Ask its lead to add you with `/incident {incident.incident_id} assemble`."
        )


def check_may_see(incident: Incident, viewer: str | None, channel_id: str | None = None) -> None:
    """Raise PrivateIncident unless ``viewer`` may see ``incident`` (``may_see``) or asks from inside its own
    channel ``channel_id`` (a private channel: whoever types there already reads everything in it)."""
    if channel_id is not None and channel_id == incident.channel_id:
        return
    if not may_see(incident, viewer):
        raise PrivateIncident(incident)


def shown_title(incident: Incident | IncidentSummary, visible: bool) -> str:
    """The title, or ``private incident`` for a private incident not ``visible`` to the reader."""
    return incident.title if visible or not incident.private else PRIVATE_TITLE


def hidden_summary(summary: IncidentSummary) -> IncidentSummary:
    """``summary`` with a private incident's title replaced by ``private incident`` and its service left out."""
    return replace(summary, title=PRIVATE_TITLE, service=None) if summary.private else summary


PRIVATE_FOLLOWUP = "a follow-up of a private incident"
"""What a list read outside a private incident (the weekly digest) shows in place of a follow-up's text."""


def hidden_listing(item: FollowupListing) -> FollowupListing:
    """A follow-up of a private incident as a list read by anyone shows it: no incident title, no service, and
    ``a follow-up of a private incident`` for its text (its number, owner, due date and state stay, so it is still
    chased). Other follow-ups come back unchanged."""
    if not item.private:
        return item
    return replace(
        item,
        incident_title=PRIVATE_TITLE,
        service=None,
        followup=replace(item.followup, text=PRIVATE_FOLLOWUP),
    )


def page_summary(incident: Incident, severity: str) -> str:
    """The one line a pager shows (PagerDuty's ``payload.summary``): ``INC-7 (sev1): <title>``, and for a
    private incident only ``private incident INC-7``."""
    if incident.private:
        return f"{PRIVATE_TITLE} {incident.incident_id}"
    return f"{incident.incident_id} ({severity}): {incident.title}"


class PrivatePublication(BotError):
    """A private incident's postmortem is not published where people outside it read (Confluence, Git)."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(
            f"{incident.incident_id} is a {PRIVATE_TITLE}: its postmortem is not published to Confluence or Git, "
            f"where people outside it would read it. `/incident {incident.incident_id} postmortem` in its channel "
            "uploads the draft there for its members."
        )
