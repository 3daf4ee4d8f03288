"""Corrections without losing the record: ``correct`` and ``strike`` add entries, nothing is updated in place.

``correct <entry#> [text] [--at WHEN]`` records a ``correction`` entry and ``strike <entry#> <reason>`` a
``strike`` entry, each pointing at the original by its number (``data["entry"]``). The stored entries
never change; :func:`apply_corrections` reads the timeline as it now stands (each corrected entry in its
latest version, struck entries left out), and every view, the key metrics and the postmortem read that.
The JSON timeline keeps everything as recorded.

What may be corrected or struck (``CORRECTABLE``, ``TIME_ONLY``, ``STRIKABLE``):

- text and time: notes, pinned messages, mitigation attempts, rollbacks, monitoring, resolve and reopen
  entries (their summary or reason), hypothesis rejections and confirmations (their note);
- time only: the declaration, the lead, the IRT assembled, severity, service and impact entries, whose
  sentence is built from their data (to change the data itself, run the command again: ``lead @x``,
  ``impact 40%``);
- struck: notes, pinned messages and impact entries (a struck impact no longer charges the budget);
- neither: hypotheses and follow-ups (their own commands change them: ``hypothesis reject``,
  ``followup drop``/``owner``/``due``), alerts and the bot's reminders (recorded by machines, as they came),
  and what was published on the public status page (``statuspage update`` publishes a correction there).

A status change is never struck (the incident's status follows from it); its time may be corrected only
within the order of status changes (``changes_status``: status and severity changes, and any entry that moved
the status, such as the assemble that started the investigation): not before the previous one, not after
the next (as backdating is refused today). A correction of a correction corrects the original
(``data["entry"]`` is always the original's number; ``data["via"]`` the correction typed); correcting or
striking a struck entry, or naming a strike, is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.errors import TimeParseError, TransitionError
from bot.domain.model import (
    STATUS_CHANGE_KINDS,
    STATUS_CHANGE_NAMES,
    EntryKind,
    Incident,
    IncidentSummary,
    StatusChange,
    TimelineEntry,
)
from bot.domain.timeparse import ensure_utc, format_utc_apart

CORRECTABLE = frozenset(
    {
        EntryKind.NOTE,
        EntryKind.PINNED,
        EntryKind.MITIGATION,
        EntryKind.ROLLBACK,
        EntryKind.MONITORING,
        EntryKind.RESOLVED,
        EntryKind.REOPENED,
        EntryKind.HYPOTHESIS_REJECTED,
        EntryKind.HYPOTHESIS_CONFIRMED,
    }
)
"""Entries whose text and time may be corrected."""

TIME_ONLY = frozenset(
    {
        EntryKind.DECLARED,
        EntryKind.LEAD,
        EntryKind.ASSEMBLED,
        EntryKind.SEVERITY,
        EntryKind.SERVICE,
        EntryKind.IMPACT,
    }
)
"""Entries whose sentence is built from their data: only their time may be corrected."""

STRIKABLE = frozenset({EntryKind.NOTE, EntryKind.PINNED, EntryKind.IMPACT})
"""Entries that may be struck from the views."""

_ENTRY_NAMES = {
    EntryKind.DECLARED: "declaration",
    EntryKind.LEAD: "lead change",
    EntryKind.ASSEMBLED: "IRT assembled",
    EntryKind.HYPOTHESIS: "hypothesis",
    EntryKind.HYPOTHESIS_REJECTED: "hypothesis rejection",
    EntryKind.HYPOTHESIS_CONFIRMED: "hypothesis confirmation",
    EntryKind.IMPACT: "impact",
    EntryKind.SERVICE: "service",
    EntryKind.PINNED: "pinned message",
    EntryKind.NOTE: "note",
    EntryKind.UPDATE: "status update",
    EntryKind.CORRECTION: "correction",
    EntryKind.STRIKE: "strike",
    EntryKind.STATUSPAGE: "status page update",
    **STATUS_CHANGE_NAMES,
}


_REVIEW_KINDS = (EntryKind.POSTMORTEM_STATUS, EntryKind.POSTMORTEM_OWNER, EntryKind.POSTMORTEM_REVIEW)
"""The postmortem's review entries people type (``bot.domain.review``); the bot's draft reminder is the bot's."""


