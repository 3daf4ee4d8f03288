"""Imports run one way: every module of ``bot`` imports only from the layers its row allows.

The layers, lowest first (a layer may import those below it that its row names, never one above):

    domain        bot.domain                       decisions and the bot's vocabulary, as pure data:
                                                   stdlib and dateutil only (also: test_domain_purity.py)
    base          bot.errors, bot.log, bot.config  failures, logging, settings (read once, injected)
    store         bot.store                        the database: tables, transactions, migrations
    usecases      bot.usecases                     one transaction per use case, effects queued in it
    outbox        bot.outbox                       the worker delivering the queued effects (drives the
                                                   store's queue, so it sits above the store)
    views         bot.views                        plain-text replies, reports, postmortem rendering
    metrics       bot.metrics                      Prometheus counters every surface records into, and
                                                   the database gauges read through the use cases
    adapters      bot.slack, bot.integrations,     the surfaces; each knows only the layers below, never
                  bot.jobs, bot.cli, bot.web       another adapter and never the store (they reach the
                                                   database through the use cases)
    app           bot.app, bot.compose,            the composition root: builds and wires everything
                  bot.doctor                       (bot.compose: the use cases and the database commands,
                                                   without the server, so that a command needing only the
                                                   database starts fast); ``incidentbot doctor`` checks that
                                                   same set-up (settings, database, Slack, catalogue,
                                                   templates) without wiring it
    entry point   bot.cli.main                     the ``incidentbot`` script: the one module that may
                                                   import bot.app and bot.compose (``serve``/``socket``
                                                   start the server built in bot.app; ``list``,
                                                   ``timeline``, ``db upgrade``... get their use cases
                                                   built in bot.compose); the app layer imports no CLI

Where the shared types live: what several layers name (the outbox ``Effect`` and ``OutboxItem``,
the ``IncidentSummary`` lists show, a ``Person`` in a message) is plain data in ``bot.domain``
(``bot.domain.effects``, ``bot.domain.model``, ``bot.domain.people``). The store keeps effects, the use
cases queue them, the adapters plan and deliver them, and the worker hands them over: defined at the
bottom, they need no adapter to import the store, and the store no layer above it.

What one adapter needs of another is injected by bot.app: the nudge job and the webhooks get the
Slack effect plans as arguments, the worker's ``on_buried`` joins PagerDuty's kinds to Slack's notice.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import bot

BOT_DIR = Path(bot.__file__).parent

LAYER_OF: Mapping[str, str] = {
    "bot.domain": "domain",
    "bot.errors": "base",
    "bot.log": "base",
    "bot.config": "base",
    "bot.store": "store",
    "bot.usecases": "usecases",
    "bot.outbox": "outbox",
    "bot.views": "views",
    "bot.metrics": "metrics",
    "bot.slack": "slack",
    "bot.integrations": "integrations",
    "bot.jobs": "jobs",
    "bot.cli": "cli",
    "bot.web": "web",
    "bot.cli.main": "entry point",
    "bot.app": "app",
    "bot.compose": "app",
    "bot.doctor": "app",
}
"""Module (or package) -> its layer; a module belongs to the longest prefix listed."""

BELOW_ADAPTERS = frozenset({"domain", "base", "usecases", "outbox", "views", "metrics"})
"""What every adapter may import besides its own package: not the store, not another adapter."""

MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "domain": frozenset({"domain"}),
    "base": frozenset({"domain", "base"}),
    "store": frozenset({"domain", "base", "store"}),
    "usecases": frozenset({"domain", "base", "store", "usecases"}),
    "outbox": frozenset({"domain", "base", "store", "usecases", "outbox"}),
    "views": frozenset({"domain", "base", "usecases", "views"}),
    "metrics": frozenset({"domain", "base", "usecases", "metrics"}),
    "slack": BELOW_ADAPTERS | {"slack"},
    "integrations": BELOW_ADAPTERS | {"integrations"},
    "jobs": BELOW_ADAPTERS | {"jobs"},
    "cli": BELOW_ADAPTERS | {"cli"},
    "web": BELOW_ADAPTERS | {"web"},
    "entry point": BELOW_ADAPTERS | {"cli", "app"},
    "app": frozenset(
        {
            "domain",
            "base",
            "store",
            "usecases",
            "outbox",
            "views",
            "metrics",
            "slack",
            "integrations",
            "jobs",
            "web",
            "app",
        }
    ),
}
"""Layer -> the layers its modules may import (the standard library and third-party packages aside)."""


def module_name(path: Path, root: Path) -> str:
    """``<root>/bot/slack/app.py`` -> ``bot.slack.app``; a package's ``__init__.py`` is the package."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    """The layer of ``module`` (longest listed prefix), None for a module of no layer (``bot`` itself)."""
    prefixes = [p for p in LAYER_OF if module == p or module.startswith(p + ".")]
    return LAYER_OF[max(prefixes, key=len)] if prefixes else None


