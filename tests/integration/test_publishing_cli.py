"""``incidentbot run "INC-n postmortem publish"`` as a child process: it queues one item per configured target
(a running serve publishes them), says so on stderr, and without a target is refused in one line. The declaration
before it and the outbox listing after it run the entry function in this process (``incidentbot_here``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, incidentbot, incidentbot_here

pytestmark = pytest.mark.migrated_database
"""database_url comes at the schema's head, a copy of a template (the first CLI run would migrate it; the migrations are
tested in test_migrations.py and the first-run tests)."""


def _clone(tmp_path: Path) -> Path:
    bare, clone = tmp_path / "pm.git", tmp_path / "clone"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(bare), str(clone)], check=True, capture_output=True)
    return clone


def test_publish_queues_one_item_per_target(database_url: str, tmp_path: Path) -> None:
    settings = {"POSTMORTEM_GIT_REPO": str(_clone(tmp_path))}
    declared = incidentbot_here(
        "run", "declare sev2 CDN edge 502s", database_url=database_url, cwd=tmp_path, settings=settings
    )
    assert declared.returncode == 0, declared.stderr
    result = incidentbot("run", "INC-1 postmortem publish", database_url=database_url, cwd=tmp_path, settings=settings)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == (
        "Queued the publication of INC-1's postmortem to Git; a running `incidentbot serve` publishes it and "
        "records each publication on the timeline.\n"
    )
    listed = incidentbot_here("outbox", "--format", "json", database_url=database_url, cwd=tmp_path, settings=settings)
    items = json.loads(listed.stdout)["items"]
    assert [(i["kind"], i["incident"]) for i in items] == [("publish.git", "INC-1")]


def test_publish_without_a_target_is_refused_in_one_line(database_url: str, tmp_path: Path) -> None:
    declared = incidentbot_here("run", "declare sev2 CDN edge 502s", database_url=database_url, cwd=tmp_path)
    assert declared.returncode == 0, declared.stderr
    result = incidentbot("run", "INC-1 postmortem publish", database_url=database_url, cwd=tmp_path)
    assert_one_line_error(result, "No publishing target is configured", "POSTMORTEM_GIT_REPO")
