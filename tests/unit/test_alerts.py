"""Alertmanager webhook bodies (version 4) read into alerts, field by field, and refused word for word."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.alerts import Alert, declaration, parse_alertmanager
from bot.domain.commands import Declare
from bot.domain.errors import PayloadError
from bot.domain.model import Severity


def alert_item(**fields: Any) -> dict[str, Any]:
    """A minimal firing alert; keyword arguments replace (or, with None, remove) its fields."""
    item: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "EdgeDown"},
        "startsAt": "2026-11-22T13:42:00Z",
        "fingerprint": "fp1",
    }
    for key, value in fields.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def body(*items: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "alerts": list(items)}


class TestFields:
    def test_resolved_alert_with_only_the_required_fields(self) -> None:
        """No annotations, severity, service or link: the name stands in for the summary, the rest is empty."""
        item = alert_item(status="resolved", endsAt="2026-11-22T14:02:00Z")
        assert parse_alertmanager(body(item)) == [
            Alert(
                firing=False,
                fingerprint="fp1",
                name="EdgeDown",
                summary="EdgeDown",
                description="",
                severity_label="",
                service=None,
                starts_at=datetime(2026, 11, 22, 13, 42, tzinfo=UTC),
                ends_at=datetime(2026, 11, 22, 14, 2, tzinfo=UTC),
                generator_url="",
            )
        ]

    def test_every_field_of_a_full_alert(self) -> None:
        """Summary and description from annotations, lowercased severity, service, link; Go's zero endsAt is None."""
        item = alert_item(
            labels={"alertname": "EdgeDown", "severity": "Critical", "service": "cdn-edge"},
            annotations={"summary": " Edge down ", "description": "all PoPs"},
            endsAt="0001-01-01T00:00:00Z",
            generatorURL="http://prom/graph",
        )
        alert = parse_alertmanager(body(item))[0]
        assert (alert.summary, alert.description, alert.severity_label, alert.service) == (
            "Edge down",
            "all PoPs",
            "critical",
            "cdn-edge",
        )
        assert (alert.firing, alert.ends_at, alert.generator_url) == (True, None, "http://prom/graph")

    def test_no_name_and_no_summary(self) -> None:
        """Without an alertname label or a summary, the alert is called "alert"."""
        alert = parse_alertmanager(body(alert_item(labels={})))[0]
        assert (alert.name, alert.summary) == ("alert", "alert")

    def test_blank_name_and_no_summary(self) -> None:
        """A blank alertname (spaces, control characters) gives no title either: the summary is "alert"."""
        alert = parse_alertmanager(body(alert_item(labels={"alertname": " \u202e "})))[0]
        assert alert.summary == "alert"

    def test_year_two_end_is_a_real_end(self) -> None:
        """Only Go's zero time (year 1) means "still firing"; any later end is kept."""
        alert = parse_alertmanager(body(alert_item(endsAt="0002-01-01T00:00:00Z")))[0]
        assert alert.ends_at == datetime(2, 1, 1, tzinfo=UTC)

    @pytest.mark.parametrize("length", [1, 128])
    def test_fingerprints_up_to_128_characters(self, length: int) -> None:
        """A fingerprint of 1 to 128 characters is kept as sent."""
        assert parse_alertmanager(body(alert_item(fingerprint="f" * length)))[0].fingerprint == "f" * length

    def test_declaration_carries_the_description_and_the_mapped_severity(self) -> None:
        """A firing alert declares with its summary, description and service; the map decides severity."""
        item = alert_item(
            labels={"alertname": "EdgeDown", "severity": "page", "service": "cdn-edge"},
            annotations={"summary": "Edge down", "description": "all PoPs"},
        )
        alert = parse_alertmanager(body(item))[0]
        assert declaration(alert, {"page": Severity.SEV1}) == Declare(
            "Edge down", Severity.SEV1, "all PoPs", "cdn-edge"
        )
        assert declaration(alert).severity is Severity.SEV4  # "page" is not in the default map


class TestRefusals:
    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            (["not", "an", "object"], "The body must be a JSON object (Alertmanager webhook, version 4)."),
            (
                {"version": "3", "alerts": [alert_item()]},
                "Unsupported Alertmanager payload version '3'; expected \"4\".",
            ),
            ({"version": "4", "alerts": []}, "`alerts` must be a non-empty list."),
            (body(alert_item(), "x"), "alerts[1] must be an object."),
            (body(alert_item(), alert_item(status="resolving")), "alerts[1].status must be firing or resolved."),
            (body(alert_item(labels={"a": 1})), "alerts[0].labels must be an object of strings."),
            (body(alert_item(annotations={"summary": 5})), "alerts[0].annotations must be an object of strings."),
            (body(alert_item(fingerprint=None)), "alerts[0].fingerprint must be a non-empty string."),
            (body(alert_item(fingerprint="")), "alerts[0].fingerprint must be a non-empty string."),
            (body(alert_item(fingerprint="f" * 129)), "alerts[0].fingerprint must be a non-empty string."),
            (body(alert_item(fingerprint=7)), "alerts[0].fingerprint must be a non-empty string."),
            (
                body(alert_item(), alert_item(endsAt="soon")),
                "`alerts[1].endsAt` is not an RFC 3339 timestamp: 'soon'.",
            ),
            (
                body(alert_item(startsAt="yesterday")),
                "`alerts[0].startsAt` is not an RFC 3339 timestamp: 'yesterday'.",
            ),
        ],
    )
    def test_each_refusal_names_the_field(self, payload: object, message: str) -> None:
        """Each malformed body is refused with a message naming the alert (by index) and the field."""
        with pytest.raises(PayloadError) as raised:
            parse_alertmanager(payload)
        assert raised.value.user_message == message

    def test_resolved_status_is_accepted(self) -> None:
        """ "resolved" is a valid status (Alertmanager sends it when the alert clears)."""
        assert parse_alertmanager(body(alert_item(status="resolved")))[0].firing is False
