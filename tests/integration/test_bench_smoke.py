"""The benchmark suite still runs: ``python -m bench --quick --smoke`` as a real process, a few samples each.

No figure is judged here (timings on a shared CI machine say nothing); what is checked is that every
benchmark ran, produced rows with finite numbers, and left no target verdict in smoke mode. ``--smoke`` keeps every
row and every case of it but runs each at toy size (one concurrency level; one of the two databases where a row runs
the same code on both; datasets of hundreds, not millions; a sample or two): a row that still runs end to end is what
this proves, which no size adds to. The bench uses the suite's PostgreSQL server (``INCIDENTBOT_TEST_POSTGRES_URL``)
instead of starting one of its own in each run.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import POSTGRES_URL_ENV, PostgresServer

REPO = Path(__file__).resolve().parents[2]
GROUPS = (
    ("ack", "e2e", "writes", "views", "postmortem", "timeline_view", "slack"),
    ("replicas", "alerts", "copy"),
    ("storm", "export", "cli", "web"),
    ("memory",),
)
"""Every benchmark, in four runs that pytest-xdist can give to different workers (one run of all of them was the
suite's longest test), of about the same length (14-18 s each here, 2026-11-30: 67 s for all in one run)."""
EXPECTED_BENCHES = {
    "ack",
    "e2e",
    "writes",
    "views",
    "postmortem",
    "timeline_view",
    "memory",
    "replicas",
    "alerts",
    "storm",
    "copy",
    "export",
    "cli",
    "web",
    "slack",
}


def test_the_groups_hold_every_benchmark_once() -> None:
    """No benchmark is left out of the smoke runs, none run twice, and the bench offers exactly these."""
    from bench.suites import BENCHES

    names = [name for group in GROUPS for name in group]
    assert sorted(names) == sorted(EXPECTED_BENCHES) == sorted(BENCHES)


@pytest.mark.parametrize("group", GROUPS, ids=lambda group: "-".join(group))
def test_every_benchmark_runs_in_smoke_mode(tmp_path: Path, group: tuple[str, ...], postgres: PostgresServer) -> None:
    """Each benchmark finishes and reports numbers; smoke mode judges none of them."""
    out = tmp_path / "smoke.json"
    only = [arg for name in group for arg in ("--only", name)]
    env = {**os.environ, POSTGRES_URL_ENV: postgres.admin_url.render_as_string(hide_password=False)}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--smoke", *only, "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True
    assert set(report["durations"]) == set(group)
    rows = report["rows"]
    assert len({row["bench"] for row in rows}) == len(group)
    for row in rows:
        assert isinstance(row["value"], int | float) and math.isfinite(row["value"]), row
        assert row["met"] is None and row["target"] == "", row
