"""The composition root's database half: the use cases on the configured database, and the database
maintenance commands (``db upgrade``, ``copy``, ``backup``, ``restore``), built without the server.

Nothing here imports aiohttp, Slack, Jinja or the jobs, so the commands that only need the database
(``incidentbot list``, ``timeline``, ``db ...``) start without loading them; ``list`` does not even load the
ORM or the use-case wiring (``listed_incidents``); ``bot.app`` builds the
server on top of ``build_usecases``. PagerDuty's and the tracker's standing plans are imported only
when PAGERDUTY_ROUTING_KEY or TRACKER is set, the channel archive's when INCIDENT_ARCHIVE_AFTER is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.domain.model import IncidentSummary, Status
from bot.domain.slo import EMPTY_CATALOG, SloCatalog
from bot.errors import ConfigError
from bot.store import open_engine_for_reading, open_store, open_store_for_reading
from bot.store.engine import describe_database, parse_database_url, redact_database_url
from bot.store.listing import read_listing
from bot.store.migrate import current_revision
from bot.usecases.listing import list_incidents
from bot.usecases.shared import Clock, StandingPlan, utc_now

if TYPE_CHECKING:  # imported by the commands that use them: the use cases build the ORM, bot.store.copy is for db
    from bot.store.copy import BackupReport, CopyReport, Progress
    from bot.usecases.wiring import UseCases


def build_usecases(settings: Settings, clock: Clock = utc_now, *, read_only: bool = False) -> UseCases:
    """Open (and migrate) the store; read the SLO catalogue; page when PagerDuty is configured; file new
    follow-ups (and ``followup export``) in the tracker when TRACKER is set; publish on the status page when
    STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID are set.

    ``read_only``: open an existing, up-to-date database and never create or migrate it (commands that
    only read); raises StoreUnavailable naming the database otherwise.
    """
    plans: list[StandingPlan] = []
    if settings.pagerduty_routing_key:
        from bot.integrations.pagerduty import paging_plan

        plans.append(paging_plan)
    if settings.tracker:
        from bot.integrations.trackers.plan import TrackerPlan

        plans.append(TrackerPlan(settings.tracker_users))
    if settings.statuspage:
        from bot.integrations.statuspage.plan import StatuspagePlan

        plans.append(StatuspagePlan(settings.statuspage_confirm_resolve, settings.statuspage_resolve_text))
    if settings.archive_after is not None:
        from bot.slack.archiving import ArchivePlan

        plans.append(ArchivePlan(settings.archive_after))
    from bot.integrations.slo_catalog import load_catalog

    slos = load_catalog(settings.slo_file)  # a bad catalogue is refused before any database is opened
    from bot.usecases.wiring import wire_usecases

    return wire_usecases(
        open_store_for_reading(settings.database_url) if read_only else open_store(settings.database_url),
        clock,
        strict_roles=settings.strict_roles,
        slos=slos,
        standing_plans=plans,
        tracker=settings.tracker,
        publish_targets=settings.publish_targets,
        statuspage_resolve_text=settings.statuspage_resolve_text if settings.statuspage else None,
    )


def open_usecases(database_url: str, clock: Clock = utc_now, slos: SloCatalog = EMPTY_CATALOG) -> UseCases:
    """Use cases on ``database_url`` (migrated), without settings: the CLI's ``demo`` replays into its own
    database with its own clock and catalogue. The caller disposes of ``usecases.store``."""
    from bot.usecases.wiring import wire_usecases

    return wire_usecases(open_store(database_url), clock, slos=slos)


def listed_incidents(settings: Settings, statuses: list[Status] | None, limit: int) -> list[IncidentSummary]:
    """``incidentbot list``: ``IncidentUseCases.summaries`` on DATABASE_URL, read with the listing's Core queries
    on a plain connection (no ORM, no use-case wiring: the command starts in about half the time). The SLO
    catalogue is read first, as for every command (a bad one is refused). Raises StoreUnavailable as
    ``open_store_for_reading`` does."""
    if settings.slo_file is not None:  # PyYAML is loaded only to read one
        from bot.integrations.slo_catalog import load_catalog

        load_catalog(settings.slo_file)
    engine = open_engine_for_reading(settings.database_url)
    try:
        with read_listing(engine) as reads:
            return list_incidents(reads, statuses, limit)
    finally:
        engine.dispose()


def upgrade_database(settings: Settings) -> str | None:
    """Bring DATABASE_URL's schema up to date; returns its revision (``0007``). Raises StoreUnavailable."""
    store = open_store(settings.database_url)
    try:
        return current_revision(store.engine)
    finally:
        store.dispose()


def database_label(database_url: str) -> str:
    """DATABASE_URL as a person reads it in a message (``SQLite file /srv/incidents.db``, a PostgreSQL
    database and host, never a password); the URL itself if it cannot be read."""
    try:
        return describe_database(parse_database_url(database_url))
    except ConfigError:
        return redact_database_url(database_url)


def copy_data(
    source_url: str,
    target_url: str,
    *,
    force: bool,
    progress: Progress | None,
    source_option: str = "DATABASE_URL",
    checking: Callable[[], None] | None = None,
) -> CopyReport:
    """``incidentbot db copy``: every row of ``source_url`` into ``target_url``, checked (``bot.store.copy``);
    ``source_option`` is how the source was given (``--from`` or DATABASE_URL), for messages; ``checking``
    is called when the rows are copied and the checks begin."""
    from bot.store.copy import copy_database

    return copy_database(
        source_url, target_url, force=force, progress=progress, source_option=source_option, checking=checking
    )


def backup_data(settings: Settings, file: Path, *, force: bool) -> BackupReport | str:
    """``incidentbot db backup FILE``: the SQLite database copied online into ``file``; for PostgreSQL the
    ``pg_dump`` command to run instead (a string, password left out), and nothing done."""
    from bot.store.copy import backup_database, pg_dump_command

    command = pg_dump_command(settings.database_url, file)
    if command is not None:
        return command
    return backup_database(settings.database_url, file, force=force)


def restore_data(settings: Settings, file: Path, *, force: bool) -> BackupReport:
    """``incidentbot db restore FILE``: the SQLite backup ``file`` restored into DATABASE_URL, checked."""
    from bot.store.copy import restore_database

    return restore_database(file, settings.database_url, force=force)
