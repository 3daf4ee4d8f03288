"""Alert notifications in the pure core: each field of a webhook body, the refusals word for word, what a
group declares, the truncation note, what a timeline entry keeps, the severity hint and the alert list.

Expected values are written out from the senders' payload definitions (bot/domain/alerts.py's module
docstring) and the README, never read from the module.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.alerts import (
    AlertLine,
    Notification,
    alert_list,
    entry_data,
    group_declaration,
    group_title,
    highest_severity,
    parse_notification,
    severity_hint,
    severity_of_label,
    truncation_note,
)
from bot.domain.commands import Declare
from bot.domain.errors import PayloadError
from bot.domain.model import EntryKind, Incident, Severity, Status, TimelineEntry

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 22, 13, 40, tzinfo=UTC)
FIRED, CLEARED = EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def wire_alert(**overrides: Any) -> dict[str, Any]:
    """One firing Alertmanager alert, as webhook.go marshals it; ``overrides`` replace (None: remove) fields."""
    item: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "warning"},
        "annotations": {"summary": "Disk almost full on db-1", "description": "/var is 97% full."},
        "startsAt": "2026-11-22T13:40:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=disk",
        "fingerprint": "5f0d2b9c8e7a6143",
    }
    for key, value in overrides.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def body(*alerts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A version 4 body of ``alerts`` (one default alert if none); ``overrides`` replace (None: remove) fields."""
    result: dict[str, Any] = {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": "firing",
        "receiver": "incidentbot",
        "alerts": [copy.deepcopy(a) for a in alerts] or [wire_alert()],
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "warning"},
        "commonAnnotations": {"summary": "Disk almost full on db-1", "description": "/var is 97% full."},
        "externalURL": "http://alertmanager.example.com:9093",
        "truncatedAlerts": 0,
    }
    for key, value in overrides.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def refusal(payload: object) -> str:
    with pytest.raises(PayloadError) as caught:
        parse_notification(payload, NOW)
    return caught.value.user_message


