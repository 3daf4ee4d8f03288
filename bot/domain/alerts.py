"""Prometheus Alertmanager webhooks (payload version 4) turned into declarations and timeline facts.

Validation is plain dict checks with messages that name the offending field, so a misconfigured
receiver is told what is wrong; a body that fails them records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.changes import parse_timestamp
from bot.domain.commands import Declare
from bot.domain.errors import PayloadError
from bot.domain.grammar import MAX_TITLE_LENGTH, clean_text, parse_service_name
from bot.domain.model import Severity

DEFAULT_SEVERITY_MAP: Mapping[str, Severity] = {
    "critical": Severity.SEV1,
    "error": Severity.SEV2,
    "high": Severity.SEV2,
    "warning": Severity.SEV3,
}
FALLBACK_SEVERITY = Severity.SEV4
ALERTMANAGER_ACTOR = "alertmanager"


@dataclass(frozen=True)
class Alert:
    """One alert of a notification, with what the bot uses from it."""

    firing: bool
    fingerprint: str
    name: str
    summary: str
    description: str
    severity_label: str
    service: str | None
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str


def parse_alertmanager(body: object) -> list[Alert]:
    """The alerts of a version 4 notification; PayloadError says what is missing or malformed."""
    if not isinstance(body, Mapping):
        raise PayloadError("The body must be a JSON object (Alertmanager webhook, version 4).")
    if str(body.get("version")) != "4":
        raise PayloadError(f'Unsupported Alertmanager payload version {body.get("version")!r}; expected "4".')
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("`alerts` must be a non-empty list.")
    return [_alert(item, index) for index, item in enumerate(alerts)]


def _alert(item: object, index: int) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(item, Mapping):
        raise PayloadError(f"{where} must be an object.")
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where}.status must be firing or resolved.")
    labels = _string_map(item.get("labels"), f"{where}.labels")
    annotations = _string_map(item.get("annotations", {}), f"{where}.annotations")
    fingerprint = item.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint or len(fingerprint) > 128:
        raise PayloadError(f"{where}.fingerprint must be a non-empty string.")
    ends_at = parse_timestamp(item["endsAt"], f"{where}.endsAt") if item.get("endsAt") else None
    name = labels.get("alertname", "alert")
    return Alert(
        firing=status == "firing",
        fingerprint=fingerprint,
        name=name,
        summary=(clean_text(annotations.get("summary", "")) or clean_text(name) or "alert")[:MAX_TITLE_LENGTH],
        description=clean_text(annotations.get("description", "")),
        severity_label=labels.get("severity", "").lower(),
        service=parse_service_name(labels["service"]) if labels.get("service") else None,
        starts_at=parse_timestamp(item.get("startsAt"), f"{where}.startsAt"),
        ends_at=ends_at if ends_at is None or ends_at.year > 1 else None,  # Go's zero time: still firing
        generator_url=str(item.get("generatorURL") or ""),
    )


def _string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise PayloadError(f"{where} must be an object of strings.")
    return dict(value)


def severity_of(alert: Alert, mapping: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP) -> Severity:
    """The incident severity for the alert's ``severity`` label.

    The map decides first; a label spelled as a severity (``P1``, ``SEV-2``, ``sev3``) means that
    severity; anything else becomes sev4.
    """
    mapped = mapping.get(alert.severity_label)
    return mapped or Severity.parse(alert.severity_label) or FALLBACK_SEVERITY


def declaration(alert: Alert, mapping: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP) -> Declare:
    """What a firing alert declares: titled from its summary, charged to its service label."""
    return Declare(
        title=alert.summary,
        severity=severity_of(alert, mapping),
        description=alert.description,
        service=alert.service,
    )
