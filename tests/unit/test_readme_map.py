"""The README's "How the code is organised" names every module of bot/ and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _map_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## How the code is organised", 1)[1]
    return section.split("```", 2)[1]


def _named(block: str) -> set[str]:
    """Every module the map names: ``bot/x/`` opens a folder for the bare ``y.py`` names after it."""
    named: set[str] = set()
    folder = "bot/"
    for line in block.splitlines():
        head = re.match(r"^(bot/(?:[\w]+/)*)", line)  # a line starting with a path sets the folder
        if head:
            folder = head.group(1)
        for token in re.findall(r"[\w/]+\.py", line):
            named.add(token if token.startswith("bot/") else folder + token)
    return named


def _modules() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bot").rglob("*.py")
        if path.name != "__init__.py" and "migrations" not in path.parts
    }


def test_every_module_is_on_the_map() -> None:
    assert sorted(_modules() - _named(_map_block())) == []


def test_the_map_names_no_module_that_is_gone() -> None:
    assert sorted(_named(_map_block()) - _modules()) == []


def test_the_reader_is_not_fooled_by_a_missing_line() -> None:
    """Leaving a line out of the map is caught (the check can fail)."""
    block = _map_block().replace("  grammar.py ", "  ")
    assert "bot/domain/grammar.py" in _modules() - _named(block)