def entry_name(kind: EntryKind) -> str:
    """How refusals name an entry's kind: ``note``, ``rollback``, ``IRT assembled``, ``follow-up done``..."""
    return _ENTRY_NAMES.get(kind) or kind.value.replace("_", " ").replace("followup", "follow-up")


def correction(
    incident: Incident, timeline: Sequence[TimelineEntry], number: int, text: str, at: datetime | None
) -> tuple[str, dict[str, Any]]:
    """The text and data of the ``correction`` entry for ``correct <number> [text] [--at at]`` (``at``: UTC).
    ``timeline``: the incident's stored entries, numbered. The text is the new text ("" when only the time
    changes); the data names the original (``entry``, its ``entry_kind``, ``via`` the correction typed when one was
    named), and what changed: ``text_from`` (the text before), ``at_from``/``at_to`` (ISO 8601, UTC).

    Raises TransitionError when entry ``number`` does not exist, is a strike, was struck, or is of a kind
    that cannot be corrected (or only in time, and ``text`` was given), or when nothing would change;
    TimeParseError when ``at`` would put it before the declaration (or the declaration after an entry) or a
    status change out of order.
    """
    ident = incident.incident_id
    original, via = _original(incident, timeline, number, "correct")
    kind = original.kind
    if kind not in CORRECTABLE and kind not in TIME_ONLY:
        raise TransitionError(_refusal(ident, original, "corrected"))
    if text and kind in TIME_ONLY:
        raise TransitionError(
            f"Entry #{original.number} ({entry_name(kind)}) is written from its data, so only its time can be "
            f"corrected: `correct {original.number} --at WHEN`." + _redo_hint(kind)
        )
    current = _current_version(timeline, original)
    new_text = text if text and text != current.text else None
    new_time = ensure_utc(at) if at is not None and ensure_utc(at) != ensure_utc(current.occurred_at) else None
    if new_text is None and new_time is None:
        raise TransitionError(f"Entry #{original.number} already reads so; nothing to correct.")
    if new_time is not None:
        _check_time(incident, timeline, original, new_time)
    data: dict[str, Any] = {"entry": original.number, "entry_kind": kind.value}
    if via is not None:
        data["via"] = via
    if new_text is not None:
        data["text_from"] = current.text
    if new_time is not None:
        data["at_from"] = ensure_utc(current.occurred_at).isoformat()
        data["at_to"] = new_time.isoformat()
    return new_text or "", data


def strike(
    incident: Incident, timeline: Sequence[TimelineEntry], number: int, reason: str
) -> tuple[str, dict[str, Any]]:
    """The text (the reason) and data (``entry``, ``kind``, ``text_from``: the struck text) of the ``strike``
    entry for ``strike <number> <reason>``. Raises TransitionError when entry ``number`` does not exist, is a
    correction or strike, was struck already, or is not one of ``STRIKABLE``."""
    original, via = _original(incident, timeline, number, "strike")
    if via is not None:
        raise TransitionError(
            f"Entry #{via} is a correction of #{original.number}; a correction is not struck. Correct "
            f"#{original.number} again (`correct {original.number} <text>`), or strike #{original.number} itself."
        )
    if original.kind not in STRIKABLE:
        raise TransitionError(_refusal(incident.incident_id, original, "struck"))
    current = _current_version(timeline, original)
    return reason, {"entry": original.number, "entry_kind": original.kind.value, "text_from": current.text}


def _original(
    incident: Incident, timeline: Sequence[TimelineEntry], number: int, verb: str
) -> tuple[TimelineEntry, int | None]:
    """The entry ``number`` names (the original, when it names a correction) and the correction named, if any."""
    by_number = {e.number: e for e in timeline if e.number is not None}
    entry = by_number.get(number)
    if entry is None:
        last = max(by_number, default=0)
        raise TransitionError(
            f"{incident.incident_id} has no entry #{number} (its entries are #1 to #{last}: `timeline` numbers them)."
        )
    via: int | None = None
    if entry.kind is EntryKind.STRIKE:
        raise TransitionError(
            f"Entry #{number} is a strike (of #{entry.data.get('entry')}); a strike stays on the record as made."
        )
    if entry.kind is EntryKind.CORRECTION:
        via = number
        entry = by_number[int(entry.data["entry"])]
    strike = next((e for e in timeline if e.kind is EntryKind.STRIKE and e.data.get("entry") == entry.number), None)
    if strike is not None:
        raise TransitionError(f"Entry #{entry.number} was struck by #{strike.number}; there is nothing left to {verb}.")
    return entry, via