def bot_imports(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module) of every ``bot`` import in ``source``, at any depth (functions,
    ``if TYPE_CHECKING:``); relative imports are resolved; ``from bot import slack`` names ``bot.slack``."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            # `from bot import slack` / `from .. import store`: the names are the modules imported.
            names = [f"{target}.{alias.name}" for alias in node.names] if layer_of(target) is None else [target]
        else:
            continue
        found.extend((node.lineno, name) for name in names if name == "bot" or name.startswith("bot."))
    return sorted(found)


def offenders(root: Path) -> list[str]:
    """Every wrong-way import under ``root/bot``, as ``bot/jobs/nudges.py:19: jobs imports slack (bot.slack.delivery)``;
    a module of no layer is an offender too (a new top-level module must be given its row)."""
    found: list[str] = []
    for path in sorted((root / "bot").rglob("*.py")):
        module = module_name(path, root)
        where = path.relative_to(root).as_posix()
        layer = layer_of(module)
        if layer is None:
            if module != "bot":
                found.append(f"{where}: {module} belongs to no layer (add it to LAYER_OF)")
            continue
        for line, imported in bot_imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            target = layer_of(imported)
            if target is None:
                found.append(f"{where}:{line}: {layer} imports {imported}, which belongs to no layer")
            elif target not in MAY_IMPORT[layer]:
                found.append(f"{where}:{line}: {layer} imports {target} ({imported})")
    return found


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def _packages(root: Path, names: Iterable[str]) -> None:
    _write(root, {f"{name.replace('.', '/')}/__init__.py": "" for name in names})


class TestLayers:
    def test_no_import_runs_the_wrong_way(self) -> None:
        """Every import of every module under bot/ is allowed by its layer's row (all offenders listed)."""
        found = offenders(BOT_DIR.parent)
        assert found == [], "imports running the wrong way:\n" + "\n".join(found)

    def test_every_listed_layer_exists(self) -> None:
        """Each row of LAYER_OF names a module or package that exists (a renamed package cannot slip out)."""
        missing = [
            name
            for name in LAYER_OF
            if not (BOT_DIR.parent / f"{name.replace('.', '/')}.py").exists()
            and not (BOT_DIR.parent / name.replace(".", "/") / "__init__.py").exists()
        ]
        assert missing == []

    def test_the_walk_sees_every_layer(self) -> None:
        """The checked files cover all fourteen layers (an empty glob cannot pass)."""
        seen = {layer_of(module_name(p, BOT_DIR.parent)) for p in BOT_DIR.rglob("*.py")}
        assert seen - {None} == {
            "domain",
            "base",
            "store",
            "usecases",
            "outbox",
            "views",
            "metrics",
            "slack",
            "integrations",
            "jobs",
            "cli",
            "web",
            "entry point",
            "app",
        }

    @pytest.mark.parametrize(
        ("root", "expected"), [("bot.app", {"bot.cli.main"}), ("bot.compose", {"bot.cli.main", "bot.app"})]
    )
    def test_only_the_entry_point_imports_the_composition_root(self, root: str, expected: set[str]) -> None:
        """bot.app is imported by bot.cli.main and nothing else in bot/; bot.compose by those two only."""
        importers = set()
        for path in BOT_DIR.rglob("*.py"):
            module = module_name(path, BOT_DIR.parent)
            imports = bot_imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
            if any(name == root or name.startswith(root + ".") for _, name in imports):
                importers.add(module)
        assert importers == expected