class TestRefusalsWordForWord:
    """Each refusal names the field, in the words the webhook's 422 answer carries."""

    @pytest.mark.parametrize("payload", [[], "4", None, 4])
    def test_a_body_that_is_no_object(self, payload: object) -> None:
        """A JSON array, string, null or number: the versions the bot reads are named."""
        assert refusal(payload) == (
            "The body must be a JSON object (Alertmanager webhook version 4, or Grafana version 1)."
        )

    @pytest.mark.parametrize("group_key", [None, "", 7, ["a"]])
    def test_group_key_must_be_a_non_empty_string(self, group_key: object) -> None:
        """Missing, empty or not a string."""
        payload = body(groupKey=None) if group_key is None else body(groupKey=group_key)
        if group_key == "":
            payload["groupKey"] = ""
        assert refusal(payload) == ("`groupKey` must be a non-empty string (Alertmanager and Grafana always send it).")

    @pytest.mark.parametrize("alerts", [[], {}, "x"])
    def test_alerts_must_be_a_non_empty_list(self, alerts: object) -> None:
        payload = body()
        payload["alerts"] = alerts
        assert refusal(payload) == "`alerts` must be a non-empty list."

    @pytest.mark.parametrize("truncated", [-1, True, "3", 1.5])
    def test_truncated_alerts_must_be_a_whole_number(self, truncated: object) -> None:
        """Negative, a boolean, a string or a fraction."""
        assert refusal(body(truncatedAlerts=truncated)) == "`truncatedAlerts` must be a whole number."

    @pytest.mark.parametrize("field", ["groupLabels", "commonLabels", "commonAnnotations"])
    @pytest.mark.parametrize("value", [["a"], {"a": 1}, "a=b"])
    def test_group_maps_must_hold_strings(self, field: str, value: object) -> None:
        assert refusal(body(**{field: value})) == f"`{field}` must be an object of strings."

    @pytest.mark.parametrize("field", ["title", "message"])
    def test_grafana_title_and_message_must_be_strings(self, field: str) -> None:
        assert refusal(body(version="1", **{field: 7})) == f"`{field}` must be a string."

    @pytest.mark.parametrize("item", [None, "firing", ["firing"]])
    def test_an_alert_that_is_no_object(self, item: object) -> None:
        """The index counts from 0, as in the body."""
        payload = body(wire_alert(), wire_alert())
        payload["alerts"][1] = item
        assert refusal(payload) == "alerts[1] must be an object."

    @pytest.mark.parametrize("field", ["labels", "annotations"])
    @pytest.mark.parametrize("value", [["a"], {"a": 1}, "a"])
    def test_alert_maps_must_hold_strings(self, field: str, value: object) -> None:
        assert refusal(body(wire_alert(**{field: value}))) == f"`alerts[0].{field}` must be an object of strings."

    def test_an_alert_needs_labels(self) -> None:
        """labels are required (every alert has at least its alertname); annotations are not."""
        assert refusal(body(wire_alert(labels=None))) == "`alerts[0].labels` must be an object of strings."

    @pytest.mark.parametrize(
        "fingerprint",
        [None, "", 7, "f" * 129, "5f0d\x002b9c", "tab\tin", "new\nline", " 5f0d", "5f0d\r", "5f\x0b0d", "5f\u200b0d"],
    )
    def test_fingerprint_must_be_short_printable_text(self, fingerprint: object) -> None:
        """Missing, empty, a number, longer than the store's 128 characters, with a control character (a tab or a
        newline too: a fingerprint is one token, not text), a zero-width space, or space around it."""
        item = wire_alert(fingerprint=None) if fingerprint is None else wire_alert(fingerprint=fingerprint)
        if fingerprint == "":
            item["fingerprint"] = ""
        assert refusal(body(item)) == (
            "alerts[0].fingerprint must be a non-empty string of at most 128 printable characters."
        )

    @pytest.mark.parametrize("length", [1, 16, 127, 128])
    def test_fingerprints_up_to_128_characters_are_accepted(self, length: int) -> None:
        """The store's column holds 128 characters (the senders send 16 hex digits)."""
        fingerprint = ("0123456789abcdef" * 8)[:length]
        assert parse_notification(body(wire_alert(fingerprint=fingerprint)), NOW).alerts[0].fingerprint == fingerprint

    @pytest.mark.parametrize("field", ["generatorURL", "imageURL", "silenceURL", "dashboardURL", "panelURL"])
    def test_links_must_be_strings(self, field: str) -> None:
        assert refusal(body(wire_alert(**{field: 7}), version="1")) == f"`alerts[0].{field}` must be a string."

    @pytest.mark.parametrize("field", ["startsAt", "endsAt"])
    def test_times_must_be_rfc3339_strings(self, field: str) -> None:
        assert refusal(body(wire_alert(**{field: 1795434000}))) == f"`alerts[0].{field}` must be an RFC 3339 timestamp."

    def test_an_alert_time_out_of_range_says_the_range(self) -> None:
        """The whole sentence, with the time refused in UTC."""
        assert refusal(body(wire_alert(startsAt="2000-01-01T01:00:00+02:00"))) == (
            "`alerts[0].startsAt` is out of range (1999-12-31T23:00:00Z): alert times must lie between "
            "2000-01-01T00:00:00Z and one day after now (only `endsAt` may be Go's zero time, meaning no end yet)."
        )

    @pytest.mark.parametrize("ends_at", ["0002-01-01T00:00:00Z", "0001-12-31T23:59:59Z", "1999-12-31T23:59:59Z"])
    def test_only_year_1_is_gos_zero_time(self, ends_at: str) -> None:
        """Any endsAt in year 1 means no end yet (Go's zero time); year 2 or 1999 is refused as out of range."""
        if ends_at.startswith("0001"):
            item = wire_alert(endsAt=ends_at)
            assert parse_notification(body(item), NOW).alerts[0].ends_at is None
        else:
            assert refusal(body(wire_alert(endsAt=ends_at))).startswith(
                f"`alerts[0].endsAt` is out of range ({ends_at}"
            )


