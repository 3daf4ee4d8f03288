"""Follow-ups in the store on SQLite and PostgreSQL: migration 0007, their life cycle saved and read back,
and the list across incidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from bot.cli.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.model import EntryKind, FollowupState
from bot.errors import IncidentNotFound
from bot.store import open_store
from bot.store.engine import create_store_engine
from bot.store.migrate import upgrade
from bot.usecases.shared import Actor
from bot.usecases.wiring import UseCases, wire_usecases

ALICE = Actor("U0ALICE", "alice")
T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def run(usecases: UseCases, text: str, actor: Actor = ALICE) -> None:
    usecases.incidents.run(parse_command(text), actor)


class TestMigration:
    @pytest.fixture()
    def engine(self, database_url: str) -> Iterator[Engine]:
        created = create_store_engine(database_url)
        yield created
        created.dispose()

    def test_0007_keeps_existing_followups_open_without_a_date(self, engine: Engine, database_url: str) -> None:
        """A follow-up recorded at 0006 is, after 0007, open with no due date, never done, not exported."""
        upgrade(engine, "0006")
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO incidents (number, title, description, severity, status, declared_at, declared_by, "
                    "summary, version, created_at, updated_at) VALUES (1, 'CDN 502s', '', 'sev1', 'resolved', "
                    ":t, 'U0ALICE', '', 1, :t, :t)"
                ),
                {"t": T0},
            )
            incident_id = connection.execute(sa.text("SELECT id FROM incidents")).scalar_one()
            connection.execute(
                sa.text(
                    "INSERT INTO followups (incident_id, number, text, owner, created_at) "
                    "VALUES (:i, 1, 'canary deployment', 'U0CAROL', :t)"
                ),
                {"i": incident_id, "t": T0},
            )
        upgrade(engine)
        with engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT state, due, done_at, tracker_key, tracker_url FROM followups")
            ).one()
        assert tuple(row) == ("open", None, None, None, None)
        store = open_store(database_url)
        try:
            followup = wire_usecases(store).incidents.get(1).followups[0]
        finally:
            store.dispose()
        assert (followup.text, followup.owner, followup.state, followup.due) == (
            "canary deployment",
            "U0CAROL",
            FollowupState.OPEN,
            None,
        )


class TestLifeCycleSaved:
    def test_every_change_is_saved_and_read_back(self, usecases: UseCases, clock: ReplayClock) -> None:
        """Add with a due date, reassign, reschedule, done, reopen, drop: the state read back follows each step."""
        run(usecases, "declare sev1 CDN edge returning 502s")
        run(usecases, "INC-1 resolve")
        run(usecases, "INC-1 followup canary deployment <@U0CAROL|carol> --due +7d")
        incident = usecases.incidents.get(1)
        assert incident.followups[0].due == date(2026, 11, 29)  # the clock stands at 2026-11-22
        run(usecases, "INC-1 followup owner 1 <@U0DAVE|dave>")
        run(usecases, "INC-1 followup due 1 2026-12-15")
        clock.now = T0 + timedelta(days=3)
        run(usecases, "INC-1 followup done 1 canary stage is live")
        followup = usecases.incidents.get(1).followups[0]
        assert (followup.owner, followup.due, followup.state, followup.done_at) == (
            "U0DAVE",
            date(2026, 12, 15),
            FollowupState.DONE,
            T0 + timedelta(days=3),
        )
        with capture_logs() as logs:
            run(usecases, "INC-1 followup reopen 1")
        assert [(e["event"], e["incident"], e["followup"]) for e in logs if e["event"].startswith("incident_")] == [
            ("incident_followup_reopened", "INC-1", 1)
        ]
        run(usecases, "INC-1 followup drop 1 covered by the WAF test suite")
        followup = usecases.incidents.get(1).followups[0]
        assert (followup.state, followup.done_at) == (FollowupState.DROPPED, None)
        _, entries = usecases.incidents.timeline(1)
        assert [e.kind for e in entries][-6:] == [
            EntryKind.FOLLOWUP,
            EntryKind.FOLLOWUP_OWNER,
            EntryKind.FOLLOWUP_DUE,
            EntryKind.FOLLOWUP_DONE,
            EntryKind.FOLLOWUP_REOPENED,
            EntryKind.FOLLOWUP_DROPPED,
        ]
        assert usecases.incidents.get(1).status.value == "resolved"


class TestListing:
    def test_across_incidents_with_filters(self, usecases: UseCases) -> None:
        """No incident: every follow-up by incident and number; ``open_only`` and ``owner`` (id or name) filter."""
        run(usecases, "declare sev1 CDN edge returning 502s")
        run(usecases, "declare sev3 Slow checkout")
        run(usecases, "INC-2 followup cache warmup <@U0BOB|bob>")
        run(usecases, "INC-1 followup canary deployment <@U0CAROL|carol>")
        run(usecases, "INC-1 followup WAF tests <@U0BOB|bob>")
        run(usecases, "INC-1 followup done 2")

        def listed(**filters: object) -> list[tuple[str, int, str]]:
            found = usecases.followups.listing(**filters)  # type: ignore[arg-type]
            return [(i.incident_id, i.followup.number, i.followup.state.value) for i in found.items]

        assert listed() == [("INC-1", 1, "open"), ("INC-1", 2, "done"), ("INC-2", 1, "open")]
        assert listed(open_only=True) == [("INC-1", 1, "open"), ("INC-2", 1, "open")]
        assert listed(owner="bob") == [("INC-1", 2, "done"), ("INC-2", 1, "open")]
        assert listed(owner="U0BOB", open_only=True) == [("INC-2", 1, "open")]
        assert listed(number=1) == [("INC-1", 1, "open"), ("INC-1", 2, "done")]
        assert listed(owner="nobody") == []
        assert usecases.followups.listing().names == {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}

    def test_unknown_incident(self, usecases: UseCases) -> None:
        """Naming an incident that does not exist is refused, not an empty list."""
        with pytest.raises(IncidentNotFound) as refused:
            usecases.followups.listing(7)
        assert refused.value.user_message == "There is no incident INC-7. `/incident list` shows the open ones."
