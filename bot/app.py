"""The composition root: every part of the bot is built here (and in ``bot.compose``), once, from settings.

``bot.compose.build_usecases`` opens (and migrates) the store and builds the use cases (shared by the
server and the CLI): one object per aggregate (incidents, alerts, changes, events, outbox, budgets,
nudges), bundled in ``UseCases``; each adapter receives only those it uses. It lives in ``bot.compose``,
with the database commands, so that a CLI command needing only the database never imports the server
(aiohttp, Slack, the jobs). ``build_server`` wires the aiohttp application of ``serve`` and ``socket``:
the Slack app, the webhooks, /healthz, /metrics, the outbox worker and its deliverers, and the nudge
job. Nothing else constructs these objects, so what the bot is made of can be read in these two files.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.compose import build_usecases
from bot.compose import open_usecases as open_usecases  # named here too: the tests open their own
from bot.config import Settings
from bot.domain.effects import Effect, OutboxItem
from bot.errors import ConfigError
from bot.integrations import webhooks
from bot.integrations.pagerduty import PagerDutyDeliverer, page_action_of
from bot.integrations.publishing.build import build_confluence, build_git_publisher
from bot.integrations.publishing.delivery import PublishDeliverer
from bot.integrations.statuspage.client import StatuspageClient
from bot.integrations.statuspage.delivery import StatuspageDeliverer
from bot.integrations.statuspage.plan import LANE as STATUSPAGE_LANE
from bot.integrations.trackers.build import build_tracker
from bot.integrations.trackers.delivery import OnFiled, TrackerDeliverer
from bot.integrations.trackers.plan import TrackerPlan
from bot.integrations.trackers.port import IssueStatus, Tracker, TrackerError, TrackerRef
from bot.integrations.trackers.webhook import IssueEvent
from bot.jobs.nudges import Nudger
from bot.jobs.reminders import FollowupDigest, FollowupReminder, PostmortemReminder
from bot.jobs.tracker_sync import IssueReading, ReadState, TrackerSync
from bot.log import configure_logging
from bot.metrics import (
    METRICS_PATH,
    DatabaseCollector,
    build_registry,
    count_entry,
    metrics_handler,
    webhook_counter,
)
from bot.outbox.worker import Deliver, DeliverBatch, Grouping, OutboxWorker, route_by_kind
from bot.slack.app import SlackDeps, build_app, build_client, build_deps
from bot.slack.delivery import (
    SLACK_GROUPING,
    ChangePlan,
    SlackDeliverer,
    alert_plan,
    dead_page_notice,
    dead_publication_notice,
    dead_statuspage_notice,
    followup_digest_effects,
    followup_reminder_effects,
    followup_tracker_effects,
    nudge_effects,
    postmortem_reminder_effects,
    publication_effects,
    stalled_filing_notice,
    stalled_publication_notice,
    stalled_statuspage_notice,
)
from bot.slack.identity import BotIdentity
from bot.slack.server import SHUTDOWN_TIMEOUT, SOCKET_MODE, SocketModeConnection, build_web_app
from bot.slack.turns import TURN_WAIT_SECONDS
from bot.store.threads import DatabaseThreads
from bot.usecases.followups import FilingState
from bot.usecases.shared import Actor
from bot.usecases.wiring import UseCases
from bot.usecases.wiring import wire_usecases as wire_usecases  # named here too: the tests wire their own
from bot.views.postmortem import PostmortemRenderer
from bot.web import routes as web_view
from bot.web.pages import WebReads

log = structlog.get_logger("incidentbot.server")

OUTBOX_DRAIN_SECONDS = 10.0
COMMANDS_SETTLE_SECONDS = TURN_WAIT_SECONDS + 2
"""How long a stopping ``serve`` waits for slash commands answered "Working on it…" to end before it drains the
outbox: a queued one is refused after TURN_WAIT_SECONDS (10 s), one at the database ends within its busy or lock
timeout."""
TRACKER_NAMES = {"github": "GitHub", "jira": "Jira"}
"""TRACKER's values as people write them, in channel lines."""
OUTBOX_WORKER = web.AppKey("outbox_worker", OutboxWorker)
OUTBOX_TASK = web.AppKey("outbox_task", asyncio.Task[None])
NUDGER = web.AppKey("nudger", Nudger)
NUDGE_TASK = web.AppKey("nudge_task", asyncio.Task[None])
REMINDER = web.AppKey("reminder", FollowupReminder)
REMINDER_TASK = web.AppKey("reminder_task", asyncio.Task[None])
POSTMORTEM_REMINDER = web.AppKey("postmortem_reminder", PostmortemReminder)
POSTMORTEM_REMINDER_TASK = web.AppKey("postmortem_reminder_task", asyncio.Task[None])
DIGEST = web.AppKey("digest", FollowupDigest)
DIGEST_TASK = web.AppKey("digest_task", asyncio.Task[None])
TRACKER_SYNC = web.AppKey("tracker_sync", TrackerSync)
TRACKER_SYNC_TASK = web.AppKey("tracker_sync_task", asyncio.Task[None])
IDENTITY = web.AppKey("identity", BotIdentity)
BOLT_APP = web.AppKey("bolt_app", AsyncApp)
"""The bolt app answering Slack's requests (HTTP or Socket Mode)."""


