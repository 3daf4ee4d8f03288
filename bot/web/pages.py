"""What each page and API answer shows, read through the use cases and rendered with the views that exist.

Every function here only reads, runs in the readers' pool (``Readers``), and takes the ``Viewer``: a private
incident's details are for its members (``bot.domain.privacy``); anybody else, the bearer token included,
sees ``INC-n`` and "private incident", as in Slack and the CLI. People are written as ``@name`` (the name
Slack sent, else the id), never Slack markup; Jinja escapes every value (autoescape), so what people typed
shows as text.
"""

from __future__ import annotations

import bisect
import importlib.util
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cmarkgfm
import structlog
from cmarkgfm.cmark import Options

from bot.domain.alerts import alert_list
from bot.domain.changes import ChangeEvent
from bot.domain.corrections import corrected_incident, correction_note, timeline_view
from bot.domain.model import OPEN_STATUSES, Incident, IncidentSummary, Severity, Status, TimelineEntry
from bot.domain.postmortem import followup_state
from bot.domain.privacy import PRIVATE_TITLE, check_may_see, hidden_summary
from bot.domain.timeline import collect_names, describe, keep_text, plain_mention
from bot.domain.timeparse import format_duration, format_iso, format_utc
from bot.errors import TemplateError, UsageError
from bot.usecases.budgets import BudgetUseCases
from bot.usecases.followups import FollowupUseCases
from bot.usecases.incidents import IncidentUseCases
from bot.views.followups import followup_records
from bot.views.postmortem import PostmortemRenderer
from bot.views.replies import status_text
from bot.views.reports import build_report, parse_since, report_document, write_chart
from bot.views.shapes import budget_json, incident_json, summary_json, timeline_file, timeline_json
from bot.web.security import Viewer

log = structlog.get_logger("incidentbot.web")

LIST_LIMIT = 500
"""How many incidents, newest first, the list and its filters look through."""
RECENT_SHOWN = 100
"""How many closed incidents the list shows under the open ones."""
TIMELINE_SHOWN = 1000
"""How many timeline entries, the latest, an incident page lists unless asked for all (``?timeline=all``); the
postmortem below it and the JSON download always hold every entry."""
PERIODS = ("7d", "30d", "90d", "365d")
PERIOD_DAYS = {period: parse_since(period) for period in PERIODS}
DEFAULT_REPORT_PERIOD = "90d"

# CommonMark with GFM tables and strikethrough (cmark-gfm, GitHub's C implementation of the reference parser, as
# PyPI's readme_renderer uses it), in its safe mode: raw HTML off (cmark-gfm without CMARK_OPT_UNSAFE writes
# "<!-- raw HTML omitted -->" for a template's own tags; what people typed is escaped for Markdown before, so a
# "<script>" in the draft is text) and links to javascript:, vbscript:, file: and data: (but images) emptied. No
# autolinks (a bare URL stays text, as before) and "~~" only for strikethrough. A line break in a paragraph stays a
# line break (HARDBREAKS): the draft's header lines (**Date:**, **Status:**, ...) are one paragraph in Markdown
# but read as lines. markdown-it-py rendered it before: the same HTML for the bundled template, 40 to 80 times
# slower on a 10,000-entry draft (bench/README.md, row W).
_MARKDOWN_OPTIONS = Options.CMARK_OPT_HARDBREAKS | Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE
_MARKDOWN_EXTENSIONS = ["table", "strikethrough"]


def markdown_html(text: str) -> str:
    """``text`` (CommonMark + tables + ``~~strikethrough~~``) as HTML with raw HTML disabled and unsafe link
    targets emptied: safe to put into a page as it is."""
    return str(cmarkgfm.markdown_to_html_with_extensions(text, _MARKDOWN_OPTIONS, _MARKDOWN_EXTENSIONS))


@dataclass(frozen=True)
class WebReads:
    """What the web view reads, given by ``bot.app``: the use cases and the postmortem renderer."""

    incidents: IncidentUseCases
    budgets: BudgetUseCases
    followups: FollowupUseCases
    renderer: PostmortemRenderer
    cache: TimelineCache = field(default_factory=lambda: TimelineCache())


