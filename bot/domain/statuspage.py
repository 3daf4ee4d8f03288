"""The public status page (Atlassian Statuspage): what a person may publish, decided on the incident's
``statuspage`` entries.

Only text a person typed in a ``statuspage`` command is ever published: the status-page incident's name is
the first line of the ``open`` text, every body is the text typed (or, for a resolve nobody worded, the
configured public sentence). The incident's title, notes and resolve summary never are.

The vocabulary is Statuspage's REST API v1 (https://developer.statuspage.io, "Create an incident" and
"Update an incident"; the same schema as generated in alissonlinneker/statuspage-php-sdk,
docs/Model/PostPagesPageIdIncidentsIncident.md): ``status`` investigating, identified, monitoring, resolved;
``impact_override`` none, minor, major, critical; a component's status operational, degraded_performance,
partial_outage, major_outage, under_maintenance; ``name`` at most 255 characters; ``body`` at most 25,000.

The state of an incident's status page is the fold of its ``statuspage`` entries (``statuspage_state``) in
the order they were recorded (``recorded_at``, then their place in the record), never by the time they
claim to have happened: a ``resolve --at 2m ago`` whose status-page resolve the bot records now comes after
the open typed before it. Open after an ``open``, closed after a ``resolve``. ``open`` is refused while one is
open (one status-page incident per incident at a time), ``update`` and ``resolve`` while none is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.commands import StatuspageChange, StatuspageOpen, StatuspageUpdate
from bot.domain.errors import TransitionError, UsageError
from bot.domain.model import EntryKind, Incident, TimelineEntry
from bot.domain.timeline import plain_references


class EntryMaker(Protocol):
    """``Stamp.entry``: an entry of ``kind`` with ``text`` and ``data``, stamped with the actor and times."""

    def __call__(self, kind: EntryKind, text: str = "", **data: Any) -> TimelineEntry: ...


IMPACTS = ("none", "minor", "major", "critical")
"""Statuspage's ``impact_override`` values, least first."""
OPEN_STATUSES = ("investigating", "identified", "monitoring")
"""The statuses of an unresolved realtime incident, as ``statuspage update`` takes them."""
RESOLVED = "resolved"
COMPONENT_STATUS_OF_IMPACT: Mapping[str, str] = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
}
"""The status each affected component is given while the status-page incident is open, by its impact; on
resolve every affected component is ``operational`` again."""
COMPONENT_SEVERITY = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
"""Component statuses, least severe first: a component listed by several open status-page incidents shows the
worst of them."""
OPEN_NOT_CREATED = "was never created on Statuspage (its open was refused or given up)"
"""Part of the reason of an update buried because its open is not on Statuspage: the open's own notice told
the channel, so its updates tell no more (``bot.slack.delivery.dead_statuspage_notice``)."""
MAX_NAME_CHARS = 255
"""Statuspage: "Incident Name. There is a maximum limit of 255 characters"."""
MAX_BODY_CHARS = 25_000
"""Statuspage: "The initial message ... There is a maximum limit of 25000 characters"."""
DEFAULT_RESOLVE_TEXT = "This incident has been resolved."
"""The public body of a status-page resolve nobody worded (the incident resolved): a fixed sentence,
never the resolve summary (STATUSPAGE_RESOLVE_TEXT overrides it)."""
SERVICE_WORDS = ("service", "-")
"""``<components>`` words meaning the incident's own service's components."""
_COMPONENT_ID = re.compile(r"[A-Za-z0-9]{1,64}", re.ASCII)
_TYPED_COMPONENT_ID = re.compile(r"[a-z0-9]{12}", re.ASCII)
"""A component id as Statuspage makes them (``8kbf7d35c070``: 12 lower-case letters and digits, like its page
ids), the only shape a typed ``<components>`` word is taken as an id in: a forgotten components list
(``statuspage open major Payments are failing``) or a misspelt service (``checkout``) is refused at the command
instead of Statuspage refusing the create later (422)."""
_UNLABELLED_REFERENCE = re.compile(r"<([@#])([A-Z0-9]+)>")
"""A Slack user or channel reference without its name (``<@U0BOB>``, ``<#C0GENERAL>``): the status page would
show the bare id."""


def parse_component_id(text: str) -> str | None:
    """``text`` when it reads as a Statuspage component id (1 to 64 ASCII letters and digits, such as
    ``8kbf7d35c070``), else None."""
    return text if _COMPONENT_ID.fullmatch(text) else None


@dataclass(frozen=True)
class StatuspageState:
    """An incident's status page as its entries tell it: ``open`` (an ``open`` not yet resolved), its
    ``impact``, ``status`` (investigating, identified, monitoring; resolved once closed) and
    ``component_ids``; ``opened`` counts the ``open`` entries so far."""

    open: bool = False
    impact: str = "none"
    status: str = ""
    component_ids: tuple[str, ...] = ()
    opened: int = 0


def statuspage_state(entries: Sequence[TimelineEntry]) -> StatuspageState:
    """The fold of ``entries`` (any kinds, any order; only ``statuspage`` ones count) in recording order:
    ``recorded_at``, then ``TimelineEntry.number`` (entries not stored yet after stored ones), then the order
    given."""
    order = sorted(
        enumerate(entries),
        key=lambda pair: (
            pair[1].recorded_at,
            pair[1].number is None,
            pair[1].number or 0,
            pair[0],
        ),
    )
    entries = [entry for _, entry in order]
    state = StatuspageState()
    for entry in entries:
        if entry.kind is not EntryKind.STATUSPAGE:
            continue
        action = entry.data.get("action")
        if action == "open":
            state = StatuspageState(
                True,
                str(entry.data.get("impact") or "none"),
                str(entry.data.get("status") or "investigating"),
                tuple(entry.data.get("components") or ()),
                state.opened + 1,
            )
        elif action == "update" and state.open:
            state = StatuspageState(
                True, state.impact, str(entry.data.get("status") or state.status), state.component_ids, state.opened
            )
        elif action == "resolve" and state.open:
            state = StatuspageState(False, state.impact, RESOLVED, state.component_ids, state.opened)
    return state