class TestFieldsKept:
    """What the bot keeps of each field of a valid body."""

    def test_an_alert_keeps_its_name_summary_description_and_lowercased_severity(self) -> None:
        item = wire_alert(labels={"alertname": "DiskFull", "severity": "CRITICAL"})
        alert = parse_notification(body(item), NOW).alerts[0]
        assert (alert.name, alert.summary, alert.description, alert.severity_label) == (
            "DiskFull",
            "Disk almost full on db-1",
            "/var is 97% full.",
            "critical",
        )
        assert alert.labels == {"alertname": "DiskFull", "severity": "CRITICAL"}
        assert alert.generator_url == "http://prometheus.example.com:9090/graph?g0.expr=disk"

    @pytest.mark.parametrize(
        ("labels", "annotations", "name", "summary", "description", "severity_label"),
        [
            ({"instance": "db-1"}, {}, "alert", "alert", "", ""),  # no alertname, no annotations
            ({"alertname": ""}, {"summary": ""}, "alert", "alert", "", ""),
            ({"alertname": "DiskFull"}, {}, "DiskFull", "DiskFull", "", ""),
            ({"alertname": "DiskFull"}, {"description": "full"}, "DiskFull", "DiskFull", "full", ""),
            ({"alertname": "DiskFull", "severity": "Page"}, {"summary": "db-1"}, "DiskFull", "db-1", "", "page"),
        ],
    )
    def test_missing_names_and_annotations_fall_back(
        self,
        labels: dict[str, str],
        annotations: dict[str, str],
        name: str,
        summary: str,
        description: str,
        severity_label: str,
    ) -> None:
        """No alertname: 'alert'; no summary: the name; no description or severity: empty."""
        alert = parse_notification(body(wire_alert(labels=labels, annotations=annotations)), NOW).alerts[0]
        assert (alert.name, alert.summary, alert.description, alert.severity_label) == (
            name,
            summary,
            description,
            severity_label,
        )

    def test_an_alert_without_annotations_or_end_time(self) -> None:
        """annotations and endsAt may be left out: a firing alert with no end."""
        alert = parse_notification(body(wire_alert(annotations=None, endsAt=None)), NOW).alerts[0]
        assert (alert.summary, alert.description, alert.ends_at, alert.firing) == ("DiskFull", "", None, True)

    def test_a_firing_alert_has_no_end_even_if_the_sender_says_when_it_would_resolve(self) -> None:
        """Alertmanager may send a firing alert's resolve timeout as endsAt: it has not cleared."""
        alert = parse_notification(body(wire_alert(endsAt="2026-11-22T15:05:00Z")), NOW).alerts[0]
        assert alert.ends_at is None

    def test_a_resolved_alert_ends_at_its_ends_at(self) -> None:
        alert = parse_notification(body(wire_alert(status="resolved", endsAt="2026-11-22T14:10:00Z")), NOW).alerts[0]
        assert (alert.firing, alert.ends_at) == (False, datetime(2026, 11, 22, 14, 10, tzinfo=UTC))

    def test_a_body_without_group_maps_is_read(self) -> None:
        """groupLabels, commonLabels and commonAnnotations are optional: empty when left out."""
        notification = parse_notification(body(groupLabels=None, commonLabels=None, commonAnnotations=None), NOW)
        assert (notification.group_labels, notification.common_labels, notification.common_annotations) == ({}, {}, {})

    @pytest.mark.parametrize(("sent", "kept"), [(None, 0), (0, 0), (1, 1), (57, 57)])
    def test_truncated_alerts(self, sent: int | None, kept: int) -> None:
        """truncatedAlerts (Alertmanager max_alerts): 0 when left out."""
        assert parse_notification(body(truncatedAlerts=sent), NOW).truncated_alerts == kept

    def test_alertmanager_has_no_title_message_links_or_values(self) -> None:
        """Version 4 has no title or message; Grafana's fields in a version 4 body are not read as values."""
        item = wire_alert(values={"A": 93.41})
        notification = parse_notification(body(item), NOW)
        assert (notification.source, notification.title, notification.message) == ("alertmanager", "", "")
        assert (notification.alerts[0].links, notification.alerts[0].values) == ({}, {})

    def test_grafana_keeps_title_message_every_link_and_values(self) -> None:
        item = wire_alert(
            values={"A": 93.41, "C": 1},
            dashboardURL="https://grafana.example.com/d/disk",
            panelURL="https://grafana.example.com/d/disk?viewPanel=4",
            silenceURL="https://grafana.example.com/alerting/silence/new",
            imageURL="https://grafana.example.com/render/disk.png",
        )
        notification = parse_notification(
            body(item, version="1", title="[FIRING:1] DiskFull", message="**Firing**\n\nValue: A=93.41"), NOW
        )
        assert (notification.source, notification.title, notification.message) == (
            "grafana",
            "[FIRING:1] DiskFull",
            "**Firing**\n\nValue: A=93.41",
        )
        assert notification.alerts[0].links == {
            "dashboard_url": "https://grafana.example.com/d/disk",
            "panel_url": "https://grafana.example.com/d/disk?viewPanel=4",
            "silence_url": "https://grafana.example.com/alerting/silence/new",
            "image_url": "https://grafana.example.com/render/disk.png",
        }
        assert notification.alerts[0].values == {"A": 93.41, "C": 1.0}

    @pytest.mark.parametrize(
        ("url", "kept"),
        [
            ("http://grafana.example.com/x", "http://grafana.example.com/x"),
            ("https://grafana.example.com/x", "https://grafana.example.com/x"),
            ("/graph?g0.expr=up", ""),  # relative: dropped, not refused
            ("ftp://x", ""),
            ("javascript:alert(1)", ""),
            ("https://g.example.com/" + "a" * (4000 - 22), "https://g.example.com/" + "a" * (4000 - 22)),
            ("https://g.example.com/" + "a" * (4001 - 22), ""),  # longer than 4000 characters
        ],
    )
    def test_links_are_kept_only_as_http_urls_up_to_4000_characters(self, url: str, kept: str) -> None:
        item = wire_alert(generatorURL=url, imageURL=url)
        alert = parse_notification(body(item, version="1"), NOW).alerts[0]
        assert alert.generator_url == kept
        assert alert.links == ({"image_url": kept} if kept else {})


