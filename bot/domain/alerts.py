"""Alert notifications (Prometheus Alertmanager and Grafana Alerting webhooks) as incidents and alert history.

Payload shapes, from the senders' own definitions:

* Alertmanager, ``"version": "4"``: ``Message`` in prometheus/alertmanager ``notify/webhook/webhook.go``
  (``version``, ``groupKey``, ``truncatedAlerts``) embedding ``Data`` from ``template/template.go``
  (``receiver``, ``status``, ``alerts``, ``groupLabels``, ``commonLabels``, ``commonAnnotations``,
  ``externalURL``); each ``Alert`` has ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``,
  ``generatorURL``, ``fingerprint``.
* Grafana Alerting, ``"version": "1"``: ``webhookMessage`` in grafana/alerting
  ``receivers/webhook/v1/webhook.go`` (adds ``orgId``, ``title``, ``state``, ``message``) embedding
  ``ExtendedData`` from ``templates/template_data.go``, whose ``ExtendedAlert`` adds ``silenceURL``,
  ``dashboardURL``, ``panelURL``, ``values`` (name -> float64, or null), ``valueString``, ``imageURL``.

The model (what ``bot.usecases.alerts.AlertUseCases.receive_notification`` records):

* A **group** is one ``groupKey``. While a group has an open incident, everything the group reports
  goes on that incident. A notification of a group without an open incident declares one if it
  reports an alert firing that was not recorded before and is not known to have cleared; the new
  incident names the group's previous incident, if any.
* An **episode** is one alert (``fingerprint``) from one ``startsAt``: Alertmanager gives an alert
  that fires again after clearing a new ``startsAt``. An episode has at most two **state changes**:
  ``fired`` at ``startsAt`` and ``cleared`` at ``endsAt``. A ``firing`` alert reports ``fired``; a
  ``resolved`` alert reports both (it says when it started too), so a ``resolved`` that overtakes its
  ``firing`` still yields the true history, and the late ``firing`` adds nothing.
* Each state change is recorded **once per group**: the store keys it by (group, fingerprint,
  startsAt, state) under a unique constraint, so repeats (``repeat_interval``), HA duplicates,
  reordering and replicas racing all collapse in the database. Recording a state change adds one
  ``alert_fired``/``alert_cleared`` timeline entry at its own time to: for ``fired``, the group's open
  incident (or the one being declared); for ``cleared``, the incident holding the episode's ``fired``
  (even if resolved since), else the open incident. With no such incident (an episode that fired and
  cleared while the group had no incident) the change is kept in the store but on no timeline.

Validation is plain dict checks whose messages name the offending field; a body that fails them
records nothing. Text is kept within what both databases store: control, format and lone surrogate
characters are dropped (PostgreSQL refuses NUL; UTF-8 refuses surrogates).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.changes import parse_timestamp
from bot.domain.commands import Declare
from bot.domain.errors import PayloadError
from bot.domain.grammar import MAX_TITLE_LENGTH, parse_service_name
from bot.domain.model import EntryKind, Incident, Severity, TimelineEntry, looks_like_severity
from bot.domain.timeparse import format_iso

DEFAULT_SEVERITY_MAP: Mapping[str, Severity] = {
    "critical": Severity.SEV1,
    "crit": Severity.SEV1,
    "page": Severity.SEV1,  # Prometheus's own example alerting rules label what pages `severity: page`
    "fatal": Severity.SEV1,
    "emergency": Severity.SEV1,  # syslog's level 0 (RFC 5424), like "crit" its level 2
    "disaster": Severity.SEV1,  # Zabbix's highest severity
    "error": Severity.SEV2,
    "high": Severity.SEV2,
    "warning": Severity.SEV3,
}
FALLBACK_SEVERITY = Severity.SEV4
ALERTMANAGER_ACTOR = "alertmanager"
MAX_FINGERPRINT_LENGTH = 128
"""The store's ``alert_events.fingerprint`` column; Alertmanager and Grafana send 16 hex digits."""
EARLIEST_ALERT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""Alert times before this are refused: no alert of a live system started before 2000, and a date of
year 1 (Go's zero time, which both senders write only as a firing alert's ``endsAt``) would date an
incident 2,000 years back and break every window computed from it."""
MAX_ALERT_CLOCK_SKEW = timedelta(days=1)
"""Alert times later than this after the bot's clock are refused (a sender whose clock is that far off)."""
MAX_DESCRIPTION_LENGTH = 3000
MAX_URL_LENGTH = 4000
FIRED = "fired"
CLEARED = "cleared"
_SEVERITY_ORDER = (Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4)
_SEVERITY_LEVEL = re.compile(r"\d+")
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs"}
_KEPT_CONTROLS = {"\n", "\t"}
_VERSIONS = {"4": "alertmanager", "1": "grafana"}


