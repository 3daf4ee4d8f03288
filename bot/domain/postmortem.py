"""What a blameless postmortem draft says, computed from an incident and its timeline.

The result is plain data for a template: every value is already a string or a list of plain
objects, so templates stay free of logic and user text is never treated as template code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from bot.domain.alerts import alert_list
from bot.domain.blameless import Finding, Linter
from bot.domain.changes import ChangeEvent, describe_change
from bot.domain.corrections import apply_corrections, corrected_incident
from bot.domain.model import (
    EntryKind,
    Followup,
    FollowupState,
    Hypothesis,
    HypothesisStatus,
    Incident,
    PostmortemStatus,
    Status,
    TimelineEntry,
    sorted_timeline,
)
from bot.domain.review import REVIEW_KINDS, PostmortemReview, review_state
from bot.domain.slo import ImpactSpan, Slo, format_budget_time, impact_spans, incident_burn
from bot.domain.timeline import (
    Escape,
    Mention,
    Milestones,
    collect_names,
    describe,
    ends_impact,
    find_milestones,
    format_percent,
    plain_mention,
    plain_references,
)
from bot.domain.timeparse import ensure_utc, format_date, format_day, format_duration, format_utc

BOT_REMINDERS = frozenset(
    {EntryKind.NUDGE, EntryKind.FOLLOWUP_REMINDER, EntryKind.POSTMORTEM_REMINDER, EntryKind.POSTMORTEM_PUBLISHED}
)
"""The bot's own reminders and its records of where the postmortem was published: on the timeline (so each
is sent once), left out of the draft's (a publication listed in the document it published would change that
document, and the next re-publish would never find it unchanged)."""
LEFT_OUT_OF_TIMELINE = BOT_REMINDERS | frozenset(REVIEW_KINDS)
"""Entries the draft's timeline leaves out: the bot's own, and the postmortem's own review (its header
says where the review stands)."""
REVIEW_STATUS_WORDS = {
    PostmortemStatus.DRAFT: "Draft",
    PostmortemStatus.IN_REVIEW: "In review",
    PostmortemStatus.PUBLISHED: "Published",
}
"""How the draft's header names a postmortem status."""
MAX_TIMELINE_LINES = 1000
"""Timeline entries shown in a postmortem draft (first and last halves); the database keeps all."""
MAX_NOTES = 200
"""Notes and pinned messages listed under Supporting information."""
SLOW_ASSEMBLY = timedelta(minutes=15)
SLOW_MITIGATION = timedelta(minutes=30)


@dataclass(frozen=True)
class Responder:
    name: str
    role: str


@dataclass(frozen=True)
class HypothesisView:
    number: int
    text: str
    outcome: str
    detail: str
    proposed_at: str


@dataclass(frozen=True)
class Metric:
    name: str
    value: str
    at: str


@dataclass(frozen=True)
class ActionItem:
    """One follow-up as the draft's table shows it: ``state`` is ``open``, ``overdue`` (open past its
    due day when the draft was generated), ``done 2026-12-01`` (``(late)`` after its due day) or
    ``dropped``; ``due`` a UTC date or ``-``; ``link`` the tracker issue's URL (or key), or ``-``."""

    number: int
    text: str
    owner: str
    state: str = "open"
    due: str = "-"
    link: str = "-"


@dataclass(frozen=True)
class TimelineLine:
    time: str
    date: str
    actor: str
    text: str
    kind: str
    backdated: bool
    corrected: bool = False
    """Changed by a ``correct`` entry since it was recorded (the record keeps both: ``incidentbot timeline``)."""


@dataclass(frozen=True)
class AlertView:
    """One alert episode: name, the labels that tell it apart, fired and cleared (UTC, or "still firing")."""

    name: str
    labels: str
    fired: str
    cleared: str


