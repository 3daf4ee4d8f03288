"""Timeline entry numbers (issue 16) on SQLite and PostgreSQL: the order entries were recorded in, the same
whichever way the store reads them (whole timeline, the latest few, some kinds), backdated entries included."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import open_usecases
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind
from bot.domain.slo import EMPTY_CATALOG
from bot.usecases.shared import Actor


def test_numbers_follow_recording_order_in_every_read(database_url: str) -> None:
    usecases = open_usecases(database_url, lambda: datetime.now(UTC), EMPTY_CATALOG)
    try:
        for text in (
            "declare sev3 Search slow --at 30m ago",
            "INC-1 note first typed, happened 10 min ago --at 10m ago",
            "INC-1 note second typed, happened 20 min ago --at 20m ago",
            "INC-1 note third typed, happened now",
        ):
            usecases.incidents.run(parse_command(text, names=True), Actor("alice"))
        _, whole = usecases.incidents.timeline(1)
        assert [(e.number, e.text) for e in whole] == [
            (1, "Search slow"),
            (3, "second typed, happened 20 min ago"),
            (2, "first typed, happened 10 min ago"),
            (4, "third typed, happened now"),
        ]
        _, latest, total = usecases.incidents.recent_timeline(1, limit=2)
        assert ([(e.number, e.text) for e in latest], total) == (
            [(2, "first typed, happened 10 min ago"), (4, "third typed, happened now")],
            4,
        )
        with usecases.transactions.read() as uow:
            notes = uow.timeline.list_entries(1, kinds=(EntryKind.NOTE,), numbered=True)
            unnumbered = uow.timeline.list_entries(1, kinds=(EntryKind.NOTE,))
        assert [e.number for e in notes] == [3, 2, 4]
        assert [e.number for e in unnumbered] == [None, None, None]
    finally:
        usecases.store.dispose()
