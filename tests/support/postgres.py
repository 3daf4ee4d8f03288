"""A real PostgreSQL for the tests: an external server named by env, or a throwaway one from ``pgserver``.

``INCIDENTBOT_TEST_POSTGRES_URL`` (any SQLAlchemy/libpq URL of a role that may CREATE DATABASE, e.g. a CI
service container) wins; otherwise the ``pgserver`` wheel starts a private PostgreSQL 16 on a unix
socket in a temporary folder, tuned for tests (no fsync). Every test then gets its own fresh database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

POSTGRES_URL_ENV = "INCIDENTBOT_TEST_POSTGRES_URL"
DRIVER = "postgresql+psycopg"
# Durability is worthless for a database that lives as long as one test; these make CREATE DATABASE cheap.
_TEST_SETTINGS = ("fsync = off", "synchronous_commit = off", "full_page_writes = off")


class PostgresUnavailable(Exception):
    """No PostgreSQL server could be had; the message says why and how to provide one."""


@dataclass
class PostgresServer:
    """A running server and the URL of its maintenance database (a role allowed to create databases)."""

    admin_url: URL
    origin: str

    @contextmanager
    def fresh_database(self, template: str | None = None) -> Iterator[str]:
        """Create a database ``test_<uuid>``, yield its URL, then drop it (even if still in use): an empty one, or a
        copy of the database named ``template`` (PostgreSQL's ``CREATE DATABASE ... TEMPLATE``, a file-level copy:
        nobody may be connected to the template meanwhile)."""
        name = f"test_{uuid.uuid4().hex}"
        engine = self._admin_engine()
        copy = f' TEMPLATE "{template}"' if template else ""
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
            yield self.admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            engine.dispose()

    def _admin_engine(self) -> sa.Engine:
        return sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def as_sqlalchemy_url(url: str) -> URL:
    """``postgres://``/``postgresql://`` URLs (libpq style) -> the psycopg 3 driver SQLAlchemy uses."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise PostgresUnavailable(f"{POSTGRES_URL_ENV} is not a PostgreSQL URL: {parsed.render_as_string()}")
    return parsed.set(drivername=DRIVER)


def _wait_until_ready(url: URL, timeout: float = 10.0) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
                return
            except sa.exc.OperationalError as exc:
                if time.monotonic() > deadline:
                    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                    where = url.render_as_string()
                    raise PostgresUnavailable(f"PostgreSQL at {where} does not answer: {reason}") from exc
                time.sleep(0.2)
    finally:
        engine.dispose()


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The external server from the environment if configured, else a private ``pgserver`` one."""
    external = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if external:
        url = as_sqlalchemy_url(external)
        _wait_until_ready(url)
        yield PostgresServer(url, origin=f"{POSTGRES_URL_ENV}={url.render_as_string()}")
        return
    with _pgserver() as server:
        yield server


@contextmanager
def _pgserver() -> Iterator[PostgresServer]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in containers (harmless)
            from pgserver.postgres_server import get_server
    except ImportError as exc:
        raise PostgresUnavailable(
            f"pgserver is not installed (pip install -e '.[test]') and {POSTGRES_URL_ENV} is not set"
        ) from exc
    # Short path under the system temp folder: the unix socket lives in it (sun_path holds ~107 bytes).
    pgdata = Path(tempfile.mkdtemp(prefix="ib-pg-"))
    handle: Any = None
    try:
        try:
            handle = get_server(pgdata, cleanup_mode="stop")
            url = make_url(handle.get_uri()).set(drivername=DRIVER)
        except Exception as exc:  # pgserver raises whatever initdb/pg_ctl raise
            raise PostgresUnavailable(f"pgserver could not start PostgreSQL in {pgdata}: {exc}") from exc
        _tune_for_tests(url)
        yield PostgresServer(url, origin=f"pgserver ({pgdata})")
    finally:
        if handle is not None:
            handle.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


def _tune_for_tests(url: URL) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            for setting in _TEST_SETTINGS:
                connection.exec_driver_sql(f"ALTER SYSTEM SET {setting}")
            connection.exec_driver_sql("SELECT pg_reload_conf()")
    finally:
        engine.dispose()