def _refusal(ident: str, entry: TimelineEntry, done: str) -> str:
    kind, number = entry.kind, entry.number
    name = entry_name(kind)
    if changes_status(entry) and kind not in TIME_ONLY and kind is not EntryKind.HYPOTHESIS:
        return (
            f"Entry #{number} ({name}) changed {ident}'s status, which follows from it, so it cannot be {done}. "
            f"Correct its time or text instead (`correct {number} <text> --at WHEN`)"
            + (", or `reopen <reason>` if the incident is not over." if kind is EntryKind.RESOLVED else ".")
        )
    if kind is EntryKind.HYPOTHESIS:
        return (
            f"Entry #{number} is hypothesis #{entry.data.get('number')}; hypotheses are not {done} but decided: "
            f"`hypothesis reject {entry.data.get('number')} <why>`, then add the right one."
        )
    bot_recorded = (EntryKind.FOLLOWUP_REMINDER, EntryKind.FOLLOWUP_EXPORTED, EntryKind.FOLLOWUP_TRACKER_GONE)
    if kind.value.startswith("followup") and kind not in bot_recorded:
        return (
            f"Entry #{number} ({name}) belongs to follow-up #{entry.data.get('number')}, which its own commands "
            "change: `followup owner|due|done|reopen|drop <n> ...`."
        )
    if kind in _REVIEW_KINDS:
        return (
            f"Entry #{number} ({name}) belongs to the postmortem's review, which its own commands change: "
            "`postmortem status|owner|review ...` (run it again with the right value)."
        )
    if kind is EntryKind.UPDATE:
        return (
            f"Entry #{number} ({name}) stays as the people outside the channel read it and cannot be {done}: "
            "post a new update that sets it right (`update <text>`)."
        )
    if kind is EntryKind.STATUSPAGE:
        return (
            f"Entry #{number} ({name}) was published on the public status page and cannot be {done} here: "
            "`statuspage update <text>` publishes a correction there."
        )
    if kind in TIME_ONLY:
        return f"Entry #{number} ({name}) cannot be {done}: correct its time (`correct {number} --at WHEN`)." + (
            _redo_hint(kind)
        )
    return f"Entry #{number} ({name}) was recorded by the bot as it came and cannot be {done}."


def _redo_hint(kind: EntryKind) -> str:
    hints = {
        EntryKind.LEAD: " To name another lead: `lead @user`.",
        EntryKind.ASSEMBLED: " To change the IRT: `assemble @user[:role]`.",
        EntryKind.SEVERITY: " To change the severity: `severity <sevN>`.",
        EntryKind.SERVICE: " To name another service: `service <name>`.",
        EntryKind.IMPACT: " To record another share: `impact N% --at WHEN`; `strike` removes a wrong one.",
        EntryKind.DECLARED: "",
    }
    return hints.get(kind, "")


def _current_version(timeline: Sequence[TimelineEntry], original: TimelineEntry) -> TimelineEntry:
    if original.number is None:
        return original
    return _corrected({original.number: original}, _corrections_of(timeline))[original.number]


def _check_time(incident: Incident, timeline: Sequence[TimelineEntry], original: TimelineEntry, at: datetime) -> None:
    """Refuse a corrected time that would put the entry before the declaration, the declaration after an
    entry, or a status change out of the order of status changes (TimeParseError naming the neighbour)."""
    ident = incident.incident_id
    current = apply_corrections(timeline)
    others = [e for e in current if e.number != original.number]
    if original.kind is EntryKind.DECLARED:
        first = next((e for e in others if e.kind not in (EntryKind.ALERT_FIRED, EntryKind.ALERT_CLEARED)), None)
        if first is not None and at > ensure_utc(first.occurred_at):
            given, first_at = format_utc_apart(at, first.occurred_at)
            raise TimeParseError(
                f"{given} is after entry #{first.number} ({entry_name(first.kind)} at "
                f"{first_at}); {ident}'s declaration must come first."
            )
        return
    declared = next((e for e in current if e.kind is EntryKind.DECLARED), None)
    if declared is not None and at < ensure_utc(declared.occurred_at):
        given, declared_at = format_utc_apart(at, declared.occurred_at)
        raise TimeParseError(
            f"{given} is before {ident} was declared ({declared_at}); correct the "
            f"declaration's time first (`correct {declared.number} --at WHEN`)."
        )
    if not changes_status(original):
        return
    changes = [e for e in others if changes_status(e)]
    position = [e for e in current if changes_status(e)].index(next(e for e in current if e.number == original.number))
    before, after = changes[:position], changes[position:]
    if before and at < ensure_utc(before[-1].occurred_at):
        previous = before[-1]
        given, previous_at = format_utc_apart(at, previous.occurred_at)
        raise TimeParseError(
            f"{given} would put the {entry_name(original.kind)} (#{original.number}) before the "
            f"{entry_name(previous.kind)} (#{previous.number}, {previous_at}) that came "
            f"before it: status changes keep their order. Pick a time at or after {previous_at}."
        )
    if after and at > ensure_utc(after[0].occurred_at):
        following = after[0]
        given, following_at = format_utc_apart(at, following.occurred_at)
        raise TimeParseError(
            f"{given} would put the {entry_name(original.kind)} (#{original.number}) after the "
            f"{entry_name(following.kind)} (#{following.number}, {following_at}) that came "
            f"after it: status changes keep their order. Pick a time at or before {following_at}."
        )


