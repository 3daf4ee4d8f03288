"""Alembic migrations on SQLite and PostgreSQL: reach head, idempotent, match the models, survive races."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata, read below)
from bot.store.engine import create_store_engine
from bot.store.migrate import current_revision, head_revision, upgrade

# A replica: imports, says it is ready, waits for the go line, migrates. Lets the test start them together.
REPLICA = """
import sys
from bot.store.engine import create_store_engine
from bot.store.migrate import upgrade
engine = create_store_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
upgrade(engine)
"""

TABLES = {"alembic_version", *SQLModel.metadata.tables}


@pytest.fixture()
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database of each kind."""
    created = create_store_engine(database_url)
    yield created
    created.dispose()


def version_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.text("SELECT version_num FROM alembic_version"))]


class TestUpgrade:
    def test_empty_database_reaches_head(self, engine: Engine) -> None:
        """upgrade on an empty database creates every table and records the head revision."""
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine) is not None
        assert set(sa.inspect(engine).get_table_names()) == TABLES

    def test_upgrade_is_idempotent(self, engine: Engine) -> None:
        """A second and third upgrade change nothing and leave one version row."""
        upgrade(engine)
        tables = set(sa.inspect(engine).get_table_names())
        upgrade(engine)
        upgrade(engine)
        assert version_rows(engine) == [head_revision(engine)]
        assert set(sa.inspect(engine).get_table_names()) == tables

    def test_migrated_schema_matches_the_models(self, engine: Engine) -> None:
        """Autogenerate finds no difference between the migrated schema and SQLModel.metadata."""
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == []

    @pytest.mark.postgres
    def test_replica_processes_migrating_at_once_all_succeed(self, postgres_url: str) -> None:
        """Three processes migrating one empty PostgreSQL database at once all succeed (advisory lock)."""
        replicas = [
            subprocess.Popen(
                [sys.executable, "-c", REPLICA, postgres_url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        try:
            for replica in replicas:
                assert replica.stdout is not None and replica.stdout.readline().strip() == "ready"
            for replica in replicas:
                assert replica.stdin is not None
                replica.stdin.write("go\n")
                replica.stdin.flush()
            failures = [err for _out, err in (r.communicate(timeout=60) for r in replicas) if err]
        finally:
            for replica in replicas:
                replica.kill()
        assert [r.returncode for r in replicas] == [0, 0, 0], failures
        engine = create_store_engine(postgres_url)
        try:
            assert version_rows(engine) == [head_revision(engine)]
        finally:
            engine.dispose()

    def test_threads_migrating_at_once_all_succeed(self, database_url: str) -> None:
        """Four engines in one process upgrading together all finish, and the schema is created once."""
        engines = [create_store_engine(database_url) for _ in range(4)]
        barrier = threading.Barrier(len(engines))

        def start(engine: Engine) -> None:
            barrier.wait(timeout=30)
            upgrade(engine)

        try:
            with ThreadPoolExecutor(max_workers=len(engines)) as pool:
                for future in [pool.submit(start, e) for e in engines]:
                    future.result(timeout=60)
            assert version_rows(engines[0]) == [head_revision(engines[0])]
        finally:
            for engine in engines:
                engine.dispose()


class TestOutboxLanes:
    def test_0006_gives_queued_items_the_lane_their_kind_names(self, engine: Engine) -> None:
        """Items queued before 0006 (a pending slack.create_channel, pagerduty.trigger, a dead slack.post_line)
        get lanes slack, pagerduty, slack; their order and status are kept."""
        upgrade(engine, "0005")
        outbox = sa.table(
            "outbox",
            *(sa.column(c) for c in ("kind", "incident_number", "status", "attempts", "last_error")),
            *(sa.column(c) for c in ("next_attempt_at", "created_at", "updated_at")),
            sa.column("payload", sa.JSON()),
        )
        stamp = sa.func.current_timestamp()
        rows = [("slack.create_channel", "pending"), ("pagerduty.trigger", "pending"), ("slack.post_line", "dead")]
        with engine.begin() as connection:
            for kind, status in rows:
                connection.execute(
                    outbox.insert().values(
                        kind=kind,
                        incident_number=1,
                        status=status,
                        attempts=0,
                        last_error="",
                        payload={},
                        next_attempt_at=stamp,
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
        upgrade(engine)
        with engine.connect() as connection:
            found = connection.execute(sa.text("SELECT kind, lane, status FROM outbox ORDER BY id")).all()
        assert [tuple(r) for r in found] == [
            ("slack.create_channel", "slack", "pending"),
            ("pagerduty.trigger", "pagerduty", "pending"),
            ("slack.post_line", "slack", "dead"),
        ]
