"""An alert state change applied to an incident: one alert_fired or alert_cleared entry carrying the
alert's summary as text and its data (fingerprint, labels, links) unchanged; the incident is unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.commands import Declare, RecordAlert
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Severity, TimelineEntry

START = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
DATA = {
    "fingerprint": "c4e2a6d1b7f30e95",
    "alert": "EdgeDown",
    "starts_at": "2026-11-22T13:40:00+00:00",
    "labels": {"alertname": "EdgeDown", "instance": "fra-1"},
    "generator_url": "http://prometheus.example.com:9090/graph",
}


@pytest.mark.parametrize(("cleared", "kind"), [(False, EntryKind.ALERT_FIRED), (True, EntryKind.ALERT_CLEARED)])
@pytest.mark.parametrize("minutes", [-2, 0, 30])  # an alert may have fired before the declaration
def test_one_entry_per_state_change(cleared: bool, kind: EntryKind, minutes: int) -> None:
    incident = declare(Declare("Edge down", Severity.SEV2), 4, Stamp("U0ALICE", START, START)).incident
    moment = START + timedelta(minutes=minutes)
    applied = apply(incident, RecordAlert(cleared, "Edge down in fra-1", DATA), Stamp("alertmanager", moment, START))
    assert applied.entries == (TimelineEntry(kind, moment, START, "alertmanager", "Edge down in fra-1", DATA),)
    assert (applied.incident.status, applied.incident.severity, applied.incident.title) == (
        incident.status,
        Severity.SEV2,
        "Edge down",
    )
