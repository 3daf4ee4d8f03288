"""Backdated follow-up changes through the ``incidentbot`` process (issue 14, fresh tester's repro): each
command a separate run of the entry point, so the follow-up's latest change is read back from the database (SQLite
and PostgreSQL). The two refusals come from child processes; the steps around them run the entry function in this
process (``incidentbot_here``, each run opening the database afresh as a process does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, incidentbot, incidentbot_here

pytestmark = pytest.mark.migrated_database
"""database_url comes at the schema's head, a copy of a template (the first CLI run would migrate it; the migrations are
tested in test_migrations.py and the first-run tests)."""


def test_reopen_backdated_before_done_is_refused_and_the_state_stays_done(database_url: str, tmp_path: Path) -> None:
    def run(text: str) -> str:
        result = incidentbot_here("run", text, database_url=database_url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stdout

    # The tester's days (2026-11-20 .. 11-24), moved to 9 days ago so they stay within the year `--at` takes.
    day = (datetime.now(UTC) - timedelta(days=9)).date()
    d = [f"{day + timedelta(days=n):%Y-%m-%d}" for n in range(5)]
    run(f"declare sev3 Search slow --at {d[0]} 09:00")
    run(f"declare sev1 Payments down --at {d[0]} 10:00")
    run(f"INC-2 followup retry budget @carol --due {d[2]} --at {d[0]} 11:00")
    run(f"INC-2 followup done 1 --at {d[4]} 10:30")
    refused = incidentbot("run", f"INC-2 followup reopen 1 --at {d[1]} 00:00", database_url=database_url, cwd=tmp_path)
    assert_one_line_error(
        refused,
        f"{d[1]} 00:00 UTC is before the latest change of follow-up #1 (done at {d[4]} 10:30 UTC). "
        "Record this change at or after that time.",
    )
    run(f"INC-2 followup owner 1 @erin --at {d[4]} 11:00")  # after the latest: recorded
    before_added = incidentbot(
        "run", f"INC-2 followup owner 1 @dave --at {d[0]} 10:30", database_url=database_url, cwd=tmp_path
    )
    assert_one_line_error(
        before_added,
        f"{d[0]} 10:30 UTC is before follow-up #1 was added ({d[0]} 11:00 UTC); "
        "it cannot be handed over before it existed.",
    )
    listing = run("INC-2 followups")
    assert f"done {d[4]}" in listing, listing
    assert "@erin" in listing, listing
