"""Alert notifications in the pure core (bot.domain.alerts): parsing Alertmanager and Grafana payloads, the
severity of a group, declarations and titles, state changes, and the status message's alert list."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.alerts import (
    AlertLine,
    alert_list,
    group_declaration,
    group_title,
    highest_severity,
    parse_notification,
    severity_hint,
    severity_of,
)
from bot.domain.errors import PayloadError
from bot.domain.model import EntryKind, Severity, TimelineEntry
from tests.support.incidents import at, incident_with

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"


NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


def am_payload(name: str = "alertmanager_firing.json") -> dict[str, Any]:
    return dict(json.loads((PAYLOADS / name).read_text()))


class TestAlertmanager:
    def payload(self) -> dict[str, Any]:
        return am_payload()

    def test_real_payload_declares_from_labels_and_annotations(self) -> None:
        """summary -> title, severity critical -> sev1, service label, startsAt with nanoseconds -> UTC."""
        notification = parse_notification(self.payload(), NOW)
        alert = notification.alerts[0]
        declare_action = group_declaration(notification, [alert])
        assert declare_action.title == "CDN edge returning 502s above the error SLO"
        assert declare_action.severity is Severity.SEV1 and declare_action.service == "cdn-edge"
        assert alert.starts_at == datetime(2026, 11, 22, 13, 42, 7, 283749, tzinfo=UTC)
        assert alert.ends_at is None and alert.firing and alert.generator_url.startswith("http://prometheus")
        assert notification.source == "alertmanager" and notification.group_key == '{}:{alertname="EdgeHigh5xxRate"}'

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("startsAt", "0001-01-01T00:00:00Z"),  # Go's zero time: the tester's example
            ("startsAt", "1999-12-31T23:59:59.999999999Z"),
            ("startsAt", "2026-11-23T15:00:01Z"),  # one day and a second after NOW
            ("startsAt", "9999-12-31T23:59:59Z"),
            ("endsAt", "1970-01-01T00:00:00Z"),
            ("endsAt", "2030-01-01T00:00:00Z"),
        ],
    )
    def test_alert_times_out_of_range_are_refused_naming_the_field(self, field: str, value: str) -> None:
        """startsAt/endsAt before 2000-01-01 or more than a day after now: PayloadError naming alerts[0].<field>."""
        body = am_payload("alertmanager_group_resolved.json")
        body["alerts"][0][field] = value
        with pytest.raises(PayloadError, match=rf"`alerts\[0\]\.{field}` is out of range"):
            parse_notification(body, NOW)

    @pytest.mark.parametrize(
        ("starts_at", "expected"),
        [
            ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
            ("2026-11-23T15:00:00Z", datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),  # exactly one day ahead
        ],
    )
    def test_alert_times_at_the_bounds_are_accepted(self, starts_at: str, expected: datetime) -> None:
        """The bounds themselves are accepted; a firing alert's endsAt of Go's zero time means no end."""
        body = self.payload()
        body["alerts"][0]["startsAt"] = starts_at
        assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
        alert = parse_notification(body, NOW).alerts[0]
        assert (alert.starts_at, alert.ends_at) == (expected, None)

    @settings(max_examples=60, deadline=None)
    @given(st.datetimes(timezones=st.just(UTC)))
    def test_start_time_accepted_exactly_in_range(self, moment: datetime) -> None:
        """Any startsAt from year 1 to 9999 is accepted iff 2000-01-01 <= it <= NOW + 1 day."""
        body = self.payload()
        body["alerts"][0]["startsAt"] = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"
        in_range = datetime(2000, 1, 1, tzinfo=UTC) <= moment <= datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
        try:
            accepted = parse_notification(body, NOW).alerts[0].starts_at == moment
        except PayloadError as exc:
            assert "`alerts[0].startsAt` is out of range" in exc.user_message
            accepted = False
        assert accepted is in_range

    @pytest.mark.parametrize("incident_severity", ["sev1", "sev2", "sev3", "sev4"])
    @pytest.mark.parametrize(
        ("label", "alert_severity"),
        [("critical", "sev1"), ("page", "sev1"), ("error", "sev2"), ("warning", "sev3"), ("info", "sev4")],
    )
    def test_severity_hint_only_when_the_joining_alert_is_more_severe(
        self, incident_severity: str, label: str, alert_severity: str
    ) -> None:
        """A joining alert more severe than the incident gets the hint line naming both severities; else none."""
        incident, _ = incident_with(severity=Severity(incident_severity))
        fired = TimelineEntry(
            EntryKind.ALERT_FIRED,
            at(23),
            at(24),
            "alertmanager",
            "Disk almost full",
            data={"alert": "DiskFull", "labels": {"alertname": "DiskFull", "severity": label}},
        )
        hint = severity_hint(incident, [fired])
        if int(alert_severity[-1]) < int(incident_severity[-1]):
            assert hint == (
                f"Alert DiskFull ({label}) joined at 14:05 UTC; INC-1 is {incident_severity}: "
                f"raise it with `/incident severity {alert_severity}` if needed."
            )
        else:
            assert hint is None

    def test_alert_text_is_cleaned_like_typed_text(self) -> None:
        """Control, bidi-override and lone surrogate characters never reach a title or a label."""
        body = self.payload()
        body["commonAnnotations"]["summary"] = "edge\u202e 502s\x00 spike\ud800"
        body["alerts"][0]["labels"]["instance"] = "edge\x00-7"
        notification = parse_notification(body, NOW)
        assert group_declaration(notification, notification.alerts).title == "edge 502s spike"
        assert notification.alerts[0].labels["instance"] == "edge-7"

    def test_title_falls_back_to_the_group_labels(self) -> None:
        """Without commonAnnotations.summary the title is the group labels, sorted, as k=v."""
        body = am_payload("alertmanager_group_resolved.json")
        del body["commonAnnotations"]["summary"]
        assert group_title(parse_notification(body, NOW)) == "alertname=EdgeHigh5xxRate, region=eu-central"

    def test_severity_is_the_highest_of_the_group(self) -> None:
        """A critical and a warning alert in one group: sev1."""
        notification = parse_notification(am_payload("alertmanager_group_resolved.json"), NOW)
        assert [severity_of(a) for a in notification.alerts] == [Severity.SEV1, Severity.SEV3]
        assert highest_severity(notification.alerts) is Severity.SEV1
        assert highest_severity(notification.alerts[1:]) is Severity.SEV3

    @pytest.mark.parametrize(
        ("label", "severity"),
        [
            ("critical", Severity.SEV1),
            ("error", Severity.SEV2),
            ("high", Severity.SEV2),
            ("warning", Severity.SEV3),
            ("info", Severity.SEV4),
            ("", Severity.SEV4),
            ("P1", Severity.SEV1),
            ("SEV-2", Severity.SEV2),
            ("sev3", Severity.SEV3),
            ("P0", Severity.SEV1),
            ("sev0", Severity.SEV1),
            ("SEV-0", Severity.SEV1),
            ("s0", Severity.SEV1),
            ("sev5", Severity.SEV4),
            ("P9", Severity.SEV4),
            (" critical ", Severity.SEV1),
            ("[SEV1]", Severity.SEV1),
            ("(P2)", Severity.SEV2),
            ("page", Severity.SEV1),
            ("crit", Severity.SEV1),
            ("fatal", Severity.SEV1),
            ("emergency", Severity.SEV1),
            ("disaster", Severity.SEV1),
            ("Page", Severity.SEV1),
            (" CRIT ", Severity.SEV1),
            ("[fatal]", Severity.SEV1),
            ("EMERGENCY", Severity.SEV1),
            ("pager", Severity.SEV4),
        ],
    )
    def test_severity_map(self, label: str, severity: Severity) -> None:
        """The default label map, then severity spellings (P1, SEV-2; P0/sev0 are the worst: sev1), else sev4."""
        body = self.payload()
        body["alerts"][0]["labels"]["severity"] = label
        assert severity_of(parse_notification(body, NOW).alerts[0]) is severity

    def test_custom_map_wins(self) -> None:
        """A configured map (INCIDENT_ALERT_SEVERITY_MAP) overrides the defaults."""
        alert = parse_notification(self.payload(), NOW).alerts[0]
        assert severity_of(alert, {"critical": Severity.SEV2}) is Severity.SEV2

    def test_a_resolved_alert_reports_both_its_state_changes(self) -> None:
        """resolved = fired at startsAt + cleared at endsAt; a firing alert only its firing."""
        notification = parse_notification(am_payload("alertmanager_group_resolved.json"), NOW)
        changes = [(c.alert.fingerprint, c.state, c.occurred_at) for c in notification.state_changes()]
        assert changes == [
            ("c4e2a6d1b7f30e95", "fired", datetime(2026, 11, 22, 13, 42, 7, 283749, tzinfo=UTC)),
            ("0b9d3e55a1c2f478", "fired", datetime(2026, 11, 22, 13, 44, 37, 4512, tzinfo=UTC)),
            ("0b9d3e55a1c2f478", "cleared", datetime(2026, 11, 22, 14, 38, 52, 112044, tzinfo=UTC)),
            ("c4e2a6d1b7f30e95", "cleared", datetime(2026, 11, 22, 14, 40, 7, 283749, tzinfo=UTC)),
        ]
        firing = parse_notification(self.payload(), NOW).state_changes()
        assert [(c.state, c.occurred_at) for c in firing] == [
            ("fired", datetime(2026, 11, 22, 13, 42, 7, 283749, tzinfo=UTC))
        ]

    def test_resolved_without_ends_at_clears_at_receipt(self) -> None:
        """A resolved alert whose endsAt is Go's zero time cleared when it was received."""
        body = self.payload()
        body["alerts"][0]["status"] = "resolved"
        assert parse_notification(body, NOW).alerts[0].ends_at == NOW

    def test_grafana_payload_keeps_links_and_values(self) -> None:
        """Grafana's version 1: panel, dashboard and silence links and the query values are kept."""
        notification = parse_notification(am_payload("grafana_firing.json"), NOW)
        alert = notification.alerts[0]
        assert notification.source == "grafana" and alert.values == {"A": 93.41, "C": 1.0}
        assert alert.links["panel_url"].endswith("&viewPanel=4")
        assert alert.links["silence_url"].startswith("https://grafana.example.com/alerting/silence/new?")
        assert alert.links["dashboard_url"].startswith("https://grafana.example.com/d/checkout-overview?")
        assert "image_url" not in alert.links

    @pytest.mark.parametrize(
        ("mutate", "message"),
        [
            (lambda b: b.update(version="3"), "version"),
            (lambda b: b.pop("groupKey"), "groupKey"),
            (lambda b: b.update(alerts=[]), "alerts"),
            (lambda b: b["alerts"][0].update(status="pending"), "alerts\\[0\\].status"),
            (lambda b: b["alerts"][0].pop("fingerprint"), "alerts\\[0\\].fingerprint"),
            (lambda b: b["alerts"][0].update(fingerprint="f" * 129), "alerts\\[0\\].fingerprint"),
            (lambda b: b["alerts"][0].update(startsAt="yesterday"), "alerts\\[0\\].startsAt"),
            (lambda b: b["alerts"][0].update(startsAt="0001-01-01T00:00:00+05:00"), "alerts\\[0\\].startsAt"),
            (lambda b: b["alerts"][0].update(labels={"a": 1}), "alerts\\[0\\].labels"),
            (lambda b: b.update(truncatedAlerts=-1), "truncatedAlerts"),
            (lambda b: b.update(version="1") or b["alerts"][0].update(values={"A": 10**400}), "alerts\\[0\\].values"),
            (
                lambda b: b.update(version="1") or b["alerts"][0].update(values={"A": float("inf")}),
                "alerts\\[0\\].values",
            ),
            (lambda b: b.update(version="1") or b["alerts"][0].update(values={"A": "93"}), "alerts\\[0\\].values"),
            (lambda b: b.update(title=7), "title"),
        ],
    )
    def test_malformed_payloads_name_the_problem(self, mutate: Any, message: str) -> None:
        """Each shape error says which field is wrong."""
        body = self.payload()
        mutate(body)
        with pytest.raises(PayloadError, match=message):
            parse_notification(body, NOW)