def clean(text: str) -> str:
    """``text`` without control, format (bidi) or lone surrogate characters (newlines and tabs kept), stripped."""
    if text.isprintable():  # none of Cc, Cf, Cs (nor other separators than space): the common case, fast
        return text.strip()
    return "".join(
        ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    ).strip()


@dataclass(frozen=True)
class Alert:
    """One alert of a notification, as the bot keeps it (all text cleaned)."""

    firing: bool
    fingerprint: str
    name: str
    summary: str
    description: str
    severity_label: str
    labels: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str = ""
    links: Mapping[str, str] = field(default_factory=dict)
    """Grafana's ``dashboard_url``, ``panel_url``, ``silence_url``, ``image_url`` when given."""
    values: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StateChange:
    """One state change of one alert episode: the unit recorded exactly once per group."""

    alert: Alert
    state: str  # FIRED or CLEARED
    occurred_at: datetime

    @property
    def key(self) -> tuple[str, datetime, str]:
        """(fingerprint, startsAt, state): unique within a group."""
        return (self.alert.fingerprint, self.alert.starts_at, self.state)

    @property
    def episode(self) -> tuple[str, datetime]:
        return (self.alert.fingerprint, self.alert.starts_at)


@dataclass(frozen=True)
class Notification:
    """One webhook delivery: a group's alerts and what they have in common."""

    source: str  # "alertmanager" or "grafana"
    group_key: str
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    alerts: tuple[Alert, ...]
    truncated_alerts: int = 0
    title: str = ""
    message: str = ""

    @property
    def group_id(self) -> str:
        """SHA-256 hex of the group key: a fixed-width identity for any group key length."""
        return hashlib.sha256(self.group_key.encode("utf-8", "surrogatepass")).hexdigest()

    def state_changes(self) -> list[StateChange]:
        """Every state change the notification reports, ``fired`` before ``cleared``, each key once."""
        changes: dict[tuple[str, datetime, str], StateChange] = {}
        for alert in self.alerts:
            fired = StateChange(alert, FIRED, alert.starts_at)
            changes.setdefault(fired.key, fired)
            if not alert.firing:
                cleared = StateChange(alert, CLEARED, alert.ends_at or alert.starts_at)
                changes.setdefault(cleared.key, cleared)
        return sorted(changes.values(), key=lambda c: (c.state != FIRED, c.occurred_at, c.alert.fingerprint))


def parse_notification(body: object, now: datetime) -> Notification:
    """A version 4 (Alertmanager) or version 1 (Grafana) webhook body; PayloadError names what is wrong.

    ``now`` is when a ``resolved`` alert without ``endsAt`` is taken to have cleared.
    """
    if not isinstance(body, Mapping):
        raise PayloadError("The body must be a JSON object (Alertmanager webhook version 4, or Grafana version 1).")
    version = body.get("version")
    source = _VERSIONS.get(str(version)) if isinstance(version, str | int) else None
    if source is None:
        raise PayloadError(
            f'Unsupported payload `version` {version!r}; expected "4" (Alertmanager) or "1" (Grafana Alerting).'
        )
    group_key = body.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("`groupKey` must be a non-empty string (Alertmanager and Grafana always send it).")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("`alerts` must be a non-empty list.")
    truncated = body.get("truncatedAlerts") or 0
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError("`truncatedAlerts` must be a whole number.")
    return Notification(
        source=source,
        group_key=group_key,
        group_labels=_string_map(body.get("groupLabels"), "groupLabels"),
        common_labels=_string_map(body.get("commonLabels"), "commonLabels"),
        common_annotations=_string_map(body.get("commonAnnotations"), "commonAnnotations"),
        alerts=tuple(_alert(item, index, now, source) for index, item in enumerate(alerts)),
        truncated_alerts=truncated,
        title=clean(_optional_string(body, "title", "title")),
        message=clean(_optional_string(body, "message", "message")),
    )


