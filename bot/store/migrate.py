"""Applying Alembic migrations from inside the package, without an alembic.ini on disk.

Reading which revision a database is at needs no Alembic: it is the one row of the ``alembic_version``
table Alembic keeps, read with plain SQL (``current_revision``), and the newest revision this incidentbot
ships is ``HEAD_REVISION``. Commands that only read (``incidentbot list``) open the store without
importing Alembic's machinery; it is imported when a schema is migrated or a revision graph walked.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.errors import StoreUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0014"
"""The newest schema revision in ``MIGRATIONS_DIR/versions`` (the last migration's ``revision``). Kept
here so that reading commands need not load Alembic's script directory to know it; a unit test
(tests/unit/test_schema_head.py) checks it against Alembic's own head, so a new migration must move it."""
VERSION_TABLE = "alembic_version"
"""Where Alembic records a database's revision: one row, column ``version_num``."""
# Alembic keeps the running migration context in module globals (alembic.context, alembic.op), so two
# upgrades in one process must not overlap; across processes env.py's advisory lock orders them.
_UPGRADE_LOCK = threading.Lock()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe for replicas starting together on PostgreSQL)."""
    from alembic import command

    config = alembic_config(engine)
    with _UPGRADE_LOCK, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (``"0008"``), None when it has no ``alembic_version`` table or
    an empty one (no incidentbot schema). Raises StoreUnavailable when the table holds several revisions
    (branches this incidentbot never makes), and SQLAlchemy's errors when the database cannot be read."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise StoreUnavailable(
            f"The database records {len(rows)} schema revisions at once ({', '.join(sorted(rows))}) in "
            f"{VERSION_TABLE}: it was not migrated by incidentbot; point DATABASE_URL at the bot's database."
        )
    return str(rows[0]) if rows else None


def head_revision(engine: Engine) -> str | None:
    """The newest revision of the migration scripts, read from Alembic's script directory."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def known_revisions(engine: Engine) -> set[str]:
    """Every schema revision this version of incidentbot ships (a database at any other was migrated by a newer one)."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()}
