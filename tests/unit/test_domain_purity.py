"""Imports flow one way: bot.domain uses only the standard library, dateutil and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import bot.domain

DOMAIN_DIR = Path(bot.domain.__file__).parent
DOMAIN_FILES = sorted(DOMAIN_DIR.rglob("*.py"))
ALLOWED_THIRD_PARTY = {"dateutil"}


def package_of(path: Path) -> str:
    """The package a module file belongs to: ``bot/domain/model.py`` -> ``bot.domain``."""
    parts = path.relative_to(DOMAIN_DIR.parent.parent).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1]).removesuffix(".__init__")


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in ``source``; relative ones resolved against ``package``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def is_allowed(module: str) -> bool:
    top = module.split(".")[0]
    return (
        top in sys.stdlib_module_names
        or top == "__future__"
        or top in ALLOWED_THIRD_PARTY
        or module == "bot.domain"
        or module.startswith("bot.domain.")
    )


class TestDomainPurity:
    def test_domain_files_are_found(self) -> None:
        """The walk sees the domain modules (so an empty glob cannot pass silently)."""
        names = {path.name for path in DOMAIN_FILES}
        assert {"model.py", "lifecycle.py", "grammar.py", "timeparse.py", "timeline.py"} <= names

    @pytest.mark.parametrize("path", DOMAIN_FILES, ids=[p.name for p in DOMAIN_FILES])
    def test_imports_only_stdlib_dateutil_and_domain(self, path: Path) -> None:
        """Every import in the module is stdlib, dateutil or bot.domain (including lazy ones in functions)."""
        imports = imported_modules(path.read_text(encoding="utf-8"), package_of(path))
        offending = [f"{path.name}:{line} imports {module}" for line, module in imports if not is_allowed(module)]
        assert offending == []

    @pytest.mark.parametrize(
        ("module", "allowed"),
        [
            ("datetime", True),
            ("collections.abc", True),
            ("dateutil.parser", True),
            ("bot.domain.model", True),
            ("bot.store.repo", False),
            ("bot.errors", False),
            ("bot", False),
            ("sqlmodel", False),
            ("slack_sdk", False),
            ("structlog", False),
            ("bot.domainx", False),
        ],
    )
    def test_rule_itself(self, module: str, allowed: bool) -> None:
        """The rule accepts stdlib, dateutil and bot.domain.*, and refuses adapters and other packages."""
        assert is_allowed(module) is allowed

    def test_relative_imports_are_resolved(self) -> None:
        """A relative import is checked as the absolute module it names."""
        source = "\n".join(
            ["from . import model", "from .. import store", "from ..slack import app", "import sqlalchemy as sa"]
        )
        modules = [module for _, module in imported_modules(source, "bot.domain")]
        assert modules == ["bot.domain", "bot", "bot.slack", "sqlalchemy"]
        assert [is_allowed(module) for module in modules] == [True, False, False, False]

    def test_package_of_files(self) -> None:
        """Module files belong to their folder's package; __init__ is the package itself."""
        assert (package_of(DOMAIN_DIR / "model.py"), package_of(DOMAIN_DIR / "__init__.py")) == (
            "bot.domain",
            "bot.domain",
        )
