"""Structured logs: one snake_case event per transition, carrying the incident id and Slack ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from structlog.testing import capture_logs

from bot.app import wire_usecases
from bot.domain.grammar import parse_command
from bot.store import open_store
from bot.usecases.shared import Actor


class TestTransitionLogs:
    def test_each_transition_logs_one_event_with_ids(self, tmp_path: Path) -> None:
        """Declare, assemble and resolve log incident_declared, incident_assembled, incident_resolved."""
        usecases = wire_usecases(
            open_store(f"sqlite:///{tmp_path / 'logs.db'}"), clock=lambda: datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
        )
        alice = Actor("U0ALICE", "alice")
        with capture_logs() as logs:
            usecases.incidents.run(parse_command("declare sev2 Checkout latency"), alice)
            usecases.incidents.bind_channel(1, "C0INC1")
            usecases.incidents.run(parse_command("assemble <@U0BOB>:networking"), alice, channel_id="C0INC1")
            usecases.incidents.run(parse_command("resolve fixed"), alice, channel_id="C0INC1")
        transitions = [entry for entry in logs if str(entry["event"]).startswith("incident_")]
        assert [e["event"] for e in transitions] == ["incident_declared", "incident_assembled", "incident_resolved"]
        assert all(e["incident"] == "INC-1" and e["actor"] == "U0ALICE" for e in transitions)
        assert transitions[1]["channel"] == "C0INC1"
        assert transitions[2]["status"] == "resolved"