@dataclass(frozen=True)
class Filters:
    """The list's filters, as given in the query string (empty: any)."""

    status: str = ""
    severity: str = ""
    service: str = ""
    period: str = ""
    q: str = ""

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        """Filters from the query string; raises UsageError naming a value that is not valid."""
        found = cls(*(query.get(k, "").strip() for k in ("status", "severity", "service", "period", "q")))
        if found.status and found.status not in {s.value for s in Status} | {"open"}:
            raise UsageError(f"status {found.status!r} is not a status: use open or one of {_statuses()}.")
        if found.severity and found.severity not in {s.value for s in Severity}:
            raise UsageError(f"severity {found.severity!r} is not a severity: use sev1, sev2, sev3 or sev4.")
        if found.period:
            web_period(found.period)
        return found

    def keep(self, summary: IncidentSummary, now: datetime) -> bool:
        if self.status == "open" and not summary.status.is_open:
            return False
        if self.status not in ("", "open") and summary.status.value != self.status:
            return False
        if self.severity and summary.severity.value != self.severity:
            return False
        if self.service and (summary.service or "") != self.service:
            return False
        if self.period and summary.declared_at < now - (PERIOD_DAYS.get(self.period) or parse_since(self.period)):
            return False
        return not self.q or self.q.casefold() in summary.title.casefold()


def _statuses() -> str:
    return ", ".join(s.value for s in Status)


def web_period(text: str) -> str:
    """``text`` when it is a report period in the API's pattern ``^[0-9]+[dwmDWM]$`` (openapi.yaml: ASCII digits,
    while the CLI's ``--since`` also reads full-width ones), N from 1 to 3650. Raises UsageError worded for a URL."""
    refusal = UsageError(f"since={text[:40]!r} is not a period; use e.g. 90d, 12w or 6m (at most 3650 days).")
    if not text.isascii():
        raise refusal
    try:
        parse_since(text)
    except UsageError:
        raise refusal from None
    return text


def seen_summaries(
    reads: WebReads, viewer: Viewer, limit: int = LIST_LIMIT, statuses: Sequence[Status] | None = None
) -> list[IncidentSummary]:
    """The newest ``limit`` incidents in ``statuses`` (all if None) as ``viewer`` may see them (private ones they
    are not in: "private incident"). The statuses are the database's filter, as the CLI's ``list --status``."""
    if viewer.user_id is not None:
        return reads.incidents.summaries_seen_by(viewer.user_id, statuses, limit=limit)
    return [hidden_summary(s) for s in reads.incidents.summaries(statuses, limit=limit)]


def budget_states(reads: WebReads) -> dict[str, str]:
    """Each catalogued service's budget state: ``exhausted`` or ``N.N% left``."""
    if not reads.budgets.slos.slos:
        return {}
    return {
        r.slo.service: "exhausted" if r.exhausted else f"{r.remaining_share * 100:.1f}% left"
        for r in reads.budgets.reports()
    }


def index_page(reads: WebReads, viewer: Viewer, filters: Filters) -> dict[str, Any]:
    """``/``: open incidents (severity, status, age, lead, service, budget state), then recent closed ones."""
    now = reads.incidents.clock()
    # Every open incident, however many closed ones are newer (a wall screen must not lose one), then the newest
    # LIST_LIMIT of the rest.
    open_seen = seen_summaries(reads, viewer, LIST_LIMIT, OPEN_STATUSES)
    closed_seen = seen_summaries(reads, viewer, LIST_LIMIT, [s for s in Status if not s.is_open])
    all_seen = sorted([*open_seen, *closed_seen], key=lambda s: s.number, reverse=True)
    shown = [s for s in all_seen if filters.keep(s, now)]
    budgets = budget_states(reads)
    open_ones = [s for s in shown if s.status.is_open]
    recent = [s for s in shown if not s.status.is_open][:RECENT_SHOWN]
    # Names only for the rows shown, and never a private incident's the reader cannot see (its lead stays an id).
    named = [s.number for s in (*open_ones, *recent) if s.lead and s.title != PRIVATE_TITLE]
    mention = plain_mention(reads.incidents.lead_names(named))

    def row(s: IncidentSummary) -> dict[str, Any]:
        return {
            **summary_json(s),
            "service": s.service,
            "age": format_duration(now - s.declared_at),
            "lead_name": mention(s.lead) if s.lead else "",
            "budget": budgets.get(s.service or "", ""),
        }

    return {
        "open": [row(s) for s in open_ones],
        "recent": [row(s) for s in recent],
        "filters": filters,
        "statuses": ["open", *(s.value for s in Status)],
        "severities": [s.value for s in Severity],
        "services": sorted({s.service for s in all_seen if s.service}),
        "periods": PERIODS,
        "limited": len(closed_seen) >= LIST_LIMIT,
        "limit": LIST_LIMIT,
    }


