"""Corrections change the metrics in a golden postmortem (issue 16): the seed outage replayed into SQLite and
PostgreSQL, then one correction (the IRT was assembled at 13:53, not 13:50), rendered against
tests/golden/seed_postmortem_corrected.md, a copy of the seed's golden file edited by hand: time to
assemble 8 -> 11 min, its lesson, the line moved after 13:52 and marked corrected, generated at 14:55."""

from __future__ import annotations

import difflib
import io
from datetime import datetime
from pathlib import Path

from bot.app import open_usecases
from bot.cli.demo import ALICE, DEMO_SLOS, SEED_DAY, ReplayClock, run_demo
from bot.domain.grammar import parse_command
from bot.views.postmortem import PostmortemRenderer

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "seed_postmortem_corrected.md"
SEED_GOLDEN = GOLDEN.with_name("seed_postmortem.md")


def test_one_correction_changes_the_seed_postmortem_as_the_golden_file_says(database_url: str) -> None:
    seed = run_demo(io.StringIO(), open_usecases, database_url)
    assert seed == SEED_GOLDEN.read_text(encoding="utf-8")  # the record before the correction
    usecases = open_usecases(database_url, ReplayClock(SEED_DAY.replace(hour=14, minute=55)), DEMO_SLOS)
    try:
        _, entries = usecases.incidents.timeline(1)
        assembled = next(e for e in entries if e.kind.value == "assembled")
        assert (assembled.number, f"{assembled.occurred_at:%H:%M}") == (5, "13:50")
        usecases.incidents.run(parse_command("INC-1 correct 5 --at 13:53"), ALICE)
        rendered = PostmortemRenderer().render(usecases.incidents.postmortem(1))
        _, after = usecases.incidents.timeline(1)
    finally:
        usecases.store.dispose()
    expected = GOLDEN.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), rendered.splitlines(True), str(GOLDEN), "rendered"))
    assert rendered == expected, f"postmortem differs from the golden file:\n{diff}"
    # Nothing was updated in place: the original entry is still recorded at 13:50, the correction after it.
    original = next(e for e in after if e.number == 5)
    assert original.occurred_at == datetime.fromisoformat("2026-11-22T13:50:00+00:00")
    assert (after[-1].kind.value, after[-1].number, after[-1].data["entry"]) == ("correction", 17, 5)