@dataclass(frozen=True)
class Lessons:
    went_well: list[str] = field(default_factory=list)
    went_wrong: list[str] = field(default_factory=list)
    got_lucky: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ErrorBudget:
    """What the incident cost its service's error budget, as sentences."""

    service: str
    objective: str
    budget: str
    impact: list[str]
    consumed: str
    percent_of_budget: str
    exhausted: bool
    policy: str


@dataclass(frozen=True)
class PostmortemData:
    """Everything the default template shows; custom templates may use any of it."""

    incident_id: str
    title: str
    severity: str
    incident_status: str
    date: str
    lead: str
    responders: list[Responder]
    summary: str
    description: str
    detected_at: str
    detected_by: str
    root_cause: str
    root_cause_note: str
    triggers: list[str]
    mitigations: list[str]
    resolution: str
    hypotheses: list[HypothesisView]
    metrics: list[Metric]
    action_items: list[ActionItem]
    lessons: Lessons
    timeline: list[TimelineLine]
    notes: list[str]
    generated_at: str
    status: str = "Draft"
    """Where the postmortem is in its review: ``Draft``, ``In review`` or ``Published`` (``postmortem status``)."""
    owner: str = ""
    """The postmortem owner as mentioned (``@bob``), "" before ``postmortem owner`` names one."""
    review_meeting: str = ""
    """The review as last scheduled (``2026-11-24 14:00 UTC (60 min) with @alice, @netops``), "" before
    ``postmortem review``."""
    service: str = ""
    error_budget: ErrorBudget | None = None
    recent_changes: list[str] = field(default_factory=list)
    review: list[Finding] = field(default_factory=list)
    alerts: list[AlertView] = field(default_factory=list)
    generated_summary: str = ""
    """A first paragraph written from the data (what broke, for how long, root cause, mitigation), for
    people to rewrite; ``summary`` is the resolve note as typed."""
    trigger: str = ""
    """The likely trigger suggested from the change events and the rollback, or "" when nothing points at one."""
    trigger_source: str = ""
    """Where ``trigger`` comes from: ``change events`` (with the rollback, if any) or ``the rollback``."""
    impact: str = ""
    """The recorded impact in one sentence: shares failing, spans and durations, bad-request minutes, the
    share of the budget (with an SLO); "" when no ``impact N%`` was recorded."""


def build_postmortem(
    incident: Incident,
    entries: Sequence[TimelineEntry],
    generated_at: datetime,
    slo: Slo | None = None,
    changes: Sequence[ChangeEvent] = (),
) -> PostmortemData:
    """Assemble the postmortem draft's content for ``incident`` (``slo``: its service's, if catalogued).

    ``entries`` as recorded or already corrected: the draft reads them as corrected (``bot.domain.corrections``),
    struck entries and the corrections themselves left out, corrected entries marked in its timeline.
    """
    incident, entries = corrected_incident(incident, entries), apply_corrections(entries)
    names = collect_names(entries)
    incident, ordered = _as_typed(incident, sorted_timeline(list(entries)), plain_references(names))
    mention = plain_mention(names)
    milestones = find_milestones(ordered)
    root = incident.root_cause
    spans = impact_spans(ordered, generated_at)
    trigger_source, trigger = _trigger(ordered, changes)
    state = review_state(ordered)
    return PostmortemData(
        incident_id=incident.incident_id,
        title=incident.title,
        severity=incident.severity.value,
        incident_status=incident.status.value,
        date=format_date(incident.declared_at),
        lead=mention(incident.lead) if incident.lead else "(no lead named)",
        responders=_responders(incident, mention),
        summary=incident.summary,
        description=incident.description,
        detected_at=format_utc(milestones.detected_at),
        detected_by=mention(incident.declared_by),
        root_cause=root.text if root else "",
        root_cause_note=root.outcome if root else "",
        triggers=[e.text for e in ordered if e.kind is EntryKind.ROLLBACK],
        mitigations=[
            f"{_hhmm(e.occurred_at)} {describe(e, mention)}"
            for e in ordered
            if e.kind in (EntryKind.MITIGATION, EntryKind.ROLLBACK)
        ],
        resolution=_resolution(incident, milestones),
        hypotheses=[_hypothesis_view(h) for h in incident.hypotheses],
        metrics=_metrics(milestones),
        action_items=[_action_item(f, mention, generated_at) for f in incident.followups],
        lessons=_lessons(incident, ordered, milestones),
        timeline=_capped_timeline(
            [e for e in ordered if e.kind not in LEFT_OUT_OF_TIMELINE], mention, incident.incident_id
        ),
        notes=_capped_notes([e for e in ordered if e.kind in (EntryKind.NOTE, EntryKind.PINNED)], mention, incident),
        generated_at=format_utc(generated_at),
        status=REVIEW_STATUS_WORDS[state.status],
        owner=mention(state.owner) if state.owner else "",
        review_meeting=_review_meeting(state, mention),
        service=incident.service or "",
        error_budget=_error_budget(slo, incident, ordered, generated_at) if slo else None,
        recent_changes=[describe_change(c) for c in changes],
        review=_review(incident, ordered, names),
        alerts=[
            AlertView(
                a.name,
                a.labels,
                format_utc(a.fired_at),
                format_utc(a.cleared_at) if a.cleared_at else "still firing",
            )
            for a in alert_list(ordered)
        ],
        generated_summary=_generated_summary(incident, ordered, milestones, spans),
        trigger=trigger,
        trigger_source=trigger_source,
        impact=_impact(spans, generated_at, slo),
    )