def _time(moment: datetime) -> dict[str, str]:
    return {"iso": format_iso(moment), "utc": format_utc(moment)}


@dataclass(frozen=True)
class WholeTimeline:
    """What an incident page takes from every entry: the names Slack sent, the alert history and the postmortem
    draft (HTML, or why a team's template failed)."""

    names: dict[str, str]
    alerts: list[dict[str, Any]]
    postmortem_html: str
    postmortem_error: str


CacheKey = tuple[int, str, tuple[ChangeEvent, ...], Incident]
"""What a ``WholeTimeline`` is kept under: the count of the incident's entries, the UTC minute while it is open (the
UTC hour once resolved), its recent changes and the incident's state as read (corrected)."""


@dataclass(frozen=True)
class KeptTimeline:
    """One incident's whole timeline as last read (``entries``: every entry as recorded, chronological: by
    occurrence, then recording, as ``list_entries`` orders them) and, when built, its ``WholeTimeline``."""

    entries: list[TimelineEntry]
    whole_key: CacheKey | None = None
    whole: WholeTimeline | None = None


def _chronological(entry: TimelineEntry) -> tuple[datetime, datetime, int]:
    """The store's order of a timeline (occurred, recorded, row id): the entry number follows the row id."""
    return (entry.occurred_at, entry.recorded_at, entry.number or 0)


class TimelineCache:
    """Per process, the whole timelines of the incidents viewed lately (at most ``size`` incidents and about
    ``max_entries`` entries in all; the latest one is kept whatever its length), so that a page viewed again or
    after a new entry reads only the entries recorded since (the timeline is append-only: corrections and strikes
    are entries too, ``IncidentUseCases.timeline_after``), and the ``WholeTimeline`` built from one, kept under
    the count of its entries, the UTC hour (the draft's "generated" time, overdue follow-ups and the budget window
    move with the clock), the recent change events of its service (a deploy reported late is in the draft at once)
    and the incident's state (a follow-up's tracker link, set without an entry)."""

    def __init__(self, size: int = 32, max_entries: int = 50_000) -> None:
        self.size = size
        self.max_entries = max_entries
        self._items: OrderedDict[int, KeptTimeline] = OrderedDict()
        self._lock = threading.Lock()

    def entries(self, number: int) -> list[TimelineEntry]:
        """The entries kept for INC-``number`` (never changed in place: a newer read replaces the list), or []."""
        with self._lock:
            kept = self._items.get(number)
            return kept.entries if kept is not None else []

    def keep_entries(self, number: int, entries: list[TimelineEntry]) -> None:
        """Keep ``entries`` (the whole timeline, chronological) for INC-``number``; its ``WholeTimeline`` stays if
        the entries are the same list."""
        with self._lock:
            kept = self._items.get(number)
            if kept is None or kept.entries is not entries:
                kept = KeptTimeline(entries)
            self._keep(number, kept)

    def get(self, number: int, key: CacheKey) -> WholeTimeline | None:
        with self._lock:
            found = self._items.get(number)
            if found is None or found.whole is None or found.whole_key != key:
                return None
            self._items.move_to_end(number)
            return found.whole

    def put(self, number: int, key: CacheKey, value: WholeTimeline) -> None:
        with self._lock:
            kept = self._items.get(number)
            self._keep(number, KeptTimeline(kept.entries if kept is not None else [], key, value))

    def _keep(self, number: int, kept: KeptTimeline) -> None:
        self._items[number] = kept
        self._items.move_to_end(number)
        total = sum(len(item.entries) for item in self._items.values())
        while len(self._items) > 1 and (len(self._items) > self.size or total > self.max_entries):
            _, dropped = self._items.popitem(last=False)
            total -= len(dropped.entries)