class TestGroupDeclaration:
    def notification(self, **overrides: Any) -> Notification:
        return parse_notification(body(**overrides), NOW)

    def test_declares_title_severity_description_and_service(self) -> None:
        notification = self.notification(
            commonLabels={"alertname": "DiskFull", "service": "Billing-DB", "severity": "warning"}
        )
        assert group_declaration(notification, notification.alerts) == Declare(
            title="Disk almost full on db-1",
            severity=Severity.SEV3,
            description="/var is 97% full.",
            service="billing-db",
        )

    @pytest.mark.parametrize(
        ("label", "service"), [(None, None), ("", None), ("billing db!", None), ("cdn-edge", "cdn-edge")]
    )
    def test_service_only_from_a_service_name(self, label: str | None, service: str | None) -> None:
        """No common service label, an empty one or one that is no service name: no service."""
        common = {"alertname": "DiskFull"} | ({} if label is None else {"service": label})
        notification = self.notification(commonLabels=common)
        assert group_declaration(notification, notification.alerts).service == service

    @pytest.mark.parametrize(
        ("description", "previous", "expected"),
        [
            ("/var is 97% full.", None, "/var is 97% full."),
            (None, None, ""),
            (
                "/var is 97% full.",
                "INC-3",
                "/var is 97% full.\n\nThis alert group fired again after INC-3 was resolved.",
            ),
            (None, "INC-3", "This alert group fired again after INC-3 was resolved."),
        ],
    )
    def test_description_names_the_previous_incident(
        self, description: str | None, previous: str | None, expected: str
    ) -> None:
        """The common description, then (after a blank line) the group's previous incident if any."""
        annotations = {"summary": "Disk almost full"} | ({} if description is None else {"description": description})
        notification = self.notification(commonAnnotations=annotations)
        assert group_declaration(notification, notification.alerts, previous=previous).description == expected

    def test_a_configured_map_sets_the_severity(self) -> None:
        """INCIDENT_ALERT_SEVERITY_MAP reaches the declaration and highest_severity."""
        notification = self.notification()
        assert (
            group_declaration(notification, notification.alerts, {"warning": Severity.SEV1}).severity is Severity.SEV1
        )
        assert highest_severity(notification.alerts, {"warning": Severity.SEV2}) is Severity.SEV2

    def test_no_firing_alert_is_sev4(self) -> None:
        assert highest_severity([]) is Severity.SEV4

    @pytest.mark.parametrize(
        ("overrides", "title"),
        [
            ({}, "Disk almost full on db-1"),
            ({"commonAnnotations": {}}, "alertname=DiskFull"),
            (
                {"commonAnnotations": {}, "groupLabels": {"region": "eu", "alertname": "DiskFull"}},
                "alertname=DiskFull, region=eu",
            ),
            ({"commonAnnotations": {}, "groupLabels": {}}, "DiskFull"),  # the common alertname
        ],
    )
    def test_title(self, overrides: dict[str, Any], title: str) -> None:
        """Common summary, else the group labels sorted as k=v, else the common alertname."""
        assert group_title(self.notification(**overrides)) == title

    def test_title_of_a_group_of_different_alerts_is_the_first_alert_name(self) -> None:
        """Grouped by nothing (group_by: []), two alert names share no alertname: the first alert's name."""
        first = wire_alert(labels={"alertname": "DiskFull"})
        second = wire_alert(labels={"alertname": "CpuHigh"}, fingerprint="77aa")
        notification = parse_notification(
            body(first, second, groupLabels={}, commonLabels={}, commonAnnotations={}), NOW
        )
        assert group_title(notification) == "DiskFull"

    def test_the_common_alertname_comes_before_the_first_alert_name(self) -> None:
        """A sender whose common labels name the group otherwise than its first alert: the common name wins."""
        first = wire_alert(labels={"alertname": "DiskFull"})
        notification = parse_notification(
            body(first, groupLabels={}, commonLabels={"alertname": "StorageAlerts"}, commonAnnotations={}), NOW
        )
        assert group_title(notification) == "StorageAlerts"