def slack_change_plan(usecases: UseCases, number: int | None, actor: Actor) -> ChangePlan:
    """The Slack updates a CLI change of INC-``number`` owes (``bot.slack.delivery.ChangePlan``)."""
    return ChangePlan(usecases.outbox, number, actor)


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
    tracker = build_tracker(settings)
    client = build_client(settings)
    threads = DatabaseThreads()
    base = build_deps(
        settings,
        usecases.incidents,
        usecases.budgets,
        usecases.outbox,
        client,
        threads,
        usecases.followups,
        usecases.publishing,
    )
    deliver, deliver_lines = build_delivery(settings, usecases, base, tracker)
    worker = OutboxWorker(
        usecases.store,
        deliver,
        worker_id or default_worker_id(),
        grouping=SLACK_GROUPING if settings.slack_batching else Grouping(),
        deliver_batch=deliver_lines,
        on_buried=dead_item_notice,
        on_stalled=partial(stalled_item_notice, tracker=TRACKER_NAMES.get(settings.tracker or "", "the tracker")),
    )
    deps = replace(base, wake_outbox=worker.wake)
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
    )
    webhooks.register(web_app, usecases.alerts, usecases.changes, settings, worker.wake, alert_plan)
    # Metrics: this process's counters (and process_* metrics) plus the database's gauges, read per scrape.
    usecases.transactions.on_entry = count_entry
    # Outermost, around the webhooks' error router (answer_failures): it counts the status that router answered.
    web_app.middlewares.insert(0, webhook_counter(webhooks.WEBHOOK_PATHS))
    database_gauges = DatabaseCollector(usecases.transactions, usecases.budgets)
    registry = build_registry(database_gauges)
    web_app.add_routes([web.get(METRICS_PATH, metrics_handler(registry, threads.read, database_gauges))])
    if settings.web:  # the web view and its API (INCIDENT_WEB_URL): reads only, in the readers' pool
        reads = WebReads(
            usecases.incidents, usecases.budgets, usecases.followups, PostmortemRenderer(settings.templates_dir)
        )
        web_view.register(web_app, reads, threads, settings)
    nudger = Nudger(usecases.nudges, settings.nudge_after, nudge_effects, worker.wake)
    web_app[BOLT_APP] = bolt_app
    web_app[OUTBOX_WORKER] = worker
    web_app[NUDGER] = nudger
    reminder = FollowupReminder(usecases.followups, followup_reminder_effects, worker.wake)
    web_app[REMINDER] = reminder
    drafts = PostmortemReminder(
        usecases.reviews, settings.postmortem_reminder_days, postmortem_reminder_effects, worker.wake
    )
    web_app[POSTMORTEM_REMINDER] = drafts
    web_app[IDENTITY] = identity
    sync = (
        TrackerSync(
            usecases.followups,
            issue_reader(tracker),
            tracker.name,
            followup_tracker_effects,
            worker.wake,
            interval=settings.tracker_sync_minutes * 60,
        )
        if tracker is not None
        else None
    )
    if sync is not None:
        web_app[TRACKER_SYNC] = sync
    if settings.tracker and settings.tracker_webhook_secret:
        reader = issue_reader(tracker) if tracker is not None else None
        webhooks.register_tracker(
            web_app,
            usecases.followups,
            settings,
            worker.wake,
            followup_tracker_effects,
            current_issue_event(reader) if reader is not None else None,
        )
    digest_channel = settings.followup_digest_channel
    digest = (
        FollowupDigest(usecases.followups, partial(followup_digest_effects, digest_channel), worker.wake)
        if digest_channel
        else None
    )
    if digest is not None:
        web_app[DIGEST] = digest

    async def start_worker(app: web.Application) -> None:
        # asyncio.to_thread (writes, outbox, nudges, webhooks) runs in the writers' pool; reads have their own.
        threads.install(asyncio.get_running_loop())
        # A refused token stops start-up with one line; an unavailable Slack is checked again in the background.
        await identity.start()
        app[OUTBOX_TASK] = asyncio.create_task(worker.run_forever())
        app[NUDGE_TASK] = asyncio.create_task(nudger.run_forever())
        app[REMINDER_TASK] = asyncio.create_task(reminder.run_forever())
        if settings.postmortem_reminder_days is not None:
            app[POSTMORTEM_REMINDER_TASK] = asyncio.create_task(drafts.run_forever())
        if sync is not None:
            app[TRACKER_SYNC_TASK] = asyncio.create_task(sync.run_forever())
        if digest is not None:
            app[DIGEST_TASK] = asyncio.create_task(digest.run_forever())
        log.info("background_work_started", worker=worker.worker_id, socket_mode=socket_mode)

    async def stop_worker(app: web.Application) -> None:
        """After in-flight requests finished: let the commands still running past their ack end (recorded and
        answered, or refused and told: up to COMMANDS_SETTLE_SECONDS), deliver what is due, then stop (the rest
        waits in the DB)."""
        going = await deps.turns.settle(COMMANDS_SETTLE_SECONDS)
        if going:  # waiting for a database that does not answer: their threads end with the process
            log.warning("commands_in_flight_at_stop", commands=going)
        await identity.stop()
        if OUTBOX_TASK not in app:  # start-up stopped before the workers ran
            usecases.store.dispose()
            return
        if deps.web_api.pacer is not None:
            # A delivery whose pace turn comes after the drain's time gives its item back to the outbox at once.
            deps.web_api.pacer.close(within=OUTBOX_DRAIN_SECONDS)
        nudger.stop()
        reminder.stop()
        drafts.stop()
        if sync is not None:
            sync.stop()
        if digest is not None:
            digest.stop()
        worker.stop()
        await app[NUDGE_TASK]
        await app[REMINDER_TASK]
        if POSTMORTEM_REMINDER_TASK in app:
            await app[POSTMORTEM_REMINDER_TASK]
        if TRACKER_SYNC_TASK in app:
            await app[TRACKER_SYNC_TASK]
        if DIGEST_TASK in app:
            await app[DIGEST_TASK]
        await app[OUTBOX_TASK]
        try:
            left = await worker.drain(timeout=OUTBOX_DRAIN_SECONDS)
            log.info("outbox_drained", pending=left)
        except Exception:  # the database may be gone; what is queued waits there for the next start
            log.exception("outbox_drain_failed")
        if worker.unrecorded:  # delivered or failed, not written down: the next start attempts them again
            log.warning("outbox_outcomes_unrecorded_at_stop", items=[item.id for item in worker.unrecorded])
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