def whole_entries(reads: WebReads, number: int) -> tuple[Incident, list[TimelineEntry]]:
    """INC-``number`` (corrected, as views show it) and its whole timeline as recorded, chronological (what
    ``IncidentUseCases.timeline`` returns), reading only the entries recorded since the cache last kept it.
    Raises IncidentNotFound."""
    kept = reads.cache.entries(number)
    incident, recorded, count = reads.incidents.timeline_after(number, len(kept))
    if kept and count == len(kept) + len(recorded):
        entries = kept
        if recorded:
            entries = list(kept)
            for entry in recorded:
                bisect.insort(entries, entry, key=_chronological)
    else:  # first read, or the store no longer has what was kept (a database restored): read it all
        if kept:
            incident, recorded, count = reads.incidents.timeline_after(number, 0)
        entries = sorted(recorded, key=_chronological)
    reads.cache.keep_entries(number, entries)
    return corrected_incident(incident, entries), entries


def whole_timeline_of(
    reads: WebReads,
    incident: Incident,
    entries: Sequence[TimelineEntry],
    changes: Sequence[ChangeEvent] | None = None,
) -> WholeTimeline:
    """The ``WholeTimeline`` of ``incident`` from all its ``entries`` as recorded (and its recent ``changes``)."""
    markdown, error = postmortem_document(reads, incident, entries, changes)
    return WholeTimeline(
        collect_names(entries),
        [
            {
                "name": a.name,
                "labels": a.labels,
                "fired": _time(a.fired_at),
                "cleared": _time(a.cleared_at) if a.cleared_at else None,
            }
            for a in alert_list(entries)
        ],
        markdown_html(markdown) if markdown else "",
        error,
    )


def incident_page(reads: WebReads, viewer: Viewer, number: int, whole_timeline: bool = False) -> dict[str, Any]:
    """``/incidents/INC-n``: status, IRT with roles, hypotheses with outcomes, follow-ups, alert history, the
    timeline (UTC; the latest TIMELINE_SHOWN entries unless ``whole_timeline``) and the postmortem draft as HTML.
    What needs every entry (``WholeTimeline``) is read once per state of the timeline (``TimelineCache``).
    Raises IncidentNotFound, PrivateIncident."""
    now = reads.incidents.clock()
    incident, every = whole_entries(reads, number)
    check_may_see(incident, viewer.user_id)
    latest, count = (every if whole_timeline else every[-TIMELINE_SHOWN:]), len(every)
    # A change event is not an entry: the postmortem's "Recent changes" are read each time and part of the key.
    changes = reads.incidents.recent_changes(incident)
    # While it is open, the draft's impact and error budget are charged up to now: kept for the minute (fresh tester
    # break17: they stood still for up to an hour); once resolved they are fixed and the hour is enough.
    period = f"{now:%Y-%m-%d %H}" if incident.resolved_at is not None else f"{now:%Y-%m-%d %H:%M}"
    key: CacheKey = (count, period, tuple(changes), incident)
    whole = reads.cache.get(number, key)
    if whole is None:
        whole = whole_timeline_of(reads, incident, every, changes)
        reads.cache.put(number, key, whole)
    mention = plain_mention({**whole.names, **collect_names(latest)})
    _, review = reads.incidents.review(number)
    update = reads.incidents.latest_update(number)
    found = reads.followups.listing(number)
    states = {item.followup.number: followup_state(item.followup, now.date()) for item in found.items}
    timeline = [
        {
            "number": entry.number,
            "at": _time(entry.occurred_at),
            "text": describe(entry, mention, keep_text),
            "actor": mention(entry.actor),
            "note": correction_note(entry) or "",
            "struck": "struck_by" in entry.data,
            "kind": entry.kind.value,
        }
        for entry in timeline_view(latest)
    ]
    return {
        "incident": incident_json(incident, review),
        "title": incident.title,
        "status_text": status_text(incident, now, mention, keep_text, review, update),
        "members": [
            {"who": mention(m.user_id), "role": m.role or "", "joined": _time(m.joined_at)} for m in incident.members
        ],
        "lead": mention(incident.lead) if incident.lead else "",
        "hypotheses": [
            {
                "number": h.number,
                "text": h.text,
                "status": h.status.value,
                "outcome": h.outcome,
                "by": mention(h.proposed_by),
            }
            for h in incident.hypotheses
        ],
        "followups": [
            {**record, "owner_shown": mention(record["owner"]) if record["owner"] else "unassigned"}
            | {"shown_state": states.get(record["number"], record["state"])}
            for record in followup_records(found, now.date())
        ],
        "alerts": whole.alerts,
        "timeline": timeline,
        "timeline_hidden": count - len(latest),
        "postmortem_html": whole.postmortem_html,
        "postmortem_error": whole.postmortem_error,
    }