class TestTruncationNote:
    @pytest.mark.parametrize(
        ("version", "count", "note"),
        [
            ("4", 0, None),
            ("4", 1, "1 more alert of this group was not sent (Alertmanager max_alerts)"),
            ("4", 2, "2 more alerts of this group were not sent (Alertmanager max_alerts)"),
            ("4", 57, "57 more alerts of this group were not sent (Alertmanager max_alerts)"),
            ("1", 0, None),
            ("1", 1, "1 more alert of this group was not sent (Grafana maxAlerts)"),
            ("1", 3, "3 more alerts of this group were not sent (Grafana maxAlerts)"),
        ],
    )
    def test_note_names_the_senders_setting(self, version: str, count: int, note: str | None) -> None:
        """README: alerts the sender left out are noted on the timeline, with the setting that left them out."""
        assert truncation_note(parse_notification(body(version=version, truncatedAlerts=count), NOW)) == note

    def test_another_sender_names_max_alerts(self) -> None:
        notification = Notification("zabbix", "g", {}, {}, {}, (), truncated_alerts=2)
        assert truncation_note(notification) == "2 more alerts of this group were not sent (max_alerts)"


class TestEntryData:
    def test_alertmanager_state_change(self) -> None:
        """Identity, labels and the source link; no links or values keys when the sender has none."""
        notification = parse_notification(body(), NOW)
        assert entry_data(notification.state_changes()[0]) == {
            "fingerprint": "5f0d2b9c8e7a6143",
            "alert": "DiskFull",
            "starts_at": "2026-11-22T13:40:00+00:00",
            "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "warning"},
            "generator_url": "http://prometheus.example.com:9090/graph?g0.expr=disk",
        }

    def test_grafana_state_change_keeps_links_and_values(self) -> None:
        item = wire_alert(values={"A": 93.41}, panelURL="https://grafana.example.com/d/disk?viewPanel=4")
        changes = parse_notification(body(item, version="1"), NOW).state_changes()
        assert entry_data(changes[0]) == {
            "fingerprint": "5f0d2b9c8e7a6143",
            "alert": "DiskFull",
            "starts_at": "2026-11-22T13:40:00+00:00",
            "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "warning"},
            "generator_url": "http://prometheus.example.com:9090/graph?g0.expr=disk",
            "panel_url": "https://grafana.example.com/d/disk?viewPanel=4",
            "values": {"A": 93.41},
        }


def incident(severity: Severity) -> Incident:
    return Incident(
        number=3, title="Disk", severity=severity, status=Status.INVESTIGATING, declared_at=at(0), declared_by="U0ALICE"
    )


def fired(
    minutes: float, name: str | None = "DiskFull", severity: str | None = "critical", text: str = ""
) -> TimelineEntry:
    labels = {"alertname": name or ""} | ({} if severity is None else {"severity": severity})
    data: dict[str, Any] = {"labels": labels} | ({} if name is None else {"alert": name})
    return TimelineEntry(FIRED, at(minutes), at(minutes), "alertmanager", text, data)


