"""``bot.store.migrate.HEAD_REVISION`` is the head of the migration scripts, as Alembic itself reads them.

Reading commands compare a database's revision with this constant instead of loading Alembic's script
directory (issue 18, CLI start-up): a new migration that does not move it fails here, not in production.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.store.migrate import HEAD_REVISION

MIGRATIONS = Path(__file__).resolve().parents[2] / "bot" / "store" / "migrations"


def test_the_head_constant_is_alembics_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_heads() == [HEAD_REVISION]
