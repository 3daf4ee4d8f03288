"""CONFLUENCE_* and POSTMORTEM_GIT_*: off unless set, every problem named, the API token never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, read_settings

CONFLUENCE = {
    "CONFLUENCE_URL": "https://acme.atlassian.net/wiki/",
    "CONFLUENCE_SPACE": "OPS",
    "CONFLUENCE_USER": "bot@acme.example",
    "CONFLUENCE_API_TOKEN": "ATATT3x-secret",
}


def _read(**environ: str) -> tuple[Settings, list[tuple[str, str]]]:
    settings, problems = read_settings(environ, env_file=None)
    return settings, [(p.name, p.message) for p in problems]


def test_off_unless_configured() -> None:
    settings, problems = _read()
    assert (settings.publish_targets, problems) == ((), [])


def test_confluence_configured() -> None:
    settings, problems = _read(**CONFLUENCE, CONFLUENCE_PARENT_ID="65540")
    assert problems == []
    assert (settings.confluence_url, settings.confluence_space, settings.confluence_parent_id) == (
        "https://acme.atlassian.net",
        "OPS",
        "65540",
    )
    assert settings.publish_targets == ("confluence",)
    assert "ATATT3x-secret" not in repr(settings)


def test_a_missing_confluence_setting_is_named_and_confluence_stays_off() -> None:
    settings, problems = _read(**{k: v for k, v in CONFLUENCE.items() if k != "CONFLUENCE_API_TOKEN"})
    assert problems == [
        (
            "CONFLUENCE_API_TOKEN",
            "CONFLUENCE_API_TOKEN is not set: publishing to Confluence needs CONFLUENCE_URL, CONFLUENCE_SPACE, "
            "CONFLUENCE_USER, CONFLUENCE_API_TOKEN (README: Publishing the postmortem).",
        )
    ]
    assert settings.publish_targets == ()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "CONFLUENCE_URL",
            "acme.atlassian.net",
            "CONFLUENCE_URL must be an http(s) URL (your site, e.g. https://acme.atlassian.net), "
            "got 'acme.atlassian.net'.",
        ),
        (
            "CONFLUENCE_SPACE",
            "Ops team",
            "CONFLUENCE_SPACE must be a space key (such as OPS) or a space id, got 'Ops team'.",
        ),
        (
            "CONFLUENCE_USER",
            "bot",
            "CONFLUENCE_USER must be the email of the Atlassian account owning CONFLUENCE_API_TOKEN, got 'bot'.",
        ),
        (
            "CONFLUENCE_PARENT_ID",
            "Postmortems",
            "CONFLUENCE_PARENT_ID must be a page id (digits, from the page's URL), got 'Postmortems'.",
        ),
    ],
)
def test_bad_confluence_values(name: str, value: str, message: str) -> None:
    _, problems = _read(**{**CONFLUENCE, name: value})
    assert problems == [(name, message)]


def test_git_configured(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    settings, problems = _read(POSTMORTEM_GIT_REPO=str(tmp_path), POSTMORTEM_GIT_DIR="/docs/postmortems/")
    assert problems == []
    assert (settings.postmortem_git_repo, settings.postmortem_git_branch, settings.postmortem_git_dir) == (
        tmp_path,
        None,
        "docs/postmortems",
    )
    assert settings.publish_targets == ("git",)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            {"POSTMORTEM_GIT_BRANCH": "-main"},
            ("POSTMORTEM_GIT_BRANCH", "POSTMORTEM_GIT_BRANCH is not a branch name, got '-main'."),
        ),
        (
            {"POSTMORTEM_GIT_BRANCH": "a..b"},
            ("POSTMORTEM_GIT_BRANCH", "POSTMORTEM_GIT_BRANCH is not a branch name, got 'a..b'."),
        ),
        (
            {"POSTMORTEM_GIT_DIR": "../outside"},
            (
                "POSTMORTEM_GIT_DIR",
                "POSTMORTEM_GIT_DIR must be a folder inside the repository such as postmortems or "
                "docs/postmortems, got '../outside'.",
            ),
        ),
        (
            {"POSTMORTEM_GIT_DIR": ".git/hooks"},
            (
                "POSTMORTEM_GIT_DIR",
                "POSTMORTEM_GIT_DIR must be a folder inside the repository such as postmortems or "
                "docs/postmortems, got '.git/hooks'.",
            ),
        ),
    ],
)
def test_bad_git_values(tmp_path: Path, extra: dict[str, str], problem: tuple[str, str]) -> None:
    (tmp_path / ".git").mkdir()
    settings, problems = _read(POSTMORTEM_GIT_REPO=str(tmp_path), **extra)
    assert (problems, settings.publish_targets) == ([problem], ())


def test_a_folder_that_is_not_a_clone_does_not_stop_the_bot(tmp_path: Path) -> None:
    """The second publishing tester's finding: an archive volume not mounted stopped `serve`, `run` and `list`
    (nobody could declare a sev1). The setting is read; doctor and the publication say what is wrong."""
    settings, problems = _read(POSTMORTEM_GIT_REPO=str(tmp_path / "not-mounted"))
    assert (problems, settings.publish_targets) == ([], ("git",))


def test_git_settings_without_the_repository_are_refused() -> None:
    _, problems = _read(POSTMORTEM_GIT_BRANCH="main", POSTMORTEM_GIT_DIR="pm")
    assert problems == [
        (
            "POSTMORTEM_GIT_BRANCH",
            "POSTMORTEM_GIT_REPO is not set, so POSTMORTEM_GIT_BRANCH, POSTMORTEM_GIT_DIR would be ignored: set "
            "POSTMORTEM_GIT_REPO to a local clone or remove them.",
        )
    ]