def build_deliverer(settings: Settings, usecases: UseCases, deps: SlackDeps, tracker: Tracker | None = None) -> Deliver:
    """Slack kinds to Slack, PagerDuty kinds to PagerDuty, tracker kinds to the tracker (when one is set)."""
    return build_delivery(settings, usecases, deps, tracker)[0]


def build_delivery(
    settings: Settings, usecases: UseCases, deps: SlackDeps, tracker: Tracker | None = None
) -> tuple[Deliver, DeliverBatch]:
    """``build_deliverer``'s router, and the Slack deliverer's batch delivery of channel lines
    (``SLACK_GROUPING`` says which items the worker hands it)."""
    links = TrackerPlan(settings.tracker_users) if tracker is not None else None
    slack = SlackDeliverer(
        usecases.incidents,
        usecases.alerts,
        usecases.changes,
        usecases.budgets,
        usecases.outbox,
        deps.web_api,
        deps.renderer,
        links.postmortem_comments if links is not None else None,
        links.channel_comments if links is not None else None,
        usecases.channels,
        settings.archive_after,  # honoured when an archive comes due, not the delay it was queued with
    )
    pagerduty = PagerDutyDeliverer(usecases.incidents, settings.pagerduty_routing_key, settings.pagerduty_events_url)
    # The archive effect has a lane of its own (bot.slack.archiving): same deliverer, kind slack_archive.*.
    routes: dict[str, Deliver] = {"slack": slack, "slack_archive": slack, "pagerduty": pagerduty}
    if tracker is not None:
        routes["tracker"] = TrackerDeliverer(tracker, record_filed(usecases), filing_state(usecases))
    routes["publish"] = PublishDeliverer(
        usecases.publishing,
        deps.renderer,
        build_confluence(settings),
        build_git_publisher(settings),
        publication_effects,
    )
    if settings.statuspage:
        client = StatuspageClient(settings.statuspage_api_key, settings.statuspage_page_id, settings.statuspage_url)
        routes[STATUSPAGE_LANE] = StatuspageDeliverer(client, usecases.statuspage)
    return route_by_kind(routes), slack.deliver_lines


