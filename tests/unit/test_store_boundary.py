"""The database stays inside the store: no module of bot/ outside bot/store imports sqlalchemy or sqlmodel.

Use cases reach tables only through the unit of work's repositories, and catch the project's own errors
(ConcurrentUpdate, StoreUnavailable), which the store raises in place of the database's exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot

BOT_DIR = Path(bot.__file__).parent
STORE_DIR = BOT_DIR / "store"
DATABASE_PACKAGES = {"sqlalchemy", "sqlmodel"}
DATABASE_ERRORS = {"IntegrityError", "OperationalError", "SQLAlchemyError", "DBAPIError", "StatementError"}


def database_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of sqlalchemy or sqlmodel in ``source``, lazy ones in functions included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.extend((node.lineno, name) for name in names if name.split(".")[0] in DATABASE_PACKAGES)
    return found


def database_errors_named(source: str) -> list[tuple[int, str]]:
    """(line, name) of every mention of a SQLAlchemy exception class (``sa.exc.IntegrityError`` or bare)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in DATABASE_ERRORS:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Name) and node.id in DATABASE_ERRORS:
            found.append((node.lineno, node.id))
    return found


def offenders(root: Path) -> list[str]:
    """``path:line imports module`` (or ``names error``) for each database import or database exception
    named in a module of ``root`` outside ``root/store``."""
    result: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if (root / "store") in path.parents:
            continue
        source = path.read_text(encoding="utf-8")
        place = path.relative_to(root.parent)
        result += [f"{place}:{line} imports {module}" for line, module in database_imports(source)]
        result += [f"{place}:{line} names {name}" for line, name in database_errors_named(source)]
    return result


class TestStoreBoundary:
    def test_the_walk_sees_every_layer(self) -> None:
        """The files walked include the use cases, adapters and the store (an empty glob cannot pass)."""
        walked = {path.relative_to(BOT_DIR).as_posix() for path in BOT_DIR.rglob("*.py")}
        assert {"usecases/incidents.py", "usecases/shared.py", "app.py", "slack/delivery.py"} <= walked
        assert {"store/repo.py", "store/incidents.py"} <= walked

    def test_no_module_outside_the_store_imports_the_database_libraries(self) -> None:
        """ast over bot/**.py: sqlalchemy and sqlmodel are imported, their exceptions named, only in bot/store."""
        assert offenders(BOT_DIR) == []

    def test_the_store_itself_is_where_they_are(self) -> None:
        """The check looks at real imports: the store's own modules do import the database libraries."""
        found = {module for line, module in database_imports((STORE_DIR / "repo.py").read_text(encoding="utf-8"))}
        assert {"sqlalchemy", "sqlmodel"} <= found

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("import sqlalchemy as sa", [(1, "sqlalchemy")]),
            ("from sqlalchemy.exc import IntegrityError", [(1, "sqlalchemy.exc")]),
            ("import os, sqlmodel", [(1, "sqlmodel")]),
            ("from sqlmodel import Session", [(1, "sqlmodel")]),
            ("def f():\n    import sqlalchemy.exc\n", [(2, "sqlalchemy.exc")]),
            ("from bot.store import open_store", []),
            ("import sqlalchemy_utils", []),
            ("from . import sqlmodel", []),
            ("x = 'import sqlalchemy'", []),
        ],
    )
    def test_rule_itself(self, source: str, expected: list[tuple[int, str]]) -> None:
        """Absolute imports of the two packages (and their submodules) are found; look-alikes are not."""
        assert database_imports(source) == expected

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("try:\n    pass\nexcept (ConcurrentUpdate, sa.exc.IntegrityError):\n    pass", [(3, "IntegrityError")]),
            ("try:\n    pass\nexcept OperationalError:\n    pass", [(3, "OperationalError")]),
            ("raise sqlalchemy.exc.SQLAlchemyError()", [(1, "SQLAlchemyError")]),
            ("try:\n    pass\nexcept ConcurrentUpdate:\n    pass", []),
            ("integrity_error = 'IntegrityError'", []),
        ],
    )
    def test_exception_rule_itself(self, source: str, expected: list[tuple[int, str]]) -> None:
        """A SQLAlchemy exception class named as an attribute or bare name is found; strings and our own are not."""
        assert database_errors_named(source) == expected

    def test_an_offender_is_reported_with_its_place(self, tmp_path: Path) -> None:
        """A use case importing sqlalchemy and catching its IntegrityError is named with its lines; the same
        code under store/ is not."""
        root = tmp_path / "bot"
        (root / "usecases").mkdir(parents=True)
        (root / "store").mkdir()
        leaky = '"""Leaks."""\n\nimport sqlalchemy as sa\n\ntry:\n    pass\nexcept sa.exc.IntegrityError:\n    pass\n'
        (root / "usecases" / "leaky.py").write_text(leaky, encoding="utf-8")
        (root / "store" / "repo.py").write_text(leaky, encoding="utf-8")
        assert offenders(root) == [
            "bot/usecases/leaky.py:3 imports sqlalchemy",
            "bot/usecases/leaky.py:7 names IntegrityError",
        ]
