"""`pip install .` (the README's first command) ships every package of bot/: setuptools installs only the
packages pyproject.toml lists, so a new package missing there works in a checkout and fails installed."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_bot_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "bot").rglob("__init__.py")}
    assert found, "no package found under bot/"
    assert found - listed == set(), "packages pip install . would leave out"
    assert listed - found == {"bot.templates"}  # the top-level templates/ folder, shipped as bot.templates
