"""Reading a database's schema revision without Alembic (issue 18, CLI start-up), on SQLite and PostgreSQL.

``bot.store.migrate.current_revision`` reads the ``alembic_version`` table with plain SQL; at every revision
the migrations pass through it must say what Alembic's own ``MigrationContext`` says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.errors import StoreUnavailable
from bot.store import open_store_for_reading
from bot.store.engine import create_store_engine
from bot.store.migrate import alembic_config, current_revision, upgrade


@pytest.fixture()
def engine(database_url: str) -> Iterator[Engine]:
    created = create_store_engine(database_url)
    yield created
    created.dispose()


def _alembic_says(engine: Engine) -> str | None:
    with engine.connect() as connection:
        revision: str | None = MigrationContext.configure(connection).get_current_revision()
        return revision


def test_every_revision_reads_as_alembic_reads_it(engine: Engine) -> None:
    """An empty database has none; then, migrating one step at a time from the first revision to the head,
    each revision reads the same through plain SQL as through Alembic."""
    revisions = [s.revision for s in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()][::-1]
    assert revisions[:2] == ["0001", "0002"]  # the walk runs from the first migration on
    assert current_revision(engine) is None
    assert _alembic_says(engine) is None
    seen = []
    for revision in revisions:
        upgrade(engine, revision)
        seen.append(current_revision(engine))
        assert seen[-1] == _alembic_says(engine)
    assert seen == revisions


def test_an_empty_version_table_is_no_schema(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
    assert current_revision(engine) is None
    assert _alembic_says(engine) is None


def test_two_recorded_revisions_are_refused_in_one_line(engine: Engine, database_url: str) -> None:
    """Two rows (Alembic branches, which incidentbot never makes): StoreUnavailable, not Alembic's traceback."""
    upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
    expected = (
        "The database records 2 schema revisions at once (0001, 0002) in alembic_version: it was not migrated "
        "by incidentbot; point DATABASE_URL at the bot's database."
    )
    with pytest.raises(StoreUnavailable) as raised:
        current_revision(engine)
    assert raised.value.user_message == expected
    with pytest.raises(StoreUnavailable) as opening:
        open_store_for_reading(database_url)
    assert opening.value.user_message == expected