def _review_meeting(state: PostmortemReview, mention: Mention) -> str:
    review = state.review
    if review is None:
        return ""
    people = [mention(user) for user in review.attendees]
    people += [f"@{review.group_handles.get(group, group)}" for group in review.groups]
    with_whom = f" with {', '.join(people)}" if people else ""
    return f"{format_utc(review.at)} ({review.minutes} min){with_whom}"


_WORD = re.compile(r"[a-z0-9][a-z0-9_.-]{2,}")
_COMMON_WORDS = frozenset({"the", "and", "for", "from", "all", "back", "rolled", "rollback", "reverted", "revert"})


def _words(text: str) -> set[str]:
    """The words of ``text`` that can name a change (three characters or more, lower-cased, not ``rolled``...)."""
    return {word.strip(".-") for word in _WORD.findall(text.lower())} - _COMMON_WORDS


def _trigger(ordered: list[TimelineEntry], changes: Sequence[ChangeEvent]) -> tuple[str, str]:
    """(source, sentence): the change the first rollback names (most words in common with its text; none in
    common: the change closest before detection) among ``changes`` (the service's in the 2 hours before
    detection), with that rollback; the rollback alone without change events; ("", "") without either."""
    rollback = next((e for e in ordered if e.kind is EntryKind.ROLLBACK), None)
    rolled_back = f"rolled back at {_hhmm(rollback.occurred_at)} ({rollback.text})" if rollback else ""
    if changes:
        named = _words(rollback.text) if rollback else set()
        likely = max(changes, key=lambda c: (len(named & _words(c.description)), ensure_utc(c.occurred_at)))
        others = len(changes) - 1
        more = f" ({others} other change(s) in the 2 hours before: see Recent changes)" if others else ""
        return "change events", describe_change(likely) + (f"; {rolled_back}" if rollback else "") + more
    if rollback is not None:
        return "the rollback", f"the change {rolled_back}"
    return "", ""


