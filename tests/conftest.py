"""Fixtures shared by the whole suite: a controllable clock, and databases (SQLite and a real PostgreSQL).

Store tests take ``database_url`` and so run twice, once per database; every run gets a database of
its own (a file in ``tmp_path``, or a fresh ``CREATE DATABASE`` on the session's PostgreSQL server).
Without a PostgreSQL server the ``postgres`` cases are skipped with the reason, except when ``CI`` is
set: there they fail, so that a broken CI setup cannot pass by skipping.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from bot.app import UseCases, wire_usecases
from bot.cli.demo import ReplayClock
from bot.log import configure_logging
from bot.store import IncidentStore, open_store
from tests.support.ci import running_in_ci
from tests.support.netguard import guard_this_process_and_children
from tests.support.postgres import POSTGRES_URL_ENV, PostgresServer, PostgresUnavailable, postgres_server
from tests.support.properties import register_profiles

CLOCK_START = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


# The network guard: this process and every Python process it starts (through sitecustomize on
# PYTHONPATH) may reach 127.0.0.1 only; each attempt beyond it is logged and fails the test.
NETGUARD_LOG = guard_this_process_and_children()


@pytest.fixture(autouse=True)
def structlog_configuration_restored() -> Iterator[None]:
    """A test that runs the CLI in-process (which configures logging, at WARNING for some commands)
    must not change what later tests in the same worker log or capture."""
    root = logging.getLogger()
    saved, handlers, level = structlog.get_config(), list(root.handlers), root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def loopback_only_network(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it, or a process it started, tried to reach anything beyond 127.0.0.1.

    A test marked ``netguard_expected`` (the guard's own tests) must cause at least one attempt instead.
    """
    start = NETGUARD_LOG.mark()
    yield
    attempts = NETGUARD_LOG.attempts_since(start)
    if request.node.get_closest_marker("netguard_expected") is not None:
        if not attempts:
            pytest.fail("the network guard recorded no attempt beyond 127.0.0.1", pytrace=False)
    elif attempts:
        pytest.fail(f"the test reached beyond 127.0.0.1 (tests must use fakes):\n{attempts}", pytrace=False)


register_profiles(in_ci=running_in_ci())
# In-process servers log as deployed, to whatever stderr is current (pytest's capture per test);
# without this structlog's default prints every debug line of background threads to the terminal.
configure_logging("console", "DEBUG")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (started lazily, only if a test needs it)."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except PostgresUnavailable as exc:
            if running_in_ci():
                pytest.fail(f"CI is set, so PostgreSQL tests must run, but: {exc}", pytrace=False)
            pytest.skip(f"no PostgreSQL server: {exc}. Set {POSTGRES_URL_ENV} or pip install pgserver.")
        yield server


@pytest.fixture()
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture()
def migrated_database() -> None:
    """Asked for by a fixture that migrates ``database_url`` before anything else (it opens the store or starts the
    bot): ``database_url`` then comes at the schema's head already, a copy of a database migrated once per worker
    (the migrations themselves are tested where they are the subject: tests/integration/test_migrations.py, the
    first-run and replica tests, which take an empty ``database_url``)."""


def wants_migrated_database(request: pytest.FixtureRequest) -> bool:
    """Whether the test's ``database_url`` is to be at the schema's head from the start: one of its fixtures asks
    for ``migrated_database``, or the test is marked ``migrated_database``."""
    if "migrated_database" in request.fixturenames:
        return True
    return request.node.get_closest_marker("migrated_database") is not None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file migrated to the head once per worker, copied for each test that wants one migrated
    (about 10 ms instead of 150-300 ms of migrations)."""
    path = tmp_path_factory.mktemp("template") / "incidents.db"
    open_store(f"sqlite:///{path}").dispose()
    assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not checkpointed on close"
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> Iterator[str]:
    """The name of a PostgreSQL database migrated to the head once per worker, that ``CREATE DATABASE ... TEMPLATE``
    copies for each test that wants one migrated (about 0.1 s instead of 0.5-0.6 s)."""
    name = f"template_{uuid.uuid4().hex}"
    with postgres.fresh_database() as url:
        open_store(url).dispose()  # nobody stays connected: a template must have no sessions when copied
        engine = sa.create_engine(postgres.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{sa.make_url(url).database}"')
            yield name
        finally:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each kind: a SQLite file in ``tmp_path``, then a fresh PostgreSQL database. Empty, unless the
    test wants it migrated (``wants_migrated_database``): then a copy of a database migrated to the head."""
    migrated = wants_migrated_database(request)
    if request.param == "sqlite":
        path = tmp_path / "incidents.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if not migrated:
        yield str(request.getfixturevalue("postgres_url"))
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.fresh_database(template=request.getfixturevalue("postgres_template")) as url:
        yield url


@pytest.fixture()
def clock() -> ReplayClock:
    """A clock standing still at 2026-11-22 13:00 UTC until a test sets ``clock.now``."""
    return ReplayClock(CLOCK_START)


@pytest.fixture()
def store(migrated_database: None, database_url: str) -> Iterator[IncidentStore]:
    """The migrated store on ``database_url``, disposed after the test."""
    opened = open_store(database_url)
    yield opened
    opened.dispose()


@pytest.fixture()
def usecases(store: IncidentStore, clock: ReplayClock) -> UseCases:
    """The application service on ``store``, reading time from ``clock``."""
    return wire_usecases(store, clock=clock)