class TestSeverityHint:
    def test_the_worst_and_earliest_joining_alert_is_named(self) -> None:
        """sev2 at 14:00 and 13:50, sev1 at 14:10 and 14:20: the sev1 at 14:10."""
        entries = [
            fired(20, "ErrorRate", "error"),
            fired(10, "Latency", "high"),
            fired(40, "DiskFull", "critical"),
            fired(30, "EdgeDown", "page"),
        ]
        assert severity_hint(incident(Severity.SEV3), entries) == (
            "Alert EdgeDown (page) joined at 14:10 UTC; INC-3 is sev3: "
            "raise it with `/incident severity sev1` if needed."
        )

    def test_of_equals_at_the_same_moment_the_first_recorded_is_named(self) -> None:
        entries = [fired(30, "EdgeDown", "critical"), fired(30, "DiskFull", "critical")]
        assert severity_hint(incident(Severity.SEV2), entries) == (
            "Alert EdgeDown (critical) joined at 14:10 UTC; INC-3 is sev2: "
            "raise it with `/incident severity sev1` if needed."
        )

    def test_other_entries_are_skipped_not_the_end(self) -> None:
        """A clear or a note among the entries does not hide the fired alerts after it."""
        cleared = TimelineEntry(CLEARED, at(5), at(5), "alertmanager", "", {"labels": {"severity": "critical"}})
        note = TimelineEntry(EntryKind.NOTE, at(6), at(6), "alertmanager", "flapping")
        assert severity_hint(incident(Severity.SEV4), [cleared, note, fired(30, "EdgeDown", "error")]) == (
            "Alert EdgeDown (error) joined at 14:10 UTC; INC-3 is sev4: "
            "raise it with `/incident severity sev2` if needed."
        )

    def test_a_configured_map_decides(self) -> None:
        """A label the default map does not know, mapped by INCIDENT_ALERT_SEVERITY_MAP."""
        entries = [fired(30, "DiskFull", "disk")]
        assert severity_hint(incident(Severity.SEV3), entries) is None
        assert severity_hint(incident(Severity.SEV3), entries, {"disk": Severity.SEV2}) == (
            "Alert DiskFull (disk) joined at 14:10 UTC; INC-3 is sev3: "
            "raise it with `/incident severity sev2` if needed."
        )

    @pytest.mark.parametrize(("text", "name"), [("Disk almost full", "Disk almost full"), ("", "alert")])
    def test_an_entry_without_alert_name_is_named_by_its_text(self, text: str, name: str) -> None:
        entry = fired(30, None, "critical", text=text)
        assert severity_hint(incident(Severity.SEV3), [entry]) == (
            f"Alert {name} (critical) joined at 14:10 UTC; INC-3 is sev3: "
            "raise it with `/incident severity sev1` if needed."
        )

    @pytest.mark.parametrize("labels", [None, "critical", ["critical"]])
    def test_entries_without_a_label_map_are_the_mildest(self, labels: object) -> None:
        """No labels, or labels that are no map: no severity label, sev4, so no hint."""
        entry = TimelineEntry(FIRED, at(30), at(30), "alertmanager", "", {"alert": "X", "labels": labels})
        assert severity_hint(incident(Severity.SEV3), [entry]) is None

    @pytest.mark.parametrize("word", ["none", "null", "unknown"])
    def test_an_alert_without_severity_label_is_not_matched_by_a_configured_word(self, word: str) -> None:
        """A configured label such as ``none=sev1`` applies to alerts labelled so, not to unlabelled ones (sev4)."""
        mapping = {word: Severity.SEV1}
        assert severity_hint(incident(Severity.SEV3), [fired(30, "EdgeDown", None)], mapping) is None
        assert severity_hint(incident(Severity.SEV3), [fired(30, "EdgeDown", word)], mapping) == (
            f"Alert EdgeDown ({word}) joined at 14:10 UTC; INC-3 is sev3: "
            "raise it with `/incident severity sev1` if needed."
        )

    def test_time_is_utc_whatever_the_servers_zone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """On a server whose local zone is UTC+5:30 the hint still says 14:10 UTC."""
        with local_zone(monkeypatch, "Asia/Kolkata"):
            assert severity_hint(incident(Severity.SEV3), [fired(30, "EdgeDown", "critical")]) == (
                "Alert EdgeDown (critical) joined at 14:10 UTC; INC-3 is sev3: "
                "raise it with `/incident severity sev1` if needed."
            )