def _impact(spans: list[ImpactSpan], now: datetime, slo: Slo | None) -> str:
    """``50% of requests failing 13:42 to 14:35 (53 min), 26.5 bad-request minutes, 122.7% of the 30-day budget``
    (the span's times joined by an en dash, U+2013; "since 13:42 (... so far, ...)" while still failing)."""
    if not spans:
        return ""
    parts = []
    for index, span in enumerate(spans):
        share = format_percent(span.fraction * 100) + ("" if index else " of requests failing")
        took = format_duration(span.end - span.start)
        if span.end >= now:  # cut at generation: still failing
            parts.append(f"{share} since {_hhmm(span.start)} ({took} so far, not mitigated when generated)")
        else:
            parts.append(f"{share} {_hhmm(span.start)}\u2013{_hhmm(span.end)} ({took})")
    bad = sum((span.bad_time for span in spans), timedelta())
    parts.append(f"{bad.total_seconds() / 60:.1f} bad-request minutes")
    if slo is not None and slo.budget > timedelta():
        parts.append(f"{bad / slo.budget * 100:.1f}% of the {slo.window.days}-day budget")
    return ", ".join(parts)


def _generated_summary(
    incident: Incident, ordered: list[TimelineEntry], milestones: Milestones, spans: list[ImpactSpan]
) -> str:
    """What broke, for how long, the root cause and how it was mitigated, in a few plain sentences."""
    on = f" on {incident.service}" if incident.service else ""
    what = f"A {incident.severity.value} incident{on}: {incident.title}."
    detected = _hhmm(milestones.detected_at)
    peak = max((span.fraction for span in spans), default=0.0)
    failing = ""
    if peak:
        worst = " at its worst" if len({span.fraction for span in spans}) > 1 else ""
        failing = f", with {format_percent(peak * 100)} of requests failing{worst}"
    end = milestones.mitigated_at
    if end is None:
        how_long = f"It is not mitigated yet: the impact began at detection, {detected} UTC{failing}."
    else:
        until = "mitigation" if end != milestones.resolved_at else "resolution"
        how_long = (
            f"The impact lasted {format_duration(end - milestones.detected_at)}, from detection at {detected} UTC "
            f"to {until} at {_hhmm(end)}{failing}."
        )
    root = incident.root_cause
    cause = f"Root cause: {root.text}." if root else "No root cause has been confirmed yet."
    credited = _credited_mitigation(ordered, milestones)
    resolved = f"resolved at {_hhmm(milestones.resolved_at)} UTC" if milestones.resolved_at else ""
    if credited is not None:
        move = "the rollback " if credited.kind is EntryKind.ROLLBACK else ""
        fix = f'It was mitigated by {move}"{credited.text}"'
    else:
        fix = ""
    if fix and resolved:
        ending = f"{fix} and {resolved}."
    elif fix:
        ending = f"{fix}; it is not resolved yet (status: {incident.status.value})."
    elif resolved:
        ending = f"It was {resolved}." if end != milestones.resolved_at else ""
    else:
        ending = ""
    return " ".join(part for part in (what, how_long, cause, ending) if part)


def _action_item(followup: Followup, mention: Mention, now: datetime) -> ActionItem:
    return ActionItem(
        followup.number,
        followup.text,
        mention(followup.owner) if followup.owner else "unassigned",
        followup_state(followup, now.astimezone(UTC).date()),
        format_day(followup.due) if followup.due else "-",
        followup.tracker_url or followup.tracker_key or "-",
    )


def followup_state(followup: Followup, today: date) -> str:
    """``open``, ``overdue``, ``done 2026-12-01``, ``done 2026-12-20 (late)`` or ``dropped`` (``today``: UTC)."""
    if followup.state is FollowupState.DONE and followup.done_at is not None:
        late = " (late)" if followup.done_on_time() is False else ""
        return f"done {format_date(followup.done_at)}{late}"
    if followup.is_overdue(today):
        return "overdue"
    return followup.state.value


