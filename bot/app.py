"""The composition root: every part of the bot is built here, once, from settings.

``build_usecases`` opens (and migrates) the store and builds the use cases (shared by the server and
the CLI): one object per aggregate (incidents, alerts, changes, events, outbox, budgets, nudges),
bundled in ``UseCases``; each adapter receives only those it uses. ``build_server`` wires the
aiohttp application of ``serve`` and ``socket``: the Slack app, the webhooks, /healthz, /metrics, the
outbox worker and its deliverers, and the nudge job. Nothing else constructs these objects, so what the
bot is made of can be read in this one file.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog
from aiohttp import web

from bot.config import Settings
from bot.domain.slo import EMPTY_CATALOG, SloCatalog
from bot.errors import ConfigError
from bot.integrations import webhooks
from bot.integrations.pagerduty import PagerDutyDeliverer, paging_plan
from bot.integrations.slo_catalog import load_catalog
from bot.jobs.nudges import Nudger
from bot.log import configure_logging
from bot.metrics import METRICS_PATH, build_registry, count_entry, metrics_handler, webhook_counter
from bot.outbox.worker import Deliver, OutboxWorker, route_by_kind
from bot.slack.app import SlackDeps, build_app, build_client, build_deps
from bot.slack.delivery import SlackDeliverer, dead_page_notice
from bot.slack.identity import BotIdentity
from bot.slack.server import SHUTDOWN_TIMEOUT, SOCKET_MODE, SocketModeConnection, build_web_app
from bot.store import IncidentStore, open_store
from bot.usecases.alerts import AlertUseCases
from bot.usecases.budgets import BudgetUseCases
from bot.usecases.changes import ChangeUseCases
from bot.usecases.events import EventUseCases
from bot.usecases.incidents import IncidentUseCases
from bot.usecases.nudges import NudgeUseCases
from bot.usecases.outbox import OutboxUseCases
from bot.usecases.shared import Clock, StandingPlan, Transactions, utc_now

log = structlog.get_logger("incidentbot.server")

OUTBOX_DRAIN_SECONDS = 10.0
OUTBOX_WORKER = web.AppKey("outbox_worker", OutboxWorker)
OUTBOX_TASK = web.AppKey("outbox_task", asyncio.Task[None])
NUDGER = web.AppKey("nudger", Nudger)
NUDGE_TASK = web.AppKey("nudge_task", asyncio.Task[None])
IDENTITY = web.AppKey("identity", BotIdentity)


@dataclass(frozen=True)
class UseCases:
    """Every use case, one object per aggregate, over one store and one clock."""

    store: IncidentStore
    clock: Clock
    transactions: Transactions
    incidents: IncidentUseCases
    alerts: AlertUseCases
    changes: ChangeUseCases
    events: EventUseCases
    outbox: OutboxUseCases
    budgets: BudgetUseCases
    nudges: NudgeUseCases


def wire_usecases(
    store: IncidentStore,
    clock: Clock = utc_now,
    *,
    strict_roles: bool = False,
    slos: SloCatalog = EMPTY_CATALOG,
    standing_plans: Sequence[StandingPlan] = (),
) -> UseCases:
    """The use cases over an open ``store``; ``standing_plans`` are queued after every transition (paging)."""
    transactions = Transactions(store, clock, standing_plans)
    incidents = IncidentUseCases(transactions, strict_roles=strict_roles, slos=slos)
    return UseCases(
        store=store,
        clock=clock,
        transactions=transactions,
        incidents=incidents,
        alerts=AlertUseCases(transactions),
        changes=ChangeUseCases(transactions),
        events=EventUseCases(transactions),
        outbox=OutboxUseCases(transactions),
        budgets=BudgetUseCases(transactions, slos),
        nudges=NudgeUseCases(incidents),
    )


def build_usecases(settings: Settings, clock: Clock = utc_now) -> UseCases:
    """Open (and migrate) the store; read the SLO catalogue; page when PagerDuty is configured."""
    plans: list[StandingPlan] = [paging_plan] if settings.pagerduty_routing_key else []
    return wire_usecases(
        open_store(settings.database_url),
        clock,
        strict_roles=settings.strict_roles,
        slos=load_catalog(settings.slo_file),
        standing_plans=plans,
    )


def build_server(
    settings: Settings, worker_id: str | None = None, *, socket_mode: bool = False
) -> tuple[web.Application, UseCases]:
    """The one place both modes are wired: store (migrated), Slack app, webhooks, health, outbox, nudges.

    HTTP mode: Slack's requests arrive on ``POST /slack/events`` of the returned application.
    Socket Mode (``socket_mode=True``, needs SLACK_APP_TOKEN): they arrive over Slack's WebSocket,
    opened when the application starts and closed first when it stops; the application still
    serves ``/healthz`` and the webhooks. Either way the outbox worker and the nudge check start
    with the application and, on shutdown, the outbox is drained for up to OUTBOX_DRAIN_SECONDS.
    """
    usecases = build_usecases(settings)
    client = build_client(settings)
    base = build_deps(settings, usecases.incidents, usecases.budgets, usecases.outbox, client)
    worker = OutboxWorker(
        usecases.store,
        build_deliverer(settings, usecases, base),
        worker_id or default_worker_id(),
        on_buried=dead_page_notice,
    )
    deps = replace(base, wake_outbox=worker.wake)
    threads = deps.threads
    identity = BotIdentity(client)
    bolt_app = build_app(deps, settings, identity)
    connection = (
        SocketModeConnection(bolt_app, settings.slack_app_token.get(), remember=usecases.events.remember)
        if socket_mode
        else None
    )
    web_app = build_web_app(
        None if socket_mode else bolt_app,
        usecases.store.ping,
        connection.state if connection is not None else identity.state,
        threads,
    )
    webhooks.register(web_app, usecases.alerts, usecases.changes, settings, worker.wake)
    # Metrics: this process's counters (and process_* metrics) plus the database's gauges, read per scrape.
    usecases.transactions.on_entry = count_entry
    # Outermost, around the webhooks' error router (answer_failures): it counts the status that router answered.
    web_app.middlewares.insert(0, webhook_counter(webhooks.WEBHOOK_PATHS))
    web_app.add_routes([web.get(METRICS_PATH, metrics_handler(build_registry(usecases), threads.read))])
    nudger = Nudger(usecases.nudges, settings.nudge_after, worker.wake)
    web_app[OUTBOX_WORKER] = worker
    web_app[NUDGER] = nudger
    web_app[IDENTITY] = identity

    async def start_worker(app: web.Application) -> None:
        # asyncio.to_thread (writes, outbox, nudges, webhooks) runs in the writers' pool; reads have their own.
        threads.install(asyncio.get_running_loop())
        # A refused token stops start-up with one line; an unavailable Slack is checked again in the background.
        await identity.start()
        app[OUTBOX_TASK] = asyncio.create_task(worker.run_forever())
        app[NUDGE_TASK] = asyncio.create_task(nudger.run_forever())
        log.info("background_work_started", worker=worker.worker_id, socket_mode=socket_mode)

    async def stop_worker(app: web.Application) -> None:
        """After in-flight requests finished: deliver what is due, then stop (the rest waits in the DB)."""
        await identity.stop()
        if OUTBOX_TASK not in app:  # start-up stopped before the workers ran
            usecases.store.dispose()
            return
        nudger.stop()
        worker.stop()
        await app[NUDGE_TASK]
        await app[OUTBOX_TASK]
        try:
            left = await worker.drain(timeout=OUTBOX_DRAIN_SECONDS)
            log.info("outbox_drained", pending=left)
        except Exception:  # the database may be gone; what is queued waits there for the next start
            log.exception("outbox_drain_failed")
        usecases.store.dispose()

    if connection is not None:
        # First: a refused app token stops start-up before any background work starts.
        web_app[SOCKET_MODE] = connection
        web_app.on_startup.append(connection.open)
    web_app.on_startup.append(start_worker)
    if connection is not None:
        web_app.on_shutdown.append(connection.close)
    web_app.on_cleanup.append(stop_worker)
    return web_app, usecases


def build_deliverer(settings: Settings, usecases: UseCases, deps: SlackDeps) -> Deliver:
    """Slack kinds to Slack, PagerDuty kinds to PagerDuty."""
    slack = SlackDeliverer(
        usecases.incidents,
        usecases.alerts,
        usecases.changes,
        usecases.budgets,
        usecases.outbox,
        deps.web_api,
        deps.renderer,
    )
    pagerduty = PagerDutyDeliverer(usecases.incidents, settings.pagerduty_routing_key, settings.pagerduty_events_url)
    return route_by_kind(
        {
            "slack": slack,
            "pagerduty": pagerduty,
        }
    )


def default_worker_id() -> str:
    """Stable across restarts of the same replica, so a restarted worker reclaims its own leases."""
    return os.environ.get("INCIDENT_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}"


def serve_http(settings: Settings, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Serve Slack over HTTP (plus /healthz and webhooks) until SIGINT/SIGTERM."""
    _run(settings, host, port, socket_mode=False)


def serve_socket_mode(settings: Settings, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Take Slack's requests over Socket Mode (no public URL); /healthz and webhooks on ``host:port``."""
    _run(settings, host, port, socket_mode=True)


def _run(settings: Settings, host: str, port: int, *, socket_mode: bool) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight work and drain the outbox (see build_server)."""
    configure_logging(settings.log_format, settings.log_level)
    mode = "socket" if socket_mode else "http"
    listener = _listen(host, port)  # before anything starts: a port in use stops here with one line
    web_app, _ = build_server(settings, worker_id=f"{socket.gethostname()}:{port}", socket_mode=socket_mode)
    log.info("server_starting", mode=mode, host=host, port=port, slack_api_url=settings.slack_api_url)
    web.run_app(
        web_app,
        sock=listener,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    log.info("server_stopped", mode=mode)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; raises ConfigError naming the port when it cannot be had."""
    try:
        return socket.create_server((host, port), backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"Port {port} is already in use on {host}: stop what listens there or choose another with --port."
            ) from exc
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