def _alert(item: object, index: int, now: datetime, source: str) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(item, Mapping):
        raise PayloadError(f"{where} must be an object.")
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where}.status must be firing or resolved.")
    labels = _string_map(item.get("labels"), f"{where}.labels", required=True)
    annotations = _string_map(item.get("annotations"), f"{where}.annotations")
    fingerprint = item.get("fingerprint")
    if (
        not isinstance(fingerprint, str)
        or not fingerprint
        or len(fingerprint) > MAX_FINGERPRINT_LENGTH
        or clean(fingerprint) != fingerprint
        or any(control in fingerprint for control in _KEPT_CONTROLS)  # kept in text, never in a fingerprint
    ):
        raise PayloadError(
            f"{where}.fingerprint must be a non-empty string of at most {MAX_FINGERPRINT_LENGTH} printable characters."
        )
    starts_at = _alert_time(_timestamp(item.get("startsAt"), f"{where}.startsAt"), f"{where}.startsAt", now)
    ends_at = _timestamp(item["endsAt"], f"{where}.endsAt") if item.get("endsAt") else None
    if ends_at is not None and ends_at.year <= 1:  # Go's zero time: a firing alert's "no end yet"
        ends_at = None
    if ends_at is not None:
        ends_at = _alert_time(ends_at, f"{where}.endsAt", now)
    firing = status == "firing"
    if not firing:
        ends_at = max(ends_at or now, starts_at)
    name = labels.get("alertname", "") or "alert"
    links = {
        key: url
        for key, wire in (
            ("dashboard_url", "dashboardURL"),
            ("panel_url", "panelURL"),
            ("silence_url", "silenceURL"),
            ("image_url", "imageURL"),
        )
        if (url := _url(item, wire, f"{where}.{wire}"))
    }
    return Alert(
        firing=firing,
        fingerprint=fingerprint,
        name=name,
        summary=(annotations.get("summary", "") or name)[:MAX_TITLE_LENGTH],
        description=annotations.get("description", "")[:MAX_DESCRIPTION_LENGTH],
        severity_label=labels.get("severity", "").lower(),
        labels=labels,
        starts_at=starts_at,
        ends_at=None if firing else ends_at,
        generator_url=_url(item, "generatorURL", f"{where}.generatorURL"),
        links=links,
        values=_values(item.get("values"), f"{where}.values") if source == "grafana" else {},
    )


def _timestamp(value: object, where: str) -> datetime:
    try:
        return parse_timestamp(value, where)
    except OverflowError as exc:  # a valid-looking offset that moves year 1 or 9999 out of range
        raise PayloadError(f"`{where}` is out of range.") from exc


def _alert_time(moment: datetime, where: str, now: datetime) -> datetime:
    """``moment`` if within [EARLIEST_ALERT_TIME, now + MAX_ALERT_CLOCK_SKEW], else PayloadError naming ``where``."""
    if moment < EARLIEST_ALERT_TIME or moment > now + MAX_ALERT_CLOCK_SKEW:
        raise PayloadError(
            f"`{where}` is out of range ({format_iso(moment)}): alert times must lie between "
            "2000-01-01T00:00:00Z and one day after now (only `endsAt` may be Go's zero time, meaning no end yet)."
        )
    return moment


def _string_map(value: Any, where: str, required: bool = False) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise PayloadError(f"`{where}` must be an object of strings.")
    cleaned = {clean(k): clean(v) for k, v in value.items()}
    return {k: v for k, v in cleaned.items() if k}