def _error_budget(slo: Slo, incident: Incident, ordered: list[TimelineEntry], now: datetime) -> ErrorBudget:
    """Impact x duration against (1 - SLO) x window, span by span."""
    burn = incident_burn(slo, incident, ordered, now)
    impact = [
        f"{format_percent(span.fraction * 100)} of requests failing from {_hhmm(span.start)} to "
        f"{_hhmm(span.end)} ({format_duration(span.end - span.start)}): {format_budget_time(span.bad_time)}"
        for span in impact_spans(ordered, now)
    ]
    exhausted = burn.budget_share >= 1
    return ErrorBudget(
        service=slo.service,
        objective=slo.describe(),
        budget=format_budget_time(slo.budget),
        impact=impact,
        consumed=format_budget_time(burn.bad_time),
        percent_of_budget=f"{burn.percent_of_budget:.1f}%",
        exhausted=exhausted,
        policy=f"This incident alone exhausted the budget. Error budget policy: release freeze for {slo.service} "
        "until the budget recovers."
        if exhausted
        else "",
    )


_LINTED_KINDS = {
    EntryKind.NOTE: "note",
    EntryKind.HYPOTHESIS: "hypothesis",
    EntryKind.HYPOTHESIS_REJECTED: "rejection",
    EntryKind.HYPOTHESIS_CONFIRMED: "root cause note",
    EntryKind.MITIGATION: "mitigation",
    EntryKind.ROLLBACK: "rollback",
    EntryKind.RESOLVED: "resolution",
    EntryKind.REOPENED: "reopen reason",
    EntryKind.FOLLOWUP: "follow-up",
    EntryKind.FOLLOWUP_DONE: "follow-up note",
    EntryKind.FOLLOWUP_REOPENED: "follow-up reopen reason",
    EntryKind.FOLLOWUP_DROPPED: "follow-up drop reason",
    EntryKind.PINNED: "pinned message",
}


def _review(incident: Incident, ordered: list[TimelineEntry], names: dict[str, str]) -> list[Finding]:
    """Blameful phrasing in what people typed, located by entry and time; their text stays as written."""
    linter = Linter(names.values())  # the names Slack sent (``collect_names``), people's names to look for
    texts = [("title", incident.title), ("description", incident.description)]
    texts += [
        (f"{_LINTED_KINDS[e.kind]} at {_hhmm(e.occurred_at)}", e.text)
        for e in ordered
        if e.kind in _LINTED_KINDS and e.text and linter.suspect(e.text)  # where: only for a text with findings
    ]
    return [finding for where, text in texts for finding in linter.findings(where, text)]


def _hhmm(moment: datetime) -> str:
    return ensure_utc(moment).strftime("%H:%M")


def _responders(incident: Incident, mention: Mention) -> list[Responder]:
    responders = [Responder(mention(incident.lead), "incident lead")] if incident.lead else []
    responders += [
        Responder(mention(m.user_id), m.role or "responder") for m in incident.members if m.user_id != incident.lead
    ]
    return responders


def _as_typed(incident: Incident, entries: list[TimelineEntry], plain: Escape) -> tuple[Incident, list[TimelineEntry]]:
    """The incident and its entries with Slack's escaped mentions shown as typed, for Markdown readers."""
    typed_entries = [
        replace(e, text=plain(e.text), data={k: plain(v) if isinstance(v, str) else v for k, v in e.data.items()})
        if _may_reference(e)
        else e
        for e in entries
    ]
    typed_incident = incident.with_changes(
        title=plain(incident.title),
        summary=plain(incident.summary),
        description=plain(incident.description),
        hypotheses=tuple(replace(h, text=plain(h.text), outcome=plain(h.outcome)) for h in incident.hypotheses),
        followups=tuple(replace(f, text=plain(f.text)) for f in incident.followups),
    )
    return typed_incident, typed_entries


def _may_reference(entry: TimelineEntry) -> bool:
    """Whether ``entry``'s text or a text of its data has a ``<``: every Slack reference (``<@U0BOB|bob>``,
    ``<https://...>``: ``bot.domain.timeline.plain_references``) starts with one; an entry without stays as it is."""
    return "<" in entry.text or any(isinstance(v, str) and "<" in v for v in entry.data.values())


