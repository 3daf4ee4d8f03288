"""The codebase stays lint-clean (ruff) and type-clean (mypy --strict on bot/): checked like any test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300)


class TestStaticChecks:
    def test_ruff_finds_nothing(self) -> None:
        """ruff check (rules in pyproject.toml, DTZ catches naive datetimes) passes on bot, tests and bench."""
        result = _run("ruff", "check", "bot", "tests", "bench")
        assert result.returncode == 0, result.stdout + result.stderr

    def test_mypy_strict_is_clean(self) -> None:
        """mypy --strict (configured in pyproject.toml) reports no error in bot/."""
        result = _run("mypy")
        assert result.returncode == 0, result.stdout + result.stderr
