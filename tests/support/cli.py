"""Driving the ``incidentbot`` command line as users run it: a child process with only DATABASE_URL set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "incidentbot"


def incidentbot(
    *args: str, database_url: str, cwd: Path, script: bool = False, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process with only DATABASE_URL configured (no .env: cwd is a fresh folder),
    plus ``settings`` (e.g. the TRACKER_* variables) when given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INCIDENT_", "LOG_", "TRACKER")) and k != "DATABASE_URL"
    }
    env["DATABASE_URL"] = database_url
    env.update(settings or {})
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "bot.cli.main"]
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A failure: non-zero exit, exactly one ``incidentbot: ...`` line on stderr, no traceback anywhere."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("incidentbot: ")
    for fragment in fragments:
        assert fragment in lines[0]