def _hypothesis_view(hypothesis: Hypothesis) -> HypothesisView:
    outcome = {
        HypothesisStatus.OPEN: "not concluded",
        HypothesisStatus.REJECTED: "rejected",
        HypothesisStatus.CONFIRMED: "confirmed (root cause)",
    }[hypothesis.status]
    return HypothesisView(
        hypothesis.number, hypothesis.text, outcome, hypothesis.outcome, _hhmm(hypothesis.proposed_at)
    )


def _since_detection(milestones: Milestones, moment: datetime | None) -> tuple[str, str]:
    if moment is None:
        return "not reached", ""
    return format_duration(moment - milestones.detected_at), _hhmm(moment)


def _metrics(milestones: Milestones) -> list[Metric]:
    pairs = [
        ("Time to assemble the IRT", milestones.irt_assembled_at),
        ("Time to root cause", milestones.root_cause_at),
        ("Time to mitigate", milestones.mitigated_at),
        ("Time to resolve", milestones.resolved_at),
    ]
    return [Metric(name, *_since_detection(milestones, moment)) for name, moment in pairs]


def _resolution(incident: Incident, milestones: Milestones) -> str:
    if milestones.resolved_at is None:
        return f"Not resolved yet (status: {incident.status.value})."
    summary = f": {incident.summary}" if incident.summary else "."
    return f"Resolved at {format_utc(milestones.resolved_at)}{summary}"


def _capped_timeline(entries: list[TimelineEntry], mention: Mention, incident_id: str) -> list[TimelineLine]:
    """The whole timeline, or its first and last MAX_TIMELINE_LINES / 2 entries around a marker line.

    A draft people edit and review is no place for 10,000 entries; the database keeps them all.
    """
    if len(entries) <= MAX_TIMELINE_LINES:
        return [_timeline_line(e, mention) for e in entries]
    half = MAX_TIMELINE_LINES // 2
    omitted = len(entries) - 2 * half
    last_shown = entries[half - 1]
    marker = TimelineLine(
        time=_hhmm(last_shown.occurred_at),
        date=format_date(last_shown.occurred_at),
        actor="",
        text=f"… {omitted:,} entries omitted here: `incidentbot timeline {incident_id}` lists them all",
        kind="omitted",
        backdated=False,
    )
    head = [_timeline_line(e, mention) for e in entries[:half]]
    tail = [_timeline_line(e, mention) for e in entries[-half:]]
    return [*head, marker, *tail]


def _capped_notes(notes: list[TimelineEntry], mention: Mention, incident: Incident) -> list[str]:
    """At most MAX_NOTES lines, the last saying how many were left out (only the lines shown are written)."""
    if len(notes) <= MAX_NOTES:
        return [describe(e, mention) for e in notes]
    omitted = len(notes) - MAX_NOTES + 1
    more = f"… and {omitted:,} more notes: `incidentbot timeline {incident.incident_id}` lists them all"
    return [*(describe(e, mention) for e in notes[: MAX_NOTES - 1]), more]


def _timeline_line(entry: TimelineEntry, mention: Mention) -> TimelineLine:
    backdated = entry.recorded_at - entry.occurred_at > timedelta(minutes=1)
    return TimelineLine(
        time=_hhmm(entry.occurred_at),
        date=format_date(entry.occurred_at),
        actor=mention(entry.actor),
        text=describe(entry, mention),
        kind=entry.kind.value,
        backdated=backdated,
        corrected=bool(entry.data.get("corrected_by")),
    )


