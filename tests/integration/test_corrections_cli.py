"""Corrections through the ``incidentbot`` entry point (issue 16), each command its own run, on SQLite and
PostgreSQL: numbered timeline, ``correct``/``strike``, the JSON record keeping both, the views reading the
corrected version, refusals as one line, strict roles. A strict-roles refusal and a correction under strict roles,
a refusal by the domain and the text timeline are child processes; the other steps (``here=True``) run the entry
function in this process (``incidentbot_here``), each opening the database afresh as a process does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import open_usecases
from bot.domain.grammar import parse_command
from bot.domain.slo import EMPTY_CATALOG
from bot.usecases.shared import Actor
from tests.support.cli import assert_one_line_error, run_incidentbot

pytestmark = pytest.mark.migrated_database
"""database_url comes at the schema's head, a copy of a template (open_usecases would migrate it first thing; the
migrations are tested in test_migrations.py and the first-run tests)."""


def test_correct_and_strike_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    day = f"{(datetime.now(UTC) - timedelta(days=3)).date():%Y-%m-%d}"

    def run(text: str, user: str = "@alice", strict: bool = False, here: bool = False) -> str:
        settings = {"INCIDENT_STRICT_ROLES": "true"} if strict else None
        result = run_incidentbot(
            "run", "--user", user, text, process=not here, database_url=database_url, cwd=tmp_path, settings=settings
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def refused(text: str, *fragments: str, user: str = "@alice", strict: bool = False, here: bool = False) -> None:
        settings = {"INCIDENT_STRICT_ROLES": "true"} if strict else None
        result = run_incidentbot(
            "run", "--user", user, text, process=not here, database_url=database_url, cwd=tmp_path, settings=settings
        )
        assert_one_line_error(result, *fragments)

    def read(*args: str, here: bool = False) -> str:
        result = run_incidentbot(*args, process=not here, database_url=database_url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stdout

    # The incident as typed with the CLI (`incidentbot run --user @alice ...`), recorded in-process to keep the
    # test short; what follows is each its own run of the entry point (a process unless here=True).
    usecases = open_usecases(database_url, lambda: datetime.now(UTC), EMPTY_CATALOG)
    try:
        for text in (
            f"declare sev2 Checkout errors --at {day} 10:00",
            f"INC-1 impact 20% --at {day} 10:00",
            f"INC-1 lead @alice --at {day} 10:01",
            f"INC-1 assemble @bob:networking --at {day} 10:20",
            f"INC-1 note edge CPU at 100% --at {day} 10:25",
            f"INC-1 rollback deploy 41 reverted --at {day} 10:40",
            f"INC-1 resolve healthy again --at {day} 10:50",
        ):
            usecases.incidents.run(parse_command(text, names=True), Actor("alice"))
    finally:
        usecases.store.dispose()

    # Under strict roles, someone outside the IRT may not correct; bob (IRT) may.
    refused(
        f"INC-1 correct 4 --at {day} 10:05",
        "Only the lead @alice and the IRT of INC-1 may correct the timeline of it (strict roles are on).",
        user="@mallory",
        strict=True,
    )
    assert run(f"INC-1 correct 4 --at {day} 10:05", user="@bob", strict=True) == (
        "INC-1 · Corrected #4 (IRT assembled): time 10:20 -> 10:05"
    )
    assert run("INC-1 strike 5 posted in the wrong incident", here=True) == (
        'INC-1 · Struck #5 (note "edge CPU at 100%"): posted in the wrong incident'
    )
    refused(
        "INC-1 strike 6 wrong",
        "Entry #6 (rollback) changed INC-1's status, which follows from it, so it cannot be struck.",
    )
    refused(
        "INC-1 correct 5 edge CPU at 90%", "Entry #5 was struck by #9; there is nothing left to correct.", here=True
    )
    refused(
        f"INC-1 correct 6 --at {day} 10:00",
        f"{day} 10:00 UTC would put the rollback (#6) before the IRT assembled (#4, {day} 10:05 UTC)",
        here=True,
    )

    timeline = read("timeline", "INC-1").splitlines()
    assert timeline[1:] == [
        f"#1  {day} 10:00  Incident declared (sev2): Checkout errors  (@alice)",
        f"#2  {day} 10:00  Impact: 20% of requests failing  (@alice)",
        f"#3  {day} 10:01  @alice is now the incident lead  (@alice)",
        f"#4  {day} 10:05  IRT assembled: @bob (networking)  (@alice)  [corrected by #8]",
        f"#5  {day} 10:25  ~~Note: edge CPU at 100%~~  (@alice)  [struck by #9: posted in the wrong incident]",
        f"#6  {day} 10:40  Rolled back: deploy 41 reverted  (@alice)",
        f"#7  {day} 10:50  Incident resolved: healthy again  (@alice)",
        timeline[8],
        timeline[9],
    ]
    assert timeline[8].startswith("#8  ") and timeline[8].endswith(
        "  Corrected #4 (IRT assembled): time 10:20 -> 10:05  (@bob)"
    )
    assert timeline[9].startswith("#9  ") and timeline[9].endswith(
        '  Struck #5 (note "edge CPU at 100%"): posted in the wrong incident  (@alice)'
    )

    document = json.loads(read("timeline", "INC-1", "--format", "json", here=True))
    entries = {e["number"]: e for e in document["entries"]}
    assert sorted(entries) == list(range(1, 10))
    assert (entries[4]["kind"], entries[4]["occurred_at"]) == ("assembled", f"{day}T10:20:00Z")  # the original
    assert (entries[5]["kind"], entries[5]["text"]) == ("note", "edge CPU at 100%")
    assert entries[8]["kind"] == "correction"
    assert {k: entries[8]["data"][k] for k in ("entry", "entry_kind", "at_from", "at_to")} == {
        "entry": 4,
        "entry_kind": "assembled",
        "at_from": f"{day}T10:20:00+00:00",
        "at_to": f"{day}T10:05:00+00:00",
    }
    assert (entries[9]["kind"], entries[9]["data"]["entry"], entries[9]["text"]) == (
        "strike",
        5,
        "posted in the wrong incident",
    )

    postmortem = read("postmortem", "INC-1", here=True)
    assert "| Time to assemble the IRT | 5 min | 10:05 |" in postmortem
    assert "- The IRT was assembled 5 min after detection." in postmortem
    assert "edge CPU" not in postmortem
    assert "- **10:05** IRT assembled: @bob (networking) (@alice) _(corrected)_\n" in postmortem

    # The declaration really was at 09:58: `list` and `report` measure from the corrected time.
    assert (
        run(f"INC-1 correct 1 --at {day} 09:58", here=True) == "INC-1 · Corrected #1 (declaration): time 10:00 -> 09:58"
    )
    listed = json.loads(read("list", "--format", "json", here=True))["incidents"]
    assert [(i["incident"], i["declared_at"], i["resolved_at"]) for i in listed] == [
        ("INC-1", f"{day}T09:58:00Z", f"{day}T10:50:00Z")
    ]
    report = read("report", "--since", "30d", "--format", "csv", here=True).splitlines()
    assert report[0].startswith("incident,declared_at,severity,service,minutes_to_assemble,minutes_to_mitigate,")
    # assemble 10:05 - 09:58 = 7 min; mitigate (rollback 10:40) 42 min; resolve 10:50 = 52 min
    assert report[1].startswith(f"INC-1,{day}T09:58:00Z,sev2,(none),7.0,42.0,52.0,")