def changes_status(entry: TimelineEntry) -> bool:
    """The entry changed its incident's status or severity: one of ``STATUS_CHANGE_KINDS``, or any entry that
    moved the status (``status_to``: the declaration, the first assemble or hypothesis starting the work)."""
    return entry.kind in STATUS_CHANGE_KINDS or "status_to" in entry.data


def _corrections_of(timeline: Sequence[TimelineEntry]) -> list[TimelineEntry]:
    """The correction entries, in the order they were recorded."""
    return sorted(
        (e for e in timeline if e.kind is EntryKind.CORRECTION and e.number is not None),
        key=lambda e: e.number or 0,
    )


def _corrected(by_number: dict[int, TimelineEntry], corrections: list[TimelineEntry]) -> dict[int, TimelineEntry]:
    """``by_number`` with each correction applied on top of the previous ones (new objects; the given stay)."""
    result = dict(by_number)
    for fix in corrections:
        target = int(fix.data.get("entry") or 0)
        entry = result.get(target)
        if entry is None:
            continue
        text = fix.text if "text_from" in fix.data else entry.text
        at = datetime.fromisoformat(fix.data["at_to"]) if "at_to" in fix.data else entry.occurred_at
        marks = [*entry.data.get("corrected_by", []), fix.number]
        result[target] = replace(entry, text=text, occurred_at=at, data={**entry.data, "corrected_by": marks})
    return result


def apply_corrections(entries: Sequence[TimelineEntry], *, keep_struck: bool = False) -> list[TimelineEntry]:
    """The timeline as it now reads, chronological: each corrected entry in its latest version (new text,
    time, and ``data["corrected_by"]``: the numbers of its corrections), struck entries left out (with
    ``keep_struck``, kept and marked ``data["struck_by"]``, ``data["struck_reason"]``), and the correction
    and strike entries themselves left out. The entries given are never changed; an entry without a number
    (not stored yet) is kept as it is.
    """
    corrections = _corrections_of(entries)
    strikes = {e.data.get("entry"): e for e in entries if e.kind is EntryKind.STRIKE}
    if not corrections and not strikes:
        return sorted(entries, key=TimelineEntry.sort_key)
    numbered = {e.number: e for e in entries if e.number is not None}
    corrected = _corrected(numbered, corrections)
    result: list[TimelineEntry] = []
    for entry in entries:
        if entry.kind in (EntryKind.CORRECTION, EntryKind.STRIKE):
            continue
        current = corrected.get(entry.number, entry) if entry.number is not None else entry
        strike = strikes.get(entry.number) if entry.number is not None else None
        if strike is not None:
            if not keep_struck:
                continue
            current = replace(current, data={**current.data, "struck_by": strike.number, "struck_reason": strike.text})
        result.append(current)
    return sorted(result, key=TimelineEntry.sort_key)


STATE_KINDS = frozenset(
    {
        EntryKind.DECLARED,
        EntryKind.RESOLVED,
        EntryKind.HYPOTHESIS_REJECTED,
        EntryKind.HYPOTHESIS_CONFIRMED,
        EntryKind.IMPACT,
        EntryKind.CORRECTION,
        EntryKind.STRIKE,
        *STATUS_CHANGE_KINDS,
    }
)
"""The entries :func:`corrected_incident` reads (numbered): a store may pass only these."""