def postmortem_document(
    reads: WebReads,
    incident: Incident,
    entries: Sequence[TimelineEntry],
    changes: Sequence[ChangeEvent] | None = None,
) -> tuple[str, str]:
    """The postmortem draft (Markdown) of ``incident`` and "", or "" and why a team's template failed."""
    try:
        return reads.renderer.render(reads.incidents.postmortem_of(incident, entries, changes)), ""
    except TemplateError as exc:
        return "", exc.user_message


def visible_incident(reads: WebReads, viewer: Viewer, number: int) -> None:
    """Raise IncidentNotFound or PrivateIncident unless ``viewer`` may read INC-``number``'s details."""
    check_may_see(reads.incidents.get(number), viewer.user_id)


def timeline_document(reads: WebReads, viewer: Viewer, number: int) -> dict[str, Any]:
    """The CLI's ``timeline --format json`` of INC-``number``. Raises IncidentNotFound, PrivateIncident."""
    incident, entries = whole_entries(reads, number)
    check_may_see(incident, viewer.user_id)
    return timeline_json(incident, entries)


def timeline_file_text(reads: WebReads, viewer: Viewer, number: int) -> str:
    """``timeline_file`` of INC-``number``: the ``timeline.json`` download, byte for byte what
    ``incidentbot timeline INC-n --format json`` prints. Raises IncidentNotFound, PrivateIncident."""
    incident, entries = whole_entries(reads, number)
    check_may_see(incident, viewer.user_id)
    return "".join(timeline_file(incident, collect_names(entries), entries))


def incident_document(reads: WebReads, viewer: Viewer, number: int) -> dict[str, Any]:
    """``incident_json`` of INC-``number``. Raises IncidentNotFound, PrivateIncident."""
    incident, review = reads.incidents.review(number)
    check_may_see(incident, viewer.user_id)
    return incident_json(incident, review)


def postmortem_markdown(reads: WebReads, viewer: Viewer, number: int) -> str:
    """The postmortem draft of INC-``number`` (Markdown). Raises IncidentNotFound, PrivateIncident, TemplateError."""
    visible_incident(reads, viewer, number)
    return reads.renderer.render(reads.incidents.postmortem(number))


def list_document(reads: WebReads, viewer: Viewer, statuses: Sequence[Status] | None, limit: int) -> dict[str, Any]:
    """The CLI's ``list --format json``: ``{"incidents": [...]}``, newest first, as ``viewer`` may see them."""
    return {"incidents": [summary_json(s) for s in seen_summaries(reads, viewer, limit, statuses)]}


def report_data(reads: WebReads, period: str) -> dict[str, Any]:
    """The CLI's ``report --format json`` over ``period`` (``90d``...), private incidents' service hidden.
    Raises UsageError for a period that is not one."""
    now = reads.incidents.clock()
    since = now - parse_since(period)
    report = build_report(reads.incidents.with_timelines(since), reads.budgets.slos, since, now, hide_private=True)
    return report_document(report)


CHARTS = importlib.util.find_spec("matplotlib") is not None
"""Whether the report's chart can be drawn (the ``charts`` extra, matplotlib, is installed)."""
_CHART_LOCK = threading.Lock()
"""matplotlib's pyplot keeps global state: one chart is drawn at a time."""


def report_chart(reads: WebReads, period: str) -> bytes | None:
    """The chart of ``incidentbot report --chart FILE.svg`` over ``period``, as SVG, private incidents' service
    hidden; None without matplotlib. Raises UsageError for a period that is not one."""
    if not CHARTS:
        return None
    now = reads.incidents.clock()
    since = now - parse_since(period)
    report = build_report(reads.incidents.with_timelines(since), reads.budgets.slos, since, now, hide_private=True)
    with tempfile.TemporaryDirectory(prefix="incidentbot-chart-") as folder, _CHART_LOCK:
        path = Path(folder) / "report.svg"
        write_chart(report, path, "svg")
        return path.read_bytes()


def slo_data(reads: WebReads) -> dict[str, Any]:
    """The CLI's ``slo --format json``: ``{"services": [...]}`` (empty without a catalogue)."""
    if not reads.budgets.slos.slos:
        return {"services": []}
    return {"services": [budget_json(r) for r in reads.budgets.reports()]}


def minutes_text(value: float | None) -> str:
    """``26.5 min``, or ``-`` for none (how the report's text writes minutes)."""
    return "-" if value is None else f"{value:g} min"