def _lessons(incident: Incident, ordered: list[TimelineEntry], milestones: Milestones) -> Lessons:
    """Prompts with what the timeline suggests; the team edits them into real lessons."""
    lessons = Lessons()
    _assembly_lessons(lessons, milestones)
    _diagnosis_lessons(lessons, incident, milestones)
    _mitigation_lessons(lessons, ordered, milestones)
    unowned = [f for f in incident.followups if not f.owner and f.state is FollowupState.OPEN]
    if unowned:
        lessons.went_wrong.append(f"{len(unowned)} action item(s) have no owner yet; assign them before the review.")
    lessons.got_lucky.append(
        "Was anything outside our control in our favour (time of day, traffic level, "
        "a responder who happened to know the system)? Note it here."
    )
    return lessons


def _assembly_lessons(lessons: Lessons, milestones: Milestones) -> None:
    if milestones.irt_assembled_at is None:
        lessons.went_wrong.append("No IRT was assembled; consider who should have been paged.")
        return
    took = milestones.irt_assembled_at - milestones.detected_at
    target = lessons.went_well if took <= SLOW_ASSEMBLY else lessons.went_wrong
    target.append(f"The IRT was assembled {format_duration(took)} after detection.")


def _diagnosis_lessons(lessons: Lessons, incident: Incident, milestones: Milestones) -> None:
    if milestones.root_cause_at is not None:
        lessons.went_well.append(
            f"The root cause was confirmed {format_duration(milestones.root_cause_at - milestones.detected_at)} "
            "after detection."
        )
    for hypothesis in incident.hypotheses:
        if hypothesis.status is HypothesisStatus.REJECTED:
            reason = f" ({hypothesis.outcome})" if hypothesis.outcome else ""
            lessons.went_wrong.append(
                f'Time went into hypothesis #{hypothesis.number}, "{hypothesis.text}", which was rejected{reason}. '
                "What signal would have ruled it out sooner?"
            )


_ROLLBACK = (EntryKind.ROLLBACK,)
_MITIGATING_KINDS = (EntryKind.ROLLBACK, EntryKind.MITIGATION)
"""Entries that can be what ended the impact (a mitigation attempt only when monitoring followed it)."""


def _credited_mitigation(ordered: list[TimelineEntry], milestones: Milestones) -> TimelineEntry | None:
    """The rollback (or, when monitoring followed it, the mitigation attempt) that ended the impact, or None."""
    end = milestones.mitigated_at
    if end is None:  # not mitigated: no entry is the one that ended it
        return None
    first_move = next((e for e in ordered if ends_impact(e)), None)
    kinds = _MITIGATING_KINDS if first_move is not None and first_move.kind is EntryKind.MONITORING else _ROLLBACK
    return next((e for e in ordered if e.occurred_at == end and e.kind in kinds), None)


def _mitigation_lessons(lessons: Lessons, ordered: list[TimelineEntry], milestones: Milestones) -> None:
    end = milestones.mitigated_at
    for entry in ordered:
        if entry.kind is EntryKind.MITIGATION and (end is None or entry.occurred_at < end):
            lessons.went_wrong.append(f'Mitigation "{entry.text}" ({_hhmm(entry.occurred_at)}) did not end the impact.')
    credited = _credited_mitigation(ordered, milestones)
    if credited is not None and end is not None and credited.kind is EntryKind.ROLLBACK:
        lessons.went_well.append(f"Rolling back ({credited.text}) mitigated the impact at {_hhmm(end)}.")
    elif credited is not None and end is not None:
        lessons.went_well.append(f'Mitigation "{credited.text}" ended the impact at {_hhmm(end)}.')
    for entry in ordered:
        if entry.kind is EntryKind.REOPENED and entry.data.get("status_from") == Status.MONITORING.value:
            reason = f" ({entry.text})" if entry.text else ""
            lessons.went_wrong.append(
                f"The fix being monitored did not hold: back to investigating at {_hhmm(entry.occurred_at)}{reason}. "
                "What would have shown it sooner?"
            )
    if end is not None and end - milestones.detected_at > SLOW_MITIGATION:
        lessons.went_wrong.append(
            f"Mitigation took {format_duration(end - milestones.detected_at)} from detection; "
            "could a rollback have been tried earlier?"
        )
