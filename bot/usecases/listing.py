"""Listing incidents (``/incident list``, App Home, the web page, ``incidentbot list``): newest first, with the
declaration and resolve times their corrected timelines tell and each resolved incident's postmortem status.

Reads only the listing's Core queries (``bot.store.listing.ListingReads``), so that ``incidentbot list`` can
run it on a plain connection without building the ORM (issue 18, target 3); ``IncidentUseCases.summaries``
runs it in a unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.domain.corrections import STATE_KINDS, corrected_summary
from bot.domain.model import EntryKind, IncidentSummary, PostmortemStatus, Status
from bot.domain.review import review_state
from bot.store.listing import ListingReads
from bot.usecases.shared import CORRECTION_KINDS


def list_incidents(
    reads: ListingReads, statuses: Sequence[Status] | None = None, limit: int = 200
) -> list[IncidentSummary]:
    """Incidents in ``statuses`` (all if None), newest first, at most ``limit``, as corrected: one query for the
    incidents, one for which of them were corrected (then two per corrected incident), and for the resolved
    ones the postmortem status (``draft`` unless a ``postmortem status`` entry says otherwise: one query for
    all, one more per incident that has such an entry)."""
    summaries = reads.list_summaries(statuses, limit)
    corrected = reads.numbers_with(CORRECTION_KINDS, [s.number for s in summaries])
    shown = [
        corrected_summary(s, reads.list_entries(s.number, sorted(STATE_KINDS), numbered=True))
        if s.number in corrected
        else s
        for s in summaries
    ]
    resolved = [s.number for s in shown if s.status is Status.RESOLVED]
    if not resolved:
        return shown
    reviewed = reads.numbers_with([EntryKind.POSTMORTEM_STATUS], resolved)
    reviews = {
        number: review_state(reads.list_entries(number, [EntryKind.POSTMORTEM_STATUS])).status for number in reviewed
    }
    return [
        replace(s, postmortem_status=reviews.get(s.number, PostmortemStatus.DRAFT))
        if s.status is Status.RESOLVED
        else s
        for s in shown
    ]
