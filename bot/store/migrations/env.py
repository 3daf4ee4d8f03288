"""Alembic environment: runs on the connection handed over by ``bot.store.migrate``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

MIGRATION_LOCK_ID = 7_240_431  # pg_advisory_lock key: replicas starting together migrate one at a time

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as fresh:
            _run(fresh)
        return
    _run(connection)


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # A replica waits for another's migration as long as it takes, and a migration waits for the locks its
            # DDL needs: not the store's lock_timeout (bot.store.engine.POSTGRES_LOCK_TIMEOUT_MS), for this transaction.
            connection.execute(sa.text("SET LOCAL lock_timeout = 0"))
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID})
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("incidentbot migrations run online only: use `incidentbot db upgrade`.")
run_migrations_online()