def record_filed(usecases: UseCases) -> OnFiled:
    """The tracker deliverer's ``on_filed``: the follow-up's key and URL and a ``followup_exported`` entry
    (naming the links the body carries), in one transaction with the channel's "filed as" line and, from
    the standing ``TrackerPlan``, a comment for each link the body lacks but the incident now has;
    nothing again for a follow-up already recorded."""

    async def on_filed(item: OutboxItem, ref: TrackerRef, linked: tuple[str, ...] = ()) -> None:
        followup = item.payload.get("followup")
        if item.incident_number is None or not isinstance(followup, int):
            log.warning("tracker_filed_unrecorded", item=item.id, key=ref.key)  # an item queued without its number
            return
        await asyncio.to_thread(
            usecases.followups.record_export,
            item.incident_number,
            followup,
            ref.key,
            ref.url,
            followup_tracker_effects,
            linked,
        )

    return on_filed


def filing_state(usecases: UseCases) -> Callable[[OutboxItem], Awaitable[FilingState]]:
    """The tracker deliverer's ``filing_state``: ``FollowupUseCases.filing_state`` of a ``tracker.file``
    item's follow-up, read at delivery (why not to file it now; the links for its body); for an item
    queued without its incident or follow-up number, nothing to object and no links."""

    async def read(item: OutboxItem) -> FilingState:
        followup = item.payload.get("followup")
        if item.incident_number is None or not isinstance(followup, int):
            return FilingState(None)
        return await asyncio.to_thread(usecases.followups.filing_state, item.incident_number, followup)

    return read