def _optional_string(body: Mapping[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"`{where}` must be a string.")
    return value


def _url(item: Mapping[str, Any], key: str, where: str) -> str:
    """An http(s) link kept for the timeline; anything else (a relative path, junk) is dropped, not refused."""
    url = clean(_optional_string(item, key, where))
    return url if url.startswith(("http://", "https://")) and len(url) <= MAX_URL_LENGTH else ""


def _values(value: Any, where: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) for k, v in value.items()
    ):
        raise PayloadError(f"`{where}` must be an object of numbers.")
    try:
        result = {clean(k): float(v) for k, v in value.items()}
    except OverflowError as exc:  # an integer beyond float range
        raise PayloadError(f"`{where}` must hold finite numbers.") from exc
    if not all(math.isfinite(v) for v in result.values()):
        raise PayloadError(f"`{where}` must hold finite numbers.")
    return result


# -- what a group declares ---------------------------------------------------------------------


def severity_of(alert: Alert, mapping: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP) -> Severity:
    """The incident severity for the alert's ``severity`` label.

    The label is read trimmed of spaces and of brackets around it (`` critical ``, ``[SEV1]``). The
    map decides first; a label spelled as a severity (``P1``, ``SEV-2``, ``sev3``) means that
    severity. A severity spelling beyond the scale is never the mildest by accident: ``P0``/``sev0``
    (worse than 1, used by many teams for their worst case) is sev1, ``sev5`` and beyond sev4.
    Anything else becomes sev4.
    """
    return severity_of_label(alert.severity_label, mapping)


def severity_of_label(severity_label: str, mapping: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP) -> Severity:
    """The incident severity for a ``severity`` label's value, as ``severity_of`` reads it."""
    label = severity_label.lower().strip().strip("[]()").strip()
    mapped = mapping.get(label)
    if mapped is not None:
        return mapped
    parsed = Severity.parse(label)
    if parsed is not None:
        return parsed
    if looks_like_severity(label):
        level = _SEVERITY_LEVEL.search(label)
        if level is not None and int(level.group()) < 1:
            return Severity.SEV1
    return FALLBACK_SEVERITY


def highest_severity(alerts: Iterable[Alert], mapping: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP) -> Severity:
    """The worst severity among ``alerts`` (sev1 beats sev2 ...); sev4 for none."""
    return min((severity_of(a, mapping) for a in alerts), key=_SEVERITY_ORDER.index, default=FALLBACK_SEVERITY)


def group_title(notification: Notification) -> str:
    """``commonAnnotations.summary``, else the group labels (``alertname=X, region=Y``), else the alert name."""
    summary = notification.common_annotations.get("summary", "")
    if summary:
        return summary[:MAX_TITLE_LENGTH]
    labels = ", ".join(f"{k}={v}" for k, v in sorted(notification.group_labels.items()))
    return (labels or notification.common_labels.get("alertname", "") or notification.alerts[0].name)[:MAX_TITLE_LENGTH]


def group_declaration(
    notification: Notification,
    firing: Sequence[Alert],
    mapping: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP,
    previous: str | None = None,
) -> Declare:
    """What a group declares: titled per ``group_title``, severity the highest of ``firing``, service from
    the common ``service`` label (dropped if it is no service name); ``previous`` names the incident the
    group had before."""
    service_label = notification.common_labels.get("service", "")
    description = notification.common_annotations.get("description", "")[:MAX_DESCRIPTION_LENGTH]
    if previous:
        again = f"This alert group fired again after {previous} was resolved."
        description = f"{description}\n\n{again}" if description else again
    return Declare(
        title=group_title(notification),
        severity=highest_severity(firing, mapping),
        description=description,
        service=parse_service_name(service_label) if service_label else None,
    )


_TRUNCATION_SETTING = {"alertmanager": "Alertmanager max_alerts", "grafana": "Grafana maxAlerts"}


def truncation_note(notification: Notification) -> str | None:
    """The timeline note for alerts the sender left out (``truncatedAlerts`` > 0, its ``max_alerts``), else None.

    ``57 more alerts of this group were not sent (Alertmanager max_alerts)``.
    """
    count = notification.truncated_alerts
    if count <= 0:
        return None
    setting = _TRUNCATION_SETTING.get(notification.source, "max_alerts")
    if count == 1:
        return f"1 more alert of this group was not sent ({setting})"
    return f"{count} more alerts of this group were not sent ({setting})"


