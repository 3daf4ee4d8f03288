"""Notes typed at the same moment by several people, on one incident: the timeline's order by time (what
``timeline``, the postmortem and the web view show) is the order of the entries' numbers (what the channel shows),
on both databases. Each command's entry time is read once it holds the incident; read before, a note could be
numbered after another yet dated before it (found with 10 threads: 63 of 300 neighbours out of order)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from bot.app import wire_usecases
from bot.domain.commands import AddNote, Declare
from bot.domain.model import Severity
from bot.store import IncidentStore
from bot.usecases.shared import Actor

WRITERS = 8
NOTES_EACH = 25


def test_notes_sent_at_once_are_dated_in_the_order_they_are_numbered(store: IncidentStore) -> None:
    """8 writers x 25 notes on INC-1 at once: every note recorded once, and sorted by number their times
    (occurred and recorded) never go backwards. The use cases read the real clock (the suite's ``usecases``
    fixture stands still)."""
    incidents = wire_usecases(store).incidents
    number = incidents.declare(Declare("Checkout 502s", Severity.SEV2), Actor("U0LEAD", "lead")).incident.number

    def write(writer: int) -> None:
        actor = Actor(f"U0WRITER{writer}", f"writer{writer}")
        for note in range(NOTES_EACH):
            incidents.transition(AddNote(f"writer {writer} note {note}"), actor, number=number)

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT text, occurred_at, recorded_at FROM timeline_entries WHERE kind = 'note' ORDER BY id")
        ).all()
    assert sorted(text for text, _occurred, _recorded in rows) == sorted(
        f"writer {w} note {n}" for w in range(WRITERS) for n in range(NOTES_EACH)
    )
    times = [(occurred, recorded) for _text, occurred, recorded in rows]
    out_of_order = [(i, times[i], times[i + 1]) for i in range(len(times) - 1) if times[i] > times[i + 1]]
    assert out_of_order == []