GONE_STATUSES = (404, 410)
"""What a tracker answers for an issue that no longer exists: GitHub 410 "This issue was deleted" (404 for
a number that never was), Jira 404 "Issue does not exist or you do not have permission to see it"."""


def issue_reader(tracker: Tracker) -> ReadState:
    """Sync-back's ``read_state`` over ``tracker`` (``Tracker.state``). An issue the tracker says is not there
    (GitHub 404 or 410 "This issue was deleted", Jira 404) is read as gone only when ``Tracker.check`` then
    finds the token valid and the repository or project reachable with issues on: a revoked access or a
    renamed project answers 404 for every issue, and must not be taken for deleted issues (that failure is
    raised, and retried next round)."""

    async def read(key: str, url: str) -> IssueReading:
        try:
            state = await tracker.state(TrackerRef(key, url))
        except TrackerError as exc:
            if exc.status not in GONE_STATUSES:
                raise
            await tracker.check()  # raises when the project itself is unreachable: not a deleted issue
            return IssueReading(False, gone=exc.reason)
        return IssueReading(state.status is IssueStatus.CLOSED, state.closed_at, state.dropped)

    return read


def current_issue_event(read: ReadState) -> Callable[[IssueEvent, str], Awaitable[IssueEvent | None]]:
    """The tracker webhook's ``current``: the event's issue as the tracker has it now (``read``, sync-back's
    reader), or None when it cannot be read now or is gone (sync-back records those)."""

    async def current(event: IssueEvent, url: str) -> IssueEvent | None:
        try:
            reading = await read(event.key, url)
        except Exception as exc:  # a tracker outage: the next sync round reads it
            log.warning("tracker_webhook_read_failed", key=event.key, error=str(exc)[:300])
            return None
        if reading.gone is not None:
            return None
        return replace(event, closed=reading.closed, closed_at=reading.closed_at, dropped=reading.dropped)

    return current


def stalled_item_notice(item: OutboxItem, reason: str, tracker: str = "the tracker") -> list[Effect]:
    """What an outbox item still failing after an hour owes: a line in the incident's channel when it is a
    filing in ``tracker`` (``GitHub``, ``Jira``; Slack's notice, ``stalled_filing_notice``) or a publication
    of the postmortem (``stalled_publication_notice``); nothing for any other item (Slack calls and pages
    are retried silently, as before)."""
    if item.kind.startswith("tracker."):
        return stalled_filing_notice(item, reason, tracker)
    return stalled_publication_notice(item, reason) + stalled_statuspage_notice(item, reason)


def dead_item_notice(item: OutboxItem, reason: str) -> list[Effect]:
    """What a buried outbox item owes: a line in the incident's channel when it was a PagerDuty event
    (Slack's notice of PagerDuty's kinds) or a publication of the postmortem; nothing for any other item."""
    return (
        dead_page_notice(item, reason, page_action_of(item.kind))
        + dead_publication_notice(item, reason)
        + dead_statuspage_notice(item, reason)
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
    bound = int(listener.getsockname()[1])  # --port 0: the free port the system chose
    # One worker id per replica, stable across its restarts (it reclaims its own leases): the port it serves.
    worker_id = os.environ.get("INCIDENT_WORKER_ID") or f"{socket.gethostname()}:{bound}"
    web_app, _ = build_server(settings, worker_id=worker_id, socket_mode=socket_mode)
    # Start-up's objects (modules, SQLAlchemy's and bolt's tables, about 150,000) live as long as the process:
    # moved out of the collector's reach, a full collection under load takes 3-11 ms instead of 50-100 ms, a
    # pause every request in flight waited out (bench row 1; Python's gc.freeze documentation).
    gc.freeze()
    log.info("server_starting", mode=mode, host=host, port=bound, slack_api_url=settings.slack_api_url)
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
