"""What the status page is owed: the standing plan queuing a ``statuspage.*`` effect in the transaction of
every ``statuspage`` entry, and resolving the status page with the incident.

``bot.compose`` adds it to the standing plans when STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID are set, so
Slack, ``incidentbot run`` and every other surface publish the same way, and an effect is queued if and only
if its entry committed.

Effects (kind, payload), each of the incident (the ``statuspage`` lane: one at a time, in order):

* ``statuspage.open``: ``opened`` (k: this is INC-n's k-th status-page incident, counted in recording order),
  ``marker`` (``incidentbot-<installation id>-INC-<n>-<k>``), ``name``, ``body``, ``status`` (investigating),
  ``impact``, ``components`` (ids) and ``component_status`` (``bot.domain.statuspage.COMPONENT_STATUS_OF_IMPACT``);
* ``statuspage.update``: ``opened``, ``marker``, ``body``, ``status``;
* ``statuspage.resolve``: ``opened``, ``marker``, ``body``, ``components`` (set to operational).

``opened`` and ``marker`` of an update or resolve are those of the open it follows, so each goes to that open's
own Statuspage incident, whatever was delivered before it (a later open, a retried dead item).

Slack's references in the typed text are written as people typed them (``<@U0BOB|bob>`` is ``@bob``, a
pasted link its URL: ``bot.domain.timeline.plain_references``). Only the ``statuspage`` entries' own text and
data go into a payload: never the incident's title, notes or
resolve summary. When the incident resolves while its status page is open, the plan records a
``statuspage`` resolve entry by the bot with the configured public sentence and queues its resolve; with
``confirm`` (STATUSPAGE_CONFIRM_RESOLVE) it asks in the channel instead (``statuspage resolve`` resolves it).
"""

from __future__ import annotations

from typing import Any

import structlog

from bot.domain.effects import Effect
from bot.domain.model import EntryKind, Incident, Status, TimelineEntry, format_incident_id
from bot.domain.statuspage import COMPONENT_STATUS_OF_IMPACT, MAX_NAME_CHARS, StatuspageState, statuspage_state
from bot.domain.timeline import plain_references
from bot.usecases.shared import Outcome

log = structlog.get_logger("incidentbot.statuspage")

LANE = "statuspage"
OPEN, UPDATE, RESOLVE = f"{LANE}.open", f"{LANE}.update", f"{LANE}.resolve"
BOT = "incidentbot"
SLACK_LINE = "slack.post_line"
"""The Slack effect of one line in the incident's channel (``bot.slack.delivery.SlackEffect.POST_LINE``),
named by its kind: effects are plain data, and an adapter never imports another."""


def statuspage_marker(installation_id: str, number: int, opened: int) -> str:
    """``incidentbot-<installation id>-INC-<n>-<opened>``: finds INC-n's ``opened``-th status-page incident
    among the page's unresolved ones; two installations or two openings never share one."""
    return f"incidentbot-{installation_id}-{format_incident_id(number)}-{opened}"


class StatuspagePlan:
    """A standing plan (``bot.usecases.shared.StandingPlan``). ``confirm``: ask before resolving the status
    page with the incident; ``resolve_text``: the public sentence of that resolve. ``uow`` is the
    transition's unit of work: its ``timeline`` (list and append ``statuspage`` entries) and
    ``pages.installation_id()`` are used."""

    def __init__(self, confirm: bool, resolve_text: str) -> None:
        self.confirm = confirm
        self.resolve_text = resolve_text

    def __call__(self, uow: Any, outcome: Outcome) -> list[Effect]:
        incident = outcome.incident
        ours = [e for e in outcome.entries if e.kind is EntryKind.STATUSPAGE]
        resolved_now = (
            outcome.previous is not None
            and outcome.previous.status is not Status.RESOLVED
            and incident.status is Status.RESOLVED
        )
        if not ours and not resolved_now:
            return []
        entries = uow.timeline.list_entries(incident.number, kinds=[EntryKind.STATUSPAGE], numbered=True)
        state = statuspage_state(entries)  # in recording order: ours, recorded now, are the latest
        opened = max(state.opened, 1)
        marker = statuspage_marker(str(uow.pages.installation_id()), incident.number, opened)
        effects = [self._effect(incident, entry, state, marker, opened) for entry in ours]
        if resolved_now and not ours and state.open:
            if self.confirm:
                log.info("statuspage_resolve_asked", incident=incident.incident_id)
                return [*effects, _ask(incident)]
            resolved = outcome.entries[-1]  # the resolve: the status page is resolved at its time
            entry = TimelineEntry(
                EntryKind.STATUSPAGE,
                resolved.occurred_at,
                resolved.recorded_at,
                BOT,
                self.resolve_text,
                {"action": "resolve", "status": "resolved"},
            )
            uow.timeline.append(incident.number, [entry])
            log.info("statuspage_resolve_queued", incident=incident.incident_id, marker=marker)
            effects.append(self._effect(incident, entry, state, marker, opened))
        return effects

    @staticmethod
    def _effect(incident: Incident, entry: TimelineEntry, state: StatuspageState, marker: str, opened: int) -> Effect:
        data = entry.data
        action = data.get("action")
        plain = plain_references(dict(data.get("names") or {}))  # Slack's <@U0BOB|bob>, <https://x|x> as typed
        if action == "open":
            impact = str(data.get("impact"))
            payload: dict[str, Any] = {
                "opened": opened,
                "marker": marker,
                # A link written out ("label (URL)") may lengthen a name checked at 255: cut, never refused later.
                "name": plain(str(data.get("name")))[:MAX_NAME_CHARS],
                "body": plain(entry.text),
                "status": str(data.get("status")),
                "impact": impact,
                "components": list(data.get("components") or []),
                "component_status": COMPONENT_STATUS_OF_IMPACT.get(impact, "operational"),
            }
            return Effect(OPEN, payload, incident.number)
        if action == "resolve":
            return Effect(
                RESOLVE,
                {
                    "opened": opened,
                    "marker": marker,
                    "body": plain(entry.text),
                    "components": list(state.component_ids),
                },
                incident.number,
            )
        payload = {"opened": opened, "marker": marker, "body": plain(entry.text), "status": str(data.get("status"))}
        return Effect(UPDATE, payload, incident.number)


def _ask(incident: Incident) -> Effect:
    text = (
        f":information_source: {incident.incident_id} is resolved, but its public status-page incident is still "
        "open. `/incident statuspage resolve [public text]` resolves it (without text, customers read the "
        "configured resolve sentence)."
    )
    return Effect(SLACK_LINE, {"text": text}, incident.number)
