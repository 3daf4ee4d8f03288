"""The status page's standing plan over a stand-in unit of work: whatever an incident's title, description,
notes and resolve summary say, no effect it queues carries them; each command owes exactly its effect."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import AddNote, Declare, Resolve, StatuspageOpen, StatuspageUpdate
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Incident, Severity, TimelineEntry
from bot.integrations.statuspage.plan import StatuspagePlan
from bot.usecases.shared import Outcome

T0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
RESOLVE_TEXT = "All systems are back to normal."


class _Timeline:
    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []

    def list_entries(self, number: int, kinds: list[EntryKind], numbered: bool = False) -> list[TimelineEntry]:
        return [e for e in self.entries if e.kind in kinds]

    def append(self, number: int, entries: list[TimelineEntry]) -> None:
        self.entries.extend(entries)


class _Pages:
    def installation_id(self) -> str:
        return "inst-1"


class _Unit:
    """What the plan reads and writes of the transition's unit of work."""

    def __init__(self) -> None:
        self.timeline = _Timeline()
        self.pages = _Pages()


def _step(
    uow: _Unit, plan: StatuspagePlan, incident: Incident, action: Any, minutes: int
) -> tuple[Incident, list[Any]]:
    stamp = Stamp("U0ALICE", T0 + timedelta(minutes=minutes), T0 + timedelta(minutes=minutes))
    timeline = uow.timeline.list_entries(incident.number, [EntryKind.STATUSPAGE])
    decision = apply(incident, action, stamp, timeline)
    uow.timeline.entries.extend(decision.entries)  # saved before the standing plans run, as in the store
    effects = plan(uow, Outcome(decision.incident, decision.entries, incident))
    return decision.incident, list(effects)


secret = st.text(min_size=1, max_size=40).map(lambda text: f"SECRET-{text}")


@given(title=secret, description=secret, note=secret, summary=secret)
def test_no_effect_carries_the_title_description_notes_or_summary(
    title: str, description: str, note: str, summary: str
) -> None:
    uow, plan = _Unit(), StatuspagePlan(False, RESOLVE_TEXT)
    incident = declare(Declare(title, Severity.SEV1, description), 7, Stamp("U0ALICE", T0, T0)).incident
    queued: list[Any] = []
    for minutes, action in enumerate(
        [
            AddNote(note),
            StatuspageOpen("major", "service", "Checkout is failing\nDetails follow.", ("cmpcheckout1",)),
            StatuspageUpdate("We found the cause.", "identified"),
            AddNote(note),
            Resolve(summary),
        ],
        start=1,
    ):
        incident, effects = _step(uow, plan, incident, action, minutes)
        queued.extend(effects)
    sent = json.dumps([(e.kind, e.payload) for e in queued])
    assert "SECRET" not in sent
    assert [(e.kind, e.payload.get("body")) for e in queued] == [
        ("statuspage.open", "Checkout is failing\nDetails follow."),
        ("statuspage.update", "We found the cause."),
        ("statuspage.resolve", RESOLVE_TEXT),
    ]
    assert queued[0].payload == {
        "opened": 1,
        "marker": "incidentbot-inst-1-INC-7-1",
        "name": "Checkout is failing",
        "body": "Checkout is failing\nDetails follow.",
        "status": "investigating",
        "impact": "major",
        "components": ["cmpcheckout1"],
        "component_status": "partial_outage",
    }
    assert queued[2].payload == {
        "opened": 1,
        "marker": "incidentbot-inst-1-INC-7-1",
        "body": RESOLVE_TEXT,
        "components": ["cmpcheckout1"],
    }
    resolved_by_bot = [e for e in uow.timeline.entries if e.kind is EntryKind.STATUSPAGE and e.actor == "incidentbot"]
    assert [(e.text, e.data) for e in resolved_by_bot] == [(RESOLVE_TEXT, {"action": "resolve", "status": "resolved"})]


def test_with_confirmation_the_resolve_asks_in_the_channel_and_queues_no_resolve() -> None:
    uow, plan = _Unit(), StatuspagePlan(True, RESOLVE_TEXT)
    incident = declare(Declare("CDN 502s", Severity.SEV1), 7, Stamp("U0ALICE", T0, T0)).incident
    incident, _ = _step(uow, plan, incident, StatuspageOpen("minor", "-", "Slow", ("c1",)), 1)
    _, effects = _step(uow, plan, incident, Resolve("internal"), 2)
    assert [e.kind for e in effects] == ["slack.post_line"]
    assert effects[0].payload["text"] == (
        ":information_source: INC-7 is resolved, but its public status-page incident is still open. "
        "`/incident statuspage resolve [public text]` resolves it (without text, customers read the configured "
        "resolve sentence)."
    )


def test_a_resolve_without_an_open_status_page_queues_nothing() -> None:
    uow, plan = _Unit(), StatuspagePlan(False, RESOLVE_TEXT)
    incident = declare(Declare("CDN 502s", Severity.SEV1), 7, Stamp("U0ALICE", T0, T0)).incident
    _, effects = _step(uow, plan, incident, Resolve("internal"), 1)
    assert effects == []