class local_zone:
    """Set the process's local time zone (TZ) for a block, then restore it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
        self.monkeypatch, self.zone = monkeypatch, zone

    def __enter__(self) -> None:
        self.monkeypatch.setenv("TZ", self.zone)
        time.tzset()

    def __exit__(self, *exc: object) -> None:
        self.monkeypatch.undo()
        time.tzset()


class TestSeverityOfLabel:
    @pytest.mark.parametrize(
        ("label", "severity"),
        [
            ("P1/SEV2", Severity.SEV4),  # disagreeing alternatives: no severity, and not the worst
            ("sev1x", Severity.SEV4),
            ("P0/SEV1", Severity.SEV1),  # P0 and SEV1 both name the worst case
            ("sev0", Severity.SEV1),
            ("[P0]", Severity.SEV1),
            ("(critical)", Severity.SEV1),
            ("xcriticalx", Severity.SEV4),
        ],
    )
    def test_spellings(self, label: str, severity: Severity) -> None:
        """Only a level below 1 (P0, sev0) is read as the worst; other spellings that are no severity are sev4."""
        assert severity_of_label(label) is severity


class TestAlertList:
    def entry(
        self, kind: EntryKind, minutes: float, fingerprint: str, starts: float, name: str = "EdgeDown", **labels: str
    ) -> TimelineEntry:
        data = {
            "fingerprint": fingerprint,
            "alert": name,
            "starts_at": at(starts).isoformat(),
            "labels": {"alertname": name, "job": "edge", **labels},
        }
        return TimelineEntry(kind, at(minutes), at(minutes), "alertmanager", "Edge down", data)

    def test_no_alert_entries(self) -> None:
        note = TimelineEntry(EntryKind.NOTE, at(1), at(1), "U0ALICE", "looking")
        assert alert_list([]) == [] and alert_list([note]) == []

    def test_entries_after_other_kinds_are_read(self) -> None:
        """A note before the alerts does not end the list."""
        note = TimelineEntry(EntryKind.NOTE, at(-1), at(-1), "U0ALICE", "looking")
        assert alert_list([note, self.entry(FIRED, 0, "a", 0)]) == [AlertLine("EdgeDown", "", at(0), None)]

    def test_two_alerts_starting_together_are_two_episodes(self) -> None:
        """Episodes are told apart by fingerprint too, not only by startsAt; with two episodes only the
        labels they do not share are listed, comma-separated, without alertname."""
        entries = [
            self.entry(FIRED, 0, "a", 0, instance="fra-1", zone="fra"),
            self.entry(FIRED, 0, "b", 0, instance="ams-2", zone="ams"),
            self.entry(CLEARED, 9, "b", 0, instance="ams-2", zone="ams"),
        ]
        assert alert_list(entries) == [
            AlertLine("EdgeDown", "instance=ams-2, zone=ams", at(0), at(9)),
            AlertLine("EdgeDown", "instance=fra-1, zone=fra", at(0), None),
        ]

    def test_alert_names_are_not_repeated_as_labels(self) -> None:
        entries = [self.entry(FIRED, 0, "a", 0, name="EdgeDown"), self.entry(FIRED, 1, "b", 1, name="DiskFull")]
        assert alert_list(entries) == [
            AlertLine("EdgeDown", "", at(0), None),
            AlertLine("DiskFull", "", at(1), None),
        ]

    def test_entries_recorded_before_alert_groups(self) -> None:
        """Entries written before migration 0004 keep only fingerprint and generator_url, with the summary as
        text: listed by that text, fired at the fired entry's time."""
        data = {"fingerprint": "c4e2a6d1b7f30e95", "generator_url": "http://prometheus.example.com:9090/graph"}
        entries = [
            TimelineEntry(FIRED, at(0), at(0), "U0ALERTS", "CDN edge returning 502s", dict(data)),
            TimelineEntry(CLEARED, at(30), at(30), "U0ALERTS", "CDN edge returning 502s", dict(data)),
        ]
        assert alert_list(entries) == [AlertLine("CDN edge returning 502s", "", at(0), at(30))]

    def test_an_old_clear_alone_is_listed_at_its_clear(self) -> None:
        """An old clear whose firing is on another timeline and which has no startsAt: fired and cleared at it."""
        entry = TimelineEntry(CLEARED, at(30), at(30), "U0ALERTS", "CDN edge returning 502s", {"fingerprint": "c4"})
        assert alert_list([entry]) == [AlertLine("CDN edge returning 502s", "", at(30), at(30))]

    def test_an_entry_without_name_or_text_is_an_alert(self) -> None:
        entry = TimelineEntry(FIRED, at(0), at(0), "alertmanager", "", {"fingerprint": "c4"})
        assert alert_list([entry]) == [AlertLine("alert", "", at(0), None)]
