"""Alert notifications shaped like the real senders' (tests/payloads/README.md), built for tests and the bench."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
GROUP_KEY = '{}/{team="edge"}:{alertname="EdgeHigh5xxRate", region="eu-central"}'
T0 = datetime(2026, 11, 22, 13, 40, tzinfo=UTC)
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def sample(name: str) -> dict[str, Any]:
    """A payload file of tests/payloads, parsed."""
    body: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return body


def firing_payload(**alert_changes: Any) -> dict[str, Any]:
    """tests/payloads/alertmanager_firing.json with its one alert's fields changed by ``alert_changes``."""
    body = sample("alertmanager_firing.json")
    body["alerts"][0].update(alert_changes)
    return body


def resolved_payload(ends_at: str = "2026-11-22T14:40:00Z") -> dict[str, Any]:
    """The firing payload resolved: notification and alert ``status`` "resolved", the alert ending at ``ends_at``."""
    body = firing_payload(status="resolved", endsAt=ends_at)
    body["status"] = "resolved"
    return body


def go_time(moment: datetime) -> str:
    """RFC 3339 with nanoseconds, as Go's time.Time marshals (``2026-11-22T13:42:07.283749000Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def alert(
    fingerprint: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    *,
    resolved: bool = False,
    severity: str = "warning",
    instance: str | None = None,
    description: str = "502 share is 3.1% over the last 5 minutes (SLO: 0.05%).",
) -> dict[str, Any]:
    """One Alertmanager alert of the EdgeHigh5xxRate group; ``resolved`` with ``ends_at`` when it cleared."""
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {
            "alertname": "EdgeHigh5xxRate",
            "instance": instance or f"edge-{fingerprint}:9100",
            "job": "cdn-edge",
            "region": "eu-central",
            "service": "cdn-edge",
            "severity": severity,
        },
        "annotations": {
            "description": description,
            "runbook_url": "https://runbooks.example.com/cdn-edge/5xx",
            "summary": "CDN edge returning 502s above the error SLO",
        },
        "startsAt": go_time(starts_at),
        "endsAt": go_time(ends_at) if resolved and ends_at else GO_ZERO_TIME,
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=edge%3A5xx_ratio%3Arate5m+%3E+0.05&g0.tab=1",
        "fingerprint": fingerprint,
    }


def notification(
    alerts: Sequence[dict[str, Any]],
    group_key: str = GROUP_KEY,
    *,
    summary: str | None = "CDN edge returning 502s above the error SLO",
) -> dict[str, Any]:
    """A version 4 notification of ``alerts``, with common labels/annotations computed as Alertmanager does."""
    items = [copy.deepcopy(a) for a in alerts]
    common_labels = _common([a["labels"] for a in items])
    common_annotations = _common([a["annotations"] for a in items])
    if summary is None:
        common_annotations.pop("summary", None)
    elif "summary" in common_annotations:
        common_annotations["summary"] = summary
    return {
        "receiver": "incidentbot",
        "status": "firing" if any(a["status"] == "firing" for a in items) else "resolved",
        "alerts": items,
        "groupLabels": {"alertname": "EdgeHigh5xxRate", "region": "eu-central"},
        "commonLabels": common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    return {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])}
