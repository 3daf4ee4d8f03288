"""The postmortem's alert list: each alert episode with the labels that tell it apart, fired and cleared
in UTC, or "still firing"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.commands import Declare
from bot.domain.lifecycle import Stamp, declare
from bot.domain.model import EntryKind, Severity, TimelineEntry
from bot.domain.postmortem import AlertView, build_postmortem

START = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)


def alert_entry(kind: EntryKind, minute: int, fingerprint: str, instance: str) -> TimelineEntry:
    moment = START + timedelta(minutes=minute)
    data = {
        "fingerprint": fingerprint,
        "alert": "EdgeDown",
        "starts_at": (START + timedelta(minutes=3 if fingerprint == "a" else 8)).isoformat(),
        "labels": {"alertname": "EdgeDown", "job": "edge", "instance": instance},
    }
    return TimelineEntry(kind, moment, moment, "alertmanager", "Edge down", data)


def test_alert_episodes_are_listed_with_their_times() -> None:
    change = declare(Declare("Edge down", Severity.SEV1), 1, Stamp("U0ALICE", START, START, "alice"))
    entries = [
        *change.entries,
        alert_entry(EntryKind.ALERT_FIRED, 3, "a", "fra-1"),
        alert_entry(EntryKind.ALERT_FIRED, 8, "b", "ams-2"),
        alert_entry(EntryKind.ALERT_CLEARED, 18, "a", "fra-1"),
    ]
    data = build_postmortem(change.incident, entries, START + timedelta(hours=1))
    assert data.alerts == [
        AlertView("EdgeDown", "instance=fra-1", "2026-11-22 13:45 UTC", "2026-11-22 14:00 UTC"),
        AlertView("EdgeDown", "instance=ams-2", "2026-11-22 13:50 UTC", "still firing"),
    ]


def test_no_alerts_no_list() -> None:
    change = declare(Declare("Edge down", Severity.SEV1), 1, Stamp("U0ALICE", START, START, "alice"))
    assert build_postmortem(change.incident, list(change.entries), START + timedelta(hours=1)).alerts == []
