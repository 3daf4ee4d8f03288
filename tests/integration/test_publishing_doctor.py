"""``incidentbot doctor``'s lines for the publishing targets: the Confluence space read with the account's
token (the fake Confluence), the Git clone and its remote (a bare repository in a temporary folder)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.config import Settings, load_settings
from bot.doctor import Check, publishing_checks
from tests.support.fake_confluence import EMAIL, TOKEN, FakeConfluence


def _settings(**environ: str) -> Settings:
    return load_settings(environ, env_file=None)


async def test_nothing_is_checked_when_publishing_is_off() -> None:
    assert await publishing_checks(_settings()) == []


async def test_confluence_readable_and_refused() -> None:
    fake = FakeConfluence()
    await fake.start()
    try:
        good = _settings(
            CONFLUENCE_URL=fake.url, CONFLUENCE_SPACE="OPS", CONFLUENCE_USER=EMAIL, CONFLUENCE_API_TOKEN=TOKEN
        )
        assert await publishing_checks(good) == [
            Check("publishing (confluence)", "ok", "space OPS (Operations) readable")
        ]
        bad = _settings(
            CONFLUENCE_URL=fake.url, CONFLUENCE_SPACE="OPS", CONFLUENCE_USER=EMAIL, CONFLUENCE_API_TOKEN="nope"
        )
        assert await publishing_checks(bad) == [
            Check(
                "publishing (confluence)",
                "FAIL",
                "GET /space/OPS: Confluence refused (HTTP 401, the account email or the API token is not valid: "
                "check CONFLUENCE_USER and CONFLUENCE_API_TOKEN): Unauthorized",
                "correct CONFLUENCE_USER / CONFLUENCE_API_TOKEN / CONFLUENCE_SPACE (README, Publishing)",
            )
        ]
    finally:
        await fake.stop()


async def test_git_clone_and_remote(tmp_path: Path) -> None:
    bare, clone = tmp_path / "pm.git", tmp_path / "clone"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(bare), str(clone)], check=True, capture_output=True)
    subprocess.run(
        ["git", "-c", "user.name=A", "-c", "user.email=a@x", "commit", "--quiet", "--allow-empty", "-m", "s"],
        cwd=clone,
        check=True,
    )
    assert await publishing_checks(_settings(POSTMORTEM_GIT_REPO=str(clone))) == [
        Check("publishing (git)", "ok", f"main -> {bare}")
    ]
    subprocess.run(["git", "remote", "set-url", "origin", str(tmp_path / "gone.git")], cwd=clone, check=True)
    (check,) = await publishing_checks(_settings(POSTMORTEM_GIT_REPO=str(clone)))
    assert (check.name, check.status, check.fix) == (
        "publishing (git)",
        "FAIL",
        "correct POSTMORTEM_GIT_* or the clone's origin",
    )
    assert check.detail.startswith(
        f"git ls-remote failed in {clone}: fatal: '{tmp_path / 'gone.git'}' does not appear to be a git repository"
    )