def corrected_incident(incident: Incident, entries: Sequence[TimelineEntry]) -> Incident:
    """``incident`` as its corrected timeline (``apply_corrections``) tells it: the declaration's time, the
    final resolve's time and summary, each decided hypothesis's note and time, the latest impact share, the
    latest status change (which backdated status changes may not precede).
    Everything else is the stored state (corrections never change statuses, people or follow-ups). ``entries``:
    the whole timeline, or only its entries of ``STATE_KINDS``, numbered as stored."""
    if not any(e.kind in (EntryKind.CORRECTION, EntryKind.STRIKE) for e in entries):
        return incident
    current = apply_corrections(entries)
    changes: dict[str, Any] = _corrected_times(current, resolved=incident.resolved_at is not None)
    resolves = [e for e in current if e.kind is EntryKind.RESOLVED]
    summaries = [e.text for e in resolves if e.text]  # as `resolve` keeps it: the latest summary given
    if summaries:
        changes["summary"] = summaries[-1]
    decisions = {
        e.data.get("number"): e
        for e in current
        if e.kind in (EntryKind.HYPOTHESIS_REJECTED, EntryKind.HYPOTHESIS_CONFIRMED)
    }
    changes["hypotheses"] = tuple(
        replace(h, outcome=decisions[h.number].text, decided_at=decisions[h.number].occurred_at)
        if h.number in decisions
        else h
        for h in incident.hypotheses
    )
    status_changes = [e for e in current if e.kind in STATUS_CHANGE_KINDS]
    if status_changes:
        latest = max(status_changes, key=lambda e: e.occurred_at)
        changes["latest_change"] = StatusChange(latest.kind, latest.occurred_at)
    impacts = [e for e in current if e.kind is EntryKind.IMPACT]
    if any(e.kind is EntryKind.IMPACT for e in entries):
        changes["impact_percent"] = float(impacts[-1].data.get("percent") or 0) if impacts else None
    return incident.with_changes(**changes)


def _corrected_times(current: Sequence[TimelineEntry], *, resolved: bool) -> dict[str, datetime]:
    """``declared_at`` and (for a resolved incident) ``resolved_at`` as the corrected timeline ``current`` tells
    them: the declaration's time and the final resolve's; a key is absent when no such entry exists."""
    times: dict[str, datetime] = {}
    declared = next((e for e in current if e.kind is EntryKind.DECLARED), None)
    if declared is not None:
        times["declared_at"] = declared.occurred_at
    resolves = [e for e in current if e.kind is EntryKind.RESOLVED]
    if resolved and resolves:
        times["resolved_at"] = resolves[-1].occurred_at
    return times


def corrected_summary(summary: IncidentSummary, entries: Sequence[TimelineEntry]) -> IncidentSummary:
    """``summary`` with the declaration and resolve times its corrected timeline tells (as ``corrected_incident``
    does for the whole incident). ``entries``: the whole timeline, or only its entries of ``STATE_KINDS``,
    numbered as stored; without a correction or strike among them, ``summary`` itself."""
    if not any(e.kind in (EntryKind.CORRECTION, EntryKind.STRIKE) for e in entries):
        return summary
    times = _corrected_times(apply_corrections(entries), resolved=summary.resolved_at is not None)
    return replace(
        summary,
        declared_at=times.get("declared_at", summary.declared_at),
        resolved_at=times.get("resolved_at", summary.resolved_at),
    )


def timeline_view(entries: Sequence[TimelineEntry]) -> list[TimelineEntry]:
    """What a timeline view lists, chronological: every entry as it now reads (corrected; struck ones kept and
    marked, see ``apply_corrections``), and each correction and strike at its own time."""
    fixes = [e for e in entries if e.kind in (EntryKind.CORRECTION, EntryKind.STRIKE)]
    return sorted([*apply_corrections(entries, keep_struck=True), *fixes], key=TimelineEntry.sort_key)


def correction_note(entry: TimelineEntry) -> str:
    """What a timeline view says after an entry of ``timeline_view``: ``corrected by #17``, ``corrected by
    #17, #19``, ``struck by #18: posted in the wrong incident``, or "" for an entry left as recorded."""
    if "struck_by" in entry.data:
        reason = entry.data.get("struck_reason") or ""
        return f"struck by #{entry.data['struck_by']}" + (f": {reason}" if reason else "")
    if entry.data.get("corrected_by"):
        return "corrected by " + ", ".join(f"#{n}" for n in entry.data["corrected_by"])
    return ""