def entry_data(change: StateChange) -> dict[str, Any]:
    """What a timeline entry keeps of an alert state change (its identity, labels and links)."""
    alert = change.alert
    data: dict[str, Any] = {
        "fingerprint": alert.fingerprint,
        "alert": alert.name,
        "starts_at": alert.starts_at.isoformat(),
        "labels": dict(alert.labels),
        "generator_url": alert.generator_url,
    }
    data.update(alert.links)
    if alert.values:
        data["values"] = dict(alert.values)
    return data


def severity_hint(
    incident: Incident, fired: Iterable[TimelineEntry], mapping: Mapping[str, Severity] = DEFAULT_SEVERITY_MAP
) -> str | None:
    """The line an open incident's channel gets when an alert that joined it is more severe than it, else None.

    People own the severity after the declaration, so nothing changes by itself; the worst joining alert
    (the earliest of equals) is named: ``Alert DiskFull (critical) joined at 14:05 UTC; INC-3 is sev3:
    raise it with `/incident severity sev1` if needed.`` ``fired``: the ``alert_fired`` entries just recorded.
    """
    worst: tuple[int, datetime, TimelineEntry, Severity] | None = None
    for entry in fired:
        if entry.kind is not EntryKind.ALERT_FIRED:
            continue
        labels = entry.data.get("labels") or {}
        label = str(labels.get("severity", "")) if isinstance(labels, Mapping) else ""
        severity = severity_of_label(label, mapping)
        candidate = (_SEVERITY_ORDER.index(severity), entry.occurred_at, entry, severity)
        if worst is None or candidate[:2] < worst[:2]:
            worst = candidate
    if worst is None or worst[0] >= _SEVERITY_ORDER.index(incident.severity):
        return None
    _, occurred_at, entry, severity = worst
    labels = entry.data.get("labels") or {}
    label = str(labels.get("severity", "")) if isinstance(labels, Mapping) else ""
    name = str(entry.data.get("alert") or entry.text or "alert")
    return (
        f"Alert {name} ({label}) joined at {occurred_at.astimezone(UTC):%H:%M} UTC; "
        f"{incident.incident_id} is {incident.severity.value}: "
        f"raise it with `/incident severity {severity.value}` if needed."
    )


# -- the alert list of an incident -------------------------------------------------------------


@dataclass(frozen=True)
class AlertLine:
    """One alert episode of an incident: its name, the labels that tell it apart, when it fired and cleared."""

    name: str
    labels: str
    fired_at: datetime
    cleared_at: datetime | None


def alert_list(entries: Iterable[TimelineEntry]) -> list[AlertLine]:
    """The incident's alert episodes in firing order, from its ``alert_fired``/``alert_cleared`` entries.

    ``labels`` lists (``k=v, ...``, sorted) the labels not shared by every episode, without ``alertname``.
    """
    episodes: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        if entry.kind not in (EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED):
            continue
        key = (str(entry.data.get("fingerprint", "")), str(entry.data.get("starts_at", "")))
        episode = episodes.setdefault(
            key, {"name": "", "labels": {}, "fired": None, "cleared": None, "starts_at": key[1]}
        )
        episode["name"] = episode["name"] or str(entry.data.get("alert") or entry.text or "alert")
        episode["labels"] = episode["labels"] or dict(entry.data.get("labels") or {})
        if entry.kind is EntryKind.ALERT_FIRED:
            episode["fired"] = entry.occurred_at
        else:
            episode["cleared"] = entry.occurred_at
    if not episodes:
        return []
    label_sets = [set(e["labels"].items()) for e in episodes.values()]
    common = set.intersection(*label_sets) if len(label_sets) > 1 else set(label_sets[0])
    lines = [
        AlertLine(
            name=e["name"],
            labels=", ".join(
                f"{k}={v}" for k, v in sorted(e["labels"].items()) if (k, v) not in common and k != "alertname"
            ),
            fired_at=e["fired"] or _started(e["starts_at"]) or e["cleared"],
            cleared_at=e["cleared"],
        )
        for e in episodes.values()
    ]
    return sorted(lines, key=lambda line: (line.fired_at, line.name, line.labels))


def _started(text: str) -> datetime | None:
    """The episode's ``startsAt`` kept in the entry (its fired entry may be on another incident's timeline)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
