"""Follow-up lists as text (Slack and the terminal), JSON and CSV: number, state, owner, due date, link.

The state shown is the postmortem's (``bot.domain.postmortem.followup_state``): ``open``, ``overdue``,
``done 2026-12-01``, ``done 2026-12-20 (late)``, ``dropped``. Dates are UTC days.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from bot.domain.model import FollowupListing
from bot.domain.postmortem import followup_state
from bot.domain.timeline import Escape, Mention, keep_text
from bot.domain.timeparse import format_day, format_iso
from bot.usecases.followups import FollowupList

ADD_HINT = "add one with `/incident followup <text> [@owner] [--due DATE]`"


def followups_text(
    found: FollowupList,
    today: date,
    mention: Mention,
    escape: Escape = keep_text,
) -> str:
    """One line per follow-up: ``INC-1 #2 open · canary rollout · owner @carol · due 2026-12-15 · link -``;
    the link reads ``tracker issue acme/web#12 gone`` when the issue filed for it was deleted in the tracker.

    One incident's list (``found.incident_id``) has a heading naming it, and its lines leave the id out.
    Each follow-up is one line: its text's runs of whitespace (newlines, tabs, other line breaks) read as
    one space here (``one_line``); JSON and CSV keep the text exactly.
    """
    incident_id = found.incident_id
    if not found.items:
        where = f"{incident_id} has no follow-ups" if incident_id else "No follow-ups"
        return f"{where}; {escape(ADD_HINT)}."  # escaped: Slack would read a bare <text> as a link
    lines = [f"{incident_id} follow-ups" if incident_id else f"{len(found.items)} follow-up(s)"]
    for item in found.items:
        f = item.followup
        prefix = "" if incident_id else f"{item.incident_id} "
        owner = mention(f.owner) if f.owner else "unassigned"
        due = format_day(f.due) if f.due else "-"
        gone = found.gone.get((item.incident_number, f.number))
        link = escape(f.tracker_url or f.tracker_key or (f"tracker issue {gone} gone" if gone else "-"))
        state = followup_state(f, today)
        text = escape(one_line(f.text))
        lines.append(f"{prefix}#{f.number} {state} · {text} · owner {owner} · due {due} · link {link}")
    return "\n".join(lines)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (``str.isspace``: spaces, tabs, ``\n``, ``\r``, ``\v``,
    ``\f``, ``\x1c``-``\x1f``, ``\x85``, U+2028, U+2029: every line break ``str.splitlines`` knows)
    made one space, and none at either end."""
    return " ".join(text.split())


def _record(
    item: FollowupListing, today: date, names: dict[str, str], gone: dict[tuple[int, int], str]
) -> dict[str, Any]:
    f = item.followup
    return {
        "incident": item.incident_id,
        "incident_title": item.incident_title,
        "severity": item.severity.value,
        "service": item.service,
        "number": f.number,
        "text": f.text,
        "owner": f.owner,
        "owner_name": names.get(f.owner) if f.owner else None,
        "state": f.state.value,
        "overdue": f.is_overdue(today),
        "due": format_day(f.due) if f.due else None,
        "created_at": format_iso(f.created_at),
        "done_at": format_iso(f.done_at) if f.done_at else None,
        "tracker_key": f.tracker_key,
        "tracker_url": f.tracker_url,
        "tracker_gone": gone.get((item.incident_number, f.number)) if f.tracker_key is None else None,
    }


FIELDS = (
    "incident",
    "incident_title",
    "severity",
    "service",
    "number",
    "text",
    "owner",
    "owner_name",
    "state",
    "overdue",
    "due",
    "created_at",
    "done_at",
    "tracker_key",
    "tracker_url",
    "tracker_gone",
)
"""The fields of each follow-up in JSON, and the CSV header, in order."""


def followups_json(found: FollowupList, today: date) -> str:
    """``{"followups": [{incident, ..., tracker_url, tracker_gone}, ...]}``; dates ``2026-12-15``, times RFC
    3339 UTC; ``tracker_gone``: the key of its issue deleted in the tracker (not filed again since), or null."""
    return json.dumps({"followups": followup_records(found, today)}, indent=2, ensure_ascii=False)


def followup_records(found: FollowupList, today: date) -> list[dict[str, Any]]:
    """One dict per follow-up, with the keys of :data:`FIELDS` (what ``followups_json`` lists)."""
    return [_record(item, today, found.names, found.gone) for item in found.items]


def followups_csv(found: FollowupList, today: date) -> str:
    """A header row (:data:`FIELDS`) and one row per follow-up; empty cells for missing values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for item in found.items:
        record = _record(item, today, found.names, found.gone)
        writer.writerow([_cell(record[key]) for key in FIELDS])
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"): such a text cell is
written with a leading ``'``, which spreadsheets show as text and do not evaluate."""


def _cell(value: object) -> object:
    """CSV cells: "" for none, ``true``/``false`` for booleans (as JSON writes them), and text that a
    spreadsheet would evaluate (``=cmd|...``, ``+SUM(1,2)``, ``@alice``) prefixed with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
