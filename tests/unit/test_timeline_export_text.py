"""``timeline_json_text``: the timeline export (``timeline --format json``) written piece by piece while the
timeline is read, the same bytes as serialising the whole document (``timeline_json``) at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.model import EntryKind, Incident, Severity, Status, TimelineEntry
from bot.domain.timeline import collect_names
from bot.views.shapes import timeline_json, timeline_json_text

T0 = datetime(2026, 11, 22, 13, 42, tzinfo=UTC)
INCIDENT = Incident(7, 'CDN "edge" 502s — café\nline two', Severity.SEV1, Status.INVESTIGATING, T0, "U0ALICE")

# text that stresses JSON: quotes, backslashes, newlines, non-ASCII, line separators, astral characters
TEXT = st.text(alphabet=st.sampled_from('ab "\\\n\t\u2028é✓😀<@U0BOB|bob>{}[],:'), max_size=20)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), TEXT)
VALUE = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
NAMES = st.dictionaries(st.sampled_from(["U0ALICE", "U0BOB", "U0CAROL"]), st.sampled_from(["alice", "bob", "Bø"]))


@st.composite
def entries(draw: st.DrawFn) -> list[TimelineEntry]:
    count = draw(st.integers(0, 6))
    result = []
    for number in range(1, count + 1):
        data: dict[str, Any] = draw(st.dictionaries(TEXT.filter(lambda k: k != "names"), VALUE, max_size=3))
        names = draw(NAMES)
        if names:
            data["names"] = names
        at = T0 + timedelta(minutes=draw(st.integers(0, 100)))
        kind = draw(st.sampled_from([EntryKind.NOTE, EntryKind.DECLARED, EntryKind.ALERT_FIRED, EntryKind.UPDATE]))
        actor = draw(st.sampled_from(["U0ALICE", "U0BOB", "cli"]))
        result.append(TimelineEntry(kind, at, at, actor, draw(TEXT), data, number))
    return result


@given(timeline=entries(), indent=st.sampled_from([None, 2, 4]))
def test_the_pieces_are_the_whole_document_to_the_byte(timeline: list[TimelineEntry], indent: int | None) -> None:
    """For any timeline, the pieces joined are ``json.dumps(timeline_json(...))`` with the same indent (2: the
    CLI; none: the web's download), and read back as the same document."""
    whole = json.dumps(timeline_json(INCIDENT, timeline), indent=indent, ensure_ascii=False)
    pieces = "".join(timeline_json_text(INCIDENT, collect_names(timeline), iter(timeline), indent=indent))
    assert pieces == whole
    assert json.loads(pieces)["entries"] == json.loads(whole)["entries"]


def test_an_empty_timeline_literally() -> None:
    assert "".join(timeline_json_text(INCIDENT, {}, iter([]), indent=2)) == (
        '{\n  "incident": "INC-7",\n  "title": "CDN \\"edge\\" 502s — café\\nline two",\n'
        '  "status": "investigating",\n  "severity": "sev1",\n  "entries": []\n}'
    )
    assert "".join(timeline_json_text(INCIDENT, {}, iter([]))) == (
        '{"incident": "INC-7", "title": "CDN \\"edge\\" 502s — café\\nline two", "status": "investigating", '
        '"severity": "sev1", "entries": []}'
    )


def test_each_entry_is_written_before_the_next_is_read() -> None:
    """Structural, not timed: when the writer asks for entry n+1, entry n has already been handed out whole."""
    timeline = [
        TimelineEntry(EntryKind.NOTE, T0 + timedelta(minutes=i), T0, "U0BOB", f"note {i}", {}, i + 1) for i in range(3)
    ]
    written: list[str] = []
    seen_when_reading: list[str] = []

    def reader() -> Iterator[TimelineEntry]:
        for entry in timeline:
            seen_when_reading.append("".join(written))
            yield entry

    for piece in timeline_json_text(INCIDENT, {}, reader(), indent=2):
        written.append(piece)
    assert ['"text": "note 0"' in s for s in seen_when_reading] == [False, True, True]
    assert ['"text": "note 1"' in s for s in seen_when_reading] == [False, False, True]
    assert "".join(written).endswith(
        '"text": "note 2",\n      "description": "Note: note 2",\n      "data": {}\n    }\n  ]\n}'
    )
