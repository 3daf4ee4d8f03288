"""The SRE practice in the pure core: service/impact verbs, error budgets, alerts, change events, nudges."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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
from bot.domain.changes import ChangeEvent, describe_change, parse_change, parse_timestamp, recent_changes
from bot.domain.commands import Declare, Nudge, Rollback, SetImpact, SetService, ShowSlo
from bot.domain.errors import PayloadError, TransitionError, UsageError
from bot.domain.grammar import parse_command
from bot.domain.lifecycle import Stamp, apply, declare
from bot.domain.model import EntryKind, Incident, Severity, TimelineEntry
from bot.domain.nudges import DueNudge, due_nudges
from bot.domain.slo import Slo, bad_time, budget_report, impact_spans

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
CDN = Slo("cdn-edge", 99.95, timedelta(days=30), "C0CDN")

# README: sev1 15 min, sev2 30 min by default (written here, not read from the module).
README_NUDGE_AFTER = {Severity.SEV1: timedelta(minutes=15), Severity.SEV2: timedelta(minutes=30)}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(minutes: float) -> Stamp:
    return Stamp("U0ALICE", at(minutes), at(minutes))


def incident_with(
    *steps: tuple[float, object],
    number: int = 1,
    service: str | None = "cdn-edge",
    severity: Severity = Severity.SEV1,
) -> tuple[Incident, list[TimelineEntry]]:
    change = declare(Declare("CDN 502s", severity, service=service), number, stamp(0))
    incident, entries = change.incident, list(change.entries)
    for minute, action in steps:
        applied = apply(incident, action, stamp(minute))  # type: ignore[arg-type]
        incident, entries = applied.incident, entries + list(applied.entries)
    return incident, entries


class TestGrammar:
    @pytest.mark.parametrize(
        ("text", "percent"),
        [("impact 50%", 50.0), ("impact 0.5 %", 0.5), ("impact 100", 100.0), ("impact 0%", 0.0)],
    )
    def test_impact_takes_a_percentage(self, text: str, percent: float) -> None:
        """`impact N%` accepts 0-100 with or without the % sign."""
        assert parse_command(text).action == SetImpact(percent)

    @pytest.mark.parametrize("text", ["impact", "impact 101%", "impact half", "impact -5%"])
    def test_bad_impact_is_refused_with_usage(self, text: str) -> None:
        """Anything but a 0-100 percentage is a usage error naming the verb."""
        with pytest.raises(UsageError, match="impact"):
            parse_command(text)

    def test_service_is_lowercased_and_backdatable(self) -> None:
        """`service CDN-Edge --at 13:42` names cdn-edge, backdated."""
        command = parse_command("INC-3 service CDN-Edge --at 13:42")
        assert command.action == SetService("cdn-edge") and command.at == "13:42" and command.incident_number == 3

    def test_service_needs_one_name(self) -> None:
        """Two words or punctuation are not a catalogue name."""
        with pytest.raises(UsageError):
            parse_command("service cdn edge")

    def test_slo_query_with_and_without_service(self) -> None:
        """`slo` reads all budgets, `slo cdn-edge` one; it takes no --at."""
        assert parse_command("slo").action == ShowSlo()
        assert parse_command("slo cdn-edge").action == ShowSlo("cdn-edge")
        with pytest.raises(UsageError):
            parse_command("slo --at 13:00")


class TestTransitions:
    def test_service_change_is_recorded_with_the_previous_one(self) -> None:
        """Re-charging an incident to another service keeps the old name on the entry."""
        incident, entries = incident_with((1, SetService("checkout-api")))
        assert incident.service == "checkout-api"
        assert entries[-1].kind is EntryKind.SERVICE and entries[-1].data["previous"] == "cdn-edge"

    def test_same_service_is_refused(self) -> None:
        """Naming the current service again is a no-op the user is told about."""
        incident, _ = incident_with()
        with pytest.raises(TransitionError, match="already"):
            apply(incident, SetService("cdn-edge"), stamp(1))

    def test_impact_updates_the_incident(self) -> None:
        """The latest impact is on the incident for the status message."""
        incident, _ = incident_with((0, SetImpact(50)), (10, SetImpact(20)))
        assert incident.impact_percent == 20


class TestErrorBudget:
    def test_budget_is_one_minus_slo_times_window(self) -> None:
        """99.95% over 30 days allows 21.6 minutes of failed requests."""
        assert CDN.budget == timedelta(minutes=21.6)

    def test_seed_impact_ends_at_the_rollback(self) -> None:
        """50% from 13:42 until the rollback mitigates at 14:35: 53 min x 0.5 = 26.5 bad minutes."""
        _, entries = incident_with((0, SetImpact(50)), (53, Rollback("WAF rule")))
        assert bad_time(entries, at(120)) == timedelta(minutes=26.5)

    def test_impact_changes_make_steps(self) -> None:
        """Each impact entry holds until the next: 100% for 10 min, then 10% for 20 min, then 0%."""
        _, entries = incident_with((0, SetImpact(100)), (10, SetImpact(10)), (30, SetImpact(0)))
        spans = impact_spans(entries, at(60))
        assert [(s.fraction, s.end - s.start) for s in spans] == [
            (1.0, timedelta(minutes=10)),
            (0.1, timedelta(minutes=20)),
        ]
        assert bad_time(entries, at(60)) == timedelta(minutes=12)

    def test_open_incident_burns_until_now(self) -> None:
        """With no mitigation yet, the budget keeps burning up to the present."""
        _, entries = incident_with((0, SetImpact(50)))
        assert bad_time(entries, at(10)) == timedelta(minutes=5)

    def test_report_clips_to_the_window_and_flags_exhaustion(self) -> None:
        """Only bad time inside the window counts; over 100% of the budget the policy applies."""
        old, old_entries = incident_with((0, SetImpact(100)), (60, Rollback("x")), number=1)
        new, new_entries = incident_with((0, SetImpact(50)), (53, Rollback("y")), number=2)
        other, other_entries = incident_with((0, SetImpact(100)), (60, Rollback("z")), number=3, service="search")
        now = at(60 * 24 * 30 + 30)  # 30 days later: the first 30 minutes of both fell out of the window
        report = budget_report(CDN, [(old, old_entries), (new, new_entries), (other, other_entries)], now)
        assert [b.incident_id for b in report.burns] == ["INC-1", "INC-2"]
        assert report.burns[0].bad_time == timedelta(minutes=30)  # 100% x (60 - 30) min
        assert report.burns[1].bad_time == timedelta(minutes=11.5)  # 50% x (53 - 30) min
        assert report.consumed == timedelta(minutes=41.5)
        assert report.exhausted and "release freeze for cdn-edge" in report.policy()

    def test_small_incident_leaves_budget(self) -> None:
        """10% for 10 minutes uses 1 of 21.6 minutes."""
        incident, entries = incident_with((0, SetImpact(10)), (10, Rollback("x")))
        report = budget_report(CDN, [(incident, entries)], at(60))
        assert not report.exhausted
        assert round(report.remaining_share, 3) == round(1 - 1 / 21.6, 3)


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


class TestChangeEvents:
    @settings(max_examples=60, deadline=None)
    @given(
        field=st.sampled_from([("author", 256), ("description", 2000), ("link", 2000)]),
        length=st.integers(1, 2100),
        left=st.text(alphabet=" \t\n\r", max_size=5),
        right=st.text(alphabet=" \t\n\r", max_size=5),
    )
    def test_lengths_are_checked_after_trimming(
        self, field: tuple[str, int], length: int, left: str, right: str
    ) -> None:
        """A value padded with whitespace is accepted iff its trimmed text is within the field's limit
        (author 256, description and link 2000, README), and stored trimmed."""
        name, limit = field
        core = ("https://ci.example.com/" + "x" * length)[:length] if name == "link" else "a" * length
        if name == "link" and length < len("https://"):
            return  # not a URL at all: another rule
        body = {"service": "cdn-edge", "description": "WAF rule 12", name: left + core + right}
        try:
            change = parse_change(body, at(0))
        except PayloadError as exc:
            assert length > limit and f"`{name}` must be a string of at most {limit} characters." == exc.user_message
        else:
            assert length <= limit and getattr(change, name) == core

    def test_body_is_validated_and_time_defaults_to_now(self) -> None:
        """service, description required; author optional; link must be http(s)."""
        change = parse_change({"service": "cdn-edge", "description": "WAF rule 12"}, at(0))
        assert change == ChangeEvent("cdn-edge", "WAF rule 12", "unknown", at(0), "")
        with pytest.raises(PayloadError, match="description"):
            parse_change({"service": "cdn-edge"}, at(0))
        with pytest.raises(PayloadError, match="link"):
            parse_change({"service": "cdn-edge", "description": "x", "link": "javascript:alert(1)"}, at(0))
        with pytest.raises(PayloadError, match="future"):
            parse_change({"service": "cdn-edge", "description": "x", "time": "2030-01-01T00:00:00Z"}, at(0))

    def test_offsets_become_utc(self) -> None:
        """RFC 3339 with an offset is stored as UTC; a naive time is refused."""
        assert parse_timestamp("2026-11-22T14:30:00+01:00", "time") == datetime(2026, 11, 22, 13, 30, tzinfo=UTC)
        assert parse_timestamp("2026-11-22T14:30:00.5+01:00", "time") == datetime(
            2026, 11, 22, 13, 30, 0, 500000, tzinfo=UTC
        )
        assert parse_timestamp("2026-11-22T13:30:00.123456789Z", "time").microsecond == 123456
        with pytest.raises(PayloadError, match="zone"):
            parse_timestamp("2026-11-22T14:30:00", "time")

    def test_recent_changes_are_the_two_hours_before_declaration(self) -> None:
        """Same service, within 2 h before the declaration: oldest first; others are left out."""
        changes = [
            ChangeEvent("cdn-edge", "WAF", "carol", at(-12)),
            ChangeEvent("cdn-edge", "old", "bob", at(-121)),
            ChangeEvent("search", "index", "dave", at(-5)),
            ChangeEvent("cdn-edge", "after", "x", at(5)),
            ChangeEvent("cdn-edge", "TLS", "erin", at(-90)),
        ]
        assert [c.description for c in recent_changes(changes, "cdn-edge", at(0))] == ["TLS", "WAF"]


class TestChangeEventsExactly:
    """Every refusal of a `POST /changes` body, word for word, and the edges of what is accepted."""

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (["not", "an", "object"], "The body must be a JSON object."),
            ({"description": "x"}, "`service` is required."),
            ({"service": "", "description": "x"}, "`service` is required."),
            (
                {"service": "CDN Edge!", "description": "x"},
                "`service` must be a service name (lowercase a-z, 0-9, '.', '_', '-').",
            ),
            ({"service": 5, "description": "x"}, "`service` must be a string of at most 2000 characters."),
            ({"service": "cdn-edge", "description": ""}, "`description` is required."),
            (
                {"service": "cdn-edge", "description": "x" * 2001},
                "`description` must be a string of at most 2000 characters.",
            ),
            (
                {"service": "cdn-edge", "description": "x", "time": "yesterday"},
                "`time` is not an RFC 3339 timestamp: 'yesterday'.",
            ),
            ({"service": "cdn-edge", "description": "x", "time": 1700000000}, "`time` must be an RFC 3339 timestamp."),
            ({"service": "cdn-edge", "description": "x", "link": "ftp://ci/42"}, "`link` must be an http(s) URL."),
            ({"service": "cdn-edge", "description": "x", "time": "2026-11-22T13:47:01Z"}, "`time` is in the future."),
        ],
    )
    def test_refusals_say_what_is_wrong(self, body: object, message: str) -> None:
        """Each bad body is refused with a message naming the field (now is 13:42; 5 min of clock skew allowed)."""
        with pytest.raises(PayloadError) as raised:
            parse_change(body, at(0))
        assert raised.value.user_message == message

    def test_fields_of_exactly_2000_characters_are_accepted(self) -> None:
        """The limit is inclusive: a 2,000-character description is kept whole."""
        assert parse_change({"service": "cdn-edge", "description": "x" * 2000}, at(0)).description == "x" * 2000

    def test_long_bad_time_is_quoted_to_40_characters(self) -> None:
        """A long unparsable time is quoted only in part: its first 40 characters."""
        value = "0123456789" * 5
        with pytest.raises(PayloadError) as raised:
            parse_change({"service": "cdn-edge", "description": "x", "time": value}, at(0))
        assert raised.value.user_message == f"`time` is not an RFC 3339 timestamp: '{'0123456789' * 4}'."

    @pytest.mark.parametrize("link", ["http://ci/42", "https://ci.example/42"])
    def test_full_body_is_kept(self, link: str) -> None:
        """All fields are kept, trimmed; a time 5 min ahead (clock skew) is accepted; both URL schemes are."""
        body = {"service": "cdn-edge", "description": " WAF rule 12 ", "author": "erin", "link": link}
        change = parse_change({**body, "time": "2026-11-22T13:47:00Z"}, at(0))
        assert change == ChangeEvent("cdn-edge", "WAF rule 12", "erin", at(5), link)

    def test_lowercase_z_is_utc(self) -> None:
        """RFC 3339 allows a lowercase z for UTC."""
        assert parse_timestamp("2026-11-22T13:30:00z", "time") == datetime(2026, 11, 22, 13, 30, tzinfo=UTC)

    def test_window_includes_both_ends(self) -> None:
        """A change exactly 2 h before the declaration and one at the declaration are both suspects."""
        changes = [ChangeEvent("cdn-edge", "edge", "a", at(-120)), ChangeEvent("cdn-edge", "now", "b", at(0))]
        assert [c.description for c in recent_changes(changes, "cdn-edge", at(0))] == ["edge", "now"]

    @pytest.mark.parametrize(
        ("link", "line"),
        [
            ("", "13:22 cdn-edge: WAF rule 12 by erin"),
            ("https://ci/42", "13:22 cdn-edge: WAF rule 12 by erin (https://ci/42)"),
        ],
    )
    def test_description_line(self, link: str, line: str) -> None:
        """Time (UTC), service, description, author, and the link in brackets when there is one."""
        assert describe_change(ChangeEvent("cdn-edge", "WAF rule 12", "erin", at(-20), link)) == line


class TestNudges:
    def test_quiet_sev1_is_nudged_after_15_minutes(self) -> None:
        """The last update counts by when it was recorded; at 15 min of silence a sev1 is due."""
        incident, entries = incident_with((5, SetImpact(50)))
        assert due_nudges([(incident, entries)], README_NUDGE_AFTER, at(19)) == []
        due = due_nudges([(incident, entries)], README_NUDGE_AFTER, at(20))
        assert [(d.number, d.silent_minutes) for d in due] == [(1, 15)]

    def test_one_nudge_per_silence(self) -> None:
        """After a nudge, nothing more until somebody updates and goes quiet again."""
        incident, entries = incident_with((20, Nudge(20)))
        assert due_nudges([(incident, entries)], README_NUDGE_AFTER, at(90)) == []
        incident, entries = incident_with((20, Nudge(20)), (25, SetImpact(10)))
        assert [d.silent_minutes for d in due_nudges([(incident, entries)], README_NUDGE_AFTER, at(40))] == [15]

    def test_severities_without_threshold_and_resolved_incidents_are_left_alone(self) -> None:
        """sev3 has no default threshold; a resolved incident is never nudged."""
        sev3 = incident_with(severity=Severity.SEV3)
        assert due_nudges([sev3], README_NUDGE_AFTER, at(600)) == []
        assert due_nudges([sev3], {Severity.SEV3: timedelta(minutes=60)}, at(600))[0].silent_minutes == 600

    def test_an_incident_without_threshold_does_not_hide_the_next(self) -> None:
        """A sev3 (no threshold) listed first does not stop the quiet sev1 after it from being nudged."""
        sev3 = incident_with(number=1, severity=Severity.SEV3)
        sev1 = incident_with(number=2, severity=Severity.SEV1)
        assert due_nudges([sev3, sev1], README_NUDGE_AFTER, at(30)) == [DueNudge(2, 30)]

    def test_without_entries_the_declaration_starts_the_silence(self) -> None:
        """An incident given with no timeline counts its silence from its declaration (13:42): 16 min at 13:58."""
        incident, _ = incident_with()
        assert due_nudges([(incident, [])], README_NUDGE_AFTER, at(16)) == [DueNudge(1, 16)]

    def test_a_nudge_recorded_with_the_last_update_covers_that_silence(self) -> None:
        """A nudge recorded at the same instant as the last update already covers the silence after it."""
        incident, entries = incident_with((5, SetImpact(50)), (5, Nudge(15)))
        assert due_nudges([(incident, entries)], README_NUDGE_AFTER, at(60)) == []