class TestAlertList:
    def entry(self, kind: EntryKind, minutes: float, fingerprint: str, starts: float, **labels: str) -> TimelineEntry:
        data = {
            "fingerprint": fingerprint,
            "alert": "EdgeDown",
            "starts_at": at(starts).isoformat(),
            "labels": {"alertname": "EdgeDown", "job": "edge", **labels},
        }
        return TimelineEntry(kind, at(minutes), at(minutes), "alertmanager", "Edge down", data)

    def test_episodes_with_the_labels_that_differ(self) -> None:
        """Two alerts, one firing twice: three lines in firing order, labels shared by all left out."""
        fired, cleared = EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED
        entries = [
            self.entry(fired, 0, "a", 0, instance="fra-1"),
            self.entry(fired, 2, "b", 2, instance="ams-2"),
            self.entry(cleared, 10, "a", 0, instance="fra-1"),
            self.entry(fired, 20, "a", 20, instance="fra-1"),
            TimelineEntry(EntryKind.NOTE, at(21), at(21), "U0ALICE", "looking"),
        ]
        assert alert_list(entries) == [
            AlertLine("EdgeDown", "instance=fra-1", at(0), at(10)),
            AlertLine("EdgeDown", "instance=ams-2", at(2), None),
            AlertLine("EdgeDown", "instance=fra-1", at(20), None),
        ]

    def test_a_clear_whose_firing_is_elsewhere_uses_starts_at(self) -> None:
        """An episode with only its clear on this timeline is listed from its startsAt."""
        entries = [self.entry(EntryKind.ALERT_CLEARED, 30, "a", 5)]
        assert alert_list(entries) == [AlertLine("EdgeDown", "", at(5), at(30))]
