"""A model of what PagerDuty must receive over an incident's life, written from the issue's rules.

An open period pages once, at its first step at a paging severity (sev1, sev2); the step that
resolves a period that paged sends one resolve, whatever the severity is by then; a resolved
incident sends nothing; commands the bot refuses (resolve while resolved, reopen while open)
change nothing.
"""

from __future__ import annotations

from hypothesis import strategies as st

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
PAGING = frozenset({"sev1", "sev2"})  # the paging threshold, written out (not imported from the code)

commands = st.lists(
    st.one_of(
        st.sampled_from(SEVERITIES).map(lambda s: f"severity {s}"),
        st.just("resolve done"),
        st.just("reopen again"),
        st.just("note still looking"),
    ),
    min_size=1,
    max_size=8,
)
"""``/incident`` command texts after the declaration."""


def expected_events(initial: str, steps: list[str]) -> list[list[str]]:
    """Per step (the declaration first), the ``event_action`` values PagerDuty must receive."""
    is_open, severity, paged = True, initial, initial in PAGING
    per_step = [["trigger"] if paged else []]
    for command in steps:
        events: list[str] = []
        if command.startswith("severity "):
            severity = command.split()[1]
            if is_open and not paged and severity in PAGING:
                paged, events = True, ["trigger"]
        elif command.startswith("resolve") and is_open:
            is_open, events, paged = False, (["resolve"] if paged else []), False
        elif command.startswith("reopen") and not is_open:
            is_open = True
            if severity in PAGING:
                paged, events = True, ["trigger"]
        per_step.append(events)
    return per_step