class TestTheCheckerItself:
    """The checker run on a planted module tree: it must find exactly the wrong-way imports planted."""

    def test_planted_wrong_way_imports_are_all_reported(self, tmp_path: Path) -> None:
        _packages(
            tmp_path,
            ["bot", "bot.domain", "bot.store", "bot.usecases", "bot.slack", "bot.integrations", "bot.jobs", "bot.cli"],
        )
        _write(
            tmp_path,
            {
                "bot/errors.py": "from bot.domain import model\n",
                "bot/domain/model.py": "import datetime\nfrom bot.store import repo\n",
                "bot/domain/ok.py": "from . import model\nfrom .model import x\n",
                "bot/store/repo.py": "from bot.domain.model import x\nfrom bot.errors import E\n",
                "bot/usecases/incidents.py": "from bot.store.repo import Repo\n",
                "bot/slack/delivery.py": "from bot.usecases.incidents import U\nfrom ..integrations import hooks\n",
                "bot/integrations/hooks.py": "def f():\n    from bot.slack.delivery import plan\n",
                "bot/jobs/nudges.py": (
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot import slack\n"
                    "from bot.store.outbox import Effect\n"
                ),
                "bot/cli/demo.py": "import bot.app\n",
                "bot/cli/main.py": "from bot.app import build\nfrom bot.cli import demo\n",
                "bot/app.py": (
                    "from bot.cli.main import main\nfrom bot.slack import delivery\nfrom bot.store import repo\n"
                ),
                "bot/stray.py": "x = 1\n",
            },
        )
        assert offenders(tmp_path) == [
            "bot/app.py:1: app imports entry point (bot.cli.main)",
            "bot/cli/demo.py:1: cli imports app (bot.app)",
            "bot/domain/model.py:2: domain imports store (bot.store)",
            "bot/integrations/hooks.py:2: integrations imports slack (bot.slack.delivery)",
            "bot/jobs/nudges.py:3: jobs imports slack (bot.slack)",
            "bot/jobs/nudges.py:4: jobs imports store (bot.store.outbox)",
            "bot/slack/delivery.py:2: slack imports integrations (bot.integrations)",
            "bot/stray.py: bot.stray belongs to no layer (add it to LAYER_OF)",
        ]

    def test_a_clean_tree_has_no_offender(self, tmp_path: Path) -> None:
        """The same checker finds nothing when every import runs downwards (it does not just always fail)."""
        _packages(tmp_path, ["bot", "bot.domain", "bot.slack"])
        _write(
            tmp_path,
            {
                "bot/domain/model.py": "import datetime\n",
                "bot/slack/delivery.py": "from bot.domain.model import x\nfrom . import delivery\n",
                "bot/app.py": "from bot.slack import delivery\n",
            },
        )
        assert offenders(tmp_path) == []

    @pytest.mark.parametrize(
        ("module", "layer"),
        [
            ("bot.domain.model", "domain"),
            ("bot.config", "base"),
            ("bot.store.migrations.env", "store"),
            ("bot.outbox.worker", "outbox"),
            ("bot.slack.listeners.commands", "slack"),
            ("bot.cli.demo", "cli"),
            ("bot.cli.main", "entry point"),
            ("bot.app", "app"),
            ("bot.applications", None),
            ("bot", None),
        ],
    )
    def test_longest_prefix_decides_the_layer(self, module: str, layer: str | None) -> None:
        """``bot.cli.main`` is the entry point though ``bot.cli`` is an adapter; ``bot.applications`` is no
        ``bot.app``."""
        assert layer_of(module) == layer

    @pytest.mark.parametrize(
        ("source", "module", "is_package", "expected"),
        [
            ("from bot import slack, store", "bot.app", False, ["bot.slack", "bot.store"]),
            ("from .. import store", "bot.slack.app", False, ["bot.store"]),
            ("from . import commands", "bot.slack.listeners", True, ["bot.slack.listeners"]),
            ("from ..delivery import plan", "bot.slack.listeners.events", False, ["bot.slack.delivery"]),
            ("import bot.store.repo as repo", "bot.jobs.nudges", False, ["bot.store.repo"]),
            ("import sqlalchemy\nfrom datetime import UTC", "bot.store.repo", False, []),
            ("def f() -> None:\n    import bot.slack.text", "bot.jobs.nudges", False, ["bot.slack.text"]),
        ],
    )
    def test_imports_are_read_as_python_resolves_them(
        self, source: str, module: str, is_package: bool, expected: list[str]
    ) -> None:
        """Relative imports, ``from bot import x``, aliases and imports inside functions all count."""
        assert [name for _, name in bot_imports(source, module, is_package)] == expected
