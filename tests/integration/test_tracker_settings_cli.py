"""TRACKER_* settings given without TRACKER, through the ``incidentbot`` process: ``doctor`` fails the
configuration line naming them and the fix; any other command stops with that one line."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import assert_one_line_error, incidentbot

STRAY = {"TRACKER_PROJECT": "acme/web", "TRACKER_TOKEN": "ghp_FAKEtoken0123"}
MESSAGE = "TRACKER is not set, so TRACKER_PROJECT, TRACKER_TOKEN are ignored: set TRACKER=github|jira or remove them."


def test_doctor_names_the_stray_settings(tmp_path: Path) -> None:
    """``doctor``: ``[FAIL] configuration: <message>`` with its fix line, exit 1, the token never shown."""
    result = incidentbot(
        "--env-file", "", "doctor", database_url=f"sqlite:///{tmp_path / 'bot.db'}", cwd=tmp_path, settings=STRAY
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"[FAIL] configuration: {MESSAGE}", "        fix: correct it in .env or the environment"]
    assert "ghp_FAKEtoken0123" not in result.stdout + result.stderr


def test_another_command_stops_with_the_one_line(tmp_path: Path) -> None:
    """``followups`` refuses to run on a set-up that silently ignores the tracker: one line, no traceback."""
    result = incidentbot("followups", database_url=f"sqlite:///{tmp_path / 'bot.db'}", cwd=tmp_path, settings=STRAY)
    assert_one_line_error(result, MESSAGE)


def test_doctor_names_a_slack_id_mapped_twice(tmp_path: Path) -> None:
    """TRACKER_USERS_FILE mapping U024BE7LH twice (lines 2 and 4): ``doctor`` fails naming the file, the id and
    both lines."""
    users = tmp_path / "users.yml"
    users.write_text("users:\n  U024BE7LH: octocat\n  U0G9QF9C6: hubot\n  U024BE7LH: octo-cat\n")
    settings = {
        "TRACKER": "github",
        "TRACKER_PROJECT": "acme/web",
        "TRACKER_TOKEN": "ghp_FAKEtoken0123",
        "TRACKER_USERS_FILE": str(users),
    }
    result = incidentbot(
        "--env-file", "", "doctor", database_url=f"sqlite:///{tmp_path / 'bot.db'}", cwd=tmp_path, settings=settings
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"[FAIL] configuration: TRACKER_USERS_FILE {str(users)!r}: U024BE7LH is given more than once "
        "(lines 2, 4): keep one of them."
    )


def test_doctor_names_a_slack_id_without_a_login(tmp_path: Path) -> None:
    """TRACKER_USERS_FILE ``users:\\n  U024BE7LH:\\n`` (no value): ``doctor`` says the id has no login and
    how to fix it, never ``None is not a GitHub login``."""
    users = tmp_path / "users.yml"
    users.write_text("users:\n  U024BE7LH:\n")
    settings = {
        "TRACKER": "github",
        "TRACKER_PROJECT": "acme/web",
        "TRACKER_TOKEN": "ghp_FAKEtoken0123",
        "TRACKER_USERS_FILE": str(users),
    }
    result = incidentbot(
        "--env-file", "", "doctor", database_url=f"sqlite:///{tmp_path / 'bot.db'}", cwd=tmp_path, settings=settings
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"[FAIL] configuration: TRACKER_USERS_FILE {str(users)!r}: U024BE7LH has no login: give the GitHub login "
        "(or remove the line)."
    )
