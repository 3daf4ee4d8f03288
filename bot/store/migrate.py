"""Applying Alembic migrations from inside the package, without an alembic.ini on disk."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Alembic keeps the running migration context in module globals (alembic.context, alembic.op), so two
# upgrades in one process must not overlap; across processes env.py's advisory lock orders them.
_UPGRADE_LOCK = threading.Lock()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe for replicas starting together on PostgreSQL)."""
    config = alembic_config(engine)
    with _UPGRADE_LOCK, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def known_revisions(engine: Engine) -> set[str]:
    """Every schema revision this version of incidentbot ships (a database at any other was migrated by a newer one)."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()}