def public_name(text: str) -> str:
    """The status-page incident's name: the first line of the ``open`` text, stripped. Raises UsageError
    when it is longer than Statuspage takes (255 characters) as customers read it (Slack's ``<@U0BOB|bob>``
    counts as the 4 characters of ``@bob``, ``bot.domain.timeline.plain_references``)."""
    name = text.strip().split("\n", 1)[0].strip()
    shown = len(plain_references({})(name))
    if shown > MAX_NAME_CHARS:
        raise UsageError(
            f"The status page's incident name (the first line) is {shown} characters; Statuspage takes at most "
            f"{MAX_NAME_CHARS}. Put a short name on the first line and the details on the next lines."
        )
    return name


def check_body(text: str) -> str:
    """``text`` stripped, when Statuspage takes it as a body (1 to 25,000 characters); raises UsageError."""
    body = text.strip()
    if not body:
        raise UsageError("The status page needs the public text to publish.")
    bare = _UNLABELLED_REFERENCE.search(body)
    if bare is not None:
        what = "person" if bare.group(1) == "@" else "channel"
        shown = f"{bare.group(1)}{bare.group(2)[:20]}"
        raise UsageError(
            f"`{bare.group(0)[:30]}` would reach the status page as the bare Slack id {shown}: "
            f"write the {what}'s name instead (customers cannot read Slack ids)."
        )
    if len(body) > MAX_BODY_CHARS:
        raise UsageError(
            f"That text is {len(body):,} characters; Statuspage takes at most {MAX_BODY_CHARS:,} in one update."
        )
    return body


def resolve_components(typed: str, service: str | None, components_of: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The component ids ``typed`` names: ``service`` or ``-`` for the incident's ``service``'s components;
    else a comma list where each item is a catalogued service (its components) or a component id.

    ``components_of`` maps each catalogued service to its ``statuspage_components``. Raises UsageError when
    the incident has no service (or it has no components), or an item is neither a service nor shaped like a
    Statuspage component id (12 lower-case letters and digits).
    """
    words = [w.strip() for w in typed.split(",") if w.strip()]
    if not words:
        raise UsageError(
            "Name the affected components: `service`, or component ids or service names separated by commas."
        )
    found: list[str] = []
    for word in words:
        if word.lower() in SERVICE_WORDS:
            if service is None:
                raise UsageError(
                    "This incident has no service yet: `service <name>` first, or name the components "
                    "(component ids or catalogued services, separated by commas)."
                )
            own = tuple(components_of.get(service, ()))
            if not own:
                raise UsageError(
                    f"Service {service} has no `statuspage_components` in the service catalogue (slos.yml): add them, "
                    "or name the component ids."
                )
            found.extend(own)
        elif word in components_of:
            if not components_of[word]:
                raise UsageError(f"Service {word} has no `statuspage_components` in the service catalogue (slos.yml).")
            found.extend(components_of[word])
        elif _TYPED_COMPONENT_ID.fullmatch(word):
            found.append(word)
        else:
            raise UsageError(
                f"`{word[:40]}` is neither a catalogued service nor a Statuspage component id (12 lower-case letters "
                "and digits, e.g. 8kbf7d35c070). Name the components first: `statuspage open <impact> "
                "<service|components> <public text>`."
            )
    return tuple(dict.fromkeys(found))


def record_statuspage(
    incident: Incident, action: StatuspageChange, timeline: Sequence[TimelineEntry], entry: EntryMaker
) -> TimelineEntry:
    """The ``statuspage`` entry ``action`` records, decided on ``timeline`` (the incident's ``statuspage``
    entries, oldest first); ``entry`` is the stamp's entry maker. Its text is the public body; its data
    ``action`` (open, update, resolve), ``status``, and for ``open`` also ``name``, ``impact`` and
    ``components`` (ids). Raises TransitionError (one already open; none open) or UsageError (an unknown
    impact or status, a name or body Statuspage refuses, no components)."""
    state = statuspage_state(timeline)
    ident = incident.incident_id
    if isinstance(action, StatuspageOpen):
        if state.open:
            raise TransitionError(
                f"{ident} already has an open status-page incident: `statuspage update <text>` adds to it, "
                "`statuspage resolve` closes it."
            )
        if action.impact not in IMPACTS:
            raise UsageError(f"`{action.impact[:20]}` is not an impact; use one of {', '.join(IMPACTS)}.")
        if not action.component_ids:
            raise UsageError("Name at least one affected component.")
        body = check_body(action.text)
        return entry(
            EntryKind.STATUSPAGE,
            body,
            action="open",
            status="investigating",
            name=public_name(body),
            impact=action.impact,
            components=list(action.component_ids),
        )
    if not state.open:
        raise TransitionError(
            f"{ident} has no open status-page incident: `statuspage open <impact> <components> <text>` opens one."
        )
    if isinstance(action, StatuspageUpdate):
        if action.status is not None and action.status not in OPEN_STATUSES:
            raise UsageError(f"`{action.status[:20]}` is not a status; use one of {', '.join(OPEN_STATUSES)}.")
        return entry(
            EntryKind.STATUSPAGE, check_body(action.text), action="update", status=action.status or state.status
        )
    return entry(EntryKind.STATUSPAGE, check_body(action.text), action="resolve", status=RESOLVED)
